//! `cavra mcp`: an MCP server on stdio exposing evaluation as tools.
//!
//! One JSON-RPC message per line in, one answer per request out (notifications get none). The
//! protocol itself — parsing, error codes, versions, the tool list — is `cavra_agent::mcp`; this
//! file does the I/O and the work: every evaluation is decided in-process and appended to the
//! configured store like any other decision. A bad line is answered with a JSON-RPC error and the
//! server reads on; only the end of stdin ends it.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cavra_agent::mcp::{self, CallError, Incoming, ToolCall};
use cavra_core::{Action, DecisionRecord};
use cavra_store::Stamper;
use serde_json::{Value, json};

use crate::authority::Authority;
use crate::cmd::store_args::StoreArgs;
use crate::error::CliError;

/// An MCP server on stdio (JSON-RPC 2.0, one message per line) whose tools evaluate agent
/// actions: `evaluate_action`, `check_command`, `check_file_read`, `check_file_write`,
/// `check_git_operation`, `check_mcp_call`, `explain_decision`, `summarize_session`. Every
/// evaluation is persisted to the configured store, in the policy pack's own mode: the model
/// chooses no mode, and a call carrying `policy_mode` or `justification` is refused.
///
/// Claude Code: `claude mcp add cavra -- cavra mcp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreArgs,
    /// Read extra packs from this directory.
    #[arg(long, env = "CAVRA_POLICY_DIR", value_name = "DIR")]
    policy_dir: Option<PathBuf>,
    /// Session that decisions are recorded in when a call names none (default `mcp-<id>`, new
    /// per server process).
    #[arg(long)]
    session_id: Option<String>,
    /// Agent id recorded when a call names none (default: the client's name from `initialize`).
    #[arg(long, env = "CAVRA_AGENT_ID")]
    agent_id: Option<String>,
    /// Repository recorded when a call names none.
    #[arg(long, env = "CAVRA_REPOSITORY")]
    repository: Option<String>,
    /// Policy pack used when a call names none (default `cavra-ai-agent-baseline`).
    #[arg(long, env = "CAVRA_POLICY_PACK")]
    policy_pack: Option<String>,
}

/// The server's state between messages.
struct Server {
    authority: Authority,
    session_id: String,
    agent_id: Option<String>,
    client_name: Option<String>,
    repository: Option<String>,
    policy_pack: Option<String>,
}

