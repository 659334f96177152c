//! The whole API on each backend: one real server per backend, seeded through `POST /decisions`
//! with a realistic mix, then every filter, paging mode, the time window, sessions and their
//! timelines, state changes, packs, health, version, metrics, and the table of `table.rs` —
//! each answer compared with what was posted. Every exchange is then checked against
//! `/openapi.json`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed assumption is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::helpers::{Backend, Client, Home, Server, StoreSpec};
use crate::{schema, table};

/// The seeded sessions: id, agent, repository.
const SESSIONS: [(&str, &str, &str); 5] = [
    ("sess-alpha", "claude-code", "acme/payments"),
    ("sess-beta", "cursor", "acme/infra"),
    ("sess-gamma", "claude-code", "acme/web"),
    ("sess-delta", "codex", "acme/payments"),
    ("sess-epsilon", "cursor", "acme/web"),
];

/// Rounds of [`templates`]; each round shifts which session gets which action.
const ROUNDS: usize = 4;

/// The actions of the seed (without session, agent and repository): every action type, every
/// outcome, several packs (`strict`, `terraform-prod` among them) and modes. The two that name a
/// mode need an admin token (SPEC §3); [`agent_templates`] leaves them out.
pub fn templates() -> Vec<Value> {
    vec![
        json!({"action_type": "read_file", "target": ".env"}),
        json!({"action_type": "read_file", "target": "README.md", "cwd": "/work/repo"}),
        json!({"action_type": "write_file", "target": "iam/admin-role.tf"}),
        json!({"action_type": "write_file", "target": ".github/workflows/ci.yml"}),
        json!({"action_type": "execute_command", "target": "terraform plan && terraform apply -auto-approve",
               "correlation_id": "corr-client-7", "tool_use_id": "toolu_01"}),
        json!({"action_type": "execute_command", "target": "printenv"}),
        json!({"action_type": "execute_command", "target": "rm -rf /tmp/important"}),
        json!({"action_type": "execute_command", "target": "terraform apply", "policy_pack": "terraform-prod"}),
        json!({"action_type": "execute_command", "target": "ls -la", "policy_pack": "strict"}),
        json!({"action_type": "git_operation", "target": "main", "operation": "force_push"}),
        json!({"action_type": "mcp_tool_call", "target": "unknown-server:do_it", "arguments": {"path": "/tmp"}}),
        json!({"action_type": "mcp_tool_call", "target": "github:create_issue", "server": "github",
               "tool": "create_issue", "capability": "issues"}),
        json!({"action_type": "read_file", "target": ".env", "policy_mode": "audit_only"}),
        json!({"action_type": "execute_command", "target": "terraform apply", "policy_mode": "break_glass",
               "actor": "oncall@acme.example", "justification": "incident INC-7"}),
        json!({"action_type": "git_operation", "target": "feature-x", "operation": "push", "policy_pack": "strict"}),
    ]
}

/// [`templates`] without those that name a mode: what an agent (or anyone on a server without
/// tokens) may post.
pub fn agent_templates() -> Vec<Value> {
    templates()
        .into_iter()
        .filter(|t| t.get("policy_mode").is_none() && t.get("justification").is_none())
        .collect()
}

/// What the seed stored, as `POST /decisions` answered it, in posting order.
pub struct Seed {
    /// The records.
    pub records: Vec<Value>,
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is not a string in {v}"))
}

fn seq(v: &Value) -> u64 {
    v["sequence"].as_u64().unwrap_or_else(|| panic!("no `sequence` in {v}"))
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|r| text(r, "decision_id").to_owned()).collect()
}

fn items(page: &Value) -> Vec<Value> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no `items` in {page}"))
        .clone()
}

/// Microseconds since the epoch of an RFC 3339 timestamp.
fn micros(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap_or_else(|e| panic!("`{ts}` is not RFC 3339: {e}"))
        .timestamp_micros()
}

