-- Odd but legal DDL fed to the schema check and the DDL guard (issue 7): quoted mixed-case
-- names, organization_id through domains, generated and identity columns, tables created in DO
-- blocks, in functions and by CREATE SCHEMA ... CREATE TABLE, ALTER TABLE with many subcommands,
-- CREATE TABLE ... (LIKE ...), partitions, unlogged tables, an invalid index left by a failed
-- CREATE INDEX CONCURRENTLY.  Each outcome is the one documented in docs/reliability.md.
-- The tables are created by ti_owner (the migration role); isolation is checked as ti_app.
-- No BEGIN around the file: CREATE INDEX CONCURRENTLY cannot run in a transaction block.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;

\ir include/violations.sql
-- everything ALTER TABLE can change about a table
CREATE FUNCTION pg_temp.shape(rel regclass) RETURNS text LANGUAGE sql AS $$
SELECT concat_ws(E'\n',
    (SELECT concat_ws(':', c.relrowsecurity, c.relforcerowsecurity, c.relpersistence) FROM pg_class c WHERE c.oid = rel),
    (SELECT string_agg(concat_ws(':', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY a.attnum)
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT string_agg(k.conname || ':' || pg_get_constraintdef(k.oid), ', ' ORDER BY k.conname) FROM pg_constraint k WHERE k.conrelid = rel),
    (SELECT string_agg(i.indexrelid::regclass::text, ', ' ORDER BY 1) FROM pg_index i WHERE i.indrelid = rel),
    (SELECT string_agg(p.polname, ', ' ORDER BY 1) FROM pg_policy p WHERE p.polrelid = rel),
    (SELECT string_agg(t.tgname || ':' || t.tgenabled::text, ', ' ORDER BY 1) FROM pg_trigger t WHERE t.tgrelid = rel AND NOT t.tgisinternal))
$$;

SELECT plan(90);

------------------------------------------------------------------------------
-- quoted mixed-case names
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE TABLE "Courses" (id uuid PRIMARY KEY, organization_id uuid NOT NULL, "Title" text)$$,
                'CREATE TABLE "Courses" (mixed case, quoted) is accepted');
RESET ROLE;
CREATE SCHEMA "Org Data" AUTHORIZATION ti_owner;
GRANT USAGE ON SCHEMA "Org Data" TO ti_app;
SET ROLE ti_owner;
SELECT lives_ok($$CREATE TABLE "Org Data"."Weird ""Name""" (id uuid PRIMARY KEY, organization_id uuid NOT NULL, "Body Text" text)$$,
                'CREATE TABLE "Org Data"."Weird ""Name""" (space, quotes) is accepted');
GRANT SELECT, INSERT, UPDATE, DELETE ON "Org Data"."Weird ""Name""" TO ti_app;
SELECT throws_ok($$CREATE TABLE "Odd Col" (id uuid PRIMARY KEY, "Organization_Id" uuid NOT NULL)$$, '42P16', NULL,
                 'a column "Organization_Id" (quoted, mixed case) is not organization_id: refused');
SELECT throws_ok($$CREATE TABLE "Odd Col" (id uuid PRIMARY KEY, " organization_id" uuid NOT NULL)$$, '42P16', NULL,
                 'a column " organization_id" (leading space) is not organization_id: refused');
RESET ROLE;
SELECT is(pg_temp.violations('"Courses"'), '', '"Courses" is a complete tenant table');
SELECT is(pg_temp.violations('"Org Data"."Weird ""Name"""'), '', '"Org Data"."Weird ""Name""" is a complete tenant table');
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO "Courses" (id, "Title") VALUES ('9b000000-0000-4000-8000-000000000001', 'B course');
INSERT INTO "Org Data"."Weird ""Name""" (id, "Body Text") VALUES ('9b000000-0000-4000-8000-000000000002', 'B body');
SET tenant.org_id = :'A';
SELECT is((SELECT count(*) FROM "Courses") + (SELECT count(*) FROM "Org Data"."Weird ""Name"""), 0::bigint,
          'A sees none of B''s rows in the quoted tables');
