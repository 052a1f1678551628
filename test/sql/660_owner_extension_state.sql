-- Issue 11, item 6: backend state of the extension, and who "the extension owner" is.
--   - An error inside the extension's own DDL (run as the extension's owner, with its hooks told
--     that the work is theirs) must not leave anything behind once a savepoint or an exception
--     block catches it: not the "internal" flag that switches the guard and the schema check
--     off, not the extension owner's identity, not its search_path, not tenant_iso.unsafe_ddl.
--     Routes: as ti_owner (a table moved into a managed schema whose set-up fails), and as a
--     superuser with tenant_iso.unsafe_ddl on (an unsafe DROP EXTENSION whose closing of the
--     tenant tables fails; the escape hatch is superuser-only).
--   - The extension's schema cannot be given away or renamed (ALTER SCHEMA tenant_iso OWNER TO /
--     RENAME TO), neither by the table owner nor by a superuser; the extension's owner
--     (pg_extension.extowner) is the one owner: of the schema, of the set-up DDL, of the admin
--     functions.
-- Attacker: ti_owner (the table owner, not superuser) and, where the item says so, a superuser.
-- A superuser also creates the event trigger that makes the extension's own DDL fail.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;
BEGIN;
SELECT plan(42);
\ir include/err.sql

\ir include/violations.sql
\ir include/rls.sql
-- who ran which DDL command (ddl_command_end), for the set-up's internal statements
SELECT tenant_iso.exempt_table('public.ddl_log', 'test instrumentation: who ran which DDL') \gset
CREATE TABLE public.ddl_log (tag text, who text);
GRANT INSERT, SELECT ON public.ddl_log TO PUBLIC;
CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('test.log_ddl', true) = 'on' THEN
        INSERT INTO public.ddl_log VALUES (tg_tag, current_user);
    END IF;
END $$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION public.log_ddl();
-- makes the extension's own DROP POLICY / ALTER TABLE fail when test.fail_internal is on
CREATE FUNCTION public.fail_internal() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('test.fail_internal', true) = 'on' THEN
        RAISE EXCEPTION 'the extension''s own % made to fail', tg_tag USING ERRCODE = 'ZZ042';
    END IF;
END $$;
CREATE EVENT TRIGGER fail_internal ON ddl_command_start WHEN TAG IN ('DROP POLICY', 'CREATE POLICY') EXECUTE FUNCTION public.fail_internal();
SELECT format('GRANT CREATE ON DATABASE %I TO ti_owner', current_database()) \gexec
SET ROLE ti_owner;
CREATE SCHEMA stage;
RESET ROLE;
SELECT tenant_iso.exempt_schema('stage', 'staging area of the migration role') \gset
SET tenant.org_id = :'A';
SELECT current_setting('search_path') AS search_path_before \gset

------------------------------------------------------------------------------
-- as ti_owner: the set-up of a table moved into a managed schema fails
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE TABLE stage.orphans (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text);
INSERT INTO stage.orphans (organization_id, secret) VALUES ('0c000000-0000-4000-8000-00000000000c', 'C:orphan');
SAVEPOINT before_move;
\set ON_ERROR_STOP 0
ALTER TABLE stage.orphans SET SCHEMA public;
\set ON_ERROR_STOP 1
ROLLBACK TO SAVEPOINT before_move;
SELECT is(current_user::text, 'ti_owner', 'after ROLLBACK TO SAVEPOINT of a failed set-up (the registry key, added as the extension owner, failed): current_user is ti_owner again');
SELECT is(current_setting('is_superuser'), 'off', '... not a superuser');
SELECT is(current_setting('search_path'), :'search_path_before', '... with its own search_path');
SELECT throws_ok('ALTER TABLE courses NO FORCE ROW LEVEL SECURITY', '42P16', NULL, '... and the guard refuses NO FORCE ROW LEVEL SECURITY again');
SELECT throws_ok('DROP POLICY tenant_isolation ON courses', '42P16', NULL, '... and DROP POLICY tenant_isolation');
SELECT throws_ok('TRUNCATE courses', '42501', NULL, '... and TRUNCATE');
SELECT lives_ok('CREATE TABLE after_move (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text)',
                '... and a new table is created');
RESET ROLE;
SELECT is(pg_temp.rls('after_move'), 'true/true', '... and set up by the schema check');
SELECT is(pg_temp.rls('stage.orphans'), 'false/false', 'stage.orphans is as it was');
-- the same failure caught by an exception block, followed in the same block by an attack
SET ROLE ti_owner;
SELECT throws_ok($q$DO $d$
BEGIN
    BEGIN
        ALTER TABLE stage.orphans SET SCHEMA public;
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    ALTER TABLE courses NO FORCE ROW LEVEL SECURITY;
END $d$$q$, '42P16', NULL,
                 'in one DO block: after a failed set-up caught by an exception block, NO FORCE ROW LEVEL SECURITY is still refused');
