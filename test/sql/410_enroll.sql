-- Adoption of an existing database, end to end, as docs/adoption.md tells it:
-- plain tables owned by the migration role (created under tenant_iso.unsafe_ddl, which
-- is the state of tables created before CREATE EXTENSION) are audited, their data fixed, global tables
-- exempted, keys fixed, the schema enrolled, verified, and granted; then the
-- application role is isolated on them.  Also: enroll()'s refusals, privileges and
-- idempotence, enroll_schema()'s per-table report.
BEGIN;
SELECT plan(54);

\ir include/err.sql

------------------------------------------------------------------------------
-- The legacy schema: plain tables owned by the migration role, with the usual problems
------------------------------------------------------------------------------
-- (unsafe_ddl takes effect for superusers only, so the superuser creates them and
-- hands them to the migration role)
SET client_min_messages = error;
CREATE SCHEMA legacy AUTHORIZATION ti_owner;
SET tenant_iso.unsafe_ddl = on;
CREATE TABLE legacy.customers (          -- serial key, nullable organization_id, global unique e-mail
    id              serial PRIMARY KEY,
    organization_id uuid,
    email           text NOT NULL UNIQUE,
    name            text NOT NULL
);
CREATE TABLE legacy.orders (             -- single-column reference to customers
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid,
    customer_id     int NOT NULL REFERENCES legacy.customers (id),
    amount          numeric NOT NULL
);
CREATE TABLE legacy.countries (          -- global reference data
    code            text PRIMARY KEY,
    name            text NOT NULL
);
CREATE TABLE legacy.notes (              -- no organization_id yet
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_email  text NOT NULL,
    body            text NOT NULL
);
CREATE TABLE legacy.events (             -- partitioned
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    at              date NOT NULL,
    PRIMARY KEY (organization_id, id, at)
) PARTITION BY RANGE (at);
CREATE TABLE legacy.events_2024 PARTITION OF legacy.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE legacy.events_2025 PARTITION OF legacy.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE legacy.tags (               -- organization_id of the wrong type
    organization_id text,
    tag             text
);
INSERT INTO legacy.customers (id, organization_id, email, name) VALUES
    (1, '0a000000-0000-4000-8000-00000000000a', 'ann@shop.test', 'Ann'),
    (2, '0a000000-0000-4000-8000-00000000000a', 'amy@shop.test', 'Amy'),
    (3, '0b000000-0000-4000-8000-00000000000b', 'bob@shop.test', 'Bob'),
    (4, '0c000000-0000-4000-8000-00000000000c', 'cy@shop.test',  'Cy'),
    (5, NULL,                                   'who@shop.test', 'Nobody');
ALTER SEQUENCE legacy.customers_id_seq RESTART WITH 6;
INSERT INTO legacy.orders (organization_id, customer_id, amount)
SELECT organization_id, id, 10 * id FROM legacy.customers WHERE organization_id IS NOT NULL;
INSERT INTO legacy.countries VALUES ('DE', 'Germany'), ('FR', 'France');
INSERT INTO legacy.notes (customer_email, body) VALUES ('ann@shop.test', 'likes jazz'), ('bob@shop.test', 'prefers email');
INSERT INTO legacy.events (organization_id, at) VALUES
    ('0a000000-0000-4000-8000-00000000000a', '2024-05-01'),
    ('0b000000-0000-4000-8000-00000000000b', '2025-05-01');
INSERT INTO legacy.tags VALUES ('0a000000-0000-4000-8000-00000000000a', 'vip');
CREATE INDEX orders_rounded ON legacy.orders (customer_id, round(amount));  -- an expression index, analyzed
ANALYZE legacy.orders;
RESET tenant_iso.unsafe_ddl;
SELECT is((SELECT count(*) FROM pg_statistic WHERE starelid = 'legacy.orders_rounded'::regclass), 1::bigint,
          'before enrolment ANALYZE kept statistics of the expression round(amount), every tenant''s values');
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'legacy'::regnamespace AND c.relkind IN ('r', 'p') LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO ti_owner', t);
    END LOOP;
