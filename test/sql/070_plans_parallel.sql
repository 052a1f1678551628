-- Plans: prepared statements (generic and custom plans) and plpgsql's cached plans follow the
-- current tenant after a switch; parallel plans see only the tenant's rows; the tenant comparison
-- is not a per-row function call.
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
BEGIN;
SELECT plan(43);

\ir include/plan_of.sql
CREATE FUNCTION public.explain_analyze(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record; out text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
        out := out || r."QUERY PLAN" || E'\n';
    END LOOP;
    RETURN out;
END $$;
-- run a query, return its first value as text, or 'ERROR <sqlstate>: <message>'
CREATE FUNCTION public.try_scalar(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text; st text; msg text;
BEGIN
    EXECUTE q INTO v;
    RETURN v;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN 'ERROR ' || st || ': ' || msg;
END $$;
-- plpgsql functions whose statements are planned once per session and cached
CREATE FUNCTION public.course_titles() RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE r text;
BEGIN
    SELECT string_agg(title, ',' ORDER BY title) INTO r FROM courses;
    RETURN r;
END $$;
CREATE FUNCTION public.course_title(course uuid) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE r text;
BEGIN
    SELECT title INTO r FROM courses WHERE id = course;
    RETURN coalesce(r, '(none)');
END $$;

------------------------------------------------------------------------------
-- prepared statements follow the tenant
------------------------------------------------------------------------------
SET ROLE ti_app;
SET plan_cache_mode = force_generic_plan;
PREPARE generic_titles AS SELECT title FROM courses ORDER BY title;
PREPARE generic_by_id(uuid) AS SELECT title FROM courses WHERE id = $1;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT results_eq('generic_titles', ARRAY['Algebra', 'Astronomy'], 'generic plan: A sees its titles');
SELECT results_eq($$EXECUTE generic_by_id('2a000000-0000-4000-8000-000000000001')$$, ARRAY['Algebra'], 'generic plan: A finds its course by id');
SELECT is_empty($$EXECUTE generic_by_id('2b000000-0000-4000-8000-000000000001')$$, 'generic plan: A does not find B''s course by id');
SELECT matches(pg_temp.plan_of($$EXECUTE generic_by_id('2a000000-0000-4000-8000-000000000001')$$), '\$1',
               'sanity: the statement runs a generic plan (parameter $1 in the plan)');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT results_eq('generic_titles', ARRAY['Biology', 'Botany'], 'generic plan: after the switch B sees its titles');
SELECT results_eq($$EXECUTE generic_by_id('2b000000-0000-4000-8000-000000000001')$$, ARRAY['Biology'], 'generic plan: B finds its course by id');
SELECT is_empty($$EXECUTE generic_by_id('2a000000-0000-4000-8000-000000000001')$$, 'generic plan: B does not find A''s course by id');
-- the same with an index scan (the tenant comparison as index condition)
SET enable_seqscan = off;
PREPARE generic_idx AS SELECT title FROM courses WHERE organization_id IS NOT NULL ORDER BY title;
SELECT matches(pg_temp.plan_of('EXECUTE generic_idx'), 'Index', 'sanity: the generic plan uses an index');
SELECT results_eq('generic_idx', ARRAY['Biology', 'Botany'], 'generic index plan: B sees its titles');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT results_eq('generic_idx', ARRAY['Algebra', 'Astronomy'], 'generic index plan: after the switch A sees its titles');
RESET enable_seqscan;

SET plan_cache_mode = force_custom_plan;
PREPARE custom_titles AS SELECT title FROM courses ORDER BY title;
PREPARE custom_by_id(uuid) AS SELECT title FROM courses WHERE id = $1;
SELECT results_eq('custom_titles', ARRAY['Algebra', 'Astronomy'], 'custom plan: A sees its titles');
SELECT is_empty($$EXECUTE custom_by_id('2b000000-0000-4000-8000-000000000002')$$, 'custom plan: A does not find B''s course by id');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT results_eq('custom_titles', ARRAY['Biology', 'Botany'], 'custom plan: after the switch B sees its titles');
SELECT results_eq($$EXECUTE custom_by_id('2b000000-0000-4000-8000-000000000002')$$, ARRAY['Botany'], 'custom plan: B finds its course by id');

-- plan_cache_mode = auto: after five executions the plan cache switches to a generic plan
SET plan_cache_mode = auto;
PREPARE auto_titles AS SELECT string_agg(title, ',' ORDER BY title) FROM courses;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT results_eq('auto_titles', ARRAY['Algebra,Astronomy'], 'auto plan, execution 1: A');
SELECT results_eq('auto_titles', ARRAY['Algebra,Astronomy'], 'auto plan, execution 2: A');
SELECT results_eq('auto_titles', ARRAY['Algebra,Astronomy'], 'auto plan, execution 3: A');
SELECT results_eq('auto_titles', ARRAY['Algebra,Astronomy'], 'auto plan, execution 4: A');
SELECT results_eq('auto_titles', ARRAY['Algebra,Astronomy'], 'auto plan, execution 5: A');
SELECT results_eq('auto_titles', ARRAY['Algebra,Astronomy'], 'auto plan, execution 6: A');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT results_eq('auto_titles', ARRAY['Biology,Botany'], 'auto plan, execution 7 after the switch: B');
SELECT is((SELECT generic_plans FROM pg_prepared_statements WHERE name = 'auto_titles') > 0, true,
          'sanity: the plan cache did use a generic plan');

-- a statement prepared before any tenant was set
RESET tenant.org_id;
PREPARE no_tenant_yet AS SELECT title FROM courses ORDER BY title;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT results_eq('no_tenant_yet', ARRAY['Algebra', 'Astronomy'], 'a statement prepared without a tenant runs for the tenant set later');

-- plpgsql caches the plans of its statements for the session
SET plan_cache_mode = force_generic_plan;
SELECT is(public.course_titles(), 'Algebra,Astronomy', 'plpgsql cached plan: A');
SELECT is(public.course_title('2b000000-0000-4000-8000-000000000001'), '(none)', 'plpgsql cached plan with a parameter: A cannot read B''s course');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is(public.course_titles(), 'Biology,Botany', 'plpgsql cached plan: after the switch B');
SELECT is(public.course_title('2b000000-0000-4000-8000-000000000001'), 'Biology', 'plpgsql cached plan with a parameter: B reads its course');
SELECT is(public.course_title('2a000000-0000-4000-8000-000000000001'), '(none)', 'plpgsql cached plan with a parameter: B cannot read A''s course');
SET plan_cache_mode = auto;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT public.course_titles() FROM generate_series(1, 6) \g /dev/null
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is(public.course_titles(), 'Biology,Botany', 'plpgsql plan cached over 6 calls as A (auto mode) follows the switch to B');

------------------------------------------------------------------------------
-- the tenant comparison is not a per-row function call
------------------------------------------------------------------------------
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT pg_temp.plan_of('SELECT * FROM courses') AS seq_plan \gset
SELECT matches(:'seq_plan'::text, 'Seq Scan on courses', 'sanity: a sequential scan plan');
SELECT doesnt_match(:'seq_plan'::text, 'Filter: [^\n]*current_org_id\(\)',
                    'the sequential scan''s filter does not call current_org_id() per row');
SELECT matches(:'seq_plan'::text, 'Filter: [^\n]*organization_id = \$[0-9]+',
               'the filter compares organization_id with a value computed once (a parameter)');
RESET enable_indexscan;
RESET enable_bitmapscan;
SET enable_seqscan = off;
SELECT matches(pg_temp.plan_of('SELECT * FROM courses'), 'Index (Only )?Scan using \S+ on courses\s+Index Cond: \(organization_id = ',
               'with an index, the tenant comparison is an index condition on organization_id');
RESET enable_seqscan;
RESET ROLE;

------------------------------------------------------------------------------
-- parallel plans see only the tenant's rows
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE TABLE big (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, v int NOT NULL);
RESET ROLE;
INSERT INTO big (organization_id, v)
SELECT o, g FROM generate_series(1, 3000) g,
       (VALUES ('0a000000-0000-4000-8000-00000000000a'::uuid), ('0b000000-0000-4000-8000-00000000000b'::uuid)) x(o);
ANALYZE big;
-- let the session's application role run EXPLAIN ANALYZE to see the workers
SET tenant_iso.allow_explain_analyze = on;
SET ROLE ti_app;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;   -- the workers read every row
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT matches(pg_temp.plan_of('SELECT count(*) FROM big'), 'Gather(.|\n)*Parallel Seq Scan on big', 'EXPLAIN shows a Gather over a parallel scan');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a') FROM big$$,
                  $$VALUES (3000::bigint, 0::bigint)$$, 'parallel plan: A gets exactly its 3000 rows, none of B');
SELECT results_eq($$SELECT count(*) FILTER (WHERE organization_id = tenant_iso.current_org_id()) FROM big$$,
                  $$VALUES (3000::bigint)$$, 'current_org_id() evaluated in the workers is the tenant');
SELECT matches(public.explain_analyze('SELECT count(*) FROM big'), 'Workers Launched: [12]',
               'sanity: parallel workers were launched');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE organization_id <> '0b000000-0000-4000-8000-00000000000b') FROM big$$,
                  $$VALUES (3000::bigint, 0::bigint)$$, 'parallel plan after the switch: B gets exactly its 3000 rows');
