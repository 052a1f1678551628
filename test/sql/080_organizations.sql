-- The tenant registry: tenant_iso.create_organization() / drop_organization() are for the
-- provisioning role only; drop_organization() removes every row of the organization in every
-- tenant table and returns how many; bad input gives clear errors; a tenant sees only its own
-- organization in tenant_iso.organizations and cannot change the registry.
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
BEGIN;
SELECT plan(49);

\ir include/error_of.sql
\ir include/org_count.sql

------------------------------------------------------------------------------
-- who may call them
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT throws_ok($$SELECT tenant_iso.create_organization('Mallory Inc')$$, '42501', NULL, 'ti_app cannot create an organization (42501)');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('0b000000-0000-4000-8000-00000000000b')$$, '42501', NULL,
                 'ti_app cannot drop an organization (42501)');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT throws_ok($$SELECT tenant_iso.drop_organization('0a000000-0000-4000-8000-00000000000a')$$, '42501', NULL,
                 'ti_app cannot drop even its own organization (42501)');
RESET tenant.org_id;
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok($$SELECT tenant_iso.create_organization('Mallory Inc')$$, '42501', NULL, 'ti_owner cannot create an organization (42501)');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('0b000000-0000-4000-8000-00000000000b')$$, '42501', NULL,
                 'ti_owner cannot drop an organization (42501)');
RESET ROLE;
SET ROLE ti_other;
SELECT throws_ok($$SELECT tenant_iso.create_organization('Mallory Inc')$$, '42501', NULL, 'a role without the grant cannot create an organization');
RESET ROLE;
SELECT is(has_function_privilege('public', 'tenant_iso.create_organization(text, uuid)', 'EXECUTE'), false,
          'PUBLIC has no EXECUTE on create_organization');
SELECT is(has_function_privilege('public', 'tenant_iso.drop_organization(uuid)', 'EXECUTE'), false,
          'PUBLIC has no EXECUTE on drop_organization');
SELECT ok((SELECT prosecdef AND proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc WHERE oid = 'tenant_iso.create_organization(text, uuid)'::regprocedure),
          'create_organization is SECURITY DEFINER with search_path pinned to pg_catalog, pg_temp');
SELECT ok((SELECT prosecdef AND proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc WHERE oid = 'tenant_iso.drop_organization(uuid)'::regprocedure),
          'drop_organization is SECURITY DEFINER with search_path pinned to pg_catalog, pg_temp');

------------------------------------------------------------------------------
-- the provisioning role creates organizations
------------------------------------------------------------------------------
SET ROLE ti_prov;
SELECT is(tenant_iso.create_organization('Gamma Guild', '0c000000-0000-4000-8000-00000000000c'), '0c000000-0000-4000-8000-00000000000c'::uuid,
          'ti_prov creates an organization with a given id and gets the id back');
SELECT tenant_iso.create_organization('Delta Dojo') AS delta_id \gset
SELECT isnt(:'delta_id'::uuid, NULL, 'ti_prov creates an organization with a generated id');
SELECT is(length(tenant_iso.create_organization(repeat('n', 200))::text), 36, 'a name of 200 characters is accepted');
RESET ROLE;
SELECT results_eq(format($$SELECT name FROM tenant_iso.organizations WHERE id IN ('0c000000-0000-4000-8000-00000000000c', %L) ORDER BY name$$, :'delta_id'),
                  ARRAY['Delta Dojo', 'Gamma Guild'], 'both organizations are in the registry');
SELECT ok((SELECT created_at IS NOT NULL FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-00000000000c'), 'created_at is set');
-- the new organization is usable at once
SET tenant.org_id = '0c000000-0000-4000-8000-00000000000c';
SET ROLE ti_app;
SELECT lives_ok($$INSERT INTO courses (id, title) VALUES ('2c000000-0000-4000-8000-000000000001', 'Geometry')$$,
                'a tenant of the new organization can insert');
SELECT results_eq('SELECT title FROM courses', ARRAY['Geometry'], 'and sees only its own rows');
RESET ROLE;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- bad input
------------------------------------------------------------------------------
SET ROLE ti_prov;
SELECT throws_ok($$SELECT tenant_iso.create_organization(NULL)$$, '22023', 'organization name must not be empty', 'a NULL name is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization('')$$, '22023', 'organization name must not be empty', 'an empty name is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization(E' \t ')$$, '22023', NULL, 'a name of white space only (space, tab) is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization(repeat('x', 10240))$$, '22001', 'organization name is too long',
                 'a 10 kB name is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization(repeat('x', 201))$$, '22001', NULL, 'a name of 201 characters is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization('Again', '0a000000-0000-4000-8000-00000000000a')$$, '23505',
                 'organization 0a000000-0000-4000-8000-00000000000a already exists', 'a duplicate id is refused (23505)');
SELECT throws_ok($$SELECT tenant_iso.create_organization('Bad', 'not-a-uuid')$$, '22P02', NULL, 'a malformed id is refused (22P02)');
SELECT throws_ok($$SELECT tenant_iso.drop_organization(NULL)$$, '22004', 'organization id must not be NULL', 'drop_organization(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('0f000000-0000-4000-8000-00000000000f')$$, NULL,
                 'organization 0f000000-0000-4000-8000-00000000000f does not exist', 'dropping an unknown organization is refused');
SELECT doesnt_match(pg_temp.error_of($$SELECT tenant_iso.drop_organization('0f000000-0000-4000-8000-00000000000f')$$), '^0[0-2]',
               'and its SQLSTATE is an error class (not 00 success, 01 warning or 02 no data)');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenant_iso.organizations WHERE name IN ('', 'Again', 'Bad') OR length(name) > 200), 0::bigint,
          'no refused organization was registered');

