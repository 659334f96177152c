//! The clients: one tokio task per client, each with one keep-alive HTTP/1.1 connection.
//!
//! hyper's low-level `client::conn` is used rather than a pooled client: a bench client must hold
//! exactly one connection, and everything a request needs (URI, headers, body halves) is built
//! before the clock starts, so the cost per request is hyper's and the kernel's, little else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Collected, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::Workload;
use super::report::Tally;
use super::workload::{ActionMix, takes_list};
use crate::error::CliError;

/// The sending half of one connection.
pub(crate) type Sender = SendRequest<Full<Bytes>>;

/// Pause after a failed connect, so that a server that is down is not hammered by a busy loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(20);

/// Why one request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The TCP connection (or the HTTP handshake) could not be made.
    Connect(String),
    /// No whole response within `--timeout`.
    Timeout,
    /// The connection broke during the exchange.
    Io(String),
    /// The server answered with a status outside 2xx; `code` is its `error.code`, when it sent one.
    Status {
        /// The HTTP status.
        status: u16,
        /// `error.code` from the body `{"error": {"code", "message"}}`.
        code: Option<String>,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(e) => write!(f, "connect: {e}"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Io(e) => write!(f, "connection: {e}"),
            Failure::Status { status, code: None } => write!(f, "HTTP {status}"),
            Failure::Status {
                status,
                code: Some(code),
            } => write!(f, "HTTP {status} {code}"),
        }
    }
}

/// A parsed `--url`, not yet reached.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    url: String,
    host: String,
    port: u16,
    authority: HeaderValue,
    auth: Option<HeaderValue>,
    base: String,
}

