-- Issue 11, item 5: a table must not escape (or slip in) by moving between schemas.
-- A table moved into a managed schema (ALTER TABLE ... SET SCHEMA) is set up by the schema check
-- or the move is refused; a tenant table cannot move into an exempt schema; a schema holding
-- tenant tables cannot be renamed onto an exempt name; exemption records follow renames of
-- exempt tables and schemas (and do not make a renamed tenant table unprotected).
-- Attacker: ti_owner (the table owner, not superuser), with CREATE on the database so that it can
-- create schemas of its own; ti_app (working for tenant A) reads.  A superuser (the
-- administrator) only grants and exempts: schema ref (global tables), the future schema name
-- "archive" and the table names public.plans and public.price_list.
-- Routes: a copy of courses filled in the exempt schema and moved into public (the issue's
-- example); tables that cannot be tenant tables moved in; a table carrying a rule moved in; a
-- partitioned table moved in without its partitions; tenant tables (also a partition, from a DO
-- block) moved out; schema renames onto exempt names and onto names an exemption left; a tenant
-- table renamed onto an exempt table name and back (the exemption must stay with the name).
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;
BEGIN;
SELECT plan(56);
\ir include/err.sql

\ir include/violations.sql
CREATE FUNCTION pg_temp.schema_of(rel text) RETURNS text LANGUAGE sql AS $$
    SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(rel)
$$;
\ir include/rls.sql
CREATE FUNCTION pg_temp.exemptions() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(schema_name || '.' || coalesce(table_name, '*'), ', ' ORDER BY schema_name, table_name) FROM tenant_iso.exemptions
$$;
\ir include/app_secrets.sql

SELECT format('GRANT CREATE ON DATABASE %I TO ti_owner', current_database()) \gexec
SET ROLE ti_owner;
CREATE SCHEMA ref;
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA ref, app TO ti_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA ref, app GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ti_app;
RESET ROLE;
SELECT tenant_iso.exempt_schema('ref', 'global lookup tables') \gset
SELECT tenant_iso.exempt_schema('archive', 'reserved for global archives') \gset
SELECT tenant_iso.exempt_table('public.plans', 'plans are global') \gset
SET tenant.org_id = :'A';

------------------------------------------------------------------------------
-- into a managed schema: set up, or refused
------------------------------------------------------------------------------
SET ROLE ti_owner;
-- the issue's example: a copy of courses, filled in the exempt schema with rows of A and B
CREATE TABLE ref.g3 (LIKE courses INCLUDING ALL, secret text);
INSERT INTO ref.g3 (organization_id, title, secret) VALUES (:'A', 'A course', 'A:g3'), (:'B', 'B course', 'B:g3');
SELECT is(pg_temp.app_secrets('ref.g3'), 'A:g3,B:g3', 'sanity: in the exempt schema ref.g3 is global (ti_app sees every row)');
SELECT coalesce(array_to_string(pg_temp.err('ALTER TABLE ref.g3 SET SCHEMA public'), ' '), '') AS g3_err \gset
RESET ROLE;
SELECT ok(:'g3_err' <> '' OR pg_temp.violations('public.g3') = '',
          'the issue''s example: ALTER TABLE ref.g3 SET SCHEMA public is refused, or leaves public.g3 a tenant table passing every check');
SELECT is(pg_temp.app_secrets(coalesce(to_regclass('public.g3'), to_regclass('ref.g3'))::text),
          CASE WHEN to_regclass('public.g3') IS NULL THEN 'A:g3,B:g3' ELSE 'A:g3' END::text,
          'after the move tenant A sees only its own row of g3 (in public), or g3 stayed global in ref');
SELECT is(pg_temp.rls(coalesce(to_regclass('public.g3'), to_regclass('ref.g3'))),
          CASE WHEN to_regclass('public.g3') IS NULL THEN 'false/false' ELSE 'true/true' END::text,
          'in public it has forced row level security');
