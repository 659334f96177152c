-- Signed checkpoints over every session's chain head and count (SPEC §7).
CREATE TABLE evidence_checkpoints (
    checkpoint_id   TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    session_count   INTEGER NOT NULL,
    decision_count  INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    signature       TEXT NOT NULL
);
CREATE INDEX evidence_checkpoints_created ON evidence_checkpoints (created_at);
