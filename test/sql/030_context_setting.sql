-- The tenant context: the tenant.org_id setting, tenant_iso.current_org_id(), and the refusal of
-- a tenant switch in the middle of a statement on tenant tables.
-- No BEGIN around the file: DISCARD ALL cannot run inside a transaction block (the database is
-- thrown away afterwards). DISCARD ALL also drops pgTAP's temporary tables, so it runs before plan().
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.

-- DISCARD ALL resets the tenant (and the role)
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
DISCARD ALL;
SELECT current_setting('tenant.org_id') AS after_discard,
       tenant_iso.current_org_id() IS NULL AS discard_no_tenant,
       current_user AS discard_user \gset

SELECT plan(87);

SELECT is(:'after_discard'::text, ''::text, 'DISCARD ALL resets tenant.org_id to the empty string');
SELECT ok(:'discard_no_tenant'::bool, 'DISCARD ALL: current_org_id() is NULL afterwards');
SELECT is(:'discard_user'::text, 'postgres'::text, 'DISCARD ALL also reset the role (sanity check of the set-up)');

------------------------------------------------------------------------------
-- current_org_id(): properties and behaviour without a tenant
------------------------------------------------------------------------------
SELECT is(p.provolatile, 's', 'current_org_id() is STABLE')
  FROM pg_proc p WHERE p.oid = 'tenant_iso.current_org_id()'::regprocedure;
SELECT is(p.proparallel, 's', 'current_org_id() is PARALLEL SAFE')
  FROM pg_proc p WHERE p.oid = 'tenant_iso.current_org_id()'::regprocedure;
SELECT ok(p.proleakproof, 'current_org_id() is LEAKPROOF')
  FROM pg_proc p WHERE p.oid = 'tenant_iso.current_org_id()'::regprocedure;
SELECT is(l.lanname::text, 'c', 'current_org_id() is written in C')
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = 'tenant_iso.current_org_id()'::regprocedure;
SELECT is(p.prorettype::regtype::text, 'uuid', 'current_org_id() returns uuid')
  FROM pg_proc p WHERE p.oid = 'tenant_iso.current_org_id()'::regprocedure;
SELECT ok(NOT p.prosecdef, 'current_org_id() is not SECURITY DEFINER')
  FROM pg_proc p WHERE p.oid = 'tenant_iso.current_org_id()'::regprocedure;

SET ROLE ti_app;
SELECT is(tenant_iso.current_org_id(), NULL, 'current_org_id() is NULL without a tenant');
SELECT is(current_setting('tenant.org_id'), '', 'tenant.org_id defaults to the empty string');

------------------------------------------------------------------------------
-- every uuid input form is accepted and stored canonically
------------------------------------------------------------------------------
SELECT is(set_config('tenant.org_id', '0A000000-0000-4000-8000-00000000000A', false),
          '0a000000-0000-4000-8000-00000000000a', 'upper case is accepted and canonicalised');
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'current_org_id() follows (upper case)');
SELECT is(set_config('tenant.org_id', '{0b000000-0000-4000-8000-00000000000b}', false),
          '0b000000-0000-4000-8000-00000000000b', 'braces are accepted and canonicalised');
SELECT is(tenant_iso.current_org_id(), '0b000000-0000-4000-8000-00000000000b'::uuid, 'current_org_id() follows the switch to B');
SELECT is(set_config('tenant.org_id', '0a00000000004000800000000000000a', false),
          '0a000000-0000-4000-8000-00000000000a', 'no hyphens is accepted and canonicalised');
SELECT is(set_config('tenant.org_id', '0b00-0000-0000-4000-8000-0000-0000-000b', false),
          '0b000000-0000-4000-8000-00000000000b', 'a hyphen after every group of four hex digits is accepted');
SELECT is(set_config('tenant.org_id', '0a000000-00004000-80000000-0000000a', false),
          '0a000000-0000-4000-8000-00000000000a', 'hyphens after some groups of four hex digits are accepted');
SELECT is(set_config('tenant.org_id', '{0B00000000004000800000000000000B}', false),
          '0b000000-0000-4000-8000-00000000000b', 'braces + upper case + no hyphens is accepted');