-- tables that cannot be tenant tables are refused, and stay where they were
SET ROLE ti_owner;
CREATE TABLE ref.no_org (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), secret text);
CREATE TABLE ref.null_org (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid, secret text);
CREATE TABLE ref.text_org (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id text NOT NULL, secret text);
CREATE TABLE ref.global_key (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text UNIQUE);
CREATE TABLE ref.orphans (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text);
INSERT INTO ref.orphans (organization_id, secret) VALUES ('0c000000-0000-4000-8000-00000000000c', 'C:orphan');
SELECT throws_ok('ALTER TABLE ref.no_org SET SCHEMA public', '42P16', NULL, 'a table without organization_id cannot move into public (42P16)');
SELECT throws_ok('ALTER TABLE ref.null_org SET SCHEMA public', '42P16', NULL, 'a table with a nullable organization_id cannot move into public');
SELECT throws_ok('ALTER TABLE ref.text_org SET SCHEMA public', '42P16', NULL, 'a table whose organization_id is text cannot move into public');
SELECT throws_ok('ALTER TABLE ref.global_key SET SCHEMA public', '42P16', NULL, 'a table with a unique key without organization_id cannot move into public');
SELECT throws_ok('ALTER TABLE ref.orphans SET SCHEMA public', '23503', NULL, 'a table with rows of an unregistered organization cannot move into public (23503)');
SELECT throws_ok('ALTER TABLE ref.no_org SET SCHEMA app', '42P16', NULL, 'nor into another managed schema of the owner''s');
RESET ROLE;
SELECT is(pg_temp.schema_of('ref.no_org') || pg_temp.schema_of('ref.null_org') || pg_temp.schema_of('ref.text_org') || pg_temp.schema_of('ref.global_key') || pg_temp.schema_of('ref.orphans'),
          'refrefrefrefref', 'the refused tables all stay in ref');
SELECT is(pg_temp.rls('ref.orphans'), 'false/false', 'the refused move left nothing half set up on ref.orphans');
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid = 'ref.orphans'::regclass), 0::bigint, '... no policy either');
-- a rule created while the table was exempt (CREATE RULE on a tenant table is refused)
SET ROLE ti_owner;
CREATE TABLE ref.copies (organization_id uuid, secret text);
REVOKE ALL ON ref.copies FROM ti_app;
CREATE TABLE ref.ruled (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL);
CREATE RULE copy_out AS ON INSERT TO ref.ruled DO ALSO INSERT INTO ref.copies VALUES (NEW.organization_id, NEW.secret);
SELECT coalesce(array_to_string(pg_temp.err('ALTER TABLE ref.ruled SET SCHEMA public'), ' '), '') AS ruled_err \gset
RESET ROLE;
SELECT ok(:'ruled_err' <> '' OR (SELECT count(*) FROM pg_rewrite WHERE ev_class = to_regclass('public.ruled')) = 0,
          'a table carrying a rule cannot become a tenant table by moving into public (refused, or without its rule)');
SET tenant.org_id = :'B';
SET ROLE ti_app;
SELECT pg_temp.err(format('INSERT INTO %s (secret) VALUES (%L)', coalesce(to_regclass('public.ruled'), to_regclass('ref.ruled')), 'B:ruled')) AS e \gset
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_owner;
SELECT is((SELECT count(*) FROM ref.copies WHERE secret = 'B:ruled' AND to_regclass('public.ruled') IS NOT NULL), 0::bigint,
          'ti_owner (A): no rule running with the owner''s rights copied B''s new tenant row into the owner''s global table');
RESET ROLE;
-- a partitioned table whose partitions stay in the exempt schema
SET ROLE ti_owner;
CREATE TABLE ref.parted (organization_id uuid NOT NULL, secret text NOT NULL) PARTITION BY LIST (organization_id);
CREATE TABLE ref.parted_a PARTITION OF ref.parted FOR VALUES IN ('0a000000-0000-4000-8000-00000000000a');
CREATE TABLE ref.parted_b PARTITION OF ref.parted FOR VALUES IN ('0b000000-0000-4000-8000-00000000000b');
INSERT INTO ref.parted VALUES (:'A', 'A:parted'), (:'B', 'B:parted');
SELECT coalesce(array_to_string(pg_temp.err('ALTER TABLE ref.parted SET SCHEMA public'), ' '), '') AS parted_err \gset
RESET ROLE;
SELECT ok(:'parted_err' <> '' OR
          (pg_temp.violations('ref.parted_a') = '' AND pg_temp.violations('ref.parted_b') = '' AND pg_temp.rls('ref.parted_b') = 'true/true'),
          'a partitioned table moved into public is refused, or its partitions become tenant tables too (a tenant table''s partitions are tenant tables)');