SET tenant.org_id = :'B';
SELECT is((SELECT organization_id FROM "Org Data"."Weird ""Name"""), :'B'::uuid, 'B''s row was stamped with B');
RESET ROLE;

------------------------------------------------------------------------------
-- organization_id through domains, generated, identity and default columns
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE DOMAIN org_ref AS uuid;
CREATE DOMAIN org_ref_checked AS org_ref CHECK (VALUE <> '00000000-0000-0000-0000-000000000000');
CREATE DOMAIN org_ref_nn AS uuid NOT NULL;
CREATE DOMAIN org_text AS text;
SELECT lives_ok($$CREATE TABLE dom1 (id uuid PRIMARY KEY, organization_id org_ref NOT NULL)$$,
                'organization_id of a domain over uuid, NOT NULL on the column: accepted');
SELECT lives_ok($$CREATE TABLE dom2 (id uuid PRIMARY KEY, organization_id org_ref_checked NOT NULL)$$,
                'organization_id of a domain over a domain over uuid, with a CHECK: accepted');
SELECT throws_ok($$CREATE TABLE dom3 (id uuid PRIMARY KEY, organization_id org_ref_nn)$$, '42P16',
                 'column "organization_id" of table public.dom3 must be NOT NULL',
                 'NOT NULL only in the domain, not on the column: refused (the column must be NOT NULL)');
SELECT throws_ok($$CREATE TABLE dom4 (id uuid PRIMARY KEY, organization_id org_text NOT NULL)$$, '42P16',
                 'column "organization_id" of table public.dom4 must be of type uuid', 'a domain over text: refused');
SELECT throws_ok($$CREATE TABLE arr1 (id uuid PRIMARY KEY, organization_id uuid[] NOT NULL)$$, '42P16', NULL, 'uuid[]: refused');
SELECT throws_ok($$CREATE TABLE chk1 (id uuid PRIMARY KEY, organization_id uuid CHECK (organization_id IS NOT NULL))$$, '42P16', NULL,
                 'a CHECK (organization_id IS NOT NULL) instead of NOT NULL: refused');
SELECT lives_ok($$CREATE TABLE pk1 (organization_id uuid PRIMARY KEY, settings jsonb NOT NULL DEFAULT '{}')$$,
                'organization_id as the whole primary key (one row per organization): accepted');
SELECT lives_ok($$CREATE TABLE gen1 (id uuid PRIMARY KEY, organization_id uuid NOT NULL, title text,
                                     title_lc text GENERATED ALWAYS AS (lower(title)) STORED)$$,
                'a generated column beside organization_id: accepted');
SELECT lives_ok($$CREATE TABLE gen2 (id uuid PRIMARY KEY,
                                     organization_id uuid NOT NULL GENERATED ALWAYS AS ('0a000000-0000-4000-8000-00000000000a'::uuid) STORED)$$,
                'organization_id itself generated (a constant): accepted (documented)');
SELECT lives_ok($$CREATE TABLE ident1 (id bigint GENERATED ALWAYS AS IDENTITY, organization_id uuid NOT NULL, PRIMARY KEY (organization_id, id))$$,
                'an identity column in a composite key with organization_id: accepted');
SELECT lives_ok($$CREATE TABLE def1 (id uuid PRIMARY KEY, organization_id uuid NOT NULL DEFAULT gen_random_uuid())$$,
                'organization_id with a DEFAULT of its own: accepted (documented)');
