//! `cavra init claude-code`: merges cavra's hook entries into `.claude/settings.json`.
//!
//! A merge, never an overwrite: the file is read with its keys in order, cavra's entries are
//! added only where the same command is not already installed for that event, and the result is
//! written to a temporary file that replaces the original atomically. Anything that is not the
//! shape Claude Code documents (`hooks.<Event>` arrays of `{matcher, hooks: [...]}`) is refused
//! with the path of the offending value, so a file cavra does not understand is left untouched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::ordered::Json;
use crate::error::CliError;
use crate::output::say;

/// Where Claude Code reads a project's shared settings.
pub const DEFAULT_SETTINGS: &str = ".claude/settings.json";

/// The hook command installed by default (found on `PATH`, so the file can be committed).
pub const DEFAULT_COMMAND: &str = "cavra hook claude-code";

/// Claude Code's wait for the hook as installed, in seconds; the hook's own default deadline
/// (8 s) ends before it.
const DEFAULT_TIMEOUT_S: u64 = 10;

/// The command to install: `command`, with a deadline ending before a `timeout` other than the
/// default (a fifth of it, at most 2 s, earlier), so that the hook fails closed before Claude Code
/// gives up on it and runs the tool.
fn hook_command(command: &str, timeout_s: u64) -> String {
    if timeout_s == DEFAULT_TIMEOUT_S {
        return command.to_owned();
    }
    let ms = timeout_s.saturating_mul(1000);
    format!("{command} --deadline-ms {}", ms - (ms / 5).min(2000))
}

/// The events cavra hooks: decide before a tool runs, record its outcome after.
const EVENTS: [&str; 2] = ["PreToolUse", "PostToolUse"];

/// Install cavra's hooks into Claude Code.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The settings file to merge into.
    #[arg(long, default_value = DEFAULT_SETTINGS, value_name = "FILE")]
    settings: PathBuf,
    /// The hook command (e.g. an absolute path to cavra, or one with `--repository acme/x`).
    #[arg(long, default_value = DEFAULT_COMMAND)]
    command: String,
    /// Seconds Claude Code waits for the hook before giving up on it (and running the tool).
    /// Other than 10, the hook command gets a `--deadline-ms` ending its own wait before that.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_S, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

/// What the merge did.
#[derive(Debug, serde::Serialize)]
struct Report {
    settings: String,
    created: bool,
    changed: bool,
    added: Vec<&'static str>,
    already_installed: Vec<&'static str>,
    command: String,
}

/// Runs `cavra init claude-code`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let display = a.settings.display().to_string();
    let command = hook_command(&a.command, a.timeout);
    let (mut settings, created) = read(&a.settings)?;
    let mut report = Report {
        settings: display.clone(),
        created,
        changed: false,
        added: Vec::new(),
        already_installed: Vec::new(),
        command: command.clone(),
    };
    for event in EVENTS {
        if merge(&mut settings, event, &command, a.timeout, &display)? {
            report.added.push(event);
        } else {
            report.already_installed.push(event);
        }
    }
    report.changed = !report.added.is_empty();
    if report.changed {
        write(&a.settings, &settings)?;
    }
    if a.json {
        super::super::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    for event in &report.added {
        say!("added {event} hook `{command}` (matcher `*`) to {display}");
    }
    for event in &report.already_installed {
        say!("{event} hook `{command}` already installed in {display}; left as it is");
    }
    if report.changed {
        say!("check it with: cavra hook doctor --settings {display}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The settings as they are (an empty object when the file does not exist), and whether it is new.
fn read(path: &Path) -> Result<(Json, bool), CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Json::Object(Vec::new()), true)),
        Err(e) => return Err(CliError::io(format!("cannot read `{}`", path.display()))(e)),
    };
    if text.trim().is_empty() {
        return Ok((Json::Object(Vec::new()), false));
    }
    let value: Json = serde_json::from_str(&text).map_err(|e| {
        CliError::Invalid(format!(
            "`{}` is not valid JSON ({e}); fix it first, cavra will not overwrite it",
            path.display()
        ))
    })?;
    if !matches!(value, Json::Object(_)) {
        return Err(CliError::Invalid(format!(
            "`{}` holds {}, not a settings object; cavra will not overwrite it",
            path.display(),
            value.kind()
        )));
    }
    Ok((value, false))
}

/// Adds cavra's entry for `event` unless a hook with the same command is there. Returns whether
/// it added one.
fn merge(settings: &mut Json, event: &'static str, command: &str, timeout: u64, file: &str) -> Result<bool, CliError> {
    let refuse = |at: &str, found: &Json, wanted: &str| {
        CliError::Invalid(format!(
            "`{file}`: `{at}` is {}, expected {wanted}; fix it first, cavra will not overwrite it",
            found.kind()
        ))
    };
    let Json::Object(top) = settings else {
        return Err(CliError::Invalid(format!("`{file}` is not a settings object")));
    };
    if !top.iter().any(|(k, _)| k == "hooks") {
        top.push(("hooks".to_owned(), Json::Object(Vec::new())));
    }
    let hooks = settings
        .get_mut("hooks")
        .ok_or_else(|| CliError::Failed("hooks vanished".into()))?;
    let Json::Object(events) = hooks else {
        return Err(refuse("hooks", hooks, "an object"));
    };
    if !events.iter().any(|(k, _)| k == event) {
        events.push((event.to_owned(), Json::Array(Vec::new())));
    }
    let entries = hooks
        .get_mut(event)
        .ok_or_else(|| CliError::Failed("event vanished".into()))?;
    let Json::Array(entries) = entries else {
        return Err(refuse(&format!("hooks.{event}"), entries, "an array"));
    };
    for (i, entry) in entries.iter().enumerate() {
        let Json::Object(_) = entry else {
            return Err(refuse(&format!("hooks.{event}[{i}]"), entry, "an object"));
        };
        let Some(list) = entry.get("hooks") else {
            continue;
        };
        let Json::Array(list) = list else {
            return Err(refuse(&format!("hooks.{event}[{i}].hooks"), list, "an array"));
        };
        if list
            .iter()
            .any(|h| h.get("command").and_then(Json::as_str).map(str::trim) == Some(command.trim()))
        {
            return Ok(false);
        }
    }
    let text = |s: &str| Json::String(s.to_owned());
    entries.push(Json::Object(vec![
        ("matcher".to_owned(), text("*")),
        (
            "hooks".to_owned(),
            Json::Array(vec![Json::Object(vec![
                ("type".to_owned(), text("command")),
                ("command".to_owned(), text(command)),
                ("timeout".to_owned(), Json::Number(timeout.into())),
            ])]),
        ),
    ]));
    Ok(true)
}

/// Writes `settings` next to `path` and renames it into place, so a crash leaves the old file
/// or the new one, never half of either; the directory is created when missing.
fn write(path: &Path, settings: &Json) -> Result<(), CliError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(CliError::io(format!("cannot create `{}`", dir.display())))?;
    let mut text = serde_json::to_string_pretty(settings).map_err(|e| CliError::Failed(e.to_string()))?;
    text.push('\n');
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(CliError::io(format!(
        "cannot create a temporary file in `{}`",
        dir.display()
    )))?;
    if let Ok(meta) = std::fs::metadata(path) {
        temp.as_file()
            .set_permissions(meta.permissions())
            .map_err(CliError::io("cannot copy the settings file's permissions"))?;
    }
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(CliError::io(format!("cannot write `{}`", path.display())))?;
    temp.persist(path)
        .map_err(|e| CliError::io(format!("cannot replace `{}`", path.display()))(e.error))?;
    Ok(())
}
