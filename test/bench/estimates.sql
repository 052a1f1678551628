-- test/bench/estimates.sql: the planner's row estimate for the whole big tenant versus the
-- actual row count, per variant and plan shape, and whether a cached generic plan follows a
-- tenant switch. Run by the superuser (see explain.sql); prints "key|value|..." lines.
-- psql variables: big, medium.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
\pset fieldsep '|'
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION bench_plain.scan_rows(q text)
RETURNS TABLE (node text, plan_rows numeric, actual_rows numeric)
LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO j;
    RETURN QUERY
        SELECT n->>'Node Type', (n->>'Plan Rows')::numeric, (n->>'Actual Rows')::numeric
        FROM jsonb_path_query(j, 'strict $.** ? (exists (@."Relation Name"))') n
        LIMIT 1;
END
$$;
GRANT USAGE ON SCHEMA bench_plain TO bench_app;
SET tenant_iso.allow_explain_analyze = on;
SET ROLE bench_app;
SET tenant.org_id = :'big';

SELECT 'estimate', 'V0', 'default', node, plan_rows, actual_rows FROM bench_plain.scan_rows(
    format('SELECT count(*), max(created_at) FROM bench_plain.courses_v0 WHERE organization_id = %L', :'big'));
SELECT 'estimate', 'V1', 'default', node, plan_rows, actual_rows FROM bench_plain.scan_rows('SELECT count(*), max(created_at) FROM bench_plain.courses_v1');
SELECT 'estimate', 'V2', 'default', node, plan_rows, actual_rows FROM bench_plain.scan_rows('SELECT count(*), max(created_at) FROM bench_plain.courses_v2');
SELECT 'estimate', 'V3', 'default', node, plan_rows, actual_rows FROM bench_plain.scan_rows('SELECT count(*), max(created_at) FROM bench.courses');
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
SELECT 'estimate', 'V0', 'seqscan', node, plan_rows, actual_rows FROM bench_plain.scan_rows(
    format('SELECT count(*), max(created_at) FROM bench_plain.courses_v0 WHERE organization_id = %L', :'big'));
SELECT 'estimate', 'V1', 'seqscan', node, plan_rows, actual_rows FROM bench_plain.scan_rows('SELECT count(*), max(created_at) FROM bench_plain.courses_v1');
SELECT 'estimate', 'V2', 'seqscan', node, plan_rows, actual_rows FROM bench_plain.scan_rows('SELECT count(*), max(created_at) FROM bench_plain.courses_v2');
SELECT 'estimate', 'V3', 'seqscan', node, plan_rows, actual_rows FROM bench_plain.scan_rows('SELECT count(*), max(created_at) FROM bench.courses');
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;

-- A cached generic plan must follow a tenant switch.
SET plan_cache_mode = force_generic_plan;
-- ... and which estimate does it keep? Planned while the medium tenant is set, run for the big one.
SET tenant.org_id = :'medium';
PREPARE v1_count AS SELECT count(*), max(created_at) FROM bench_plain.courses_v1;
PREPARE v2_count AS SELECT count(*), max(created_at) FROM bench_plain.courses_v2;
PREPARE v3_count AS SELECT count(*), max(created_at) FROM bench.courses;
EXECUTE v1_count \g /dev/null
EXECUTE v2_count \g /dev/null
EXECUTE v3_count \g /dev/null
SET tenant.org_id = :'big';
SELECT 'estimate', 'V1', 'generic plan made for the medium tenant', node, plan_rows, actual_rows FROM bench_plain.scan_rows('EXECUTE v1_count');
SELECT 'estimate', 'V2', 'generic plan made for the medium tenant', node, plan_rows, actual_rows FROM bench_plain.scan_rows('EXECUTE v2_count');
SELECT 'estimate', 'V3', 'generic plan made for the medium tenant', node, plan_rows, actual_rows FROM bench_plain.scan_rows('EXECUTE v3_count');
PREPARE tenant_count AS SELECT count(*) FROM bench.courses;
SET tenant.org_id = :'big';
EXECUTE tenant_count \gset big_
SET tenant.org_id = :'medium';
EXECUTE tenant_count \gset medium_
SET tenant.org_id = :'big';
EXECUTE tenant_count \gset again_
\echo generic|:big_count|:medium_count|:again_count
RESET ROLE;
