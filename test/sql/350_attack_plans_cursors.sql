-- Attack family: cached plans, cursors and parallel workers across a tenant switch.
-- A session (a pooled connection) works for A, then for B. Nothing computed for A may be served
-- to B: prepared statements (generic and custom plans, plan_cache_mode both ways, parameters,
-- writes), plans cached by PL/pgSQL and SQL functions, a plan prepared by a superuser (RLS
-- bypassed) and executed by ti_app, and cursors: a tenant switch while a cursor over tenant
-- tables is open (an ordinary cursor in the same transaction, a WITH HOLD cursor after COMMIT, a
-- PL/pgSQL refcursor, a cursor over a function that reads tenant tables) is refused with
-- SQLSTATE TI002 until the cursor is closed. Parallel workers see only the current tenant's rows,
-- also under tenant_iso.context_scope = 'transaction'.
-- This file commits (WITH HOLD cursors need it): no outer transaction; the database is thrown away.
-- Attacker: ti_app.
SELECT plan(47);

\ir include/err.sql
CREATE FUNCTION public.titles_plpgsql() RETURNS text LANGUAGE plpgsql STABLE AS
    $$BEGIN RETURN (SELECT string_agg(title, ',' ORDER BY title) FROM courses); END$$;
-- FETCH ALL from a cursor of one text column, as one value ('ERROR <sqlstate>' when refused)
CREATE FUNCTION pg_temp.fetch_all(cur text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('FETCH ALL FROM %I', cur) INTO r;
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE;
END
$$;
\ir include/explain_lines.sql
CREATE FUNCTION public.titles_sql() RETURNS text LANGUAGE sql STABLE AS
    $$SELECT string_agg(title, ',' ORDER BY title) FROM courses$$;
CREATE FUNCTION public.course_titles() RETURNS SETOF text LANGUAGE plpgsql STABLE AS
    $$BEGIN RETURN QUERY SELECT title FROM courses ORDER BY title; END$$;
CREATE FUNCTION public.open_course_cursor() RETURNS refcursor LANGUAGE plpgsql AS $$
DECLARE c refcursor := 'course_refcursor';
BEGIN
    OPEN c FOR SELECT title FROM courses ORDER BY title;
    RETURN c;
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app;

------------------------------------------------------------------------------
-- prepared statements across a tenant switch
------------------------------------------------------------------------------
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SET plan_cache_mode = force_generic_plan;
PREPARE q_gen AS SELECT string_agg(title, ',' ORDER BY title) FROM courses;
PREPARE q_gen_id(uuid) AS SELECT title FROM courses WHERE id = $1;
PREPARE q_gen_upd(uuid) AS UPDATE courses SET title = title WHERE id = $1 RETURNING title;
SELECT results_eq('EXECUTE q_gen', $$VALUES ('Algebra,Astronomy')$$, 'generic plan, prepared and run for A: A''s courses');
SELECT results_eq($$EXECUTE q_gen_id('2a000000-0000-4000-8000-000000000001')$$, $$VALUES ('Algebra')$$,
                  'generic plan by id, for A: A''s course');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT results_eq('EXECUTE q_gen', $$VALUES ('Biology,Botany')$$, 'the same generic plan after the switch to B: B''s courses');
SELECT is_empty($$EXECUTE q_gen_id('2a000000-0000-4000-8000-000000000001')$$, 'generic plan by A''s id, run for B: nothing');
SELECT is_empty($$EXECUTE q_gen_upd('2a000000-0000-4000-8000-000000000002')$$, 'generic UPDATE prepared for A, run for B on A''s id: nothing');
SELECT results_eq($$EXECUTE q_gen_id('2b000000-0000-4000-8000-000000000001')$$, $$VALUES ('Biology')$$,
                  'generic plan by B''s id, for B: B''s course');

SET plan_cache_mode = force_custom_plan;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
PREPARE q_cus AS SELECT string_agg(title, ',' ORDER BY title) FROM courses;
PREPARE q_cus_id(uuid) AS SELECT title FROM courses WHERE id = $1;
SELECT results_eq('EXECUTE q_cus', $$VALUES ('Algebra,Astronomy')$$, 'custom plan for A: A''s courses');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT results_eq('EXECUTE q_cus', $$VALUES ('Biology,Botany')$$, 'custom plan after the switch to B: B''s courses');
SELECT is_empty($$EXECUTE q_cus_id('2a000000-0000-4000-8000-000000000002')$$, 'custom plan by A''s id, run for B: nothing');
SELECT results_eq('EXECUTE q_gen', $$VALUES ('Biology,Botany')$$, 'the statement prepared under force_generic_plan, now custom: B''s courses');

-- auto: five custom plans, then the cached generic plan
SET plan_cache_mode = auto;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
PREPARE q_auto(uuid) AS SELECT count(*) FROM courses WHERE id <> $1;
EXECUTE q_auto('00000000-0000-4000-8000-000000000000') \gset auto_a1_
EXECUTE q_auto('00000000-0000-4000-8000-000000000000') \gset auto_a2_
EXECUTE q_auto('00000000-0000-4000-8000-000000000000') \gset auto_a3_
EXECUTE q_auto('00000000-0000-4000-8000-000000000000') \gset auto_a4_
EXECUTE q_auto('00000000-0000-4000-8000-000000000000') \gset auto_a5_
EXECUTE q_auto('00000000-0000-4000-8000-000000000000') \gset auto_a6_
SELECT is((SELECT generic_plans FROM pg_prepared_statements WHERE name = 'q_auto') > 0, true,
          'auto: the statement now runs a cached generic plan');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT results_eq($$EXECUTE q_auto('2b000000-0000-4000-8000-000000000001')$$, $$VALUES (1::bigint)$$,
                  'auto: the cached generic plan, run for B, counts B''s courses only');

-- a plan prepared by the superuser (row level security bypassed) and run by ti_app
RESET ROLE;
SET plan_cache_mode = force_generic_plan;
PREPARE q_su AS SELECT count(*) FROM courses;
SELECT results_eq('EXECUTE q_su', $$VALUES (4::bigint)$$, 'superuser: the prepared count sees every tenant''s courses');
SET ROLE ti_app;
SELECT results_eq('EXECUTE q_su', $$VALUES (2::bigint)$$, 'ti_app: the superuser''s prepared statement is re-planned and sees B''s 2 only');
SET row_security = off;
SELECT throws_ok('EXECUTE q_su', '42501', NULL, 'ti_app: with row_security = off the cached plan is not reused: error 42501');
RESET row_security;
RESET plan_cache_mode;

-- plans cached by functions
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT is(titles_plpgsql(), 'Algebra,Astronomy', 'PL/pgSQL function (plan cached on first call) for A: A''s titles');
SELECT is(titles_sql(), 'Algebra,Astronomy', 'SQL function for A: A''s titles');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is(titles_plpgsql(), 'Biology,Botany', 'PL/pgSQL function (cached plan) after the switch: B''s titles');
SELECT is(titles_sql(), 'Biology,Botany', 'SQL function after the switch: B''s titles');
SELECT is((SELECT string_agg(t, ',') FROM course_titles() t), 'Biology,Botany', 'set-returning PL/pgSQL function after the switch: B''s titles');
RESET ROLE;

------------------------------------------------------------------------------
-- cursors: the tenant cannot change while one is open
------------------------------------------------------------------------------
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
BEGIN;
SET LOCAL enable_seqscan = off;  -- an index scan would keep reading the old tenant
DECLARE c_idx CURSOR FOR SELECT title FROM courses WHERE organization_id = tenant_iso.current_org_id() ORDER BY organization_id, id;
FETCH 1 FROM c_idx \gset c1_
SELECT throws_ok($$SET LOCAL tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'TI002', NULL,
                 'ordinary cursor open: SET LOCAL tenant.org_id to B is refused with TI002');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false)$$, 'TI002', NULL,
                 'ordinary cursor open: set_config(tenant.org_id) to B is refused with TI002');
