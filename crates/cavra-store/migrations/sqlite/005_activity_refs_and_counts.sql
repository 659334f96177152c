-- Cheaper appends (fewer pages written per decision) and exact list totals without counting
-- rows.
--
-- 1. A decision's evidence refs live with it. `evidence_refs` holds the refs of an appended
--    decision as a JSON array (NULL for imported decisions and for rows older than this
--    migration), and the session index carries them, so a session's refs are read from that
--    index alone and an append writes no separate ref row and index entry. A session's refs are
--    its rows in `activity_evidence_refs` (refs appended before this migration and those of
--    imported summaries) followed by these, in sequence order.
ALTER TABLE activity_decisions ADD COLUMN evidence_refs TEXT;
DROP INDEX activity_decisions_session;
CREATE INDEX activity_decisions_session ON activity_decisions (session_id, sequence, evidence_refs);

-- 2. The session filter indexes no longer carry `updated_at_us`, which every decision moves:
--    keyed by the column alone, an entry changes only when its session's agent, repository,
--    pack or state does, instead of twice per decision at a random place. A filtered session list
--    either reads the matching sessions and keeps the newest, or walks
--    `activity_sessions_updated` newest first until the page is full, whichever the exact
--    counts (3.) say is shorter.
DROP INDEX activity_sessions_agent;
DROP INDEX activity_sessions_repository;
DROP INDEX activity_sessions_pack;
DROP INDEX activity_sessions_state;
CREATE INDEX activity_sessions_agent ON activity_sessions (agent_id);
CREATE INDEX activity_sessions_repository ON activity_sessions (repository);
CREATE INDEX activity_sessions_pack ON activity_sessions (policy_pack);
CREATE INDEX activity_sessions_state ON activity_sessions (state);

-- 3. How many decisions each session has stored: the exact `total` of a `session_id` filter.
--    Counted once here; afterwards kept by the transaction that inserts the decisions (a row
--    created later counts the decisions already stored under its id).
ALTER TABLE activity_sessions ADD COLUMN decision_rows INTEGER NOT NULL DEFAULT 0;
UPDATE activity_sessions SET decision_rows =
    (SELECT COUNT(*) FROM activity_decisions d WHERE d.session_id = activity_sessions.session_id);

-- 4. Exact row counts: all decisions (`decisions`, value ''), decisions per value of each other
--    exact-match filter (`decisions.<column>`), all sessions and sessions per filter value
--    (`sessions.<column>`). Updated in the same transaction as the rows they count, once per
--    distinct key per group commit.
CREATE TABLE activity_counts (
    kind   TEXT NOT NULL,
    value  TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'decisions', '', COUNT(*) FROM activity_decisions;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'decisions.agent_id', agent_id, COUNT(*) FROM activity_decisions GROUP BY agent_id;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'decisions.repository', repository, COUNT(*) FROM activity_decisions GROUP BY repository;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'decisions.policy_pack', policy_pack, COUNT(*) FROM activity_decisions GROUP BY policy_pack;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'decisions.decision', decision, COUNT(*) FROM activity_decisions GROUP BY decision;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'decisions.severity', severity, COUNT(*) FROM activity_decisions GROUP BY severity;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'decisions.action_type', action_type, COUNT(*) FROM activity_decisions GROUP BY action_type;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'sessions', '', COUNT(*) FROM activity_sessions;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'sessions.agent_id', agent_id, COUNT(*) FROM activity_sessions GROUP BY agent_id;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'sessions.repository', repository, COUNT(*) FROM activity_sessions GROUP BY repository;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'sessions.policy_pack', policy_pack, COUNT(*) FROM activity_sessions GROUP BY policy_pack;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'sessions.state', state, COUNT(*) FROM activity_sessions GROUP BY state;
