//! Exact list totals kept as counts (SQLite and PostgreSQL): which count answers which query,
//! and how a stored decision or a changed session row moves them.
//!
//! The design decision: a `total` is read, not counted, for the common lists — unfiltered, or
//! with one exact-match filter — from `activity_counts`, one row per (kind, value). Each backend
//! changes those rows in the transaction that changes the rows they count, once per distinct
//! key per transaction ([`Counts`] gathers the changes first), so a count is exactly as durable
//! and as visible as its rows. Other lists are counted over an index by the backend.
//!
//! The console's overview is read the same way, from `hourly.*` kinds whose value starts with
//! the zero-padded hour (so a time range is a range of the primary key):
//! `hourly.decisions` = `HHHHHHHHHH|outcome`, and for decisions other than `allow`
//! `hourly.repository|agent_id|rule_id` = `HHHHHHHHHH|outcome|name`, and for `block`
//! `hourly.blocked_session` = `HHHHHHHHHH|block|session_id`. The four ranked kinds are also
//! kept per UTC day (`daily.*`, the day number zero-padded the same way): a range reads its
//! whole days from those and only its partial first and last day from the hourly rows
//! ([`ranked_spans`]), so a month costs about 30 rows per name instead of 720.

use std::collections::HashMap;

use cavra_core::DecisionRecord;

use cavra_core::Outcome;

use crate::model::{
    ActivityOverview, DecisionQuery, HourCount, HourRange, OverviewDimension, RankedCount, SessionQuery, SessionState,
    SessionSummary,
};

/// The kind of the per-hour, per-outcome decision counts.
pub(crate) const HOURLY_DECISIONS: &str = "hourly.decisions";

/// Hours in a UTC day: the grain of the `daily.*` counts.
const DAY_HOURS: i64 = 24;

/// The largest hour (or day) a key can hold: ten digits, so keys sort by number.
const MAX_KEY: i64 = 9_999_999_999;

/// The key prefix of `hour` (or of a day number): fixed width, so keys sort by number.
pub(crate) fn hour_key(hour: i64) -> String {
    format!("{:010}", hour.clamp(0, MAX_KEY))
}

/// The overview keys one decision adds to, as (kind, value): the hourly ones, and with
/// `daily` also those of its day.
fn keys(r: &DecisionRecord, daily: bool) -> Vec<(&'static str, String)> {
    let ts = crate::model::parse_timestamp(&r.timestamp).unwrap_or(0);
    let hour = HourRange::hour_of(ts);
    let (hour_key, day_key) = (hour_key(hour), hour_key(hour.div_euclid(DAY_HOURS)));
    let outcome = r.decision.as_str();
    let mut keys = vec![(HOURLY_DECISIONS, format!("{hour_key}|{outcome}"))];
    let mut push = |dimension: OverviewDimension, name: &str| {
        keys.push((dimension.kind(), format!("{hour_key}|{outcome}|{name}")));
        if daily {
            keys.push((dimension.daily_kind(), format!("{day_key}|{outcome}|{name}")));
        }
    };
    if r.decision != Outcome::Allow {
        push(OverviewDimension::Repository, &r.repository);
        push(OverviewDimension::Agent, &r.agent_id);
        push(OverviewDimension::Rule, &r.rule_id);
    }
    if r.decision == Outcome::Block {
        push(OverviewDimension::BlockedSession, &r.session_id);
    }
    keys
}

/// The value bounds of `range` for a range scan of `hourly.decisions`: `value >= lo AND value < hi`.
pub(crate) fn hour_bounds(range: HourRange) -> (String, String) {
    (hour_key(range.from_hour), hour_key(range.to_hour))
}

/// A part of an overview range and the grain its ranked counts are read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    /// Read from the `daily.*` kinds (whole days), else from `hourly.*`.
    pub(crate) daily: bool,
    /// The first key included (an hour or a day, as [`hour_key`]).
    pub(crate) lo: String,
    /// The first key after the span.
    pub(crate) hi: String,
}

impl Span {
    /// The kind `dimension` is kept under at this span's grain.
    pub(crate) fn kind(&self, dimension: OverviewDimension) -> &'static str {
        if self.daily {
            dimension.daily_kind()
        } else {
            dimension.kind()
        }
    }
}

