-- The activity log: decisions (append-only, global sequence) and live session summaries.
-- Every filter column is indexed together with the ordering key, so a filtered, newest-first
-- page is an index range scan.
CREATE TABLE activity_sessions (
    session_id     TEXT PRIMARY KEY,
    agent_id       TEXT NOT NULL,
    repository     TEXT NOT NULL,
    policy_pack    TEXT NOT NULL,
    state          TEXT NOT NULL,
    updated_at_us  BIGINT NOT NULL,
    summary        TEXT NOT NULL  -- the summary as JSON, without evidence_refs
);
CREATE INDEX activity_sessions_updated ON activity_sessions (updated_at_us, session_id);
CREATE INDEX activity_sessions_agent ON activity_sessions (agent_id, updated_at_us);
CREATE INDEX activity_sessions_repository ON activity_sessions (repository, updated_at_us);
CREATE INDEX activity_sessions_pack ON activity_sessions (policy_pack, updated_at_us);
CREATE INDEX activity_sessions_state ON activity_sessions (state, updated_at_us);

CREATE TABLE activity_decisions (
    sequence     BIGINT PRIMARY KEY,
    decision_id  TEXT NOT NULL UNIQUE,
    session_id   TEXT NOT NULL,
    agent_id     TEXT NOT NULL,
    repository   TEXT NOT NULL,
    policy_pack  TEXT NOT NULL,
    decision     TEXT NOT NULL,
    severity     TEXT NOT NULL,
    action_type  TEXT NOT NULL,
    ts_us        BIGINT NOT NULL,
    record       TEXT NOT NULL  -- the full record as JSON, unknown fields included
);
CREATE INDEX activity_decisions_session ON activity_decisions (session_id, sequence);
CREATE INDEX activity_decisions_agent ON activity_decisions (agent_id, sequence);
CREATE INDEX activity_decisions_repository ON activity_decisions (repository, sequence);
CREATE INDEX activity_decisions_pack ON activity_decisions (policy_pack, sequence);
CREATE INDEX activity_decisions_decision ON activity_decisions (decision, sequence);
CREATE INDEX activity_decisions_severity ON activity_decisions (severity, sequence);
CREATE INDEX activity_decisions_action_type ON activity_decisions (action_type, sequence);
CREATE INDEX activity_decisions_ts ON activity_decisions (ts_us);

-- A session's evidence references, one row per reference, so the list grows in O(1). `id` is
-- their order: appends to one session are serialised by its row lock, so ids grow with the chain
-- (SQLite orders by `sequence, rowid` instead).
CREATE TABLE activity_evidence_refs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  TEXT NOT NULL,
    sequence    BIGINT NOT NULL,
    ref         TEXT NOT NULL
);
CREATE INDEX activity_evidence_refs_session ON activity_evidence_refs (session_id, id);

-- The global sequence without gaps: one row, locked by each append until it commits.
CREATE TABLE activity_log_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    sequence  BIGINT NOT NULL
);
INSERT INTO activity_log_head (id, sequence) VALUES (1, 0);
