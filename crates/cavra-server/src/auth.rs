//! Access control (SPEC §6): API tokens with roles, stored hashed, checked in constant time.
//!
//! A token is `cavra_` + 64 hex digits of OS randomness (256 bits), shown once by
//! `cavra token create`. The token file (`CAVRA_TOKENS_FILE`, default `.cavra/tokens.json`, mode
//! 0600) keeps only each token's SHA-256; a slow password hash would add nothing for 256-bit
//! random secrets. Checking a presented token hashes it and compares against every stored hash
//! with [`subtle`]'s constant-time equality, so timing reveals neither which token nor how much
//! of one matched.
//!
//! Roles: `agent` posts decisions and evaluations and creates or changes its own sessions (an
//! agent token is bound to one `agent_id`, and may carry a mode an admin bound to it); `reviewer`
//! reads everything; `admin` does all. With no tokens configured the server binds to loopback
//! only and every local caller is treated as admin — except that it may not choose a mode
//! ([`Principal::may_choose_mode`]): such a server cannot tell a person from the agent's hook.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use cavra_core::Mode;

use crate::error::ApiError;
use crate::state::AppState;

/// Where tokens live unless `CAVRA_TOKENS_FILE` says otherwise.
pub const DEFAULT_TOKENS_FILE: &str = ".cavra/tokens.json";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An agent: posts decisions and evaluations, creates or changes its own sessions.
    Agent,
    /// A person reviewing activity: every read, the console.
    Reviewer,
    /// Everything.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Agent, Role::Reviewer, Role::Admin];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (expected one of: agent, reviewer, admin)"))
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `POST /decisions`, `POST /evaluate`.
    Decide,
    /// `POST /sessions` (agents: their own sessions only).
    ChangeSessions,
    /// Every `GET` of activity, packs and metrics; the console.
    Read,
}

impl Permission {
    fn allows(self, role: Role) -> bool {
        matches!(
            (self, role),
            (_, Role::Admin)
                | (Permission::Decide | Permission::ChangeSessions, Role::Agent)
                | (Permission::Read, Role::Reviewer)
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Permission::Decide => "post decisions (roles: agent, admin)",
            Permission::ChangeSessions => "change sessions (roles: agent, admin)",
            Permission::Read => "read activity (roles: reviewer, admin)",
        }
    }
}

/// One stored token: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// `tok_` + a short random id, for listing and revoking.
    pub id: String,
    /// What it may do.
    pub role: Role,
    /// For `agent` tokens: the one agent it acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// A label for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For `agent` tokens: the mode an admin bound to it, applied to every decision the token
    /// asks for (SPEC §3). Never `break_glass`, which a person grants per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_mode: Option<Mode>,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// SHA-256 of the token, hex.
    pub sha256: String,
}

/// The token file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    /// Every token, oldest first.
    pub tokens: Vec<TokenEntry>,
}

/// Why the token file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a token file.
    #[error("token file `{path}` is not valid: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A request the file cannot satisfy (an unknown id, a missing agent id).
    #[error("{0}")]
    Request(String),
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> TokenError {
    move |source| TokenError::Io { context, source }
}

fn sha256_hex(text: &str) -> String {
    cavra_core::integrity::hex(&Sha256::digest(text.as_bytes()))
}

