//! The activity commands against real stores: `demo`, `decisions list`, `sessions list|show`,
//! `evidence migrate`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the binary with the store selected by `env` (name, value) pairs only.
#[expect(
    clippy::expect_used,
    reason = "a test helper stops the test at the first failed assumption"
)]
fn run(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cavra"));
    cmd.args(args)
        .env_remove("CAVRA_ACTIVITY_DB")
        .env_remove("CAVRA_ACTIVITY_STORE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the cavra binary runs")
}

#[expect(
    clippy::expect_used,
    reason = "a test helper stops the test at the first failed assumption"
)]
fn json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

/// `cavra demo` persists the flagship sequence as one session whose summary and chain agree.
#[test]
fn demo_persists_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("activity.db");
    let env = [("CAVRA_ACTIVITY_DB", db.as_path())];
    let demo = json(&run(&["demo", "--session-id", "demo-1", "--json"], &env));
    let decisions: Vec<&str> = demo["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        ["block", "require_approval", "allow", "block", "block", "block"]
    );

    let sessions = json(&run(&["sessions", "list", "--json"], &env));
    assert_eq!(sessions["total"], 1);
    let s = &sessions["items"][0];
    assert_eq!(
        (s["decision_count"].as_u64(), s["blocked_count"].as_u64()),
        (Some(6), Some(4))
    );
    assert_eq!(s["approval_required_count"], 1);
    assert_eq!(s["max_severity"], "critical");
    assert_eq!(s["repository"], "acme/payments");

    let shown = json(&run(&["sessions", "show", "demo-1", "--json"], &env));
    let timeline = shown["decisions"].as_array().unwrap();
    assert_eq!(timeline.len(), 6);
    for pair in timeline.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["record_hash"]);
        assert!(pair[1]["sequence"].as_u64() > pair[0]["sequence"].as_u64());
    }
    assert_eq!(shown["head_hash"], timeline[5]["record_hash"]);
    assert_eq!(shown["chain"]["intact"], true, "{}", shown["chain"]);
    assert_eq!(shown["chain"]["records"], 6);
}

/// `decisions list` filters, pages with a cursor, and rejects bad filter values with exit 3.
#[test]
fn decisions_list_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("activity.db");
    let env = [("CAVRA_ACTIVITY_DB", db.as_path())];
    json(&run(&["demo", "--session-id", "a", "--json"], &env));
    json(&run(&["demo", "--session-id", "b", "--json"], &env));

    let blocked = json(&run(&["decisions", "list", "--decision", "block", "--json"], &env));
    assert_eq!(blocked["total"], 8);
    let critical = json(&run(
        &[
            "decisions",
            "list",
            "--severity",
            "critical",
            "--session-id",
            "b",
            "--json",
        ],
        &env,
    ));
    assert_eq!(critical["total"], 1);
    assert_eq!(critical["items"][0]["rule_id"], "iac.terraform-apply");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["decisions", "list", "--limit", "5", "--json"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let page = json(&run(&args, &env));
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["sequence"].as_u64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, (1..=12).rev().collect::<Vec<u64>>());

    for bad in [
        &["--decision", "deny"][..],
        &["--since", "yesterday"],
        &["--cursor", "zzz"],
        &["--severity", "huge"],
    ] {
        let mut args = vec!["decisions", "list"];
        args.extend_from_slice(bad);
        let o = run(&args, &env);
        assert_eq!(
            o.status.code(),
            Some(3),
            "{bad:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let missing = run(&["sessions", "show", "nope"], &env);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no session `nope`"));
}

/// `evidence migrate --from-json` run twice imports once; counts and hashes match the source.
#[test]
fn migrate_from_json_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("activity.json");
    let target = dir.path().join("activity.db");
    json(&run(
        &["demo", "--session-id", "j1", "--json"],
        &[("CAVRA_ACTIVITY_STORE", source.as_path())],
    ));
    json(&run(
        &["demo", "--session-id", "j2", "--json"],
        &[("CAVRA_ACTIVITY_STORE", source.as_path())],
    ));

    let args = [
        "evidence",
        "migrate",
        "--sqlite",
        target.to_str().unwrap(),
        "--from-json",
        source.to_str().unwrap(),
        "--json",
    ];
    let first = json(&run(&args, &[]));
    assert_eq!(first["import"]["decisions_imported"], 12);
    assert_eq!(first["import"]["sessions_imported"], 2);
    assert_eq!(first["verified"]["decisions"], 12);
    assert_eq!(first["migrations"]["applied"].as_array().unwrap().len(), 9);
    let second = json(&run(&args, &[]));
    assert_eq!(second["import"]["decisions_imported"], 0);
    assert_eq!(second["import"]["decisions_skipped"], 12);
    assert_eq!(second["import"]["sessions_skipped"], 2);
    assert_eq!(second["migrations"]["already_applied"].as_array().unwrap().len(), 9);

    let from = json(&run(
        &["sessions", "show", "j1", "--json"],
        &[("CAVRA_ACTIVITY_STORE", source.as_path())],
    ));
    let to = json(&run(
        &["sessions", "show", "j1", "--json"],
        &[("CAVRA_ACTIVITY_DB", target.as_path())],
    ));
    assert_eq!(from, to);
}

/// A fresh PostgreSQL database for one test, dropped afterwards; `None` (with a loud note) only
/// when no server is reachable outside CI.
pub(crate) struct FreshDatabase {
    name: String,
}

impl FreshDatabase {
    const ADMIN: &'static str = "postgres://postgres@127.0.0.1:5432/test";

    #[expect(
        clippy::unwrap_used,
        clippy::panic,
        reason = "test setup stops the test when it cannot prepare"
    )]
    pub(crate) fn create(tag: &str) -> Option<FreshDatabase> {
        let mut admin = match postgres::Client::connect(Self::ADMIN, postgres::NoTls) {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED {tag}: no PostgreSQL at 127.0.0.1:5432 ({e})");
                return None;
            }
            Err(e) => panic!("CI needs PostgreSQL at 127.0.0.1:5432: {e}"),
        };
        let name = format!("cavra_cli_{tag}_{}", std::process::id());
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        Some(FreshDatabase { name })
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(Self::ADMIN, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// `evidence migrate --postgres URL --from-json` imports once and the sessions read back the same.
#[test]
fn migrate_to_postgres_is_idempotent() {
    let Some(db) = FreshDatabase::create("migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("activity.json");
    json(&run(
        &["demo", "--session-id", "p1", "--json"],
        &[("CAVRA_ACTIVITY_STORE", source.as_path())],
    ));
    let url = db.url();
    let args = [
        "evidence",
        "migrate",
        "--postgres",
        url.as_str(),
        "--from-json",
        source.to_str().unwrap(),
        "--json",
    ];
    let first = json(&run(&args, &[]));
    assert_eq!(first["import"]["decisions_imported"], 6);
    assert_eq!(first["verified"]["decisions"], 6);
    assert!(
        !first["target"].as_str().unwrap().contains("***"),
        "no password to hide here"
    );
    let second = json(&run(&args, &[]));
    assert_eq!(second["import"]["decisions_skipped"], 6);
    let from = json(&run(
        &["sessions", "show", "p1", "--json"],
        &[("CAVRA_ACTIVITY_STORE", source.as_path())],
    ));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cavra"));
    cmd.args(["sessions", "show", "p1", "--json"])
        .env("CAVRA_ACTIVITY_DB", &url)
        .env_remove("CAVRA_ACTIVITY_STORE");
    let to = json(&cmd.output().unwrap());
    assert_eq!(from, to);
}