END
$$;
RESET client_min_messages;
GRANT USAGE ON SCHEMA legacy TO ti_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA legacy TO ti_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA legacy TO ti_app;

-- Before adoption the application sees every tenant's rows: the problem to solve.
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM legacy.customers), 5::bigint, 'before adoption, tenant A sees every customer');
RESET ROLE;

------------------------------------------------------------------------------
-- Step 1: the audit finds the plain tables
------------------------------------------------------------------------------
CREATE TEMP TABLE a1 AS SELECT * FROM tenant_iso.audit();
SELECT results_eq(
    $$SELECT relation::text, string_agg(check_name, ',' ORDER BY check_name) FROM a1
      WHERE status = 'violation' AND relation::text LIKE 'legacy.%' GROUP BY 1 ORDER BY 1$$,
    $$VALUES ('legacy.countries', 'organization_id_column,row_level_security,stamping_trigger,tenant_isolation_policy'),
             ('legacy.customers', 'organization_id_not_null,orphan_rows,row_level_security,stamping_trigger,tenant_index,tenant_isolation_policy,unique_key_without_tenant'),
             ('legacy.events', 'child_not_tenant_table,row_level_security,stamping_trigger,tenant_isolation_policy'),
             ('legacy.events_2024', 'row_level_security,stamping_trigger,tenant_isolation_policy'),
             ('legacy.events_2025', 'row_level_security,stamping_trigger,tenant_isolation_policy'),
             ('legacy.notes', 'organization_id_column,row_level_security,stamping_trigger,tenant_isolation_policy'),
             ('legacy.orders', 'expression_index_statistics,organization_id_not_null,orphan_rows,row_level_security,stamping_trigger,tenant_index,tenant_isolation_policy'),
             ('legacy.tags', 'organization_id_not_null,organization_id_type,row_level_security,stamping_trigger,tenant_index,tenant_isolation_policy')$$,
    'audit() reports every invariant the plain tables miss');
SELECT is((SELECT status FROM a1 WHERE relation = 'legacy.customers'::regclass AND check_name = 'sequence_columns'), 'warning',
          'the serial key of customers is reported as a volume signal');
SELECT throws_ok('SELECT tenant_iso.verify()', 'TI004', NULL, 'verify() fails on the plain tables');

------------------------------------------------------------------------------
-- enroll(): who may call it, and what it refuses
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT throws_ok($$SELECT tenant_iso.enroll('legacy.customers')$$, '42501', NULL,
                 'the table owner cannot call enroll() (not granted)');
RESET ROLE;
SET ROLE ti_app;
SELECT throws_ok($$SELECT tenant_iso.enroll('legacy.customers')$$, '42501', NULL, 'nor can the application role');
SELECT throws_ok($$SELECT * FROM tenant_iso.enroll_schema('legacy')$$, '42501', NULL, 'nor enroll_schema()');
RESET ROLE;
SELECT is((SELECT has_function_privilege('public', 'tenant_iso.enroll(regclass)', 'EXECUTE')), false,
          'enroll() is not executable by PUBLIC');

SELECT is(array_to_string(pg_temp.err($$SELECT tenant_iso.enroll('legacy.customers')$$), E'\n'),
          E'23502\ncannot enroll table legacy.customers: 2 of its rows belong to no registered organization\n'
          '1 row has organization_id NULL. 1 row has an organization_id that is not in tenant_iso.organizations (0c000000-0000-4000-8000-00000000000c).\n'
          'Set organization_id on the rows that lack one (or delete them), register the missing organizations with tenant_iso.create_organization(name, id), then enroll the table again.',
          'a table with NULL and unknown organization ids is refused with both counts, the unknown ids and a hint');
