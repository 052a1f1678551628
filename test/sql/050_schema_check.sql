-- The schema check (event trigger on CREATE TABLE / CREATE TABLE AS / SELECT INTO / PARTITION OF /
-- INHERITS): tables without "organization_id uuid NOT NULL" are refused (42P16) and nothing is created;
-- accepted tables get the tenant index, forced row level security, both
-- policies and the stamping trigger. Temporary tables, system schemas, the extension's schema and
-- exempt schemas / tables are not checked; only a superuser (or the extension's owner) may exempt.
-- Not covered here: tables created by another extension's script - no contrib extension of
-- PostgreSQL 15 installed here creates a table (checked in /usr/share/postgresql/15/extension).

-- The NOTICEs of the set-up, captured from a separate session (psql prints notices on stderr;
-- pgTAP cannot catch them). Runs before BEGIN so that it cannot wait for this session's locks.
\set setup_notices `psql -X -q -d :DBNAME -c 'BEGIN' -c 'SET ROLE ti_owner' -c 'CREATE TABLE notice_pk (id uuid PRIMARY KEY, organization_id uuid NOT NULL)' -c 'CREATE TABLE notice_noidx (organization_id uuid NOT NULL, x int)' -c 'CREATE TABLE notice_orgidx (organization_id uuid NOT NULL, x int, UNIQUE (organization_id, x))' -c 'ROLLBACK' 2>&1`

BEGIN;
SELECT plan(99);

\ir include/error_of.sql
\ir include/is_tenant_table.sql
-- does the table exist without being a tenant table? (no policy tenant_isolation, no forced RLS)
CREATE FUNCTION pg_temp.is_global_table(rel text) RETURNS boolean LANGUAGE sql AS $$
    SELECT to_regclass(rel) IS NOT NULL AND NOT pg_temp.is_tenant_table(rel)
$$;
\ir include/violations.sql

------------------------------------------------------------------------------
-- refused definitions: nothing is created
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT throws_ok('CREATE TABLE t_nocol (id int PRIMARY KEY, title text)', '42P16',
                 'table public.t_nocol has no "organization_id" column', 'a table without organization_id is refused (42P16)');
SELECT is(to_regclass('public.t_nocol'), NULL, 'and nothing was created');
SELECT matches(pg_temp.error_of('CREATE TABLE t_nocol (id int)'), '42P16 \| .* \| .+ \| .*organization_id uuid NOT NULL',
               'the error has a detail and a hint showing the column definition to add');
SELECT throws_ok('CREATE TABLE t_text (organization_id text NOT NULL)', '42P16',
                 'column "organization_id" of table public.t_text must be of type uuid', 'organization_id of type text is refused');
SELECT is(to_regclass('public.t_text'), NULL, 'and nothing was created (text)');
SELECT throws_ok('CREATE TABLE t_bigint (organization_id bigint NOT NULL)', '42P16', NULL, 'organization_id of type bigint is refused');
SELECT throws_ok('CREATE TABLE t_array (organization_id uuid[] NOT NULL)', '42P16', NULL, 'organization_id of type uuid[] is refused');
SELECT throws_ok('CREATE TABLE t_nullable (organization_id uuid, x int)', '42P16',
                 'column "organization_id" of table public.t_nullable must be NOT NULL', 'a nullable organization_id is refused');
SELECT is(to_regclass('public.t_nullable'), NULL, 'and nothing was created (nullable)');
SELECT throws_ok('CREATE TABLE t_nullable_pk (id int PRIMARY KEY, organization_id uuid NULL)', '42P16', NULL,
                 'an explicitly NULL organization_id is refused');
CREATE DOMAIN text_org AS text;
SELECT throws_ok('CREATE TABLE t_textdom (organization_id text_org NOT NULL)', '42P16', NULL,
                 'organization_id of a domain over text is refused');
SELECT throws_ok('CREATE TABLE "Odd ""Name""" (x int)', '42P16', 'table public."Odd ""Name""" has no "organization_id" column',
                 'the error quotes an unusual table name correctly');
SELECT throws_ok('CREATE TABLE t_ctas AS SELECT 1 AS x', '42P16', 'table public.t_ctas has no "organization_id" column',
                 'CREATE TABLE AS without organization_id is refused');
SELECT is(to_regclass('public.t_ctas'), NULL, 'and nothing was created (CREATE TABLE AS)');
SELECT throws_ok($$CREATE TABLE t_ctas_null AS SELECT '0a000000-0000-4000-8000-00000000000a'::uuid AS organization_id, 1 AS x$$, '42P16',
                 'column "organization_id" of table public.t_ctas_null must be NOT NULL',
                 'CREATE TABLE AS with a (necessarily nullable) organization_id is refused');
SELECT matches(pg_temp.error_of($$CREATE TABLE t_ctas_null AS SELECT '0a000000-0000-4000-8000-00000000000a'::uuid AS organization_id$$),
               'CREATE TABLE AS and SELECT INTO cannot declare NOT NULL', 'and the hint explains how to do it instead');
SELECT is(to_regclass('public.t_ctas_null'), NULL, 'and nothing was created (CREATE TABLE AS, nullable)');
SELECT throws_ok('CREATE TABLE t_ctas_nodata AS SELECT 1 AS x WITH NO DATA', '42P16', NULL, 'CREATE TABLE AS ... WITH NO DATA is refused');
SELECT throws_ok('SELECT 1 AS x INTO t_selinto', '42P16', 'table public.t_selinto has no "organization_id" column',
                 'SELECT INTO without organization_id is refused');
SELECT is(to_regclass('public.t_selinto'), NULL, 'and nothing was created (SELECT INTO)');
RESET ROLE;
SELECT throws_ok('CREATE TABLE t_super (x int)', '42P16', NULL, 'a superuser''s table without organization_id is refused too');
SET ROLE ti_owner;

------------------------------------------------------------------------------
-- an accepted table is fully set up
------------------------------------------------------------------------------
SELECT lives_ok('CREATE TABLE t_ok (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, note text)',
                'a table with organization_id uuid NOT NULL is accepted');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = 't_ok'::regclass AND i.indpred IS NULL
                    AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = 't_ok'::regclass AND attname = 'organization_id')),
          'accepted table: an index leading with organization_id exists');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = 't_ok'::regclass AND c.contype = 'u'
                    AND c.conkey = (SELECT array_agg(attnum ORDER BY array_position(ARRAY['organization_id', 'id'], attname::text))
                                    FROM pg_attribute WHERE attrelid = 't_ok'::regclass AND attname IN ('organization_id', 'id'))),
          'accepted table: the single-column primary key got its UNIQUE (organization_id, id) twin');