/// A query string from pairs, percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl Seed {
    /// The records matching `keep`, newest first (by `sequence`).
    pub fn newest_first(&self, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut rows: Vec<Value> = self.records.iter().filter(|r| keep(r)).cloned().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(seq(r)));
        rows
    }

    /// The records of each session, oldest first.
    pub fn sessions(&self) -> BTreeMap<String, Vec<Value>> {
        let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in &self.records {
            map.entry(text(r, "session_id").to_owned()).or_default().push(r.clone());
        }
        map
    }

    fn distinct(&self, field: &str) -> BTreeSet<String> {
        self.records.iter().map(|r| text(r, field).to_owned()).collect()
    }
}

/// Posts the seed: [`ROUNDS`] × [`templates`] decisions over [`SESSIONS`].
pub fn seed(api: &Client) -> Seed {
    let templates = templates();
    let mut records = Vec::new();
    for i in 0..ROUNDS * templates.len() {
        let (session, agent, repository) = SESSIONS[(i + i / templates.len()) % SESSIONS.len()];
        let mut action = templates[i % templates.len()].clone();
        action["session_id"] = json!(session);
        action["agent_id"] = json!(agent);
        action["repository"] = json!(repository);
        let record = api.post("/decisions", &action).expect(201);
        records.push(record);
    }
    let seed = Seed { records };
    // A seed that stopped covering these would make the filter checks vacuous.
    let outcomes = seed.distinct("decision");
    assert_eq!(outcomes.len(), 6, "the seed misses an outcome: {outcomes:?}");
    assert_eq!(seed.distinct("action_type").len(), 5, "the seed misses an action type");
    assert_eq!(seed.distinct("severity").len(), 4, "the seed misses a severity");
    let packs = seed.distinct("policy_pack");
    assert!(
        packs.contains("strict") && packs.contains("terraform-prod"),
        "the seed misses a pack: {packs:?}"
    );
    seed
}

/// Each posted record is what SPEC §2 says, reads back identical, and its hash recomputes.
fn check_records(api: &Client, seed: &Seed) {
    let sequences: Vec<u64> = seed.records.iter().map(seq).collect();
    let expected: Vec<u64> = (1..=u64::try_from(seed.records.len()).unwrap()).collect();
    assert_eq!(sequences, expected, "a fresh store numbers decisions 1..=N in order");
    for (i, r) in seed.records.iter().enumerate() {
        let id = text(r, "decision_id");
        assert!(id.starts_with("dec_"), "decision id `{id}`");
        assert_eq!(r["schema_version"], "cavra.decision.v1");
        let evidence = format!("evidence://{}/{id}", text(r, "session_id"));
        assert!(
            r["evidence_refs"].as_array().unwrap().contains(&json!(evidence)),
            "{id}: evidence_refs lacks {evidence}"
        );
        let ts = text(r, "timestamp");
        assert!(
            ts.ends_with('Z') && ts.len() == "2026-01-01T00:00:00.000000Z".len(),
            "timestamp `{ts}`"
        );
        let template = &templates()[i % templates().len()];
        for field in ["correlation_id", "tool_use_id"] {
            if let Some(given) = template.get(field) {
                assert_eq!(&r[field], given, "{id}: `{field}` is stored as given");
            }
        }
        if template.get("correlation_id").is_none() {
            assert!(
                text(r, "correlation_id").starts_with("corr_"),
                "{id}: a generated correlation id"
            );
        }
        let record: cavra_core::DecisionRecord = serde_json::from_value(r.clone()).unwrap();
        assert_eq!(
            r["record_hash"].as_str(),
            Some(cavra_core::integrity::record_hash(&record).as_str()),
            "{id}: record_hash does not recompute"
        );
        let back = api.get(&format!("/decisions/{id}")).expect(200);
        assert_eq!(&back, r, "GET /decisions/{id} is not what POST answered");
    }
}

