//! The conformance suite (SPEC §5: "every store has the same behaviour, proven by one test suite
//! run against all three"): each case below is written once and instantiated per backend by
//! `conformance!`, so `conformance::json::filters_one_by_one` is the same test as
//! `conformance::sqlite::filters_one_by_one` on another store. Every case starts from a fresh,
//! empty store and compares the store's answers with a model computed from what was appended.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "the cases behind the generated #[test]s: a failed assumption is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cavra_core::{Action, ActionType, DecisionRecord, Outcome, Severity, integrity};
use cavra_store::model::{ActivityOverview, HourCount, HourRange, OverviewDimension, RankedCount, decode_cursor};
use cavra_store::{
    ActivityStore, DecisionQuery, SessionQuery, SessionState, SessionSummary, SessionUpdate, StoreError, StoreObserver,
};
use cavra_store::{OutcomeReport, ToolStatus};

use crate::helpers::{
    self, Backend, Model, Recorder, Rng, TestStore, all_decisions, append, assert_same_records, assert_summary,
    check_store, expected_summary, micros, record_diff, seed, seed_action, timestamp,
};

/// Instantiates every listed case once per backend: `conformance! { backends: [a, b]; tests {
/// /// doc
/// fn case; } }` makes `mod a { #[test] fn case() }` and `mod b { ... }`, each running `case` on
/// a fresh store of that backend.
macro_rules! conformance {
    (backends: [$($backend:ident),* $(,)?]; tests $tests:tt) => {
        $( conformance!(@one $backend $tests); )*
    };
    (@one $backend:ident { $( $(#[$doc:meta])* fn $name:ident; )* }) => {
        #[doc = concat!("The conformance suite on the ", stringify!($backend), " backend.")]
        mod $backend {
            $(
                $(#[$doc])*
                #[test]
                fn $name() {
                    super::run(
                        stringify!($backend),
                        concat!("conformance::", stringify!($backend), "::", stringify!($name)),
                        super::$name,
                    );
                }
            )*
        }
    };
}

conformance! {
    backends: [sqlite, json, postgres];
    tests {
        /// An empty store answers every list with nothing and a zero total.
        fn empty_store_lists_nothing;
        /// Each decision filter alone returns exactly the matching rows, newest first.
        fn filters_one_by_one;
        /// Filters combined return exactly the rows matching all of them.
        fn filters_combined;
        /// Decisions come newest first by sequence, with and without filters.
        fn decisions_newest_first;
        /// Sessions come by `updated_at` descending, ties by id descending, and match `get_session`.
        fn sessions_by_updated_at_then_id;
        /// Sessions tied on `updated_at` order by id as bytes, whatever the database's collation.
        fn session_ties_order_by_id_bytes;
        /// `since`, `until` and the session order compare instants, not strings, across UTC offsets.
        fn timestamps_compare_as_instants;
        /// Each session filter (agent, repository, pack, state) returns exactly the matching sessions.
        fn session_filters;
        /// Ids and names with NUL, quotes, newlines, wildcards and non-ASCII are stored and matched exactly.
        fn hostile_strings_round_trip;
        /// Extreme offsets and cursors get a page (or an `Invalid` answer), never an internal error.
        fn extreme_paging_values_are_answered;
        /// Paging by `limit`/`offset` covers every matching row exactly once, in order.
        fn offset_paging_covers_everything_once;
        /// Paging by cursor covers every matching row exactly once and ends with no `next_cursor`.
        fn cursor_paging_covers_everything_once;
        /// `total` counts every matching row whatever the page, offset or cursor.
        fn totals_ignore_paging;
        /// Every session summary holds exactly what its stored decisions imply.
        fn session_summaries_match_decisions;
        /// Each append grows the summary by one: counts, refs, head and `updated_at` advance.
        fn summary_advances_with_each_append;
        /// A decision's unknown fields come back from `get_decision`, lists and the timeline.
        fn unknown_decision_fields_survive;
        /// A summary's unknown fields survive the appends and state changes that rewrite it.
        fn unknown_summary_fields_survive_appends;
        /// Sequences run 1..N without gaps, every hash recomputes and every session chain links.
        fn chains_intact;
        /// Appends from many threads at once keep sequences gap-free, chains linked and counts exact.
        fn concurrent_appends_in_one_process;
        /// Every read during concurrent appends sees one consistent state (summary vs refs, page vs total).
        fn reads_are_consistent_during_appends;
        /// An append with a bad timestamp or a repeated id fails alone, typed, and takes no sequence.
        fn a_bad_append_fails_alone;
        /// `put_session` creates a session and changes its state without touching its counts.
        fn put_session_creates_and_changes_state;
        /// Unknown decision and session ids read as absent, not as errors.
        fn unknown_ids_are_none;
        /// Importing another store's records (each backend's) keeps ids, sequences and hashes; again skips all.
        fn import_is_idempotent_and_preserves_records;
        /// After an import, appends continue the imported log and chains.
        fn import_then_append_continues_the_log;
        /// After an import, a session's new evidence refs come after its imported ones.
        fn import_then_append_keeps_evidence_ref_order;
        /// An import that contradicts a stored record (same id or sequence, other hash) is a conflict.
        fn import_refuses_a_conflicting_record;
        /// The first observer sees every group that stored appends: its batch sizes sum to the appends made.
        fn observer_sees_every_append;
        /// `scan_decisions` streams every stored record of a range once, by sequence, its JSON reading back as the record.
        fn scan_streams_every_record_in_sequence_order;
        /// `log_heads` names every session's head and count and the log's high-water mark.
        fn log_heads_match_the_summaries;
        /// A saved checkpoint comes back byte for byte, the newest one is the latest, and the scan gives all, oldest first.
        fn checkpoints_save_and_latest;
        /// A tool outcome joins the session's latest decision with its tool-use id; the first one stays.
        fn tool_outcomes_join_their_decision;
        /// The overview's hourly and ranked counts equal those computed from the records, for any hour range.
        fn overview_counts_match_the_records;
        /// Imported decisions count in the overview like appended ones.
        fn overview_counts_imported_decisions;
        /// A time window with and without exact filters, in pages of any size, answers rows and total as the records say (whatever index the store reads).
        fn windows_with_filters_answer_like_the_model;
        /// Over days of history, ranges with partial first and last days (read partly from daily counts) equal the records' counts.
        fn overview_across_days_matches_the_records;
    }
}

/// Runs `case` on a fresh store of the named backend (skipped when PostgreSQL is absent).
fn run(backend: &str, test: &str, case: fn(&TestStore)) {
    if let Some(store) = helpers::fresh(Backend::parse(backend), test) {
        case(&store);
    }
}

/// A query for everything, one page of 500.
fn everything() -> DecisionQuery {
    DecisionQuery {
        limit: 500,
        ..DecisionQuery::default()
    }
}

fn ids<'a>(records: impl IntoIterator<Item = &'a DecisionRecord>) -> Vec<&'a str> {
    records.into_iter().map(|r| r.decision_id.as_str()).collect()
}

/// Asserts that one page of 500 answers `q` exactly as the model does, whole records compared.
fn assert_answers(store: &dyn ActivityStore, model: &Model, q: &DecisionQuery) {
    let q = DecisionQuery {
        limit: 500,
        offset: 0,
        before_sequence: None,
        ..q.clone()
    };
    let want = model.expect(&q);
    assert!(want.len() < 500, "the model answer does not fit one page");
    let page = store.list_decisions(&q).unwrap();
    assert_eq!(ids(&page.items), ids(want.iter().copied()), "rows for {q:?}");
    assert_eq!(page.total, u64::try_from(want.len()).unwrap(), "total for {q:?}");
    assert_eq!(page.next_cursor, None, "a cursor after the only page for {q:?}");
    for (got, want) in page.items.iter().zip(want) {
        assert!(
            got == want,
            "record `{}` read back differs for {q:?}: {}",
            want.decision_id,
            record_diff(got, want)
        );
    }
}

/// Timestamps at the edges: before and after everything, exact record instants (some shared by
/// several records) and one microsecond either side of them.
fn boundaries(model: &Model) -> Vec<i64> {
    let stamps: Vec<i64> = model.records.iter().map(|r| micros(&r.timestamp)).collect();
    let shared = stamps
        .windows(2)
        .find(|w| w[0] == w[1])
        .map(|w| w[0])
        .expect("the seed has records sharing a timestamp");
    let first = stamps[0];
    let last = stamps[stamps.len() - 1];
    let middle = stamps[stamps.len() / 2];
    vec![
        first - 1,
        first,
        first + 1,
        middle - 1,
        middle,
        middle + 1,
        shared,
        shared + 1,
        last - 1,
        last,
        last + 1,
    ]
}

fn empty_store_lists_nothing(t: &TestStore) {
    let store = t.store();
    let page = store.list_decisions(&everything()).unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.total, 0);
    assert_eq!(page.next_cursor, None);
    let sessions = store
        .list_sessions(&SessionQuery {
            limit: 50,
            ..SessionQuery::default()
        })
        .unwrap();
    assert!(sessions.items.is_empty());
    assert_eq!(sessions.total, 0);
    assert!(store.all_sessions().unwrap().is_empty());
}

fn filters_one_by_one(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let absent = ["nobody", "sess_%", "SESS-01", "%", ""];
    let text = |values: Vec<String>| values.into_iter().chain(absent.iter().map(|s| (*s).to_owned()));
    let mut queries = Vec::new();
    for v in text(model.distinct(|r| r.session_id.clone())) {
        queries.push(DecisionQuery {
            session_id: Some(v),
            ..everything()
        });
    }
    for v in text(model.distinct(|r| r.agent_id.clone())) {
        queries.push(DecisionQuery {
            agent_id: Some(v),
            ..everything()
        });
    }
    for v in text(model.distinct(|r| r.repository.clone())) {
        queries.push(DecisionQuery {
            repository: Some(v),
            ..everything()
        });
    }
    for v in text(model.distinct(|r| r.policy_pack.clone())) {
        queries.push(DecisionQuery {
            policy_pack: Some(v),
            ..everything()
        });
    }
    for v in Outcome::ALL {
        queries.push(DecisionQuery {
            decision: Some(v),
            ..everything()
        });
    }
    for v in Severity::ALL {
        queries.push(DecisionQuery {
            severity: Some(v),
            ..everything()
        });
    }
    for v in ActionType::ALL {
        queries.push(DecisionQuery {
            action_type: Some(v),
            ..everything()
        });
    }
    for v in boundaries(&model) {
        queries.push(DecisionQuery {
            since_micros: Some(v),
            ..everything()
        });
        queries.push(DecisionQuery {
            until_micros: Some(v),
            ..everything()
        });
    }
    for q in &queries {
        assert_answers(store, &model, q);
    }
}

/// The query that `mask` (one bit per filter) builds from `r`'s own values, so it matches `r`.
fn query_from(r: &DecisionRecord, mask: u32, window: i64) -> DecisionQuery {
    let on = |bit: u32| mask & (1 << bit) != 0;
    let ts = micros(&r.timestamp);
    DecisionQuery {
        session_id: on(0).then(|| r.session_id.clone()),
        agent_id: on(1).then(|| r.agent_id.clone()),
        repository: on(2).then(|| r.repository.clone()),
        policy_pack: on(3).then(|| r.policy_pack.clone()),
        decision: on(4).then_some(r.decision),
        severity: on(5).then_some(r.severity),
        action_type: on(6).then_some(r.action_type),
        since_micros: on(7).then_some(ts - window),
        until_micros: on(8).then_some(ts + window),
        ..everything()
    }
}

fn filters_combined(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let mut rng = Rng::new(7);
    let masks: Vec<u32> = (0u32..512).filter(|m| matches!(m.count_ones(), 2 | 3)).collect();
    for mask in masks {
        let r = rng.pick(&model.records);
        let window = [0, 1, 90_000_000][rng.below(3)];
        let q = query_from(r, mask, window);
        assert!(model.expect(&q).iter().any(|m| m.decision_id == r.decision_id));
        assert_answers(store, &model, &q);
    }
    for _ in 0..10 {
        let r = rng.pick(&model.records);
        assert_answers(store, &model, &query_from(r, 0x1ff, 0));
    }
    // Contradictions match nothing.
    let a = &model.records[0];
    let other_agent = model
        .distinct(|r| r.agent_id.clone())
        .into_iter()
        .find(|x| *x != a.agent_id)
        .unwrap();
    let contradictions = [
        DecisionQuery {
            session_id: Some(a.session_id.clone()),
            agent_id: Some(other_agent),
            ..everything()
        },
        DecisionQuery {
            since_micros: Some(micros(&a.timestamp) + 10),
            until_micros: Some(micros(&a.timestamp) + 9),
            ..everything()
        },
        // A value nothing was stored under, beside one that matches: empty, total 0.
        DecisionQuery {
            repository: Some("nobody/nowhere".into()),
            decision: Some(a.decision),
            ..everything()
        },
    ];
    for q in &contradictions {
        assert!(model.expect(q).is_empty());
        assert_answers(store, &model, q);
    }
}

fn decisions_newest_first(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let page = store.list_decisions(&everything()).unwrap();
    let sequences: Vec<u64> = page.items.iter().map(|r| r.sequence.unwrap()).collect();
    assert!(
        sequences.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {sequences:?}"
    );
    let newest_first: Vec<&str> = model.records.iter().rev().map(|r| r.decision_id.as_str()).collect();
    assert_eq!(ids(&page.items), newest_first);
    let q = DecisionQuery {
        session_id: Some("sess-01".into()),
        limit: 3,
        offset: 2,
        ..DecisionQuery::default()
    };
    let page = store.list_decisions(&q).unwrap();
    let want: Vec<&str> = ids(model.expect(&q).into_iter().skip(2).take(3));
    assert_eq!(ids(&page.items), want);
}

/// The session order the SPEC asks for: `updated_at` descending, ties by id descending.
fn session_order(sessions: &mut [SessionSummary]) {
    sessions.sort_by(|a, b| (micros(&b.updated_at), &b.session_id).cmp(&(micros(&a.updated_at), &a.session_id)));
}

fn session_ids(sessions: &[SessionSummary]) -> Vec<&str> {
    sessions.iter().map(|s| s.session_id.as_str()).collect()
}

fn sessions_by_updated_at_then_id(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let mut expected: Vec<SessionSummary> = model
        .sessions()
        .iter()
        .map(|(id, records)| expected_summary(id, records))
        .collect();
    session_order(&mut expected);
    let tied = expected
        .windows(2)
        .filter(|w| w[0].updated_at == w[1].updated_at)
        .count();
    assert!(tied >= 3, "the seed should end with sessions tied on updated_at");
    let all = SessionQuery {
        limit: 500,
        ..SessionQuery::default()
    };
    let page = store.list_sessions(&all).unwrap();
    assert_eq!(session_ids(&page.items), session_ids(&expected));
    assert_eq!(page.total, u64::try_from(expected.len()).unwrap());
    for s in &page.items {
        let one = store.get_session(&s.session_id).unwrap().unwrap();
        assert_eq!(*s, one, "list_sessions and get_session disagree on `{}`", s.session_id);
    }
    let mut paged = Vec::new();
    for offset in (0..expected.len() + 3).step_by(3) {
        let q = SessionQuery {
            limit: 3,
            offset: u64::try_from(offset).unwrap(),
            ..SessionQuery::default()
        };
        let page = store.list_sessions(&q).unwrap();
        assert_eq!(page.total, u64::try_from(expected.len()).unwrap());
        assert_eq!((page.limit, page.offset), (q.limit, q.offset));
        paged.extend(page.items);
    }
    assert_eq!(
        session_ids(&paged),
        session_ids(&expected),
        "session pages do not cover each session once"
    );
}

fn session_filters(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let mut expected: BTreeMap<String, SessionSummary> = model
        .sessions()
        .iter()
        .map(|(id, records)| (id.clone(), expected_summary(id, records)))
        .collect();
    let changes = [
        ("sess-02", SessionState::Completed),
        ("sess-03", SessionState::Failed),
        ("sess-04", SessionState::Archived),
        ("sess_1", SessionState::Completed),
    ];
    for (id, state) in changes {
        let update = SessionUpdate {
            session_id: id.to_owned(),
            state: Some(state),
            ..SessionUpdate::default()
        };
        let after = store.put_session(&update).unwrap();
        let e = expected.get_mut(id).unwrap();
        e.state = state;
        e.updated_at = after.updated_at;
    }
    let new = SessionUpdate {
        session_id: "created-empty".to_owned(),
        state: Some(SessionState::Failed),
        agent_id: Some("codex".to_owned()),
        repository: Some("acme/new".to_owned()),
        policy_pack: Some("strict".to_owned()),
        ..SessionUpdate::default()
    };
    let created = store.put_session(&new).unwrap();
    expected.insert(created.session_id.clone(), created);
    let mut queries: Vec<SessionQuery> = Vec::new();
    let values = |f: fn(&SessionSummary) -> String| -> BTreeSet<String> {
        expected
            .values()
            .map(f)
            .chain(["nobody".to_owned(), "%".to_owned()])
            .collect()
    };
    for v in values(|s| s.agent_id.clone()) {
        queries.push(SessionQuery {
            agent_id: Some(v),
            ..SessionQuery::default()
        });
    }
    for v in values(|s| s.repository.clone()) {
        queries.push(SessionQuery {
            repository: Some(v),
            ..SessionQuery::default()
        });
    }
    for v in values(|s| s.policy_pack.clone()) {
        queries.push(SessionQuery {
            policy_pack: Some(v),
            ..SessionQuery::default()
        });
    }
    for v in SessionState::ALL {
        queries.push(SessionQuery {
            state: Some(v),
            ..SessionQuery::default()
        });
    }
    queries.push(SessionQuery {
        agent_id: Some("codex".into()),
        state: Some(SessionState::Failed),
        ..SessionQuery::default()
    });
    for mut q in queries {
        q.limit = 500;
        let mut want: Vec<SessionSummary> = expected
            .values()
            .filter(|s| {
                q.agent_id.as_ref().is_none_or(|v| *v == s.agent_id)
                    && q.repository.as_ref().is_none_or(|v| *v == s.repository)
                    && q.policy_pack.as_ref().is_none_or(|v| *v == s.policy_pack)
                    && q.state.is_none_or(|v| v == s.state)
            })
            .cloned()
            .collect();
        session_order(&mut want);
        let page = store.list_sessions(&q).unwrap();
        assert_eq!(session_ids(&page.items), session_ids(&want), "sessions for {q:?}");
        assert_eq!(page.total, u64::try_from(want.len()).unwrap(), "total for {q:?}");
        for s in &page.items {
            assert_eq!(s.state, expected[&s.session_id].state, "state of `{}`", s.session_id);
        }
    }
}

/// A few filters the paging tests walk: none, a session, an outcome, a time window.
fn paging_filters(model: &Model) -> Vec<DecisionQuery> {
    let mid = micros(&model.records[model.records.len() / 2].timestamp);
    vec![
        DecisionQuery::default(),
        DecisionQuery {
            session_id: Some("sess-01".into()),
            ..DecisionQuery::default()
        },
        DecisionQuery {
            decision: Some(Outcome::Block),
            ..DecisionQuery::default()
        },
        DecisionQuery {
            since_micros: Some(mid),
            ..DecisionQuery::default()
        },
        DecisionQuery {
            agent_id: Some("nobody".into()),
            ..DecisionQuery::default()
        },
    ]
}

/// Page sizes to walk a result of `n` rows with: tiny, odd, exact divisors, all, more than all.
fn page_sizes(n: usize) -> Vec<u32> {
    let mut sizes: BTreeSet<u32> = [1, 7, 50, 500].into_iter().collect();
    if n > 0 {
        let n = u32::try_from(n).unwrap();
        sizes.insert(n);
        if n % 2 == 0 {
            sizes.insert(n / 2);
        }
    }
    sizes.into_iter().collect()
}

fn offset_paging_covers_everything_once(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    for filter in paging_filters(&model) {
        let want = ids(model.expect(&filter));
        for limit in page_sizes(want.len()) {
            let mut got: Vec<String> = Vec::new();
            let mut offset = 0u64;
            loop {
                let q = DecisionQuery {
                    limit,
                    offset,
                    ..filter.clone()
                };
                let page = store.list_decisions(&q).unwrap();
                assert_eq!((page.limit, page.offset), (limit, offset), "page echo for {q:?}");
                assert_eq!(page.total, u64::try_from(want.len()).unwrap(), "total for {q:?}");
                let remaining = want.len().saturating_sub(usize::try_from(offset).unwrap());
                assert_eq!(page.items.len(), remaining.min(limit as usize), "page length for {q:?}");
                if page.items.is_empty() {
                    break;
                }
                got.extend(page.items.iter().map(|r| r.decision_id.clone()));
                offset += u64::from(limit);
            }
            assert_eq!(got, want, "offset pages of {limit} for {filter:?}");
        }
    }
}

fn cursor_paging_covers_everything_once(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    for filter in paging_filters(&model) {
        let want = ids(model.expect(&filter));
        for limit in page_sizes(want.len()) {
            let mut got: Vec<String> = Vec::new();
            let mut q = DecisionQuery {
                limit,
                ..filter.clone()
            };
            let mut pages = 0;
            loop {
                let page = store.list_decisions(&q).unwrap();
                pages += 1;
                assert!(pages <= want.len() + 1, "cursor paging does not end for {filter:?}");
                assert_eq!(page.total, u64::try_from(want.len()).unwrap(), "total for {q:?}");
                got.extend(page.items.iter().map(|r| r.decision_id.clone()));
                match page.next_cursor {
                    Some(cursor) => {
                        assert_eq!(
                            page.items.len(),
                            limit as usize,
                            "a short page before the last for {q:?}"
                        );
                        assert!(got.len() < want.len(), "`next_cursor` after the last row for {q:?}");
                        q.before_sequence = Some(decode_cursor(&cursor).unwrap());
                        // With a cursor, the offset is ignored.
                        q.offset = 3;
                    }
                    None => break,
                }
            }
            assert_eq!(got, want, "cursor pages of {limit} for {filter:?}");
        }
    }
}

fn totals_ignore_paging(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    for filter in paging_filters(&model) {
        let n = model.expect(&filter).len();
        let total = u64::try_from(n).unwrap();
        for (limit, offset) in [(1, 0), (5, 3), (500, 0), (10, total), (10, total + 10)] {
            let q = DecisionQuery {
                limit,
                offset,
                ..filter.clone()
            };
            let page = store.list_decisions(&q).unwrap();
            assert_eq!(page.total, total, "total for {q:?}");
        }
        if let Some(r) = model.expect(&filter).get(n / 2) {
            let q = DecisionQuery {
                limit: 2,
                before_sequence: r.sequence,
                ..filter.clone()
            };
            assert_eq!(
                store.list_decisions(&q).unwrap().total,
                total,
                "total with a cursor for {q:?}"
            );
        }
    }
    let sessions = store
        .list_sessions(&SessionQuery {
            limit: 1,
            offset: 2,
            ..SessionQuery::default()
        })
        .unwrap();
    assert_eq!(sessions.total, u64::try_from(model.sessions().len()).unwrap());
}

fn session_summaries_match_decisions(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let sessions = model.sessions();
    for (id, records) in &sessions {
        let summary = store.get_session(id).unwrap().unwrap();
        assert_summary(&summary, &expected_summary(id, records), "get_session");
        assert_eq!(
            micros(&summary.started_at),
            micros(&records[0].timestamp),
            "`started_at` of `{id}` is not its first decision's timestamp"
        );
        assert_eq!(
            micros(&summary.updated_at),
            micros(&records.last().unwrap().timestamp),
            "`updated_at` of `{id}` is not its last decision's timestamp"
        );
        assert_eq!(summary.state, SessionState::Active);
        let outcomes: Vec<Outcome> = summary.outcome_counts.keys().copied().collect();
        assert_eq!(outcomes, Outcome::ALL.to_vec(), "all six outcomes, zeros included");
    }
    let all = store.all_sessions().unwrap();
    let listed: BTreeSet<&str> = all.iter().map(|s| s.session_id.as_str()).collect();
    let wanted: BTreeSet<&str> = sessions.keys().map(String::as_str).collect();
    assert_eq!(listed, wanted, "all_sessions");
    for s in &all {
        assert_eq!(
            Some(s),
            store.get_session(&s.session_id).unwrap().as_ref(),
            "all_sessions vs get_session"
        );
    }
}

fn summary_advances_with_each_append(t: &TestStore) {
    let store = t.store();
    let mut recorder = Recorder::new();
    let targets = ["ls", "rm -rf /", "printenv", "rm -rf build", "cat .env", "cargo build"];
    let mut previous: Option<SessionSummary> = None;
    let mut appended: Vec<DecisionRecord> = Vec::new();
    for (i, target) in targets.iter().cycle().take(14).enumerate() {
        let mut action = Action::new(ActionType::ExecuteCommand, *target);
        action.session_id = Some("growing".into());
        action.agent_id = Some("claude-code".into());
        action.repository = Some("acme/payments".into());
        let mut record = recorder.record(&action);
        if i % 3 == 0 {
            record.evidence_refs.push(format!("ticket://SEC-{i}"));
        }
        let stored = append(store, record);
        appended.push(stored.clone());
        let now = store.get_session("growing").unwrap().unwrap();
        let chain: Vec<&DecisionRecord> = appended.iter().collect();
        assert_summary(
            &now,
            &expected_summary("growing", &chain),
            &format!("after append {}", i + 1),
        );
        assert_eq!(now.head_hash, stored.record_hash);
        assert_eq!(
            micros(&now.started_at),
            micros(&appended[0].timestamp),
            "started_at is not the first decision's"
        );
        assert_eq!(
            micros(&now.updated_at),
            micros(&stored.timestamp),
            "updated_at is not the last decision's"
        );
        if let Some(before) = &previous {
            assert!(
                micros(&now.updated_at) > micros(&before.updated_at),
                "updated_at did not advance: {} then {}",
                before.updated_at,
                now.updated_at
            );
            assert_eq!(now.started_at, before.started_at, "started_at moved");
            assert_eq!(
                now.evidence_refs[..before.evidence_refs.len()],
                before.evidence_refs[..],
                "refs rewritten"
            );
            assert_eq!(
                now.evidence_refs.len(),
                before.evidence_refs.len() + stored.evidence_refs.len(),
                "refs did not grow by the record's refs"
            );
            assert_eq!(now.decision_count, before.decision_count + 1);
        }
        previous = Some(now);
    }
}

/// A record carrying fields this version does not know.
fn record_with_unknown_fields(recorder: &mut Recorder, session: &str) -> DecisionRecord {
    let mut action = Action::new(ActionType::ReadFile, ".env");
    action.session_id = Some(session.to_owned());
    let mut record = recorder.record(&action);
    record.extra.insert(
        "x_vendor".into(),
        serde_json::json!({"ticket": "SEC-42", "labels": ["a", "b"], "nested": {"n": 7, "ok": true, "none": null}}),
    );
    record
        .extra
        .insert("zz_note".into(), serde_json::json!("kept as it was"));
    record
}

fn unknown_decision_fields_survive(t: &TestStore) {
    let store = t.store();
    let mut recorder = Recorder::new();
    append(store, recorder.record(&Action::new(ActionType::ExecuteCommand, "ls")));
    let stored = append(store, record_with_unknown_fields(&mut recorder, "local"));
    assert_eq!(stored.extra["zz_note"], "kept as it was");
    let read = store.get_decision(&stored.decision_id).unwrap().unwrap();
    assert_same_records(
        std::slice::from_ref(&read),
        std::slice::from_ref(&stored),
        "get_decision",
    );
    assert_eq!(
        integrity::record_hash(&read),
        read.record_hash.clone().unwrap(),
        "the hash covers unknown fields"
    );
    let listed = store.list_decisions(&everything()).unwrap();
    let in_list = listed
        .items
        .iter()
        .find(|r| r.decision_id == stored.decision_id)
        .unwrap();
    assert_same_records(
        std::slice::from_ref(in_list),
        std::slice::from_ref(&stored),
        "list_decisions",
    );
    let timeline = store.session_decisions("local").unwrap();
    assert_same_records(&timeline[1..], std::slice::from_ref(&stored), "session_decisions");
    // The chain goes on from a record with unknown fields.
    let next = append(store, recorder.record(&Action::new(ActionType::ExecuteCommand, "pwd")));
    assert_eq!(next.prev_hash, stored.record_hash);
}

fn unknown_summary_fields_survive_appends(t: &TestStore) {
    let store = t.store();
    let mut summary = SessionSummary::new("with-extra", "2025-01-01T00:00:00.000000Z");
    summary
        .extra
        .insert("x_owner".into(), serde_json::json!({"team": "payments", "pager": 3}));
    store.import(&[summary], &[]).unwrap();
    let read = store.get_session("with-extra").unwrap().unwrap();
    assert_eq!(
        read.extra.get("x_owner"),
        Some(&serde_json::json!({"team": "payments", "pager": 3}))
    );
    let mut recorder = Recorder::new();
    let mut action = Action::new(ActionType::ExecuteCommand, "rm -rf /");
    action.session_id = Some("with-extra".into());
    append(store, recorder.record(&action));
    let after_append = store.get_session("with-extra").unwrap().unwrap();
    assert_eq!(after_append.decision_count, 1);
    assert_eq!(
        after_append.extra, read.extra,
        "an append dropped the summary's unknown fields"
    );
    let update = SessionUpdate {
        session_id: "with-extra".into(),
        state: Some(SessionState::Completed),
        ..SessionUpdate::default()
    };
    store.put_session(&update).unwrap();
    let after_state = store.get_session("with-extra").unwrap().unwrap();
    assert_eq!(
        after_state.extra, read.extra,
        "a state change dropped the summary's unknown fields"
    );
}

fn chains_intact(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let stored = check_store(store, store.backend());
    assert_same_records(&stored, &model.records, "stored vs appended");
    for (id, records) in model.sessions() {
        assert_eq!(
            records[0].prev_hash, None,
            "the first decision of `{id}` links to something"
        );
        let summary = store.get_session(&id).unwrap().unwrap();
        assert_eq!(summary.head_hash, records.last().unwrap().record_hash, "head of `{id}`");
    }
}

fn concurrent_appends_in_one_process(t: &TestStore) {
    let store = t.store();
    let threads = 6;
    let per_thread = 20;
    let acked: Vec<DecisionRecord> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let mut recorder = Recorder::new();
                    let targets = ["ls", "rm -rf /", "cat .env", "printenv"];
                    (0..per_thread)
                        .map(|i| {
                            let mut action = Action::new(ActionType::ExecuteCommand, targets[i % targets.len()]);
                            action.session_id = Some(format!("shared-{}", (thread + i) % 3));
                            append(store, recorder.record(&action))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let stored = check_store(store, "after concurrent appends");
    assert_eq!(stored.len(), threads * per_thread);
    let mut acked = acked;
    acked.sort_by_key(|r| r.sequence);
    assert_same_records(&stored, &acked, "stored vs acknowledged");
}

fn put_session_creates_and_changes_state(t: &TestStore) {
    let store = t.store();
    let update = SessionUpdate {
        session_id: "planned".into(),
        agent_id: Some("codex".into()),
        actor: Some("dev@acme.example".into()),
        repository: Some("acme/web".into()),
        policy_pack: Some("strict".into()),
        state: None,
    };
    let created = store.put_session(&update).unwrap();
    assert_eq!(created.session_id, "planned");
    assert_eq!(
        (
            created.agent_id.as_str(),
            created.actor.as_str(),
            created.repository.as_str(),
            created.policy_pack.as_str()
        ),
        ("codex", "dev@acme.example", "acme/web", "strict")
    );
    assert_eq!(created.state, SessionState::Active);
    assert_eq!(
        (
            created.decision_count,
            created.blocked_count,
            created.approval_required_count
        ),
        (0, 0, 0)
    );
    assert_eq!(
        created.outcome_counts,
        Outcome::ALL.into_iter().map(|o| (o, 0)).collect()
    );
    assert_eq!(
        (
            created.max_severity,
            created.last_decision_id.clone(),
            created.head_hash.clone()
        ),
        (None, None, None)
    );
    assert!(created.evidence_refs.is_empty());
    assert_eq!(store.get_session("planned").unwrap(), Some(created.clone()));
    let done = SessionUpdate {
        session_id: "closed-at-once".into(),
        state: Some(SessionState::Completed),
        ..SessionUpdate::default()
    };
    assert_eq!(store.put_session(&done).unwrap().state, SessionState::Completed);
    assert_eq!(store.all_sessions().unwrap().len(), 2);

    let model = seed(store);
    let before = store.get_session("sess-01").unwrap().unwrap();
    let change = SessionUpdate {
        session_id: "sess-01".into(),
        state: Some(SessionState::Failed),
        agent_id: Some("intruder".into()),
        ..SessionUpdate::default()
    };
    let after = store.put_session(&change).unwrap();
    assert_eq!(after.state, SessionState::Failed);
    assert_eq!(store.get_session("sess-01").unwrap(), Some(after.clone()));
    assert_eq!(
        after.agent_id, before.agent_id,
        "an existing session's agent was taken from the client"
    );
    let mut unchanged = after.clone();
    unchanged.state = before.state;
    unchanged.updated_at = before.updated_at.clone();
    assert_eq!(unchanged, before, "a state change touched the summary's counts");
    assert_eq!(check_store(store, "after state changes").len(), model.records.len());

    // A created session then receives decisions like any other.
    let mut recorder = Recorder::new();
    let mut action = Action::new(ActionType::ExecuteCommand, "rm -rf /");
    action.session_id = Some("planned".into());
    let first = append(store, recorder.record(&action));
    assert_eq!(first.prev_hash, None);
    let s = store.get_session("planned").unwrap().unwrap();
    assert_eq!((s.decision_count, s.blocked_count), (1, 1));
    assert_eq!(s.head_hash, first.record_hash);
    assert_eq!(
        s.started_at, created.started_at,
        "a created session started when it was created"
    );
}

fn unknown_ids_are_none(t: &TestStore) {
    let store = t.store();
    let check = |when: &str| {
        assert_eq!(
            store.get_decision("dec_01J0000000000000000000NONE").unwrap(),
            None,
            "{when}"
        );
        assert_eq!(store.get_decision("").unwrap(), None, "{when}");
        assert_eq!(store.get_session("no-such-session").unwrap(), None, "{when}");
        assert_eq!(store.get_session("sess_%").unwrap(), None, "{when}");
        assert!(store.session_decisions("no-such-session").unwrap().is_empty(), "{when}");
        let q = DecisionQuery {
            session_id: Some("no-such-session".into()),
            ..everything()
        };
        let page = store.list_decisions(&q).unwrap();
        assert!(
            page.items.is_empty() && page.total == 0 && page.next_cursor.is_none(),
            "{when}"
        );
    };
    check("empty store");
    seed(store);
    check("seeded store");
}

/// What a store holds, as an export: every session (by id) and every decision (by sequence).
fn export(store: &dyn ActivityStore) -> (Vec<SessionSummary>, Vec<DecisionRecord>) {
    let mut sessions = store.all_sessions().unwrap();
    sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    (sessions, all_decisions(store))
}

/// A store of another backend, seeded, plus a session with no decisions, one in another state
/// and a decision with unknown fields; `None` when that backend is skipped.
fn source_store(backend: Backend, target: &TestStore, test: &str) -> Option<TestStore> {
    let name = format!(
        "conformance::{}::{test} (source: {})",
        target.backend.name(),
        backend.name()
    );
    let source = helpers::fresh(backend, &name)?;
    let store = source.store();
    seed(store);
    let mut recorder = Recorder::new();
    append(store, record_with_unknown_fields(&mut recorder, "sess-05"));
    store
        .put_session(&SessionUpdate {
            session_id: "no-decisions-yet".into(),
            agent_id: Some("aider".into()),
            ..SessionUpdate::default()
        })
        .unwrap();
    store
        .put_session(&SessionUpdate {
            session_id: "sess-06".into(),
            state: Some(SessionState::Archived),
            ..SessionUpdate::default()
        })
        .unwrap();
    Some(source)
}

/// The backends to import from: the target's own first (another store of it), then the others.
fn sources(t: &TestStore) -> impl Iterator<Item = Backend> {
    let target = t.backend;
    std::iter::once(target).chain(Backend::ALL.into_iter().filter(move |b| *b != target))
}

fn import_is_idempotent_and_preserves_records(t: &TestStore) {
    for from in sources(t) {
        let Some(source) = source_store(from, t, "import_is_idempotent_and_preserves_records") else {
            continue;
        };
        let context = format!("import from {} into {}", from.name(), t.backend.name());
        let (sessions, decisions) = export(source.store());
        let target = helpers::fresh(t.backend, &context).unwrap();
        let store = target.store();
        let report = store.import(&sessions, &decisions).unwrap();
        assert_eq!(
            (
                report.sessions_imported,
                report.decisions_imported,
                report.sessions_skipped,
                report.decisions_skipped
            ),
            (
                u64::try_from(sessions.len()).unwrap(),
                u64::try_from(decisions.len()).unwrap(),
                0,
                0
            ),
            "{context}: first import"
        );
        let (sessions_after, decisions_after) = export(store);
        assert_same_records(&decisions_after, &decisions, &format!("{context}: list_decisions"));
        for d in &decisions {
            let read = store.get_decision(&d.decision_id).unwrap();
            assert!(read.is_some(), "{context}: `{}` missing", d.decision_id);
            assert_same_records(
                &[read.unwrap()],
                std::slice::from_ref(d),
                &format!("{context}: get_decision"),
            );
        }
        assert_eq!(sessions_after, sessions, "{context}: sessions changed in the import");
        check_store(store, &context);
        let again = store.import(&sessions, &decisions).unwrap();
        assert_eq!(
            (
                again.sessions_imported,
                again.decisions_imported,
                again.sessions_skipped,
                again.decisions_skipped
            ),
            (
                0,
                0,
                u64::try_from(sessions.len()).unwrap(),
                u64::try_from(decisions.len()).unwrap()
            ),
            "{context}: second import"
        );
        assert_eq!(
            export(store),
            (sessions, decisions),
            "{context}: the second import changed the store"
        );
    }
}

fn import_then_append_continues_the_log(t: &TestStore) {
    for from in sources(t) {
        let Some(source) = source_store(from, t, "import_then_append_continues_the_log") else {
            continue;
        };
        let context = format!("append after import from {} into {}", from.name(), t.backend.name());
        let (sessions, decisions) = export(source.store());
        let target = helpers::fresh(t.backend, &context).unwrap();
        let store = target.store();
        store.import(&sessions, &decisions).unwrap();
        let last = u64::try_from(decisions.len()).unwrap();
        let head = store.get_session("sess-01").unwrap().unwrap();
        let mut recorder = Recorder::new();
        let mut action = Action::new(ActionType::ExecuteCommand, "git push --force origin main");
        action.session_id = Some("sess-01".into());
        let next = append(store, recorder.record(&action));
        assert_eq!(next.sequence, Some(last + 1), "{context}: the sequence restarted");
        assert_eq!(next.prev_hash, head.head_hash, "{context}: the chain restarted");
        let after = store.get_session("sess-01").unwrap().unwrap();
        assert_eq!(after.decision_count, head.decision_count + 1, "{context}");
        action.session_id = Some("no-decisions-yet".into());
        let first = append(store, recorder.record(&action));
        assert_eq!(first.sequence, Some(last + 2), "{context}");
        assert_eq!(first.prev_hash, None, "{context}");
        check_store(store, &context);
    }
}

fn import_refuses_a_conflicting_record(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let original = &model.records[10];
    let mut altered = original.clone();
    altered.reason.push_str(" (altered)");
    integrity::seal(&mut altered, original.prev_hash.clone());
    match store.import(&[], std::slice::from_ref(&altered)) {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("same id, other hash: expected a conflict, got {other:?}"),
    }
    let mut same_sequence = Recorder::new().record(&Action::new(ActionType::ExecuteCommand, "ls"));
    same_sequence.sequence = original.sequence;
    integrity::seal(&mut same_sequence, None);
    match store.import(&[], std::slice::from_ref(&same_sequence)) {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("same sequence, other id: expected a conflict, got {other:?}"),
    }
    // All or nothing: a good record before the conflicting one is not kept either.
    let mut good = Recorder::new().record(&Action::new(ActionType::ExecuteCommand, "pwd"));
    good.session_id = "imported-alone".into();
    good.sequence = Some(u64::try_from(model.records.len()).unwrap() + 1);
    integrity::seal(&mut good, None);
    match store.import(&[], &[good.clone(), altered]) {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a good record then a conflicting one: expected a conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_decision(&good.decision_id).unwrap(),
        None,
        "a refused import kept part of itself"
    );
    assert_eq!(
        store.get_decision(&original.decision_id).unwrap().as_ref(),
        Some(original)
    );
    assert_eq!(store.get_decision(&same_sequence.decision_id).unwrap(), None);
    check_store(store, "after refused imports");
}

fn session_ties_order_by_id_bytes(t: &TestStore) {
    let store = t.store();
    let mut recorder = Recorder::new();
    // Byte order and a linguistic order (case and punctuation ignored first) disagree on these.
    let ids = ["sess_1", "sess-2", "sessX1", "Sess-b", "sess-a", "SESS-C"];
    let at = timestamp(helpers::SEED_START_MICROS);
    for id in ids {
        let mut action = Action::new(ActionType::ExecuteCommand, "ls");
        action.session_id = Some(id.to_owned());
        append(store, recorder.record_at(&action, &at));
    }
    let mut want: Vec<&str> = ids.to_vec();
    want.sort_unstable_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
    let page = store
        .list_sessions(&SessionQuery {
            limit: 50,
            ..SessionQuery::default()
        })
        .unwrap();
    assert_eq!(
        session_ids(&page.items),
        want,
        "ties are not ordered by id bytes, descending"
    );
    let mut paged = Vec::new();
    for offset in 0..6 {
        let q = SessionQuery {
            limit: 1,
            offset,
            ..SessionQuery::default()
        };
        paged.extend(store.list_sessions(&q).unwrap().items);
    }
    assert_eq!(session_ids(&paged), want, "pages of one do not follow the same order");
}

fn timestamps_compare_as_instants(t: &TestStore) {
    let store = t.store();
    let mut recorder = Recorder::new();
    // Written in other offsets; in instants: b (23:30Z) < a (23:45Z) < c (00:10Z).
    let cases = [
        ("a", "2026-01-01T00:45:00.000000+01:00"),
        ("b", "2025-12-31T23:30:00.000000Z"),
        ("c", "2025-12-31T19:10:00.000000-05:00"),
    ];
    let mut stored = Vec::new();
    for (session, at) in cases {
        let mut action = Action::new(ActionType::ReadFile, "README.md");
        action.session_id = Some(session.to_owned());
        stored.push(append(store, recorder.record_at(&action, at)));
    }
    let model = Model { records: stored };
    let edge = micros("2025-12-31T23:45:00Z");
    for q in [
        DecisionQuery {
            since_micros: Some(edge),
            ..everything()
        },
        DecisionQuery {
            until_micros: Some(edge),
            ..everything()
        },
        DecisionQuery {
            since_micros: Some(micros("2025-12-31T23:40:00Z")),
            until_micros: Some(micros("2026-01-01T00:00:00Z")),
            ..everything()
        },
    ] {
        assert_answers(store, &model, &q);
    }
    let page = store
        .list_sessions(&SessionQuery {
            limit: 50,
            ..SessionQuery::default()
        })
        .unwrap();
    assert_eq!(
        session_ids(&page.items),
        ["c", "a", "b"],
        "sessions are not ordered by instant"
    );
}

fn reads_are_consistent_during_appends(t: &TestStore) {
    let store = t.store();
    let writing = std::sync::atomic::AtomicBool::new(true);
    let problems = std::sync::Mutex::new(Vec::<String>::new());
    let note = |what: String| problems.lock().unwrap().push(what);
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..3)
            .map(|w| {
                scope.spawn(move || {
                    let mut recorder = Recorder::new();
                    for i in 0..40 {
                        let mut action = Action::new(ActionType::ExecuteCommand, ["ls", "rm -rf /"][i % 2]);
                        action.session_id = Some(format!("hot-{}", (w + i) % 2));
                        append(store, recorder.record(&action));
                    }
                })
            })
            .collect();
        for _ in 0..2 {
            scope.spawn(|| {
                while writing.load(std::sync::atomic::Ordering::Relaxed) {
                    // Every record carries exactly one evidence ref.
                    if let Some(s) = store.get_session("hot-0").unwrap() {
                        let outcomes: u64 = s.outcome_counts.values().sum();
                        if s.evidence_refs.len() as u64 != s.decision_count || outcomes != s.decision_count {
                            note(format!(
                                "get_session: {} decisions, {} outcomes, {} refs",
                                s.decision_count,
                                outcomes,
                                s.evidence_refs.len()
                            ));
                        }
                    }
                    // A page holds exactly what its total leaves after the offset; the tail page
                    // (usually empty) too.
                    let page = store.list_decisions(&everything()).unwrap();
                    for q in [
                        everything(),
                        DecisionQuery {
                            offset: page.total,
                            ..everything()
                        },
                    ] {
                        let page = store.list_decisions(&q).unwrap();
                        if page.items.len() as u64 != page.total.saturating_sub(q.offset).min(500) {
                            note(format!(
                                "list_decisions at offset {}: {} rows, total {}",
                                q.offset,
                                page.items.len(),
                                page.total
                            ));
                        }
                    }
                    let sessions = store
                        .list_sessions(&SessionQuery {
                            limit: 50,
                            ..SessionQuery::default()
                        })
                        .unwrap();
                    for s in store.all_sessions().unwrap() {
                        if s.evidence_refs.len() as u64 != s.decision_count {
                            note(format!(
                                "all_sessions: `{}` has {} decisions, {} refs",
                                s.session_id,
                                s.decision_count,
                                s.evidence_refs.len()
                            ));
                        }
                    }
                    for s in &sessions.items {
                        if s.evidence_refs.len() as u64 != s.decision_count {
                            note(format!(
                                "list_sessions: `{}` has {} decisions, {} refs",
                                s.session_id,
                                s.decision_count,
                                s.evidence_refs.len()
                            ));
                        }
                    }
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
    });
    let problems = problems.into_inner().unwrap();
    assert!(
        problems.is_empty(),
        "{} reads mixed two states, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(3)]
    );
    check_store(store, "after reads during appends");
}

fn a_bad_append_fails_alone(t: &TestStore) {
    let store = t.store();
    let mut recorder = Recorder::new();
    let first = append(store, recorder.record(&Action::new(ActionType::ExecuteCommand, "ls")));
    let mut bad_time = recorder.record(&Action::new(ActionType::ExecuteCommand, "ls"));
    bad_time.timestamp = "yesterday".into();
    match store.append(bad_time) {
        Err(StoreError::Invalid(_)) => {}
        other => panic!("a bad timestamp: expected Invalid, got {other:?}"),
    }
    let mut repeated = recorder.record(&Action::new(ActionType::ExecuteCommand, "rm -rf /"));
    repeated.decision_id = first.decision_id.clone();
    match store.append(repeated) {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a repeated decision id: expected Conflict, got {other:?}"),
    }
    let summary = store.get_session("local").unwrap().unwrap();
    assert_eq!(
        (summary.decision_count, summary.blocked_count),
        (1, 0),
        "a failed append was counted"
    );
    assert_eq!(summary.head_hash, first.record_hash);
    let next = append(store, recorder.record(&Action::new(ActionType::ExecuteCommand, "pwd")));
    assert_eq!(next.sequence, Some(2), "a failed append took a sequence");
    assert_eq!(next.prev_hash, first.record_hash);
    check_store(store, "after failed appends");
}

fn observer_sees_every_append(t: &TestStore) {
    /// Adds up what it is told.
    #[derive(Default)]
    struct Tally {
        appends: AtomicUsize,
        groups: AtomicUsize,
        empty: AtomicUsize,
    }
    impl StoreObserver for Tally {
        fn group_committed(&self, batch_size: usize, _elapsed: Duration) {
            self.appends.fetch_add(batch_size, Ordering::SeqCst);
            self.groups.fetch_add(1, Ordering::SeqCst);
            if batch_size == 0 {
                self.empty.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let store = t.store();
    let first = Arc::new(Tally::default());
    let second = Arc::new(Tally::default());
    store.observe(first.clone());
    store.observe(second.clone());
    let threads = 8;
    let per_thread = 15;
    let made: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let mut recorder = Recorder::new();
                    let mut made = 0;
                    for i in 0..per_thread {
                        let mut action = Action::new(ActionType::ExecuteCommand, "ls");
                        action.session_id = Some(format!("observed-{}", (thread + i) % 4));
                        let record = recorder.record(&action);
                        let id = record.decision_id.clone();
                        append(store, record);
                        made += 1;
                        if i % 5 == 0 {
                            // Neither a repeated id nor a session change is an append made.
                            let mut repeated = recorder.record(&action);
                            repeated.decision_id = id;
                            assert!(matches!(store.append(repeated), Err(StoreError::Conflict(_))));
                            store
                                .put_session(&SessionUpdate {
                                    session_id: format!("observed-{thread}"),
                                    ..SessionUpdate::default()
                                })
                                .unwrap();
                        }
                    }
                    made
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(made, threads * per_thread);
    assert_eq!(
        first.appends.load(Ordering::SeqCst),
        made,
        "batch sizes add up to the appends made"
    );
    let groups = first.groups.load(Ordering::SeqCst);
    assert!((1..=made).contains(&groups), "{groups} groups for {made} appends");
    assert_eq!(
        first.empty.load(Ordering::SeqCst),
        0,
        "a group of no appends was reported"
    );
    assert_eq!(
        second.groups.load(Ordering::SeqCst),
        0,
        "the second observer was not ignored"
    );
    check_store(store, "after observed appends");
}

/// One session as another store would export it: `count` sealed, chained decisions from
/// `first_sequence` on, each with `refs` evidence refs, and the summary they imply.
fn exported_session(
    session: &str,
    count: usize,
    refs: usize,
    first_sequence: u64,
) -> (SessionSummary, Vec<DecisionRecord>) {
    let mut recorder = Recorder::new();
    let mut decisions: Vec<DecisionRecord> = Vec::new();
    for i in 0..count {
        let mut action = Action::new(ActionType::ExecuteCommand, ["ls", "cat .env", "rm -rf /"][i % 3]);
        action.session_id = Some(session.to_owned());
        let mut record = recorder.record_at(
            &action,
            &timestamp(helpers::SEED_START_MICROS + i64::try_from(i).unwrap()),
        );
        for n in 1..refs {
            record.evidence_refs.push(format!("ticket://{session}/{i}/{n}"));
        }
        record.sequence = Some(first_sequence + u64::try_from(i).unwrap());
        integrity::seal(&mut record, decisions.last().and_then(|d| d.record_hash.clone()));
        decisions.push(record);
    }
    let summary = expected_summary(session, &decisions.iter().collect::<Vec<_>>());
    (summary, decisions)
}

fn import_then_append_keeps_evidence_ref_order(t: &TestStore) {
    let store = t.store();
    let (summary, decisions) = exported_session("long", 8, 3, 1);
    store.import(std::slice::from_ref(&summary), &decisions).unwrap();
    assert_eq!(
        store.get_session("long").unwrap().unwrap().evidence_refs,
        summary.evidence_refs,
        "imported refs"
    );
    let mut action = Action::new(ActionType::ExecuteCommand, "ls");
    action.session_id = Some("long".into());
    let next = append(store, Recorder::new().record(&action));
    assert_eq!(next.sequence, Some(9));
    let mut want = summary.evidence_refs.clone();
    want.extend(next.evidence_refs.iter().cloned());
    let after = store.get_session("long").unwrap().unwrap();
    assert!(
        after.evidence_refs == want,
        "the new ref `{}` is not last: it is at position {:?} of {}",
        next.evidence_refs[0],
        after.evidence_refs.iter().position(|r| *r == next.evidence_refs[0]),
        after.evidence_refs.len()
    );
}

fn hostile_strings_round_trip(t: &TestStore) {
    let store = t.store();
    let mut recorder = Recorder::new();
    // A NUL character cannot be stored by every backend, so every backend refuses it alike.
    let mut nul = Action::new(ActionType::ExecuteCommand, "echo nul");
    nul.session_id = Some("nul\u{0}inside".to_owned());
    match store.append(recorder.record(&nul)) {
        Err(StoreError::Invalid(m)) => assert!(m.contains("NUL"), "{m}"),
        other => panic!("a NUL in session_id: expected Invalid, got {other:?}"),
    }
    let hostile = [
        "quote ' and \" and \\ backslash",
        "line\nbreak\ttab",
        "wild_%*?[x]",
        "ünï-cødé 🚀 ☃",
        "'; DROP TABLE activity_decisions; --",
        "",
    ];
    let mut stored = Vec::new();
    for (i, value) in hostile.iter().enumerate() {
        let mut action = Action::new(ActionType::ExecuteCommand, format!("echo {value}"));
        action.session_id = Some((*value).to_owned());
        action.agent_id = Some(format!("agent {value}"));
        action.repository = Some(format!("acme/{value}"));
        action.correlation_id = Some(format!("corr {i} {value}"));
        let record = recorder.record(&action);
        match store.append(record.clone()) {
            Ok(r) => stored.push(r),
            Err(e) => panic!("append with session id {value:?} failed: {e}"),
        }
    }
    let model = Model { records: stored };
    for value in hostile {
        assert_answers(
            store,
            &model,
            &DecisionQuery {
                session_id: Some(value.to_owned()),
                ..everything()
            },
        );
        assert_answers(
            store,
            &model,
            &DecisionQuery {
                agent_id: Some(format!("agent {value}")),
                repository: Some(format!("acme/{value}")),
                ..everything()
            },
        );
        let summary = store.get_session(value).unwrap();
        assert_eq!(summary.map(|s| s.decision_count), Some(1), "session {value:?}");
        assert_eq!(
            store.session_decisions(value).unwrap().len(),
            1,
            "timeline of {value:?}"
        );
    }
    check_store(store, "hostile strings");
}

fn extreme_paging_values_are_answered(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let total = u64::try_from(model.records.len()).unwrap();
    let cases = [
        (
            "offset u64::MAX",
            DecisionQuery {
                offset: u64::MAX,
                ..everything()
            },
            0,
        ),
        (
            "offset i64::MAX",
            DecisionQuery {
                offset: u64::try_from(i64::MAX).unwrap(),
                ..everything()
            },
            0,
        ),
        (
            "cursor u64::MAX",
            DecisionQuery {
                before_sequence: Some(u64::MAX),
                ..everything()
            },
            total,
        ),
        (
            "cursor 0",
            DecisionQuery {
                before_sequence: Some(0),
                ..everything()
            },
            0,
        ),
        (
            "cursor 1",
            DecisionQuery {
                before_sequence: Some(1),
                ..everything()
            },
            0,
        ),
    ];
    for (what, q, rows) in cases {
        match store.list_decisions(&q) {
            Ok(page) => {
                assert_eq!(u64::try_from(page.items.len()).unwrap(), rows, "{what}: rows");
                assert_eq!(page.total, total, "{what}: total");
                assert_eq!(page.next_cursor, None, "{what}: cursor");
            }
            Err(StoreError::Invalid(_)) => {}
            Err(e) => panic!("{what}: a client's paging value caused an internal error: {e}"),
        }
    }
    let q = SessionQuery {
        limit: 50,
        offset: u64::MAX,
        ..SessionQuery::default()
    };
    match store.list_sessions(&q) {
        Ok(page) => assert!(page.items.is_empty(), "sessions at offset u64::MAX"),
        Err(StoreError::Invalid(_)) => {}
        Err(e) => panic!("sessions at offset u64::MAX: a client's paging value caused an internal error: {e}"),
    }
}

fn scan_streams_every_record_in_sequence_order(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let mut scanned = Vec::new();
    store
        .scan_decisions(1..=u64::MAX, &mut |d| {
            let record: DecisionRecord = serde_json::from_str(&d.record).unwrap();
            assert_eq!(record.sequence, Some(d.sequence), "filed under another sequence");
            if let Some(c) = &d.columns {
                // The SQL stores keep the sealed form, which a verifier hashes as it is.
                assert_eq!(
                    d.record,
                    cavra_core::integrity::sealed_json(&record),
                    "not in sealed form"
                );
                assert_eq!(c.decision_id, record.decision_id);
                assert_eq!(c.session_id, record.session_id);
                assert_eq!(c.decision, record.decision.as_str());
                assert_eq!(c.severity, record.severity.as_str());
                assert_eq!(c.action_type, record.action_type.as_str());
                assert_eq!(c.ts_us, micros(&record.timestamp));
            }
            scanned.push(record);
            Ok(())
        })
        .unwrap();
    let sequences: Vec<u64> = scanned.iter().map(|r| r.sequence.unwrap()).collect();
    assert_eq!(sequences, (1..=model.records.len() as u64).collect::<Vec<_>>());
    assert_same_records(&scanned, &model.records, "scanned vs appended");
    // A range scans exactly its sequences.
    let mut ranged = Vec::new();
    store
        .scan_decisions(2..=4, &mut |d| {
            ranged.push(d.sequence);
            Ok(())
        })
        .unwrap();
    assert_eq!(ranged, [2, 3, 4]);
}

fn log_heads_match_the_summaries(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let heads = store.log_heads().unwrap();
    assert_eq!(heads.sequence, model.records.len() as u64);
    assert_eq!(heads.decision_count, model.records.len() as u64);
    let sessions = store.all_sessions().unwrap();
    assert_eq!(heads.sessions.len(), sessions.len());
    for (head, summary) in heads.sessions.iter().zip(&sessions) {
        assert_eq!(head.session_id, summary.session_id);
        assert_eq!(head.decision_count, summary.decision_count);
        assert_eq!(head.head_hash, summary.head_hash);
        assert_eq!(head.last_decision_id, summary.last_decision_id);
        assert!(head.evidence_refs.is_empty(), "heads carry no evidence refs");
    }
}

fn checkpoints_save_and_latest(t: &TestStore) {
    let store = t.store();
    assert_eq!(store.latest_checkpoint().unwrap(), None);
    let row = |id: &str, at: &str| cavra_store::CheckpointRow {
        checkpoint_id: id.to_owned(),
        created_at: at.to_owned(),
        key_id: "ed25519:0123456789abcdef".to_owned(),
        session_count: 3,
        decision_count: 42,
        payload: "{\"b\": 1,  \"a\": [\"\\u00e9\"]}".to_owned(),
        signature: "ab".repeat(64),
    };
    let first = row("ckpt_1", "2026-01-01T00:00:00.000000Z");
    let second = row("ckpt_2", "2026-01-01T00:00:01.000000Z");
    store.save_checkpoint(&second).unwrap();
    store.save_checkpoint(&first).unwrap();
    assert_eq!(store.latest_checkpoint().unwrap(), Some(second.clone()));
    let mut all = Vec::new();
    store
        .scan_checkpoints(&mut |row| {
            all.push(row);
            Ok(())
        })
        .unwrap();
    assert_eq!(all, [first, second], "every checkpoint, oldest first");
    // Appends after a checkpoint keep it.
    seed(store);
    assert_eq!(store.latest_checkpoint().unwrap().unwrap().checkpoint_id, "ckpt_2");
}

fn tool_outcomes_join_their_decision(t: &TestStore) {
    let store = t.store();
    let mut recorder = Recorder::new();
    let with_tool_use = |session: &str, tool_use: &str| {
        let mut a = Action::new(ActionType::ExecuteCommand, "cargo test");
        a.session_id = Some(session.to_owned());
        a.tool_use_id = Some(tool_use.to_owned());
        a
    };
    let report = |session: &str, tool_use: &str, status| OutcomeReport {
        session_id: session.to_owned(),
        tool_use_id: tool_use.to_owned(),
        status,
    };
    append(store, recorder.record(&with_tool_use("s-1", "toolu_1")));
    let latest = append(store, recorder.record(&with_tool_use("s-1", "toolu_1")));
    let other = append(store, recorder.record(&with_tool_use("s-2", "toolu_1")));
    let at = "2026-11-26T00:00:00.000001Z";
    let first = store
        .record_outcome(&report("s-1", "toolu_1", ToolStatus::Failed), at)
        .unwrap()
        .expect("the decision is found");
    assert_eq!(first.decision_id, latest.decision_id);
    assert_eq!((first.status, first.recorded_at.as_str()), (ToolStatus::Failed, at));
    let again = store
        .record_outcome(
            &report("s-1", "toolu_1", ToolStatus::Succeeded),
            "2026-11-26T00:00:01.000000Z",
        )
        .unwrap();
    assert_eq!(again.as_ref(), Some(&first), "the first outcome stays");
    assert_eq!(store.get_outcome(&latest.decision_id).unwrap(), Some(first));
    assert_eq!(store.get_outcome(&other.decision_id).unwrap(), None);
    assert_eq!(
        store
            .record_outcome(&report("s-1", "toolu_none", ToolStatus::Succeeded), at)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .record_outcome(&report("s-3", "toolu_1", ToolStatus::Succeeded), at)
            .unwrap(),
        None
    );
    assert_eq!(store.get_outcome("dec_01J0000000000000000000NONE").unwrap(), None);
    // Outcomes are beside the chain, never in it.
    check_store(store, "after outcomes");
}

/// The overview a store should answer for `range`, computed from the records one by one.
fn expected_overview(records: &[DecisionRecord], range: HourRange) -> ActivityOverview {
    let mut hours: BTreeMap<(i64, Outcome), u64> = BTreeMap::new();
    let mut ranked: BTreeMap<(OverviewDimension, String, Outcome), u64> = BTreeMap::new();
    for r in records {
        let hour = HourRange::hour_of(micros(&r.timestamp));
        if hour < range.from_hour || hour >= range.to_hour {
            continue;
        }
        *hours.entry((hour, r.decision)).or_default() += 1;
        if r.decision != Outcome::Allow {
            for (dimension, name) in [
                (OverviewDimension::Repository, &r.repository),
                (OverviewDimension::Agent, &r.agent_id),
                (OverviewDimension::Rule, &r.rule_id),
            ] {
                *ranked.entry((dimension, name.clone(), r.decision)).or_default() += 1;
            }
        }
        if r.decision == Outcome::Block {
            *ranked
                .entry((OverviewDimension::BlockedSession, r.session_id.clone(), r.decision))
                .or_default() += 1;
        }
    }
    ActivityOverview {
        hours: hours
            .into_iter()
            .map(|((hour, outcome), count)| HourCount { hour, outcome, count })
            .collect(),
        ranked: ranked
            .into_iter()
            .map(|((dimension, name, outcome), count)| RankedCount {
                dimension,
                name,
                outcome,
                count,
            })
            .collect(),
    }
}

/// Ranges over the seed's hours: everything, each single hour, the tail, and an empty range.
fn overview_ranges(records: &[DecisionRecord]) -> Vec<HourRange> {
    let first = HourRange::hour_of(micros(&records[0].timestamp));
    let last = HourRange::hour_of(micros(&records[records.len() - 1].timestamp));
    let mut ranges = vec![
        HourRange {
            from_hour: 0,
            to_hour: last + 1000,
        },
        HourRange {
            from_hour: first + 1,
            to_hour: last + 1,
        },
        HourRange {
            from_hour: last + 1,
            to_hour: last + 2,
        },
    ];
    ranges.extend((first..=last).map(|h| HourRange {
        from_hour: h,
        to_hour: h + 1,
    }));
    ranges
}

fn overview_counts_match_the_records(t: &TestStore) {
    let store = t.store();
    let model = seed(store);
    let ranges = overview_ranges(&model.records);
    for range in ranges {
        let got = store.activity_overview(range).unwrap();
        assert_eq!(got, expected_overview(&model.records, range), "overview for {range:?}");
    }
    let everything = store
        .activity_overview(HourRange {
            from_hour: 0,
            to_hour: i64::from(u32::MAX),
        })
        .unwrap();
    assert!(
        everything
            .ranked
            .iter()
            .any(|r| r.dimension == OverviewDimension::BlockedSession)
    );
}

fn overview_counts_imported_decisions(t: &TestStore) {
    let source = helpers::fresh(Backend::Json, "overview_import_source").unwrap();
    let model = seed(source.store());
    let sessions = source.store().all_sessions().unwrap();
    t.store().import(&sessions, &model.records).unwrap();
    let range = HourRange {
        from_hour: 0,
        to_hour: i64::from(u32::MAX),
    };
    assert_eq!(
        t.store().activity_overview(range).unwrap(),
        expected_overview(&model.records, range)
    );
}

/// Appends about five days of decisions, starting mid-morning, with gaps from none to three
/// hours: every day boundary falls between records, and some hours and days are empty.
fn seed_days(store: &dyn ActivityStore) -> Vec<DecisionRecord> {
    const HOUR: i64 = 3_600_000_000;
    let mut rng = Rng::new(0xda11_c0de);
    let mut recorder = Recorder::new();
    let mut now = helpers::SEED_START_MICROS + 7 * HOUR + 1_234_567;
    let mut records = Vec::new();
    for _ in 0..150 {
        let session = rng.below(helpers::SESSIONS.len());
        let action = seed_action(&mut rng, session);
        now += [0, 60_000_000, HOUR / 2, HOUR, 3 * HOUR][rng.below(5)];
        records.push(append(store, recorder.record_at(&action, &timestamp(now))));
    }
    records
}

fn overview_across_days_matches_the_records(t: &TestStore) {
    let store = t.store();
    let records = seed_days(store);
    let first = HourRange::hour_of(micros(&records[0].timestamp));
    let last = HourRange::hour_of(micros(&records[records.len() - 1].timestamp));
    assert!(last / 24 - first / 24 >= 4, "the seed spans several days");
    let blocks = records.iter().filter(|r| r.decision == Outcome::Block).count();
    assert!(blocks > 10, "the seed blocks something: {blocks}");
    let day = |h: i64| h - h.rem_euclid(24);
    let mut ranges = vec![
        HourRange {
            from_hour: 0,
            to_hour: last + 1000,
        },
        // Whole days only, then a whole day with an hour either side or both.
        HourRange {
            from_hour: day(first) + 24,
            to_hour: day(last),
        },
        HourRange {
            from_hour: day(first) + 23,
            to_hour: day(first) + 48,
        },
        HourRange {
            from_hour: day(first) + 24,
            to_hour: day(first) + 49,
        },
        HourRange {
            from_hour: day(first) + 23,
            to_hour: day(first) + 49,
        },
        // Across one midnight with no whole day; inside one day; empty.
        HourRange {
            from_hour: day(first) + 44,
            to_hour: day(first) + 52,
        },
        HourRange {
            from_hour: day(first) + 30,
            to_hour: day(first) + 40,
        },
        HourRange {
            from_hour: day(first) + 30,
            to_hour: day(first) + 30,
        },
    ];
    for from in (first - 2..=last + 2).step_by(5) {
        for len in [1, 23, 24, 25, 47, 48, 49, 73, 1000] {
            ranges.push(HourRange {
                from_hour: from,
                to_hour: from + len,
            });
        }
    }
    for range in ranges {
        let got = store.activity_overview(range).unwrap();
        assert_eq!(got, expected_overview(&records, range), "overview for {range:?}");
    }
}

fn windows_with_filters_answer_like_the_model(t: &TestStore) {
    let store = t.store();
    let mut model = seed(store);
    // Stragglers: appended last but stamped in the middle, so sequences do not follow time.
    let mut recorder = Recorder::new();
    let mut rng = Rng::new(11);
    let middle = micros(&model.records[model.records.len() / 2].timestamp);
    for i in 0..6 {
        let action = seed_action(&mut rng, i % helpers::SESSIONS.len());
        let record = recorder.record_at(&action, &timestamp(middle - 5_000_000 + i64::try_from(i).unwrap()));
        model.records.push(append(store, record));
    }
    let a = &model.records[3];
    // A pack few records name: rarer than most windows, so its own index may be the one counted.
    let mut packs: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &model.records {
        *packs.entry(r.policy_pack.as_str()).or_default() += 1;
    }
    let rare = packs
        .iter()
        .min_by_key(|(_, n)| **n)
        .map(|(p, _)| (*p).to_owned())
        .unwrap();
    let filters = [
        DecisionQuery {
            policy_pack: Some(rare),
            ..DecisionQuery::default()
        },
        DecisionQuery::default(),
        DecisionQuery {
            decision: Some(Outcome::Block),
            ..DecisionQuery::default()
        },
        DecisionQuery {
            repository: Some(a.repository.clone()),
            ..DecisionQuery::default()
        },
        DecisionQuery {
            agent_id: Some(a.agent_id.clone()),
            severity: Some(a.severity),
            ..DecisionQuery::default()
        },
    ];
    let edges: Vec<Option<i64>> = std::iter::once(None)
        .chain(boundaries(&model).into_iter().map(Some))
        .collect();
    for filter in &filters {
        for since in &edges {
            for until in &edges {
                let q = DecisionQuery {
                    since_micros: *since,
                    until_micros: *until,
                    ..filter.clone()
                };
                let want = ids(model.expect(&q));
                for (limit, offset) in [(500, 0), (3, 0), (3, 2)] {
                    let page = store
                        .list_decisions(&DecisionQuery {
                            limit,
                            offset,
                            ..q.clone()
                        })
                        .unwrap();
                    assert_eq!(page.total, u64::try_from(want.len()).unwrap(), "total for {q:?}");
                    let start = usize::try_from(offset).unwrap().min(want.len());
                    let end = (start + limit as usize).min(want.len());
                    assert_eq!(ids(&page.items), want[start..end], "page {limit}/{offset} for {q:?}");
                }
            }
        }
    }
}
