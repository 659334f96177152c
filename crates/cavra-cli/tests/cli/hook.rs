//! `cavra hook claude-code` as Claude Code runs it: a payload fixture (committed under
//! `fixtures/claude-code/`, in the shape of the current hook protocol) on stdin, the answer on
//! stdout, the exit code, and the decision record it left in the store; PostToolUse outcomes;
//! and every way the hook must fail closed (exit 2, cause on stderr).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a failed assumption is a failed test"
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use cavra_store::{ActivityStore, StoreConfig, ToolStatus};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/fixtures/claude-code")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs the hook with `payload` on stdin and `env` set, in `dir` (its store under `dir`).
fn hook(dir: &Path, payload: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(["hook", "claude-code"])
        .current_dir(dir)
        .env_remove("CAVRA_ACTIVITY_DB")
        .env_remove("CAVRA_ACTIVITY_STORE")
        .env_remove("CAVRA_URL")
        .env_remove("CAVRA_TOKEN")
        .env("CAVRA_POLICY_DIR", dir.join("no-policies"))
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The default store of a hook run in `dir`.
fn store(dir: &Path) -> std::sync::Arc<dyn ActivityStore> {
    cavra_store::open(&StoreConfig::Sqlite(dir.join(".cavra/activity.db"))).unwrap()
}

const SESSION: &str = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f";

/// One fixture: the permission decision printed (None: no output), and the stored record's
/// action type, target, decision and rule.
struct Case {
    fixture: &'static str,
    answer: Option<&'static str>,
    action_type: &'static str,
    target: &'static str,
    decision: &'static str,
    rule_id: &'static str,
}

const DEFAULT_RULE: &str = "cavra-ai-agent-baseline.default";

const CASES: &[Case] = &[
    Case {
        fixture: "pre-bash-force-push.json",
        answer: Some("deny"),
        action_type: "execute_command",
        target: "git push --force origin main",
        decision: "block",
        rule_id: "git.force-push",
    },
    Case {
        fixture: "pre-bash-allowed.json",
        answer: None,
        action_type: "execute_command",
        target: "cargo test --workspace",
        decision: "allow",
        rule_id: DEFAULT_RULE,
    },
    Case {
        fixture: "pre-read-env.json",
        answer: Some("deny"),
        action_type: "read_file",
        target: "/work/acme/payments/.env",
        decision: "block",
        rule_id: "secrets.read",
    },
    Case {
        fixture: "pre-read-readme.json",
        answer: None,
        action_type: "read_file",
        target: "/work/acme/payments/README.md",
        decision: "allow",
        rule_id: DEFAULT_RULE,
    },
    Case {
        fixture: "pre-write-iam.json",
        answer: Some("ask"),
        action_type: "write_file",
        target: "/work/acme/payments/iam/admin-role.tf",
        decision: "require_approval",
        rule_id: "iac.iam-write",
    },
    Case {
        fixture: "pre-edit-workflow.json",
        answer: Some("deny"),
        action_type: "write_file",
        target: "/work/acme/payments/.github/workflows/deploy.yml",
        decision: "block",
        rule_id: "ci.workflow-write",
    },
    Case {
        fixture: "pre-multiedit-source.json",
        answer: None,
        action_type: "write_file",
        target: "/work/acme/payments/src/lib.rs",
        decision: "allow",
        rule_id: DEFAULT_RULE,
    },
    Case {
        fixture: "pre-notebookedit-key.json",
        answer: Some("ask"),
        action_type: "write_file",
        target: "/work/acme/payments/deploy.pem",
        decision: "require_approval",
        rule_id: "secrets.write",
    },
    Case {
        fixture: "pre-grep-ssh.json",
        answer: Some("deny"),
        action_type: "read_file",
        target: "/home/dev/.ssh",
        decision: "block",
        rule_id: "secrets.read",
    },
    Case {
        fixture: "pre-glob-ssh-keys.json",
        answer: Some("deny"),
        action_type: "read_file",
        target: "~/.ssh/id_*",
        decision: "block",
        rule_id: "secrets.read",
    },
    Case {
        fixture: "pre-grep-key-class.json",
        answer: Some("deny"),
        action_type: "read_file",
        target: "/home/dev/*.p[e]m",
        decision: "block",
        rule_id: "secrets.read",
    },
    Case {
        fixture: "pre-glob-source.json",
        answer: None,
        action_type: "read_file",
        target: "/work/acme/payments/**/*.rs",
        decision: "allow",
        rule_id: DEFAULT_RULE,
    },
    Case {
        fixture: "pre-webfetch.json",
        answer: None,
        action_type: "mcp_tool_call",
        target: "claude-code:WebFetch",
        decision: "allow",
        rule_id: DEFAULT_RULE,
    },
    Case {
        fixture: "pre-mcp-unknown-server.json",
        answer: Some("deny"),
        action_type: "mcp_tool_call",
        target: "pastebin:upload",
        decision: "block",
        rule_id: "mcp.unknown-server",
    },
    Case {
        fixture: "pre-mcp-github.json",
        answer: None,
        action_type: "mcp_tool_call",
        target: "github:create_issue",
        decision: "allow",
        rule_id: DEFAULT_RULE,
    },
];

/// Checks one fixture's run: exit 0, the answer's exact shape, and the stored record.
fn check_case(dir: &Path, store: &dyn ActivityStore, case: &Case, env: &[(&str, &str)]) {
    let payload: Value = serde_json::from_str(&fixture(case.fixture)).unwrap();
    let tool_use_id = payload["tool_use_id"].as_str().unwrap();
    let o = hook(dir, &fixture(case.fixture), env);
    assert_eq!(o.status.code(), Some(0), "{}: {}", case.fixture, stderr(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stored = store
        .session_decisions(SESSION)
        .unwrap()
        .into_iter()
        .rev()
        .find(|r| r.tool_use_id.as_deref() == Some(tool_use_id))
        .unwrap_or_else(|| panic!("{}: no record with tool_use_id `{tool_use_id}`", case.fixture));
    match case.answer {
        None => assert_eq!(stdout, "", "{}: an allowed call gets no decision", case.fixture),
        Some(verdict) => {
            let answer: Value = serde_json::from_str(&stdout).unwrap();
            let out = answer["hookSpecificOutput"].as_object().unwrap();
            assert_eq!(out.len(), 3, "{}: {answer}", case.fixture);
            assert_eq!(out["hookEventName"], "PreToolUse");
            assert_eq!(out["permissionDecision"], verdict, "{}", case.fixture);
            let reason = out["permissionDecisionReason"].as_str().unwrap();
            for part in [
                format!("`{}`", case.rule_id),
                stored.severity.to_string(),
                stored.decision_id.clone(),
            ] {
                assert!(
                    reason.contains(&part),
                    "{}: the reason lacks {part}: {reason}",
                    case.fixture
                );
            }
            if let Some(suggestion) = &stored.suggestion {
                assert!(
                    reason.contains(suggestion.trim_end_matches('.')),
                    "{}: {reason}",
                    case.fixture
                );
            }
        }
    }
    let record = serde_json::to_value(&stored).unwrap();
    let want = [
        ("action_type", case.action_type),
        ("target", case.target),
        ("decision", case.decision),
        ("rule_id", case.rule_id),
        ("session_id", SESSION),
        ("cwd", "/work/acme/payments"),
        ("agent_id", "claude-code"),
    ];
    for (field, value) in want {
        assert_eq!(record[field], value, "{}: stored `{field}`", case.fixture);
    }
    assert!(
        stored.record_hash.is_some() && stored.sequence.is_some(),
        "{}: sealed",
        case.fixture
    );
}

/// Every tool type's fixture, in-process on the default SQLite store: answer, exit 0, record.
#[test]
fn fixtures_in_process() {
    let dir = tempfile::tempdir().unwrap();
    // Opened after the first run, so the hook creates the store itself.
    let first = hook(dir.path(), &fixture(CASES[0].fixture), &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let store = store(dir.path());
    for case in CASES {
        check_case(dir.path(), store.as_ref(), case, &[]);
    }
    let chain = store.session_decisions(SESSION).unwrap();
    assert_eq!(chain.len(), CASES.len() + 1);
}

/// PostToolUse records how the call ended against its decision; a failed response is `failed`.
#[test]
fn post_tool_use_records_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "pre-bash-allowed.json",
        "pre-read-readme.json",
        "post-bash-allowed.json",
        "post-read-readme-failed.json",
    ] {
        let o = hook(dir.path(), &fixture(f), &[]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{f}: PostToolUse prints nothing");
    }
    let store = store(dir.path());
    let by_tool_use = |id: &str| {
        let r = store
            .session_decisions(SESSION)
            .unwrap()
            .into_iter()
            .find(|r| r.tool_use_id.as_deref() == Some(id))
            .unwrap();
        store.get_outcome(&r.decision_id).unwrap().unwrap()
    };
    assert_eq!(by_tool_use("toolu_01bash_allowed").status, ToolStatus::Succeeded);
    assert_eq!(by_tool_use("toolu_01read_readme").status, ToolStatus::Failed);
}

/// Hook events cavra does not act on are answered with nothing, exit 0.
#[test]
fn other_events_pass() {
    let dir = tempfile::tempdir().unwrap();
    let o = hook(
        dir.path(),
        r#"{"session_id":"s","hook_event_name":"SessionStart","source":"startup"}"#,
        &[],
    );
    assert_eq!(
        (o.status.code(), o.stdout.is_empty()),
        (Some(0), true),
        "{}",
        stderr(&o)
    );
}

/// Garbage, a non-object, a payload without an event and a Bash call without a command all
/// exit 2 with one clear line on stderr, and store nothing.
#[test]
fn garbage_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("", "not a Claude Code hook payload"),
        ("rm -rf /", "not a Claude Code hook payload"),
        ("[1]", "expected a JSON object"),
        (
            r#"{"tool_name":"Bash","tool_input":{"command":"ls"}}"#,
            "hook_event_name",
        ),
        (
            r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{}}"#,
            "tool_input.command",
        ),
        (
            r#"{"hook_event_name":"PreToolUse","tool_input":{"command":"ls"}}"#,
            "tool_name",
        ),
    ];
    for (payload, says) in cases {
        let o = hook(dir.path(), payload, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{payload:?}: {err}");
        assert!(
            err.starts_with("cavra: blocked") && err.contains(says),
            "{payload:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{payload:?}: one line: {err}");
        assert!(o.stdout.is_empty());
    }
}

/// A store that cannot be opened fails closed too.
#[test]
fn unusable_store_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not-a-dir"), "x").unwrap();
    let db = dir.path().join("not-a-dir/activity.db");
    let o = hook(
        dir.path(),
        &fixture("pre-bash-allowed.json"),
        &[("CAVRA_ACTIVITY_DB", db.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("activity store"), "{}", stderr(&o));
}

/// A store another process holds the write lock of: the hook gives up after its 3 s busy wait
/// and fails closed, well before Claude Code's own 10 s hook timeout would run the tool.
#[test]
fn locked_store_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    // Create the store, then hold its write lock.
    let first = hook(dir.path(), &fixture("pre-bash-allowed.json"), &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let conn = rusqlite::Connection::open(dir.path().join(".cavra/activity.db")).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let o = hook(dir.path(), &fixture("pre-bash-allowed.json"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("blocked (fail closed)") && err.contains("locked"), "{err}");
    assert!(o.stdout.is_empty());
    conn.execute_batch("ROLLBACK").unwrap();
}

/// Whatever hangs — here a server that never answers, waited for longer than the deadline —
/// the hook exits 2 at its deadline; a bad deadline setting fails closed too.
#[test]
fn the_deadline_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let silent = fake_server(None);
    let o = hook(
        dir.path(),
        &fixture("pre-bash-allowed.json"),
        &[
            ("CAVRA_URL", &silent),
            ("CAVRA_HOOK_TIMEOUT_MS", "60000"),
            ("CAVRA_HOOK_DEADLINE_MS", "300"),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("blocked (fail closed): no decision within 0.3 s"), "{err}");
    assert!(o.stdout.is_empty());
    // Stdin that never ends is cut by the same deadline.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(["hook", "claude-code"])
        .current_dir(dir.path())
        .env("CAVRA_HOOK_DEADLINE_MS", "300")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _open_stdin = child.stdin.take();
    let hung = child.wait_with_output().unwrap();
    assert_eq!(hung.status.code(), Some(2), "{}", stderr(&hung));
    assert!(stderr(&hung).contains("no decision within 0.3 s"), "{}", stderr(&hung));
    let bad = hook(
        dir.path(),
        &fixture("pre-bash-allowed.json"),
        &[("CAVRA_HOOK_DEADLINE_MS", "0")],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("`CAVRA_HOOK_DEADLINE_MS` `0`"),
        "{}",
        stderr(&bad)
    );
}

/// An existing store behind this binary's migrations is not migrated by the hook (a backfill
/// over a large store could outlast the agent's timeout): it fails closed naming the command.
#[test]
fn a_store_needing_migrations_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let first = hook(dir.path(), &fixture("pre-bash-allowed.json"), &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let db = dir.path().join(".cavra/activity.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let newest: i64 = conn
        .query_row("SELECT max(version) FROM cavra_schema_migrations", [], |r| r.get(0))
        .unwrap();
    conn.execute("DELETE FROM cavra_schema_migrations WHERE version = ?1", [newest])
        .unwrap();
    drop(conn);
    let o = hook(dir.path(), &fixture("pre-bash-allowed.json"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("needs 1 migration") && err.contains("cavra evidence migrate --sqlite"),
        "{err}"
    );
}

/// Arguments the hook cannot read fail closed, exit 2 (Claude Code runs the tool after any
/// other code), with the parser's message; `--help` still prints help.
#[test]
fn bad_hook_arguments_fail_closed() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cavra"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for (args, says) in [
        (&["hook", "claude-code", "--bogus"][..], "unexpected argument '--bogus'"),
        (
            &["hook", "claude-code", "--deadline-ms"][..],
            "a value is required for '--deadline-ms",
        ),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("cavra: blocked (fail closed): "),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
    let help = run(&["hook", "claude-code", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--deadline-ms"));
}

/// A loopback port with nothing listening.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A one-connection HTTP server that answers `response` (or nothing at all, when `None`, until
/// the test ends). Returns its URL.
fn fake_server(response: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let mut buf = [0u8; 8192];
        let _ = conn.read(&mut buf);
        match response {
            Some(r) => {
                let _ = conn.write_all(r.as_bytes());
            }
            None => std::thread::sleep(Duration::from_secs(30)),
        }
    });
    url
}

/// Server down, server 500, a server that never answers (timeout) and a bad timeout setting:
/// exit 2, the cause on stderr, nothing on stdout.
#[test]
fn server_failures_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let down = format!("http://127.0.0.1:{}", closed_port());
    let error = fake_server(Some(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 60\r\nconnection: close\r\n\r\n{\"error\":{\"code\":\"internal\",\"message\":\"the store failed\"}}\n\n",
    ));
    let silent = fake_server(None);
    let cases: [(&str, &str, &str); 4] = [
        (&down, "2000", "cannot reach the cavra server"),
        (&error, "2000", "answered 500: the store failed"),
        (&silent, "300", "cannot reach the cavra server"),
        (&down, "soon", "`CAVRA_HOOK_TIMEOUT_MS` `soon`"),
    ];
    for (url, timeout, says) in cases {
        let o = hook(
            dir.path(),
            &fixture("pre-bash-allowed.json"),
            &[("CAVRA_URL", url), ("CAVRA_HOOK_TIMEOUT_MS", timeout)],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{url}: {err}");
        assert!(
            err.starts_with("cavra: blocked (fail closed): ") && err.contains(says),
            "{url}: {err}"
        );
        assert!(o.stdout.is_empty(), "{url}");
    }
    let silent_err = stderr(&hook(
        dir.path(),
        &fixture("pre-bash-allowed.json"),
        &[("CAVRA_URL", &fake_server(None)), ("CAVRA_HOOK_TIMEOUT_MS", "300")],
    ));
    assert!(
        silent_err.to_lowercase().contains("timeout") || silent_err.contains("timed out"),
        "{silent_err}"
    );
    assert!(
        !dir.path().join(".cavra").exists(),
        "server mode stores nothing locally"
    );
}

/// Server mode against a real `cavra serve`: the same answers, the records in the server's
/// store, and PostToolUse outcomes recorded through `POST /outcomes`.
#[test]
fn fixtures_through_a_server() {
    let server_dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = crate::serve::start(server_dir.path(), &[]);
    let url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let env = [("CAVRA_URL", url.as_str())];
    let server_store: PathBuf = server_dir.path().join(".cavra/activity.db");
    // Read through a second handle on the server's SQLite file (WAL: readers see commits).
    let first = hook(dir.path(), &fixture(CASES[0].fixture), &env);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let store = cavra_store::open(&StoreConfig::Sqlite(server_store)).unwrap();
    for case in CASES {
        check_case(dir.path(), store.as_ref(), case, &env);
    }
    let o = hook(dir.path(), &fixture("post-bash-allowed.json"), &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = store
        .session_decisions(SESSION)
        .unwrap()
        .into_iter()
        .rev()
        .find(|r| r.tool_use_id.as_deref() == Some("toolu_01bash_allowed"))
        .unwrap();
    assert_eq!(
        store.get_outcome(&r.decision_id).unwrap().unwrap().status,
        ToolStatus::Succeeded
    );
    assert!(
        !dir.path().join(".cavra").exists(),
        "server mode stores nothing locally"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A pack from the policy directory that inherits the baseline decides (its own rule and the
/// inherited ones); an unknown pack fails closed naming the known ones.
#[test]
fn policy_directory_packs_decide() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("team.yaml"),
        "id: team-strict\ntitle: Team rules\ndescription: The baseline, and no cargo here.\nversion: 1.0.0\n\
         inherits: [cavra-ai-agent-baseline]\nrules:\n  - id: team.no-cargo\n    description: cargo is not used here\n\
         \x20   match:\n      command: { program: cargo }\n    decision: block\n    severity: medium\n\
         \x20   reason: This repository is not built with cargo.\n",
    )
    .unwrap();
    let dir_env = policies.to_str().unwrap();
    let env = [("CAVRA_POLICY_DIR", dir_env), ("CAVRA_POLICY_PACK", "team-strict")];
    for (f, rule) in [
        ("pre-bash-allowed.json", "team.no-cargo"),
        ("pre-read-env.json", "secrets.read"),
    ] {
        let o = hook(dir.path(), &fixture(f), &env);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
        let answer: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny", "{f}");
        assert!(
            answer["hookSpecificOutput"]["permissionDecisionReason"]
                .as_str()
                .unwrap()
                .contains(rule),
            "{f}"
        );
    }
    let o = hook(
        dir.path(),
        &fixture("pre-bash-allowed.json"),
        &[("CAVRA_POLICY_DIR", dir_env), ("CAVRA_POLICY_PACK", "nope")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown policy pack `nope` (known: ") && stderr(&o).contains("team-strict"),
        "{}",
        stderr(&o)
    );
}

/// Issue 14, item 7: the in-process hook takes no mode from the payload — `policy_mode`,
/// `justification` and `actor` at the top level or in `tool_input`, or a `CAVRA_POLICY_MODE`
/// in its environment — so a force push is still denied and recorded in `enforce`.
#[test]
fn the_payload_chooses_no_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut payload: Value = serde_json::from_str(&fixture("pre-bash-force-push.json")).unwrap();
    for pointer in ["", "/tool_input"] {
        let place = payload.pointer_mut(pointer).unwrap();
        place["policy_mode"] = "break_glass".into();
        place["justification"] = "INC-1: trust me".into();
        place["actor"] = "oncall@acme.example".into();
    }
    let o = hook(dir.path(), &payload.to_string(), &[("CAVRA_POLICY_MODE", "audit_only")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let answer: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    let stored = store(dir.path()).session_decisions(SESSION).unwrap();
    let record = serde_json::to_value(&stored[0]).unwrap();
    assert_eq!(
        (
            &record["decision"],
            &record["mode"],
            &record["actor"],
            record.get("justification")
        ),
        (&"block".into(), &"enforce".into(), &"ai-agent".into(), None)
    );
}