/// Each filter alone, for every value seeded and one that matches nothing, then in combination:
/// exactly the expected rows, newest first, with the right `total`.
fn check_filters(api: &Client, seed: &Seed) {
    let check = |pairs: &[(&str, &str)]| {
        let q = query(&[pairs, &[("limit", "500")]].concat());
        let page = api.get(&format!("/decisions?{q}")).expect(200);
        let want = seed.newest_first(|r| pairs.iter().all(|(k, v)| r[*k] == *v));
        assert_eq!(
            ids(&items(&page)),
            ids(&want),
            "GET /decisions?{q}: not the expected rows"
        );
        assert_eq!(page["total"], want.len(), "GET /decisions?{q}: `total`");
        want.len()
    };
    for field in [
        "session_id",
        "agent_id",
        "repository",
        "policy_pack",
        "decision",
        "severity",
        "action_type",
    ] {
        let values = seed.distinct(field);
        let mut matched = 0;
        for value in &values {
            let n = check(&[(field, value)]);
            assert!(n > 0, "`{field}={value}` matched nothing");
            matched += n;
        }
        assert_eq!(matched, seed.records.len(), "`{field}` values partition the decisions");
    }
    for pairs in [
        &[("session_id", "sess-nowhere")][..],
        &[("agent_id", "nobody")],
        &[("repository", "acme/nowhere")],
        &[("policy_pack", "kubernetes-prod")],
        &[("decision", "allow"), ("severity", "critical")],
    ] {
        assert_eq!(check(pairs), 0, "{pairs:?} matches nothing");
    }
    for pairs in [
        &[("agent_id", "claude-code"), ("decision", "block")][..],
        &[
            ("repository", "acme/payments"),
            ("severity", "high"),
            ("action_type", "read_file"),
        ],
        &[
            ("session_id", "sess-beta"),
            ("policy_pack", "cavra-ai-agent-baseline"),
            ("decision", "block"),
        ],
        &[
            ("agent_id", "cursor"),
            ("action_type", "execute_command"),
            ("severity", "critical"),
        ],
        &[
            ("policy_pack", "terraform-prod"),
            ("decision", "block"),
            ("severity", "critical"),
        ],
    ] {
        assert!(check(pairs) > 0, "{pairs:?} should match something in the seed");
    }
    // `/` in a value, raw or encoded, is the same filter.
    let raw = api.get("/decisions?repository=acme/payments&limit=500").expect(200);
    let encoded = api.get("/decisions?repository=acme%2Fpayments&limit=500").expect(200);
    assert_eq!(raw, encoded);
}

/// Default and clamped page sizes, `offset`, and keyset paging through `next_cursor`, with and
/// without a filter: every row exactly once, newest first.
fn check_paging(api: &Client, seed: &Seed) {
    let all = seed.newest_first(|_| true);
    let n = all.len();
    assert!(n > 50, "the seed must be larger than the default page");

    let page = api.get("/decisions").expect(200);
    assert_eq!((page["limit"].as_u64(), page["offset"].as_u64()), (Some(50), Some(0)));
    assert_eq!(ids(&items(&page)), ids(&all[..50]), "the default page is the 50 newest");
    assert_eq!(page["total"], n);
    let sequences: Vec<u64> = items(&page).iter().map(seq).collect();
    assert!(sequences.windows(2).all(|w| w[0] > w[1]), "newest first: {sequences:?}");

    let page = api.get("/decisions?limit=0").expect(200);
    assert_eq!(page["limit"], 1, "limit 0 is clamped to 1");
    assert_eq!(ids(&items(&page)), ids(&all[..1]));
    let page = api.get("/decisions?limit=10000").expect(200);
    assert_eq!(page["limit"], 500, "limit 10000 is clamped to 500");
    assert_eq!(ids(&items(&page)), ids(&all));

    let page = api.get("/decisions?limit=7&offset=3").expect(200);
    assert_eq!(ids(&items(&page)), ids(&all[3..10]));
    assert_eq!(
        (page["total"].as_u64(), page["offset"].as_u64()),
        (Some(n as u64), Some(3))
    );
    let page = api.get("/decisions?offset=1000").expect(200);
    assert_eq!((items(&page).len(), page["total"].as_u64()), (0, Some(n as u64)));

    let block = seed.newest_first(|r| r["decision"] == "block");
    for (filter, want, size) in [("", &all, 7_usize), ("decision=block&", &block, 4)] {
        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/decisions?{filter}limit={size}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = api.get(&path).expect(200);
            pages += 1;
            assert_eq!(
                page["total"],
                want.len(),
                "{path}: `total` is the filtered count on every page"
            );
            let rows = items(&page);
            assert!(rows.len() <= size, "{path}: more rows than the limit");
            seen.extend(rows);
            match page["next_cursor"].as_str() {
                Some(c) => {
                    assert!(seen.len() < want.len(), "{path}: a next_cursor after the last row");
                    cursor = Some(c.to_owned());
                }
                None => break,
            }
            assert!(pages <= want.len() + 1, "cursor paging does not end");
        }
        assert_eq!(
            ids(&seen),
            ids(want),
            "cursor paging over `{filter}` skipped or repeated rows"
        );
        assert_eq!(pages, want.len().div_ceil(size), "pages for `{filter}`");
    }
    // `offset` is ignored once a cursor is given (as documented).
    let first = api.get("/decisions?limit=5").expect(200);
    let c = first["next_cursor"].as_str().expect("a next_cursor").to_owned();
    let plain = api.get(&format!("/decisions?limit=5&cursor={c}")).expect(200);
    let with_offset = api.get(&format!("/decisions?limit=5&cursor={c}&offset=3")).expect(200);
    assert_eq!(ids(&items(&plain)), ids(&all[5..10]));
    assert_eq!(
        ids(&items(&with_offset)),
        ids(&items(&plain)),
        "offset is ignored with a cursor"
    );
}