SELECT is_empty($$SELECT 1 FROM pg_constraint c WHERE c.conrelid = 't_ok'::regclass AND c.confrelid = 'tenant_iso.organizations'::regclass$$,
                'accepted table: no foreign key to the registry (the stamping trigger guards writes: a row only for a registered organization)');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 't_ok'::regclass), 'accepted table: row level security is enabled');
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 't_ok'::regclass), 'accepted table: row level security is forced');
SELECT results_eq($$SELECT polpermissive, polcmd::text, polroles, pg_get_expr(polqual, polrelid) COLLATE "default", pg_get_expr(polwithcheck, polrelid) COLLATE "default"
                    FROM pg_policy WHERE polrelid = 't_ok'::regclass AND polname = 'tenant_isolation'$$,
                  $$VALUES (false, '*', '{0}'::oid[],
                            '(organization_id = tenant_iso.current_org_id())',
                            '(organization_id = tenant_iso.current_org_id())')$$,
                  'accepted table: policy tenant_isolation is RESTRICTIVE, FOR ALL, TO PUBLIC, compares with the current tenant');
SELECT results_eq($$SELECT polpermissive, polcmd::text, polroles, pg_get_expr(polqual, polrelid) COLLATE "default"
                    FROM pg_policy WHERE polrelid = 't_ok'::regclass AND polname = 'tenant_access'$$,
                  $$VALUES (true, '*', '{0}'::oid[], 'true')$$,
                  'accepted table: policy tenant_access is PERMISSIVE, USING (true)');
