-- Issue 10, item 4: every route that changes the tenant.
-- Attacks "one tenant per statement and per open cursor" as the application role ti_app: a
-- change of tenant.org_id while tenant rows are in use must fail with TI002 (and be undone),
-- whatever the route: SET, SET LOCAL, set_config() with a value, with '' and with NULL (which
-- resets to the default without running a check hook), RESET, RESET ALL, SET ... TO DEFAULT,
-- a function's SET clause, EXECUTE of those inside functions and DO blocks, a PL/pgSQL
-- assignment (evaluated without the executor), a role default that ti_app stores for itself with
-- ALTER ROLE ... IN DATABASE ... SET and that RESET / set_config(NULL) restore (separate
-- connections, as in 210).  Targets: a statement scanning a tenant table per row, a statement
-- calling per row a function that reads a tenant table (it must not return two tenants' rows),
-- WITH HOLD cursors (they must never serve A's rows once the session works for another tenant),
-- refcursors opened under a function's SET clause.  SHOW / current_setting() / pg_settings never
-- display a tenant that is not in effect.
-- No BEGIN around the file: WITH HOLD cursors and role settings need commits (the database is
-- thrown away afterwards; the per-database role settings go with it).
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
\set key 'tenant-iso-test-key-S-3b8e1d0c6a9f4e2b7d5c'
SELECT plan(69);

\ir include/err.sql
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;
-- run a query, return its rows (first column) joined with '|', or 'ERROR <sqlstate>'
CREATE FUNCTION pg_temp.rows_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
    EXECUTE 'SELECT string_agg(x::text, ''|'') FROM (' || q || ') s(x)' INTO v;
    RETURN coalesce(v, '');
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.rows_of(text) TO PUBLIC;
CREATE FUNCTION public.titles() RETURNS text LANGUAGE sql VOLATILE AS
    $$SELECT coalesce(string_agg(title, ',' ORDER BY title), '(none)') FROM courses$$;
CREATE FUNCTION public.as_tenant_b() RETURNS text LANGUAGE sql VOLATILE
    SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b' AS 'SELECT public.titles()';
CREATE FUNCTION public.as_no_tenant() RETURNS boolean LANGUAGE sql VOLATILE
    SET tenant.org_id = '' AS 'SELECT true';
CREATE FUNCTION public.run(cmd text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS
    $$BEGIN EXECUTE cmd; RETURN true; END$$;
-- a PL/pgSQL assignment: set_config() evaluated as a simple expression, without the executor
CREATE FUNCTION public.assign_null() RETURNS boolean LANGUAGE plpgsql VOLATILE AS
    $$DECLARE x text; BEGIN x := set_config('tenant.org_id', NULL, false); RETURN true; END$$;
CREATE FUNCTION public.open_cursor_as_b() RETURNS refcursor LANGUAGE plpgsql VOLATILE
    SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b' AS $$
DECLARE c refcursor := 'b_refcursor';
BEGIN
    OPEN c FOR SELECT title FROM courses ORDER BY title;
    RETURN c;
END $$;
CREATE PROCEDURE public.assign_null_proc() LANGUAGE plpgsql AS
    $$DECLARE x text; BEGIN x := set_config('tenant.org_id', NULL, false); END$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA public TO ti_app;

------------------------------------------------------------------------------
-- a statement scanning a tenant table: no route changes its tenant (TI002)
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT throws_ok($$SELECT title, set_config('tenant.org_id', NULL, false) FROM courses$$, 'TI002', NULL,
                 'set_config(tenant.org_id, NULL, false) per row of a scan (reset without check hook) fails with TI002');
SELECT throws_ok($$SELECT title, set_config('tenant.org_id', NULL, true) FROM courses$$, 'TI002', NULL,
                 'set_config(tenant.org_id, NULL, true) per row fails with TI002');
SELECT throws_ok($$SELECT title, set_config('tenant.org_id', '', false) FROM courses$$, 'TI002', NULL,
                 'set_config(tenant.org_id, '''', false) per row fails with TI002');
SELECT throws_ok(format($$SELECT title, set_config('tenant.org_id', CASE WHEN title = 'Astronomy' THEN %L END, false) FROM courses ORDER BY title$$, :'B'),
                 'TI002', NULL, 'set_config to B on the second row only fails with TI002');
SELECT throws_ok($$SELECT title FROM courses WHERE public.as_no_tenant()$$, 'TI002', NULL,
                 'a function with SET tenant.org_id = '''' called per row fails with TI002');
SELECT throws_ok($$SELECT title FROM courses WHERE public.run('RESET tenant.org_id')$$, 'TI002', NULL,
                 'EXECUTE ''RESET tenant.org_id'' per row fails with TI002');
SELECT throws_ok($$SELECT title FROM courses WHERE public.run('SET tenant.org_id TO DEFAULT')$$, 'TI002', NULL,
                 'EXECUTE ''SET tenant.org_id TO DEFAULT'' per row fails with TI002');
SELECT throws_ok($$SELECT title FROM courses WHERE public.run('RESET ALL')$$, 'TI002', NULL,
                 'EXECUTE ''RESET ALL'' per row fails with TI002');
SELECT throws_ok($$SELECT title FROM courses WHERE public.assign_null()$$, 'TI002', NULL,
                 'a PL/pgSQL assignment x := set_config(tenant.org_id, NULL) per row fails with TI002');
SELECT throws_ok($$WITH r AS MATERIALIZED (SELECT set_config('tenant.org_id', NULL, false) AS v) SELECT c.title FROM courses c, r$$, 'TI002', NULL,
                 'set_config(NULL) in a CTE of the scan fails with TI002');
SELECT throws_ok($$SELECT (SELECT count(*) FROM courses WHERE set_config('tenant.org_id', NULL, false) IS NOT NULL)$$, 'TI002', NULL,
                 'set_config(NULL) inside a sub-select on a tenant table fails with TI002');
SELECT throws_ok($$UPDATE courses SET title = title WHERE set_config('tenant.org_id', NULL, false) IS NOT NULL$$, 'TI002', NULL,
                 'set_config(NULL) in the WHERE clause of an UPDATE fails with TI002');
SELECT throws_ok($$DELETE FROM lessons WHERE public.assign_null()$$, 'TI002', NULL,
                 'a PL/pgSQL assignment in the WHERE clause of a DELETE fails with TI002');
SELECT is(current_setting('tenant.org_id'), :'A', 'after every attempt the tenant is still A (the changes were undone)');
SELECT is((SELECT count(*) FROM lessons), 2::bigint, 'and A''s lessons are still there');

------------------------------------------------------------------------------
-- a statement that reads tenant tables through a function, per row: never two tenants' rows
------------------------------------------------------------------------------
SELECT is(public.as_tenant_b(), 'Biology,Botany', 'control: a function with SET tenant.org_id = B, called on its own, reads B (allowed)');
SELECT is(current_setting('tenant.org_id'), :'A', 'control: and the tenant is A again after it');
SELECT ok(pg_temp.rows_of(format($$SELECT public.titles() || ' ' || set_config('tenant.org_id', %L, false) FROM generate_series(1, 2)$$, :'B'))
              !~ 'Algebra.*Biology',
          'one statement calling a function that reads courses, and set_config(B) per row: it does not return A''s and B''s rows together');
SET tenant.org_id = :'A';
SELECT ok(pg_temp.rows_of(format($$SELECT x || ' ' || set_config('tenant.org_id', %L, false) FROM (SELECT public.titles() AS x FROM generate_series(1, 2)) s$$, :'B'))
              !~ 'Algebra.*Biology',
          'the same through a subquery in FROM: not A''s and B''s rows together');
SET tenant.org_id = :'A';
SELECT ok(pg_temp.rows_of(format($$SELECT public.titles() || ' ' || public.run(format('SET tenant.org_id = %%L', %L)) FROM generate_series(1, 2)$$, :'B'))
              !~ 'Algebra.*Biology',
          'the same with EXECUTE ''SET tenant.org_id = B'' per row: not A''s and B''s rows together');
SET tenant.org_id = :'A';

------------------------------------------------------------------------------
-- a WITH HOLD cursor over A's rows: no route changes the tenant while it is open
------------------------------------------------------------------------------
BEGIN;
DECLARE h_a CURSOR WITH HOLD FOR SELECT title FROM courses ORDER BY title;
COMMIT;
SELECT throws_ok(format('SET tenant.org_id = %L', :'B'), 'TI002', NULL, 'held cursor: SET to B fails with TI002');
SELECT throws_ok($$SET tenant.org_id = ''$$, 'TI002', NULL, 'held cursor: SET to '''' fails with TI002');
SELECT throws_ok(format($$SELECT set_config('tenant.org_id', %L, false)$$, :'B'), 'TI002', NULL, 'held cursor: set_config(B, false) fails with TI002');
SELECT throws_ok(format($$SELECT set_config('tenant.org_id', %L, true)$$, :'B'), 'TI002', NULL, 'held cursor: set_config(B, true) fails with TI002');
SELECT throws_ok($$SELECT set_config('tenant.org_id', NULL, false)$$, 'TI002', NULL, 'held cursor: set_config(NULL, false) fails with TI002');
SELECT throws_ok($$SELECT set_config('tenant.org_id', NULL, true)$$, 'TI002', NULL, 'held cursor: set_config(NULL, true) fails with TI002');
SELECT throws_ok($$RESET tenant.org_id$$, 'TI002', NULL, 'held cursor: RESET tenant.org_id fails with TI002');
SELECT throws_ok($$RESET ALL$$, 'TI002', NULL, 'held cursor: RESET ALL fails with TI002');
SELECT throws_ok($$SET tenant.org_id TO DEFAULT$$, 'TI002', NULL, 'held cursor: SET tenant.org_id TO DEFAULT fails with TI002');
SELECT throws_ok($$SELECT public.as_tenant_b()$$, 'TI002', NULL, 'held cursor: a function with SET tenant.org_id = B fails with TI002');
SELECT throws_ok($$SELECT public.as_no_tenant()$$, 'TI002', NULL, 'held cursor: a function with SET tenant.org_id = '''' fails with TI002');
SELECT throws_ok($$SELECT public.assign_null()$$, 'TI002', NULL, 'held cursor: a PL/pgSQL assignment of set_config(NULL) in a query fails with TI002');
SELECT throws_ok($q$DO $d$BEGIN PERFORM set_config('tenant.org_id', NULL, false); END$d$$q$, 'TI002', NULL,
                 'held cursor: a DO block with PERFORM set_config(NULL) fails with TI002');
SELECT throws_ok($q$DO $d$BEGIN EXECUTE 'RESET tenant.org_id'; END$d$$q$, 'TI002', NULL,
                 'held cursor: a DO block with EXECUTE ''RESET tenant.org_id'' fails with TI002');
SELECT is(current_setting('tenant.org_id'), :'A', 'held cursor: after every attempt the tenant is still A');
FETCH 1 FROM h_a \gset h1_
SELECT is(:'h1_title'::text, 'Algebra', 'and the held cursor serves A''s next row to A');

-- a PL/pgSQL assignment in a DO block runs no executor, so no executor boundary checks it; the
-- statements below run at top level (a wrapper would run them inside a query, which is checked)
\set ON_ERROR_STOP 0
DO $$DECLARE x text; BEGIN x := set_config('tenant.org_id', NULL, false); END$$;
\set do_assign_state :SQLSTATE
-- what the held cursor then serves to a PL/pgSQL FETCH (no FETCH statement, no executor for a
-- held cursor's stored rows), kept in settings of our own
DO $$DECLARE c refcursor := 'h_a'; r text; x text;
BEGIN
    FETCH c INTO r;
    x := set_config('ti_test.fetched', coalesce(r, '(no row)'), false);
    x := set_config('ti_test.tenant_at_fetch', current_setting('tenant.org_id'), false);
END$$;
\set do_fetch_state :SQLSTATE
\set ON_ERROR_STOP 1
CLOSE h_a;
SELECT is(:'do_assign_state'::text, 'TI002',
          'held cursor: a DO block assigning set_config(tenant.org_id, NULL) to a variable fails with TI002');
SELECT ok(:'do_fetch_state' = 'TI002' OR current_setting('ti_test.tenant_at_fetch', true) = :'A'
          OR current_setting('ti_test.fetched', true) NOT IN ('Astronomy'),
          'held cursor: it never serves A''s rows (here to a PL/pgSQL FETCH) once the session''s tenant is no longer A');
SET tenant.org_id = :'A';
-- the same with a procedure
BEGIN;
DECLARE h_p CURSOR WITH HOLD FOR SELECT title FROM courses ORDER BY title;
COMMIT;
\set ON_ERROR_STOP 0
CALL public.assign_null_proc();
\set call_state :SQLSTATE
\set ON_ERROR_STOP 1
CLOSE h_p;
SELECT is(:'call_state'::text, 'TI002', 'held cursor: CALL of a procedure assigning set_config(tenant.org_id, NULL) fails with TI002');
SET tenant.org_id = :'A';

------------------------------------------------------------------------------
-- an ordinary cursor: a change through a route without a check hook aborts the transaction
------------------------------------------------------------------------------
BEGIN;
DECLARE c_a CURSOR FOR SELECT title FROM courses ORDER BY title;
FETCH 1 FROM c_a \gset c1_
\set ON_ERROR_STOP 0
DO $$DECLARE x text; BEGIN x := set_config('tenant.org_id', NULL, false); END$$;
\set cursor_reset_state :SQLSTATE
FETCH 1 FROM c_a;
\set cursor_fetch_state :SQLSTATE
\set ON_ERROR_STOP 1
ROLLBACK;
SELECT ok(:'cursor_reset_state'::text = 'TI002' AND :'cursor_fetch_state'::text <> '00000',
          'open cursor: a reset without check hook is refused by the statement that made it (TI002), and the cursor serves nothing after');
SELECT is(current_setting('tenant.org_id'), :'A', 'and the aborted transaction undid the reset: the tenant is A');

------------------------------------------------------------------------------
-- a cursor opened by a function under its SET clause is not served under another tenant
------------------------------------------------------------------------------
BEGIN;
SELECT pg_temp.err('SELECT public.open_cursor_as_b()') AS open_b_err \gset
SELECT is((:'open_b_err'::text[])[1], 'TI002', 'a function returning a cursor opened under its SET tenant.org_id = B: TI002 when the tenant reverts to A');
SELECT is(pg_temp.rows_of('SELECT name FROM pg_cursors WHERE name = ''b_refcursor'''), '', 'and the cursor is gone');
ROLLBACK;
BEGIN;
\set ON_ERROR_STOP 0
SELECT public.open_cursor_as_b() \gset
\set open_b_state :SQLSTATE
FETCH ALL FROM b_refcursor;
\set ON_ERROR_STOP 1
ROLLBACK;
SELECT is(:'open_b_state'::text, 'TI002', 'the same called as a statement of its own (not wrapped in a query): TI002');
SELECT is(current_setting('tenant.org_id'), :'A', 'the tenant is A');

------------------------------------------------------------------------------
-- SHOW, current_setting() and pg_settings display the tenant in effect only
------------------------------------------------------------------------------
RESET ROLE;
SET tenant.org_id = :'B';
SET tenant_iso.require_signed_context = on;
SET tenant_iso.signing_key = :'key';
SELECT tenant_iso.sign(:'A') AS tok_a, tenant_iso.sign(:'B') AS tok_b \gset
SET ROLE ti_app;
SELECT is(current_setting('tenant.org_id'), '', 'signed context, B set without a token: current_setting() shows no tenant');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'tenant.org_id'), '', 'pg_settings shows no tenant');
SELECT is(pg_temp.rows_of('SELECT setting FROM pg_show_all_settings() WHERE name = ''tenant.org_id'''), '', 'pg_show_all_settings() shows no tenant');
SELECT throws_ok(format('SET tenant.org_id = %L', :'A'), '42501', NULL, 'signed context: SET is refused (42501)');
SELECT throws_ok('SELECT public.as_tenant_b()', '42501', NULL, 'signed context: a function SET clause is refused too (42501)');
SELECT is(tenant_iso.authenticate(:'tok_a'), :'A'::uuid, 'authenticate() for A');
SELECT is(current_setting('tenant.org_id'), :'A', 'now current_setting() shows A');
SELECT throws_ok(format($$SELECT title, tenant_iso.authenticate(%L) FROM courses$$, :'tok_b'), 'TI002', NULL,
                 'signed context: authenticate() with a valid token for B per row of a scan fails with TI002');
BEGIN;
DECLARE h_signed CURSOR WITH HOLD FOR SELECT title FROM courses ORDER BY title;
COMMIT;
SELECT throws_ok(format($$SELECT tenant_iso.authenticate(%L)$$, :'tok_b'), 'TI002', NULL,
                 'signed context: authenticate() for B while a held cursor over A''s rows is open fails with TI002');
CLOSE h_signed;
SELECT is(current_setting('tenant.org_id'), :'A', 'the tenant is still A');
SELECT is(pg_temp.rows_of($$SELECT set_config('tenant.org_id', NULL, false)$$), '',
          'set_config(NULL) restores the default, unsigned: it returns no tenant');
SELECT is(current_setting('tenant.org_id'), '', 'and current_setting() shows none');
RESET ROLE;
RESET tenant_iso.require_signed_context;
RESET tenant_iso.signing_key;
SET tenant_iso.context_scope = 'transaction';
SET ROLE ti_app;
BEGIN;
SET LOCAL tenant.org_id = :'A';
COMMIT;
SELECT is(current_setting('tenant.org_id'), '', 'transaction scope: a SET LOCAL of an earlier transaction is not shown');
BEGIN;
SELECT set_config('tenant.org_id', :'B', false) \gset
SELECT is(current_setting('tenant.org_id'), :'B', 'set_config(B, false) is shown in its own transaction, where it is in effect');
\set ON_ERROR_STOP 0
COMMIT;
\set ON_ERROR_STOP 1
SELECT is(current_setting('tenant.org_id'), '', 'and not after its refused COMMIT');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'tenant.org_id'), '', 'pg_settings neither');
RESET ROLE;
RESET tenant_iso.context_scope;