impl Endpoint {
    /// Parses `url` (`http://host[:port][/prefix]`) and the optional bearer `token`.
    pub fn parse(url: &str, token: Option<&str>) -> Result<Endpoint, CliError> {
        let invalid = |why: &str| CliError::Invalid(format!("invalid --url `{url}`: {why}"));
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| invalid(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(invalid(
                    "https is not supported; use http:// (cavra serve speaks plain HTTP)",
                ));
            }
            _ => return Err(invalid("expected http://HOST[:PORT]")),
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("credentials in the URL are not supported; use --token"));
        }
        if uri.query().is_some() {
            return Err(invalid("a query string is not allowed"));
        }
        let auth = match token.filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                    CliError::Invalid("the token has characters not allowed in an HTTP header".to_owned())
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(Endpoint {
            url: url.to_owned(),
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: HeaderValue::from_str(authority.as_str()).map_err(|e| invalid(&e.to_string()))?,
            auth,
            base: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// Resolves the host and connects to the first address that answers: the target, with that
    /// first connection. Fails when no address accepts a connection.
    pub async fn reach(self, timeout: Duration) -> Result<(Target, Sender), CliError> {
        let unreachable = |why: String| CliError::Failed(format!("cannot reach the server at `{}`: {why}", self.url));
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| unreachable(format!("cannot resolve `{}`: {e}", self.host)))?
            .collect();
        let mut last = format!("`{}` has no address", self.host);
        for addr in addrs {
            match connect(addr, timeout).await {
                Ok(sender) => {
                    let target = Target {
                        url: self.url,
                        addr,
                        authority: self.authority,
                        auth: self.auth,
                        base: self.base,
                    };
                    return Ok((target, sender));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(unreachable(last))
    }
}

/// A server that answered: where to connect and the headers every request carries.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The `--url` as given.
    pub url: String,
    addr: SocketAddr,
    authority: HeaderValue,
    auth: Option<HeaderValue>,
    base: String,
}

impl Target {
    /// The URI of `path_and_query` under the URL's path prefix.
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, CliError> {
        let text = format!("{}{path_and_query}", self.base);
        text.parse()
            .map_err(|e| CliError::Invalid(format!("invalid request path `{text}`: {e}")))
    }

    /// A request; cheap: the URI and header values are reference-counted clones.
    fn request(&self, method: Method, uri: &Uri, body: Bytes) -> Request<Full<Bytes>> {
        let json = !body.is_empty();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.authority.clone());
        if json {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        request
    }

    /// One `GET` on a fresh connection, for the numbers read around the run; the body when 2xx.
    pub async fn get(&self, path_and_query: &str, timeout: Duration) -> Result<Bytes, Failure> {
        let uri = self.uri(path_and_query).map_err(|e| Failure::Io(e.to_string()))?;
        let mut sender = connect(self.addr, timeout).await?;
        let body = exchange(&mut sender, self.request(Method::GET, &uri, Bytes::new()), timeout).await?;
        Ok(body.to_bytes())
    }

    /// A new connection to the target.
    pub async fn connect(&self, timeout: Duration) -> Result<Sender, Failure> {
        connect(self.addr, timeout).await
    }
}

/// Opens a connection with `TCP_NODELAY` (requests are small and latency is what is measured) and
/// drives it on its own task, which ends when the sender is dropped or the server closes.
async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Sender, Failure> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => return Err(Failure::Connect(format!("{addr}: timed out"))),
        Ok(Err(e)) => return Err(Failure::Connect(format!("{addr}: {e}"))),
        Ok(Ok(stream)) => stream,
    };
    stream
        .set_nodelay(true)
        .map_err(|e| Failure::Connect(format!("{addr}: {e}")))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Failure::Connect(format!("{addr}: {e}")))?;
    tokio::spawn(async move {
        // Its error reaches the sender as the failed request; nothing more to say here.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends `request` and reads the whole response within `timeout`: the body when the status is 2xx.
async fn exchange(
    sender: &mut Sender,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Collected<Bytes>, Failure> {
    let round_trip = async {
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?;
        Ok::<_, hyper::Error>((status, body))
    };
    match tokio::time::timeout(timeout, round_trip).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => Err(Failure::Io(e.to_string())),
        Ok(Ok((status, body))) if status.is_success() => Ok(body),
        Ok(Ok((status, body))) => Err(Failure::Status {
            status: status.as_u16(),
            code: error_code(&body.to_bytes()),
        }),
    }
}

/// `error.code` of an API error body, if that is what it is.
pub(crate) fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.get("code")?.as_str().map(str::to_owned)
}

/// What every client shares, read-only: the target, the prepared requests, the schedule.
pub(crate) struct Plan {
    /// Where to send.
    pub target: Target,
    /// Decision bodies.
    pub mix: ActionMix,
    /// `POST /decisions`.
    pub post_uri: Uri,
    /// The list queries, cycled through.
    pub list_uris: Vec<Uri>,
    /// Which requests to send.
    pub workload: Workload,
    /// For `mixed`: the share of list queries.
    pub list_ratio: f64,
    /// Number of clients (decision `n` of client `c` is the run's decision `n * clients + c`).
    pub clients: u64,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests started before this are warm-up: sent, not recorded.
    pub measure_start: Instant,
    /// With `--duration`: no request starts after this.
    pub end: Option<Instant>,
    /// With `--requests`: how many measured requests in all.
    pub budget: Option<u64>,
    /// Seeds each client's phase in the mixed sequence.
    pub seed: u64,
}

/// Counters shared by the clients, the progress line and Ctrl-C.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Measured requests claimed against `--requests`.
    pub claimed: AtomicU64,
    /// Measured requests finished.
    pub done: AtomicU64,
    /// Measured requests that failed.
    pub failed: AtomicU64,
    /// Stop now (Ctrl-C).
    pub stop: AtomicBool,
}

