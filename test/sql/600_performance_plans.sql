-- Performance features are safe (issue 6): the per-execution tenant parameter, the implied
-- LIKE ranges and built-in operators as index conditions of tenant-leading indexes never show
-- a user predicate another tenant's row, never change results, and plans fit the tenant.
-- Attacker: ti_app with a non-leakproof function that records every value it is shown.
BEGIN;
SELECT plan(29);

CREATE EXTENSION btree_gin;
SET ROLE ti_owner;
CREATE TABLE docs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    title           text NOT NULL,
    tags            jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX docs_title ON docs (organization_id, title text_pattern_ops);
CREATE INDEX docs_tags ON docs USING gin (organization_id, tags);
GRANT SELECT ON docs TO ti_app;
RESET ROLE;
-- skewed: A has 300 rows, B 6,000; both have titles starting with 'ab' and the tag t7
INSERT INTO docs (organization_id, title, tags)
SELECT '0a000000-0000-4000-8000-00000000000a', 'ab' || g || ' alpha', jsonb_build_array('t' || (g % 50))
FROM generate_series(1, 300) g;
INSERT INTO docs (organization_id, title, tags)
SELECT '0b000000-0000-4000-8000-00000000000b', CASE WHEN g % 3 = 0 THEN 'ab' ELSE 'zz' END || g || ' beta-secret',
       jsonb_build_array('t' || (g % 50))
FROM generate_series(1, 6000) g;
ANALYZE docs;

-- helpers (superuser-owned, run with the caller's rights)
\ir include/plan_of.sql
CREATE FUNCTION pg_temp.rows_estimate(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
    RETURN (j->0->'Plan'->>'Plan Rows')::float8;
END $$;
-- the recorder: a non-leakproof function that writes down every value it is shown
-- (a temporary table: not a tenant table, visible to this session only)
CREATE TEMP TABLE seen (v text);
GRANT INSERT, SELECT, DELETE ON seen TO ti_app;
CREATE FUNCTION record_seen(t text) RETURNS boolean LANGUAGE plpgsql VOLATILE COST 0.0001 AS $$
BEGIN
    INSERT INTO seen VALUES (t);
    RETURN true;
END $$;
CREATE FUNCTION record_seen_j(t jsonb) RETURNS boolean LANGUAGE plpgsql VOLATILE COST 0.0001 AS $$
BEGIN
    INSERT INTO seen VALUES (t::text);
    RETURN true;
END $$;

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;

-- 1. plans
SELECT matches(pg_temp.plan_of($$SELECT count(*) FROM docs WHERE title LIKE 'ab1%'$$),
               'Index Cond: .*organization_id = tenant_iso.current_org_id\(\).*title ~>=~ ''ab1''::text.*title ~<~ ''ab2''::text',
               'LIKE ''ab1%'' gets its implied range as an index condition after the tenant equality');
-- (cost-based: for A's 300 rows the plain tenant index wins; with sequential scans off, for B's
-- 6,000 rows, the GIN index with both conditions is the cheapest index plan)
RESET ROLE; SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'; SET ROLE ti_app;
SET enable_seqscan = off;
SELECT matches(pg_temp.plan_of($$SELECT count(*) FROM docs WHERE tags @> '["t7"]'$$),
               'Index Cond: \(\(organization_id = tenant_iso.current_org_id\(\)\) AND \(tags @> ''\["t7"\]''::jsonb\)\)',
               'jsonb @> is an index condition of the (organization_id, tags) GIN index, with the tenant equality');
SELECT matches(pg_temp.plan_of($$SELECT count(*) FROM docs WHERE tags @> '["t7"]'$$),
               'Recheck Cond: \(\(organization_id = tenant_iso.current_org_id\(\)\) AND',
               'the heap recheck tests organization_id before the jsonb operator');
RESET enable_seqscan;
RESET ROLE; SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a'; SET ROLE ti_app;
SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
SELECT matches(pg_temp.plan_of($$SELECT count(*) FROM docs WHERE title LIKE 'ab%'$$),
               'Filter: .*organization_id = \$[0-9]+',
               'a sequential scan compares with a per-execution parameter, not a per-row function call');
SELECT doesnt_match(pg_temp.plan_of($$SELECT count(*) FROM docs$$),
                    'Filter: .*current_org_id',
                    'no per-row current_org_id() call remains in the filter');
RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan;

-- 2. estimates follow the actual tenant (skew: A 300 rows, B 6,000 rows)
SELECT cmp_ok(pg_temp.rows_estimate('SELECT * FROM docs'), '<', 600::float8,
              'A''s row estimate is within 2x of its 300 rows');
RESET ROLE; SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'; SET ROLE ti_app;
SELECT cmp_ok(pg_temp.rows_estimate('SELECT * FROM docs'), '>', 3000::float8,
              'B''s row estimate is within 2x of its 6,000 rows');
RESET ROLE; SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a'; SET ROLE ti_app;

-- 3. the recorder never sees a row of B, under every plan shape
DELETE FROM seen;
SELECT is((SELECT count(*) FROM docs WHERE title LIKE 'ab%' AND record_seen(title)), 300::bigint,
          'LIKE + recorder, default plan: A''s 300 rows');
SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
SELECT is((SELECT count(*) FROM docs WHERE title LIKE 'ab%' AND record_seen(title)), 300::bigint,
          'LIKE + recorder, sequential scan');
RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan;
SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM docs WHERE title LIKE 'ab%' AND record_seen(title)), 300::bigint,
          'LIKE + recorder, index scan');