RESET ROLE;
SELECT is(pg_temp.violations('dom1'), '', 'dom1 is a complete tenant table');
SELECT is(pg_temp.violations('dom2'), '', 'dom2 is a complete tenant table');
SELECT is(pg_temp.violations('pk1'), '', 'pk1 is a complete tenant table');
SELECT is(pg_temp.violations('gen1'), '', 'gen1 is a complete tenant table');
SELECT is(pg_temp.violations('gen2'), '', 'gen2 is a complete tenant table');
SELECT is(pg_temp.violations('ident1'), '', 'ident1 is a complete tenant table');
SELECT is(pg_temp.violations('def1'), '', 'def1 is a complete tenant table');
SELECT hasnt_table('public', 'dom3', 'the refused tables do not exist (dom3)');
SELECT hasnt_table('public', 'chk1', 'the refused tables do not exist (chk1)');
SET tenant.org_id = :'B';
SET ROLE ti_app;
SELECT results_eq($$INSERT INTO dom1 (id) VALUES (gen_random_uuid()) RETURNING organization_id::uuid$$, ARRAY[:'B'::uuid],
                  'a row of dom1 (domain) is stamped with the tenant');
SELECT results_eq($$INSERT INTO dom2 (id) VALUES (gen_random_uuid()) RETURNING organization_id::uuid$$, ARRAY[:'B'::uuid],
                  'a row of dom2 (domain over domain) is stamped with the tenant');
SELECT results_eq($$INSERT INTO pk1 DEFAULT VALUES RETURNING organization_id$$, ARRAY[:'B'::uuid],
                  'pk1: the tenant''s one row is stamped');
SELECT results_eq($$INSERT INTO gen1 (id, title) VALUES (gen_random_uuid(), 'ABC') RETURNING organization_id::text || ' ' || title_lc$$,
                  ARRAY[:'B' || ' abc'], 'gen1: stamped, and the generated column computed');
SELECT throws_ok($$INSERT INTO gen2 (id) VALUES (gen_random_uuid())$$, '42501', NULL,
                 'gen2: B cannot insert (the generated organization is A; row level security refuses it)');
SELECT results_eq($$INSERT INTO ident1 DEFAULT VALUES RETURNING organization_id$$, ARRAY[:'B'::uuid], 'ident1: stamped');
SELECT throws_ok($$INSERT INTO def1 (id) VALUES (gen_random_uuid())$$, 'TI003', NULL,
                 'def1: the own DEFAULT (a random uuid) is another organization: refused (TI003)');
SELECT lives_ok(format('INSERT INTO def1 (id, organization_id) VALUES (gen_random_uuid(), %L)', :'B'),
                'def1: the tenant''s own id given explicitly is accepted');
SET tenant.org_id = :'A';
SELECT lives_ok($$INSERT INTO gen2 (id) VALUES (gen_random_uuid())$$, 'gen2: A can insert (the generated organization)');
SELECT is((SELECT count(*) FROM dom1) + (SELECT count(*) FROM dom2) + (SELECT count(*) FROM pk1) + (SELECT count(*) FROM gen1)
          + (SELECT count(*) FROM ident1) + (SELECT count(*) FROM def1), 0::bigint, 'A sees none of B''s rows in these tables');
RESET ROLE;

------------------------------------------------------------------------------
-- tables created in DO blocks, in functions, by CREATE SCHEMA ... CREATE TABLE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($q$DO $do$ BEGIN CREATE TABLE do1 (id uuid PRIMARY KEY, organization_id uuid NOT NULL); END $do$$q$,
                'a tenant table created in a DO block: accepted');
SELECT throws_ok($q$DO $do$ BEGIN CREATE TABLE do2 (id uuid PRIMARY KEY); END $do$$q$, '42P16', NULL,
                 'a table without organization_id created in a DO block: refused, the DO block fails');
SELECT throws_ok($q$DO $do$ BEGIN
                     CREATE TABLE do3 (id uuid PRIMARY KEY, organization_id uuid NOT NULL);
                     EXECUTE 'CREATE TABLE do4 (id uuid PRIMARY KEY, organization_id uuid)';
                   END $do$$q$, '42P16', NULL,
                 'a DO block creating a good table, then a nullable one with EXECUTE: refused as a whole');
