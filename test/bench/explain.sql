-- test/bench/explain.sql: plans of `make bench` (Markdown on stdout), run by the superuser,
-- which takes the application role and is allowed EXPLAIN ANALYZE on tenant tables
-- (tenant_iso.allow_explain_analyze is a superuser-only setting). psql variables: big, medium.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
SET tenant_iso.allow_explain_analyze = on;
SET ROLE bench_app;

\qecho '#### W2: count over the big tenant'
\qecho
SET tenant.org_id = :'big';
\qecho '**V3 (tenant_iso)**, `SELECT count(*), max(created_at) FROM bench.courses`:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT count(*), max(created_at) FROM bench.courses;
\qecho '```'
\qecho '**V1 (bare current_setting() policy)**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT count(*), max(created_at) FROM bench_plain.courses_v1;
\qecho '```'
\qecho '**V2 (initplan policy)**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT count(*), max(created_at) FROM bench_plain.courses_v2;
\qecho '```'
\qecho '**V0 (explicit WHERE)**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT count(*), max(created_at) FROM bench_plain.courses_v0 WHERE organization_id = :'big';
\qecho '```'
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
\qecho '**V3 (tenant_iso), sequential scan forced**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT count(*), max(created_at) FROM bench.courses;
\qecho '```'
\qecho '**V1, sequential scan forced** (the policy expression is evaluated for every row):'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT count(*), max(created_at) FROM bench_plain.courses_v1;
\qecho '```'
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;

\qecho '#### W5: title LIKE ''ab%'' in the big tenant'
\qecho
\qecho '**V0 (explicit WHERE)**: the LIKE prefix becomes part of the index condition.'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT id, title FROM bench_plain.courses_v0 WHERE title LIKE 'ab%' AND organization_id = :'big';
\qecho '```'
\qecho '**V3 (tenant_iso)**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT id, title FROM bench.courses WHERE title LIKE 'ab%';
\qecho '```'
\qecho '**V3 with `tenant_iso.implied_quals = off`**: LIKE is not leakproof, so it may only filter the rows the tenant condition has passed.'
SET tenant_iso.implied_quals = off;
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT id, title FROM bench.courses WHERE title LIKE 'ab%';
\qecho '```'
RESET tenant_iso.implied_quals;
\qecho '**V2 (initplan policy)**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT id, title FROM bench_plain.courses_v2 WHERE title LIKE 'ab%';
\qecho '```'
\qecho '#### W5: tags @> ''["t7"]'' in the big tenant'
\qecho
\qecho '**V0 (explicit WHERE)**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT id, title FROM bench_plain.courses_v0 WHERE tags @> '["t7"]' AND organization_id = :'big';
\qecho '```'
\qecho '**V3 (tenant_iso)**:'
\qecho '```'
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT id, title FROM bench.courses WHERE tags @> '["t7"]';
\qecho '```'
RESET ROLE;
