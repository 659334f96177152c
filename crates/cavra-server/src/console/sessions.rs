//! The sessions table: the SPEC's filters (agent, repository, policy pack, state), counts per
//! outcome, highest severity, last activity, offset paging — the same query as `GET /sessions`.

use axum::extract::{RawQuery, State};
use axum::response::Html;
use cavra_core::Outcome;
use cavra_store::SessionState;
use maud::{Markup, html};

use crate::console::access::Viewer;
use crate::console::overview::urlencode_path;
use crate::console::page::{self, Nav, count};
use crate::console::{ConsoleError, encode, form_pairs, value, with};
use crate::routes::blocking;
use crate::state::AppState;

/// `GET /console/sessions`: filters and paging in the query string.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, ConsoleError> {
    let pairs = form_pairs(raw.as_deref());
    let query = crate::routes::sessions::query(Some(&encode(&pairs)))?;
    let store = state.store().clone();
    let q = query.clone();
    let found = blocking(move || store.list_sessions(&q)).await?;
    let now_us = page::now_us();
    let v = |k: &str| value(&pairs, k).unwrap_or("").to_owned();
    let packs: Vec<String> = state.packs().ids().map(str::to_owned).collect();
    let first = found.offset + 1;
    let last = found.offset + found.items.len() as u64;
    let body = html! {
        div.page-head {
            div {
                h1 { "Sessions" }
                p.muted { "Each agent session with its decisions counted by outcome, newest activity first." }
            }
        }
        form.filters method="get" action="/console/sessions" aria-label="Filter sessions" {
            div.field { label for="f-agent" { "Agent" } input #f-agent name="agent_id" value=(v("agent_id")) placeholder="any"; }
            div.field { label for="f-repo" { "Repository" } input #f-repo name="repository" value=(v("repository")) placeholder="any"; }
            div.field {
                label for="f-pack" { "Policy pack" }
                input #f-pack name="policy_pack" value=(v("policy_pack")) placeholder="any" list="packs";
                datalist #packs { @for p in &packs { option value=(p) {} } }
            }
            div.field {
                label for="f-state" { "State" }
                select #f-state name="state" {
                    option value="" { "any" }
                    @for s in SessionState::ALL {
                        option value=(s.as_str()) selected[v("state") == s.as_str()] { (s.as_str()) }
                    }
                }
            }
            div.field.buttons {
                button type="submit" { "Apply" }
                a.button.secondary href="/console/sessions" { "Clear" }
            }
        }
        section.card.table-card {
            @if found.items.is_empty() {
                div.empty-state {
                    h2 { "No sessions match" }
                    p { "Nothing matches these filters. Filters are exact: " code { "acme/payments" } ", not " code { "payments" } "." }
                    p.actions { a.button href="/console/sessions" { "Clear filters" } }
                }
            } @else {
                p.table-meta { "Showing " (count(first)) "–" (count(last)) " of " strong { (count(found.total)) } " sessions" }
                div.scroll {
                    table.data {
                        thead { tr {
                            th scope="col" { "Session" }
                            th scope="col" { "Agent" }
                            th scope="col" { "Repository" }
                            th scope="col" { "Policy pack" }
                            th scope="col" { "State" }
                            th.num scope="col" { "Decisions" }
                            th.num scope="col" { "Blocked" }
                            th.num scope="col" { "Approval" }
                            th.num scope="col" { "Warn" }
                            th scope="col" { "Max severity" }
                            th scope="col" { "Last activity" }
                        } }
                        tbody {
                            @for s in &found.items {
                                tr {
                                    td { a href=(format!("/console/sessions/{}", urlencode_path(&s.session_id))) { code { (s.session_id) } } }
                                    td { (s.agent_id) }
                                    td { (s.repository) }
                                    td { (s.policy_pack) }
                                    td { span class=(format!("state st-{}", s.state.as_str())) { (s.state.as_str()) } }
                                    td.num { (count(s.decision_count)) }
                                    td.num.c-block[s.blocked_count > 0] { (count(s.blocked_count)) }
                                    td.num { (count(s.approval_required_count)) }
                                    td.num { (count(s.outcome_counts.get(&Outcome::Warn).copied().unwrap_or(0))) }
                                    td { @if let Some(sev) = s.max_severity { (page::severity(sev)) } @else { span.muted { "–" } } }
                                    td { (page::instant(&s.updated_at)) " " span.muted.small { (page::ago(&s.updated_at, now_us)) } }
                                }
                            }
                        }
                    }
                }
                (pager(&pairs, found.offset, u64::from(found.limit), found.total))
            }
        }
    };
    Ok(page::frame("Sessions", Nav::Sessions, Some(&viewer.0), body))
}

/// Previous/next links for offset paging.
fn pager(pairs: &[(String, String)], offset: u64, limit: u64, total: u64) -> Markup {
    let link = |o: u64| {
        let mut p = with(pairs, "offset", None);
        if o > 0 {
            p.push(("offset".to_owned(), o.to_string()));
        }
        format!("/console/sessions?{}", encode(&p))
    };
    html! {
        nav.pager aria-label="Pages" {
            @if offset > 0 {
                a.button.secondary href=(link(offset.saturating_sub(limit))) rel="prev" { "← Newer" }
            }
            @if offset + limit < total {
                a.button.secondary href=(link(offset + limit)) rel="next" { "Older →" }
            }
        }
    }
}
