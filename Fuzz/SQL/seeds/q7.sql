SELECT DISTINCT CASE WHEN i > 0 THEN upper(s) ELSE coalesce(s, 'x') END AS c, extract(minute FROM ts), date_trunc('day', ts) FROM t WHERE regexp_matches(s, '^a.*') ORDER BY 1 LIMIT 5 OFFSET 1
