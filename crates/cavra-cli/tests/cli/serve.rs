//! `cavra serve` as an operator runs it: the loopback rule without tokens, and SIGTERM under
//! load losing no acknowledged decision.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cavra_store::ActivityStore;

/// Starts `cavra serve` on a free loopback port; returns the child and `host:port`.
#[expect(
    clippy::unwrap_used,
    reason = "a test helper stops the test at the first failed assumption"
)]
pub(crate) fn start(dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tokens-file"])
        .arg(dir.join("tokens.json"))
        .args(extra)
        .current_dir(dir)
        .env_remove("CAVRA_ACTIVITY_DB")
        .env_remove("CAVRA_ACTIVITY_STORE")
        .env("CAVRA_POLICY_DIR", dir.join("no-policies"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("cavra listening on http://")
        .unwrap()
        .to_owned();
    (child, addr)
}

/// One HTTP/1.1 request on its own connection: the status and the body.
fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Without tokens, listening beyond loopback is refused with a message that says how to fix it.
#[test]
fn refuses_to_listen_beyond_loopback_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(["serve", "--listen", "0.0.0.0:0", "--tokens-file"])
        .arg(dir.path().join("tokens.json"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without API tokens") && err.contains("cavra token create"),
        "{err}"
    );
}

/// SIGTERM while eight clients post: the server stops cleanly, and every decision it answered
/// 201 for is in the store, with sequences 1..N and no gap.
#[test]
fn sigterm_under_load_loses_no_acknowledged_decision() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("activity.db");
    let (mut child, addr) = start(dir.path(), &["--activity-db", db.to_str().unwrap()]);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (addr, acknowledged, stop) = (addr.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = format!(
                        r#"{{"action_type":"execute_command","target":"cargo test -p c{c}","session_id":"s{}"}}"#,
                        n % 3
                    );
                    // Anything but a 201 (refused or cut off by the shutdown) was not
                    // acknowledged, so it is not owed.
                    if let Ok((201, text)) = request(&addr, "POST", "/decisions", Some(&body)) {
                        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
                        acknowledged
                            .lock()
                            .unwrap()
                            .push(record["decision_id"].as_str().unwrap().to_owned());
                    }
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let before = acknowledged.lock().unwrap().len();
    assert!(before > 0, "no decision was acknowledged before the signal");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    assert!(status.success(), "serve exited with {status}");
    let ids = acknowledged.lock().unwrap().clone();
    let store = cavra_store::sqlite::SqliteStore::open(&db).unwrap();
    for id in &ids {
        assert!(store.get_decision(id).unwrap().is_some(), "acknowledged {id} was lost");
    }
    let page = store
        .list_decisions(&cavra_store::DecisionQuery {
            limit: 1,
            ..Default::default()
        })
        .unwrap();
    let newest = page.items[0].sequence.unwrap();
    assert_eq!(newest, page.total, "sequences must be 1..N without gaps");
    assert!(page.total >= ids.len() as u64);
}

/// The decision posted over HTTP is the one `cavra decisions list` reads back from the store.
#[test]
fn posted_decisions_are_read_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("activity.db");
    let (mut child, addr) = start(dir.path(), &["--activity-db", db.to_str().unwrap()]);
    let (status, body) = request(
        &addr,
        "POST",
        "/decisions",
        Some(r#"{"action_type":"git_operation","target":"origin/main","operation":"force_push","repository":"acme/payments"}"#),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let posted: serde_json::Value = serde_json::from_str(&body).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(["decisions", "list", "--json", "--activity-db", db.to_str().unwrap()])
        .output()
        .unwrap();
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["items"][0]["decision_id"], posted["decision_id"]);
    assert_eq!(page["items"][0]["decision"], "block");
}

/// `serve --checkpoint-key` signs checkpoints while it runs and once more at SIGTERM, so the last
/// decision acknowledged is covered: `evidence verify --public-key` finds the store intact
/// against a checkpoint at the log's high-water mark.
#[test]
fn serve_signs_periodic_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("activity.db");
    let key = dir.path().join("evidence.key");
    let made = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(["evidence", "keygen", "--output", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success());
    let (child, addr) = start(
        dir.path(),
        &[
            "--activity-db",
            db.to_str().unwrap(),
            "--checkpoint-key",
            key.to_str().unwrap(),
            "--checkpoint-interval",
            "1",
        ],
    );
    for target in ["ls", "cat .env", "git push origin main"] {
        let body = format!(r#"{{"action_type":"execute_command","target":"{target}","session_id":"s-ck"}}"#);
        let (status, answer) = request(&addr, "POST", "/decisions", Some(&body)).unwrap();
        assert_eq!(status, 201, "{answer}");
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut child = child;
    assert!(child.wait().unwrap().success());
    let out = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args([
            "evidence",
            "verify",
            "--json",
            "--activity-db",
            db.to_str().unwrap(),
            "--public-key",
        ])
        .arg(format!("{}.pub", key.display()))
        .env_remove("CAVRA_ACTIVITY_STORE")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["checkpoint"]["state"], "verified");
    assert_eq!(
        report["checkpoint"]["sequence"], 3,
        "the shutdown checkpoint covers every decision"
    );
}