/// `since` and `until` in microseconds since the epoch; `None` is open.
type Window = (Option<i64>, Option<i64>);

/// `since` and `until` are inclusive instants, compared as instants (not text): the same
/// instant written with another offset selects the same rows.
fn check_time_window(api: &Client, seed: &Seed) {
    let ts: Vec<&str> = seed.records.iter().map(|r| text(r, "timestamp")).collect();
    let (lo, hi) = (ts[10], ts[40]);
    let shifted = |t: &str| {
        let offset = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .with_timezone(&offset)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
    };
    let (lo_shifted, hi_shifted) = (shifted(lo), shifted(hi));
    let (l, h) = (Some(micros(lo)), Some(micros(hi)));
    // Filters, and the inclusive window (microseconds) they mean.
    let cases: Vec<(Vec<(&str, &str)>, Window)> = vec![
        (vec![("since", lo)], (l, None)),
        (vec![("until", hi)], (None, h)),
        (vec![("since", lo), ("until", hi)], (l, h)),
        (vec![("since", lo), ("until", lo)], (l, l)),
        (vec![("since", &lo_shifted), ("until", &hi_shifted)], (l, h)),
        (vec![("since", lo), ("until", hi), ("decision", "block")], (l, h)),
    ];
    for (pairs, (since, until)) in cases {
        let q = query(&[&pairs[..], &[("limit", "500")]].concat());
        let page = api.get(&format!("/decisions?{q}")).expect(200);
        let want = seed.newest_first(|r| {
            let t = micros(text(r, "timestamp"));
            since.is_none_or(|s| t >= s)
                && until.is_none_or(|u| t <= u)
                && pairs
                    .iter()
                    .filter(|(k, _)| *k != "since" && *k != "until")
                    .all(|(k, v)| r[*k] == *v)
        });
        assert!(!want.is_empty(), "{q}: the window should hold decisions");
        assert_eq!(ids(&items(&page)), ids(&want), "GET /decisions?{q}");
        assert_eq!(page["total"], want.len(), "GET /decisions?{q}: `total`");
    }
}