SELECT is(array_to_string(pg_temp.err($$SELECT tenant_iso.enroll('legacy.orders')$$), E'\n'),
          E'23503\ncannot enroll table legacy.orders: 1 of its rows belong to no registered organization\n'
          '1 row has an organization_id that is not in tenant_iso.organizations (0c000000-0000-4000-8000-00000000000c).\n'
          'Set organization_id on the rows that lack one (or delete them), register the missing organizations with tenant_iso.create_organization(name, id), then enroll the table again.',
          'unknown organization ids alone give 23503');
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid IN ('legacy.customers'::regclass, 'legacy.orders'::regclass)), 0::bigint,
          'a refused enrolment changes nothing');
SELECT is((pg_temp.err($$SELECT tenant_iso.enroll('legacy.notes')$$))[2],
          'table legacy.notes has no "organization_id" column', 'a table without organization_id is refused');
SELECT is(array_to_string((pg_temp.err($$SELECT tenant_iso.enroll('legacy.tags')$$))[1:2], ' '),
          '42P16 column "organization_id" of table legacy.tags must be of type uuid', 'an organization_id of another type is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll('tenant_iso.organizations')$$, '42809', NULL, 'the registry cannot be enrolled');
SELECT throws_ok($$SELECT tenant_iso.enroll(NULL)$$, '22004', NULL, 'NULL is refused');
CREATE VIEW legacy.customer_names WITH (security_invoker = true) AS SELECT name FROM legacy.customers;
SELECT throws_ok($$SELECT tenant_iso.enroll('legacy.customer_names')$$, '42809', 'legacy.customer_names is not a table',
                 'a view cannot be enrolled');
DROP VIEW legacy.customer_names;
SELECT throws_ok($$SELECT tenant_iso.enroll_schema('no_such_schema')$$, '3F000', NULL, 'enroll_schema() of a missing schema fails');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema('tenant_iso')$$, '22023', NULL, 'enroll_schema() of the extension''s schema fails');

------------------------------------------------------------------------------
-- Step 2: register the organizations the data names; fix rows without one
------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT DISTINCT organization_id FROM legacy.customers
      WHERE organization_id IS NOT NULL
        AND organization_id NOT IN (SELECT id FROM tenant_iso.organizations) ORDER BY 1$$,
    $$VALUES ('0c000000-0000-4000-8000-00000000000c'::uuid)$$,
    'the guide''s query finds the organization ids missing from the registry');
SELECT lives_ok($$SELECT tenant_iso.create_organization('Gamma Games', '0c000000-0000-4000-8000-00000000000c')$$,
                'create_organization(name, id) registers an existing tenant id');
UPDATE legacy.customers SET organization_id = '0a000000-0000-4000-8000-00000000000a' WHERE organization_id IS NULL;

------------------------------------------------------------------------------
-- Step 3: exempt global tables; drop or fix what cannot be a tenant table
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT tenant_iso.exempt_table('legacy.countries', 'ISO country list, the same for every organization')$$,
                'a global table is exempted with a reason');
DROP TABLE legacy.tags;

------------------------------------------------------------------------------
-- Step 4: enroll the schema: one table's failure does not stop the others
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE r1 AS SELECT relation::text AS rel, status, detail FROM tenant_iso.enroll_schema('legacy');
RESET client_min_messages;
SELECT results_eq($$SELECT rel, status FROM r1$$,
    $$VALUES ('legacy.countries', 'skipped'), ('legacy.customers', 'failed'), ('legacy.notes', 'failed'),
             ('legacy.orders', 'enrolled'), ('legacy.events', 'enrolled'),
             ('legacy.events_2024', 'already enrolled'), ('legacy.events_2025', 'already enrolled')$$,
    'enroll_schema() reports each table; parents come first and bring their partitions with them');
SELECT matches((SELECT detail FROM r1 WHERE rel = 'legacy.customers'),
               '^table legacy.customers would break tenant isolation \(SQLSTATE 42P16\)\. Unique key customers_(pkey on \(id\)|email_key on \(email\)) does not include "organization_id"',
               'customers fails on its keys without organization_id (serial key, global e-mail)');
