-- Approvals requested by `require_approval` decisions and what people decided.
CREATE TABLE approvals (
    approval_id     TEXT PRIMARY KEY,
    decision_id     TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    approver_group  TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired')),
    requested_at    TEXT NOT NULL,
    decided_at      TEXT,
    decided_by      TEXT,
    reason          TEXT
);
CREATE INDEX approvals_decision ON approvals (decision_id);
CREATE INDEX approvals_state ON approvals (state, requested_at);