/// How to read the ranked counts of `range`: the days it covers entirely from the daily rows,
/// the hours before the first and after the last of them from the hourly rows. Empty spans are
/// left out.
pub(crate) fn ranked_spans(range: HourRange) -> Vec<Span> {
    let from = range.from_hour.clamp(0, MAX_KEY);
    let to = range.to_hour.clamp(0, MAX_KEY);
    let hourly = |lo: i64, hi: i64| Span {
        daily: false,
        lo: hour_key(lo),
        hi: hour_key(hi),
    };
    if to <= from {
        return Vec::new();
    }
    let first_day = from.div_euclid(DAY_HOURS) + i64::from(from.rem_euclid(DAY_HOURS) != 0);
    let end_day = to.div_euclid(DAY_HOURS);
    if first_day >= end_day {
        return vec![hourly(from, to)];
    }
    let mut spans = Vec::with_capacity(3);
    if from < first_day * DAY_HOURS {
        spans.push(hourly(from, first_day * DAY_HOURS));
    }
    spans.push(Span {
        daily: true,
        lo: hour_key(first_day),
        hi: hour_key(end_day),
    });
    if end_day * DAY_HOURS < to {
        spans.push(hourly(end_day * DAY_HOURS, to));
    }
    spans
}

/// The ranked counts of `range`, read span by span with `scan(kind, lo, hi)` (which answers
/// `(outcome|name, count)` summed over the keys `lo <= value < hi` of `kind`) and added up, as
/// the (hourly kind, `outcome|name`, count) rows [`overview`] takes.
pub(crate) fn ranked<E>(
    range: HourRange,
    mut scan: impl FnMut(&'static str, &str, &str) -> Result<Vec<(String, i64)>, E>,
) -> Result<Vec<(String, String, i64)>, E> {
    let spans = ranked_spans(range);
    let mut out = Vec::new();
    for dimension in OverviewDimension::ALL {
        let mut sums: HashMap<String, i64> = HashMap::new();
        for span in &spans {
            for (rest, n) in scan(span.kind(dimension), &span.lo, &span.hi)? {
                *sums.entry(rest).or_default() += n;
            }
        }
        out.extend(sums.into_iter().map(|(rest, n)| (dimension.kind().to_owned(), rest, n)));
    }
    Ok(out)
}

/// Builds the overview from kept rows: `hours` are `hourly.decisions` values with their counts,
/// `ranked` are (kind, `outcome|name`, count) already summed over the range.
pub(crate) fn overview(
    hours: impl IntoIterator<Item = (String, i64)>,
    ranked: impl IntoIterator<Item = (String, String, i64)>,
) -> ActivityOverview {
    let mut out = ActivityOverview::default();
    for (value, n) in hours {
        let Some((hour, outcome)) = value.split_once('|') else {
            continue;
        };
        if let (Ok(hour), Ok(outcome), Ok(count)) = (hour.parse(), outcome.parse::<Outcome>(), u64::try_from(n))
            && count > 0
        {
            out.hours.push(HourCount { hour, outcome, count });
        }
    }
    for (kind, rest, n) in ranked {
        let Some(dimension) = OverviewDimension::from_kind(&kind) else {
            continue;
        };
        let Some((outcome, name)) = rest.split_once('|') else {
            continue;
        };
        if let (Ok(outcome), Ok(count)) = (outcome.parse::<Outcome>(), u64::try_from(n))
            && count > 0
        {
            out.ranked.push(RankedCount {
                dimension,
                name: name.to_owned(),
                outcome,
                count,
            });
        }
    }
    out.hours.sort_by_key(|h| (h.hour, h.outcome));
    out.ranked
        .sort_by(|a, b| (a.dimension, &a.name, a.outcome).cmp(&(b.dimension, &b.name, b.outcome)));
    out
}

/// The overview computed from the records themselves, hour by hour (the JSON store, and tests'
/// model).
pub(crate) fn overview_of<'a>(
    records: impl IntoIterator<Item = &'a DecisionRecord>,
    range: HourRange,
) -> ActivityOverview {
    let (lo, hi) = hour_bounds(range);
    let mut hours: HashMap<String, i64> = HashMap::new();
    let mut ranked: HashMap<(String, String), i64> = HashMap::new();
    for r in records {
        for (kind, value) in keys(r, false) {
            if value.as_str() < lo.as_str() || value.as_str() >= hi.as_str() {
                continue;
            }
            if kind == HOURLY_DECISIONS {
                *hours.entry(value).or_default() += 1;
            } else if let Some(rest) = value.get(11..) {
                *ranked.entry((kind.to_owned(), rest.to_owned())).or_default() += 1;
            }
        }
    }
    overview(hours, ranked.into_iter().map(|((k, rest), n)| (k, rest, n)))
}

/// The exact-match filters of a decision query that are set: column and value.
pub(crate) fn decision_exact(q: &DecisionQuery) -> Vec<(&'static str, String)> {
    [
        ("session_id", q.session_id.clone()),
        ("agent_id", q.agent_id.clone()),
        ("repository", q.repository.clone()),
        ("policy_pack", q.policy_pack.clone()),
        ("decision", q.decision.map(|d| d.as_str().to_owned())),
        ("severity", q.severity.map(|s| s.as_str().to_owned())),
        ("action_type", q.action_type.map(|a| a.as_str().to_owned())),
    ]
    .into_iter()
    .filter_map(|(col, v)| v.map(|v| (col, v)))
    .collect()
}