CREATE FUNCTION make_table(n text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE format('CREATE TABLE %I (id uuid PRIMARY KEY, organization_id uuid NOT NULL)', n);
END $f$;
CREATE FUNCTION make_bad_table() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    CREATE TABLE fn_bad (id int);
END $f$;
SELECT lives_ok($$SELECT make_table('Fn Made')$$, 'a tenant table created by a plpgsql function (EXECUTE): accepted');
SELECT throws_ok($$SELECT make_bad_table()$$, '42P16', NULL, 'a table without organization_id created by a plpgsql function: refused');
RESET ROLE;
SELECT is(pg_temp.violations('do1'), '', 'do1 is a complete tenant table');
SELECT is(pg_temp.violations('"Fn Made"'), '', '"Fn Made" is a complete tenant table');
SELECT ok(to_regclass('do2') IS NULL AND to_regclass('do3') IS NULL AND to_regclass('do4') IS NULL AND to_regclass('fn_bad') IS NULL,
          'no table of a refused DO block or function exists');
GRANT CREATE ON DATABASE :"DBNAME" TO ti_owner;
SET ROLE ti_owner;
SELECT lives_ok($$CREATE SCHEMA sch1 CREATE TABLE t1 (id uuid PRIMARY KEY, organization_id uuid NOT NULL) CREATE TABLE t2 (LIKE t1)$$,
                'CREATE SCHEMA ... CREATE TABLE of tenant tables: accepted');
SELECT throws_ok($$CREATE SCHEMA sch2 CREATE TABLE good (id uuid PRIMARY KEY, organization_id uuid NOT NULL) CREATE TABLE bad (x int)$$,
                 '42P16', NULL, 'CREATE SCHEMA ... CREATE TABLE of a table without organization_id: refused as a whole');
RESET ROLE;
SELECT is(pg_temp.violations('sch1.t1'), '', 'sch1.t1 (created by CREATE SCHEMA) is a complete tenant table');
SELECT is(pg_temp.violations('sch1.t2'), '', 'sch1.t2 (created by CREATE SCHEMA, LIKE) is a complete tenant table');
SELECT ok(to_regnamespace('sch2') IS NULL, 'the refused schema does not exist');

------------------------------------------------------------------------------
-- ALTER TABLE with many subcommands: one breaking subcommand refuses the whole statement
------------------------------------------------------------------------------
SELECT pg_temp.shape('courses') AS courses0 \gset
SET ROLE ti_owner;
SELECT throws_ok($$ALTER TABLE courses ADD COLUMN a1 int, ADD COLUMN a2 text DEFAULT 'x', ALTER COLUMN organization_id DROP NOT NULL,
                   ADD CONSTRAINT title_len CHECK (length(title) < 1000)$$, '42P16', NULL,
                 'ADD, ADD, DROP NOT NULL on organization_id, ADD CONSTRAINT: refused');
SELECT throws_ok($$ALTER TABLE courses ADD COLUMN a1 int, DROP COLUMN organization_id CASCADE$$, '42P16', NULL,
                 'ADD COLUMN, DROP COLUMN organization_id CASCADE: refused');
SELECT throws_ok($$ALTER TABLE courses ADD COLUMN a1 int, DISABLE TRIGGER tenant_iso_stamp, ALTER COLUMN title SET STATISTICS 100$$, '42P16', NULL,
                 'ADD COLUMN, DISABLE TRIGGER tenant_iso_stamp, SET STATISTICS: refused');
SELECT throws_ok($$ALTER TABLE courses ADD COLUMN a1 int, DISABLE TRIGGER tenant_iso_stamp$$, '42P16', NULL,
                 'ADD COLUMN, DISABLE TRIGGER tenant_iso_stamp: refused');
SELECT throws_ok($$ALTER TABLE courses ADD COLUMN a1 int, NO FORCE ROW LEVEL SECURITY, ALTER COLUMN title SET DEFAULT 'x'$$, '42P16', NULL,
                 'ADD COLUMN, NO FORCE ROW LEVEL SECURITY, SET DEFAULT: refused');
SELECT throws_ok($$ALTER TABLE courses ADD COLUMN a1 int, ALTER COLUMN organization_id TYPE text$$, '0A000', NULL,
                 'ADD COLUMN, organization_id TYPE text: refused (the policies depend on the column)');
SELECT throws_ok($$ALTER TABLE courses ADD COLUMN a1 int, DISABLE TRIGGER ALL$$, '42501', NULL,
                 'ADD COLUMN, DISABLE TRIGGER ALL: refused (system triggers)');
RESET ROLE;
SELECT is(pg_temp.shape('courses'), :'courses0', 'courses is unchanged after every refused ALTER TABLE');
SET ROLE ti_owner;
SELECT lives_ok($$ALTER TABLE courses ADD COLUMN a1 int, NO FORCE ROW LEVEL SECURITY, ADD COLUMN a2 int, FORCE ROW LEVEL SECURITY$$,
                'NO FORCE then FORCE ROW LEVEL SECURITY in one statement: accepted (the end state is checked)');
SELECT lives_ok($$ALTER TABLE courses ADD COLUMN a3 int, ALTER COLUMN organization_id SET STATISTICS 500, ADD COLUMN a4 int,
                   ALTER COLUMN title SET NOT NULL, ADD CONSTRAINT title_len CHECK (length(title) < 1000)$$,
                'many harmless subcommands, one on organization_id: accepted');
RESET ROLE;
SELECT is(pg_temp.violations('courses'), '', 'courses is still a complete tenant table');

------------------------------------------------------------------------------
-- CREATE TABLE ... (LIKE ...)
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE TABLE like1 (LIKE courses INCLUDING ALL)$$, 'CREATE TABLE (LIKE courses INCLUDING ALL): accepted');
SELECT lives_ok($$CREATE TABLE like2 (LIKE courses)$$, 'CREATE TABLE (LIKE courses) (NOT NULL is always copied): accepted');
SELECT lives_ok($$CREATE TABLE like3 (LIKE users INCLUDING INDEXES, extra text)$$, 'CREATE TABLE (LIKE users INCLUDING INDEXES, extra): accepted');
RESET ROLE;
SELECT tenant_iso.exempt_table('plain_codes', 'global lookup') \g /dev/null
SET ROLE ti_owner;
CREATE TABLE plain_codes (code text PRIMARY KEY);
SELECT throws_ok($$CREATE TABLE like4 (LIKE plain_codes INCLUDING ALL)$$, '42P16', NULL,
                 'CREATE TABLE (LIKE a global table without organization_id): refused');
