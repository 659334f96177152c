-- Hourly counts for the console's overview (issue 5); see the SQLite migration of the same
-- number for the keys. Counted once here for the decisions already stored.
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.decisions', lpad((GREATEST(ts_us, 0) / 3600000000)::text, 10, '0') || '|' || decision, COUNT(*)
    FROM activity_decisions GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.repository',
           lpad((GREATEST(ts_us, 0) / 3600000000)::text, 10, '0') || '|' || decision || '|' || repository, COUNT(*)
    FROM activity_decisions WHERE decision <> 'allow' GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.agent_id',
           lpad((GREATEST(ts_us, 0) / 3600000000)::text, 10, '0') || '|' || decision || '|' || agent_id, COUNT(*)
    FROM activity_decisions WHERE decision <> 'allow' GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.rule_id',
           lpad((GREATEST(ts_us, 0) / 3600000000)::text, 10, '0') || '|' || decision || '|' || (record::jsonb ->> 'rule_id'),
           COUNT(*)
    FROM activity_decisions WHERE decision <> 'allow' GROUP BY 2;
INSERT INTO activity_counts (kind, value, n)
    SELECT 'hourly.blocked_session',
           lpad((GREATEST(ts_us, 0) / 3600000000)::text, 10, '0') || '|' || decision || '|' || session_id, COUNT(*)
    FROM activity_decisions WHERE decision = 'block' GROUP BY 2;
