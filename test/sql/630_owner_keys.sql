-- Issue 11, item 3: exclusion constraints must compare organization_id with =.
-- An exclusion constraint that names organization_id with another operator (<>, <, ...) is a
-- cross-tenant oracle: EXCLUDE (organization_id WITH <>, secret WITH =) conflicts exactly when
-- ANOTHER tenant holds the same secret, so tenant A's failed insert (23P01) tells it that B has
-- the value.  Such keys are refused before the index is built (CREATE TABLE, ALTER TABLE ADD,
-- CREATE TABLE ... LIKE, a partition, a table moved into a managed schema) and reported by
-- audit() and enroll().
-- Attacker: ti_owner (the table owner, not superuser), with CREATE on the database so that it can
-- create schemas and the trusted extension btree_gist; ti_app (working for tenant A) probes.  A
-- superuser only grants, and exempts / un-exempts a schema (the administrator's part).
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;
BEGIN;
SELECT plan(34);
\ir include/err.sql

\ir include/violations.sql
CREATE FUNCTION pg_temp.constraints(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(conname || ' ' || pg_get_constraintdef(oid), '; ' ORDER BY conname), '') FROM pg_constraint WHERE conrelid = rel
$$;

SELECT format('GRANT CREATE ON DATABASE %I TO ti_owner', current_database()) \gexec
SET ROLE ti_owner;
CREATE EXTENSION btree_gist;
CREATE SCHEMA stage;
GRANT USAGE ON SCHEMA stage TO ti_app;
RESET ROLE;
SELECT tenant_iso.exempt_schema('stage', 'staging area of the migration role') \gset

SET tenant.org_id = :'A';
SET ROLE ti_owner;

------------------------------------------------------------------------------
-- CREATE TABLE
------------------------------------------------------------------------------
SELECT throws_ok($$CREATE TABLE x_create (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL,
                   EXCLUDE USING gist (organization_id WITH <>, secret WITH =))$$, '42P16', NULL,
                 'CREATE TABLE with EXCLUDE (organization_id WITH <>, secret WITH =) is refused (42P16)');
SELECT ok((pg_temp.err($$CREATE TABLE x_create (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL,
                         EXCLUDE USING gist (organization_id WITH <>, secret WITH =))$$))[3] LIKE '%organization_id%=%',
          '... its detail says that organization_id must be compared with =');
SELECT is(to_regclass('x_create'), NULL, '... and no table was created');
SELECT throws_ok($$CREATE TABLE x_range (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, room text NOT NULL, during tsrange NOT NULL,
                   EXCLUDE USING gist (organization_id WITH <>, room WITH =, during WITH &&))$$, '42P16', NULL,
                 'CREATE TABLE with EXCLUDE (organization_id WITH <>, room WITH =, during WITH &&) is refused');
SELECT throws_ok($$CREATE TABLE x_overlap (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, during tsrange NOT NULL,
                   EXCLUDE USING gist (during WITH &&))$$, '42P16', NULL,
                 'CREATE TABLE with EXCLUDE (during WITH &&), organization_id not named at all, is refused');
SELECT throws_ok($$CREATE TABLE x_cast (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL,
                   EXCLUDE USING gist (((organization_id::text)::uuid) WITH =, secret WITH =))$$, '42P16', NULL,
                 'CREATE TABLE with EXCLUDE (an expression of organization_id WITH =, ...) is refused: only the column itself counts');
SELECT throws_ok($$CREATE TABLE x_hash (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL,
                   EXCLUDE USING hash (secret WITH =))$$, '42P16', NULL,
                 'CREATE TABLE with EXCLUDE USING hash (secret WITH =) is refused');
SELECT lives_ok($$CREATE TABLE x_ok (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL, during tsrange,
                  CONSTRAINT x_ok_excl EXCLUDE USING gist (organization_id WITH =, secret WITH =))$$,
                'control: EXCLUDE (organization_id WITH =, secret WITH =) is accepted');

------------------------------------------------------------------------------
-- ALTER TABLE ... ADD, and the variants that bring a key in from elsewhere
------------------------------------------------------------------------------
SELECT pg_temp.constraints('x_ok') AS constraints \gset
SELECT throws_ok($$ALTER TABLE x_ok ADD CONSTRAINT probe EXCLUDE USING gist (organization_id WITH <>, secret WITH =)$$, '42P16', NULL,
                 'ALTER TABLE ADD EXCLUDE (organization_id WITH <>, secret WITH =) is refused');
SELECT throws_ok($$ALTER TABLE x_ok ADD CONSTRAINT probe EXCLUDE USING gist (organization_id WITH <>, during WITH &&)$$, '42P16', NULL,
                 'ALTER TABLE ADD EXCLUDE (organization_id WITH <>, during WITH &&) is refused');
SELECT throws_ok($$ALTER TABLE x_ok DROP CONSTRAINT x_ok_excl, ADD CONSTRAINT x_ok_excl EXCLUDE USING gist (organization_id WITH <>, secret WITH =)$$,
                 '42P16', NULL, 'replacing the good exclusion constraint by one WITH <> in one statement is refused');
SELECT throws_ok($$ALTER TABLE x_ok ADD CONSTRAINT probe EXCLUDE USING btree (secret WITH =)$$, '42P16', NULL,
                 'ALTER TABLE ADD EXCLUDE USING btree (secret WITH =) is refused');
SELECT is(pg_temp.constraints('x_ok'), :'constraints', 'x_ok''s constraints are unchanged');
-- from an exempt staging table
CREATE TABLE stage.probe_src (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL,
                              CONSTRAINT probe_src_excl EXCLUDE USING gist (organization_id WITH <>, secret WITH =));
SELECT throws_ok($$CREATE TABLE x_like (LIKE stage.probe_src INCLUDING ALL)$$, '42P16', NULL,
                 'CREATE TABLE (LIKE <exempt table with EXCLUDE (organization_id WITH <>, ...)> INCLUDING ALL) is refused');
SELECT throws_ok($$ALTER TABLE stage.probe_src SET SCHEMA public$$, '42P16', NULL,
                 'moving the exempt table with that key into a managed schema is refused');
SELECT is((SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'stage.probe_src'::regclass), 'stage', '... and it stays where it was');
-- a partition of a tenant table
CREATE TABLE x_parted (organization_id uuid NOT NULL, secret text NOT NULL) PARTITION BY LIST (organization_id);
CREATE TABLE x_part_a PARTITION OF x_parted FOR VALUES IN ('0a000000-0000-4000-8000-00000000000a');
SELECT throws_ok($$ALTER TABLE x_part_a ADD CONSTRAINT probe EXCLUDE USING gist (organization_id WITH <>, secret WITH =)$$, '42P16', NULL,
                 'ALTER TABLE <partition> ADD EXCLUDE (organization_id WITH <>, ...) is refused');
SELECT throws_ok($$CREATE TABLE x_part_b PARTITION OF x_parted (CONSTRAINT probe EXCLUDE USING gist (organization_id WITH <>, secret WITH =))
                   FOR VALUES IN ('0b000000-0000-4000-8000-00000000000b')$$, '42P16', NULL,
                 'CREATE TABLE ... PARTITION OF with its own EXCLUDE (organization_id WITH <>, ...) is refused');
-- inside a DO block (each statement is its own)
SELECT throws_ok($q$DO $d$ BEGIN
                     EXECUTE 'ALTER TABLE x_ok ADD CONSTRAINT probe EXCLUDE USING gist (organization_id WITH <>, secret WITH =)';
                   END $d$$q$, '42P16', NULL, 'the same ALTER TABLE run from a DO block is refused');
RESET ROLE;
SELECT is(pg_temp.violations('x_ok') || pg_temp.violations('x_parted') || pg_temp.violations('x_part_a'), '',
          'x_ok, x_parted and x_part_a pass every check');

------------------------------------------------------------------------------
-- the oracle does not exist: A learns nothing about B's secrets from conflicts
------------------------------------------------------------------------------
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO x_ok (secret) VALUES ('B merger plan');
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT lives_ok($$INSERT INTO x_ok (secret) VALUES ('B merger plan')$$,
                'ti_app (A): inserting the secret B holds succeeds: no conflict error tells A that B has it');
SELECT is((pg_temp.err($$INSERT INTO x_ok (secret) VALUES ('B merger plan')$$))[1], '23P01',
          'control: inserting it a second time for A conflicts (23P01): the key works within the tenant');
SELECT is((SELECT count(*) FROM x_ok), 1::bigint, 'ti_app (A) sees only its own row');
RESET ROLE;

------------------------------------------------------------------------------
-- audit() and enroll() report such a key on a table that reaches them unset
------------------------------------------------------------------------------
-- the administrator removes the staging schema's exemption: stage.probe_src is now a table the
-- schema check would manage, but it was never set up (as after a restore with unsafe_ddl)
DELETE FROM tenant_iso.exemptions WHERE schema_name = 'stage';
SET ROLE ti_app;
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'stage.probe_src'::regclass AND check_name = 'exclusion_without_tenant_equality'),
          'violation', 'audit(): exclusion_without_tenant_equality is a violation for EXCLUDE (organization_id WITH <>, ...)');
