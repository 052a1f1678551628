-- W3m: insert 10,000 rows in one statement (INSERT ... SELECT) into the writer tenant (k = 3).
-- V0 names the organization; tenant_iso (V3) stamps every row with its trigger. Each
-- transaction is rolled back and run.sh vacuums the table before each run, so every run
-- inserts into a table of the same size (docs/benchmark.md).
BEGIN;
INSERT INTO @T@ (id, @ORG_COL@title)
SELECT gen_random_uuid(), @ORG_VAL@'A new course' FROM generate_series(1, 10000);
ROLLBACK;