SET plan_cache_mode = force_generic_plan;
PREPARE parallel_count AS SELECT count(*) FILTER (WHERE organization_id = '0a000000-0000-4000-8000-00000000000a') AS a_rows, count(*) AS all_rows FROM big;
SELECT results_eq('parallel_count', $$VALUES (0::bigint, 3000::bigint)$$, 'prepared parallel plan: B');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT results_eq('parallel_count', $$VALUES (3000::bigint, 3000::bigint)$$, 'prepared parallel plan after the switch: A');
RESET plan_cache_mode;
RESET tenant.org_id;
SELECT throws_ok('SELECT count(*) FROM big', 'TI001', NULL, 'parallel plan without a tenant: TI001');
RESET ROLE;

-- SET LOCAL under tenant_iso.context_scope = 'transaction' reaches the workers too
SET tenant_iso.context_scope = 'transaction';
SET ROLE ti_app;
SET LOCAL tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT matches(pg_temp.plan_of('SELECT count(*) FROM big'), 'Gather', 'sanity: still a parallel plan');
SELECT is(public.try_scalar($$SELECT count(*) || ' rows, ' || count(*) FILTER (WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a') || ' foreign' FROM big$$),
          '3000 rows, 0 foreign', 'context_scope = transaction: a parallel plan sees the tenant set by SET LOCAL');
RESET ROLE;
RESET tenant_iso.context_scope;

SELECT * FROM finish();
ROLLBACK;