SELECT matches((SELECT detail FROM r1 WHERE rel = 'legacy.notes'), '^table legacy.notes has no "organization_id" column \(SQLSTATE 42P16\)',
               'notes fails for want of the column, with the SQLSTATE');
SELECT matches((SELECT detail FROM r1 WHERE rel = 'legacy.countries'), 'ISO country list', 'the skipped table shows its exemption');
SELECT is((SELECT attnotnull FROM pg_attribute WHERE attrelid = 'legacy.orders'::regclass AND attname = 'organization_id'), true,
          'enroll() made the nullable organization_id of orders (no NULL rows) NOT NULL');
SELECT is((SELECT count(*) FROM pg_statistic WHERE starelid = 'legacy.orders_rounded'::regclass)
          || '/' || (SELECT attstattarget FROM pg_attribute WHERE attrelid = 'legacy.orders_rounded'::regclass AND attnum = 2),
          '0/0', 'enroll() removed the expression''s statistics and stopped their collection (pg_stats would show them to the owner)');
SELECT is((SELECT count(*) FROM pg_policy WHERE polname = 'tenant_isolation'
            AND polrelid IN ('legacy.events'::regclass, 'legacy.events_2024'::regclass, 'legacy.events_2025'::regclass)), 3::bigint,
          'the partitioned table and each partition have the tenant policy');

------------------------------------------------------------------------------
-- Step 5: fix the keys (as the migration role), add the missing column, enroll again
------------------------------------------------------------------------------
SET ROLE ti_owner;
ALTER TABLE legacy.orders DROP CONSTRAINT orders_customer_id_fkey;
ALTER TABLE legacy.customers DROP CONSTRAINT customers_email_key,
                             ADD CONSTRAINT customers_email_key UNIQUE (organization_id, email);
ALTER TABLE legacy.customers DROP CONSTRAINT customers_pkey,
                             ADD PRIMARY KEY (organization_id, id);
ALTER TABLE legacy.orders ADD FOREIGN KEY (organization_id, customer_id) REFERENCES legacy.customers (organization_id, id);
ALTER TABLE legacy.notes ADD COLUMN organization_id uuid;
UPDATE legacy.notes n SET organization_id = c.organization_id FROM legacy.customers c WHERE c.email = n.customer_email;
RESET ROLE;
SET client_min_messages = warning;
CREATE TEMP TABLE r2 AS SELECT relation::text AS rel, status FROM tenant_iso.enroll_schema('legacy');
RESET client_min_messages;
SELECT results_eq($$SELECT rel, status FROM r2$$,
    $$VALUES ('legacy.countries', 'skipped'), ('legacy.customers', 'enrolled'), ('legacy.notes', 'enrolled'),
             ('legacy.orders', 'already enrolled'), ('legacy.events', 'already enrolled'),
             ('legacy.events_2024', 'already enrolled'), ('legacy.events_2025', 'already enrolled')$$,
    'the second run enrolls the fixed tables and leaves the others as they are');
SELECT is(tenant_iso.enroll('legacy.customers'), 'already enrolled', 'enroll() of a compliant tenant table changes nothing');

-- a damaged tenant table is repaired
SET client_min_messages = error;
SET tenant_iso.unsafe_ddl = on;
DROP TRIGGER tenant_iso_stamp ON legacy.orders;
RESET tenant_iso.unsafe_ddl;
RESET client_min_messages;
SELECT is(tenant_iso.enroll('legacy.orders'), 'repaired', 'enroll() of a damaged tenant table repairs it');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'legacy.orders'::regclass AND tgname = 'tenant_iso_stamp'), 1::bigint,
          'the stamping trigger is back');

