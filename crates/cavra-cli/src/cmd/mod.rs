//! Subcommands, one file each; each exposes `Args` and `run(args) -> Result<ExitCode, CliError>`.

mod action_args;
mod bench;
mod decisions;
mod demo;
mod evaluate;
pub(crate) mod evidence;
pub mod hook;
mod init;
mod mcp;
mod policy;
mod serve;
mod sessions;
mod store_args;
mod token;

use std::process::ExitCode;

use crate::error::CliError;

pub use action_args::ActionArgs;

/// cavra's subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Decide one action (or a JSONL batch) against a policy pack.
    ///
    /// Exit codes: 0 the action may proceed (allow, audit_only, warn, allow_with_attestation);
    /// 2 it may not (block, or require_approval: a human must approve first); 3 invalid input
    /// or pack; 1 any other error.
    Evaluate(Box<evaluate::Args>),
    /// List, show, validate, test and explain policy packs.
    #[command(subcommand)]
    Policy(policy::Command),
    /// Recorded decisions.
    #[command(subcommand)]
    Decisions(decisions::Command),
    /// Agent sessions and their summaries.
    #[command(subcommand)]
    Sessions(sessions::Command),
    /// The durable record: schema migrations and imports; verification, signed checkpoints and
    /// session bundles.
    #[command(subcommand)]
    Evidence(evidence::Command),
    /// Evaluate the flagship sequence (read .env, write IAM, terraform plan/apply, unknown MCP
    /// server, push to main) and persist it to the activity store as one session.
    Demo(demo::Args),
    /// Load-test a running `cavra serve`: concurrent clients post decisions and/or run filtered
    /// list queries; prints throughput and latency percentiles (`--json` for scripts).
    Bench(Box<bench::Args>),
    // Its help (with examples) is the doc comment of `serve::Args`.
    Serve(Box<serve::Args>),
    /// API tokens for `cavra serve`: create, list, revoke.
    #[command(subcommand)]
    Token(token::Command),
    /// Agent hooks: `claude-code` (Claude Code's PreToolUse/PostToolUse hook) and `doctor`.
    #[command(subcommand)]
    Hook(hook::Command),
    /// Install cavra into an agent: `claude-code` merges its hooks into `.claude/settings.json`.
    #[command(subcommand)]
    Init(init::Command),
    // Its help is the doc comment of `mcp::Args`.
    Mcp(Box<mcp::Args>),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::Evaluate(args) => evaluate::run(*args),
            Command::Policy(cmd) => cmd.run(),
            Command::Decisions(cmd) => cmd.run(),
            Command::Sessions(cmd) => cmd.run(),
            Command::Evidence(cmd) => cmd.run(),
            Command::Demo(args) => demo::run(args),
            Command::Bench(args) => bench::run(*args),
            Command::Serve(args) => serve::run(*args),
            Command::Token(cmd) => cmd.run(),
            Command::Hook(cmd) => cmd.run(),
            Command::Init(cmd) => cmd.run(),
            Command::Mcp(args) => mcp::run(*args),
        }
    }
}

/// Serialises `value` as pretty JSON to stdout.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Failed(e.to_string()))?;
    crate::output::line(format_args!("{text}"))
}

/// `text` cut to `max` characters with an ellipsis.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let flat = text.replace('\n', " ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max.saturating_sub(1)).collect::<String>())
    }
}
