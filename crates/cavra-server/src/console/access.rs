//! Who may look at the console: reviewers and admins (SPEC §6).
//!
//! Without tokens (a loopback-only server) the console is open to local callers, exactly like
//! the API. With tokens, a person signs in once by pasting a reviewer or admin token; the
//! server keeps a random sign-in id mapped to the token's id with an expiry, and the cookie
//! (`HttpOnly; SameSite=Strict; Path=/console`, and `Secure`) carries only that id — never the
//! token. Every request looks the token up again, so revoking it (or changing its role) ends the
//! console session at once. Scripts may also send `Authorization: Bearer` as with the API.
//!
//! Two rules make the cookie safe without breaking local use:
//! - **`Secure` beyond loopback only.** cavra speaks plain HTTP; beyond loopback it belongs behind
//!   a TLS proxy, and there the cookie is `Secure` so a browser never sends it in the clear. A
//!   console opened at `http://127.0.0.1` or `http://localhost` (the address the browser used,
//!   from `Host`) gets the cookie without `Secure`, which some browsers would drop over HTTP;
//!   it never leaves the machine. A request carrying a proxy's `Forwarded`/`X-Forwarded-*`
//!   headers gets `Secure` whatever its `Host` (a proxy may rewrite it to the loopback upstream).
//!   A browser whose form's `Origin` says it spoke plain HTTP to another host would drop that
//!   cookie, so its sign-in is refused with the reason and the ways out
//!   instead of leading silently back to the form.
//! - **Form posts from the console only** (login CSRF): a page elsewhere must not sign a
//!   visitor's browser in with the attacker's token, so that what they look at and do is done
//!   under the attacker's sign-in. Browsers say where a request comes from: `Sec-Fetch-Site`
//!   must be `same-origin` (or `none`: typed by the user), or, from browsers without it, `Origin`
//!   must name the host the request is addressed to. A client sending neither is not a browser
//!   (curl, a script) and cannot be made to post by a web page.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::auth::{Permission, Principal, is_loopback_host};
use crate::console::ConsoleError;
use crate::console::page::{self, Nav};
use crate::state::AppState;

/// The cookie's name.
pub const COOKIE_NAME: &str = "cavra_console";
/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most sign-ins kept at once; the oldest goes first beyond this.
const MAX_SIGN_INS: usize = 10_000;

/// The console's sign-ins: random id → the token id it was made with and when it ends.
#[derive(Debug, Default)]
pub struct SignIns {
    live: Mutex<HashMap<String, SignIn>>,
}

#[derive(Debug, Clone)]
struct SignIn {
    token_id: String,
    expires: Instant,
}

impl SignIns {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, SignIn>> {
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a sign-in for `token_id`; returns its random id (256 bits, hex).
    pub fn start(&self, token_id: &str) -> Result<String, ConsoleError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| crate::error::ApiError::internal(&e))?;
        let id = cavra_core::integrity::hex(&bytes);
        let now = Instant::now();
        let mut live = self.live();
        live.retain(|_, s| s.expires > now);
        if live.len() >= MAX_SIGN_INS
            && let Some(oldest) = live.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
        {
            live.remove(&oldest);
        }
        live.insert(
            id.clone(),
            SignIn {
                token_id: token_id.to_owned(),
                expires: now + LIFETIME,
            },
        );
        Ok(id)
    }

    /// The token id behind a live sign-in.
    fn token_of(&self, id: &str) -> Option<String> {
        let mut live = self.live();
        match live.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.token_id.clone()),
            Some(_) => {
                live.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a sign-in.
    pub fn end(&self, id: &str) {
        self.live().remove(id);
    }
}

/// The sign-in id in a request's cookies.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// A caller allowed to read the console.
pub struct Viewer(pub Principal);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, ConsoleError> {
        // No tokens, or a script with a bearer token: exactly the API's rules.
        if !state.auth().enabled() || parts.headers.contains_key(AUTHORIZATION) {
            let principal = Principal::from_request_parts(parts, state).await?;
            principal.allow(Permission::Read)?;
            return Ok(Viewer(principal));
        }
        let principal = cookie(&parts.headers)
            .and_then(|id| state.sign_ins().token_of(&id))
            .and_then(|token_id| state.auth().principal_by_id(&token_id))
            .ok_or(ConsoleError::SignIn)?;
        principal.allow(Permission::Read)?;
        Ok(Viewer(principal))
    }
}

fn form(message: Option<&str>) -> maud::Markup {
    html! {
        section.card.sign-in {
            h1 { "Sign in to the Activity Explorer" }
            p.muted { "Paste a " strong { "reviewer" } " or " strong { "admin" } " token. Create one with "
                code { "cavra token create --role reviewer" } "." }
            @if let Some(m) = message {
                p.alert role="alert" { (m) }
            }
            form method="post" action="/console/sign-in" {
                label for="token" { "API token" }
                input #token name="token" type="password" autocomplete="off" required autofocus
                    placeholder="cavra_…" aria-describedby="token-help";
                p #token-help .muted { "The token is checked once and never stored in your browser: a random sign-in id is, for 12 hours." }
                button type="submit" { "Sign in" }
            }
        }
    }
}

