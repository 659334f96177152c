//! The overview: what agents did in a time range, at a glance — totals, decisions over time
//! stacked by outcome (inline SVG), the rules that blocked most, the riskiest repositories and
//! agents, and the sessions with blocks.
//!
//! Everything comes from [`ActivityStore::activity_overview`](cavra_store::ActivityStore), the
//! hourly and daily counts the appends keep, so the page costs the same at a thousand decisions or a
//! million. Ranges are whole UTC hours ending with the current one.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::response::Html;
use cavra_core::Outcome;
use cavra_store::SessionSummary;
use cavra_store::model::{ActivityOverview, HOUR_MICROS, HourRange, OverviewDimension};
use maud::{Markup, html};

use crate::console::access::Viewer;
use crate::console::page::{self, Nav, STACK, count, outcome_label};
use crate::console::{ConsoleError, encode, form_pairs};
use crate::error::ApiError;
use crate::input::QueryParams;
use crate::routes::blocking;
use crate::state::AppState;

/// The time ranges offered: query value, label, hours (`None`: everything).
pub const RANGES: [(&str, &str, Option<i64>); 5] = [
    ("24h", "Last 24 hours", Some(24)),
    ("7d", "Last 7 days", Some(24 * 7)),
    ("30d", "Last 30 days", Some(24 * 30)),
    ("90d", "Last 90 days", Some(24 * 90)),
    ("all", "All time", None),
];

/// The range shown when none is asked for.
pub const DEFAULT_RANGE: &str = "7d";

/// Rows in each ranked list.
const TOP: usize = 8;

/// One name's counts per outcome.
struct Ranked {
    name: String,
    counts: BTreeMap<Outcome, u64>,
}

impl Ranked {
    fn get(&self, o: Outcome) -> u64 {
        self.counts.get(&o).copied().unwrap_or(0)
    }

    fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// The names of `dimension`, riskiest first: most blocks, then approvals, then warnings.
fn ranked(overview: &ActivityOverview, dimension: OverviewDimension) -> Vec<Ranked> {
    let mut by_name: BTreeMap<&str, BTreeMap<Outcome, u64>> = BTreeMap::new();
    for r in overview.ranked.iter().filter(|r| r.dimension == dimension) {
        *by_name.entry(&r.name).or_default().entry(r.outcome).or_default() += r.count;
    }
    let mut out: Vec<Ranked> = by_name
        .into_iter()
        .map(|(name, counts)| Ranked {
            name: name.to_owned(),
            counts,
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |r: &Ranked| {
            (
                r.get(Outcome::Block),
                r.get(Outcome::RequireApproval),
                r.get(Outcome::Warn),
                r.total(),
            )
        };
        key(b).cmp(&key(a)).then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// `GET /console`: the overview for `?range=24h|7d|30d|90d|all`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, ConsoleError> {
    let pairs = form_pairs(raw.as_deref());
    let q = QueryParams::parse(Some(&encode(&pairs)), &["range"])?;
    let range_key = q.text("range")?.unwrap_or_else(|| DEFAULT_RANGE.to_owned());
    let Some(&(key, label, hours)) = RANGES.iter().find(|(k, _, _)| *k == range_key) else {
        return Err(ApiError::invalid_query(format!(
            "unknown range `{range_key}` (expected one of: {})",
            RANGES.map(|r| r.0).join(", ")
        ))
        .into());
    };
    let now_us = page::now_us();
    let to_hour = HourRange::hour_of(now_us) + 1;
    let range = HourRange {
        from_hour: hours.map_or(0, |h| to_hour - h),
        to_hour,
    };
    let store = state.store().clone();
    let (overview, blocked_sessions) = blocking(move || {
        let overview = store.activity_overview(range)?;
        let mut sessions = ranked(&overview, OverviewDimension::BlockedSession);
        sessions.truncate(TOP);
        let mut found = Vec::with_capacity(sessions.len());
        for s in sessions {
            let summary = store.get_session(&s.name)?;
            found.push((s, summary));
        }
        Ok((overview, found))
    })
    .await?;

    let mut totals: BTreeMap<Outcome, u64> = BTreeMap::new();
    for h in &overview.hours {
        *totals.entry(h.outcome).or_default() += h.count;
    }
    let total: u64 = totals.values().sum();
    let get = |o: Outcome| totals.get(&o).copied().unwrap_or(0);
    let sessions_with_blocks = ranked(&overview, OverviewDimension::BlockedSession).len() as u64;
    let block_rate = if total == 0 {
        "–".to_owned()
    } else {
        format!("{:.1}%", get(Outcome::Block) as f64 * 100.0 / total as f64)
    };

    let body = html! {
        div.page-head {
            div {
                h1 { "Activity overview" }
                p.muted { (label) " · what AI agents attempted, and which controls fired" }
            }
            nav.segmented aria-label="Time range" {
                @for (k, l, _) in RANGES {
                    @if k == key {
                        a href=(format!("/console?range={k}")) aria-current="true" { (l) }
                    } @else {
                        a href=(format!("/console?range={k}")) { (l) }
                    }
                }
            }
        }
        @if total == 0 {
            section.card.empty-state {
                h2 { "No decisions in this range" }
                p { "Agents record decisions with " code { "POST /decisions" } " (or " code { "cavra demo" }
                    " seeds a realistic day). Try a longer range:" }
                p.actions { a.button href="/console?range=all" { "Show all time" } }
            }
        } @else {
            section.kpis aria-label="Totals" {
                (kpi("Decisions", &count(total), None, ""))
                (kpi("Blocked", &count(get(Outcome::Block)), Some("/console/decisions?decision=block"), "k-block"))
                (kpi("Needs approval", &count(get(Outcome::RequireApproval)), Some("/console/decisions?decision=require_approval"), "k-approval"))
                (kpi("Warnings", &count(get(Outcome::Warn)), Some("/console/decisions?decision=warn"), "k-warn"))
                (kpi("Block rate", &block_rate, None, ""))
                (kpi("Sessions with blocks", &count(sessions_with_blocks), None, ""))
            }
            section.card {
                h2 { "Decisions over time" }
                (chart(&overview, range, hours.is_none()))
            }
            div.grid2 {
                section.card {
                    h2 { "Top blocking rules" }
                    (rules(&overview))
                }
                section.card {
                    h2 { "Sessions with blocks" }
                    (sessions_table(&blocked_sessions, now_us))
                }
                section.card {
                    h2 { "Riskiest repositories" }
                    (risk_table(&ranked(&overview, OverviewDimension::Repository), "repository", "Repository"))
                }
                section.card {
                    h2 { "Riskiest agents" }
                    (risk_table(&ranked(&overview, OverviewDimension::Agent), "agent_id", "Agent"))
                }
            }
        }
    };
    Ok(page::frame("Overview", Nav::Overview, Some(&viewer.0), body))
}

fn kpi(label: &str, value: &str, href: Option<&str>, class: &str) -> Markup {
    html! {
        div class=(format!("kpi {class}")) {
            div.kpi-label { (label) }
            div.kpi-value {
                @if let Some(h) = href { a href=(h) { (value) } } @else { (value) }
            }
        }
    }
}

/// Hours per bar so that the range has at most 60 bars.
fn bucket_hours(span: i64) -> i64 {
    [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720, 2160, 8760]
        .into_iter()
        .find(|b| span / b <= 60)
        .unwrap_or(8760)
}

/// A round number at least `n`, for the chart's scale.
fn nice_ceiling(n: u64) -> u64 {
    let n = n.max(1);
    let mut step = 1;
    while step * 10 < n {
        step *= 10;
    }
    for m in [1, 2, 5, 10] {
        if step * m >= n {
            return step * m;
        }
    }
    step * 10
}

/// Decisions over time, stacked by outcome: an inline SVG with a title per bar.
fn chart(overview: &ActivityOverview, range: HourRange, all_time: bool) -> Markup {
    let first = if all_time {
        overview.hours.first().map_or(range.from_hour, |h| h.hour)
    } else {
        range.from_hour
    };
    let bucket = bucket_hours(range.to_hour - first);
    let start = first - first.rem_euclid(bucket);
    let n = usize::try_from((range.to_hour - start + bucket - 1) / bucket)
        .unwrap_or(1)
        .max(1);
    let mut bars: Vec<BTreeMap<Outcome, u64>> = vec![BTreeMap::new(); n];
    for h in &overview.hours {
        if let Ok(i) = usize::try_from((h.hour - start) / bucket)
            && let Some(bar) = bars.get_mut(i)
        {
            *bar.entry(h.outcome).or_default() += h.count;
        }
    }
    let max = nice_ceiling(bars.iter().map(|b| b.values().sum::<u64>()).max().unwrap_or(0));
    let (w, h, left, bottom, top) = (960.0_f64, 260.0_f64, 56.0_f64, 30.0_f64, 12.0_f64);
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.78).max(1.0);
    let label_every = n.div_ceil(8).max(1);
    let y = |v: u64| top + plot_h - (v as f64 / max as f64) * plot_h;
    let when = |i: usize| {
        let hour = start + i as i64 * bucket;
        chrono::DateTime::from_timestamp_micros(hour * HOUR_MICROS).unwrap_or_default()
    };
    let label = |i: usize| {
        let t = when(i);
        if bucket < 24 {
            t.format("%m-%d %H:00").to_string()
        } else {
            t.format("%Y-%m-%d").to_string()
        }
    };
    let description = format!(
        "Stacked bars of decisions per {} by outcome, from {} to now; the highest bar holds up to {} decisions.",
        if bucket == 1 {
            "hour".to_owned()
        } else {
            format!("{bucket} hours")
        },
        label(0),
        count(max)
    );
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(description) preserveAspectRatio="none" {
                @for t in [0, max / 2, max] {
                    line.grid x1=(left) x2=(w - 8.0) y1=(y(t)) y2=(y(t)) {}
                    text.axis x=(left - 8.0) y=(y(t) + 4.0) text-anchor="end" { (count(t)) }
                }
                @for (i, bar) in bars.iter().enumerate() {
                    @let x = left + i as f64 * slot + (slot - bar_w) / 2.0;
                    @let total: u64 = bar.values().sum();
                    g {
                        title {
                            (label(i)) ": " (count(total)) " decisions"
                            @for o in STACK.iter().rev() {
                                @if let Some(c) = bar.get(o) { " · " (outcome_label(*o)) " " (count(*c)) }
                            }
                        }
                        rect.hit x=(left + i as f64 * slot) y=(top) width=(slot) height=(plot_h) {}
                        @for (o, below, c) in stacked(bar) {
                            @let y0 = y(below);
                            @let y1 = y(below + c);
                            rect class=(format!("f-{}", o.as_str())) x=(x) y=(y1) width=(bar_w) height=((y0 - y1).max(0.5)) {}
                        }
                    }
                    @if i % label_every == 0 {
                        text.axis x=(left + i as f64 * slot + slot / 2.0) y=(h - 10.0) text-anchor="middle" { (label(i)) }
                    }
                }
                line.baseline x1=(left) x2=(w - 8.0) y1=(top + plot_h) y2=(top + plot_h) {}
            }
            figcaption.legend {
                @for o in STACK.iter().rev() {
                    span { i class=(format!("sw f-{}", o.as_str())) aria-hidden="true" {} (outcome_label(*o)) }
                }
            }
        }
    }
}