/// One client: sends until the schedule or the budget ends, recording measured requests in `tally`.
/// `sender` is its connection, or none if connecting failed before the start.
pub(crate) async fn run_client(
    id: u64,
    plan: Arc<Plan>,
    counters: Arc<Counters>,
    mut sender: Option<Sender>,
    mut tally: Tally,
) -> Tally {
    let mut rng = fastrand::Rng::with_seed(plan.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut posts = 0u64;
    let mut lists = id as usize;
    // Each client starts at its own phase of the mixed sequence, so clients do not list in lockstep.
    let mut mixed = rng.u64(0..1 << 20);
    loop {
        if counters.stop.load(Relaxed) {
            break;
        }
        let now = Instant::now();
        if plan.end.is_some_and(|end| now >= end) {
            break;
        }
        let measured = now >= plan.measure_start;
        if measured
            && let Some(budget) = plan.budget
            && counters.claimed.fetch_add(1, Relaxed) >= budget
        {
            break;
        }
        let list = match plan.workload {
            Workload::Post => false,
            Workload::List => true,
            Workload::Mixed => {
                mixed += 1;
                takes_list(mixed - 1, plan.list_ratio)
            }
        };
        let request = if list && !plan.list_uris.is_empty() {
            let uri = &plan.list_uris[lists % plan.list_uris.len()];
            lists += 1;
            plan.target.request(Method::GET, uri, Bytes::new())
        } else {
            let body = plan.mix.body(posts * plan.clients + id);
            posts += 1;
            plan.target.request(Method::POST, &plan.post_uri, body)
        };
        let started = Instant::now();
        let result = send(&plan, &mut sender, &mut tally.reconnects, request).await;
        if measured {
            let took = started.elapsed();
            let workload = if list { &mut tally.list } else { &mut tally.post };
            workload.record(took, result.as_ref().err());
            counters.done.fetch_add(1, Relaxed);
            if result.is_err() {
                counters.failed.fetch_add(1, Relaxed);
            }
        }
        if matches!(result, Err(Failure::Connect(_))) {
            tokio::time::sleep(CONNECT_BACKOFF).await;
        }
    }
    tally.finished = Some(Instant::now());
    tally
}

/// Sends on the client's connection, opening a new one if there is none or the server closed it;
/// a connection that timed out or broke is dropped, since it cannot carry another request.
async fn send(
    plan: &Plan,
    sender: &mut Option<Sender>,
    reconnects: &mut u64,
    request: Request<Full<Bytes>>,
) -> Result<(), Failure> {
    let live = match sender {
        Some(live) if !live.is_closed() => live,
        _ => {
            *sender = None;
            *reconnects += 1;
            sender.insert(plan.target.connect(plan.timeout).await?)
        }
    };
    let result = exchange(live, request, plan.timeout).await.map(drop);
    if matches!(result, Err(Failure::Timeout | Failure::Io(_))) {
        *sender = None;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URLs parse into host, port and path prefix; what cannot work is refused with the reason.
    #[test]
    fn url_parsing() {
        let e = Endpoint::parse("http://127.0.0.1:8710", None).unwrap();
        assert_eq!((e.host.as_str(), e.port, e.base.as_str()), ("127.0.0.1", 8710, ""));
        let e = Endpoint::parse("http://[::1]/cavra/", Some("t0k")).unwrap();
        assert_eq!((e.host.as_str(), e.port, e.base.as_str()), ("::1", 80, "/cavra"));
        assert_eq!(e.authority, "[::1]");
        assert!(e.auth.as_ref().is_some_and(|a| a == "Bearer t0k" && a.is_sensitive()));
        assert!(Endpoint::parse("http://localhost:1", Some("")).unwrap().auth.is_none());
        for (bad, why) in [
            ("https://x", "https"),
            ("127.0.0.1:8710", "http://"),
            ("http://x/?a=b", "query"),
            ("http://u:p@x/", "credentials"),
            ("not a url", "invalid --url"),
        ] {
            let err = Endpoint::parse(bad, None).unwrap_err();
            assert!(matches!(err, CliError::Invalid(_)), "{bad}");
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
        assert!(Endpoint::parse("http://x", Some("bad\ntoken")).is_err());
    }

    /// The server's error code is read from the API's error envelope, and nothing else.
    #[test]
    fn error_codes() {
        assert_eq!(
            error_code(br#"{"error":{"code":"invalid_action","message":"m"}}"#).as_deref(),
            Some("invalid_action")
        );
        assert_eq!(error_code(b"<html>502</html>"), None);
        assert_eq!(error_code(br#"{"error":"x"}"#), None);
    }
}