RESET enable_seqscan; RESET enable_bitmapscan;
SET enable_seqscan = off; SET enable_indexscan = off;
SELECT is((SELECT count(*) FROM docs WHERE title LIKE 'ab%' AND record_seen(title)), 300::bigint,
          'LIKE + recorder, bitmap scan');
RESET enable_seqscan; RESET enable_indexscan;
SELECT is((SELECT count(*) FROM docs d JOIN courses c ON c.organization_id = d.organization_id
           WHERE d.title LIKE 'ab1%' AND record_seen(d.title || '|' || c.title)), 2 * 111::bigint,
          'LIKE + recorder in a join: A''s rows only');
SELECT is((SELECT count(*) FROM (SELECT title FROM docs WHERE title LIKE 'ab2%' OFFSET 0) s WHERE record_seen(s.title)),
          111::bigint, 'LIKE + recorder over a subquery');
SELECT is((SELECT count(*) FROM docs WHERE tags @> '["t7"]' AND record_seen_j(tags)), 6::bigint,
          'jsonb @> + recorder, default plan: A''s 6 rows');
SET enable_seqscan = off; SET enable_indexscan = off;
SELECT is((SELECT count(*) FROM docs WHERE tags @> '["t7"]' AND title LIKE '%alpha' AND record_seen(title)), 6::bigint,
          'jsonb @> + recorder through the GIN index: A''s 6 rows');
RESET enable_seqscan; RESET enable_indexscan;
SET enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM docs WHERE tags @> '["t7"]' AND record_seen_j(tags)), 6::bigint,
          'jsonb @> + recorder, sequential scan');
RESET enable_bitmapscan;
SELECT is((SELECT count(*) FROM seen WHERE v LIKE '%beta-secret%'), 0::bigint,
          'the recorder never saw a title of B');
SELECT cmp_ok((SELECT count(*) FROM seen), '>', 0::bigint, 'the recorder did record (the test can fail)');