fn random_hex(bytes: usize) -> Result<String, TokenError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| TokenError::Io {
        context: "cannot read OS randomness".to_owned(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(cavra_core::integrity::hex(&buf))
}

impl TokenFile {
    /// Reads `path`; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<TokenFile, TokenError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TokenFile::default()),
            Err(e) => return Err(io_error(format!("cannot read token file `{}`", path.display()))(e)),
        };
        serde_json::from_str(&text).map_err(|e| TokenError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Writes the file atomically (temp file, fsync, rename) with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), TokenError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(io_error(format!("cannot create `{}`", dir.display())))?;
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| TokenError::Request(e.to_string()))?;
        // A stale temp file from an interrupted run could carry wider permissions; start afresh.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(format!("cannot remove `{}`", tmp.display()))(e));
            }
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .map_err(io_error(format!("cannot write `{}`", tmp.display())))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io_error(format!("cannot write `{}`", tmp.display())))?;
        std::fs::rename(&tmp, path).map_err(io_error(format!("cannot replace `{}`", path.display())))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(format!("cannot sync `{}`", dir.display())))?;
        Ok(())
    }

    /// Loads `path`, applies `change` and saves the result, holding an exclusive lock on a
    /// sidecar `.lock` file throughout, so concurrent `cavra token` runs never lose a token.
    pub fn update<T>(
        path: &Path,
        change: impl FnOnce(&mut TokenFile) -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_error(format!("cannot create `{}`", dir.display())))?;
        }
        let lock_path = path.with_extension("json.lock");
        let lock = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_error(format!("cannot open `{}`", lock_path.display())))?;
        lock.lock()
            .map_err(io_error(format!("cannot lock `{}`", lock_path.display())))?;
        let mut file = TokenFile::load(path)?;
        let result = change(&mut file)?;
        file.save(path)?;
        Ok(result)
    }

    /// Adds a new token and returns its entry and the secret, which is not kept. `policy_mode`
    /// binds a mode to an agent token.
    pub fn create(
        &mut self,
        role: Role,
        agent_id: Option<String>,
        name: Option<String>,
        policy_mode: Option<Mode>,
        now: &str,
    ) -> Result<(TokenEntry, String), TokenError> {
        if role == Role::Agent && agent_id.is_none() {
            return Err(TokenError::Request(
                "an agent token acts for one agent: pass --agent-id".to_owned(),
            ));
        }
        if let Some(agent) = &agent_id
            && (agent.trim().is_empty() || agent.contains('\0'))
        {
            return Err(TokenError::Request(
                "--agent-id must name an agent (not empty, no NUL characters)".to_owned(),
            ));
        }
        if role != Role::Agent && agent_id.is_some() {
            return Err(TokenError::Request(format!(
                "--agent-id only applies to agent tokens, not {role}"
            )));
        }
        match policy_mode {
            Some(_) if role != Role::Agent => {
                return Err(TokenError::Request(format!(
                    "--policy-mode binds a mode to an agent token, not to a {role} token"
                )));
            }
            Some(Mode::BreakGlass) => {
                return Err(TokenError::Request(
                    "break_glass cannot be bound to a token: a person grants it per request, with an actor \
                     and a justification"
                        .to_owned(),
                ));
            }
            _ => {}
        }
        let secret = format!("cavra_{}", random_hex(32)?);
        let entry = TokenEntry {
            id: format!("tok_{}", random_hex(6)?),
            role,
            agent_id,
            name,
            policy_mode,
            created_at: now.to_owned(),
            sha256: sha256_hex(&secret),
        };
        self.tokens.push(entry.clone());
        Ok((entry, secret))
    }

    /// Removes the token with this id.
    pub fn revoke(&mut self, id: &str) -> Result<TokenEntry, TokenError> {
        let at = self
            .tokens
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| TokenError::Request(format!("no token with id `{id}`")))?;
        Ok(self.tokens.remove(at))
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No tokens are configured: a loopback caller, trusted as admin.
    Local,
    /// A caller with a known token.
    Token {
        /// The token's id (never the secret).
        id: String,
        /// Its role.
        role: Role,
        /// For agent tokens, the agent.
        agent_id: Option<String>,
        /// For agent tokens, the mode an admin bound to it.
        policy_mode: Option<Mode>,
    },
}

impl Principal {
    /// The caller a stored token stands for.
    fn of(entry: &TokenEntry) -> Principal {
        Principal::Token {
            id: entry.id.clone(),
            role: entry.role,
            agent_id: entry.agent_id.clone(),
            policy_mode: entry.policy_mode,
        }
    }

    /// The role in force.
    pub fn role(&self) -> Role {
        match self {
            Principal::Local => Role::Admin,
            Principal::Token { role, .. } => *role,
        }
    }

    /// The agent an agent token is bound to.
    pub fn bound_agent(&self) -> Option<&str> {
        match self {
            Principal::Token {
                role: Role::Agent,
                agent_id,
                ..
            } => agent_id.as_deref(),
            _ => None,
        }
    }