/// Runs the server until stdin ends.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let authority = Authority::local(a.policy_dir.as_deref(), None, a.store.open()?)?;
    let session_id = a.session_id.clone().unwrap_or_else(|| {
        let id = Stamper::new().stamp().decision_id;
        format!("mcp-{}", id.trim_start_matches("dec_").to_lowercase())
    });
    let mut server = Server {
        authority,
        session_id,
        agent_id: a.agent_id,
        client_name: None,
        repository: a.repository,
        policy_pack: a.policy_pack,
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.map_err(CliError::io("cannot read stdin"))?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match mcp::parse_line(&line) {
            Err(error) => Some(error),
            Ok(Incoming::Request { id, method, params }) => Some(server.request(id, &method, &params)),
            Ok(Incoming::Notification { .. } | Incoming::Response) => None,
        };
        if let Some(answer) = answer {
            writeln!(out, "{answer}")
                .and_then(|()| out.flush())
                .map_err(CliError::io("cannot write stdout"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Server {
    fn request(&mut self, id: Value, method: &str, params: &Value) -> Value {
        match method {
            "initialize" => {
                self.client_name = params["clientInfo"]["name"].as_str().map(str::to_owned);
                mcp::result_response(id, mcp::initialize_result(params, env!("CARGO_PKG_VERSION")))
            }
            "ping" => mcp::result_response(id, json!({})),
            "tools/list" => mcp::result_response(id, mcp::tools_list()),
            "tools/call" => match mcp::tool_call(params) {
                Ok(call) => mcp::result_response(id, self.call(call)),
                Err(CallError::Arguments(message)) => mcp::result_response(id, mcp::tool_result(message, None, true)),
                Err(CallError::Protocol(message)) => mcp::error_response(id, mcp::INVALID_PARAMS, message),
            },
            other => mcp::error_response(id, mcp::METHOD_NOT_FOUND, format!("method `{other}` not found")),
        }
    }

    fn call(&mut self, call: ToolCall) -> Value {
        let result = match call {
            ToolCall::Evaluate(action) => self.evaluate(*action),
            ToolCall::ExplainDecision(id) => self.explain(&id),
            ToolCall::SummarizeSession(id) => self.summarize(id.as_deref().unwrap_or(&self.session_id.clone())),
        };
        result.unwrap_or_else(|e| mcp::tool_result(e.to_string(), None, true))
    }

    fn evaluate(&mut self, mut action: Action) -> Result<Value, CliError> {
        action.session_id.get_or_insert_with(|| self.session_id.clone());
        if action.agent_id.is_none() {
            action.agent_id = self.agent_id.clone().or_else(|| self.client_name.clone());
        }
        if action.repository.is_none() {
            action.repository = self.repository.clone();
        }
        if action.policy_pack.is_none() {
            action.policy_pack = self.policy_pack.clone();
        }
        let record = self.authority.decide(&action)?;
        let text = verdict_text(&record);
        let structured = serde_json::to_value(&record).map_err(|e| CliError::Failed(e.to_string()))?;
        Ok(mcp::tool_result(text, Some(structured), false))
    }

    fn explain(&self, decision_id: &str) -> Result<Value, CliError> {
        let store = self
            .authority
            .store()
            .ok_or_else(|| CliError::Failed("no store to read from".into()))?;
        let record = store
            .get_decision(decision_id)
            .map_err(CliError::from_store)?
            .ok_or_else(|| CliError::NotFound(format!("no decision `{decision_id}`")))?;
        let outcome = store.get_outcome(decision_id).map_err(CliError::from_store)?;
        let mut text = verdict_text(&record);
        text.push_str(&format!("\naction: {} `{}`", record.action_type, record.target));
        for m in &record.matched {
            text.push_str(&format!(
                "\n- {} ({}, {}) on `{}`",
                m.rule_id, m.decision, m.severity, m.part
            ));
        }
        if let Some(o) = &outcome {
            text.push_str(&format!("\nthe tool ran: {} ({})", o.status.as_str(), o.recorded_at));
        }
        Ok(mcp::tool_result(
            text,
            Some(json!({"decision": record, "outcome": outcome})),
            false,
        ))
    }

    fn summarize(&self, session_id: &str) -> Result<Value, CliError> {
        let store = self
            .authority
            .store()
            .ok_or_else(|| CliError::Failed("no store to read from".into()))?;
        let summary = store
            .get_session(session_id)
            .map_err(CliError::from_store)?
            .ok_or_else(|| CliError::NotFound(format!("no session `{session_id}`")))?;
        let counts = serde_json::to_value(&summary.outcome_counts).unwrap_or(Value::Null);
        let text = format!(
            "session `{}` ({}, agent `{}`, repository `{}`): {} decisions, {} blocked, {} needing approval, \
             highest severity {}; by outcome: {counts}",
            summary.session_id,
            summary.state,
            summary.agent_id,
            summary.repository,
            summary.decision_count,
            summary.blocked_count,
            summary.approval_required_count,
            summary
                .max_severity
                .map_or_else(|| "none".to_owned(), |s| s.to_string()),
        );
        let structured = serde_json::to_value(&summary).map_err(|e| CliError::Failed(e.to_string()))?;
        Ok(mcp::tool_result(text, Some(structured), false))
    }
}

/// One line for the model: the verdict, what to do, why, the safer alternative, the id.
fn verdict_text(r: &DecisionRecord) -> String {
    let what = match r.decision {
        cavra_core::Outcome::Block => "do not do this",
        cavra_core::Outcome::RequireApproval => "ask the user for approval first",
        _ => "may proceed",
    };
    let mut text = format!(
        "{} ({}): {what}. {} [rule `{}`]",
        r.decision.as_str().to_uppercase(),
        r.severity,
        r.reason,
        r.rule_id
    );
    if let Some(s) = &r.suggestion {
        text.push_str(&format!(" Safer: {s}"));
    }
    text.push_str(&format!(" Decision {}.", r.decision_id));
    text
}
