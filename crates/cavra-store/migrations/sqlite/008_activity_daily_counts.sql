-- Daily counts for the console's overview, beside the hourly ones of 007 and kept the same way
-- (in `activity_counts`, by the transactions that store the decisions, once per distinct key per
-- group commit). A value starts with the UTC day since the Unix epoch, zero-padded to 10 digits:
--   daily.repository       DDDDDDDDDD|outcome|repository  decisions other than `allow`
--   daily.agent_id         DDDDDDDDDD|outcome|agent_id    decisions other than `allow`
--   daily.rule_id          DDDDDDDDDD|outcome|rule_id     decisions other than `allow`
--   daily.blocked_session  DDDDDDDDDD|block|session_id    `block` decisions
-- An overview range reads the days it covers entirely from these and only its partial first and
-- last day from the hourly rows. Counted once here from the hourly rows already kept.
INSERT INTO activity_counts (kind, value, n)
    SELECT 'daily.' || substr(kind, 8),
           printf('%010d', CAST(substr(value, 1, 10) AS INTEGER) / 24) || substr(value, 11),
           SUM(n)
    FROM activity_counts
    WHERE kind IN ('hourly.repository', 'hourly.agent_id', 'hourly.rule_id', 'hourly.blocked_session')
    GROUP BY 1, 2;