SELECT throws_ok($q$DO $d$
BEGIN
    BEGIN
        ALTER TABLE stage.orphans SET SCHEMA public;
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    IF current_user <> 'ti_owner' OR current_setting('is_superuser') = 'on' THEN
        RAISE EXCEPTION 'the block runs as %', current_user USING ERRCODE = 'ZZ043';
    END IF;
    CREATE TABLE public.after_block (organization_id uuid NOT NULL, secret text);
    IF NOT (SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.after_block'::regclass) THEN
        RAISE EXCEPTION 'the new table was not set up' USING ERRCODE = 'ZZ044';
    END IF;
    RAISE EXCEPTION 'all well' USING ERRCODE = 'ZZ045';
END $d$$q$, 'ZZ045', NULL,
                 'in one DO block: after the caught failure the block still runs as ti_owner and a new table is set up');
RESET ROLE;
SELECT is(pg_temp.violations('courses'), '', 'courses passes every check');

------------------------------------------------------------------------------
-- as a superuser with the escape hatch: the extension's own DDL fails, a savepoint catches it
------------------------------------------------------------------------------
SAVEPOINT before_unsafe;
SET LOCAL tenant_iso.unsafe_ddl = on;
SET LOCAL test.fail_internal = on;
\set ON_ERROR_STOP 0
DROP EXTENSION tenant_iso CASCADE;
\set ON_ERROR_STOP 1
\set unsafe_drop_state :LAST_ERROR_SQLSTATE
ROLLBACK TO SAVEPOINT before_unsafe;
SELECT is(:'unsafe_drop_state'::text, 'ZZ042', 'sanity: the unsafe DROP EXTENSION failed in the extension''s own DROP POLICY');
SELECT is(current_setting('tenant_iso.unsafe_ddl'), 'off', 'after ROLLBACK TO SAVEPOINT, tenant_iso.unsafe_ddl is off again');
SELECT is(current_setting('search_path'), :'search_path_before', '... the search_path is the session''s');
SELECT is((SELECT count(*) FROM pg_extension WHERE extname = 'tenant_iso'), 1::bigint, '... the extension is there');
SELECT is((SELECT count(*) FROM pg_policy WHERE polname = 'tenant_access' AND polrelid IN ('users'::regclass, 'courses'::regclass, 'lessons'::regclass, 'enrollments'::regclass, 'assets'::regclass)),
          5::bigint, '... every tenant table still has its tenant_access policy');
SELECT throws_ok('ALTER TABLE courses NO FORCE ROW LEVEL SECURITY', '42P16', NULL,
                 '... and the guard refuses NO FORCE ROW LEVEL SECURITY to the superuser again');
SET ROLE ti_owner;
SELECT throws_ok('ALTER TABLE courses DISABLE ROW LEVEL SECURITY', '42P16', NULL, '... and to ti_owner');
SELECT lives_ok('CREATE TABLE after_unsafe (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text)',
                '... ti_owner creates a table');
RESET ROLE;
SELECT is(pg_temp.rls('after_unsafe'), 'true/true', '... which the schema check sets up');
-- a session-level SET inside the savepoint is undone as well
SAVEPOINT before_unsafe2;
SET tenant_iso.unsafe_ddl = on;
SET test.fail_internal = on;
\set ON_ERROR_STOP 0
DROP EXTENSION tenant_iso CASCADE;
\set ON_ERROR_STOP 1
ROLLBACK TO SAVEPOINT before_unsafe2;
SELECT is(current_setting('tenant_iso.unsafe_ddl'), 'off', 'a session-level SET tenant_iso.unsafe_ddl = on inside the rolled-back savepoint is undone');
SELECT throws_ok('ALTER TABLE assets NO FORCE ROW LEVEL SECURITY', '42P16', NULL, '... and the guard refuses again');
-- the failure caught inside a DO block, under unsafe_ddl, then the escape hatch closed in the same block
SELECT throws_ok($q$DO $d$
BEGIN
    PERFORM set_config('tenant_iso.unsafe_ddl', 'on', true);
    PERFORM set_config('test.fail_internal', 'on', true);
    BEGIN
        DROP EXTENSION tenant_iso CASCADE;
    EXCEPTION WHEN SQLSTATE 'ZZ042' THEN NULL;
    END;
    PERFORM set_config('tenant_iso.unsafe_ddl', 'off', true);
    ALTER TABLE assets NO FORCE ROW LEVEL SECURITY;
END $d$$q$, '42P16', NULL,
                 'in one DO block: after the failed unsafe DROP EXTENSION is caught and unsafe_ddl set off, NO FORCE ROW LEVEL SECURITY is refused');
RESET test.fail_internal;
-- the escape hatch is the superuser's only: set by a superuser, it does nothing after SET ROLE
SET tenant_iso.unsafe_ddl = on;
SET ROLE ti_owner;
SELECT throws_ok('ALTER TABLE courses NO FORCE ROW LEVEL SECURITY', '42P16', NULL,
                 'tenant_iso.unsafe_ddl set by a superuser does not open the escape hatch for ti_owner after SET ROLE');
SELECT throws_ok('RESET tenant_iso.unsafe_ddl', '42501', NULL, '... and ti_owner cannot even reset it');
RESET ROLE;
RESET tenant_iso.unsafe_ddl;
SELECT is(pg_temp.violations('courses') || pg_temp.violations('assets'), '', 'courses and assets pass every check');

------------------------------------------------------------------------------
-- the extension's schema: no new owner, no new name
------------------------------------------------------------------------------
SELECT n.nspowner AS nsp_owner, e.extowner AS ext_owner FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'tenant_iso' \gset
SET ROLE ti_owner;
SELECT throws_ok('ALTER SCHEMA tenant_iso OWNER TO ti_owner', '42501', NULL, 'ti_owner: ALTER SCHEMA tenant_iso OWNER TO ti_owner is refused (42501)');
SELECT throws_ok('ALTER SCHEMA tenant_iso RENAME TO tenant_iso_old', '42501', NULL, 'ti_owner: ALTER SCHEMA tenant_iso RENAME is refused (42501)');
SELECT throws_ok('ALTER EXTENSION tenant_iso SET SCHEMA public', NULL, NULL, 'ti_owner: ALTER EXTENSION tenant_iso SET SCHEMA is refused');
SELECT throws_ok('CREATE FUNCTION tenant_iso.current_org_id(x int) RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$', '42501', NULL,
                 'ti_owner cannot create objects in schema tenant_iso');
RESET ROLE;
CREATE ROLE ti_schema_heir660 NOLOGIN SUPERUSER;
SELECT throws_ok('ALTER SCHEMA tenant_iso OWNER TO ti_owner', '42501', 'cannot alter schema tenant_iso',
                 'a superuser: ALTER SCHEMA tenant_iso OWNER TO ti_owner is refused (42501)');
SELECT throws_ok('ALTER SCHEMA tenant_iso OWNER TO ti_schema_heir660', '42501', 'cannot alter schema tenant_iso',
                 'a superuser: ALTER SCHEMA tenant_iso OWNER TO another superuser is refused (42501)');
SELECT throws_ok('ALTER SCHEMA tenant_iso RENAME TO tenant_iso_old', '42501', 'cannot alter schema tenant_iso',
                 'a superuser: ALTER SCHEMA tenant_iso RENAME is refused (42501)');
SELECT throws_ok($q$DO $d$ BEGIN EXECUTE 'ALTER SCHEMA tenant_iso RENAME TO tenant_iso_old'; END $d$$q$, '42501', NULL,
                 'a superuser: the same from a DO block is refused');
SELECT is((SELECT n.nspname || ' ' || (n.nspowner = :nsp_owner) || ' ' || (e.extowner = :ext_owner) || ' ' || (n.nspowner = e.extowner)
             FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'tenant_iso'),
          'tenant_iso true true true', 'the extension''s schema keeps its name and its owner, which is the extension''s owner');

------------------------------------------------------------------------------
-- "the extension owner" is pg_extension.extowner, everywhere
------------------------------------------------------------------------------
SET test.log_ddl = on;
SET ROLE ti_owner;
CREATE TABLE owner_probe (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text);
RESET ROLE;
RESET test.log_ddl;
SELECT is((SELECT who FROM public.ddl_log WHERE tag = 'CREATE TABLE'), 'ti_owner', 'sanity: ti_owner ran CREATE TABLE');
SELECT is((SELECT string_agg(DISTINCT who, ',') FROM public.ddl_log WHERE tag <> 'CREATE TABLE'),
          (SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'tenant_iso'),
          'the set-up''s own DDL (index, key, row level security, policies, trigger) ran as the extension''s owner (pg_extension.extowner)');
SELECT cmp_ok((SELECT count(*) FROM public.ddl_log WHERE tag <> 'CREATE TABLE'), '>=', 3::bigint, 'sanity: the set-up ran several statements');
SET ROLE ti_owner;
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('stage2', 'mine')$$, '42501', NULL,
                 'ti_owner may not exempt a schema: it is neither superuser nor a member of the extension''s owner');
SELECT throws_ok($$SELECT tenant_iso._require_admin('test')$$, '42501', NULL, '... nor pass the admin check directly');
RESET ROLE;
SELECT is(pg_temp.violations('owner_probe'), '', 'owner_probe passes every check');

SELECT * FROM finish();
ROLLBACK;
