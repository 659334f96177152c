//! `cavra hook doctor`: proves the installed Claude Code hooks block a dangerous action.
//!
//! It reads the settings file the way Claude Code does, runs every PreToolUse command hook whose
//! matcher covers `Bash` with a synthetic `rm -rf /` payload (through `sh -c`, with
//! `CLAUDE_PROJECT_DIR` set), and reads each answer as Claude Code would: exit 2, or a
//! `permissionDecision` of `deny`, blocks. The synthetic call is a real decision: in-process hooks
//! record it in session `cavra-doctor`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde_json::{Value, json};

use crate::cmd::init::DEFAULT_SETTINGS;
use crate::error::CliError;
use crate::output::say;

/// The synthetic dangerous command.
const DANGEROUS: &str = "rm -rf /";

/// Check the installed hooks.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Claude Code settings file to read.
    #[arg(long, default_value = DEFAULT_SETTINGS, value_name = "FILE")]
    settings: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// One hook's answer.
#[derive(Debug, serde::Serialize)]
struct HookRun {
    command: String,
    exit_code: Option<i32>,
    blocked: bool,
    answer: Option<Value>,
    stderr: String,
}

/// The doctor's verdict.
#[derive(Debug, serde::Serialize)]
struct Report {
    settings: String,
    action: &'static str,
    hooks: Vec<HookRun>,
    blocked: bool,
}

/// Runs `cavra hook doctor`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let display = a.settings.display().to_string();
    let text = std::fs::read_to_string(&a.settings).map_err(|e| {
        CliError::Invalid(format!(
            "cannot read `{display}` ({e}); install the hook with `cavra init claude-code`"
        ))
    })?;
    let settings: Value =
        serde_json::from_str(&text).map_err(|e| CliError::Invalid(format!("`{display}` is not valid JSON: {e}")))?;
    let project = project_dir(&a.settings);
    let commands = bash_hooks(&settings);
    let payload = json!({
        "session_id": "cavra-doctor",
        "transcript_path": "",
        "cwd": project.display().to_string(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": DANGEROUS, "description": "cavra hook doctor: synthetic dangerous action"},
        "tool_use_id": format!("toolu_cavra_doctor_{}", std::process::id()),
    })
    .to_string();
    let hooks = commands
        .into_iter()
        .map(|command| fire(&command, &payload, &project))
        .collect::<Result<Vec<_>, _>>()?;
    let blocked = hooks.iter().any(|h| h.blocked);
    let report = Report {
        settings: display.clone(),
        action: DANGEROUS,
        hooks,
        blocked,
    };
    if a.json {
        crate::cmd::print_json(&report)?;
    } else {
        print_human(&report)?;
    }
    Ok(if blocked {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::error::EXIT_ERROR)
    })
}

fn print_human(report: &Report) -> Result<(), CliError> {
    if report.hooks.is_empty() {
        say!(
            "no PreToolUse command hook for Bash in {}: `{}` would run unchecked",
            report.settings,
            report.action
        );
        say!("install one with: cavra init claude-code");
        return Ok(());
    }
    for h in &report.hooks {
        let verdict = if h.blocked { "BLOCKED" } else { "not blocked" };
        say!(
            "{verdict}  `{}` (exit {})",
            h.command,
            h.exit_code.map_or("-".to_owned(), |c| c.to_string())
        );
        if let Some(reason) = h
            .answer
            .as_ref()
            .and_then(|v| v["hookSpecificOutput"]["permissionDecisionReason"].as_str())
        {
            say!("  {reason}");
        } else if !h.stderr.trim().is_empty() {
            say!("  {}", h.stderr.trim());
        }
    }
    if report.blocked {
        say!("ok: Claude Code would not run `{}`", report.action);
    } else {
        say!("PROBLEM: no installed hook blocked `{}`", report.action);
    }
    Ok(())
}

/// The project a settings file belongs to: the parent of its `.claude` directory.
fn project_dir(settings: &Path) -> PathBuf {
    let absolute = std::path::absolute(settings).unwrap_or_else(|_| settings.to_path_buf());
    let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == ".claude") {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir)
    } else {
        dir
    }
}

/// Whether a matcher covers `Bash`: empty, `*`, or one of its `|`-separated names.
fn covers_bash(matcher: Option<&str>) -> bool {
    match matcher.map(str::trim) {
        None | Some("") | Some("*") | Some(".*") => true,
        Some(m) => m.split('|').any(|name| name.trim() == "Bash"),
    }
}

/// The commands of every PreToolUse command hook whose matcher covers Bash.
fn bash_hooks(settings: &Value) -> Vec<String> {
    let Some(entries) = settings["hooks"]["PreToolUse"].as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .filter(|e| covers_bash(e["matcher"].as_str()))
        .filter_map(|e| e["hooks"].as_array())
        .flatten()
        .filter(|h| h["type"].as_str().is_none_or(|t| t == "command"))
        .filter_map(|h| h["command"].as_str().map(str::to_owned))
        .collect()
}

/// Runs one hook command with the payload on stdin and reads its answer.
fn fire(command: &str, payload: &str, project: &Path) -> Result<HookRun, CliError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(project)
        .env("CLAUDE_PROJECT_DIR", project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(CliError::io(format!("cannot run hook `{command}`")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that exits without reading its input is judged by its answer alone.
        let _ = stdin.write_all(payload.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(CliError::io(format!("cannot run hook `{command}`")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer: Option<Value> = stdout.lines().rev().find_map(|l| serde_json::from_str(l.trim()).ok());
    let denied = answer
        .as_ref()
        .is_some_and(|v| v["hookSpecificOutput"]["permissionDecision"] == "deny");
    Ok(HookRun {
        command: command.to_owned(),
        exit_code: out.status.code(),
        blocked: out.status.code() == Some(2) || denied,
        answer,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
