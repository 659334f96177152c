-- Exact list totals without counting rows. (The SQLite migration of the same number also moves
-- evidence refs next to their decisions and re-keys the session filter indexes, to write fewer
-- pages per commit; PostgreSQL appends are paced by the log-head lock, not by pages, so its
-- schema otherwise stays.)
--
-- Row counts: all decisions (`decisions`, value ''), decisions per value of each exact-match
-- filter but `session_id` (`decisions.<column>`), all sessions and sessions per filter value
-- (`sessions.<column>`). Updated by the transaction that changes the rows, while it holds the
-- log head (appends) or the session's row lock (state changes), so they are exact across
-- processes; appends already queue on the log head, so the counts add no new queue. A
-- `session_id` total is counted over `activity_decisions_session` instead: a session's rows are
-- few, and a count there cannot race an import of that session's decisions.
CREATE TABLE activity_counts (
    kind   TEXT NOT NULL,
    value  TEXT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
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
