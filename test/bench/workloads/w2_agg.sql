-- W2: count and aggregate over the whole big tenant (k = 1); the sequential-scan runs turn
-- index, index-only and bitmap scans off through PGOPTIONS.
SELECT count(*), max(created_at) FROM @T@@WHERE_ORG@;
