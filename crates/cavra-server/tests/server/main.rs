//! The server's connection handling, against the real `serve_with_limits` on port 0 with a real
//! SQLite store: slow and idle clients are cut off (headers and bodies), and the connection limit
//! holds.
#![expect(clippy::unwrap_used, reason = "test helpers: a failed assumption is a failed test")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cavra_core::PackSet;
use cavra_server::auth::{Authenticator, TokenFile};
use cavra_server::{AppState, ConnectionLimits, serve_with_limits};
use cavra_store::ActivityStore;
use cavra_store::sqlite::SqliteStore;

/// A running server and what stops it.
struct Running {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start(limits: ConnectionLimits) -> Running {
    start_in(tempfile::tempdir().unwrap(), limits)
}

fn start_in(dir: tempfile::TempDir, limits: ConnectionLimits) -> Running {
    let store: Arc<dyn ActivityStore> = Arc::new(SqliteStore::open(&dir.path().join("a.db")).unwrap());
    let state = AppState::new(
        store,
        PackSet::builtin().unwrap(),
        Authenticator::new(TokenFile::default(), true),
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            serve_with_limits(listener, state, async move { drop(stopped.await) }, limits)
                .await
                .unwrap();
        });
    });
    Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
        _dir: dir,
    }
}

/// Reads until the peer closes the connection (or `limit` passes); returns what arrived.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

fn get_health(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A client that sends half a request's headers and stops is disconnected after the header
/// timeout instead of holding its connection forever.
#[test]
fn slow_headers_are_cut_off() {
    let server = start(ConnectionLimits {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 8,
        ..ConnectionLimits::default()
    });
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(20));
    assert!(closed, "a connection with unfinished headers stayed open");
}

/// A kept-alive connection that goes quiet after a request is closed after the same timeout,
/// and answered normally until then.
#[test]
fn idle_keep_alive_is_closed() {
    let server = start(ConnectionLimits {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 8,
        ..ConnectionLimits::default()
    });
    let mut client = TcpStream::connect(server.addr).unwrap();
    assert!(get_health(&mut client).starts_with("HTTP/1.1 200"));
    let (_, closed) = read_until_closed(&mut client, Duration::from_secs(20));
    assert!(closed, "an idle kept-alive connection stayed open");
}

/// Sends `head` and the first bytes of a body, then one more byte every 50 ms (a body that keeps
/// arriving, never completes, and would reset a per-read timeout) until the server stops reading;
/// returns what the server answered and whether it closed the connection.
fn trickle(server: &Running, head: &str) -> (String, bool) {
    let mut client = TcpStream::connect(server.addr).unwrap();
    client.write_all(head.as_bytes()).unwrap();
    let mut writer = client.try_clone().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let dripping = std::thread::spawn(move || {
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            if writer.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let answer = read_until_closed(&mut client, Duration::from_secs(20));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    dripping.join().unwrap();
    answer
}

/// Limits with a short body deadline.
fn short_body_deadline() -> ConnectionLimits {
    ConnectionLimits {
        body_read_timeout: Duration::from_millis(500),
        ..ConnectionLimits::default()
    }
}

/// A JSON body trickled a byte at a time, never finished, is answered 408 `request_timeout` and
/// its connection closed, instead of holding the connection and its handler forever.
#[test]
fn trickled_json_body_is_cut_off() {
    let server = start(short_body_deadline());
    let head = "POST /decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                Content-Length: 100000\r\n\r\n{\"target\":\"";
    let (answer, closed) = trickle(&server, head);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(closed, "the connection stayed open");
}

/// The console's sign-in form, which anyone may post without a token, is cut off the same way.
#[test]
fn trickled_sign_in_form_is_cut_off() {
    let server = start(short_body_deadline());
    let head = "POST /console/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ntoken=";
    let (answer, closed) = trickle(&server, head);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(closed, "the connection stayed open");
}

/// Under the body deadline, bodies that arrive in time are read as always: whole, or in pieces a
/// little apart, and the kept-alive connection goes on serving.
#[test]
fn bodies_within_the_deadline_are_served() {
    let server = start(ConnectionLimits {
        body_read_timeout: Duration::from_secs(10),
        ..ConnectionLimits::default()
    });
    let body = r#"{"action_type":"read_file","target":"README.md","session_id":"s1"}"#;
    let head = format!(
        "POST /decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut client = TcpStream::connect(server.addr).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut buf = [0u8; 8192];
    client.write_all(format!("{head}{body}").as_bytes()).unwrap();
    let n = client.read(&mut buf).unwrap();
    let whole = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(whole.starts_with("HTTP/1.1 201"), "{whole}");
    client.write_all(head.as_bytes()).unwrap();
    for piece in [&body[..10], &body[10..30], &body[30..]] {
        std::thread::sleep(Duration::from_millis(50));
        client.write_all(piece.as_bytes()).unwrap();
    }
    let n = client.read(&mut buf).unwrap();
    let pieces = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(pieces.starts_with("HTTP/1.1 201"), "{pieces}");
    assert!(get_health(&mut client).starts_with("HTTP/1.1 200"));
}

/// With every connection slot taken, a new client waits (is not served) until a slot frees,
/// and is then served.
#[test]
fn connection_limit_holds() {
    let server = start(ConnectionLimits {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 1,
        ..ConnectionLimits::default()
    });
    let mut first = TcpStream::connect(server.addr).unwrap();
    assert!(get_health(&mut first).starts_with("HTTP/1.1 200"));
    let mut second = TcpStream::connect(server.addr).unwrap();
    second
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    second.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = [0u8; 4096];
    assert!(
        second.read(&mut buf).is_err(),
        "a connection beyond the limit was served"
    );
    drop(first);
    second.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let n = second.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "waited {:?}",
        started.elapsed()
    );
}

/// An append that meets the SQLite file locked by another process past `busy_timeout` is a
/// 503 `unavailable` with `Retry-After` (the client may retry), not a 500; once the lock is
/// gone the same request succeeds.
#[test]
fn locked_store_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let server = start_in(dir, ConnectionLimits::default());
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let body = r#"{"action_type":"read_file","target":"README.md","session_id":"s1"}"#;
    let request = format!(
        "POST /decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let send = |request: &str| {
        let mut client = TcpStream::connect(server.addr).unwrap();
        client.write_all(request.as_bytes()).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = [0u8; 8192];
        let n = client.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let locked = send(&request);
    assert!(locked.starts_with("HTTP/1.1 503"), "{locked}");
    assert!(locked.to_ascii_lowercase().contains("retry-after: 1"), "{locked}");
    assert!(locked.contains(r#""code":"unavailable""#), "{locked}");
    other.execute_batch("ROLLBACK").unwrap();
    let free = send(&request);
    assert!(free.starts_with("HTTP/1.1 201"), "{free}");
}