SELECT is(set_config('tenant.org_id', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', false)::uuid,
          'A0EEBC999C0B4EF8BB6D6BB9BD380A11'::uuid, 'the stored value equals what the uuid type reads');
-- SET and SHOW
SET tenant.org_id = '{0A000000-0000-4000-8000-00000000000A}';
CREATE FUNCTION pg_temp.show_tenant() RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
    EXECUTE 'SHOW tenant.org_id' INTO v;
    RETURN v;
END $$;
SELECT is(pg_temp.show_tenant(), '0a000000-0000-4000-8000-00000000000a', 'SHOW returns the canonical form after SET');
SELECT is(current_setting('tenant.org_id'), '0a000000-0000-4000-8000-00000000000a', 'current_setting() returns the canonical form');

------------------------------------------------------------------------------
-- the empty string means no tenant
------------------------------------------------------------------------------
SET tenant.org_id = '';
SELECT is(tenant_iso.current_org_id(), NULL, 'the empty string means no tenant');
SELECT throws_ok('SELECT count(*) FROM courses', 'TI001', NULL, 'and tenant tables then refuse ti_app (TI001)');

------------------------------------------------------------------------------
-- malformed values are refused (22P02) and leave the previous value in place
------------------------------------------------------------------------------
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT throws_ok($$SET tenant.org_id = 'garbage'$$, '22P02',
                 'invalid value for parameter "tenant.org_id": "garbage"', 'SET of garbage is refused with 22P02');
SELECT is(current_setting('tenant.org_id'), '0a000000-0000-4000-8000-00000000000a', 'the previous value stays after garbage');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0a000000-0000-4000-8000-00000000000', false)$$, '22P02', NULL,
                 'too short (31 hex digits) is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0a000000-0000-4000-8000-00000000000a0', false)$$, '22P02', NULL,
                 'too long (33 hex digits) is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0a000000-0000-4000-8000-00000000000a-', false)$$, '22P02', NULL,
                 'a trailing hyphen is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0a0-00000-0000-4000-8000-00000000000a', false)$$, '22P02', NULL,
                 'a hyphen after an odd number of hex digits is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0a000000--0000-4000-8000-00000000000a', false)$$, '22P02', NULL,
                 'a double hyphen is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', ' 0a000000-0000-4000-8000-00000000000a', false)$$, '22P02', NULL,
                 'leading white space is refused (as by the uuid type)');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '{0a000000-0000-4000-8000-00000000000a', false)$$, '22P02', NULL,
                 'an unbalanced brace is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0g000000-0000-4000-8000-00000000000a', false)$$, '22P02', NULL,
                 'a non-hex digit is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', 'ä0000000-0000-4000-8000-00000000000a', false)$$, '22P02', NULL,
                 'a non-ASCII letter is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '０a000000-0000-4000-8000-00000000000a', false)$$, '22P02', NULL,
                 'a full-width digit is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0a000000-0000-4000-8000-00000000000a; RESET ALL', false)$$, '22P02', NULL,
                 'a uuid followed by more text is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', 'NULL', false)$$, '22P02', NULL, 'the string NULL is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', repeat('0', 1048576), false)$$, '22P02',
                 'invalid value for parameter "tenant.org_id": "' || repeat('0', 64) || '..."',
                 'a 1 MB value is refused and the message quotes only its first 64 characters');
SELECT throws_ok($$SELECT set_config('tenant.org_id', 'garbage', true)$$, '22P02', NULL,
                 'set_config(..., true) validates too');
SELECT is(current_setting('tenant.org_id'), '0a000000-0000-4000-8000-00000000000a', 'the previous value stays after every refusal');
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'and current_org_id() still returns it');
-- settings stored for later sessions are validated too
SELECT throws_ok($$CREATE FUNCTION pg_temp.bad_tenant_fn() RETURNS int LANGUAGE sql SET tenant.org_id = 'garbage' AS 'SELECT 1'$$,
                 '22P02', NULL, 'a function SET clause with a malformed tenant is refused at CREATE FUNCTION');
RESET ROLE;
BEGIN;
SELECT throws_ok(format($$ALTER DATABASE %I SET tenant.org_id = 'garbage'$$, current_database()),
                 '22P02', NULL, 'ALTER DATABASE ... SET tenant.org_id with a malformed value is refused');
ROLLBACK;
-- a value given at connection time (startup packet, PGOPTIONS) is validated as well
\set startup_bad `PGOPTIONS='-c tenant.org_id=garbage' psql -X -At -d :DBNAME -c 'SHOW tenant.org_id' 2>&1 | head -1 | sed 's/.*FATAL: *//'`
SELECT is(:'startup_bad'::text, 'invalid value for parameter "tenant.org_id": "garbage"',
          'a malformed tenant.org_id in the connection options refuses the connection');
\set startup_ok `PGOPTIONS='-c tenant.org_id={0A000000-0000-4000-8000-00000000000A}' psql -X -At -d :DBNAME -c 'SHOW tenant.org_id' 2>&1`
SELECT is(:'startup_ok'::text, '0a000000-0000-4000-8000-00000000000a',
          'a valid tenant.org_id in the connection options is accepted and canonicalised');