    /// The mode an admin bound to this caller's agent token, if any.
    pub fn bound_mode(&self) -> Option<Mode> {
        match self {
            Principal::Token {
                role: Role::Agent,
                policy_mode,
                ..
            } => *policy_mode,
            _ => None,
        }
    }

    /// Whether this caller may choose a request's mode or invoke break-glass (SPEC §3): only a
    /// person's admin token. Not an agent token, and not a tokenless server's caller either —
    /// such a server cannot tell a person from the agent's hook, so it fails closed.
    pub fn may_choose_mode(&self) -> bool {
        matches!(self, Principal::Token { role: Role::Admin, .. })
    }

    /// `Ok` when this caller may do `permission`, else 403 naming what is needed.
    pub fn allow(&self, permission: Permission) -> Result<(), ApiError> {
        let role = self.role();
        if permission.allows(role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {role} token may not {}",
                permission.describe()
            )))
        }
    }
}

/// The server's view of the token file, reloaded when the file changes.
#[derive(Debug, Clone)]
pub struct Authenticator {
    inner: Arc<AuthInner>,
}

#[derive(Debug)]
struct AuthInner {
    /// Each token with its hash decoded once, at load.
    entries: RwLock<Tokens>,
    /// Whether an empty token list means open access. Only for loopback listeners: a server
    /// bound beyond loopback whose last token is revoked refuses everyone instead.
    open_when_empty: bool,
}

impl Default for Authenticator {
    fn default() -> Authenticator {
        Authenticator::new(TokenFile::default(), true)
    }
}

impl Authenticator {
    /// Checks against these tokens. With none, callers are [`Principal::Local`] when
    /// `open_when_empty` (a loopback listener), and refused otherwise.
    pub fn new(file: TokenFile, open_when_empty: bool) -> Authenticator {
        Authenticator {
            inner: Arc::new(AuthInner {
                entries: RwLock::new(decoded(file)),
                open_when_empty,
            }),
        }
    }

    fn entries(&self) -> Tokens {
        self.inner
            .entries
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |e| e.clone())
    }

    /// Replaces the tokens (after the file changed).
    pub fn replace(&self, file: TokenFile) {
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *entries = decoded(file);
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.entries().is_empty()
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// Watches `path` every `interval` and reloads it when its modification time or size
    /// changes; a file that fails to parse, or disappears, keeps the previous tokens and is
    /// logged.
    pub fn watch(&self, path: PathBuf, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let auth = self.clone();
        tokio::spawn(async move {
            let stamp = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.modified().ok(), m.len()));
            let mut seen = stamp(&path);
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                let now = stamp(&path);
                if now == seen {
                    continue;
                }
                seen = now;
                if seen.is_none() {
                    tracing::warn!(file = %path.display(), "token file removed; keeping the tokens loaded");
                    continue;
                }
                match TokenFile::load(&path) {
                    Ok(file) => {
                        tracing::info!(tokens = file.tokens.len(), file = %path.display(), "API tokens reloaded");
                        auth.replace(file);
                    }
                    Err(e) => tracing::error!(error = %e, "token file not reloaded; keeping the previous tokens"),
                }
            }
        })
    }

    /// The caller a still-configured token id stands for (the console's sign-ins are checked
    /// this way on every request, so a revoked token ends them).
    pub fn principal_by_id(&self, id: &str) -> Option<Principal> {
        self.entries()
            .iter()
            .find(|(entry, _)| entry.id == id)
            .map(|(entry, _)| Principal::of(entry))
    }

    /// Who presents this `Authorization` header value (or none).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, ApiError> {
        let entries = self.entries();
        if entries.is_empty() {
            return if self.inner.open_when_empty {
                Ok(Principal::Local)
            } else {
                Err(ApiError::unauthorized(
                    "no API tokens are configured on this server; create one with `cavra token create`",
                ))
            };
        }
        let Some(value) = authorization else {
            return Err(ApiError::unauthorized(
                "missing `Authorization: Bearer <token>` header (create a token with `cavra token create`)",
            ));
        };
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| ApiError::unauthorized("the `Authorization` header must be `Bearer <token>`"))?;
        let presented = Sha256::digest(token.as_bytes());
        // Compare against every entry, without stopping early, so timing does not depend on
        // which entry (if any) matches.
        let mut found: Option<&TokenEntry> = None;
        for (entry, stored) in entries.iter() {
            let equal: bool = stored.ct_eq(presented.as_slice()).into();
            if equal {
                found = Some(entry);
            }
        }
        let entry = found.ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        Ok(Principal::of(entry))
    }
}