/// A session's summary holds exactly what its decisions imply, and its timeline is its chain.
fn check_session_detail(detail: &Value, records: &[Value], context: &str) {
    let id = text(detail, "session_id");
    let timeline = detail["decisions"].as_array().expect("`decisions`");
    assert_eq!(ids(timeline), ids(records), "{context}: `{id}` timeline, oldest first");
    let mut prev: Option<&str> = None;
    for r in timeline {
        assert_eq!(
            r["prev_hash"].as_str(),
            prev,
            "{context}: `{}` does not link to the previous record of `{id}`",
            text(r, "decision_id")
        );
        let record: cavra_core::DecisionRecord = serde_json::from_value(r.clone()).unwrap();
        assert_eq!(
            r["record_hash"].as_str(),
            Some(cavra_core::integrity::record_hash(&record).as_str()),
            "{context}: `{}` record_hash does not recompute",
            text(r, "decision_id")
        );
        prev = r["record_hash"].as_str();
    }
    // The chain status the API computes (SPEC §7): intact, every record, ending at the head.
    let chain = &detail["chain"];
    assert_eq!(chain["intact"], true, "{context}: `{id}` chain: {chain}");
    assert_eq!(chain["records"], records.len(), "{context}: `{id}` chain records");
    assert_eq!(chain["head_hash"], detail["head_hash"], "{context}: `{id}` chain head");
    assert_eq!(chain["problems"], json!([]), "{context}: `{id}` chain problems");
    let count = |o: &str| records.iter().filter(|r| r["decision"] == o).count();
    assert_eq!(
        detail["decision_count"],
        records.len(),
        "{context}: `{id}` decision_count"
    );
    assert_eq!(
        detail["blocked_count"],
        count("block"),
        "{context}: `{id}` blocked_count"
    );
    assert_eq!(
        detail["approval_required_count"],
        count("require_approval"),
        "{context}: `{id}` approval_required_count"
    );
    let outcomes = [
        "allow",
        "audit_only",
        "warn",
        "allow_with_attestation",
        "require_approval",
        "block",
    ];
    let want_counts: serde_json::Map<String, Value> =
        outcomes.iter().map(|o| ((*o).to_owned(), json!(count(o)))).collect();
    assert_eq!(
        detail["outcome_counts"],
        Value::Object(want_counts),
        "{context}: `{id}` outcome_counts"
    );
    if let Some(last) = records.last() {
        let rank = |s: &Value| ["low", "medium", "high", "critical"].iter().position(|x| s == x);
        let max = records.iter().map(|r| &r["severity"]).max_by_key(|s| rank(s)).unwrap();
        assert_eq!(&detail["max_severity"], max, "{context}: `{id}` max_severity");
        assert_eq!(
            detail["last_decision_id"], last["decision_id"],
            "{context}: `{id}` last_decision_id"
        );
        assert_eq!(detail["head_hash"], last["record_hash"], "{context}: `{id}` head_hash");
        for field in ["agent_id", "actor", "repository", "policy_pack"] {
            assert_eq!(detail[field], last[field], "{context}: `{id}` {field}");
        }
        assert!(
            micros(text(detail, "updated_at")) >= micros(text(last, "timestamp")),
            "{context}: `{id}` updated_at is before its last decision"
        );
        assert!(
            micros(text(detail, "started_at")) <= micros(text(&records[0], "timestamp")),
            "{context}: `{id}` started_at is after its first decision"
        );
    } else {
        assert_eq!(detail["max_severity"], Value::Null);
        assert_eq!(detail["head_hash"], Value::Null);
    }
    let refs: Vec<Value> = records
        .iter()
        .flat_map(|r| r["evidence_refs"].as_array().unwrap().clone())
        .collect();
    assert_eq!(
        detail["evidence_refs"],
        Value::Array(refs),
        "{context}: `{id}` evidence_refs"
    );
}

/// `(updated_at, session_id)` descending, as SPEC §5 orders sessions.
fn assert_sessions_ordered(items: &[Value], context: &str) {
    let keys: Vec<(i64, String)> = items
        .iter()
        .map(|s| (micros(text(s, "updated_at")), text(s, "session_id").to_owned()))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "{context}: sessions are not newest first, ties by id: {keys:?}"
    );
}

fn session_ids(page: &Value) -> BTreeSet<String> {
    items(page).iter().map(|s| text(s, "session_id").to_owned()).collect()
}

