//! `cavra mcp` as MCP clients use it: the JSON-RPC edge cases on raw lines, and an end-to-end run
//! with the official MCP Python SDK (pinned in `fixtures/mcp/requirements.txt`, installed into a
//! virtualenv under the target directory on first use) listing the tools and calling each one.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a failed assumption is a failed test"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cavra_store::{ActivityStore, StoreConfig};
use serde_json::{Value, json};

/// Runs `cavra mcp` in `dir` with `lines` on stdin; returns the answers, one per line.
fn serve_lines(dir: &Path, lines: &[&str]) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(["mcp", "--session-id", "mcp-raw"])
        .current_dir(dir)
        .env_remove("CAVRA_ACTIVITY_DB")
        .env_remove("CAVRA_ACTIVITY_STORE")
        .env("CAVRA_POLICY_DIR", dir.join("no-policies"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn store_in(dir: &Path) -> std::sync::Arc<dyn ActivityStore> {
    cavra_store::open(&StoreConfig::Sqlite(dir.join(".cavra/activity.db"))).unwrap()
}

/// Malformed lines get JSON-RPC errors with the standard codes and the server reads on;
/// notifications get no answer; a supported version is echoed; bad tool arguments are tool
/// results with `isError`; evaluations are persisted.
#[test]
fn json_rpc_edges_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    let answers = serve_lines(
        dir.path(),
        &[
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "{this is not json",
            "[]",
            r#"{"jsonrpc":"1.0","id":2,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/list"}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"launch_missiles","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"check_command","arguments":{"command":7}}}"#,
            r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"check_command","arguments":{"command":"rm -rf ~"}}}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"evaluate_action","arguments":{"action_type":"launch","target":"x"}}}"#,
        ],
    );
    let by_id = |id: Value| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer {id}"))
    };
    let code = |a: &Value| a["error"]["code"].as_i64();
    assert_eq!(
        answers.len(),
        11,
        "one answer per request and bad line, none for the notification: {answers:#?}"
    );
    assert_eq!(by_id(json!(1))["result"]["protocolVersion"], "2025-03-26");
    let nulls: Vec<i64> = answers.iter().filter(|a| a["id"].is_null()).filter_map(code).collect();
    assert_eq!(nulls, vec![-32700, -32600]);
    assert_eq!(code(by_id(json!(2))), Some(-32600));
    assert_eq!(code(by_id(json!(3))), Some(-32601));
    assert_eq!(code(by_id(json!(4))), Some(-32602));
    assert_eq!(code(by_id(json!(7))), Some(-32602));
    let bad = &by_id(json!(5))["result"];
    assert_eq!(bad["isError"], true);
    assert!(bad["content"][0]["text"].as_str().unwrap().contains("`command`"));
    let blocked = &by_id(json!(6))["result"];
    assert_eq!(
        (&blocked["isError"], &blocked["structuredContent"]["decision"]),
        (&json!(false), &json!("block"))
    );
    assert_eq!(by_id(json!(8))["result"], json!({}));
    let unknown_type = &by_id(json!(9))["result"];
    assert_eq!(unknown_type["isError"], true);
    assert!(
        unknown_type["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("action_type")
    );

    let stored = store_in(dir.path()).session_decisions("mcp-raw").unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].decision_id,
        blocked["structuredContent"]["decision_id"].as_str().unwrap()
    );
    assert_eq!(stored[0].agent_id, "raw", "the client's name is the agent");
}