------------------------------------------------------------------------------
-- a role default that ti_app stores for itself (ALTER ROLE ... IN DATABASE ... SET), restored by
-- RESET and set_config(NULL) in later sessions
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT lives_ok(format('ALTER ROLE ti_app IN DATABASE %I SET tenant.org_id = %L', current_database(), :'B'),
                'ti_app may store a tenant default for itself (ALTER ROLE ... IN DATABASE ... SET)');
RESET ROLE;
-- in a new session: the default is B; the session works for A
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SHOW tenant.org_id" -c "SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a'" -c "SELECT title, set_config('tenant.org_id', NULL, false) FROM courses" -c "SHOW tenant.org_id" -c "SELECT title FROM courses WHERE public.assign_null()" -c "SHOW tenant.org_id" 2>&1`
SELECT is(:'out'::text, E'0b000000-0000-4000-8000-00000000000b\nERROR:  TI002\n0a000000-0000-4000-8000-00000000000a\nERROR:  TI002\n0a000000-0000-4000-8000-00000000000a',
          'role default B, session on A: restoring the default per row of a scan fails with TI002 and the tenant stays A');
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a'" -c "SELECT public.titles() || ' ' || set_config('tenant.org_id', NULL, false) FROM generate_series(1, 2)" 2>&1`
SELECT ok(:'out' !~ 'Algebra.*Biology',
          'role default B, session on A: a statement calling a function per row and restoring the default does not return A''s and B''s rows together');
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a'" -c "BEGIN" -c "DECLARE h CURSOR WITH HOLD FOR SELECT title FROM courses ORDER BY title" -c "COMMIT" -c "SELECT set_config('tenant.org_id', NULL, false)" -c "RESET tenant.org_id" -c "FETCH 1 FROM h" -c "SHOW tenant.org_id" -c "FETCH 1 FROM h" 2>&1`
SELECT is(:'out'::text, E'ERROR:  TI002\nERROR:  TI002\nAlgebra\n0a000000-0000-4000-8000-00000000000a\nAstronomy',
          'role default B, held cursor over A''s rows: set_config(NULL) and RESET fail with TI002, the cursor keeps serving A to A');
