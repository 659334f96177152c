//! `cavra hook claude-code`: Claude Code's PreToolUse/PostToolUse hook (SPEC §9).
//!
//! PreToolUse fails closed: whatever goes wrong — unreadable stdin, a bad setting, an unreachable
//! or failing server, a store that cannot make the decision durable — the hook exits 2 with the
//! cause on stderr, which Claude Code treats as "do not run this tool". PostToolUse runs after the
//! fact, so its failures are ordinary errors (exit 1) that cannot block anything.

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cavra_agent::claude_code::{self, HookContext, HookEvent, HookInput};
use cavra_store::{OutcomeReport, ToolStatus};

use crate::authority::{Authority, Remote};
use crate::cmd::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;

/// Default wait for a cavra server, in milliseconds.
const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// A PreToolUse that has no answer after this long exits 2 (blocked): Claude Code gives up on a
/// hook after its timeout (10 s as `cavra init claude-code` installs it) and then runs the tool,
/// so cavra must give up first — on a store held by another writer, a slow disk, a hung server.
const DEADLINE: Duration = Duration::from_secs(8);

/// `--deadline-ms`, else [`DEADLINE`]. A longer server wait does not raise it: past the agent's
/// own timeout a late answer is worth nothing (Claude Code has run the tool by then).
fn deadline(a: &Args) -> Result<Duration, CliError> {
    match a.deadline_ms.as_deref().filter(|d| !d.is_empty()) {
        None => Ok(DEADLINE),
        Some(d) => millis("CAVRA_HOOK_DEADLINE_MS", d),
    }
}

/// A positive number of milliseconds from the setting `name`, or an error naming it.
fn millis(name: &str, text: &str) -> Result<Duration, CliError> {
    text.parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| CliError::FailClosed(format!("`{name}` `{text}` is not a positive number of milliseconds")))
}

/// Exits 2 with the reason on stderr once `after` has passed, whatever the hook is doing then.
fn start_watchdog(after: Duration) {
    let started = std::thread::Builder::new()
        .name("cavra-hook-deadline".to_owned())
        .spawn(move || {
            std::thread::sleep(after);
            eprintln!(
                "blocked (fail closed): no decision within {} s (the store or server did not answer in time)",
                after.as_secs_f64()
            );
            std::process::exit(2);
        });
    // Without the thread the hook still decides; only the deadline is lost.
    if let Err(e) = started {
        eprintln!("cavra: cannot start the hook's deadline: {e}");
    }
}

/// Claude Code's hook: reads the hook's JSON on stdin, decides the tool call and answers on
/// stdout (PreToolUse), or records how the call ended (PostToolUse).
///
/// `block` → `permissionDecision: deny`, `require_approval` → `ask`, `warn` → a `systemMessage`,
/// anything else → no answer (Claude Code's own permission flow goes on). Every decision is
/// persisted to the configured store, or asked of `CAVRA_URL` when set. If no decision can be
/// had — including within its deadline (`--deadline-ms`, 8 s by default), so that the agent does
/// not give up on the hook first and run the tool — the hook exits 2 (fail closed) with the
/// cause on stderr.
///
/// Install it with `cavra init claude-code`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreArgs,
    /// Ask this cavra server (`http://host:port`) instead of evaluating in-process.
    #[arg(long, env = "CAVRA_URL", value_name = "URL")]
    url: Option<String>,
    /// API token for the server (role `agent`).
    #[arg(long, env = "CAVRA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Milliseconds to wait for the server before failing closed (default 2000; the deadline
    /// below still applies).
    #[arg(long, env = "CAVRA_HOOK_TIMEOUT_MS", value_name = "MS")]
    timeout_ms: Option<String>,
    /// Milliseconds a PreToolUse may take in all before it exits 2 (blocked); keep it below the
    /// agent's hook timeout (`cavra init claude-code --timeout` sets both). Default 8000.
    #[arg(long, env = "CAVRA_HOOK_DEADLINE_MS", value_name = "MS")]
    deadline_ms: Option<String>,
    /// Policy pack to decide with (default `cavra-ai-agent-baseline`).
    #[arg(long, env = "CAVRA_POLICY_PACK")]
    policy_pack: Option<String>,
    /// Read extra packs from this directory.
    #[arg(long, env = "CAVRA_POLICY_DIR", value_name = "DIR")]
    policy_dir: Option<PathBuf>,
    /// Repository recorded with each decision, e.g. `acme/payments` (default `local`).
    #[arg(long, env = "CAVRA_REPOSITORY")]
    repository: Option<String>,
    /// Agent id recorded with each decision (default `claude-code`).
    #[arg(long, env = "CAVRA_AGENT_ID")]
    agent_id: Option<String>,
    /// Who the agent acts for (default `ai-agent`).
    #[arg(long, env = "CAVRA_ACTOR")]
    actor: Option<String>,
}

