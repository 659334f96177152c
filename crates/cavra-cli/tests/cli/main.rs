//! The `cavra` binary as a user runs it: exit codes, JSON output, batch files, pack validation.

mod docs_examples;
mod evidence;
mod hook;
mod init;
mod mcp;
mod serve;
mod store;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cavra(args: &[&str]) -> Output {
    cavra_in(args, None, None)
}

/// Runs the real binary with an empty policy directory unless one is given.
#[expect(
    clippy::unwrap_used,
    reason = "a test helper stops the test at the first failed assumption"
)]
fn cavra_in(args: &[&str], stdin: Option<&str>, policy_dir: Option<&std::path::Path>) -> Output {
    let empty = tempfile::tempdir().unwrap();
    let dir = policy_dir.unwrap_or(empty.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(args)
        .env("CAVRA_POLICY_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The issue's flagship: a chained terraform apply is blocked as critical, naming rule and part, exit 2.
#[test]
fn chained_terraform_apply_is_blocked() {
    let o = cavra(&[
        "evaluate",
        "execute_command",
        "terraform plan && terraform apply -auto-approve",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["schema_version"], "cavra.decision.v1");
    assert_eq!(r["decision"], "block");
    assert_eq!(r["severity"], "critical");
    assert_eq!(r["rule_id"], "iac.terraform-apply");
    assert_eq!(r["matched"][0]["part"], "terraform apply -auto-approve");
    assert!(r["decision_id"].as_str().unwrap().starts_with("dec_"));
    let refs = r["evidence_refs"].as_array().unwrap();
    assert!(
        refs.iter()
            .any(|e| e.as_str().unwrap().starts_with("evidence://local/dec_"))
    );
}

/// An allowed action exits 0 and says ALLOW in the human output.
#[test]
fn allowed_action_exits_zero() {
    let o = cavra(&["evaluate", "execute_command", "cargo test"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("ALLOW"), "{}", stdout(&o));
}

/// require_approval may not proceed either: exit 2.
#[test]
fn approval_exits_two() {
    let o = cavra(&["evaluate", "execute_command", "rm -rf /tmp/important"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).starts_with("REQUIRE_APPROVAL"));
}

/// A pack with a duplicate rule id, an unknown key and a bad pattern: all three reported with file and line, exit 3.
#[test]
fn validate_reports_every_problem_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("team.yaml");
    std::fs::write(
        &file,
        "id: team\nrules:\n  - id: a\n    match: { command: { program: curl } }\n    decision: warn\n    severity: low\n    reason: r\n  - id: a\n    match: { command: { program: \"wget[\" } }\n    decision: block\n    severity: high\n    reason: r\n    colour: red\n",
    )
    .unwrap();
    let o = cavra(&["policy", "validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    let path = file.display().to_string();
    assert!(err.contains(&format!("{path}:8:5: duplicate rule id `a`")), "{err}");
    assert!(
        err.contains(&format!("{path}:9:")) && err.contains("invalid pattern `wget[`"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{path}:13:")) && err.contains("unknown key `colour`"),
        "{err}"
    );
}

/// A batch keeps order, puts an error object on a bad line, and exits 3.
#[test]
fn batch_reports_bad_lines_in_place() {
    let input = concat!(
        r#"{"action_type":"read_file","target":".env"}"#,
        "\n",
        r#"{"action_type":"launch","target":"x"}"#,
        "\n",
        r#"{"action_type":"execute_command","target":"ls","policy_pack":"nope"}"#,
        "\n",
        r#"{"action_type":"execute_command","target":"ls"}"#,
        "\n"
    );
    let o = cavra_in(&["evaluate", "--batch", "-"], Some(input), None);
    assert_eq!(o.status.code(), Some(3));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["decision"], "block");
    assert_eq!(lines[1]["error"]["code"], "invalid_action");
    assert_eq!(lines[1]["error"]["line"], 2);
    assert!(lines[1]["error"]["message"].as_str().unwrap().contains("action_type"));
    assert_eq!(lines[2]["error"]["code"], "unknown_pack");
    assert_eq!(lines[3]["decision"], "allow");
}

/// An unknown pack is an input error naming the pack.
#[test]
fn unknown_pack_is_invalid_input() {
    let o = cavra(&["evaluate", "read_file", "x", "--policy-pack", "nope"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("unknown policy pack `nope`"));
}

/// Every built-in pack's inline tests pass, and all eight packs are listed.
#[test]
fn builtin_pack_tests_pass() {
    let o = cavra(&["policy", "test"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = cavra(&["policy", "list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    for id in [
        "cavra-ai-agent-baseline",
        "strict",
        "terraform-prod",
        "kubernetes-prod",
        "cloud-iam",
        "github-enterprise",
        "mcp-enterprise",
        "owasp-llm-agentic",
    ] {
        assert!(list.iter().any(|p| p["id"] == id), "{id} missing");
    }
}

/// explain shows the parsed parts and the rule on each.
#[test]
fn explain_shows_parts_and_rules() {
    let o = cavra(&[
        "policy",
        "explain",
        "execute_command",
        "cd / && sudo sh -c 'rm -rf *'",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let x: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let parts = x["parts"].as_array().unwrap();
    let rm = parts
        .iter()
        .find(|p| p["label"] == "rm -rf '*'" || p["label"] == "rm -rf *")
        .unwrap();
    assert_eq!(rm["rules"][0]["rule_id"], "shell.rm-root");
    assert_eq!(x["evaluation"]["decision"], "block");
}

/// A section-format pack in the policy directory loads, with cavra's semantics: `git*` cannot open main or `.env`.
#[test]
fn section_format_pack_keeps_guards() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme.yaml"),
        "metadata:\n  id: acme\n  version: 2.0.0\nfilesystem:\n  block_read: [\".env\"]\ncommands:\n  block: [\"terraform apply*\"]\n  allow: [\"git*\", \"cat*\"]\nmcp:\n  allowed_servers: [github]\n  block_unknown_servers: true\n",
    )
    .unwrap();
    let decide = |kind: &str, target: &str| {
        let o = cavra_in(
            &["evaluate", kind, target, "-p", "acme", "--json"],
            None,
            Some(dir.path()),
        );
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)));
        r["decision"].as_str().unwrap().to_owned()
    };
    assert_eq!(decide("execute_command", "git push origin main"), "block");
    assert_eq!(decide("execute_command", "cat /repo/../repo/.env"), "block");
    assert_eq!(decide("execute_command", "terraform plan && terraform apply"), "block");
    assert_eq!(decide("execute_command", "git status"), "allow");
    assert_eq!(decide("mcp_tool_call", "evil:read"), "block");
    assert_eq!(decide("mcp_tool_call", "github:create_issue"), "allow");
}