SELECT throws_ok($$RESET tenant.org_id$$, 'TI002', NULL, 'ordinary cursor open: RESET tenant.org_id is refused with TI002');
FETCH 1 FROM c_idx \gset c2_
SELECT is(:'c1_title' || ',' || :'c2_title', 'Algebra,Astronomy', 'the cursor served A''s two rows, and only to A');
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'the tenant is still A');
CLOSE c_idx;
SELECT lives_ok($$SET LOCAL tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'after CLOSE the switch to B works');
COMMIT;

-- a PL/pgSQL refcursor
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
SELECT open_course_cursor() \gset
FETCH 1 FROM course_refcursor \gset r1_
SELECT throws_ok($$SET LOCAL tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'TI002', NULL,
                 'PL/pgSQL refcursor open: the switch to B is refused with TI002');
CLOSE course_refcursor;
COMMIT;

-- a cursor over a set-returning PL/pgSQL function that reads courses (its rows are materialized)
BEGIN;
DECLARE c_fn CURSOR FOR SELECT t FROM course_titles() t;
FETCH 1 FROM c_fn \gset f1_
SELECT pg_temp.err($$SET LOCAL tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$) AS fn_switch_err \gset
FETCH ALL FROM c_fn \gset f2_
SELECT ok(tenant_iso.current_org_id() = '0a000000-0000-4000-8000-00000000000a' OR :'f2_t' NOT IN ('Algebra', 'Astronomy'),
          'cursor over a function reading courses: after a switch to B it serves none of A''s rows (or the switch is refused)');
