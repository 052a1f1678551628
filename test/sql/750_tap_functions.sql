-- pgTAP functions for users' own suites (issue 15): tenant_iso.tap_tables_isolated() and
-- tenant_iso.tap_isolated(regclass) return pgTAP results; the five-line example of
-- docs/testing.md is run as a user would run it (in a psql of its own), and must fail when a table
-- is not isolated. No BEGIN around the file: the examples run in other sessions.
SELECT plan(10);

-- the documented example, verbatim (docs/testing.md), in a session of its own
\set example 'BEGIN; SELECT * FROM no_plan(); SELECT * FROM tenant_iso.tap_tables_isolated(); SELECT * FROM finish(); ROLLBACK;'
\set out `psql -X -q -At -d :DBNAME -c ":example" 2>&1`
SELECT is((SELECT count(*) FROM regexp_matches(:'out'::text, '(^|\n)ok [0-9]+ - table public\.[a-z_]+ is isolated by tenant', 'g')), 5::bigint,
          'the example: one ok per tenant table of the fixture (5)');
SELECT unalike(:'out'::text, 'not ok', 'the example: nothing fails on an isolated schema');
SELECT alike(:'out'::text, '%1..5%', 'the example: a plan of 5 tests');

-- a table that is not isolated makes it fail, with the audit's detail as diagnostics
SET client_min_messages = error;
SET tenant_iso.unsafe_ddl = on;
ALTER TABLE courses NO FORCE ROW LEVEL SECURITY;
RESET tenant_iso.unsafe_ddl;
RESET client_min_messages;
\set out `psql -X -q -At -d :DBNAME -c ":example" 2>&1`
SELECT alike(:'out'::text, '%not ok % - table public.courses is isolated by tenant%', 'a table without forced row level security: not ok');
SELECT alike(:'out'::text, '%# row_level_security: Row level security is enabled but not forced%', 'with the audit''s detail as diagnostics');
SELECT is((SELECT count(*) FROM regexp_matches(:'out'::text, '(^|\n)not ok', 'g')), 1::bigint, 'only that table fails');
ALTER TABLE courses FORCE ROW LEVEL SECURITY;

-- a table the schema check did not set up (a legacy table) fails too; tap_isolated() on one table
SET client_min_messages = error;
SET tenant_iso.unsafe_ddl = on;
CREATE TABLE legacy_750 (id int, organization_id uuid);
RESET tenant_iso.unsafe_ddl;
RESET client_min_messages;
\set out `psql -X -q -At -d :DBNAME -c "BEGIN; SELECT * FROM no_plan(); SELECT * FROM tenant_iso.tap_isolated('legacy_750'); SELECT * FROM finish(); ROLLBACK;" 2>&1`
SELECT alike(:'out'::text, '%not ok 1 - table public.legacy_750 is isolated by tenant%', 'tap_isolated(): a table that was never set up is not ok');
SELECT alike(:'out'::text, '%# tenant_isolation_policy: Policy "tenant_isolation" is missing.%', 'and says what is missing');
DROP TABLE legacy_750;

-- without pgTAP: a clear error
CREATE DATABASE t750_nopgtap;
\set out `psql -X -q -At -d t750_nopgtap -v VERBOSITY=sqlstate -c "CREATE EXTENSION tenant_iso" -c "SELECT * FROM tenant_iso.tap_tables_isolated()" 2>&1`
DROP DATABASE t750_nopgtap;
SELECT is(:'out'::text, 'ERROR:  0A000', 'without pgTAP installed: SQLSTATE 0A000 (feature not supported)');
SELECT throws_ok($$SELECT * FROM tenant_iso.tap_isolated(NULL)$$, '22004', NULL, 'tap_isolated(NULL) is refused');

SELECT * FROM finish();