SET ROLE ti_app;

-- set_config(..., NULL): PostgreSQL treats a NULL value as "reset to the default", i.e. no tenant
SELECT is(set_config('tenant.org_id', NULL, false), '', 'set_config(''tenant.org_id'', NULL, false) resets to the empty string');
SELECT is(tenant_iso.current_org_id(), NULL, 'after set_config(..., NULL) there is no tenant (fails closed)');

------------------------------------------------------------------------------
-- the tenant. prefix is reserved: typos are errors, not silent no-ops
------------------------------------------------------------------------------
SELECT throws_ok($$SET tenant.orgid = '0a000000-0000-4000-8000-00000000000a'$$, '42602', NULL,
                 'SET tenant.orgid (a typo) is an error');
SELECT throws_ok($$SELECT set_config('tenant.org', '0a000000-0000-4000-8000-00000000000a', false)$$, '42602', NULL,
                 'set_config(''tenant.org'', ...) (a typo) is an error');
SELECT throws_ok($$SET tenant_iso.missing_contxt = 'empty'$$, '42602', NULL,
                 'the tenant_iso. prefix is reserved too');
SELECT lives_ok($$SET TENANT.ORG_ID = '0a000000-0000-4000-8000-00000000000a'$$,
                'setting names are case-insensitive: SET TENANT.ORG_ID is the same setting');

------------------------------------------------------------------------------
-- SET, SET LOCAL, set_config, RESET, RESET ALL, transactions and savepoints
------------------------------------------------------------------------------
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
SET LOCAL tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is(tenant_iso.current_org_id(), '0b000000-0000-4000-8000-00000000000b'::uuid, 'SET LOCAL switches inside the transaction');
SELECT results_eq('SELECT title FROM courses ORDER BY title', ARRAY['Biology', 'Botany'], 'and the rows follow');
COMMIT;
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'SET LOCAL ends with the transaction');
BEGIN;
SELECT is(set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', true), '0b000000-0000-4000-8000-00000000000b',
          'set_config(..., true) switches inside the transaction');
SELECT is((SELECT count(*) FROM courses WHERE title = 'Biology'), 1::bigint, 'and the rows follow (set_config local)');
ROLLBACK;
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'set_config(..., true) ends with the transaction');
BEGIN;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
ROLLBACK;
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'a session SET in a rolled-back transaction is undone');
BEGIN;
SAVEPOINT s;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
ROLLBACK TO SAVEPOINT s;
SELECT is(tenant_iso.current_org_id(), '0a000000-0000-4000-8000-00000000000a'::uuid, 'ROLLBACK TO SAVEPOINT undoes a switch');
SELECT is((SELECT count(*) FROM courses WHERE title = 'Algebra'), 1::bigint, 'and the rows follow (savepoint)');
COMMIT;
SELECT is(set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false), '0b000000-0000-4000-8000-00000000000b',
          'set_config(..., false) switches for the session');
SELECT results_eq('SELECT title FROM courses ORDER BY title', ARRAY['Biology', 'Botany'], 'and persists after the statement');
RESET tenant.org_id;
SELECT is(tenant_iso.current_org_id(), NULL, 'RESET tenant.org_id removes the tenant');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET tenant.org_id TO DEFAULT;
SELECT is(tenant_iso.current_org_id(), NULL, 'SET tenant.org_id TO DEFAULT removes the tenant');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
RESET ALL;
SELECT is(tenant_iso.current_org_id(), NULL, 'RESET ALL removes the tenant');

------------------------------------------------------------------------------
-- no tenant switch in the middle of a statement on tenant tables
------------------------------------------------------------------------------
RESET ROLE;
CREATE FUNCTION public.switch_tenant(t text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('tenant.org_id', t, false);
    RETURN true;
END $$;
CREATE FUNCTION public.as_tenant_b() RETURNS boolean LANGUAGE sql VOLATILE
    SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b' AS 'SELECT true';
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT throws_ok($$SELECT * FROM courses WHERE set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false) IS NOT NULL$$,
                 'TI002', 'cannot change "tenant.org_id" while a statement on tenant tables is running',
                 'a set_config() in the WHERE clause of a query on a tenant table is refused (TI002)');
SELECT is(current_setting('tenant.org_id'), '0a000000-0000-4000-8000-00000000000a', 'the tenant is still A afterwards');
SELECT throws_ok($$SELECT * FROM courses WHERE public.switch_tenant('0b000000-0000-4000-8000-00000000000b')$$,
                 'TI002', NULL, 'a plpgsql function switching the tenant from the WHERE clause is refused (TI002)');
