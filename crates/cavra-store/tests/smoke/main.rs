//! Smoke test (temporary).
use cavra_core::{Action, ActionType, DecisionRecord, PackSet, evaluate};
use cavra_store::{ActivityStore, DecisionQuery, SessionQuery, Stamper};

#[test]
fn sqlite_smoke() {
    let dir = tempfile::tempdir().unwrap();
    let store = cavra_store::sqlite::SqliteStore::open(&dir.path().join("a.db")).unwrap();
    let packs = PackSet::builtin().unwrap();
    let pack = packs.get("cavra-ai-agent-baseline").unwrap();
    let mut stamper = Stamper::new();
    for (i, t) in ["ls", "rm -rf /", "cat .env"].iter().enumerate() {
        let mut a = Action::new(ActionType::ExecuteCommand, *t);
        a.session_id = Some(format!("s{}", i % 2));
        let r = DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp());
        let stored = store.append(r).unwrap();
        assert_eq!(stored.sequence, Some(i as u64 + 1));
    }
    let page = store
        .list_decisions(&DecisionQuery {
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items.len(), 2);
    assert!(page.next_cursor.is_some());
    let s = store.get_session("s0").unwrap().unwrap();
    assert_eq!(s.decision_count, 2);
    assert_eq!(s.evidence_refs.len(), 2);
    let chain = store.session_decisions("s0").unwrap();
    assert_eq!(chain[1].prev_hash, chain[0].record_hash);
    let sessions = store
        .list_sessions(&SessionQuery {
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(sessions.total, 2);
    println!("{}", serde_json::to_string_pretty(&s).unwrap());
}