CLOSE c_fn;
COMMIT;

-- WITH HOLD cursors
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
DECLARE h_plain CURSOR WITH HOLD FOR SELECT title FROM courses ORDER BY title;
COMMIT;
SELECT throws_ok($$SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'TI002', NULL,
                 'WITH HOLD cursor open after COMMIT: SET tenant.org_id to B is refused with TI002');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', true)$$, 'TI002', NULL,
                 'WITH HOLD cursor open: set_config(..., true) to B is refused too');
FETCH 1 FROM h_plain \gset h_
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'the held cursor was fetched while the tenant is still A');
CLOSE h_plain;
SELECT lives_ok($$SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'after CLOSE of the held cursor the switch works');

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
DECLARE h_fetched CURSOR WITH HOLD FOR SELECT title FROM courses ORDER BY title;
FETCH 1 FROM h_fetched \gset hf1_
COMMIT;
SELECT throws_ok($$SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'TI002', NULL,
                 'WITH HOLD cursor fetched from before COMMIT: the switch to B is refused with TI002');
CLOSE h_fetched;

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
DECLARE h_fn CURSOR WITH HOLD FOR SELECT t FROM course_titles() t;
FETCH 1 FROM h_fn \gset hfn1_
COMMIT;
SELECT pg_temp.err($$SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$) AS hfn_switch_err \gset
FETCH ALL FROM h_fn \gset hfn2_
SELECT ok(tenant_iso.current_org_id() = '0a000000-0000-4000-8000-00000000000a' OR :'hfn2_t' NOT IN ('Algebra', 'Astronomy'),
          'WITH HOLD cursor over a function reading courses: after a switch to B it serves none of A''s rows (or the switch is refused)');
CLOSE h_fn;

-- the tenant set with SET LOCAL / set_config(..., true) reverts at COMMIT, without any SET
-- statement: a held cursor opened for A must not then serve A's rows to the session now working for B
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
BEGIN;
SET LOCAL tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
DECLARE h_local CURSOR WITH HOLD FOR SELECT string_agg(title, ',' ORDER BY title) AS t FROM courses;
\set ON_ERROR_STOP 0
COMMIT;
\set ON_ERROR_STOP 1
SELECT ok(tenant_iso.current_org_id() IS DISTINCT FROM '0b000000-0000-4000-8000-00000000000b'
          OR COALESCE(pg_temp.fetch_all('h_local'), '') NOT LIKE '%Algebra%',
          'WITH HOLD cursor declared under SET LOCAL tenant A: once COMMIT reverts the session to B it serves none of A''s rows');