/// Sessions: each timeline and summary; the list, its filters and paging; state changes through
/// `POST /sessions` (which never take counts from the client) and the `state` filter after them.
fn check_sessions(api: &Client, seed: &Seed) {
    let by_session = seed.sessions();
    assert_eq!(by_session.len(), SESSIONS.len());
    for (id, records) in &by_session {
        let detail = api.get(&format!("/sessions/{id}")).expect(200);
        check_session_detail(&detail, records, "GET /sessions/{id}");
    }
    let page = api.get("/sessions").expect(200);
    assert_eq!(page["total"], SESSIONS.len());
    assert_sessions_ordered(&items(&page), "GET /sessions");
    for s in items(&page) {
        let detail = api.get(&format!("/sessions/{}", text(&s, "session_id"))).expect(200);
        let mut summary = detail.clone();
        summary.as_object_mut().unwrap().remove("decisions");
        summary.as_object_mut().unwrap().remove("chain");
        assert_eq!(s, summary, "the listed summary is the one GET /sessions/{{id}} shows");
    }

    // State changes: existing sessions answer 200 and keep their counts; a new one 201.
    let before = api.get("/sessions/sess-beta").expect(200);
    let changed = api
        .post("/sessions", &json!({"session_id": "sess-beta", "state": "completed"}))
        .expect(200);
    assert_eq!(changed["state"], "completed");
    for field in [
        "decision_count",
        "blocked_count",
        "outcome_counts",
        "head_hash",
        "agent_id",
    ] {
        assert_eq!(changed[field], before[field], "a state change kept `{field}`");
    }
    api.post("/sessions", &json!({"session_id": "sess-gamma", "state": "failed"}))
        .expect(200);
    let created = api
        .post(
            "/sessions",
            &json!({"session_id": "sess-new", "agent_id": "claude-code", "repository": "acme/payments",
                    "policy_pack": "strict", "actor": "dev@acme.example"}),
        )
        .expect(201);
    assert_eq!(
        (created["decision_count"].as_u64(), created["state"].as_str()),
        (Some(0), Some("active"))
    );
    api.post("/sessions", &json!({"session_id": "sess-new", "state": "archived"}))
        .expect(200);
    let empty = api.get("/sessions/sess-new").expect(200);
    check_session_detail(&empty, &[], "a session without decisions");
    assert_eq!(empty["state"], "archived");
    assert_eq!(empty["actor"], "dev@acme.example");
    // Counts in the body are refused, and nothing changes.
    let alpha = api.get("/sessions/sess-alpha").expect(200);
    let message = api
        .post("/sessions", &json!({"session_id": "sess-alpha", "decision_count": 0}))
        .expect_error(400, "invalid_body");
    assert!(message.contains("decision_count"), "{message}");
    assert_eq!(
        api.get("/sessions/sess-alpha").expect(200),
        alpha,
        "a refused update changed nothing"
    );

    let expect_ids = |q: &str, want: &[&str]| {
        let page = api.get(&format!("/sessions?{q}")).expect(200);
        let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(session_ids(&page), want, "GET /sessions?{q}");
        assert_eq!(page["total"], want.len(), "GET /sessions?{q}: `total`");
        assert_sessions_ordered(&items(&page), q);
    };
    expect_ids("state=completed", &["sess-beta"]);
    expect_ids("state=failed", &["sess-gamma"]);
    expect_ids("state=archived", &["sess-new"]);
    expect_ids("state=active", &["sess-alpha", "sess-delta", "sess-epsilon"]);
    expect_ids("agent_id=claude-code", &["sess-alpha", "sess-gamma", "sess-new"]);
    expect_ids("agent_id=cursor&state=completed", &["sess-beta"]);
    expect_ids("repository=acme%2Fpayments", &["sess-alpha", "sess-delta", "sess-new"]);
    expect_ids("repository=acme/web&agent_id=cursor", &["sess-epsilon"]);
    expect_ids("agent_id=nobody", &[]);
    for (id, records) in &by_session {
        let pack = text(records.last().unwrap(), "policy_pack");
        let page = api
            .get(&format!("/sessions?{}", query(&[("policy_pack", pack)])))
            .expect(200);
        assert!(session_ids(&page).contains(id), "policy_pack={pack} lists `{id}`");
    }
    expect_ids("policy_pack=strict&state=archived", &["sess-new"]);

    let all = items(&api.get("/sessions").expect(200));
    assert_eq!(all.len(), SESSIONS.len() + 1);
    assert_eq!(
        text(&all[0], "session_id"),
        "sess-new",
        "the session changed last is listed first"
    );
    let page = api.get("/sessions?limit=2&offset=1").expect(200);
    assert_eq!(
        items(&page),
        all[1..3].to_vec(),
        "limit and offset slice the same order"
    );
    assert_eq!((page["limit"].as_u64(), page["offset"].as_u64()), (Some(2), Some(1)));
    let page = api.get("/sessions?limit=0").expect(200);
    assert_eq!((page["limit"].as_u64(), items(&page).len()), (Some(1), 1));
    let page = api.get("/sessions?limit=10000").expect(200);
    assert_eq!((page["limit"].as_u64(), items(&page).len()), (Some(500), all.len()));
    let page = api.get("/sessions?offset=100").expect(200);
    assert_eq!(
        (items(&page).len(), page["total"].as_u64()),
        (0, Some(all.len() as u64))
    );
}

