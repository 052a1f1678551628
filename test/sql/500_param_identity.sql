-- Issue 10, item 1: the per-execution tenant parameter.
-- Attacks the executor parameter that carries the tenant in plan filters, as the application role
-- ti_app (and the table owner ti_owner): the old crash (a query's own parameter of the tenant's
-- type was taken for the tenant parameter, the real one left zero, uuid_eq dereferenced NULL) and
-- every shape that could produce, reference or shadow a uuid parameter next to it: casts, initPlan
-- and correlated subqueries, CTEs, arrays, set-returning functions, functions, LATERAL (nestloop)
-- parameters, prepared statements (generic and custom plans), cursors, cached PL/pgSQL plans,
-- views, writes, parallel plans, no tenant at all.  Each query must return the tenant's own rows
-- (never B's), and the server must never crash: the same backend and the same postmaster run the
-- whole file.  An EvalPlanQual recheck (a concurrent update, through dblink) evaluates the filter
-- in an executor state of its own: it too gets the tenant.
-- No BEGIN around the file: the EvalPlanQual test needs a committed update (the database is
-- thrown away afterwards).
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SELECT pg_backend_pid() AS pid0, pg_postmaster_start_time() AS start0 \gset
-- force_parallel_mode was renamed debug_parallel_query in PostgreSQL 16
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS fpm \gset
SELECT plan(48);

\ir include/err.sql
\ir include/plan_of.sql
-- wait (at most a minute) until backend p waits for a lock
CREATE FUNCTION pg_temp.wait_for_lock(p int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..1200 LOOP
        IF EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND pid = p) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END $$;
CREATE FUNCTION public.null_uuid() RETURNS uuid LANGUAGE sql VOLATILE AS 'SELECT NULL::uuid';
CREATE FUNCTION public.null_uuid_plpgsql() RETURNS uuid LANGUAGE plpgsql VOLATILE AS 'BEGIN RETURN NULL; END';
CREATE FUNCTION public.titles_not_null_param() RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE r text;
BEGIN
    SELECT string_agg(title, ',' ORDER BY title) INTO r FROM courses WHERE title <> coalesce((SELECT NULL::uuid)::text, '-');
    RETURN r;
END $$;
CREATE FUNCTION public.titles_sql_param(o uuid) RETURNS SETOF text LANGUAGE sql STABLE AS
    $$SELECT title FROM courses WHERE organization_id IS DISTINCT FROM o ORDER BY title$$;
CREATE FUNCTION public.count_parallel_safe(o uuid) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS
    $$SELECT count(*) FROM courses WHERE organization_id IS DISTINCT FROM o$$;
CREATE VIEW public.course_titles_v AS SELECT title, organization_id FROM courses;
GRANT SELECT ON public.course_titles_v TO ti_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app;

------------------------------------------------------------------------------
-- the parameter cannot be produced by user SQL
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT is(to_regtype('tenant_iso.tenant_id'), NULL, 'the old domain tenant_iso.tenant_id no longer exists');
SELECT is((SELECT count(*) FROM pg_type t WHERE t.typnamespace = 'tenant_iso'::regnamespace AND t.typtype IN ('d', 'b', 'e', 'r') AND t.typcategory <> 'A'),
          0::bigint, 'the extension''s schema defines no type a query could cast to (no domain, base, enum or range type; only the tables'' row types)');
SELECT throws_ok($$SELECT title FROM courses WHERE title <> (SELECT NULL::tenant_iso.tenant_id)::text$$, '42704', NULL,
                 'the issue''s crashing query now fails at parse time: the type does not exist (42704)');
SELECT throws_ok($$SELECT NULL::uuid(1414070273)$$, '42601', NULL,
                 'a uuid with a type modifier (the tenant parameter''s mark) cannot be written in a query (42601)');
SELECT throws_ok($$CREATE TEMP TABLE forged (o uuid(1414070273))$$, '42601', NULL,
                 'nor declared as a column of a table');
SELECT throws_ok($$CREATE DOMAIN pg_temp.forged AS uuid(1414070273)$$, '42601', NULL,
                 'nor as a domain');
SELECT throws_ok($$CREATE FUNCTION pg_temp.forged(uuid(1414070273)) RETURNS int LANGUAGE sql AS 'SELECT 1'$$, '42601', NULL,
                 'nor as a function argument');

------------------------------------------------------------------------------
-- the issue's query shape, with sequential scans (the tenant comparison is a filter)
------------------------------------------------------------------------------
SET enable_indexscan = off;
SET enable_bitmapscan = off;
-- (EXPLAIN shows the initPlan's output as $N up to PostgreSQL 16, as (InitPlan N).colN from 17 on)
SELECT matches(pg_temp.plan_of($$SELECT title FROM courses WHERE title <> (SELECT NULL::uuid)::text$$),
               'Seq Scan on courses.*Filter: \(\(organization_id = \$[0-9]+\) AND \(title <> \((\$[0-9]+|\(InitPlan [0-9]+\)\.col[0-9]+)\)::text\)\)',
               'sanity: the plan filters a sequential scan with the tenant parameter and the query''s own uuid parameter');
SELECT is_empty($$SELECT title FROM courses WHERE title <> (SELECT NULL::uuid)::text$$,
                'the issue''s query with a uuid initPlan parameter: no crash, no rows (NULL comparison)');
SELECT results_eq($$SELECT title FROM courses WHERE organization_id IS DISTINCT FROM (SELECT NULL::uuid) ORDER BY title$$,
                  ARRAY['Algebra', 'Astronomy'], 'a NULL uuid initPlan compared with organization_id: A''s rows only');
SELECT is_empty(format($$SELECT title FROM courses WHERE organization_id = (SELECT %L::uuid)$$, :'B'),
                'an initPlan returning B''s id: nothing');
SELECT is_empty(format($$SELECT title FROM courses WHERE organization_id = ANY (ARRAY[(SELECT NULL::uuid), %L::uuid])$$, :'B'),
                'an array of a NULL uuid parameter and B''s id: nothing');
SELECT is_empty(format($$SELECT title FROM courses WHERE organization_id IN (SELECT unnest(ARRAY[NULL::uuid, %L::uuid]))$$, :'B'),
                'a set-returning subquery yielding B''s id: nothing');
SELECT results_eq($$WITH n AS MATERIALIZED (SELECT NULL::uuid AS o) SELECT c.title FROM courses c, n WHERE c.organization_id IS DISTINCT FROM n.o ORDER BY 1$$,
                  ARRAY['Algebra', 'Astronomy'], 'a CTE producing a NULL uuid: A''s rows only');
SELECT results_eq(format($$WITH RECURSIVE r(o, n) AS (SELECT NULL::uuid, 1 UNION ALL SELECT %L::uuid, n + 1 FROM r WHERE n < 3)
                           SELECT c.title FROM courses c WHERE c.organization_id IS DISTINCT FROM (SELECT o FROM r ORDER BY n LIMIT 1) ORDER BY 1$$, :'B'),
                  ARRAY['Algebra', 'Astronomy'], 'a recursive CTE producing uuids: A''s rows only');
SELECT results_eq($$SELECT title FROM courses WHERE organization_id IS DISTINCT FROM public.null_uuid() ORDER BY title$$,
                  ARRAY['Algebra', 'Astronomy'], 'a SQL function returning a NULL uuid: A''s rows only');
SELECT results_eq($$SELECT title FROM courses WHERE organization_id IS DISTINCT FROM public.null_uuid_plpgsql() ORDER BY title$$,
                  ARRAY['Algebra', 'Astronomy'], 'a PL/pgSQL function returning a NULL uuid: A''s rows only');
SELECT results_eq(format($$SELECT c.title FROM (VALUES (NULL::uuid), (%L::uuid)) v(o)
                           CROSS JOIN LATERAL (SELECT title FROM courses WHERE organization_id IS DISTINCT FROM v.o OR organization_id = v.o) c
                           ORDER BY 1$$, :'B'),
                  ARRAY['Algebra', 'Algebra', 'Astronomy', 'Astronomy'], 'LATERAL (nestloop) uuid parameters, NULL and B''s id: A''s rows only');
SELECT results_eq($$SELECT (SELECT string_agg(c2.title, ',' ORDER BY c2.title) FROM courses c2 WHERE c2.organization_id = c1.organization_id)
                    FROM courses c1 ORDER BY c1.title$$,
                  ARRAY['Algebra,Astronomy', 'Algebra,Astronomy'], 'a correlated subquery on organization_id: A''s rows only');
SELECT results_eq($$SELECT title FROM courses WHERE organization_id = coalesce((SELECT NULL::uuid), tenant_iso.current_org_id()) ORDER BY title$$,
                  ARRAY['Algebra', 'Astronomy'], 'current_org_id() named in the query next to a NULL uuid parameter: A''s rows');
SELECT results_eq(format($$SELECT l.title FROM lessons l JOIN courses c ON c.organization_id = l.organization_id AND c.id = l.course_id
                           WHERE l.organization_id IS DISTINCT FROM (SELECT NULL::uuid) AND c.organization_id <> (SELECT %L::uuid) ORDER BY 1$$, :'B'),
                  ARRAY['Stars', 'Variables'], 'a join of two tenant tables with uuid initPlans: A''s rows only');
SELECT results_eq($$SELECT title FROM public.course_titles_v WHERE organization_id IS DISTINCT FROM (SELECT NULL::uuid) ORDER BY title$$,
                  ARRAY['Algebra', 'Astronomy'], 'through a view, with a NULL uuid parameter: A''s rows only');
SELECT results_eq($$SELECT public.titles_sql_param(NULL)$$, ARRAY['Algebra', 'Astronomy'],
                  'an SQL function taking a NULL uuid argument: A''s rows only');
SELECT is(public.titles_not_null_param(), 'Algebra,Astronomy', 'a PL/pgSQL function (plan cached) with a uuid initPlan: A''s rows');
SELECT is(public.titles_not_null_param(), 'Algebra,Astronomy', 'the same cached plan run again: A''s rows');

------------------------------------------------------------------------------
-- prepared parameters of type uuid (generic and custom plans)
------------------------------------------------------------------------------
SET plan_cache_mode = force_generic_plan;
PREPARE p_null(uuid) AS SELECT title FROM courses WHERE organization_id IS DISTINCT FROM $1 ORDER BY title;
PREPARE p_many(uuid, uuid, uuid) AS SELECT title FROM courses WHERE organization_id = ANY (ARRAY[$1, $2, $3]) ORDER BY title;
SELECT results_eq('EXECUTE p_null(NULL)', ARRAY['Algebra', 'Astronomy'], 'generic plan, uuid parameter NULL: A''s rows only');
SELECT is_empty(format('EXECUTE p_many(NULL, %L, NULL)', :'B'), 'generic plan, uuid parameters NULL and B''s id: nothing');
SELECT results_eq(format('EXECUTE p_many(NULL, %L, %L)', :'B', :'A'), ARRAY['Algebra', 'Astronomy'],
                  'generic plan, uuid parameters naming A and B: A''s rows only');
SET plan_cache_mode = force_custom_plan;
SELECT results_eq('EXECUTE p_null(NULL)', ARRAY['Algebra', 'Astronomy'], 'custom plan, uuid parameter NULL: A''s rows only');
RESET plan_cache_mode;
DEALLOCATE p_null;
DEALLOCATE p_many;

------------------------------------------------------------------------------
-- cursors and writes
------------------------------------------------------------------------------
BEGIN;
DECLARE c_null CURSOR FOR SELECT title FROM courses WHERE title <> coalesce((SELECT NULL::uuid)::text, '-') ORDER BY title;
FETCH 1 FROM c_null \gset cur1_
FETCH 1 FROM c_null \gset cur2_
CLOSE c_null;
-- the writes are rolled back; their results are kept in psql variables
WITH u AS (UPDATE courses SET title = title WHERE organization_id IS DISTINCT FROM (SELECT NULL::uuid) RETURNING title)
SELECT string_agg(title, ',' ORDER BY title) AS upd FROM u \gset
WITH d AS (DELETE FROM assets WHERE organization_id IS DISTINCT FROM (SELECT NULL::uuid) RETURNING url)
SELECT string_agg(url, ',' ORDER BY url) AS del FROM d \gset
WITH i AS (INSERT INTO courses (title) SELECT 'copy of ' || title FROM courses WHERE organization_id IS DISTINCT FROM (SELECT NULL::uuid)
           RETURNING organization_id)
SELECT count(*) AS ins_n, string_agg(DISTINCT organization_id::text, ',') AS ins_org FROM i \gset
ROLLBACK;
SELECT is(:'cur1_title' || ',' || :'cur2_title', 'Algebra,Astronomy', 'a cursor with a uuid initPlan: A''s rows');
SELECT is(:'upd'::text, 'Algebra,Astronomy', 'UPDATE with a NULL uuid initPlan: A''s rows only');
SELECT is(:'del'::text, 'https://cdn.alpha.test/stars.pdf,https://cdn.alpha.test/variables.mp4', 'DELETE with a NULL uuid initPlan: A''s rows only');
SELECT is(:'ins_n' || ' ' || :'ins_org', '2 ' || :'A', 'INSERT ... SELECT with a NULL uuid initPlan: A''s 2 rows, stamped A');

------------------------------------------------------------------------------
-- parallel plans: the parameter is filled in every worker too
------------------------------------------------------------------------------
RESET ROLE;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET :fpm = on;
SET ROLE ti_app;
SELECT matches(pg_temp.plan_of($$SELECT count(*) FROM courses WHERE title <> coalesce((SELECT NULL::uuid)::text, '-')$$),
               'Gather', 'sanity: the parallel test query runs under a Gather');
SELECT results_eq($$SELECT count(*), string_agg(title, ',' ORDER BY title) FROM courses WHERE title <> coalesce((SELECT NULL::uuid)::text, '-')$$,
                  $$VALUES (2::bigint, 'Algebra,Astronomy')$$, 'parallel plan with a uuid initPlan: A''s 2 rows');
SELECT results_eq(format($$SELECT count(*) FROM courses WHERE organization_id = ANY (ARRAY[(SELECT NULL::uuid), %L::uuid])$$, :'B'),
                  $$VALUES (0::bigint)$$, 'parallel plan with an array naming B: nothing');
SELECT results_eq($$SELECT public.count_parallel_safe(NULL)$$, $$VALUES (2::bigint)$$,
                  'a PARALLEL SAFE SQL function with a NULL uuid argument, run in a worker: A''s 2 rows');
PREPARE p_par(uuid) AS SELECT count(*) FROM courses WHERE organization_id IS DISTINCT FROM $1;
SELECT results_eq('EXECUTE p_par(NULL)', $$VALUES (2::bigint)$$, 'parallel prepared statement with a NULL uuid parameter: A''s 2 rows');
DEALLOCATE p_par;
RESET ROLE;
RESET :fpm;
SET ROLE ti_app;

------------------------------------------------------------------------------
-- no tenant at all (missing_context = 'empty'): the parameter is NULL, not zero
------------------------------------------------------------------------------
SET tenant_iso.missing_context = 'empty';
SET tenant.org_id = '';
SELECT is_empty($$SELECT title FROM courses WHERE title <> coalesce((SELECT NULL::uuid)::text, '-')$$,
                'no tenant (missing_context = empty), sequential scan with a uuid initPlan: no rows, no crash');
SELECT results_eq($$SELECT count(*) FROM courses WHERE organization_id IS DISTINCT FROM (SELECT NULL::uuid)$$, $$VALUES (0::bigint)$$,
                  'no tenant: a count over the whole table is 0');
RESET tenant_iso.missing_context;
SET tenant.org_id = :'A';

------------------------------------------------------------------------------
-- the table owner, bound by forced row level security, gets the same
------------------------------------------------------------------------------
RESET ROLE;
SET ROLE ti_owner;
SELECT results_eq($$SELECT title FROM courses WHERE organization_id IS DISTINCT FROM (SELECT NULL::uuid) ORDER BY title$$,
                  ARRAY['Algebra', 'Astronomy'], 'ti_owner: a NULL uuid initPlan: A''s rows only');
SELECT is_empty(format($$SELECT title FROM courses WHERE organization_id IN (SELECT unnest(ARRAY[NULL::uuid, %L::uuid]))$$, :'B'),
                'ti_owner: a subquery yielding B''s id: nothing');
RESET ROLE;
RESET enable_indexscan;
RESET enable_bitmapscan;

SELECT is((SELECT string_agg(title, ',' ORDER BY title) FROM courses), 'Algebra,Astronomy,Biology,Botany',
          'superuser: every course is intact');

------------------------------------------------------------------------------
-- EvalPlanQual: a concurrent update makes the waiting UPDATE recheck its filter (tenant
-- parameter included) in a separate executor state
------------------------------------------------------------------------------
CREATE EXTENSION dblink;
SELECT dblink_connect('epq', format('dbname=%s user=ti_app host=%s port=%s', current_database(),
                                    current_setting('unix_socket_directories'), current_setting('port'))) \gset
SELECT pid AS epq_pid FROM dblink('epq', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_exec('epq', format('SET tenant.org_id = %L', :'A')) \gset
SELECT dblink_exec('epq', 'SET enable_indexscan = off') \gset
SELECT dblink_exec('epq', 'SET enable_bitmapscan = off') \gset
BEGIN;
SET LOCAL ROLE ti_app;
SET LOCAL tenant.org_id = :'A';
UPDATE courses SET title = title WHERE id = '2a000000-0000-4000-8000-000000000001';
RESET ROLE;
SELECT dblink_send_query('epq', $$UPDATE courses SET title = title || '!' WHERE title <> coalesce((SELECT NULL::uuid)::text, '-') RETURNING title$$) \gset
SELECT pg_temp.wait_for_lock(:epq_pid) \gset
SELECT ok(EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND pid = :epq_pid),
          'sanity: the concurrent UPDATE (ti_app, tenant A) waits for the row lock');
COMMIT;
SELECT results_eq($$SELECT title FROM dblink_get_result('epq') AS t(title text) ORDER BY title$$,
                  ARRAY['Algebra!', 'Astronomy!'], 'after the EvalPlanQual recheck the UPDATE changed A''s 2 rows, no crash');
SELECT dblink_disconnect('epq') \gset
SELECT is((SELECT string_agg(title, ',' ORDER BY title) FROM courses WHERE organization_id = :'B'), 'Biology,Botany',
          'superuser: B''s courses are untouched');

------------------------------------------------------------------------------
-- nothing crashed
------------------------------------------------------------------------------
SELECT is(pg_backend_pid(), :pid0, 'the same backend ran the whole file (no crash)');
SELECT is(pg_postmaster_start_time(), :'start0'::timestamptz, 'the postmaster did not restart');

SELECT * FROM finish();
