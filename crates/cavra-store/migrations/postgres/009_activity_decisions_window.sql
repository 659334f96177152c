-- A time window with exact-match filters, read from one index (see the SQLite migration of the
-- same number): `ts_us` followed by every filter column but `session_id`, so PostgreSQL can
-- answer a window with filters by an index-only scan.
CREATE INDEX activity_decisions_window
    ON activity_decisions (ts_us, decision, severity, action_type, agent_id, repository, policy_pack);