SELECT results_eq($$SELECT t.tgenabled::text, t.tgfoid::regprocedure::text, (t.tgtype::int & 31),
                           (SELECT array_agg(attname::text COLLATE "default") FROM pg_attribute WHERE attrelid = t.tgrelid AND attnum = ANY (t.tgattr))
                    FROM pg_trigger t WHERE t.tgrelid = 't_ok'::regclass AND t.tgname = 'tenant_iso_stamp'$$,
                  $$VALUES ('O', 'tenant_iso.stamp_organization_id()', 23, ARRAY['organization_id'])$$,
                  'accepted table: trigger tenant_iso_stamp, BEFORE INSERT OR UPDATE OF organization_id, FOR EACH ROW, enabled');
SELECT is(pg_temp.violations('public.t_ok'), '', 'accepted table: tenant_iso._table_violations() reports nothing');
-- and it works: stamping and isolation for the application role (privileges from the default privileges)
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
INSERT INTO t_ok (note) VALUES ('from A') RETURNING organization_id AS t_ok_org \gset
SELECT is(:'t_ok_org'::uuid, '0a000000-0000-4000-8000-00000000000a'::uuid, 'accepted table: inserts by ti_app are stamped');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is((SELECT count(*) FROM t_ok), 0::bigint, 'accepted table: B does not see A''s row');
RESET ROLE;
RESET tenant.org_id;

-- the NOTICEs
SELECT matches(:'setup_notices'::text, 'NOTICE:  tenant_iso created an index on \(organization_id\) of table public\.notice_noidx',
               'a NOTICE is raised when the organization_id index is created');
SELECT matches(:'setup_notices'::text, 'NOTICE:  tenant_iso added unique key \(organization_id, id\) to table public\.notice_pk',
               'a NOTICE is raised when the (organization_id, id) unique key is added');
SELECT doesnt_match(:'setup_notices'::text, 'notice_orgidx', 'no NOTICE when the table already has an index leading with organization_id');

-- a table whose primary key is organization_id needs no extra index
SET ROLE ti_owner;
SELECT lives_ok('CREATE TABLE org_settings (organization_id uuid PRIMARY KEY, theme text)', 'a table keyed by organization_id is accepted');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_index WHERE indrelid = 'org_settings'::regclass), 1::bigint,
          'and gets no extra index (its primary key leads with organization_id)');
SELECT is(pg_temp.violations('public.org_settings'), '', 'and passes every check');

-- other table kinds and places
SET ROLE ti_owner;
SELECT lives_ok('CREATE UNLOGGED TABLE t_unlogged (organization_id uuid NOT NULL, x int)', 'an unlogged table is accepted');
SELECT ok(pg_temp.is_tenant_table('public.t_unlogged'), 'and becomes a tenant table');
SELECT lives_ok('CREATE TABLE t_like (LIKE courses)', 'CREATE TABLE (LIKE tenant_table) is accepted');
SELECT ok(pg_temp.is_tenant_table('public.t_like'), 'and becomes a tenant table');
RESET ROLE;
CREATE SCHEMA app AUTHORIZATION ti_owner;
SET ROLE ti_owner;
SELECT throws_ok('CREATE TABLE app.things (x int)', '42P16', 'table app.things has no "organization_id" column',
                 'the check applies in every schema, not only public');
SELECT lives_ok('CREATE TABLE app.things (organization_id uuid NOT NULL, x int)', 'a table in another schema is accepted');
SELECT ok(pg_temp.is_tenant_table('app.things'), 'and becomes a tenant table');

------------------------------------------------------------------------------
-- domain over uuid
------------------------------------------------------------------------------
CREATE DOMAIN org_uuid AS uuid;
SELECT lives_ok('CREATE TABLE t_dom (organization_id org_uuid NOT NULL, v int)', 'a domain over uuid, NOT NULL, is accepted');
SELECT ok(pg_temp.is_tenant_table('public.t_dom'), 'and the table becomes a tenant table');
RESET ROLE;
SELECT is(pg_temp.violations('public.t_dom'), '', 'and passes every check');

------------------------------------------------------------------------------
-- PARTITION OF and INHERITS children become tenant tables
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE TABLE t_part (organization_id uuid NOT NULL, id int NOT NULL, created date NOT NULL) PARTITION BY RANGE (created)$$,
                'a partitioned table is accepted');
