//! The auditor's view of one session: every decision in order with its verdict, rule, reason
//! and the time since the one before, the chain's integrity computed from the records
//! ([`cavra_core::integrity::check_chain`] against the summary's head and count), and the
//! session's records as JSONL.
//!
//! The whole chain is checked on every view; the list shows [`PAGE`] decisions at a time so a
//! long session stays quick to render.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use cavra_core::integrity::{ChainFault, ChainStatus, ExpectedHead, check_chain};
use cavra_core::{DecisionRecord, Outcome};
use cavra_store::SessionSummary;
use maud::{Markup, html};

use crate::console::access::Viewer;
use crate::console::decisions::truncate;
use crate::console::overview::urlencode_path;
use crate::console::page::{self, Nav, count, outcome_label};
use crate::console::{ConsoleError, encode, form_pairs};
use crate::input::{IdPath, QueryParams};
use crate::routes::blocking;
use crate::state::AppState;

/// Decisions listed per page of a timeline.
pub const PAGE: u64 = 500;

/// A gap between two decisions worth pointing out: ten minutes.
const LONG_GAP_US: i64 = 10 * 60 * 1_000_000;

async fn load(state: &AppState, id: &str) -> Result<(SessionSummary, Vec<DecisionRecord>), ConsoleError> {
    let store = state.store().clone();
    let key = id.to_owned();
    let found = blocking(move || {
        let Some(summary) = store.get_session(&key)? else {
            return Ok(None);
        };
        let decisions = store.session_decisions(&key)?;
        Ok(Some((summary, decisions)))
    })
    .await?;
    found.ok_or_else(|| ConsoleError::not_found(format!("no session `{id}`")))
}

/// `GET /console/sessions/{id}`: the timeline (`?offset=` pages through long sessions).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    IdPath(id): IdPath,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, ConsoleError> {
    let pairs = form_pairs(raw.as_deref());
    let q = QueryParams::parse(Some(&encode(&pairs)), &["offset"])?;
    let offset = q.number("offset")?.unwrap_or(0);
    let (summary, records) = load(&state, &id).await?;
    let status = check_chain(
        &summary.session_id,
        &records,
        Some(ExpectedHead {
            head_hash: summary.head_hash.as_deref(),
            decision_count: summary.decision_count,
        }),
    );
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(records.len());
    let end = start
        .saturating_add(usize::try_from(PAGE).unwrap_or(500))
        .min(records.len());
    let base = format!("/console/sessions/{}", urlencode_path(&summary.session_id));
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/console/sessions" { "Sessions" } " / " span aria-current="page" { (summary.session_id) }
        }
        div.page-head {
            div {
                h1 { "Session " code { (summary.session_id) } }
                p.muted {
                    (summary.agent_id) " (" (summary.actor) ") in " strong { (summary.repository) }
                    " · pack " (summary.policy_pack) " · "
                    span class=(format!("state st-{}", summary.state.as_str())) { (summary.state.as_str()) }
                }
            }
            a.button href=(format!("{base}/decisions.jsonl")) download { "Download records (JSONL)" }
        }
        section.kpis aria-label="Session totals" {
            div.kpi { div.kpi-label { "Decisions" } div.kpi-value { (count(summary.decision_count)) } }
            div.kpi.k-block { div.kpi-label { "Blocked" } div.kpi-value { (count(summary.blocked_count)) } }
            div.kpi.k-approval { div.kpi-label { "Needs approval" } div.kpi-value { (count(summary.approval_required_count)) } }
            div.kpi { div.kpi-label { "Max severity" } div.kpi-value { @if let Some(s) = summary.max_severity { (page::severity(s)) } @else { "–" } } }
            div.kpi { div.kpi-label { "Started" } div.kpi-value.small { (page::instant(&summary.started_at)) } }
            div.kpi { div.kpi-label { "Duration" } div.kpi-value.small { (span_of(&summary)) } }
        }
        (integrity(&status, &summary))
        section.card {
            h2 { "Timeline" }
            @if records.is_empty() {
                p.empty { "This session has no decisions yet." }
            } @else {
                @if records.len() > usize::try_from(PAGE).unwrap_or(500) {
                    p.table-meta { "Decisions " (count(start as u64 + 1)) "–" (count(end as u64)) " of " (count(records.len() as u64)) ", oldest first" }
                }
                ol.timeline start=(start + 1) {
                    @for i in start..end {
                        (entry(&records, i))
                    }
                }
                nav.pager aria-label="Pages" {
                    @if start > 0 { a.button.secondary href=(format!("{base}?offset={}", (start as u64).saturating_sub(PAGE))) rel="prev" { "← Earlier" } }
                    @if end < records.len() { a.button.secondary href=(format!("{base}?offset={end}")) rel="next" { "Later →" } }
                }
            }
        }
    };
    Ok(page::frame(
        &format!("Session {}", summary.session_id),
        Nav::Sessions,
        Some(&viewer.0),
        body,
    ))
}