/// `GET /console/sign-in`: the form (or straight to the overview when no sign-in is needed).
pub async fn sign_in_page(State(state): State<AppState>) -> Response {
    if !state.auth().enabled() {
        return Redirect::to("/console").into_response();
    }
    page::frame("Sign in", Nav::None, None, form(None)).into_response()
}

/// Whether a form post comes from the console's own pages (see the module doc).
fn from_the_console(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(ORIGIN) {
        None => true,
        // `null` (a sandboxed or opaque origin) has no authority: refused.
        Some(_) => text(ORIGIN.as_str())
            .and_then(|origin| origin.split_once("://"))
            .zip(text(HOST.as_str()))
            .is_some_and(|((_, authority), host)| authority.eq_ignore_ascii_case(host)),
    }
}

/// The console cookie's attributes: `Secure` unless the browser addressed this machine by a
/// loopback name (see the module doc). A request a proxy forwarded (`Forwarded`,
/// `X-Forwarded-*`) always gets `Secure`: the proxy may have rewritten `Host` to the loopback
/// address it forwards to, while the browser spoke to it over TLS.
fn cookie_attributes(headers: &HeaderMap) -> &'static str {
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let proxied = ["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"]
        .iter()
        .any(|name| headers.contains_key(*name));
    if is_loopback_host(host) && !proxied {
        "Path=/console; HttpOnly; SameSite=Strict"
    } else {
        "Path=/console; Secure; HttpOnly; SameSite=Strict"
    }
}

/// Whether the browser spoke plain HTTP to a host other than this machine, where it drops the
/// console's `Secure` cookie and the sign-in would silently lead back to this form. A browser
/// says what it spoke in the form's `Origin` (every form post carries one); proxies' protocol
/// headers are not trusted for this — a hop behind the TLS terminator often says `http` while
/// the browser is on HTTPS. A post without `Origin` is not from a browser and keeps no cookie.
fn plain_http_beyond_loopback(headers: &HeaderMap) -> bool {
    headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .and_then(|origin| origin.strip_prefix("http://").map(str::to_owned))
        .is_some_and(|authority| !is_loopback_host(&authority))
}

/// What a sign-in over plain HTTP beyond loopback is answered.
fn plain_http(headers: &HeaderMap) -> Response {
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("this server");
    refused(
        StatusCode::FORBIDDEN,
        &format!(
            "This console was opened over plain HTTP at {host}: a browser does not keep the sign-in \
             cookie there (it is Secure beyond this machine), and the token crossed the network \
             unencrypted, so consider revoking it with cavra token revoke. Serve cavra behind an HTTPS \
             proxy, or open the console on its own machine at http://127.0.0.1 (an SSH tunnel works: \
             ssh -L 8710:127.0.0.1:8710 SERVER)."
        ),
    )
}

/// The page a refused form post answers with.
fn refused(status: StatusCode, message: &str) -> Response {
    (status, page::frame("Sign in", Nav::None, None, form(Some(message)))).into_response()
}

/// What a form post from another site is answered.
fn cross_site() -> Response {
    refused(
        StatusCode::FORBIDDEN,
        "This form was sent from another site. Sign in from this page instead.",
    )
}

/// `POST /console/sign-in`: checks the pasted token, starts a sign-in, sets the cookie.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !from_the_console(&headers) {
        tracing::warn!("console sign-in posted from another site refused");
        return cross_site();
    }
    if plain_http_beyond_loopback(&headers) {
        tracing::warn!("console sign-in over plain HTTP beyond loopback refused");
        return plain_http(&headers);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return match crate::deadline::timed_out(&rejection) {
                Some(_) => refused(
                    StatusCode::REQUEST_TIMEOUT,
                    "The form did not arrive in time; send it again.",
                ),
                None => refused(rejection.status(), "The form could not be read; send it again."),
            };
        }
    };
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    if token.is_empty() {
        return refused(StatusCode::BAD_REQUEST, "Paste a token to sign in.");
    }
    let principal = match state.auth().authenticate(Some(&format!("Bearer {token}"))) {
        Ok(p) => p,
        Err(_) => return refused(StatusCode::UNAUTHORIZED, "That token is unknown or has been revoked."),
    };
    let Principal::Token { id, role, .. } = &principal else {
        return Redirect::to("/console").into_response();
    };
    if principal.allow(Permission::Read).is_err() {
        return refused(
            StatusCode::FORBIDDEN,
            &format!("A {role} token cannot open the console: use a reviewer or admin token."),
        );
    }
    let sign_in = match state.sign_ins().start(id) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    tracing::info!(token_id = %id, "console sign-in");
    let cookie = format!(
        "{COOKIE_NAME}={sign_in}; Max-Age={}; {}",
        LIFETIME.as_secs(),
        cookie_attributes(&headers)
    );
    let mut response = Redirect::to("/console").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    response
}

