//! `cavra token create --role R`.

use std::process::ExitCode;

use cavra_core::Mode;
use cavra_server::auth::Role;

use super::FileArgs;
use crate::cmd::print_json;
use crate::error::CliError;
use crate::output::say;

/// Create an API token. The secret is printed once and never stored (only its SHA-256 is).
///
/// Examples:
///   cavra token create --role admin --name ops
///   cavra token create --role agent --agent-id claude-code
///   cavra token create --role agent --agent-id trial-bot --policy-mode audit_only
///   cavra token create --role reviewer --name ciso --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// `agent` (post decisions, change its own sessions), `reviewer` (read everything, the
    /// console) or `admin` (everything).
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// The agent an agent token acts for (required for `--role agent`).
    #[arg(long)]
    agent_id: Option<String>,
    /// Bind a mode to an agent token: every decision it asks for is made in this mode (enforce,
    /// audit_only or strict), whatever the pack's or the server's. The agent cannot change it.
    #[arg(long, value_name = "MODE")]
    policy_mode: Option<Mode>,
    /// A label for people, shown by `cavra token list`.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    file: FileArgs,
    /// Print `{id, role, agent_id, policy_mode, name, created_at, token}` as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// Runs `cavra token create`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let now = cavra_store::stamp::rfc3339_micros(chrono::Utc::now());
    let (role, agent_id, name, mode) = (args.role, args.agent_id, args.name, args.policy_mode);
    let (entry, secret) = args.file.update(|file| file.create(role, agent_id, name, mode, &now))?;
    if args.json {
        print_json(&serde_json::json!({
            "id": entry.id,
            "role": entry.role,
            "agent_id": entry.agent_id,
            "policy_mode": entry.policy_mode,
            "name": entry.name,
            "created_at": entry.created_at,
            "token": secret,
            "tokens_file": args.file.tokens_file.display().to_string(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    say!("{secret}");
    eprintln!(
        "created {} token {}{}{} in {} — copy it now, it is not shown again.\nuse it as: Authorization: Bearer <token>",
        entry.role,
        entry.id,
        entry.agent_id.map(|a| format!(" for agent `{a}`")).unwrap_or_default(),
        entry.policy_mode.map(|m| format!(" in mode `{m}`")).unwrap_or_default(),
        args.file.tokens_file.display()
    );
    Ok(ExitCode::SUCCESS)
}
