-- Issue 10, item 3: the tenant of parallel workers.
-- Attacks the tenant a parallel worker works for, as the application role ti_app (and the table
-- owner ti_owner): a worker must use only the tenant its leader has in effect, never the raw
-- value of tenant.org_id (restored into the worker from the leader's settings) and never the
-- internal hand-over setting tenant_iso.leader_tenant, which no role can set.  Variants:
-- require_signed_context with an unsigned value from the connection options (PGOPTIONS, a
-- separate connection) or set before signed context was switched on, PARALLEL SAFE SQL and
-- PL/pgSQL functions reading tenant tables in a worker (force_parallel_mode), parallel scans and
-- joins, missing_context = 'empty', context_scope = 'transaction' with set_config(..., false)
-- (refused at COMMIT, 42501, never seen by workers), and a parallel index build whose workers
-- evaluate an index expression that reads a tenant table.
-- No BEGIN around the file: the tests are about transaction boundaries (the database is thrown
-- away afterwards; the per-database role settings go with it).
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
\set key 'tenant-iso-test-key-S-3b8e1d0c6a9f4e2b7d5c'
SELECT pg_backend_pid() AS pid0, pg_postmaster_start_time() AS start0 \gset
-- force_parallel_mode was renamed debug_parallel_query in PostgreSQL 16
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS fpm \gset
SELECT plan(43);

\ir include/err.sql
\ir include/plan_of.sql
-- run a query, return its single value, or 'ERROR <sqlstate>'
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
    EXECUTE q INTO v;
    RETURN v;
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
CREATE FUNCTION public.titles_ps() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
    $$SELECT coalesce(string_agg(title, ',' ORDER BY title), '(none)') FROM courses$$;
CREATE FUNCTION public.titles_plpgsql_ps() RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS
    $$BEGIN RETURN (SELECT coalesce(string_agg(title, ',' ORDER BY title), '(none)') FROM courses); END$$;
CREATE FUNCTION public.user_names_ps() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
    $$SELECT coalesce(string_agg(u.name, ',' ORDER BY u.name), '(none)') FROM users u JOIN enrollments e ON e.organization_id = u.organization_id AND e.user_id = u.id$$;
-- wrongly marked PARALLEL SAFE: it switches the tenant
CREATE FUNCTION public.switch_to_b_ps() RETURNS text LANGUAGE sql VOLATILE PARALLEL SAFE AS
    $$SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false)$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET :fpm = on;

------------------------------------------------------------------------------
-- control: workers follow the leader's tenant
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT matches(pg_temp.plan_of('SELECT public.titles_ps()'), 'Gather.*Single Copy',
               'sanity: a call of the PARALLEL SAFE function runs in a worker (Gather, single copy)');
SELECT matches(pg_temp.plan_of('SELECT count(*) FROM courses'), 'Gather', 'sanity: a scan of courses gets a parallel plan');
SELECT is(public.titles_ps(), 'Algebra,Astronomy', 'tenant A: a PARALLEL SAFE SQL function in a worker sees A''s courses');
SELECT is(public.titles_plpgsql_ps(), 'Algebra,Astronomy', 'tenant A: a PARALLEL SAFE PL/pgSQL function in a worker sees A''s courses');
SELECT is(public.user_names_ps(), 'Ada,Alan', 'tenant A: a join in a worker sees A''s users');
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'tenant A: a parallel scan counts A''s 2 courses');
SET tenant.org_id = :'B';
SELECT is(public.titles_ps(), 'Biology,Botany', 'after SET to B in its own statement: the worker sees B''s courses');
SET tenant.org_id = :'A';
SELECT is(public.titles_ps(), 'Algebra,Astronomy', 'and back to A: A''s courses');
SELECT is(pg_temp.try('SELECT public.switch_to_b_ps() || public.titles_ps()'),
          'ERROR 25000', 'a switch inside a worker (a function wrongly marked PARALLEL SAFE) is refused (25000)');
SELECT is(current_setting('tenant.org_id'), :'A', 'the tenant is still A');

------------------------------------------------------------------------------
-- the hand-over setting cannot be set by anyone
------------------------------------------------------------------------------
SELECT throws_ok(format('SET tenant_iso.leader_tenant = %L', :'B'), '42501', NULL, 'ti_app: SET tenant_iso.leader_tenant is refused (42501)');
SELECT throws_ok(format($$SELECT set_config('tenant_iso.leader_tenant', %L, false)$$, :'B'), '42501', NULL,
                 'ti_app: set_config(tenant_iso.leader_tenant) is refused (42501)');
SELECT throws_ok(format($$CREATE FUNCTION pg_temp.leader_b() RETURNS int LANGUAGE sql SET tenant_iso.leader_tenant = %L AS 'SELECT 1'$$, :'B'),
                 '42501', NULL, 'ti_app: a function SET clause for tenant_iso.leader_tenant is refused (42501)');