CLOSE ALL;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
BEGIN;
SELECT set_config('tenant.org_id', '0a000000-0000-4000-8000-00000000000a', true) \gset
DECLARE h_local2 CURSOR WITH HOLD FOR SELECT string_agg(title, ',' ORDER BY title) AS t FROM courses;
\set ON_ERROR_STOP 0
COMMIT;
\set ON_ERROR_STOP 1
SELECT ok(tenant_iso.current_org_id() IS DISTINCT FROM '0b000000-0000-4000-8000-00000000000b'
          OR COALESCE(pg_temp.fetch_all('h_local2'), '') NOT LIKE '%Algebra%',
          'WITH HOLD cursor declared under set_config(tenant A, true): after COMMIT it serves none of A''s rows to B');
CLOSE ALL;

-- a held cursor over a view
RESET ROLE;
CREATE VIEW course_titles_v AS SELECT title FROM courses;
GRANT SELECT ON course_titles_v TO ti_app;
SET ROLE ti_app;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
DECLARE h_view CURSOR WITH HOLD FOR SELECT title FROM course_titles_v ORDER BY title;
COMMIT;
SELECT throws_ok($$SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'TI002', NULL,
                 'WITH HOLD cursor over a view: the switch is refused with TI002');
CLOSE h_view;

-- a rolled-back cursor no longer blocks; CLOSE ALL clears held cursors
BEGIN;
DECLARE c_gone CURSOR FOR SELECT title FROM courses;
FETCH 1 FROM c_gone \gset g_
ROLLBACK;
SELECT lives_ok($$SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'after ROLLBACK the cursor no longer blocks a switch');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
DECLARE h_discard CURSOR WITH HOLD FOR SELECT title FROM courses;
DECLARE h_discard2 CURSOR WITH HOLD FOR SELECT title FROM lessons;
COMMIT;
CLOSE ALL;
SELECT is((SELECT count(*) FROM pg_cursors), 0::bigint, 'CLOSE ALL closed the held cursors');
SELECT lives_ok($$SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b'$$, 'after CLOSE ALL the switch works');
RESET ROLE;

------------------------------------------------------------------------------
-- parallel workers
------------------------------------------------------------------------------
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- force_parallel_mode was renamed debug_parallel_query in PostgreSQL 16
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS fpm \gset
SET :fpm = on;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT ok((SELECT string_agg(p, ' ') FROM pg_temp.explain_lines($$SELECT count(*) FROM courses$$) p) LIKE '%Gather%',
          'the test query gets a parallel plan (Gather)');
SELECT results_eq($$SELECT count(*), string_agg(title, ',' ORDER BY title) FROM courses$$,
                  $$VALUES (2::bigint, 'Algebra,Astronomy')$$, 'a parallel plan sees A''s 2 courses only');
SELECT results_eq($$SELECT count(*) FROM users WHERE email LIKE '%beta%'$$, $$VALUES (0::bigint)$$,
                  'a parallel scan finds none of B''s users');
SELECT results_eq($$SELECT count(*) FROM lessons l JOIN courses c ON c.organization_id = l.organization_id AND c.id = l.course_id$$,
                  $$VALUES (2::bigint)$$, 'a parallel join sees A''s rows only');
RESET ROLE;
SET tenant_iso.context_scope = 'transaction';
SET ROLE ti_app;
BEGIN;
SET LOCAL tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is((pg_temp.err($$SELECT count(*) FROM courses$$)), NULL::text[],
          'context_scope = transaction: a parallel query for a tenant set in this transaction runs (workers see the tenant)');
SELECT results_eq($$SELECT string_agg(title, ',' ORDER BY title) FROM courses$$,
                  $$VALUES ('Biology,Botany')$$, 'context_scope = transaction: the parallel plan sees B''s courses only');
COMMIT;
RESET ROLE;
RESET tenant_iso.context_scope;
RESET :fpm;

SELECT is((SELECT string_agg(title, ',' ORDER BY title) FROM courses), 'Algebra,Astronomy,Biology,Botany',
          'superuser: every course is intact');

SELECT * FROM finish();