------------------------------------------------------------------------------
-- drop_organization removes every row of the organization and returns how many
------------------------------------------------------------------------------
-- extra tenant tables: a partitioned one, an inheritance parent and child, and rows of A in them
SET ROLE ti_owner;
CREATE TABLE events (organization_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE notes (organization_id uuid NOT NULL, body text);
CREATE TABLE pinned_notes (pinned_at date) INHERITS (notes);
RESET ROLE;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
INSERT INTO events (at) VALUES ('2024-03-01'), ('2025-03-01'), ('2025-04-01');
INSERT INTO notes (body) VALUES ('n1');
INSERT INTO pinned_notes (body, pinned_at) VALUES ('p1', '2025-01-01'), ('p2', '2025-01-02');
RESET ROLE;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
INSERT INTO events (at) VALUES ('2024-05-01');
INSERT INTO pinned_notes (body) VALUES ('b1');
RESET ROLE;
RESET tenant.org_id;

SELECT pg_temp.org_count('0a000000-0000-4000-8000-00000000000a') AS a_rows, pg_temp.org_count('0b000000-0000-4000-8000-00000000000b') AS b_rows \gset
SELECT is(:a_rows::bigint, 16::bigint, 'sanity: A has 10 fixture rows + 3 events + 1 note + 2 pinned notes = 16 tenant rows');
SET ROLE ti_prov;
SELECT is(tenant_iso.drop_organization('0a000000-0000-4000-8000-00000000000a'), :a_rows::bigint,
          'drop_organization returns the number of tenant rows removed (16, each row counted once)');
RESET ROLE;
SELECT is(pg_temp.org_count('0a000000-0000-4000-8000-00000000000a'), 0::bigint, 'no row of A is left in any tenant table');
SELECT is((SELECT count(*) FROM events WHERE organization_id = '0a000000-0000-4000-8000-00000000000a'), 0::bigint,
          'no row of A is left in the partitioned table');
SELECT is((SELECT count(*) FROM notes WHERE organization_id = '0a000000-0000-4000-8000-00000000000a'), 0::bigint,
          'no row of A is left in the inheritance tree');
SELECT is_empty($$SELECT 1 FROM tenant_iso.organizations WHERE id = '0a000000-0000-4000-8000-00000000000a'$$, 'A is gone from the registry');
SELECT is(pg_temp.org_count('0b000000-0000-4000-8000-00000000000b'), :b_rows::bigint, 'B''s rows are untouched');
SELECT is_empty($$SELECT 1 FROM courses c WHERE NOT EXISTS (SELECT 1 FROM tenant_iso.organizations o WHERE o.id = c.organization_id)$$,
                'no course is left without an organization');
SET ROLE ti_prov;
SELECT is(tenant_iso.drop_organization(:'delta_id'), 0::bigint, 'dropping an organization without rows returns 0');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('0a000000-0000-4000-8000-00000000000a')$$, NULL, NULL,
                 'dropping the same organization twice is refused');
RESET ROLE;
-- a session still set to the dropped organization sees nothing and cannot write
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM courses), 0::bigint, 'a session of the dropped organization sees no rows');
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('Ghost')$$, '23503', NULL,
                 'a session of the dropped organization cannot insert (the registry guard)');
RESET ROLE;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- a tenant sees only its own organization and cannot change the registry
------------------------------------------------------------------------------
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
SELECT results_eq('SELECT id, name FROM tenant_iso.organizations', $$VALUES ('0b000000-0000-4000-8000-00000000000b'::uuid, 'Beta Bootcamp')$$,
                  'a tenant sees exactly its own organization');
SELECT is_empty($$SELECT 1 FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-00000000000c'$$,
                'another organization looked up by id is invisible');
SELECT throws_ok($$INSERT INTO tenant_iso.organizations (name) VALUES ('Mallory Inc')$$, '42501', NULL,
                 'ti_app cannot insert into the registry');
SELECT throws_ok($$UPDATE tenant_iso.organizations SET name = 'pwned'$$, '42501', NULL, 'ti_app cannot update the registry');
SELECT throws_ok($$DELETE FROM tenant_iso.organizations$$, '42501', NULL, 'ti_app cannot delete from the registry');
RESET ROLE;
-- even with table privileges, row level security keeps a tenant to its own row
GRANT INSERT, UPDATE, DELETE ON tenant_iso.organizations TO ti_other;
GRANT SELECT ON tenant_iso.organizations TO ti_other;
SET ROLE ti_other;
SELECT throws_ok($$INSERT INTO tenant_iso.organizations (id, name) VALUES ('0d000000-0000-4000-8000-00000000000d', 'Mallory Inc')$$, '42501', NULL,
                 'with INSERT privilege, a tenant still cannot register another organization (row level security)');
WITH u AS (UPDATE tenant_iso.organizations SET name = 'pwned' WHERE id = '0c000000-0000-4000-8000-00000000000c' RETURNING 1)
SELECT count(*) AS n_reg_upd FROM u \gset
SELECT is(:n_reg_upd::bigint, 0::bigint, 'with UPDATE privilege, another organization''s row is not updated');
WITH d AS (DELETE FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-00000000000c' RETURNING 1)
SELECT count(*) AS n_reg_del FROM d \gset
SELECT is(:n_reg_del::bigint, 0::bigint, 'with DELETE privilege, another organization''s row is not deleted');
RESET ROLE;
SELECT results_eq($$SELECT name FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-00000000000c'$$, ARRAY['Gamma Guild'],
                  'the other organization is intact');

SELECT * FROM finish();
ROLLBACK;
