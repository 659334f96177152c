//! Reading requests: JSON bodies (media type, the 64 KiB limit, parse errors that name the field)
//! and query strings (known parameters only, each at most once, typed values).
//!
//! An unknown query parameter is an error rather than ignored: a misspelt filter
//! (`?reposiotry=x`) silently answering with everything is how reviewers miss things.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest request body accepted (SPEC §6); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body: checked media type, at most [`MAX_BODY_BYTES`], not yet parsed.
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<JsonBody, ApiError> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "the body must be JSON: send `Content-Type: application/json` (got `{}`)",
                    if content_type.is_empty() { "none" } else { content_type }
                ),
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {} KiB", MAX_BODY_BYTES / 1024),
                )
            } else if let Some(timeout) = crate::deadline::timed_out(&rejection) {
                ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", timeout.to_string())
            } else {
                ApiError::invalid_body(format!("cannot read the body: {rejection}"))
            }
        })?;
        Ok(JsonBody(bytes))
    }
}

impl JsonBody {
    /// Parses the body as `T`, naming the offending field on error.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let mut de = serde_json::Deserializer::from_slice(&self.0);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                ApiError::invalid_body(format!("invalid JSON: {inner}"))
            } else if path == "." {
                ApiError::invalid_body(inner.to_string())
            } else {
                ApiError::invalid_body(format!("field `{path}`: {inner}"))
            }
        })?;
        de.end()
            .map_err(|e| ApiError::invalid_body(format!("invalid JSON after the value: {e}")))?;
        Ok(value)
    }
}

/// A path parameter (an id) whose rejection is answered in the API's error envelope; an id
/// with a NUL character is a 404, since none can exist.
pub struct IdPath(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<IdPath, ApiError> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid_query(format!("invalid id in the path: {e}")))
            .and_then(|axum::extract::Path(id)| {
                // No id holds a NUL (the store refuses them), and PostgreSQL cannot even be asked.
                if id.contains('\0') {
                    Err(ApiError::not_found("no id contains a NUL character"))
                } else {
                    Ok(IdPath(id))
                }
            })
    }
}

/// A parsed query string, checked against the parameters an endpoint knows.
pub struct QueryParams {
    values: BTreeMap<String, String>,
}

impl QueryParams {
    /// Parses `raw`, refusing parameters not in `known` and repeated ones.
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<QueryParams, ApiError> {
        let mut values = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !known.contains(&key.as_ref()) {
                return Err(ApiError::invalid_query(format!(
                    "unknown query parameter `{key}` (expected one of: {})",
                    known.join(", ")
                )));
            }
            if values.insert(key.to_string(), value.to_string()).is_some() {
                return Err(ApiError::invalid_query(format!(
                    "query parameter `{key}` is given more than once"
                )));
            }
        }
        Ok(QueryParams { values })
    }

    /// A text parameter; empty is an error (an empty filter matches nothing useful).
    pub fn text(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(v) if v.is_empty() => Err(ApiError::invalid_query(format!("`{key}` is empty"))),
            Some(v) if v.contains('\0') => Err(ApiError::invalid_query(format!("`{key}` contains a NUL character"))),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// A parameter read with `FromStr`, whose error message names the accepted values.
    pub fn parsed<T: FromStr>(&self, key: &str) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        match self.text(key)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| ApiError::invalid_query(format!("`{key}`: {e}"))),
        }
    }

    /// A non-negative integer.
    pub fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.text(key)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid_query(format!("`{key}` must be a non-negative integer, not `{v}`"))),
        }
    }

    /// An RFC 3339 timestamp, as microseconds since the epoch.
    pub fn timestamp(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.text(key)? {
            None => Ok(None),
            Some(v) => cavra_store::model::parse_timestamp(&v)
                .map(Some)
                .map_err(|e| ApiError::invalid_query(format!("`{key}`: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unknown and repeated parameters are refused by name.
    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let e = QueryParams::parse(Some("reposiotry=x"), &["repository"]).err().unwrap();
        assert!(e.message.contains("`reposiotry`"), "{}", e.message);
        let e = QueryParams::parse(Some("limit=1&limit=2"), &["limit"]).err().unwrap();
        assert!(e.message.contains("more than once"));
    }

    /// Values are typed; bad ones name the parameter.
    #[test]
    fn values_are_typed() {
        let q = QueryParams::parse(
            Some("limit=-1&since=yesterday&decision=nope"),
            &["limit", "since", "decision"],
        )
        .unwrap();
        assert!(q.number("limit").unwrap_err().message.contains("`limit`"));
        assert!(q.timestamp("since").unwrap_err().message.contains("`since`"));
        let e = q.parsed::<cavra_core::Outcome>("decision").unwrap_err();
        assert!(e.message.contains("`decision`"), "{}", e.message);
    }

    /// Percent-encoding is decoded.
    #[test]
    fn values_are_decoded() {
        let q = QueryParams::parse(Some("repository=acme%2Fpayments"), &["repository"]).unwrap();
        assert_eq!(q.text("repository").unwrap().as_deref(), Some("acme/payments"));
    }
}
