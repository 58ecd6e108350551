SELECT regexp_replace(s, '(\w)(\w*)', '\2\1', 'g'), substring(s, -2, 3), length(s), strlen(s), nullif(i, 0), sum(i + 1) FROM t GROUP BY 1, 2, 3, 4, 5