/// Runs the hook once.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    // From the start: stdin that never ends must not outlast the agent's timeout either (for a
    // PostToolUse, exit 2 only shows the message).
    start_watchdog(deadline(&a).map_err(|e| CliError::FailClosed(format!("blocked (fail closed): {e}")))?);
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::FailClosed(format!("blocked: cannot read the hook input on stdin: {e}")))?;
    let input = HookInput::from_json(&text).map_err(|e| CliError::FailClosed(format!("blocked: {e}")))?;
    match input.event() {
        HookEvent::PreToolUse => {
            // A panic would exit 101, which Claude Code reads as a failed hook and runs the tool.
            std::panic::catch_unwind(AssertUnwindSafe(|| pre_tool_use(&a, &input)))
                .unwrap_or_else(|_| {
                    Err(CliError::FailClosed(
                        "cavra panicked while deciding (the message is above); please report it".to_owned(),
                    ))
                })
                .map_err(|e| match e {
                    CliError::FailClosed(m) => CliError::FailClosed(format!("blocked (fail closed): {m}")),
                    other => CliError::FailClosed(format!("blocked (fail closed): {other}")),
                })
        }
        HookEvent::PostToolUse | HookEvent::PostToolUseFailure => post_tool_use(&a, &input),
        HookEvent::Other => Ok(ExitCode::SUCCESS),
    }
}

fn context(a: &Args) -> HookContext {
    HookContext {
        agent_id: a.agent_id.clone().filter(|s| !s.is_empty()),
        repository: a.repository.clone().filter(|s| !s.is_empty()),
        policy_pack: a.policy_pack.clone().filter(|s| !s.is_empty()),
        actor: a.actor.clone().filter(|s| !s.is_empty()),
    }
}

/// In-process, or the server at `--url` when given.
fn authority(a: &Args) -> Result<Authority, CliError> {
    match a.url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => {
            let timeout = match a.timeout_ms.as_deref().filter(|t| !t.is_empty()) {
                None => Duration::from_millis(DEFAULT_TIMEOUT_MS),
                Some(t) => millis("CAVRA_HOOK_TIMEOUT_MS", t)?,
            };
            Ok(Authority::Remote(Remote::new(url, a.token.clone(), timeout)?))
        }
        None => {
            let pack = a
                .policy_pack
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or(cavra_core::DEFAULT_POLICY_PACK);
            Authority::local(a.policy_dir.as_deref(), Some(pack), a.store.open_one_shot()?)
        }
    }
}

fn pre_tool_use(a: &Args, input: &HookInput) -> Result<ExitCode, CliError> {
    let action = claude_code::action(input, &context(a)).map_err(|e| CliError::FailClosed(e.to_string()))?;
    let record = authority(a)?.decide(&action)?;
    if let Some(answer) = claude_code::pre_tool_use_answer(&record) {
        say!("{answer}");
    }
    Ok(ExitCode::SUCCESS)
}

fn post_tool_use(a: &Args, input: &HookInput) -> Result<ExitCode, CliError> {
    // Without a tool-use id there is no decision to attach the outcome to.
    let Some(tool_use_id) = input.tool_use_id.clone().filter(|t| !t.is_empty()) else {
        return Ok(ExitCode::SUCCESS);
    };
    let report = OutcomeReport {
        session_id: input
            .session_id
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "local".to_owned()),
        tool_use_id,
        status: if input.tool_failed() {
            ToolStatus::Failed
        } else {
            ToolStatus::Succeeded
        },
    };
    if authority(a)?.record_outcome(&report)?.is_none() {
        eprintln!(
            "cavra: no decision with tool_use_id `{}` in session `{}`; outcome not recorded",
            report.tool_use_id, report.session_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