-- 4. results are identical with the optimisations off
CREATE TEMP TABLE on_results AS
    SELECT 'like' AS q, count(*) AS n FROM docs WHERE title LIKE 'ab1%'
    UNION ALL SELECT 'like_escape', count(*) FROM docs WHERE title LIKE 'ab\_%'
    UNION ALL SELECT 'like_underscore', count(*) FROM docs WHERE title LIKE 'a_1%'
    UNION ALL SELECT 'like_exact', count(*) FROM docs WHERE title LIKE 'ab10 alpha'
    UNION ALL SELECT 'like_unicode', count(*) FROM docs WHERE title LIKE 'äb%'
    UNION ALL SELECT 'jsonb', count(*) FROM docs WHERE tags @> '["t7"]'
    UNION ALL SELECT 'jsonb_or', count(*) FROM docs WHERE tags @> '["t7"]' OR title LIKE 'ab3%';
SET tenant_iso.implied_quals = off;
SELECT doesnt_match(pg_temp.plan_of($$SELECT count(*) FROM docs WHERE title LIKE 'ab1%'$$), '~>=~',
                    'with tenant_iso.implied_quals = off no range is added');
SELECT doesnt_match(pg_temp.plan_of($$SELECT count(*) FROM docs WHERE tags @> '["t7"]'$$),
                    'Index Cond: .*tags @>', 'with tenant_iso.implied_quals = off jsonb @> is no index condition');
SELECT results_eq(
    $$SELECT 'like' AS q, count(*) AS n FROM docs WHERE title LIKE 'ab1%'
      UNION ALL SELECT 'like_escape', count(*) FROM docs WHERE title LIKE 'ab\_%'
      UNION ALL SELECT 'like_underscore', count(*) FROM docs WHERE title LIKE 'a_1%'
      UNION ALL SELECT 'like_exact', count(*) FROM docs WHERE title LIKE 'ab10 alpha'
      UNION ALL SELECT 'like_unicode', count(*) FROM docs WHERE title LIKE 'äb%'
      UNION ALL SELECT 'jsonb', count(*) FROM docs WHERE tags @> '["t7"]'
      UNION ALL SELECT 'jsonb_or', count(*) FROM docs WHERE tags @> '["t7"]' OR title LIKE 'ab3%'$$,
    $$SELECT q, n FROM on_results$$,
    'the same results with the optimisations off as on');
RESET tenant_iso.implied_quals;
SELECT is((SELECT n FROM on_results WHERE q = 'like'), 111::bigint, 'LIKE ''ab1%'': 111 of A''s rows (1, 10-19, 100-199)');
SELECT is((SELECT n FROM on_results WHERE q = 'like_exact'), 1::bigint, 'LIKE without wildcard: one row');

-- 5. a cached generic plan follows a tenant switch
SET plan_cache_mode = force_generic_plan;
PREPARE q AS SELECT count(*) FROM docs WHERE title LIKE 'ab%';
SELECT is((SELECT count(*) FROM docs WHERE title LIKE 'ab%'), 300::bigint, 'A: 300 rows');
SELECT results_eq('EXECUTE q', ARRAY[300::bigint], 'the generic plan for A: A''s 300 rows');
RESET ROLE; SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'; SET ROLE ti_app;
SELECT results_eq('EXECUTE q', ARRAY[2000::bigint], 'the same generic plan for B: B''s 2,000 rows');
DEALLOCATE q;
RESET plan_cache_mode;

-- 6. the tenant comparison runs before any other restrictive policy
RESET ROLE;
SET ROLE ti_owner;
CREATE POLICY a_first ON docs AS RESTRICTIVE USING (public.record_seen(title));
RESET ROLE;
GRANT EXECUTE ON FUNCTION record_seen(text) TO ti_app;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
DELETE FROM seen;
SELECT is((SELECT count(*) FROM docs), 300::bigint, 'a restrictive policy named before tenant_isolation narrows nothing here');
SELECT is((SELECT count(*) FROM seen WHERE v LIKE '%beta-secret%'), 0::bigint,
          '... and its function never sees a row of B');
SELECT is((SELECT count(*) FROM seen), 300::bigint, '... it saw exactly A''s 300 rows');

SELECT * FROM finish();
ROLLBACK;