/// A bar's segments in stacking order: outcome, the count below it, its count.
fn stacked(bar: &BTreeMap<Outcome, u64>) -> Vec<(Outcome, u64, u64)> {
    let mut below = 0;
    let mut out = Vec::new();
    for o in STACK {
        if let Some(&c) = bar.get(&o) {
            out.push((o, below, c));
            below += c;
        }
    }
    out
}

/// A small stacked horizontal bar of non-allow outcomes, most severe first, scaled to `max`.
fn risk_bar(r: &Ranked, max: u64) -> Markup {
    let width = 140.0_f64;
    let scale = |n: u64| n as f64 / max.max(1) as f64 * width;
    let mut left = 0;
    let mut segments = Vec::new();
    for o in STACK.iter().rev() {
        if let Some(&c) = r.counts.get(o) {
            segments.push((*o, scale(left), scale(c)));
            left += c;
        }
    }
    html! {
        svg.hbar viewBox=(format!("0 0 {width} 10")) width=(width) height="10" aria-hidden="true" {
            @for (o, x, w) in segments {
                rect class=(format!("f-{}", o.as_str())) x=(x) y="0" width=(w) height="10" {}
            }
        }
    }
}

fn rules(overview: &ActivityOverview) -> Markup {
    let mut blocking: Vec<(String, u64)> = ranked(overview, OverviewDimension::Rule)
        .into_iter()
        .map(|r| {
            let n = r.get(Outcome::Block);
            (r.name, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    blocking.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    blocking.truncate(TOP);
    let max = blocking.first().map_or(1, |r| r.1);
    html! {
        @if blocking.is_empty() {
            p.empty { "No rule blocked anything in this range." }
        } @else {
            table.ranked {
                thead { tr { th scope="col" { "Rule" } th.num scope="col" { "Blocks" } th scope="col" { span.sr-only { "Share" } } } }
                tbody {
                    @for (rule, n) in &blocking {
                        tr {
                            td { code { (rule) } }
                            td.num { (count(*n)) }
                            td {
                                svg.hbar viewBox="0 0 140 10" width="140" height="10" aria-hidden="true" {
                                    rect.f-block x="0" y="0" width=(*n as f64 / max as f64 * 140.0) height="10" {}
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn risk_table(rows: &[Ranked], filter: &str, heading: &str) -> Markup {
    let rows: Vec<&Ranked> = rows.iter().take(TOP).collect();
    let max = rows.iter().map(|r| r.total()).max().unwrap_or(1);
    html! {
        @if rows.is_empty() {
            p.empty { "Nothing but allowed actions in this range." }
        } @else {
            table.ranked {
                thead { tr {
                    th scope="col" { (heading) }
                    th.num scope="col" { "Blocks" }
                    th.num scope="col" { "Approvals" }
                    th.num scope="col" { "Warnings" }
                    th scope="col" { span.sr-only { "Outcomes" } }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td { a href=(format!("/console/decisions?{}", encode(&[(filter.to_owned(), r.name.clone())]))) { (r.name) } }
                            td.num.c-block { (count(r.get(Outcome::Block))) }
                            td.num { (count(r.get(Outcome::RequireApproval))) }
                            td.num { (count(r.get(Outcome::Warn))) }
                            td { (risk_bar(r, max)) }
                        }
                    }
                }
            }
        }
    }
}

fn sessions_table(rows: &[(Ranked, Option<SessionSummary>)], now_us: i64) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "No session had a blocked action in this range." }
        } @else {
            table.ranked {
                thead { tr {
                    th scope="col" { "Session" }
                    th scope="col" { "Agent · repository" }
                    th.num scope="col" { "Blocks" }
                    th scope="col" { "Last activity" }
                } }
                tbody {
                    @for (r, summary) in rows {
                        tr {
                            td { a href=(format!("/console/sessions/{}", urlencode_path(&r.name))) { code { (r.name) } } }
                            td {
                                @if let Some(s) = summary { (s.agent_id) span.muted { " · " (s.repository) } }
                            }
                            td.num.c-block { (count(r.get(Outcome::Block))) }
                            td { @if let Some(s) = summary { (page::ago(&s.updated_at, now_us)) } }
                        }
                    }
                }
            }
        }
    }
}

/// An id as one path segment.
pub fn urlencode_path(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bars stay at most 60 per range.
    #[test]
    fn buckets_fit() {
        assert_eq!(bucket_hours(24), 1);
        assert_eq!(bucket_hours(168), 3);
        assert_eq!(bucket_hours(720), 12);
        assert!(bucket_hours(500_000) >= 8760);
    }

    /// The scale is a round number.
    #[test]
    fn scale_is_round() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(13), 20);
        assert_eq!(nice_ceiling(4_100), 5_000);
    }

    /// Ids become one safe path segment.
    #[test]
    fn ids_are_escaped() {
        assert_eq!(urlencode_path("sess-1"), "sess-1");
        assert_eq!(urlencode_path("a/b c"), "a%2Fb%20c");
    }
}