RESET ROLE;
SELECT is(pg_temp.violations('like1'), '', 'like1 is a complete tenant table');
SELECT is(pg_temp.violations('like2'), '', 'like2 is a complete tenant table');
SELECT is(pg_temp.violations('like3'), '', 'like3 is a complete tenant table');
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO like1 (title) VALUES ('B like');
SET tenant.org_id = :'A';
SELECT is((SELECT count(*) FROM like1), 0::bigint, 'A sees none of B''s rows in like1');
RESET ROLE;

------------------------------------------------------------------------------
-- partitions (range with a default partition; list by organization_id) and unlogged tables
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE TABLE events (organization_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), at date NOT NULL,
                                       PRIMARY KEY (organization_id, id, at)) PARTITION BY RANGE (at)$$,
                'a partitioned tenant table: accepted');
SELECT lives_ok($$CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')$$,
                'PARTITION OF ... FOR VALUES: accepted');
SELECT lives_ok($$CREATE TABLE events_default PARTITION OF events DEFAULT$$, 'PARTITION OF ... DEFAULT: accepted');
SELECT lives_ok($$CREATE TABLE by_org (organization_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(),
                                       PRIMARY KEY (organization_id, id)) PARTITION BY LIST (organization_id)$$,
                'a table partitioned by organization_id: accepted');