------------------------------------------------------------------------------
-- Step 6: verify
------------------------------------------------------------------------------
SELECT lives_ok('SELECT tenant_iso.verify()', 'verify() passes once the schema is adopted');
CREATE TEMP TABLE a2 AS SELECT * FROM tenant_iso.audit();
SELECT is((SELECT count(*) FROM a2 WHERE status = 'violation'), 0::bigint, 'the audit finds no violation');
SELECT is((SELECT status FROM a2 WHERE relation = 'legacy.countries'::regclass AND check_name = 'exemption'), 'warning',
          'the exempt table is listed for review');
SELECT is((SELECT status FROM a2 WHERE relation = 'legacy.customers'::regclass AND check_name = 'sequence_columns'), 'warning',
          'the serial key stays a warning');
SELECT is((SELECT count(*) FROM a2 WHERE relation::text LIKE 'legacy.%' AND check_name = 'tenant_isolation_policy' AND status = 'ok'), 6::bigint,
          'the six legacy tenant tables pass the policy check');

------------------------------------------------------------------------------
-- Step 7: the application role is isolated on the adopted tables
------------------------------------------------------------------------------
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT results_eq($$SELECT name FROM legacy.customers ORDER BY name$$, ARRAY['Amy', 'Ann', 'Nobody'],
                  'tenant A sees its own customers only');
SELECT is((SELECT count(*) FROM legacy.orders), 2::bigint, 'and its own orders');
SELECT is((SELECT count(*) FROM legacy.notes), 1::bigint, 'and its own notes');
SELECT is((SELECT count(*) FROM legacy.events), 1::bigint, 'and its own events through the parent');
SELECT is_empty($$SELECT * FROM legacy.events_2025$$, 'a partition queried directly hides B''s event');
SELECT is((SELECT count(*) FROM legacy.countries), 2::bigint, 'the exempt table is global');
SELECT is_empty($$SELECT * FROM legacy.customers WHERE email = 'bob@shop.test'$$, 'B''s customer is invisible');
INSERT INTO legacy.customers (email, name) VALUES ('ava@shop.test', 'Ava');
RESET ROLE;
SELECT is((SELECT organization_id FROM legacy.customers WHERE email = 'ava@shop.test'), '0a000000-0000-4000-8000-00000000000a'::uuid,
          'a new row is stamped with the current tenant');
SET ROLE ti_app;
SELECT throws_ok($$INSERT INTO legacy.customers (organization_id, email, name) VALUES ('0b000000-0000-4000-8000-00000000000b', 'eve@shop.test', 'Eve')$$,
                 'TI003', NULL, 'a row for another organization is refused');
SELECT throws_ok($$INSERT INTO legacy.orders (customer_id, amount) VALUES (3, 1)$$, '23503', NULL,
                 'an order cannot reference B''s customer (the composite key)');
SELECT is((SELECT count(*) FROM legacy.customers WHERE email = 'bob@shop.test'), 0::bigint,
          'the e-mail of B''s customer can be used by A (unique per organization) ...');
INSERT INTO legacy.customers (email, name) VALUES ('bob@shop.test', 'Another Bob');
SELECT pass('... and inserting it reveals nothing about B');
SELECT is((SELECT count(*) FROM legacy.orders WHERE amount = 30), 0::bigint, 'B''s order is not visible by value');
UPDATE legacy.orders SET amount = 0 WHERE customer_id = 3;
DELETE FROM legacy.customers WHERE id = 3;
RESET ROLE;
SELECT is((SELECT amount FROM legacy.orders WHERE customer_id = 3), 30::numeric, 'A''s blind UPDATE left B''s order alone');
SELECT is((SELECT count(*) FROM legacy.customers WHERE id = 3), 1::bigint, 'A''s blind DELETE left B''s customer alone');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_owner;
SELECT results_eq($$SELECT name FROM legacy.customers ORDER BY name$$, ARRAY['Bob'],
                  'the table owner is bound too: working for B it sees only Bob');
RESET ROLE;
RESET tenant.org_id;

SELECT * FROM finish();
ROLLBACK;