RESET ROLE;
SELECT throws_ok(format('SET tenant_iso.leader_tenant = %L', :'B'), '55P02', NULL, 'even the superuser cannot SET it (55P02)');
SELECT throws_ok(format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.leader_tenant = %L', current_database(), :'B'), '55P02', NULL,
                 'nor store it as a role default (55P02)');
\set out `PGOPTIONS='-c tenant_iso.leader_tenant=0b000000-0000-4000-8000-00000000000b' psql -X -q -At -U ti_app -d :'DBNAME' -c 'SELECT 1' 2>&1 | sed 's/.*FATAL: *//'`
SELECT is(:'out'::text, 'permission denied to set parameter "tenant_iso.leader_tenant"',
          'ti_app cannot pass it in the connection options (the connection is refused)');

------------------------------------------------------------------------------
-- require_signed_context: an unsigned value is never used by workers (same session)
------------------------------------------------------------------------------
SET tenant.org_id = :'B';
SET tenant_iso.require_signed_context = on;
SET tenant_iso.signing_key = :'key';
SELECT tenant_iso.sign(:'A') AS tok_a \gset
SET ROLE ti_app;
SELECT is(current_setting('tenant.org_id'), '', 'signed context on, B set before without a token: SHOW shows no tenant');
SELECT is(pg_temp.try('SELECT public.titles_ps()'), 'ERROR TI001', 'a worker running the function has no tenant either (TI001), not B');
SELECT is(pg_temp.try('SELECT public.titles_plpgsql_ps()'), 'ERROR TI001', 'same for the PL/pgSQL function');
SELECT is(pg_temp.try('SELECT count(*) FROM courses'), 'ERROR TI001', 'a parallel scan fails with TI001');
SET tenant_iso.missing_context = 'empty';
SELECT is(pg_temp.try('SELECT public.titles_ps()'), '(none)', 'missing_context = empty: the worker sees no course at all, not B''s');
SELECT is(pg_temp.try('SELECT public.user_names_ps()'), '(none)', 'missing_context = empty: a join in a worker sees no user');
RESET tenant_iso.missing_context;
SELECT is(tenant_iso.authenticate(:'tok_a'), :'A'::uuid, 'authenticate() with a token for A');
SELECT is(public.titles_ps(), 'Algebra,Astronomy', 'now the worker sees A''s courses');
SELECT is(pg_temp.try($$SELECT set_config('tenant.org_id', NULL, false)$$), '', 'set_config(tenant.org_id, NULL) resets to the unsigned default');
SELECT is(pg_temp.try('SELECT public.titles_ps()'), 'ERROR TI001', 'after which the worker has no tenant (TI001)');
RESET ROLE;
RESET tenant_iso.require_signed_context;
RESET tenant_iso.signing_key;

------------------------------------------------------------------------------
-- require_signed_context: an unsigned value from the connection options (separate connection)
------------------------------------------------------------------------------
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.require_signed_context = on', current_database()) \gexec
\o
\set out `PGOPTIONS='-c tenant.org_id=0b000000-0000-4000-8000-00000000000b -c :fpm=on -c parallel_setup_cost=0 -c parallel_tuple_cost=0 -c min_parallel_table_scan_size=0' psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT current_setting('tenant.org_id') || '/' || coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "EXPLAIN (COSTS OFF) SELECT public.titles_ps()" -c "SELECT public.titles_ps()" -c "SELECT public.titles_plpgsql_ps()" -c "SELECT count(*) FROM courses" -c "SET tenant_iso.missing_context = 'empty'" -c "SELECT public.titles_ps()" -c "SELECT public.user_names_ps()" -c "RESET tenant.org_id" -c "SELECT public.titles_ps()" -c "SELECT current_setting('tenant.org_id') || '/' || coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" 2>&1`
SELECT is(:'out'::text, E'/none\nGather\n  Workers Planned: 1\n  Single Copy: true\n  ->  Result\nERROR:  TI001\nERROR:  TI001\nERROR:  TI001\n(none)\n(none)\n(none)\n/none',
          'PGOPTIONS tenant.org_id = B under require_signed_context: no tenant shown, workers see nothing of B (TI001, or nothing under missing_context = empty), also after RESET');
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET ALL', current_database()) \gexec
\o