/// `POST /evaluate` answers the decision `POST /decisions` would store, and stores nothing.
fn check_evaluate(api: &Client) {
    let before = api.get("/decisions?limit=1").expect(200);
    let sessions_before = api.get("/sessions").expect(200)["total"].clone();
    let record = api
        .post(
            "/evaluate",
            &json!({"action_type": "read_file", "target": ".env", "session_id": "sess-dry-run"}),
        )
        .expect(200);
    assert_eq!(
        (record["decision"].as_str(), record["rule_id"].as_str()),
        (Some("block"), Some("secrets.read"))
    );
    for absent in ["sequence", "record_hash", "prev_hash"] {
        assert!(record.get(absent).is_none(), "a dry run has no `{absent}`: {record}");
    }
    let after = api.get("/decisions?limit=1").expect(200);
    assert_eq!(before, after, "POST /evaluate stored a decision");
    api.get(&format!("/decisions/{}", text(&record, "decision_id")))
        .expect_error(404, "not_found");
    api.get("/sessions/sess-dry-run").expect_error(404, "not_found");
    assert_eq!(api.get("/sessions").expect(200)["total"], sessions_before);
}

/// Every built-in pack is listed, sorted, and shows its effective rules.
fn check_policy_packs(api: &Client) {
    let list = api.get("/policy-packs").expect(200);
    let packs = list.as_array().expect("an array of packs");
    let listed: Vec<&str> = packs.iter().map(|p| text(p, "id")).collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted, "packs are listed by id");
    for id in [
        "cavra-ai-agent-baseline",
        "strict",
        "terraform-prod",
        "kubernetes-prod",
        "cloud-iam",
        "github-enterprise",
        "mcp-enterprise",
        "owasp-llm-agentic",
    ] {
        assert!(listed.contains(&id), "pack `{id}` is not listed: {listed:?}");
    }
    for summary in packs {
        let id = text(summary, "id");
        let detail = api.get(&format!("/policy-packs/{id}")).expect(200);
        assert_eq!(detail["id"], id);
        let rules = detail["rules"].as_array().expect("`rules`");
        assert_eq!(detail["rule_count"], rules.len(), "`{id}`: rule_count");
        assert_eq!(summary["rule_count"], rules.len(), "`{id}`: the listed rule_count");
        assert!(!rules.is_empty(), "`{id}` has no rules");
        let rule_ids: BTreeSet<&str> = rules.iter().map(|r| text(r, "id")).collect();
        assert_eq!(rule_ids.len(), rules.len(), "`{id}`: rule ids are unique");
    }
}

