//! Scale-out (SPEC §5): two `cavra serve` processes on one PostgreSQL database, with clients
//! posting to both for the same sessions at once. Afterwards the log has no gap or duplicate,
//! every summary is what its decisions imply, and every chain is intact and recomputes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::activity::agent_templates;
use crate::helpers::{Backend, Home, Server, StoreSpec};
use crate::schema;

const THREADS: usize = 8;
const PER_THREAD: usize = 50;
const SESSIONS: usize = 5;

/// Every decision of a server, oldest first, read page by page through the cursor.
#[expect(clippy::unwrap_used, reason = "a test helper: a failed assumption is a failed test")]
fn all_decisions(server: &Server) -> Vec<Value> {
    let client = server.client();
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/decisions?limit=500&cursor={c}"),
            None => "/decisions?limit=500".to_owned(),
        };
        let page = client.get(&path).expect(200);
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    out.reverse();
    out
}

/// 8 threads × 50 decisions over 5 shared sessions, alternating between two servers on one
/// database: sequences are exactly 1..=400, every acknowledged decision is stored once, each
/// session's counts equal its decisions, and each chain links and recomputes.
#[test]
fn two_servers_share_one_postgres_database() {
    let Some(StoreSpec::Postgres(db)) = StoreSpec::fresh(Backend::Postgres, "two_servers_share_one_postgres_database")
    else {
        return;
    };
    let servers = [
        Server::start_in(Home::new(), StoreSpec::Postgres(Arc::clone(&db)), "127.0.0.1:0"),
        Server::start_in(Home::new(), StoreSpec::Postgres(Arc::clone(&db)), "127.0.0.1:0"),
    ];
    // Without tokens: the templates that name a mode would be refused (SPEC §3).
    let templates = agent_templates();
    let acknowledged: Vec<Value> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let clients = [servers[0].client(), servers[1].client()];
                let templates = &templates;
                scope.spawn(move || {
                    (0..PER_THREAD)
                        .map(|k| {
                            let mut action = templates[(t * 7 + k) % templates.len()].clone();
                            action["session_id"] = json!(format!("shared-{}", (t + k) % SESSIONS));
                            action["agent_id"] = json!("swarm");
                            action["repository"] = json!("acme/scale");
                            action["correlation_id"] = json!(format!("t{t}-k{k}"));
                            clients[(t + k) % 2].post("/decisions", &action).expect(201)
                        })
                        .collect::<Vec<Value>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let n = THREADS * PER_THREAD;
    assert_eq!(acknowledged.len(), n);

    let all = all_decisions(&servers[0]);
    let sequences: Vec<u64> = all.iter().map(|r| r["sequence"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=n as u64).collect();
    assert_eq!(sequences, expected, "sequences are not exactly 1..={n}");
    let stored: BTreeSet<&str> = all.iter().map(|r| r["decision_id"].as_str().unwrap()).collect();
    let acked: BTreeSet<&str> = acknowledged
        .iter()
        .map(|r| r["decision_id"].as_str().unwrap())
        .collect();
    assert_eq!(stored.len(), n, "a decision id appears twice");
    assert_eq!(stored, acked, "the stored decisions are not the acknowledged ones");
    assert_eq!(all_decisions(&servers[1]), all, "both servers read the same log");

    let mut by_session: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &all {
        let record: cavra_core::DecisionRecord = serde_json::from_value(r.clone()).unwrap();
        assert_eq!(
            r["record_hash"].as_str(),
            Some(cavra_core::integrity::record_hash(&record).as_str()),
            "decision `{}` does not match its record_hash",
            r["decision_id"]
        );
        by_session
            .entry(r["session_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(r);
    }
    assert_eq!(by_session.len(), SESSIONS);
    for (session, chain) in &by_session {
        let mut prev: Option<&str> = None;
        for r in chain {
            assert_eq!(
                r["prev_hash"].as_str(),
                prev,
                "`{}` (sequence {}) does not link to the previous decision of `{session}`",
                r["decision_id"],
                r["sequence"]
            );
            prev = r["record_hash"].as_str();
        }
        for server in &servers {
            let detail = server.client().get(&format!("/sessions/{session}")).expect(200);
            let timeline: Vec<&Value> = detail["decisions"].as_array().unwrap().iter().collect();
            assert_eq!(&timeline, chain, "`{session}`: the timeline is not its chain");
            let count = |o: &str| chain.iter().filter(|r| r["decision"] == o).count();
            assert_eq!(detail["decision_count"], chain.len(), "`{session}`: decision_count");
            assert_eq!(detail["blocked_count"], count("block"), "`{session}`: blocked_count");
            assert_eq!(
                detail["approval_required_count"],
                count("require_approval"),
                "`{session}`: approval_required_count"
            );
            for (outcome, counted) in detail["outcome_counts"].as_object().unwrap() {
                assert_eq!(counted, &json!(count(outcome)), "`{session}`: outcome_counts.{outcome}");
            }
            let total: u64 = detail["outcome_counts"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert_eq!(total, chain.len() as u64, "`{session}`: outcome_counts add up");
            assert_eq!(
                detail["head_hash"],
                chain.last().unwrap()["record_hash"],
                "`{session}`: head_hash"
            );
            assert_eq!(
                detail["last_decision_id"],
                chain.last().unwrap()["decision_id"],
                "`{session}`: last_decision_id"
            );
            let refs: Vec<Value> = chain
                .iter()
                .flat_map(|r| r["evidence_refs"].as_array().unwrap().clone())
                .collect();
            assert_eq!(
                detail["evidence_refs"],
                Value::Array(refs),
                "`{session}`: evidence_refs"
            );
        }
    }
    for server in &servers {
        schema::assert_conforms(server);
    }
}
