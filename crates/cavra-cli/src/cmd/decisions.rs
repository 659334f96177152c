//! `cavra decisions list`: recorded decisions, filtered like `GET /decisions`.

use std::process::ExitCode;

use cavra_core::{ActionType, Outcome, Severity};
use cavra_store::DecisionQuery;
use cavra_store::model::{clamp_limit, decode_cursor, parse_timestamp};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use super::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;

/// Decision subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List decisions, newest first, with the API's filters.
    List(ListArgs),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::List(args) => list(args),
        }
    }
}

/// Filters and paging for `decisions list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this session.
    #[arg(long)]
    session_id: Option<String>,
    /// Only this agent.
    #[arg(long)]
    agent_id: Option<String>,
    /// Only this repository, e.g. `acme/payments`.
    #[arg(long)]
    repository: Option<String>,
    /// Only this policy pack.
    #[arg(long)]
    policy_pack: Option<String>,
    /// Only this outcome: allow, audit_only, warn, allow_with_attestation, require_approval, block.
    #[arg(long)]
    decision: Option<Outcome>,
    /// Only this severity: low, medium, high, critical.
    #[arg(long)]
    severity: Option<Severity>,
    /// Only this action type.
    #[arg(long)]
    action_type: Option<ActionType>,
    /// Not before this instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Not after this instant (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Page size, 1..500 (larger values are clamped).
    #[arg(long, default_value_t = 50)]
    limit: u64,
    /// Rows to skip.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Continue after a previous page's `next_cursor` (offset is then ignored).
    #[arg(long)]
    cursor: Option<String>,
    /// Print the API's envelope `{items, total, limit, offset, next_cursor}` as JSON.
    #[arg(long)]
    json: bool,
}

fn list(a: ListArgs) -> Result<ExitCode, CliError> {
    let query = DecisionQuery {
        session_id: a.session_id,
        agent_id: a.agent_id,
        repository: a.repository,
        policy_pack: a.policy_pack,
        decision: a.decision,
        severity: a.severity,
        action_type: a.action_type,
        since_micros: a
            .since
            .as_deref()
            .map(parse_timestamp)
            .transpose()
            .map_err(CliError::Invalid)?,
        until_micros: a
            .until
            .as_deref()
            .map(parse_timestamp)
            .transpose()
            .map_err(CliError::Invalid)?,
        limit: clamp_limit(Some(a.limit)),
        offset: a.offset,
        before_sequence: a
            .cursor
            .as_deref()
            .map(decode_cursor)
            .transpose()
            .map_err(CliError::Invalid)?,
    };
    let store = a.store.open()?;
    let page = store.list_decisions(&query).map_err(CliError::from_store)?;
    if a.json {
        super::print_json(&page)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header([
        "seq", "time", "session", "agent", "action", "decision", "severity", "rule", "target",
    ]);
    for d in &page.items {
        table.add_row([
            d.sequence.map_or_else(String::new, |s| s.to_string()),
            d.timestamp.get(..19).unwrap_or(&d.timestamp).replace('T', " "),
            d.session_id.clone(),
            d.agent_id.clone(),
            d.action_type.to_string(),
            d.decision.to_string(),
            d.severity.to_string(),
            d.rule_id.clone(),
            super::shorten(&d.target, 48),
        ]);
    }
    say!("{table}");
    let shown = page.items.len() as u64;
    say!(
        "{} of {} decision(s){}",
        shown,
        page.total,
        page.next_cursor
            .as_ref()
            .map_or_else(String::new, |c| format!("; next page: --cursor {c}"))
    );
    Ok(ExitCode::SUCCESS)
}