/// Prometheus text as `name{labels}` → value.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// `/metrics`: decisions by outcome equal the store's counts; request latency and group-commit
/// sizes are exported.
fn check_metrics(api: &Client, backend: Backend) {
    let reply = api.get("/metrics");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.content_type.as_deref().unwrap_or("").starts_with("text/plain"),
        "metrics content type {:?}",
        reply.content_type
    );
    for name in [
        "cavra_decisions_total",
        "cavra_http_request_duration_seconds",
        "cavra_store_group_commit_size",
    ] {
        assert!(reply.text.contains(name), "/metrics lacks `{name}`");
    }
    let metrics = parse_metrics(&reply.text);
    for outcome in [
        "allow",
        "audit_only",
        "warn",
        "allow_with_attestation",
        "require_approval",
        "block",
    ] {
        let stored = api.get(&format!("/decisions?decision={outcome}&limit=1")).expect(200)["total"]
            .as_f64()
            .unwrap();
        let key = format!("cavra_decisions_total{{decision=\"{outcome}\"}}");
        assert_eq!(metrics.get(&key), Some(&stored), "`{key}` is not the stored count");
    }
    let posts = metrics
        .iter()
        .filter(|(k, _)| {
            k.starts_with("cavra_http_request_duration_seconds_count{")
                && k.contains("method=\"POST\"")
                && k.contains("route=\"/decisions\"")
                && k.contains("status=\"201\"")
        })
        .map(|(_, v)| *v)
        .sum::<f64>();
    let stored = api.get("/decisions?limit=1").expect(200)["total"].as_f64().unwrap();
    assert_eq!(posts, stored, "every 201 on POST /decisions was timed");
    let invalid = metrics.get("cavra_http_errors_total{code=\"invalid_query\"}").copied();
    assert!(invalid.unwrap_or(0.0) > 0.0, "errors are counted by code");
    let commits = metrics
        .get("cavra_store_group_commit_size_count")
        .copied()
        .unwrap_or(0.0);
    if commits == 0.0 {
        // Reported, not failed: the store observer is not wired in every backend yet.
        eprintln!(
            "NOTE: the {} store reported no group commit: cavra_store_group_commit_size_count is 0",
            backend.name()
        );
    }
}

/// Runs the whole suite against a fresh server over `backend`.
fn suite(backend: Backend) {
    let Some(store) = StoreSpec::fresh(backend, &format!("api_on_{}", backend.name())) else {
        return;
    };
    // As an admin: the seed's modes are a person's to choose, refused from anyone else (SPEC §3).
    let home = Home::new();
    let admin = home.create_token("admin", None);
    let server = Server::start_in(home, store, "127.0.0.1:0");
    let api = server.client_as(&admin);
    let seed = seed(&api);
    check_records(&api, &seed);
    check_filters(&api, &seed);
    check_paging(&api, &seed);
    check_time_window(&api, &seed);
    check_sessions(&api, &seed);
    check_evaluate(&api);
    check_policy_packs(&api);
    let some = &seed.records[0];
    table::run(
        &api,
        &table::rows(text(some, "decision_id"), text(some, "session_id"), backend.name()),
    );
    check_metrics(&api, backend);
    schema::assert_conforms(&server);
}

/// Every endpoint, filter and error case on the SQLite store.
#[test]
fn api_on_sqlite() {
    suite(Backend::Sqlite);
}

/// Every endpoint, filter and error case on the JSON file store.
#[test]
fn api_on_json() {
    suite(Backend::Json);
}

/// Every endpoint, filter and error case on PostgreSQL.
#[test]
fn api_on_postgres() {
    suite(Backend::Postgres);
}

/// A record changed in the database behind the server's back shows in `GET /sessions/{id}`'s
/// `chain`: not intact, the changed record named, and the answer still fits the OpenAPI schema.
#[test]
fn tampered_session_shows_a_broken_chain() {
    let server = Server::start(StoreSpec::Sqlite);
    let api = server.client();
    let mut ids = Vec::new();
    for target in ["ls", "cat .env", "git push origin main"] {
        let r = api
            .post(
                "/decisions",
                &json!({"action_type": "execute_command", "target": target, "session_id": "s-tamper"}),
            )
            .expect(201);
        ids.push(text(&r, "decision_id").to_owned());
    }
    let intact = api.get("/sessions/s-tamper").expect(200);
    assert_eq!(intact["chain"]["intact"], true, "{intact}");
    let db = rusqlite::Connection::open(server.home().path().join("activity.db")).unwrap();
    let changed = db
        .execute(
            "UPDATE activity_decisions SET record = replace(record, '\"decision\":\"block\"', '\"decision\":\"allow\"') \
             WHERE decision_id = ?1",
            [&ids[1]],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let detail = api.get("/sessions/s-tamper").expect(200);
    let chain = &detail["chain"];
    assert_eq!(chain["intact"], false, "{chain}");
    assert_eq!(chain["problems"][0]["decision_id"], ids[1].as_str(), "{chain}");
    assert_eq!(chain["problems"][0]["kind"], "hash_mismatch", "{chain}");
    schema::assert_conforms(&server);
}
