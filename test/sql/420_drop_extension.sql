-- DROP EXTENSION tenant_iso is deliberate: refused while tenant tables exist; with a
-- superuser's tenant_iso.unsafe_ddl and CASCADE the tables are closed first, so they
-- fail closed (no rows for roles row level security applies to) instead of open.
-- Runs in its own database, as the superuser; everything is rolled back at the end.
BEGIN;
SELECT plan(24);

------------------------------------------------------------------------------
-- Refused while tenant tables exist
------------------------------------------------------------------------------
SELECT throws_ok('DROP EXTENSION tenant_iso', '2BP01', 'cannot drop extension tenant_iso while 5 tenant tables exist',
                 'DROP EXTENSION is refused while tenant tables exist');
SELECT throws_ok('DROP EXTENSION tenant_iso CASCADE', '2BP01', 'cannot drop extension tenant_iso while 5 tenant tables exist',
                 'also with CASCADE');
SELECT throws_ok('DROP EXTENSION IF EXISTS tenant_iso CASCADE', '2BP01', NULL, 'also with IF EXISTS');
SET ROLE ti_owner;
SELECT throws_ok('DROP EXTENSION tenant_iso CASCADE', NULL, NULL, 'the table owner cannot drop it');
RESET ROLE;
SET client_min_messages = warning;
SELECT throws_ok('DROP SCHEMA tenant_iso CASCADE', '2BP01', NULL,
                 'dropping the extension''s schema (which drops the extension) is refused like DROP EXTENSION');
RESET client_min_messages;
SELECT throws_ok('DROP FUNCTION tenant_iso.current_org_id() CASCADE', '2BP01', NULL,
                 'dropping the function the policies call is refused (it belongs to the extension)');
SELECT is((SELECT count(*) FROM pg_extension WHERE extname = 'tenant_iso'), 1::bigint, 'the extension is still there');

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'and tenant A still sees its 2 courses');
RESET ROLE;
RESET tenant.org_id;

-- under unsafe_ddl but without CASCADE: PostgreSQL refuses (the policies depend on the
-- extension's function), and the closing of the tables is rolled back with it
SET client_min_messages = error;
SET tenant_iso.unsafe_ddl = on;
SELECT throws_ok('DROP EXTENSION tenant_iso', '2BP01', NULL, 'without CASCADE the drop fails even under unsafe_ddl');
RESET tenant_iso.unsafe_ddl;
RESET client_min_messages;
SELECT is((SELECT count(*) FROM pg_policy WHERE polname = 'tenant_access'), 6::bigint,
          'the failed drop left every tenant_access policy in place');

------------------------------------------------------------------------------
-- A superuser's deliberate drop, under unsafe_ddl, with CASCADE
------------------------------------------------------------------------------
SET client_min_messages = error;
SET tenant_iso.unsafe_ddl = on;
DROP EXTENSION tenant_iso CASCADE;
RESET tenant_iso.unsafe_ddl;
RESET client_min_messages;
SELECT is((SELECT count(*) FROM pg_extension WHERE extname = 'tenant_iso'), 0::bigint, 'the extension is gone');
SELECT is(to_regclass('tenant_iso.organizations'), NULL, 'with its registry');
SELECT is_empty($$SELECT c.relname FROM pg_class c
                  WHERE c.relname IN ('users', 'courses', 'lessons', 'enrollments', 'assets')
                    AND NOT (c.relrowsecurity AND c.relforcerowsecurity)$$,
                'row level security stays enabled and forced on every former tenant table');
SELECT is((SELECT count(*) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
            WHERE c.relname IN ('users', 'courses', 'lessons', 'enrollments', 'assets')), 0::bigint,
          'no policy is left on them: neither tenant_isolation nor tenant_access');

-- the application role sees nothing and writes nothing, with or without a tenant
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM users) + (SELECT count(*) FROM courses) + (SELECT count(*) FROM lessons)
          + (SELECT count(*) FROM enrollments) + (SELECT count(*) FROM assets), 0::bigint,
          'ti_app working for A sees no row of any former tenant table');
SELECT is_empty($$SELECT * FROM courses WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'$$,
                'in particular none of B''s rows');
SELECT throws_ok($$INSERT INTO courses (organization_id, title) VALUES ('0a000000-0000-4000-8000-00000000000a', 'x')$$,
                 '42501', NULL, 'an insert is refused by row level security');
UPDATE courses SET title = 'hijacked';
DELETE FROM lessons;
RESET ROLE;
RESET tenant.org_id;
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM courses), 0::bigint, 'without a tenant it sees nothing either');
RESET ROLE;
SET ROLE ti_owner;
SELECT is((SELECT count(*) FROM courses), 0::bigint, 'the table owner is closed out too (row level security is forced)');
RESET ROLE;
SELECT is((SELECT count(*) FROM courses WHERE title = 'hijacked'), 0::bigint, 'the blind UPDATE changed nothing');
SELECT is((SELECT count(*) FROM lessons), 4::bigint, 'the blind DELETE removed nothing; the superuser still sees all rows');

-- the data survives and can be put back under management by reinstalling
SET client_min_messages = error;
CREATE EXTENSION tenant_iso;
SELECT tenant_iso.create_organization('Alpha Academy', '0a000000-0000-4000-8000-00000000000a') IS NOT NULL AS created \gset
SELECT tenant_iso.create_organization('Beta Bootcamp', '0b000000-0000-4000-8000-00000000000b') IS NOT NULL AS created \gset
CREATE TEMP TABLE r AS SELECT * FROM tenant_iso.enroll_schema('public');
RESET client_min_messages;
SELECT results_eq($$SELECT relation::text, status FROM r ORDER BY 1$$,
    $$VALUES ('assets', 'enrolled'), ('courses', 'enrolled'), ('enrollments', 'enrolled'), ('lessons', 'enrolled'), ('users', 'enrolled')$$,
    'after CREATE EXTENSION and re-registering the organizations, enroll_schema() takes the tables back');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
SELECT results_eq($$SELECT title FROM courses ORDER BY title$$, ARRAY['Biology', 'Botany'], 'and tenant B sees its own courses again');
RESET ROLE;
RESET tenant.org_id;
SELECT lives_ok('SELECT tenant_iso.verify()', 'verify() passes');
SELECT * FROM finish();
ROLLBACK;
