-- Daily counts for the console's overview; see the SQLite migration of the same number for the
-- keys. Counted once here from the hourly rows already kept.
INSERT INTO activity_counts (kind, value, n)
    SELECT 'daily.' || substr(kind, 8),
           lpad((substr(value, 1, 10)::bigint / 24)::text, 10, '0') || substr(value, 11),
           SUM(n)
    FROM activity_counts
    WHERE kind IN ('hourly.repository', 'hourly.agent_id', 'hourly.rule_id', 'hourly.blocked_session')
    GROUP BY 1, 2;