SELECT throws_ok($$SELECT * FROM courses WHERE public.as_tenant_b()$$,
                 'TI002', NULL, 'a function with SET tenant.org_id called from the WHERE clause is refused (TI002)');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false), (SELECT count(*) FROM courses)$$,
                 'TI002', NULL, 'a switch beside a sub-select on a tenant table is refused (TI002)');
SELECT throws_ok($$WITH s AS MATERIALIZED (SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false) AS v)
                   SELECT c.title FROM s, courses c$$,
                 'TI002', NULL, 'a switch in a CTE evaluated before the scan is refused (TI002)');
SELECT throws_ok($$UPDATE courses SET title = title WHERE public.switch_tenant('0b000000-0000-4000-8000-00000000000b')$$,
                 'TI002', NULL, 'a switch in the WHERE clause of an UPDATE is refused (TI002)');
SELECT throws_ok($$INSERT INTO courses (title) SELECT 'x' WHERE public.switch_tenant('0b000000-0000-4000-8000-00000000000b')$$,
                 'TI002', NULL, 'a switch in INSERT ... SELECT is refused (TI002)');
SELECT is((SELECT count(*) FROM courses WHERE set_config('tenant.org_id', '0a000000-0000-4000-8000-00000000000a', false) IS NOT NULL),
          2::bigint, 'setting the same tenant again inside a statement is harmless');
SELECT is(current_setting('tenant.org_id'), '0a000000-0000-4000-8000-00000000000a', 'the tenant is still A after all attempts');
SELECT is((SELECT count(*) FROM courses WHERE title IN ('Biology', 'Botany', 'x')), 0::bigint, 'and A sees none of B''s rows');
RESET ROLE;
CREATE FUNCTION public.switch_in_loop() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r record; n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM courses LOOP
        PERFORM set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
SET ROLE ti_app;
SELECT throws_ok('SELECT public.switch_in_loop()', 'TI002', NULL,
                 'a plpgsql FOR loop over a tenant table cannot switch the tenant inside the loop (TI002)');
-- a switch attempted from a trigger (installed by the table owner) during an insert
RESET ROLE;
SET ROLE ti_owner;
CREATE FUNCTION public.switch_in_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false);
    RETURN NEW;
END $$;
CREATE TRIGGER aaa_switch BEFORE INSERT ON courses FOR EACH ROW EXECUTE FUNCTION public.switch_in_trigger();
RESET ROLE;
SET ROLE ti_app;
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('Trigger switch')$$, 'TI002', NULL,
                 'a switch from a BEFORE INSERT trigger (fired before the stamping trigger) is refused (TI002)');
RESET ROLE;
DROP TRIGGER aaa_switch ON courses;
-- with missing_context = 'empty', a statement without tenant cannot acquire one half-way
SET ROLE ti_app;
SET tenant_iso.missing_context = 'empty';
RESET tenant.org_id;
SELECT throws_ok($$SELECT * FROM courses WHERE set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false) IS NOT NULL$$,
                 'TI002', NULL, 'missing_context = empty: setting a tenant half-way through a statement is refused (TI002)');
RESET tenant_iso.missing_context;

-- the plain, separate statement that applications run keeps working
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
PREPARE set_tenant(text) AS SELECT set_config('tenant.org_id', $1, true);
BEGIN;
EXECUTE set_tenant('0b000000-0000-4000-8000-00000000000b') \gset prep_
SELECT is(:'prep_set_config'::text, '0b000000-0000-4000-8000-00000000000b', 'SELECT set_config(''tenant.org_id'', $1, true) on its own works');
SELECT results_eq('SELECT title FROM courses ORDER BY title', ARRAY['Biology', 'Botany'], 'and the next statement sees B');
COMMIT;
DEALLOCATE set_tenant;

-- an open cursor on a tenant table blocks a switch until it is closed
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
BEGIN;
DECLARE c CURSOR FOR SELECT title FROM courses ORDER BY title;
FETCH 1 FROM c \gset cur1_
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', false)$$,
                 'TI002', NULL, 'a switch while a cursor on a tenant table is open is refused (TI002)');
SELECT throws_ok($$SET tenant.org_id = ''$$,
                 'TI002', NULL, 'removing the tenant while a cursor is open is refused too');
FETCH 1 FROM c \gset cur2_
SELECT is(:'cur1_title'::text || ',' || :'cur2_title', 'Algebra,Astronomy'::text, 'the cursor keeps returning A''s rows');
CLOSE c;
SELECT lives_ok($$SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', true)$$,
                'after CLOSE the switch is allowed');
SELECT results_eq('SELECT title FROM courses ORDER BY title', ARRAY['Biology', 'Botany'], 'and takes effect');
COMMIT;

SELECT * FROM finish();
