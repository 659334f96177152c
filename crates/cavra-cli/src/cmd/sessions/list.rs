//! `cavra sessions list`.

use std::process::ExitCode;

use cavra_store::model::clamp_limit;
use cavra_store::{SessionQuery, SessionState};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use crate::cmd::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;

/// Filters and paging for `sessions list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this agent.
    #[arg(long)]
    agent_id: Option<String>,
    /// Only this repository.
    #[arg(long)]
    repository: Option<String>,
    /// Only this policy pack.
    #[arg(long)]
    policy_pack: Option<String>,
    /// Only this state: active, completed, failed, archived.
    #[arg(long)]
    state: Option<SessionState>,
    /// Page size, 1..500 (larger values are clamped).
    #[arg(long, default_value_t = 50)]
    limit: u64,
    /// Rows to skip.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Print the API's envelope `{items, total, limit, offset}` as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra sessions list`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let query = SessionQuery {
        agent_id: a.agent_id,
        repository: a.repository,
        policy_pack: a.policy_pack,
        state: a.state,
        limit: clamp_limit(Some(a.limit)),
        offset: a.offset,
    };
    let store = a.store.open()?;
    let page = store.list_sessions(&query).map_err(CliError::from_store)?;
    if a.json {
        crate::cmd::print_json(&page)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header([
        "session",
        "state",
        "agent",
        "repository",
        "pack",
        "decisions",
        "blocked",
        "approval",
        "max severity",
        "last activity",
    ]);
    for s in &page.items {
        table.add_row([
            s.session_id.clone(),
            s.state.to_string(),
            s.agent_id.clone(),
            s.repository.clone(),
            s.policy_pack.clone(),
            s.decision_count.to_string(),
            s.blocked_count.to_string(),
            s.approval_required_count.to_string(),
            s.max_severity.map_or_else(|| "-".to_owned(), |v| v.to_string()),
            s.updated_at.get(..19).unwrap_or(&s.updated_at).replace('T', " "),
        ]);
    }
    say!("{table}");
    say!("{} of {} session(s)", page.items.len(), page.total);
    Ok(ExitCode::SUCCESS)
}