SELECT lives_ok($$CREATE TABLE t_part_2024 PARTITION OF t_part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')$$,
                'CREATE TABLE ... PARTITION OF is accepted');
SELECT lives_ok($$CREATE TABLE t_part_2025 PARTITION OF t_part FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY LIST (id)$$,
                'a sub-partitioned partition is accepted');
SELECT lives_ok($$CREATE TABLE t_part_2025_1 PARTITION OF t_part_2025 FOR VALUES IN (1)$$, 'a second-level partition is accepted');
RESET ROLE;
SELECT ok(pg_temp.is_tenant_table('public.t_part'), 'the partitioned parent is a tenant table');
SELECT ok(pg_temp.is_tenant_table('public.t_part_2024'), 'the partition is a tenant table (own policies, RLS forced)');
SELECT is(pg_temp.violations('public.t_part_2024'), '', 'the partition passes every check (index, foreign key, trigger)');
SELECT ok(pg_temp.is_tenant_table('public.t_part_2025_1'), 'the second-level partition is a tenant table');
SELECT is(pg_temp.violations('public.t_part_2025_1'), '', 'the second-level partition passes every check');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
INSERT INTO t_part (id, created) VALUES (1, '2024-06-01'), (1, '2025-06-01');
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is((SELECT count(*) FROM t_part_2024), 0::bigint, 'B sees none of A''s rows when reading the partition directly');
SELECT is((SELECT count(*) FROM t_part_2025_1), 0::bigint, 'B sees none of A''s rows in the second-level partition');
SELECT throws_ok($$INSERT INTO t_part_2024 (organization_id, id, created) VALUES ('0a000000-0000-4000-8000-00000000000a', 2, '2024-07-01')$$,
                 'TI003', NULL, 'a spoofed insert straight into a partition is refused');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT is((SELECT count(*) FROM t_part_2024), 1::bigint, 'A sees its row in the partition');
RESET ROLE;
SET ROLE ti_owner;
SELECT lives_ok('CREATE TABLE t_parent (organization_id uuid NOT NULL, x int)', 'an inheritance parent is accepted');
SELECT lives_ok('CREATE TABLE t_child (y int) INHERITS (t_parent)', 'CREATE TABLE ... INHERITS is accepted');
RESET ROLE;
SELECT ok(pg_temp.is_tenant_table('public.t_child'), 'the INHERITS child is a tenant table');
SELECT is(pg_temp.violations('public.t_child'), '', 'the INHERITS child passes every check');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
INSERT INTO t_child (x, y) VALUES (1, 1);
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is((SELECT count(*) FROM t_child), 0::bigint, 'B sees none of A''s rows in the INHERITS child');
RESET ROLE;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- not checked: temporary tables, system schemas, the extension's schema, other extensions
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok('CREATE TEMP TABLE t_tmp (x int)', 'a temporary table needs no organization_id');
SELECT ok(pg_temp.is_global_table('pg_temp.t_tmp'), 'and is not made a tenant table');
SELECT lives_ok('CREATE TEMP TABLE t_tmp_ctas AS SELECT 1 AS x', 'a temporary CREATE TABLE AS needs no organization_id');
RESET ROLE;
SELECT lives_ok('CREATE TABLE information_schema.ti_probe (x int)', 'a table in information_schema is not checked');
SELECT lives_ok('CREATE TABLE tenant_iso.ti_probe (x int)', 'a table in the extension''s schema is not checked');
SET allow_system_table_mods = on;
SELECT lives_ok('CREATE TABLE pg_catalog.ti_probe (x int)', 'a table in pg_catalog is not checked');
RESET allow_system_table_mods;
SELECT lives_ok('CREATE EXTENSION citext', 'CREATE EXTENSION of another extension keeps working');

------------------------------------------------------------------------------
-- exemptions: only a superuser (or the extension's owner) may exempt
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('app', 'x')$$, '42501', NULL, 'ti_app cannot exempt a schema (42501)');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('public.plans', 'x')$$, '42501', NULL, 'ti_app cannot exempt a table (42501)');
SELECT throws_ok($$INSERT INTO tenant_iso.exemptions (schema_name, table_name, reason) VALUES ('public', 'plans', 'x')$$, '42501', NULL,
                 'ti_app cannot write tenant_iso.exemptions directly (42501)');
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('app', 'x')$$, '42501', NULL, 'ti_owner cannot exempt a schema (42501)');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('public.plans', 'x')$$, '42501', NULL, 'ti_owner cannot exempt a table (42501)');
SELECT throws_ok($$DELETE FROM tenant_iso.exemptions$$, '42501', NULL, 'ti_owner cannot write tenant_iso.exemptions directly (42501)');
RESET ROLE;