fn span_of(s: &SessionSummary) -> String {
    match (
        cavra_store::model::parse_timestamp(&s.started_at),
        cavra_store::model::parse_timestamp(&s.updated_at),
    ) {
        (Ok(a), Ok(b)) => page::duration(b.saturating_sub(a).max(0)),
        _ => "–".to_owned(),
    }
}

fn entry(records: &[DecisionRecord], i: usize) -> Markup {
    let Some(d) = records.get(i) else { return html! {} };
    let gap = i.checked_sub(1).and_then(|p| records.get(p)).and_then(|prev| {
        let a = cavra_store::model::parse_timestamp(&prev.timestamp).ok()?;
        let b = cavra_store::model::parse_timestamp(&d.timestamp).ok()?;
        Some(b.saturating_sub(a))
    });
    html! {
        @if let Some(g) = gap {
            li.gap class=[(g >= LONG_GAP_US).then_some("long")] aria-hidden="true" { "+" (page::duration(g)) }
        }
        li class=(format!("event e-{}", d.decision.as_str())) {
            div.event-head {
                span.seq { "#" (d.sequence.map(|s| s.to_string()).unwrap_or_default()) }
                (page::instant(&d.timestamp))
                (page::outcome(d.decision))
                (page::severity(d.severity))
                span.small.muted { (d.action_type.as_str()) }
                a.open href=(format!("/console/decisions/{}", urlencode_path(&d.decision_id))) aria-label=(format!("Open decision {} ({})", d.decision_id, outcome_label(d.decision))) { "Details →" }
            }
            div.event-target { code title=(d.target) { (truncate(&d.target, 160)) } }
            div.event-why {
                code.rule { (d.rule_id) } " — " (d.reason)
                @if d.decision != Outcome::Allow {
                    @if let Some(s) = &d.suggestion { div.small.suggestion-inline { "Suggestion: " (s) } }
                }
            }
        }
    }
}

fn fault(f: &ChainFault) -> String {
    let h = |v: &Option<String>| {
        v.as_deref()
            .map_or("none".to_owned(), |s| s.get(..12).unwrap_or(s).to_owned())
    };
    match f {
        ChainFault::HashMismatch { stored, computed } => format!(
            "content changed: stored hash {} but the record hashes to {}",
            h(stored),
            computed.get(..12).unwrap_or(computed)
        ),
        ChainFault::BrokenLink { expected, found } => format!(
            "broken link: previous hash should be {} but is {} (a record was removed, inserted or moved)",
            h(expected),
            h(found)
        ),
        ChainFault::WrongSession { found } => format!("record names another session, `{found}`"),
        ChainFault::OutOfOrder { previous } => format!(
            "out of order after sequence {}",
            previous.map_or("–".to_owned(), |p| p.to_string())
        ),
        ChainFault::HeadMismatch { expected, found } => format!(
            "the summary's head is {} but the chain ends at {}",
            h(expected),
            h(found)
        ),
        ChainFault::CountMismatch { expected, found } => {
            format!("the summary counts {expected} decisions but {found} were read")
        }
    }
}

fn integrity(status: &ChainStatus, summary: &SessionSummary) -> Markup {
    html! {
        @if status.intact {
            section.card.integrity.ok role="status" {
                h2 { span aria-hidden="true" { "✓ " } "Chain intact" }
                p {
                    "All " (count(status.records)) " records hash to their " code { "record_hash" } ", each links to the one before it, and the chain ends at the summary's head "
                    (page::short_hash(summary.head_hash.as_deref())) " with its count."
                }
            }
        } @else {
            section.card.integrity.broken role="alert" {
                h2 { span aria-hidden="true" { "✗ " } "Chain broken: " (status.problems.len()) " problem" @if status.problems.len() != 1 { "s" } }
                p { "The records read back do not match what was recorded. Treat this session's evidence as altered." }
                ul {
                    @for p in &status.problems {
                        li {
                            @if let Some(id) = &p.decision_id {
                                a href=(format!("/console/decisions/{}", urlencode_path(id))) { code { (id) } } ": "
                            }
                            (fault(&p.fault))
                        }
                    }
                }
            }
        }
    }
}

/// The name a download is saved under: the session id with anything unusual replaced.
fn file_name(session_id: &str) -> String {
    let safe: String = session_id
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("cavra-session-{safe}.jsonl")
}

/// `GET /console/sessions/{id}/decisions.jsonl`: the session's records, oldest first, one JSON
/// object per line, exactly as stored.
pub async fn jsonl(
    State(state): State<AppState>,
    _viewer: Viewer,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let (summary, records) = load(&state, &id).await?;
    let mut body = String::new();
    for r in &records {
        let line = serde_json::to_string(r).map_err(|e| crate::error::ApiError::internal(&e))?;
        body.push_str(&line);
        body.push('\n');
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file_name(&summary.session_id))) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Download names keep only safe characters.
    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("sess-1"), "cavra-session-sess-1.jsonl");
        assert_eq!(file_name("a/b\"c"), "cavra-session-a_b_c.jsonl");
    }
}
