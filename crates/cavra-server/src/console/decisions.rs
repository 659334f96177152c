//! The decisions table — all seven SPEC filters, a time range, outcome and severity at a glance,
//! keyset paging with the store's cursor (the same query as `GET /decisions`) — and one
//! decision's full record.

use axum::extract::{RawQuery, State};
use axum::response::Html;
use cavra_core::{ActionType, DecisionRecord, Outcome, Severity};
use maud::{Markup, html};

use crate::console::access::Viewer;
use crate::console::overview::urlencode_path;
use crate::console::page::{self, Nav, count, outcome_label};
use crate::console::{ConsoleError, encode, form_pairs, value, with};
use crate::input::IdPath;
use crate::routes::blocking;
use crate::state::AppState;

/// `GET /console/decisions`: filters, time range and the cursor in the query string.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, ConsoleError> {
    let pairs = form_pairs(raw.as_deref());
    let query = crate::routes::decisions::query(Some(&encode(&pairs)))?;
    let store = state.store().clone();
    let q = query.clone();
    let found = blocking(move || store.list_decisions(&q)).await?;
    let v = |k: &str| value(&pairs, k).unwrap_or("").to_owned();
    // A datetime-local input shows `2026-11-25T10:00:00` (no zone); the value is UTC.
    let local = |k: &str| {
        value(&pairs, k)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default()
    };
    let packs: Vec<String> = state.packs().ids().map(str::to_owned).collect();
    let filtered = pairs
        .iter()
        .any(|(k, _)| !matches!(k.as_str(), "limit" | "offset" | "cursor"));
    let paged = value(&pairs, "cursor").is_some() || value(&pairs, "offset").is_some_and(|o| o != "0");
    let next = found.next_cursor.as_ref().map(|c| {
        let mut p = with(&pairs, "cursor", None);
        p.push(("cursor".to_owned(), c.clone()));
        format!("/console/decisions?{}", encode(&p))
    });
    let body = html! {
        div.page-head {
            div {
                h1 { "Decisions" }
                p.muted { "Every evaluated action, newest first. Filters are exact matches; times are UTC." }
            }
        }
        form.filters method="get" action="/console/decisions" aria-label="Filter decisions" {
            div.field {
                label for="f-decision" { "Outcome" }
                select #f-decision name="decision" {
                    option value="" { "any" }
                    @for o in Outcome::ALL {
                        option value=(o.as_str()) selected[v("decision") == o.as_str()] { (outcome_label(o)) }
                    }
                }
            }
            div.field {
                label for="f-severity" { "Severity" }
                select #f-severity name="severity" {
                    option value="" { "any" }
                    @for s in Severity::ALL {
                        option value=(s.as_str()) selected[v("severity") == s.as_str()] { (s.as_str()) }
                    }
                }
            }
            div.field {
                label for="f-action" { "Action type" }
                select #f-action name="action_type" {
                    option value="" { "any" }
                    @for a in ActionType::ALL {
                        option value=(a.as_str()) selected[v("action_type") == a.as_str()] { (a.as_str()) }
                    }
                }
            }
            div.field { label for="f-repo" { "Repository" } input #f-repo name="repository" value=(v("repository")) placeholder="any"; }
            div.field { label for="f-agent" { "Agent" } input #f-agent name="agent_id" value=(v("agent_id")) placeholder="any"; }
            div.field { label for="f-session" { "Session" } input #f-session name="session_id" value=(v("session_id")) placeholder="any"; }
            div.field {
                label for="f-pack" { "Policy pack" }
                input #f-pack name="policy_pack" value=(v("policy_pack")) placeholder="any" list="packs";
                datalist #packs { @for p in &packs { option value=(p) {} } }
            }
            div.field { label for="f-since" { "Since (UTC)" } input #f-since name="since" type="datetime-local" step="1" value=(local("since")); }
            div.field { label for="f-until" { "Until (UTC)" } input #f-until name="until" type="datetime-local" step="1" value=(local("until")); }
            div.field {
                label for="f-limit" { "Per page" }
                select #f-limit name="limit" {
                    @for n in ["25", "50", "100", "200", "500"] {
                        option value=(n) selected[v("limit") == n || (v("limit").is_empty() && n == "50")] { (n) }
                    }
                }
            }
            div.field.buttons {
                button type="submit" { "Apply" }
                a.button.secondary href="/console/decisions" { "Clear" }
            }
        }
        section.card.table-card {
            @if found.items.is_empty() {
                div.empty-state {
                    @if paged {
                        h2 { "No more decisions" }
                        p { "This was the last page." }
                        p.actions { a.button href=(format!("/console/decisions?{}", encode(&with(&pairs, "cursor", None)))) { "Back to the first page" } }
                    } @else if filtered {
                        h2 { "No decisions match" }
                        p { "Nothing matches these filters. Filters are exact: " code { "acme/payments" } ", not " code { "payments" } "." }
                        p.actions { a.button href="/console/decisions" { "Clear filters" } }
                    } @else {
                        h2 { "No decisions yet" }
                        p { "Agents record decisions with " code { "POST /decisions" } "; " code { "cavra demo" } " seeds a realistic day." }
                    }
                }
            } @else {
                p.table-meta {
                    strong { (count(found.total)) } " decisions match"
                    @if paged { " · " a href=(format!("/console/decisions?{}", encode(&with(&pairs, "cursor", None)))) { "first page" } }
                }
                div.scroll {
                    table.data {
                        thead { tr {
                            th scope="col" { "Time" }
                            th scope="col" { "Outcome" }
                            th scope="col" { "Severity" }
                            th scope="col" { "Action" }
                            th scope="col" { "Target" }
                            th scope="col" { "Rule" }
                            th scope="col" { "Agent" }
                            th scope="col" { "Repository" }
                            th scope="col" { "Session" }
                        } }
                        tbody {
                            @for d in &found.items {
                                tr class=(format!("row-{}", d.decision.as_str())) {
                                    td.nowrap { a href=(format!("/console/decisions/{}", urlencode_path(&d.decision_id))) title=(format!("Open {}", d.decision_id)) { (page::instant(&d.timestamp)) } }
                                    td { (page::outcome(d.decision)) }
                                    td { (page::severity(d.severity)) }
                                    td.small { (d.action_type.as_str()) }
                                    td.target { code title=(d.target) { (truncate(&d.target, 80)) } }
                                    td.small { code { (d.rule_id) } }
                                    td.small { (d.agent_id) }
                                    td.small { (d.repository) }
                                    td.small { a href=(format!("/console/sessions/{}", urlencode_path(&d.session_id))) { (truncate(&d.session_id, 18)) } }
                                }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages" {
                    @if paged { a.button.secondary href=(format!("/console/decisions?{}", encode(&with(&pairs, "cursor", None)))) { "⇤ Newest" } }
                    @if let Some(n) = &next { a.button.secondary href=(n) rel="next" { "Older →" } }
                }
            }
        }
    };
    Ok(page::frame("Decisions", Nav::Decisions, Some(&viewer.0), body))
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// `GET /console/decisions/{id}`: the whole record.
pub async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    IdPath(id): IdPath,
) -> Result<Html<String>, ConsoleError> {
    let store = state.store().clone();
    let key = id.clone();
    let Some(d) = blocking(move || store.get_decision(&key)).await? else {
        return Err(ConsoleError::not_found(format!("no decision `{id}`")));
    };
    let body = record(&d);
    Ok(page::frame(
        &format!("Decision {}", d.decision_id),
        Nav::Decisions,
        Some(&viewer.0),
        body,
    ))
}

fn row(label: &str, value: Markup) -> Markup {
    html! { div.kv { dt { (label) } dd { (value) } } }
}

fn optional(value: Option<&String>) -> Markup {
    match value {
        Some(v) => html! { (v) },
        None => html! { span.muted { "–" } },
    }
}

/// One decision, everything a reviewer or auditor needs.
fn record(d: &DecisionRecord) -> Markup {
    let raw = serde_json::to_string_pretty(d).unwrap_or_default();
    html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/console/decisions" { "Decisions" } " / "
            a href=(format!("/console/sessions/{}", urlencode_path(&d.session_id))) { "session " (d.session_id) } " / "
            span aria-current="page" { (d.decision_id) }
        }
        section class=(format!("card verdict v-{}", d.decision.as_str())) {
            div.verdict-head {
                (page::outcome(d.decision))
                (page::severity(d.severity))
                span.muted { (page::instant(&d.timestamp)) " · sequence " (d.sequence.map(|s| s.to_string()).unwrap_or_else(|| "–".into())) }
            }
            h1.reason { (d.reason) }
            @if let Some(s) = &d.suggestion {
                p.suggestion { strong { "Suggestion: " } (s) }
            }
            @if let Some(g) = &d.approver_group {
                p.approver { strong { "Approver group: " } code { (g) } }
            }
        }
        div.grid2 {
            section.card {
                h2 { "The action" }
                dl.kvs {
                    (row("Action type", html! { (d.action_type.as_str()) }))
                    (row("Target", html! { pre.code { (d.target) } }))
                    (row("Operation", optional(d.requested_operation.as_ref())))
                    (row("Working directory", optional(d.cwd.as_ref())))
                    (row("Agent", html! { (d.agent_id) }))
                    (row("Actor", html! { (d.actor) }))
                    (row("Repository", html! { a href=(format!("/console/decisions?{}", encode(&[("repository".to_owned(), d.repository.clone())]))) { (d.repository) } }))
                    (row("Session", html! { a href=(format!("/console/sessions/{}", urlencode_path(&d.session_id))) { code { (d.session_id) } } }))
                    @if let Some(args) = &d.arguments {
                        (row("Arguments", html! { pre.code { (serde_json::to_string_pretty(args).unwrap_or_default()) } }))
                    }
                    @if let Some(j) = &d.justification {
                        (row("Justification", html! { (j) }))
                    }
                    @if !d.redacted_fields.is_empty() {
                        (row("Redacted fields", html! { @for f in &d.redacted_fields { code { (f) } " " } }))
                    }
                }
            }
            section.card {
                h2 { "The policy" }
                dl.kvs {
                    (row("Deciding rule", html! { code { (d.rule_id) } }))
                    (row("Policy pack", html! { (d.policy_pack) " " span.muted { "v" (d.pack_version) } }))
                    (row("Rule defined by", html! { (d.policy_id) }))
                    (row("Mode", html! { (d.mode.as_str()) }))
                    (row("Correlation id", html! { code { (d.correlation_id) } }))
                    (row("Tool use id", optional(d.tool_use_id.as_ref())))
                }
            }
        }
        section.card {
            h2 { "Parsed command: every rule that fired" }
            @if d.matched.is_empty() {
                p.empty { "No rule matched; the pack's default decided." }
            } @else {
                div.scroll {
                    table.data {
                        thead { tr {
                            th scope="col" { "Part of the action" }
                            th scope="col" { "Rule" }
                            th scope="col" { "Verdict" }
                            th scope="col" { "Severity" }
                        } }
                        tbody {
                            @for m in &d.matched {
                                tr {
                                    td.target { code { (m.part) } }
                                    td { code { (m.rule_id) } @if m.rule_id == d.rule_id { " " span.tag { "deciding" } } }
                                    td { (page::outcome(m.decision)) }
                                    td { (page::severity(m.severity)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Evidence" }
            dl.kvs {
                (row("Decision id", html! { code { (d.decision_id) } }))
                (row("Record hash", html! { code.hash-full { (d.record_hash.as_deref().unwrap_or("–")) } }))
                (row("Previous hash", html! { code.hash-full { (d.prev_hash.as_deref().unwrap_or("none (first in its session)")) } }))
                (row("Evidence refs", html! { @for r in &d.evidence_refs { code { (r) } br; } }))
                (row("Schema", html! { (d.schema_version) }))
            }
            details {
                summary { "The stored record (JSON)" }
                pre.code.raw { (raw) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long targets are cut with an ellipsis, on character boundaries.
    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééééé", 3), "éé…");
    }
}