SET ROLE ti_app;
SELECT is((SELECT coalesce(string_agg(secret, ',' ORDER BY secret), '') FROM ref.parted_b WHERE to_regclass('public.parted') IS NOT NULL), '',
          'ti_app (A): once parted is a tenant table (public.parted), B''s row in it is not visible to A through its partition ref.parted_b');
RESET ROLE;
-- (done with: whatever state parted is in must not affect what follows)
DROP TABLE IF EXISTS public.parted, ref.parted CASCADE;

------------------------------------------------------------------------------
-- out of a managed schema: a tenant table cannot move into an exempt schema
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT throws_ok('ALTER TABLE courses SET SCHEMA ref', '42P16', NULL, 'ALTER TABLE courses SET SCHEMA ref (exempt) is refused (42P16)');
SELECT throws_ok('ALTER TABLE IF EXISTS courses SET SCHEMA ref', '42P16', NULL, '... with IF EXISTS too');
SELECT throws_ok($q$DO $d$ BEGIN EXECUTE 'ALTER TABLE assets SET SCHEMA ref'; END $d$$q$, '42P16', NULL, '... and from a DO block');
CREATE TABLE tparted (organization_id uuid NOT NULL, secret text NOT NULL) PARTITION BY LIST (organization_id);
CREATE TABLE parted_part_a PARTITION OF tparted FOR VALUES IN ('0a000000-0000-4000-8000-00000000000a');
SELECT throws_ok('ALTER TABLE parted_part_a SET SCHEMA ref', '42P16', NULL, 'a partition of a tenant table cannot move into ref');
SELECT throws_ok('ALTER TABLE tparted SET SCHEMA ref', '42P16', NULL, 'nor a partitioned tenant table');
CREATE TABLE app.t_app (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL);
SELECT lives_ok('ALTER TABLE app.t_app SET SCHEMA public', 'a tenant table may move between managed schemas');
SELECT lives_ok('ALTER TABLE public.t_app SET SCHEMA app', '... and back');
RESET ROLE;
SELECT is(pg_temp.schema_of('courses') || '/' || pg_temp.schema_of('assets') || '/' || pg_temp.schema_of('parted_part_a') || '/' || pg_temp.schema_of('app.t_app'),
          'public/public/public/app', 'every tenant table is where it was');
SELECT is(pg_temp.violations('courses') || pg_temp.violations('parted_part_a') || pg_temp.violations('app.t_app'), '', 'and passes every check');

------------------------------------------------------------------------------
-- schema renames
------------------------------------------------------------------------------
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO app.t_app (secret) VALUES ('B:app');
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO app.t_app (secret) VALUES ('A:app');
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok('ALTER SCHEMA app RENAME TO archive', '42P16', NULL,
                 'a schema holding tenant tables cannot be renamed onto an exempt name ("archive")');
SELECT lives_ok('ALTER SCHEMA ref RENAME TO ref_old', 'the exempt schema ref can be renamed (ref_old)');
RESET ROLE;
SELECT is(pg_temp.exemptions(), 'archive.*, public.plans, ref_old.*', 'its exemption followed the rename: ref is no longer exempt, ref_old is');
SET ROLE ti_owner;
SELECT throws_ok('ALTER SCHEMA app RENAME TO ref_old', NULL, NULL, 'app cannot take the name ref_old (exists)');
SELECT lives_ok('ALTER SCHEMA app RENAME TO ref', 'app can take the freed name ref, which is no longer exempt');
RESET ROLE;
SELECT is(pg_temp.violations('ref.t_app'), '', 'the tenant table, now ref.t_app, passes every check');
SELECT is(pg_temp.app_secrets('ref.t_app'), 'A:app', 'and tenant A sees only its own row');
SET ROLE ti_owner;
SELECT lives_ok('CREATE TABLE ref.t_new (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text)',
                'a new table in the new ref is checked like any managed table');
