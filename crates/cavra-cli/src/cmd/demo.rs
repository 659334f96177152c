//! `cavra demo`: the flagship sequence, evaluated and persisted as one session.

use std::process::ExitCode;

use cavra_core::{Action, ActionType, DecisionRecord, evaluate};
use cavra_store::Stamper;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use super::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;
use crate::packs;

/// Evaluate and persist the flagship sequence of an agent session.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreArgs,
    /// Session id to record under (default: a new `demo-...` id).
    #[arg(long)]
    session_id: Option<String>,
    /// Print the session summary and its decisions as JSON.
    #[arg(long)]
    json: bool,
}

/// The sequence: what an agent working on a payments service might try.
fn flagship() -> Vec<Action> {
    let mut mcp = Action::new(ActionType::McpToolCall, "unknown-filesystem:read_file");
    mcp.capability = Some("filesystem".to_owned());
    let mut push = Action::new(ActionType::GitOperation, "origin/main");
    push.operation = Some("push".to_owned());
    vec![
        Action::new(ActionType::ReadFile, ".env"),
        Action::new(ActionType::WriteFile, "iam/admin-role.tf"),
        Action::new(ActionType::ExecuteCommand, "terraform plan"),
        Action::new(ActionType::ExecuteCommand, "terraform apply -auto-approve"),
        mcp,
        push,
    ]
}

/// Runs `cavra demo`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let set = packs::load(None)?;
    let pack = packs::get(&set, cavra_core::DEFAULT_POLICY_PACK)?;
    let store = a.store.open()?;
    let mut stamper = Stamper::new();
    let session = a.session_id.unwrap_or_else(|| {
        format!(
            "demo-{}",
            stamper.stamp().decision_id.trim_start_matches("dec_").to_lowercase()
        )
    });
    let mut records = Vec::new();
    for mut action in flagship() {
        action.session_id = Some(session.clone());
        action.agent_id = Some("claude-code".to_owned());
        action.repository = Some("acme/payments".to_owned());
        action.actor = Some("dev@acme.example".to_owned());
        action.cwd = Some("/work/acme/payments".to_owned());
        let record = DecisionRecord::new(&action, evaluate(&action, &pack), pack.version(), stamper.stamp());
        records.push(store.append(record).map_err(CliError::from_store)?);
    }
    let summary = store.get_session(&session).map_err(CliError::from_store)?;
    if a.json {
        super::print_json(
            &serde_json::json!({"store": a.store.config().to_string(), "session": summary, "decisions": records}),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(["#", "action", "target", "decision", "severity", "rule"]);
    for r in &records {
        table.add_row([
            r.sequence.map_or_else(String::new, |v| v.to_string()),
            r.action_type.to_string(),
            r.target.clone(),
            r.decision.to_string(),
            r.severity.to_string(),
            r.rule_id.clone(),
        ]);
    }
    say!("{table}");
    say!(
        "recorded {} decisions in session `{session}` ({})",
        records.len(),
        a.store.config()
    );
    say!("look at it with:");
    say!("  cavra sessions show {session}");
    say!("  cavra decisions list --session-id {session} --decision block");
    Ok(ExitCode::SUCCESS)
}
