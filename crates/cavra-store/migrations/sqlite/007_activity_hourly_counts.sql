-- Hourly counts for the console's overview (issue 5), kept in `activity_counts` under `hourly.*`
-- kinds by the same transactions that store the decisions, once per distinct key per group
-- commit. A value starts with the hour since the Unix epoch, zero-padded to 10 digits, so a time
-- range is a range scan of the primary key:
--   hourly.decisions        HHHHHHHHHH|outcome             every decision
--   hourly.repository       HHHHHHHHHH|outcome|repository  decisions other than `allow`
--   hourly.agent_id         HHHHHHHHHH|outcome|agent_id    decisions other than `allow`
--   hourly.rule_id          HHHHHHHHHH|outcome|rule_id     decisions other than `allow`
--   hourly.blocked_session  HHHHHHHHHH|block|session_id    `block` decisions
-- Counted once here for the decisions already stored.
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.decisions', printf('%010d|%s', MAX(ts_us, 0) / 3600000000, decision), COUNT(*)
    FROM activity_decisions GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.repository', printf('%010d|%s|%s', MAX(ts_us, 0) / 3600000000, decision, repository), COUNT(*)
    FROM activity_decisions WHERE decision <> 'allow' GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.agent_id', printf('%010d|%s|%s', MAX(ts_us, 0) / 3600000000, decision, agent_id), COUNT(*)
    FROM activity_decisions WHERE decision <> 'allow' GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.rule_id',
           printf('%010d|%s|%s', MAX(ts_us, 0) / 3600000000, decision, json_extract(record, '$.rule_id')), COUNT(*)
    FROM activity_decisions WHERE decision <> 'allow' GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.blocked_session', printf('%010d|%s|%s', MAX(ts_us, 0) / 3600000000, decision, session_id), COUNT(*)
    FROM activity_decisions WHERE decision = 'block' GROUP BY 2;
