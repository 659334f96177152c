-- What happened when an allowed tool ran (Claude Code's PostToolUse), beside the decision that
-- let it run. Decision records are hash-chained and immutable, so outcomes are rows of their own,
-- one per decision (the first reported stays).
CREATE TABLE activity_tool_outcomes (
    decision_id  TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    tool_use_id  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    recorded_at  TEXT NOT NULL
);

-- A PostToolUse names its call by session and tool-use id; this finds the decision without
-- reading the session's records. Only decisions that carry a tool-use id are indexed.
CREATE INDEX activity_decisions_tool_use
    ON activity_decisions (session_id, ((record::jsonb) ->> 'tool_use_id'), sequence)
    WHERE ((record::jsonb) ->> 'tool_use_id') IS NOT NULL;