/// The exact-match filters of a session query that are set: column and value.
pub(crate) fn session_exact(q: &SessionQuery) -> Vec<(&'static str, String)> {
    [
        ("agent_id", q.agent_id.clone()),
        ("repository", q.repository.clone()),
        ("policy_pack", q.policy_pack.clone()),
        ("state", q.state.map(|s| s.as_str().to_owned())),
    ]
    .into_iter()
    .filter_map(|(col, v)| v.map(|v| (col, v)))
    .collect()
}

/// How a decision query's `total` is known without counting rows.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecisionTotal {
    /// The count kept under this kind and value.
    Kept(String, String),
    /// Only a `session_id` filter: the backend's per-session count.
    Session(String),
    /// Several filters or a time window: count the rows.
    Count,
}

/// Which count answers `q`'s `total`.
pub(crate) fn decision_total(q: &DecisionQuery) -> DecisionTotal {
    if q.since_micros.is_some() || q.until_micros.is_some() {
        return DecisionTotal::Count;
    }
    let mut exact = decision_exact(q);
    match exact.len() {
        0 => DecisionTotal::Kept("decisions".to_owned(), String::new()),
        1 => match exact.pop() {
            Some(("session_id", id)) => DecisionTotal::Session(id),
            Some((col, value)) => DecisionTotal::Kept(format!("decisions.{col}"), value),
            None => DecisionTotal::Count,
        },
        _ => DecisionTotal::Count,
    }
}

/// The count that answers a session query's `total`, or `None` when it must be counted.
pub(crate) fn session_total(q: &SessionQuery) -> Option<(String, String)> {
    let mut exact = session_exact(q);
    match exact.len() {
        0 => Some(("sessions".to_owned(), String::new())),
        1 => exact.pop().map(|(col, value)| (format!("sessions.{col}"), value)),
        _ => None,
    }
}

/// The filter columns of a session row, as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionKeys {
    agent_id: String,
    repository: String,
    policy_pack: String,
    state: SessionState,
}

impl SessionKeys {
    /// The keys of `s`.
    pub(crate) fn of(s: &SessionSummary) -> SessionKeys {
        SessionKeys {
            agent_id: s.agent_id.clone(),
            repository: s.repository.clone(),
            policy_pack: s.policy_pack.clone(),
            state: s.state,
        }
    }

    /// The columns whose value differs in `after`, each with its new value.
    pub(crate) fn changed<'a>(&self, after: &'a SessionKeys) -> Vec<(&'static str, &'a str)> {
        [
            ("agent_id", self.agent_id == after.agent_id, after.agent_id.as_str()),
            (
                "repository",
                self.repository == after.repository,
                after.repository.as_str(),
            ),
            (
                "policy_pack",
                self.policy_pack == after.policy_pack,
                after.policy_pack.as_str(),
            ),
            ("state", self.state == after.state, after.state.as_str()),
        ]
        .into_iter()
        .filter(|(_, same, _)| !same)
        .map(|(column, _, value)| (column, value))
        .collect()
    }
}

