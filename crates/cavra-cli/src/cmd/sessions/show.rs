//! `cavra sessions show ID`: the auditor's view of one session.

use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use crate::cmd::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;

/// Show one session.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session id.
    id: String,
    #[command(flatten)]
    store: StoreArgs,
    /// Print the summary plus `decisions` (the timeline, oldest first) as JSON, like `GET /sessions/{id}`.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra sessions show`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let store = a.store.open()?;
    let Some(summary) = store.get_session(&a.id).map_err(CliError::from_store)? else {
        return Err(CliError::NotFound(format!(
            "no session `{}` in {}",
            a.id,
            a.store.config()
        )));
    };
    let decisions = store.session_decisions(&a.id).map_err(CliError::from_store)?;
    let chain = cavra_core::integrity::check_chain(
        &a.id,
        &decisions,
        Some(cavra_core::integrity::ExpectedHead {
            head_hash: summary.head_hash.as_deref(),
            decision_count: summary.decision_count,
        }),
    );
    if a.json {
        let mut value = serde_json::to_value(&summary).map_err(|e| CliError::Failed(e.to_string()))?;
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "decisions".to_owned(),
                serde_json::to_value(&decisions).map_err(|e| CliError::Failed(e.to_string()))?,
            );
            map.insert(
                "chain".to_owned(),
                serde_json::to_value(&chain).map_err(|e| CliError::Failed(e.to_string()))?,
            );
        }
        crate::cmd::print_json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = &summary;
    say!("session {}  [{}]", s.session_id, s.state);
    say!(
        "  agent {}  actor {}  repository {}  pack {}",
        s.agent_id,
        s.actor,
        s.repository,
        s.policy_pack
    );
    say!(
        "  {} decision(s): {} blocked, {} need approval; max severity {}",
        s.decision_count,
        s.blocked_count,
        s.approval_required_count,
        s.max_severity.map_or_else(|| "-".to_owned(), |v| v.to_string())
    );
    say!("  started {}  last activity {}", s.started_at, s.updated_at);
    say!("  head {}", s.head_hash.as_deref().unwrap_or("-"));
    if chain.intact {
        say!("  chain intact ({} record(s) verified)", chain.records);
    } else {
        say!(
            "  chain BROKEN: {} problem(s); run `cavra evidence verify` for details",
            chain.problems.len()
        );
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(["seq", "time", "action", "target", "decision", "severity", "rule"]);
    for d in &decisions {
        table.add_row([
            d.sequence.map_or_else(String::new, |v| v.to_string()),
            d.timestamp.get(11..23).unwrap_or(&d.timestamp).to_owned(),
            d.action_type.to_string(),
            crate::cmd::shorten(&d.target, 48),
            d.decision.to_string(),
            d.severity.to_string(),
            d.rule_id.clone(),
        ]);
    }
    say!("{table}");
    Ok(ExitCode::SUCCESS)
}