SELECT matches((SELECT detail FROM tenant_iso.audit() WHERE relation = 'stage.probe_src'::regclass AND check_name = 'exclusion_without_tenant_equality'),
               'probe_src_excl', '... and names the constraint');
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'x_ok'::regclass AND check_name = 'exclusion_without_tenant_equality'),
          'ok', 'audit(): ok for EXCLUDE (organization_id WITH =, ...)');
SELECT throws_ok('SELECT tenant_iso.verify()', 'TI004', NULL, 'verify() fails (TI004) while such a key exists');
RESET ROLE;
SELECT throws_ok($$SELECT tenant_iso.enroll('stage.probe_src')$$, '42P16', NULL,
                 'enroll() refuses the table (42P16) because of the key');
SELECT ok((pg_temp.err($$SELECT tenant_iso.enroll('stage.probe_src')$$))[3] LIKE '%probe_src_excl%',
          '... naming the exclusion constraint');
SELECT is(pg_temp.violations('stage.probe_src') LIKE '%exclusion_without_tenant_equality%', true,
          '_table_violations() lists exclusion_without_tenant_equality');
SELECT is((SELECT relrowsecurity FROM pg_class WHERE oid = 'stage.probe_src'::regclass), false,
          'the refused enroll() left nothing half set up (no row level security switched on)');
-- once the owner fixes the key, enroll() accepts the table
SET ROLE ti_owner;
ALTER TABLE stage.probe_src DROP CONSTRAINT probe_src_excl,
    ADD CONSTRAINT probe_src_excl EXCLUDE USING gist (organization_id WITH =, secret WITH =);
RESET ROLE;
SELECT is(tenant_iso.enroll('stage.probe_src'), 'enrolled', 'with organization_id WITH =, enroll() accepts it');
SELECT is(pg_temp.violations('stage.probe_src'), '', 'and it passes every check');
SET ROLE ti_owner;
SELECT throws_ok($$ALTER TABLE stage.probe_src ADD CONSTRAINT probe2 EXCLUDE USING gist (organization_id WITH <>, secret WITH =)$$, '42P16', NULL,
                 'and once enrolled, a new EXCLUDE (organization_id WITH <>, ...) on it is refused');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