-- exempt_schema / exempt_table as superuser
CREATE SCHEMA reference AUTHORIZATION ti_owner;
SELECT lives_ok($$SELECT tenant_iso.exempt_schema('reference', 'lookup data shared by all organizations')$$,
                'a superuser can exempt a schema');
SELECT results_eq($$SELECT exempted_by::text COLLATE "default", reason FROM tenant_iso.exemptions WHERE schema_name = 'reference' AND table_name IS NULL$$,
                  $$VALUES ('postgres', 'lookup data shared by all organizations')$$,
                  'the schema exemption is recorded with who and why');
SET ROLE ti_owner;
SELECT lives_ok('CREATE TABLE reference.plans (id int PRIMARY KEY, name text)', 'a table in an exempt schema needs no organization_id');
SELECT ok(pg_temp.is_global_table('reference.plans'), 'and is not made a tenant table');
RESET ROLE;
SELECT lives_ok($$SELECT tenant_iso.exempt_table('public.countries', 'ISO country list, global')$$,
                'a superuser can exempt a table before it exists');
SELECT results_eq($$SELECT exempted_by::text COLLATE "default", reason FROM tenant_iso.exemptions WHERE schema_name = 'public' AND table_name = 'countries'$$,
                  $$VALUES ('postgres', 'ISO country list, global')$$,
                  'the table exemption is recorded with who and why');
SET ROLE ti_owner;
SELECT lives_ok('CREATE TABLE countries (code text PRIMARY KEY, name text)', 'the exempt table can then be created without organization_id');
SELECT ok(pg_temp.is_global_table('public.countries'), 'and is not made a tenant table');
SELECT lives_ok('ALTER TABLE countries RENAME TO nations', 'the exempt table can be renamed');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenant_iso.exemptions WHERE schema_name = 'public' AND table_name = 'nations'),
          'a rename keeps the exemption (the exemption follows the table to its new name)');
SELECT lives_ok($$SELECT tenant_iso.exempt_table('unqualified_global', 'a global table in the current schema')$$,
                'exempt_table accepts an unqualified name (current schema)');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('public.courses', 'oops')$$, '55000', NULL,
                 'an existing tenant table cannot be exempted');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('public.plans2', '  ')$$, '22023', NULL, 'an exemption needs a reason');

-- the event trigger honours recorded exemptions (independently of the exempt_* functions)
INSERT INTO tenant_iso.exemptions (schema_name, table_name, reason) VALUES ('public', 'plans', 'billing plans are global');
CREATE SCHEMA lookup AUTHORIZATION ti_owner;
INSERT INTO tenant_iso.exemptions (schema_name, table_name, reason) VALUES ('lookup', NULL, 'lookup schema');
SET ROLE ti_owner;
SELECT lives_ok('CREATE TABLE plans (id int PRIMARY KEY, name text)', 'a table recorded in tenant_iso.exemptions needs no organization_id');
SELECT ok(pg_temp.is_global_table('public.plans'), 'and is not made a tenant table (recorded table exemption)');
SELECT lives_ok('CREATE TABLE lookup.currencies (code text)', 'a table in a schema recorded in tenant_iso.exemptions needs no organization_id');
SELECT throws_ok('CREATE TABLE plans_v2 (id int)', '42P16', NULL, 'a table exemption does not extend to other names');
RESET ROLE;
SET ROLE ti_owner;
SELECT lives_ok('ALTER TABLE plans RENAME TO billing_plans', 'a table exempted through tenant_iso.exemptions can be renamed');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM tenant_iso.exemptions WHERE schema_name = 'public' AND table_name = 'billing_plans'),
          'a rename keeps the exemption (recorded exemption follows public.plans to public.billing_plans)');

SELECT * FROM finish();
ROLLBACK;