/// Issue 14, item 7: the model chooses no mode — `evaluate_action` with `policy_mode` (or
/// break-glass's `justification`) is a tool error naming the field, and nothing is recorded.
#[test]
fn tools_refuse_a_mode_from_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let answers = serve_lines(
        dir.path(),
        &[
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"evaluate_action","arguments":{"action_type":"execute_command","target":"rm -rf ~","policy_mode":"audit_only"}}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"evaluate_action","arguments":{"action_type":"execute_command","target":"rm -rf ~","actor":"me","justification":"INC-1"}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"check_command","arguments":{"command":"rm -rf ~","policy_mode":"break_glass"}}}"#,
        ],
    );
    for (answer, field) in answers.iter().zip(["policy_mode", "justification", "policy_mode"]) {
        let result = &answer["result"];
        assert_eq!(result["isError"], true, "{answer}");
        assert!(
            result["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{answer}"
        );
    }
    assert_eq!(answers.len(), 3);
    let stored = store_in(dir.path()).session_decisions("mcp-raw").unwrap();
    assert!(stored.is_empty(), "a refused call recorded {stored:?}");
}

/// The virtualenv with the pinned SDK, created on first use.
fn python_with_sdk() -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/mcp");
    let requirements = fixtures.join("requirements.txt");
    let pin = std::fs::read_to_string(&requirements).unwrap();
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mcp-venv-{}", pin.trim().replace("==", "-")));
    let python = venv.join("bin/python");
    let ready = venv.join(".installed");
    if ready.exists() {
        return python;
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{what}: cannot run it ({e}); python3 with venv is needed"));
        assert!(
            out.status.success(),
            "{what} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
        "pip install of the MCP SDK",
    );
    std::fs::write(&ready, pin).unwrap();
    python
}

/// The official MCP Python SDK initialises, lists all eight tools (each with an object input
/// schema) and calls each one; verdicts, `isError` and the stored records are as expected.
#[test]
fn official_python_sdk_lists_and_calls_tools() {
    let python = python_with_sdk();
    let dir = tempfile::tempdir().unwrap();
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/mcp/client.py");
    let out = Command::new(python)
        .arg(client)
        .arg(env!("CARGO_BIN_EXE_cavra"))
        .arg(dir.path())
        .env_remove("CAVRA_ACTIVITY_DB")
        .env_remove("CAVRA_ACTIVITY_STORE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the SDK client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(report["initialize"]["serverInfo"]["name"], "cavra");
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "evaluate_action",
            "check_command",
            "check_file_read",
            "check_file_write",
            "check_git_operation",
            "check_mcp_call",
            "explain_decision",
            "summarize_session"
        ]
    );
    for t in report["tools"].as_array().unwrap() {
        assert_eq!(t["inputSchema"]["type"], "object", "{}", t["name"]);
    }
    let calls = &report["calls"];
    let verdict = |name: &str| {
        calls[name]["structuredContent"]["decision"]
            .as_str()
            .unwrap_or("-")
            .to_owned()
    };
    let expected = [
        ("check_command", "block"),
        ("check_file_read", "block"),
        ("check_file_write", "require_approval"),
        ("check_git_operation", "block"),
        ("check_mcp_call", "block"),
        ("evaluate_action", "allow"),
    ];
    for (name, want) in expected {
        assert_eq!(verdict(name), want, "{name}: {}", calls[name]);
        assert_eq!(calls[name]["isError"], false, "{name}");
    }
    assert_eq!(
        calls["check_command"]["structuredContent"]["rule_id"],
        "iac.terraform-apply"
    );
    assert_eq!(calls["check_command_bad"]["isError"], true);
    assert_eq!(calls["explain_unknown"]["isError"], true);
    let explained = &calls["explain_decision"];
    assert_eq!(explained["isError"], false);
    assert_eq!(
        explained["structuredContent"]["decision"]["decision_id"],
        calls["check_command"]["structuredContent"]["decision_id"]
    );
    let summary = &calls["summarize_session"]["structuredContent"];
    assert_eq!(
        (summary["decision_count"].as_u64(), summary["blocked_count"].as_u64()),
        (Some(6), Some(4))
    );

    // Every evaluation is a durable record in the configured store, in one chained session.
    let store = store_in(dir.path());
    let stored = store.session_decisions("mcp-e2e").unwrap();
    assert_eq!(stored.len(), 6);
    assert!(
        stored
            .iter()
            .all(|r| r.repository == "acme/payments" && r.record_hash.is_some())
    );
}
