//! Values at the edges that a store may treat differently — a NUL character in an identifier,
//! an offset beyond `i64` — must get the same client error (or answer) on every backend, never
//! a 500 and never a value stored by one backend and refused by another. And a kept-alive
//! connection must survive an answer given before the request body was read.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Backend, Home, Server, StoreSpec};
use crate::schema;

/// Everything at the edges, on one backend.
fn edges(backend: Backend) {
    let Some(store) = StoreSpec::fresh(backend, &format!("edges_on_{}", backend.name())) else {
        return;
    };
    let server = Server::start(store);
    let api = server.client();
    api.post(
        "/decisions",
        &json!({"action_type": "read_file", "target": "README.md", "session_id": "edge"}),
    )
    .expect(201);
    let mut failures = Vec::new();

    // A NUL character in a path id: no such record.
    for path in ["/decisions/a%00b", "/sessions/a%00b"] {
        let reply = api.get(path);
        if reply.status != 404 {
            failures.push(format!(
                "GET {path}: want 404 `not_found`, got {} {}",
                reply.status, reply.text
            ));
        }
    }
    // A NUL character in an identifier: refused as appends refuse it, naming the field, and
    // nothing stored.
    let nul = "a\u{0}b";
    for (path, body, field) in [
        (
            "/decisions",
            json!({"action_type": "read_file", "target": "x", "agent_id": nul}),
            "agent_id",
        ),
        (
            "/sessions",
            json!({"session_id": "edge-agent", "agent_id": nul}),
            "agent_id",
        ),
        ("/sessions", json!({"session_id": "edge-actor", "actor": nul}), "actor"),
        (
            "/sessions",
            json!({"session_id": "edge-repository", "repository": nul}),
            "repository",
        ),
        (
            "/sessions",
            json!({"session_id": "edge-pack", "policy_pack": nul}),
            "policy_pack",
        ),
    ] {
        let reply = api.post(path, &body);
        let message = serde_json::from_str::<Value>(&reply.text)
            .ok()
            .and_then(|b| b["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if reply.status != 400 || !message.contains(field) {
            failures.push(format!(
                "POST {path} with a NUL in `{field}`: want 400 naming `{field}`, got {} {}",
                reply.status, reply.text
            ));
        }
    }
    // An offset beyond what SQL takes: every backend answers alike — an empty page, or
    // `invalid_query` like every other bad paging value.
    for list in ["/decisions", "/sessions"] {
        let path = format!("{list}?offset=9223372036854775808");
        let reply = api.get(&path);
        let body: Value = serde_json::from_str(&reply.text).unwrap_or(Value::Null);
        let empty_page = reply.status == 200 && body["items"] == json!([]) && body["total"].as_u64() > Some(0);
        let invalid_query = reply.status == 400 && body["error"]["code"] == "invalid_query";
        if !(empty_page || invalid_query) {
            failures.push(format!(
                "GET {path}: want 200 with no items or 400 `invalid_query`, got {} {}",
                reply.status, reply.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: {} edge cases answered wrongly:\n  {}",
        backend.name(),
        failures.len(),
        failures.join("\n  ")
    );
    schema::assert_conforms(&server);
}

/// Edge values on the SQLite store.
#[test]
fn edges_on_sqlite() {
    edges(Backend::Sqlite);
}

/// Edge values on the JSON file store.
#[test]
fn edges_on_json() {
    edges(Backend::Json);
}

/// Edge values on PostgreSQL.
#[test]
fn edges_on_postgres() {
    edges(Backend::Postgres);
}

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body) from `stream`: its head, or
/// what came before the connection closed.
fn read_response(stream: &mut TcpStream) -> Result<String, String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return Ok(head.to_owned());
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(format!("the connection closed; received {text:?}")),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("{e}; received {text:?}")),
        }
    }
}

/// An answer given before the request body arrived (401 before the token check reads it, 404 for
/// an unknown path, 415, 413) must leave the kept-alive connection usable, or say
/// `Connection: close`: otherwise a keep-alive client's next request on it fails at random.
#[test]
fn kept_alive_connections_survive_early_answers() {
    let home = Home::new();
    let token = home.create_token("admin", None);
    let server = Server::start_in(home, StoreSpec::Sqlite, "127.0.0.1:0");
    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = br#"{"action_type":"read_file","target":"README.md"}"#.to_vec();
    let auth = format!("Authorization: Bearer {}\r\n", token.secret);
    // Status, request head, body, and how much of the body goes with the head: none, except for
    // the 413, which the server only gives once the body has passed 64 KiB.
    let cases: Vec<(&str, String, Vec<u8>, usize)> = vec![
        (
            "401",
            "POST /decisions HTTP/1.1\r\nContent-Type: application/json\r\n".to_owned(),
            body.clone(),
            0,
        ),
        (
            "404",
            format!("POST /nope HTTP/1.1\r\n{auth}Content-Type: application/json\r\n"),
            body.clone(),
            0,
        ),
        (
            "415",
            format!("POST /decisions HTTP/1.1\r\n{auth}Content-Type: text/plain\r\n"),
            body.clone(),
            0,
        ),
        (
            "413",
            format!("POST /decisions HTTP/1.1\r\n{auth}Content-Type: application/json\r\n"),
            vec![b' '; 80 * 1024],
            66 * 1024,
        ),
    ];
    let mut failures = Vec::new();
    for (status, head, body, sent_first) in cases {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The server answers before the rest of the body is on its way.
        let request = format!("{head}Host: cavra\r\nContent-Length: {}\r\n\r\n", body.len());
        stream.write_all(request.as_bytes()).unwrap();
        stream.write_all(&body[..sent_first]).unwrap();
        let first = read_response(&mut stream).unwrap();
        assert!(
            first.starts_with(&format!("HTTP/1.1 {status}")),
            "{status} case answered: {first}"
        );
        if first.to_ascii_lowercase().contains("connection: close") {
            continue;
        }
        std::thread::sleep(Duration::from_millis(50));
        let next = stream
            .write_all(&body[sent_first..])
            .and_then(|()| stream.write_all(b"GET /health HTTP/1.1\r\nHost: cavra\r\n\r\n"))
            .map_err(|e| e.to_string())
            .and_then(|()| read_response(&mut stream));
        match next {
            Ok(head) if head.starts_with("HTTP/1.1 200") => {}
            Ok(head) => failures.push(format!("after the {status}: the next request got {head:?}")),
            Err(e) => failures.push(format!(
                "after the {status} (no `Connection: close`): the next request on the connection failed: {e}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