/// Changes to the counts made by one transaction, gathered so that each distinct key is written
/// once.
#[derive(Default)]
pub(crate) struct Counts(HashMap<&'static str, HashMap<String, i64>>);

impl Counts {
    fn add(&mut self, kind: &'static str, value: &str, n: i64) {
        let values = self.0.entry(kind).or_default();
        match values.get_mut(value) {
            Some(count) => *count += n,
            None => {
                values.insert(value.to_owned(), n);
            }
        }
    }

    /// A decision was stored.
    pub(crate) fn decision(&mut self, r: &DecisionRecord) {
        self.add("decisions", "", 1);
        self.add("decisions.agent_id", &r.agent_id, 1);
        self.add("decisions.repository", &r.repository, 1);
        self.add("decisions.policy_pack", &r.policy_pack, 1);
        self.add("decisions.decision", r.decision.as_str(), 1);
        self.add("decisions.severity", r.severity.as_str(), 1);
        self.add("decisions.action_type", r.action_type.as_str(), 1);
        for (kind, value) in keys(r, true) {
            self.add(kind, &value, 1);
        }
    }

    /// A session row was written: `before` is its keys as stored (`None`: it had no row).
    pub(crate) fn session(&mut self, before: Option<&SessionKeys>, after: &SessionKeys) {
        match before {
            Some(before) if before == after => {}
            Some(before) => {
                self.session_keys(before, -1);
                self.session_keys(after, 1);
            }
            None => self.session_keys(after, 1),
        }
    }

    fn session_keys(&mut self, keys: &SessionKeys, n: i64) {
        self.add("sessions", "", n);
        self.add("sessions.agent_id", &keys.agent_id, n);
        self.add("sessions.repository", &keys.repository, n);
        self.add("sessions.policy_pack", &keys.policy_pack, n);
        self.add("sessions.state", keys.state.as_str(), n);
    }

    /// The changed counts, sorted by key (neighbouring rows; one lock order for every writer).
    pub(crate) fn into_rows(self) -> Vec<(&'static str, String, i64)> {
        let mut rows: Vec<(&'static str, String, i64)> = self
            .0
            .into_iter()
            .flat_map(|(kind, values)| values.into_iter().map(move |(value, n)| (kind, value, n)))
            .filter(|(_, _, n)| *n != 0)
            .collect();
        rows.sort_unstable();
        rows
    }
}

#[cfg(test)]
mod tests {
    use cavra_core::{Outcome, Severity};

    use super::*;

    /// A session row's update sets only the filter columns that changed.
    #[test]
    fn changed_names_only_the_columns_that_differ() {
        let mut s = SessionSummary::new("s1", "2026-01-01T00:00:00Z");
        s.agent_id = "claude-code".into();
        s.repository = "acme/api".into();
        s.policy_pack = "baseline".into();
        let before = SessionKeys::of(&s);
        assert!(before.changed(&before).is_empty());
        s.policy_pack = "strict".into();
        assert_eq!(before.changed(&SessionKeys::of(&s)), [("policy_pack", "strict")]);
        s.agent_id = "codex".into();
        s.state = SessionState::Archived;
        assert_eq!(
            before.changed(&SessionKeys::of(&s)),
            [("agent_id", "codex"), ("policy_pack", "strict"), ("state", "archived")]
        );
    }

    /// Which count answers which query: none or one exact filter is kept, the rest is counted.
    #[test]
    fn totals_come_from_counts_when_they_can() {
        let q = DecisionQuery::default();
        assert_eq!(
            decision_total(&q),
            DecisionTotal::Kept("decisions".into(), String::new())
        );
        let q = DecisionQuery {
            severity: Some(Severity::High),
            ..DecisionQuery::default()
        };
        assert_eq!(
            decision_total(&q),
            DecisionTotal::Kept("decisions.severity".into(), "high".into())
        );
        let q = DecisionQuery {
            session_id: Some("s".into()),
            ..DecisionQuery::default()
        };
        assert_eq!(decision_total(&q), DecisionTotal::Session("s".into()));
        let q = DecisionQuery {
            decision: Some(Outcome::Block),
            agent_id: Some("a".into()),
            ..DecisionQuery::default()
        };
        assert_eq!(decision_total(&q), DecisionTotal::Count);
        let q = DecisionQuery {
            since_micros: Some(0),
            ..DecisionQuery::default()
        };
        assert_eq!(decision_total(&q), DecisionTotal::Count);
        assert_eq!(
            session_total(&SessionQuery {
                state: Some(SessionState::Active),
                ..SessionQuery::default()
            }),
            Some(("sessions.state".into(), "active".into()))
        );
    }

    /// A range reads its whole days from the daily rows and only the hours of its partial first
    /// and last day from the hourly rows; a range without a whole day is read hour by hour.
    #[test]
    fn ranges_split_into_whole_days_and_edge_hours() {
        let span = |daily, lo: i64, hi: i64| Span {
            daily,
            lo: hour_key(lo),
            hi: hour_key(hi),
        };
        let range = |from_hour, to_hour| HourRange { from_hour, to_hour };
        assert_eq!(
            ranked_spans(range(30, 24 * 5 + 3)),
            vec![span(false, 30, 48), span(true, 2, 5), span(false, 120, 123)]
        );
        assert_eq!(ranked_spans(range(48, 120)), vec![span(true, 2, 5)]);
        assert_eq!(ranked_spans(range(0, 50)), vec![span(true, 0, 2), span(false, 48, 50)]);
        assert_eq!(ranked_spans(range(30, 50)), vec![span(false, 30, 50)]);
        assert_eq!(ranked_spans(range(30, 30)), vec![]);
        assert_eq!(ranked_spans(range(-5, 20)), vec![span(false, 0, 20)]);
    }

    /// A session whose keys changed moves its count from the old values to the new ones; the
    /// total of sessions stays.
    #[test]
    fn a_changed_session_moves_its_counts() {
        let mut s = SessionSummary::new("s", "2026-01-01T00:00:00Z");
        let before = SessionKeys::of(&s);
        s.state = SessionState::Completed;
        let mut counts = Counts::default();
        counts.session(Some(&before), &SessionKeys::of(&s));
        assert_eq!(
            counts.into_rows(),
            vec![
                ("sessions.state", "active".to_owned(), -1),
                ("sessions.state", "completed".to_owned(), 1)
            ]
        );
    }
}
