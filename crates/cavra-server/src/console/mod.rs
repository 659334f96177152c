//! The Activity Explorer (SPEC §6 `/console`): server-rendered HTML pages over the same store
//! queries as the JSON API.
//!
//! The design decision: every page is rendered on the server with [`maud`] (compile-time
//! checked, auto-escaping templates) and charts are inline SVG, so the console needs no
//! JavaScript, no CDN and no build step, works offline, and a page is one request. Filters and
//! paging are plain `GET` forms and links, so the URL is the state: shareable, and the back
//! button works. One small embedded script only marks the page busy while a form submits.
//!
//! # Layout
//! - [`access`]: who may look — sign-in with a reviewer or admin token, the session cookie.
//! - [`overview`]: totals, decisions over time, top blocking rules, riskiest repositories and
//!   agents, sessions with blocks, for a chosen time range.
//! - [`sessions`]: the sessions table with the SPEC's filters and paging.
//! - [`decisions`]: the decisions table (seven filters, time range, keyset paging) and one
//!   decision's full record.
//! - [`timeline`]: one session in order with its chain's integrity, and its JSONL download.
//! - [`page`]: the page frame, badges, numbers and times shared by the views.
//! - [`assets`]: the embedded stylesheet and script.

pub mod access;
pub mod assets;
pub mod decisions;
pub mod overview;
pub mod page;
pub mod sessions;
pub mod timeline;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;

use crate::error::ApiError;
use crate::state::AppState;

pub use access::SignIns;

/// The console's routes, all under `/console`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(overview::page))
        .route("/console/", get(overview::page))
        .route("/console/sessions", get(sessions::page))
        .route("/console/sessions/{id}", get(timeline::page))
        .route("/console/sessions/{id}/decisions.jsonl", get(timeline::jsonl))
        .route("/console/decisions", get(decisions::page))
        .route("/console/decisions/{id}", get(decisions::detail))
        .route("/console/sign-in", get(access::sign_in_page).post(access::sign_in))
        .route("/console/sign-out", post(access::sign_out))
        .route("/console/assets/{name}", get(assets::asset))
        .route("/console/{*rest}", get(not_found))
        .layer(axum::middleware::map_response(secure_headers))
}

/// What a console page answers when it cannot show what was asked.
#[derive(Debug)]
pub enum ConsoleError {
    /// Nobody is signed in: go to the sign-in page.
    SignIn,
    /// A page explaining what went wrong, with its status.
    Page {
        /// The status.
        status: StatusCode,
        /// A short title, e.g. "Invalid filter".
        title: &'static str,
        /// What is wrong and what to do, in one or two sentences.
        message: String,
    },
}

impl ConsoleError {
    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> ConsoleError {
        ConsoleError::Page {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: message.into(),
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> ConsoleError {
        let title = match e.status {
            StatusCode::BAD_REQUEST => "Invalid filter",
            StatusCode::UNAUTHORIZED => "Sign-in needed",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::SERVICE_UNAVAILABLE => "Store unavailable",
            _ => "Something went wrong",
        };
        ConsoleError::Page {
            status: e.status,
            title,
            message: e.message,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn => Redirect::to("/console/sign-in").into_response(),
            ConsoleError::Page { status, title, message } => {
                let body = html! {
                    section.card.error-state role="alert" {
                        p.error-code { (status.as_u16()) }
                        h1 { (title) }
                        p { (message) }
                        p.actions {
                            a.button href="/console" { "Back to the overview" }
                            @if status == StatusCode::BAD_REQUEST {
                                " "
                                a.button.secondary href="/console/decisions" { "Clear all filters" }
                            }
                        }
                    }
                };
                (status, page::frame(title, page::Nav::None, None, body)).into_response()
            }
        }
    }
}

async fn not_found(uri: axum::http::Uri) -> ConsoleError {
    ConsoleError::not_found(format!("the console has no page `{}`", uri.path()))
}

/// Headers on every console response: no framing, no sniffing, nothing but cavra's own assets,
/// no referrer leaking ids to other sites, and pages not cached (they show live activity and
/// may be behind a sign-in).
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A `GET` form's query string made fit for the API's parsers: empty fields (a form's "any")
/// are dropped, and `since`/`until` from a `datetime-local` input (`2026-11-25T10:00`, no zone)
/// are read as UTC. Returns the kept pairs, in order.
pub fn form_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let v = v.trim().to_owned();
            let v = if k == "since" || k == "until" { utc_local(&v) } else { v };
            (k.into_owned(), v)
        })
        .collect()
}

/// `2026-11-25T10:00` or `2026-11-25T10:00:30` as RFC 3339 UTC; anything else as given.
fn utc_local(value: &str) -> String {
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, format) {
            return t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        }
    }
    value.to_owned()
}

/// Pairs back into a query string.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// The value of `key` among `pairs`.
pub fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `pairs` with `key` set to `value` (or removed when `None`), and paging reset unless `key`
/// is itself a paging parameter.
pub fn with(pairs: &[(String, String)], key: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != key && k != "offset" && k != "cursor")
        .cloned()
        .collect();
    if let Some(v) = value {
        out.push((key.to_owned(), v.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form's empty fields are dropped and datetime-local values become UTC instants.
    #[test]
    fn form_values_are_cleaned() {
        let pairs = form_pairs(Some("agent_id=&repository=acme%2Fpay&since=2026-11-25T10%3A00&until=x"));
        assert_eq!(
            pairs,
            vec![
                ("repository".to_owned(), "acme/pay".to_owned()),
                ("since".to_owned(), "2026-11-25T10:00:00Z".to_owned()),
                ("until".to_owned(), "x".to_owned()),
            ]
        );
        assert_eq!(encode(&pairs[..1]), "repository=acme%2Fpay");
    }
}