/// The loaded tokens, each with its hash decoded once.
type Tokens = Arc<Vec<(TokenEntry, [u8; 32])>>;

fn decoded(file: TokenFile) -> Tokens {
    Arc::new(
        file.tokens
            .into_iter()
            .map(|t| {
                let hash = decode_hex32(&t.sha256);
                (t, hash)
            })
            .collect(),
    )
}

/// A stored hash as 32 bytes; a malformed one becomes 32 zero bytes, which no token hashes to.
fn decode_hex32(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if hex.len() == 64 {
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
        }
    }
    out
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
        let header = match parts.headers.get(AUTHORIZATION) {
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| ApiError::unauthorized("the `Authorization` header is not valid text"))?,
            ),
            None => None,
        };
        let principal = state.auth().authenticate(header)?;
        if principal == Principal::Local {
            check_local_host(parts)?;
        }
        Ok(principal)
    }
}

/// The host a request is addressed to (`Host`, or the URI's authority), port included.
pub(crate) fn request_host(parts: &Parts) -> &str {
    parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.host())
        .unwrap_or("")
}

/// Whether `host` (`name`, `name:port`, `[v6]:port`) names this machine: `localhost` or a
/// loopback address.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Without tokens, only requests addressed to a loopback name are served: a web page whose
/// domain was re-pointed at 127.0.0.1 (DNS rebinding) would otherwise act as a local admin.
fn check_local_host(parts: &Parts) -> Result<(), ApiError> {
    let host = request_host(parts);
    if is_loopback_host(host) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this server has no API tokens and answers only requests addressed to localhost, not `{host}`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(role: Role, agent: Option<&str>) -> (TokenFile, String) {
        let mut file = TokenFile::default();
        let (_, secret) = file
            .create(
                role,
                agent.map(str::to_owned),
                None,
                None,
                "2026-11-25T00:00:00.000000Z",
            )
            .unwrap();
        (file, secret)
    }

    /// The right token authenticates with its role; a wrong or malformed one does not.
    #[test]
    fn tokens_authenticate_by_hash() {
        let (file, secret) = file_with(Role::Reviewer, None);
        assert!(!file.tokens[0].sha256.contains(&secret[6..]));
        let auth = Authenticator::new(file, true);
        let who = auth.authenticate(Some(&format!("Bearer {secret}"))).unwrap();
        assert_eq!(who.role(), Role::Reviewer);
        assert_eq!(auth.authenticate(None).unwrap_err().code, "unauthorized");
        assert_eq!(
            auth.authenticate(Some("Bearer cavra_00")).unwrap_err().code,
            "unauthorized"
        );
        assert_eq!(auth.authenticate(Some(&secret)).unwrap_err().code, "unauthorized");
    }

    /// A request to a tokenless server must name a loopback host (DNS rebinding).
    #[test]
    fn tokenless_servers_answer_loopback_hosts_only() {
        let parts = |host: &str| {
            axum::http::Request::builder()
                .header("host", host)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        for ok in [
            "127.0.0.1:8710",
            "localhost:8710",
            "LOCALHOST",
            "[::1]:8710",
            "127.0.0.2",
        ] {
            assert!(check_local_host(&parts(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example:8710",
            "evil.example",
            "10.0.0.1:8710",
            "localhost.evil.example",
        ] {
            assert_eq!(check_local_host(&parts(bad)).unwrap_err().code, "forbidden", "{bad}");
        }
    }

    /// Without tokens every loopback caller is local admin; beyond loopback nobody gets in.
    #[test]
    fn no_tokens_means_local_only_on_loopback() {
        let auth = Authenticator::default();
        assert_eq!(auth.authenticate(None).unwrap(), Principal::Local);
        let (file, secret) = file_with(Role::Admin, None);
        let exposed = Authenticator::new(file, false);
        assert!(exposed.authenticate(Some(&format!("Bearer {secret}"))).is_ok());
        exposed.replace(TokenFile::default());
        assert_eq!(exposed.authenticate(None).unwrap_err().code, "unauthorized");
    }

    /// Roles allow exactly what SPEC §6 says.
    #[test]
    fn permissions_follow_roles() {
        let allowed = |p: Permission, r: Role| p.allows(r);
        assert!(allowed(Permission::Decide, Role::Agent));
        assert!(!allowed(Permission::Decide, Role::Reviewer));
        assert!(allowed(Permission::Read, Role::Reviewer));
        assert!(!allowed(Permission::Read, Role::Agent));
        assert!(Permission::ALL_FOR_TEST.iter().all(|p| allowed(*p, Role::Admin)));
    }

    /// Agent tokens need an agent; others refuse one.
    #[test]
    fn agent_tokens_are_bound() {
        let mut file = TokenFile::default();
        assert!(file.create(Role::Agent, None, None, None, "t").is_err());
        for empty in ["", "  ", "a\0b"] {
            assert!(
                file.create(Role::Agent, Some(empty.into()), None, None, "t").is_err(),
                "{empty:?}"
            );
        }
        assert!(file.create(Role::Admin, Some("a".into()), None, None, "t").is_err());
        let (entry, _) = file
            .create(Role::Agent, Some("claude".into()), None, None, "t")
            .unwrap();
        assert_eq!(file.revoke(&entry.id).unwrap().agent_id.as_deref(), Some("claude"));
        assert!(file.revoke(&entry.id).is_err());
    }

    /// A mode binds to agent tokens only, never `break_glass`, and reaches the caller; only an
    /// admin token may choose a mode itself — not an agent, not a tokenless server's caller.
    #[test]
    fn modes_bind_to_agent_tokens_and_only_admins_choose() {
        let mut file = TokenFile::default();
        assert!(
            file.create(Role::Admin, None, None, Some(Mode::AuditOnly), "t")
                .is_err()
        );
        assert!(
            file.create(Role::Agent, Some("a".into()), None, Some(Mode::BreakGlass), "t")
                .is_err()
        );
        let (_, secret) = file
            .create(Role::Agent, Some("a".into()), None, Some(Mode::AuditOnly), "t")
            .unwrap();
        let (_, admin) = file.create(Role::Admin, None, None, None, "t").unwrap();
        let auth = Authenticator::new(file, true);
        let agent = auth.authenticate(Some(&format!("Bearer {secret}"))).unwrap();
        assert_eq!(agent.bound_mode(), Some(Mode::AuditOnly));
        assert!(!agent.may_choose_mode());
        assert!(
            auth.authenticate(Some(&format!("Bearer {admin}")))
                .unwrap()
                .may_choose_mode()
        );
        assert!(!Principal::Local.may_choose_mode());
    }

    /// Concurrent updates under the lock lose nothing.
    #[test]
    fn concurrent_updates_keep_every_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    TokenFile::update(&path, |f| f.create(Role::Reviewer, None, None, None, "t")).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(TokenFile::load(&path).unwrap().tokens.len(), 8);
    }

    /// The file round-trips and is private.
    #[test]
    fn file_round_trips_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tokens.json");
        let (file, _) = file_with(Role::Admin, None);
        file.save(&path).unwrap();
        assert_eq!(TokenFile::load(&path).unwrap(), file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "{\"tokens\": 3}").unwrap();
        assert!(TokenFile::load(&path).unwrap_err().to_string().contains("tokens.json"));
    }

    impl Permission {
        const ALL_FOR_TEST: [Permission; 3] = [Permission::Decide, Permission::ChangeSessions, Permission::Read];
    }
}
