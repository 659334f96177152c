-- A time window (`since`/`until`) with exact-match filters, read from one index: `ts_us` followed
-- by every filter column but `session_id` (a session's rows are few and have their own index),
-- so a window with any of those filters is counted and its page chosen from the index alone:
-- `decision = 'block'` over one day at a million decisions reads that day's ~33,000 entries
-- instead of looking up each of 500,000 blocked rows to test its time. The plain `ts_us` index
-- stays for windows without other filters (a sixth of the size, so cheaper to scan). Both grow
-- at their right edge as time advances, so an append adds little to a group commit's pages.
-- Which index answers a query is chosen per query from the kept counts and the window's size
-- (SqliteStore's `decision_plan`).
CREATE INDEX activity_decisions_window
    ON activity_decisions (ts_us, decision, severity, action_type, agent_id, repository, policy_pack);
