//! `cavra init claude-code` and `cavra hook doctor` on real settings files: a merge that keeps
//! everything, happens once, refuses what it does not understand, and a doctor that proves the
//! installed hook blocks.
#![expect(clippy::unwrap_used, reason = "tests: a failed assumption is a failed test")]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn cavra(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(args)
        .current_dir(dir)
        .env_remove("CAVRA_ACTIVITY_DB")
        .env_remove("CAVRA_ACTIVITY_STORE")
        .env_remove("CAVRA_URL")
        .env("CAVRA_POLICY_DIR", dir.join("no-policies"))
        .output()
        .unwrap()
}

/// A project's settings with other keys and other hooks, in an order that is not sorted.
const EXISTING: &str = r#"{
  "permissions": {"allow": ["Bash(npm run lint)"], "deny": ["Read(./secrets/**)"]},
  "model": "claude-sonnet",
  "hooks": {
    "PostToolUse": [
      {"matcher": "Write|Edit", "hooks": [{"type": "command", "command": "prettier --write \"$CLAUDE_FILE_PATHS\""}]}
    ],
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
  },
  "env": {"FOO": "1"}
}
"#;

/// Run twice on a file with other keys and hooks: the first run adds cavra's two entries and
/// keeps everything else (in its order); the second changes nothing.
#[test]
fn init_merges_once_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".claude")).unwrap();
    let path = dir.path().join(".claude/settings.json");
    std::fs::write(&path, EXISTING).unwrap();

    let first = cavra(dir.path(), &["init", "claude-code", "--json"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["changed"], true);
    assert_eq!(report["added"], json!(["PreToolUse", "PostToolUse"]));
    let after_first = std::fs::read_to_string(&path).unwrap();
    let merged: Value = serde_json::from_str(&after_first).unwrap();

    // Everything that was there is still there.
    let before: Value = serde_json::from_str(EXISTING).unwrap();
    for key in ["permissions", "model", "env"] {
        assert_eq!(merged[key], before[key], "{key}");
    }
    assert_eq!(merged["hooks"]["Stop"], before["hooks"]["Stop"]);
    assert_eq!(merged["hooks"]["PostToolUse"][0], before["hooks"]["PostToolUse"][0]);
    // Plus cavra's entries.
    let ours =
        json!({"matcher": "*", "hooks": [{"type": "command", "command": "cavra hook claude-code", "timeout": 10}]});
    assert_eq!(merged["hooks"]["PostToolUse"][1], ours);
    assert_eq!(merged["hooks"]["PreToolUse"], json!([ours]));
    // Keys keep the file's order.
    let order: Vec<usize> = ["\"permissions\"", "\"model\"", "\"hooks\"", "\"env\""]
        .iter()
        .map(|k| after_first.find(k).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{after_first}");

    let second = cavra(dir.path(), &["init", "claude-code", "--json"]);
    assert_eq!(second.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(report["changed"], false);
    assert_eq!(report["already_installed"], json!(["PreToolUse", "PostToolUse"]));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        after_first,
        "the second run changes nothing"
    );
}

/// Without a settings file, init creates `.claude/settings.json` and says what it added.
#[test]
fn init_creates_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = cavra(dir.path(), &["init", "claude-code"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("added PreToolUse hook `cavra hook claude-code`"),
        "{text}"
    );
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(".claude/settings.json")).unwrap()).unwrap();
    assert_eq!(
        settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "cavra hook claude-code"
    );
}

/// A shorter (or longer) agent timeout than the default installs a hook that gives up first:
/// the command carries a deadline ending before Claude Code would run the tool anyway, and the
/// hook accepts it.
#[test]
fn init_ties_the_hook_deadline_to_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_cavra");
    let command = format!("{exe} hook claude-code");
    let o = cavra(
        dir.path(),
        &["init", "claude-code", "--timeout", "5", "--command", &command],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(".claude/settings.json")).unwrap()).unwrap();
    let pre = &settings["hooks"]["PreToolUse"][0]["hooks"][0];
    assert_eq!(pre["command"], format!("{command} --deadline-ms 4000"));
    assert_eq!(pre["timeout"], 5);
    // The installed command runs and decides.
    let doctor = cavra(dir.path(), &["hook", "doctor"]);
    assert_eq!(
        doctor.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );
    let bad = cavra(dir.path(), &["init", "claude-code", "--timeout", "0"]);
    assert_eq!(bad.status.code(), Some(3));
}

/// A malformed settings file, or one whose hooks are not the documented shape, is refused with
/// exit 3 and left byte for byte as it was.
#[test]
fn init_refuses_malformed_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".claude")).unwrap();
    let path = dir.path().join(".claude/settings.json");
    for (text, says) in [
        ("{\"hooks\": {", "is not valid JSON"),
        ("[1, 2]", "holds an array"),
        ("{\"hooks\": []}", "`hooks` is an array"),
        ("{\"hooks\": {\"PreToolUse\": {}}}", "`hooks.PreToolUse` is an object"),
        (
            "{\"hooks\": {\"PreToolUse\": [{\"hooks\": \"x\"}]}}",
            "`hooks.PreToolUse[0].hooks` is a string",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let o = cavra(dir.path(), &["init", "claude-code"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{text}: {err}");
        assert!(
            err.contains(says) && err.contains("will not overwrite"),
            "{text}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "left untouched");
    }
}

/// The doctor runs the installed hook with a synthetic `rm -rf /` and reports it blocked (exit
/// 0); with no hook installed it reports the problem (exit 1).
#[test]
fn doctor_checks_the_installed_hook() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_cavra");
    let none = cavra(dir.path(), &["init", "claude-code", "--command", "true"]);
    assert_eq!(none.status.code(), Some(0));
    let o = cavra(dir.path(), &["hook", "doctor", "--json"]);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (o.status.code(), &report["blocked"]),
        (Some(1), &json!(false)),
        "{report}"
    );

    std::fs::remove_file(dir.path().join(".claude/settings.json")).unwrap();
    let command = format!("'{exe}' hook claude-code");
    let installed = cavra(dir.path(), &["init", "claude-code", "--command", &command]);
    assert_eq!(installed.status.code(), Some(0));
    let o = cavra(dir.path(), &["hook", "doctor", "--json"]);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{report}");
    assert_eq!(report["blocked"], true);
    let answer = &report["hooks"][0]["answer"]["hookSpecificOutput"];
    assert_eq!(answer["permissionDecision"], "deny");
    assert!(
        answer["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("shell.rm-root")
    );
    let human = cavra(dir.path(), &["hook", "doctor"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("ok: Claude Code would not run `rm -rf /`"));
}