------------------------------------------------------------------------------
-- context_scope = 'transaction': set_config(..., false) is not a way to hand workers a tenant
------------------------------------------------------------------------------
SET tenant_iso.context_scope = 'transaction';
SET ROLE ti_app;
RESET tenant.org_id;
BEGIN;
SELECT is(set_config('tenant.org_id', :'A', false), :'A', 'transaction scope: set_config(A, false) runs');
SELECT is(public.titles_ps(), 'Algebra,Astronomy', 'in its own transaction the worker sees A (the tenant in effect there)');
\set ON_ERROR_STOP 0
COMMIT;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42501', 'the COMMIT is refused (42501)');
SELECT is(current_setting('tenant.org_id'), '', 'SHOW shows no tenant afterwards');
SELECT is(pg_temp.try('SELECT public.titles_ps()'), 'ERROR TI001', 'and a worker has none (TI001)');
\set ON_ERROR_STOP 0
SELECT set_config('tenant.org_id', :'A', false);
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42501', 'set_config(A, false) as a statement of its own fails at its commit (42501)');
SELECT is(pg_temp.try('SELECT public.titles_ps()'), 'ERROR TI001', 'the next parallel statement has no tenant in its workers (TI001)');
SELECT is(pg_temp.try('SELECT count(*) FROM courses'), 'ERROR TI001', 'a parallel scan neither');
BEGIN;
SET LOCAL tenant.org_id = :'B';
SELECT is(public.titles_ps(), 'Biology,Botany', 'SET LOCAL B: the worker sees B in that transaction');
COMMIT;
SELECT is(pg_temp.try('SELECT public.titles_ps()'), 'ERROR TI001', 'and nothing in the next transaction: the stale B is not handed to workers');
SELECT is(current_setting('tenant.org_id'), '', 'SHOW shows no tenant');
RESET ROLE;
-- a separate connection: the tenant of the connection options is stale in every transaction
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.context_scope = %L', current_database(), 'transaction') \gexec
\o
\set out `PGOPTIONS='-c tenant.org_id=0b000000-0000-4000-8000-00000000000b -c :fpm=on -c parallel_setup_cost=0 -c parallel_tuple_cost=0' psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT current_setting('tenant.org_id') || '/' || coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT public.titles_ps()" -c "SET tenant_iso.missing_context = 'empty'" -c "SELECT public.titles_ps()" 2>&1`
SELECT is(:'out'::text, E'/none\nERROR:  TI001\n(none)',
          'PGOPTIONS tenant.org_id = B under transaction scope: never in effect, not in workers either');
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET ALL', current_database()) \gexec
\o
RESET tenant_iso.context_scope;

------------------------------------------------------------------------------
-- a parallel index build: its workers are not started by a parallel plan, yet evaluate the
-- index expression, which here reads a tenant table.  The leader works for A; the last parallel
-- plan of the session ran for B (in an earlier transaction, under transaction scope)
------------------------------------------------------------------------------
RESET :fpm;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET ROLE ti_owner;
-- the leader is slowed down, so that the workers evaluate most rows
CREATE FUNCTION public.index_key(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE others text;
BEGIN
    IF pg_backend_pid() = current_setting('ti_test.leader_pid')::int THEN
        PERFORM pg_sleep(0.01);
    END IF;
    SELECT string_agg(u.name, ',' ORDER BY u.name) INTO others FROM public.users u
     WHERE u.organization_id IS DISTINCT FROM current_setting('ti_test.leader_tenant')::uuid;
    IF others IS NOT NULL THEN
        RAISE EXCEPTION 'process % (leader %) saw users of another tenant than the leader''s: %',
            pg_backend_pid(), current_setting('ti_test.leader_pid'), others;
    END IF;
    RETURN t;
END $$;
SELECT set_config('ti_test.leader_pid', pg_backend_pid()::text, false) \gset
SELECT set_config('ti_test.leader_tenant', :'A', false) \gset
RESET ROLE;
-- reviewed by the superuser: it only reads the tenant's own users (row level security scopes its
-- query), so it may run in an index expression
ALTER FUNCTION public.index_key(text) LEAKPROOF;
SET tenant_iso.context_scope = 'transaction';
SET ROLE ti_owner;
BEGIN;
SET LOCAL tenant.org_id = :'A';
INSERT INTO courses (title) SELECT 'filler ' || g FROM generate_series(1, 1500) g;
SELECT is(public.index_key('x'), 'x', 'sanity: the index expression, called by the leader (tenant A), sees only A''s users');
COMMIT;
RESET ROLE;
ALTER TABLE courses SET (parallel_workers = 2);
SET max_parallel_maintenance_workers = 2;
SET ROLE ti_owner;
-- the last parallel plan of the session runs for B
BEGIN;
SET LOCAL tenant.org_id = :'B';
SET LOCAL :fpm = on;
SET LOCAL parallel_setup_cost = 0;
SELECT count(*) AS b_count FROM courses \gset
COMMIT;
BEGIN;
SET LOCAL tenant.org_id = :'A';
SELECT lives_ok($$CREATE INDEX courses_index_key ON courses (organization_id, public.index_key(title))$$,
                'ti_owner, tenant A: the workers of a parallel index build see only A''s users too (not the B of an earlier transaction)');
COMMIT;
RESET ROLE;
RESET tenant_iso.context_scope;
RESET max_parallel_maintenance_workers;

------------------------------------------------------------------------------
-- nothing crashed
------------------------------------------------------------------------------
SELECT is(pg_backend_pid(), :pid0, 'the same backend ran the whole file (no crash)');
SELECT is(pg_postmaster_start_time(), :'start0'::timestamptz, 'the postmaster did not restart');

SELECT * FROM finish();