RESET ROLE;
SELECT is(pg_temp.rls('ref.t_new'), 'true/true', '... and set up');
SET ROLE ti_owner;
SELECT throws_ok('ALTER TABLE ref.t_app SET SCHEMA ref_old', '42P16', NULL, 'ref.t_app cannot move into ref_old (exempt after the rename)');
SELECT throws_ok('ALTER SCHEMA ref RENAME TO archive', '42P16', NULL, 'the renamed schema ref still cannot take an exempt name');
CREATE SCHEMA archive;
SELECT throws_ok('ALTER TABLE ref.t_app SET SCHEMA archive', '42P16', NULL,
                 'once a schema named "archive" (exempt by name, before it existed) is created, tenant tables cannot move into it');
RESET ROLE;

------------------------------------------------------------------------------
-- table renames and exemptions by name
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok('ALTER TABLE users RENAME TO plans', 'a tenant table may be renamed onto the exempt name public.plans');
SELECT throws_ok('ALTER TABLE plans NO FORCE ROW LEVEL SECURITY', '42P16', NULL, '... it stays protected by the guard');
SELECT throws_ok('ALTER TABLE plans SET SCHEMA ref_old', '42P16', NULL, '... and cannot move into an exempt schema either');
RESET ROLE;
SELECT is(pg_temp.violations('plans'), '', '... and passes every check');
SET ROLE ti_app;
SELECT is((SELECT string_agg(name, ',' ORDER BY name) FROM plans), 'Ada,Alan', 'ti_app (A): plans (the renamed users) shows only A''s users');
RESET ROLE;
SELECT is(pg_temp.exemptions(), 'archive.*, public.plans, ref_old.*', 'the exemption of the name public.plans did not move');
SET ROLE ti_owner;
SELECT lives_ok('ALTER TABLE plans RENAME TO users', 'renamed back to users');
RESET ROLE;
SELECT is(pg_temp.exemptions(), 'archive.*, public.plans, ref_old.*',
          'renaming the tenant table away from public.plans leaves the exemption of that name where it was (it was never the table''s)');
SELECT is((SELECT kind FROM tenant_iso._table_kinds(ARRAY['users'::regclass::oid])), 'tenant', 'users is classified as a tenant table again');
-- what a stray exemption would give the owner: a global table under the application's table name
SET ROLE ti_owner;
DROP TABLE users CASCADE;
SELECT lives_ok('CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, email text NOT NULL, name text NOT NULL)',
                'the owner drops users and creates it anew');
RESET ROLE;
SELECT is(pg_temp.rls('users'), 'true/true', '... and the new users is a tenant table, set up (no exemption made it global)');
SET tenant.org_id = :'B';
SET ROLE ti_app;
SELECT pg_temp.err(format($$INSERT INTO users (organization_id, email, name) VALUES (%L, 'ceo@beta.test', 'B''s CEO')$$, :'B')) AS e \gset
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM users WHERE organization_id = :'B'), 0::bigint,
          'ti_app (A) does not see the user B''s application just wrote into the new users');
RESET ROLE;
-- a global table exempt by name: its exemption follows renames
SELECT tenant_iso.exempt_table('public.price_list', 'prices are global') \gset
SET ROLE ti_owner;
CREATE TABLE public.price_list (code text PRIMARY KEY, price int);
SELECT is(pg_temp.rls('public.price_list'), 'false/false', 'public.price_list (exempt by name) is a global table');
SELECT lives_ok('ALTER TABLE public.price_list RENAME TO prices', 'renaming it works');
RESET ROLE;
SELECT ok(pg_temp.exemptions() LIKE '%public.prices%' AND pg_temp.exemptions() NOT LIKE '%public.price_list%',
          'its exemption followed it (public.prices)');
SET ROLE ti_owner;
SELECT lives_ok('CREATE TABLE public.price_list (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text)',
                'a new table under the freed name public.price_list ...');
RESET ROLE;
SELECT is(pg_temp.rls('public.price_list'), 'true/true', '... is a tenant table, set up');
SELECT is(pg_temp.violations('public.price_list'), '', '... passing every check');
SELECT * FROM finish();
ROLLBACK;
