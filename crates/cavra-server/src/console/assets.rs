//! The console's stylesheet and script, embedded in the binary (no CDN, works offline) and
//! served with their version in the URL, so they may be cached for a day.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::console::ConsoleError;

/// The stylesheet: hand-written, no framework.
pub const CSS: &str = include_str!("assets/console.css");
/// The script: marks the page busy while a form submits or a link loads (progressive
/// enhancement; every page works without it).
pub const JS: &str = include_str!("assets/console.js");

/// `GET /console/assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ConsoleError> {
    let (body, kind) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return Err(ConsoleError::not_found(format!("no asset `{name}`"))),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(response)
}