\set out `psql -X -q -At -v VERBOSITY=terse -U ti_app -d :'DBNAME' -c "SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a'" -c "BEGIN" -c "DECLARE h CURSOR WITH HOLD FOR SELECT title FROM courses ORDER BY title" -c "COMMIT" -c "DO 'DECLARE x text; BEGIN x := set_config(''tenant.org_id'', NULL, false); END'" -c "DO 'DECLARE c refcursor := ''h''; r text; BEGIN FETCH c INTO r; RAISE NOTICE ''% fetched %'', current_setting(''tenant.org_id''), r; END'" 2>&1`
SELECT ok(:'out' !~ '0b000000-0000-4000-8000-00000000000b fetched Algebra',
          'role default B, held cursor over A''s rows, reset by a PL/pgSQL assignment: the session working for B is never served A''s rows');
-- under signed context the role default is never in effect
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.require_signed_context = on', current_database()) \gexec
\o
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SHOW tenant.org_id" -c "SELECT count(*) FROM courses" -c "RESET tenant.org_id" -c "SHOW tenant.org_id" -c "SELECT set_config('tenant.org_id', NULL, false)" -c "SELECT count(*) FROM courses" 2>&1`
SELECT is(:'out'::text, E'\nERROR:  TI001\n\n\nERROR:  TI001',
          'signed context: the role default B is never shown nor in effect, also after RESET and set_config(NULL)');
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET ALL', current_database()) \gexec
\o

------------------------------------------------------------------------------
-- nothing of B's was changed
------------------------------------------------------------------------------
SELECT is((SELECT string_agg(title, ',' ORDER BY title) FROM courses), 'Algebra,Astronomy,Biology,Botany', 'superuser: every course is intact');
SELECT is((SELECT count(*) FROM lessons), 4::bigint, 'superuser: every lesson is intact');

SELECT * FROM finish();