/// `POST /console/sign-out`: ends the sign-in and clears the cookie.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !from_the_console(&headers) {
        return cross_site();
    }
    if let Some(id) = cookie(&headers) {
        state.sign_ins().end(&id);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    let clear = format!("{COOKIE_NAME}=; Max-Age=0; {}", cookie_attributes(&headers));
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sign-in maps to its token until it ends; unknown ids map to nothing.
    #[test]
    fn sign_ins_map_to_tokens() {
        let sign_ins = SignIns::default();
        let id = sign_ins.start("tok_1").unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(sign_ins.token_of(&id).as_deref(), Some("tok_1"));
        assert_eq!(sign_ins.token_of("nope"), None);
        sign_ins.end(&id);
        assert_eq!(sign_ins.token_of(&id), None);
    }

    /// Form posts are accepted from the console's own pages and from clients that are not
    /// browsers; from another site, a sibling site or an opaque origin they are not.
    #[test]
    fn only_the_console_posts_its_forms() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            h.insert(HOST, HeaderValue::from_static("cavra.example:8710"));
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(from_the_console(&headers(&[])));
        assert!(from_the_console(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(from_the_console(&headers(&[("sec-fetch-site", "none")])));
        assert!(from_the_console(&headers(&[("origin", "https://cavra.example:8710")])));
        assert!(!from_the_console(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!from_the_console(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!from_the_console(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://cavra.example:8710")
        ])));
        assert!(!from_the_console(&headers(&[("origin", "https://evil.example")])));
        assert!(!from_the_console(&headers(&[("origin", "null")])));
    }

    /// The cookie is `Secure` unless the console was opened at a loopback address.
    #[test]
    fn secure_beyond_loopback() {
        for (host, secure) in [
            ("127.0.0.1:8710", false),
            ("localhost:8710", false),
            ("[::1]:8710", false),
            ("cavra.example", true),
            ("10.0.0.5:8710", true),
            ("", true),
        ] {
            let mut h = HeaderMap::new();
            h.insert(HOST, HeaderValue::from_str(host).unwrap());
            assert_eq!(cookie_attributes(&h).contains("Secure"), secure, "{host}");
        }
        // Behind a proxy that rewrote `Host` to the loopback address it forwards to.
        for forwarded in ["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"] {
            let mut h = HeaderMap::new();
            h.insert(HOST, HeaderValue::from_static("127.0.0.1:8710"));
            h.insert(forwarded, HeaderValue::from_static("https"));
            assert!(cookie_attributes(&h).contains("Secure"), "{forwarded}");
        }
    }

    /// A browser that spoke plain HTTP beyond loopback (its form's `Origin` says so) is told why
    /// signing in cannot work; HTTPS (whatever the hops behind the proxy say), loopback, and
    /// clients that send no `Origin` are not.
    #[test]
    fn plain_http_beyond_loopback_is_recognised() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        for plain in [
            headers(&[("host", "cavra.example"), ("origin", "http://cavra.example")]),
            headers(&[("host", "10.0.0.5:8710"), ("origin", "HTTP://10.0.0.5:8710")]),
            headers(&[
                ("host", "127.0.0.1:8710"),
                ("origin", "http://cavra.example"),
                ("x-forwarded-for", "1.2.3.4"),
            ]),
        ] {
            assert!(plain_http_beyond_loopback(&plain), "{plain:?}");
        }
        for fine in [
            headers(&[("host", "cavra.example"), ("origin", "https://cavra.example")]),
            headers(&[("host", "cavra.example")]),
            headers(&[("host", "127.0.0.1:8710"), ("origin", "http://127.0.0.1:8710")]),
            headers(&[("host", "localhost:8710"), ("origin", "http://localhost:8710")]),
            // A TLS terminator in front of a proxy that reports its own hop as `http`.
            headers(&[
                ("host", "127.0.0.1:8710"),
                ("origin", "https://cavra.example"),
                ("x-forwarded-proto", "http"),
            ]),
            headers(&[
                ("host", "127.0.0.1:8710"),
                ("origin", "https://cavra.example"),
                ("forwarded", "for=1.2.3.4;proto=https, for=10.0.0.2;proto=http"),
            ]),
            // A local development proxy: browsers keep `Secure` cookies on localhost.
            headers(&[
                ("host", "127.0.0.1:8710"),
                ("origin", "http://localhost:3000"),
                ("x-forwarded-for", "127.0.0.1"),
            ]),
            headers(&[("host", "127.0.0.1:8710"), ("x-forwarded-proto", "http")]),
        ] {
            assert!(!plain_http_beyond_loopback(&fine), "{fine:?}");
        }
    }

    /// The sign-in id is read from among other cookies.
    #[test]
    fn cookie_is_found() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; cavra_console=abc; b=2"));
        assert_eq!(cookie(&headers).as_deref(), Some("abc"));
    }
}
