-- W5: a prefix LIKE within one tenant (medium k = 2 or big k = 1); the index
-- (organization_id, title text_pattern_ops) serves it when LIKE may be an index condition.
SELECT id, title FROM @T@ WHERE title LIKE 'ab%'@AND_ORG@;