SELECT lives_ok($$CREATE TABLE by_org_a PARTITION OF by_org FOR VALUES IN ('0a000000-0000-4000-8000-00000000000a')$$,
                'a partition for organization A: accepted');
SELECT lives_ok($$CREATE TABLE by_org_rest PARTITION OF by_org DEFAULT$$, 'and a default partition: accepted');
SELECT lives_ok($$CREATE UNLOGGED TABLE scratch1 (id uuid PRIMARY KEY, organization_id uuid NOT NULL)$$, 'an unlogged tenant table: accepted');
RESET ROLE;
SELECT is(ARRAY[pg_temp.violations('events'), pg_temp.violations('events_2024'), pg_temp.violations('events_default')],
          ARRAY['', '', ''], 'the partitioned table and both partitions are complete tenant tables');
SELECT is(ARRAY[pg_temp.violations('by_org'), pg_temp.violations('by_org_a'), pg_temp.violations('by_org_rest')],
          ARRAY['', '', ''], 'the list-partitioned table and its partitions are complete tenant tables');
SELECT is(pg_temp.violations('scratch1'), '', 'the unlogged table is a complete tenant table');
SET ROLE ti_owner;
SELECT lives_ok($$ALTER TABLE scratch1 SET LOGGED$$, 'ALTER TABLE ... SET LOGGED: accepted');
RESET ROLE;
SELECT is(pg_temp.violations('scratch1'), '', 'and it is still a complete tenant table');
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO events (at) VALUES ('2024-06-01'), ('1999-01-01');
INSERT INTO by_org DEFAULT VALUES;
INSERT INTO scratch1 (id) VALUES (gen_random_uuid());
SELECT is((SELECT count(*) FROM by_org_rest), 1::bigint, 'B''s row went to the default partition of by_org');
SET tenant.org_id = :'A';
INSERT INTO by_org DEFAULT VALUES;
SELECT is((SELECT count(*) FROM events) + (SELECT count(*) FROM events_2024) + (SELECT count(*) FROM events_default), 0::bigint,
          'A sees none of B''s events, through the parent or a partition');
SELECT is((SELECT count(*) FROM by_org_rest) + (SELECT count(*) FROM scratch1), 0::bigint,
          'A sees none of B''s rows in the default partition or the unlogged table');
SELECT is((SELECT count(*) FROM by_org_a), 1::bigint, 'A sees its own row in its partition');
RESET ROLE;

------------------------------------------------------------------------------
-- an invalid index left by a failed CREATE INDEX CONCURRENTLY does not count as the tenant index
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE TABLE notes (organization_id uuid NOT NULL, body text);
RESET ROLE;
INSERT INTO notes VALUES (:'A', 'dup'), (:'A', 'dup');
SET ROLE ti_owner;
-- fails with 23505 (duplicate key); CONCURRENTLY cannot run inside pgTAP's function, so at top level
\set ON_ERROR_STOP 0
CREATE UNIQUE INDEX CONCURRENTLY notes_unique_body ON notes (organization_id, body);
\set ON_ERROR_STOP 1
SELECT ok(EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = to_regclass('notes_unique_body') AND NOT i.indisvalid),
          'a failed CREATE UNIQUE INDEX CONCURRENTLY left an invalid index leading with organization_id');
SELECT throws_ok($$DROP INDEX notes_organization_id_idx$$, '42P16', NULL,
                 'dropping the only valid index that leads with organization_id is refused, the invalid one does not count');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = 'notes'::regclass AND i.indisvalid AND i.indpred IS NULL
                    AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = 'notes'::regclass AND a.attname = 'organization_id')),
          'notes still has a valid index leading with organization_id');
SELECT is(pg_temp.violations('notes'),
          CASE WHEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = 'notes'::regclass AND i.indisvalid AND i.indkey[0] = 1)
               THEN '' ELSE 'tenant_index' END,
          'the invariant checks count only valid indexes as the tenant index');

SELECT * FROM finish();
