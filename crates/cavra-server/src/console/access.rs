//! Who may look at the console: reviewers and admins (SPEC §6).
//!
//! Without tokens (a loopback-only server) the console is open to local callers, exactly like
//! the API. With tokens, a person signs in once by pasting a reviewer or admin token; the
//! server keeps a random sign-in id mapped to the token's id with an expiry, and the cookie
//! (`Secure; HttpOnly; SameSite=Strict; Path=/console`) carries only that id — never the token.
//! Every request looks the token up again, so revoking it (or changing its role) ends the
//! console session at once. Scripts may also send `Authorization: Bearer` as with the API.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::auth::{Permission, Principal};
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

/// `POST /console/sign-in`: checks the pasted token, starts a sign-in, sets the cookie.
pub async fn sign_in(State(state): State<AppState>, body: Bytes) -> Response {
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let refuse = |status: StatusCode, message: &str| {
        (status, page::frame("Sign in", Nav::None, None, form(Some(message)))).into_response()
    };
    if token.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "Paste a token to sign in.");
    }
    let principal = match state.auth().authenticate(Some(&format!("Bearer {token}"))) {
        Ok(p) => p,
        Err(_) => return refuse(StatusCode::UNAUTHORIZED, "That token is unknown or has been revoked."),
    };
    let Principal::Token { id, role, .. } = &principal else {
        return Redirect::to("/console").into_response();
    };
    if principal.allow(Permission::Read).is_err() {
        return refuse(
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
        "{COOKIE_NAME}={sign_in}; Path=/console; Max-Age={}; Secure; HttpOnly; SameSite=Strict",
        LIFETIME.as_secs()
    );
    let mut response = Redirect::to("/console").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    response
}

/// `POST /console/sign-out`: ends the sign-in and clears the cookie.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers) {
        state.sign_ins().end(&id);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("cavra_console=; Path=/console; Max-Age=0; Secure; HttpOnly; SameSite=Strict"),
    );
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

    /// The sign-in id is read from among other cookies.
    #[test]
    fn cookie_is_found() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; cavra_console=abc; b=2"));
        assert_eq!(cookie(&headers).as_deref(), Some("abc"));
    }
}
