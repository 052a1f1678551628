-- tenant_iso.audit() and tenant_iso.verify(): the compliance report covers every table,
-- including tables damaged or created under tenant_iso.unsafe_ddl, agrees with the
-- invariants the DDL guard enforces (_table_violations), and reports the side doors:
-- keys, views, materialized views, security-definer functions, sequences, indexes,
-- exemptions, foreign tables and roles that bypass row level security.
BEGIN;
SELECT plan(67);

-- The DETAIL of the error a statement raises.
CREATE FUNCTION pg_temp.detail(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE d text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN d;
END
$f$;

------------------------------------------------------------------------------
-- The fixture database is clean
------------------------------------------------------------------------------
SELECT lives_ok('SELECT tenant_iso.verify()', 'verify() returns quietly on the fixture database');
CREATE TEMP TABLE a0 AS SELECT * FROM tenant_iso.audit();
SELECT is_empty($$SELECT * FROM a0 WHERE status NOT IN ('ok', 'warning') OR status IS NULL$$,
                'no violation on the fixture database, and every status is ok or warning');
SELECT results_eq(
    $$SELECT relation::text, count(*), bool_and(status = 'ok') FROM a0 WHERE relation IS NOT NULL GROUP BY 1 ORDER BY 1$$,
    $$VALUES ('assets', 21::bigint, true), ('courses', 21, true), ('enrollments', 21, true), ('lessons', 21, true), ('users', 21, true)$$,
    'each fixture table gets an ok row for each of its 21 checks');
SELECT results_eq(
    $$SELECT check_name FROM a0 WHERE relation = 'users'::regclass$$,
    ARRAY['organization_id_column', 'organization_id_type', 'organization_id_not_null', 'row_level_security',
          'tenant_isolation_policy', 'tenant_index', 'stamping_trigger',
          'unique_key_without_tenant', 'foreign_key_without_tenant', 'index_leading_column', 'sequence_columns',
          'trigger_search_path', 'expression_index_statistics', 'unsafe_expression', 'exclusion_without_tenant_equality',
          'temporary_dependency', 'rule', 'child_not_tenant_table', 'partial_index_predicate', 'orphan_rows',
          'row_expressions'],
    'the per-table checks, in order') ;
SELECT ok((SELECT count(*) FROM a0 WHERE check_name = 'role_bypasses_rls' AND status = 'warning'
            AND detail LIKE 'Role postgres is a superuser: row level security does not apply to it%') = 1,
          'the bootstrap superuser is listed as a role that bypasses row level security');

-- anyone may run the audit: it reads catalog facts only
GRANT SELECT ON a0 TO ti_app;
SET ROLE ti_app;
SELECT lives_ok('SELECT tenant_iso.verify()', 'the application role may run verify() (no tenant needed)');
SELECT is((SELECT count(*) FROM tenant_iso.audit()), (SELECT count(*) FROM a0), 'and sees the same report');
RESET ROLE;

------------------------------------------------------------------------------
-- Damage and side doors, made by a superuser under tenant_iso.unsafe_ddl
------------------------------------------------------------------------------
SET client_min_messages = error;
SET tenant_iso.unsafe_ddl = on;
-- plain tables the schema check did not see
CREATE TABLE plain (id int, name text);
CREATE TABLE textorg (id uuid PRIMARY KEY, organization_id text);
-- a tenant table, set up and then damaged
RESET tenant_iso.unsafe_ddl;
CREATE TABLE damaged (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    email           text NOT NULL,
    course_id       uuid
);
CREATE TABLE counted (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    n               bigserial,
    m               int GENERATED ALWAYS AS IDENTITY,
    ref             uuid
);
CREATE INDEX ON counted (ref);                      -- a single uuid column: fine
CREATE DOMAIN org_ref AS uuid;
CREATE TABLE domain_org (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id org_ref NOT NULL);
CREATE TABLE late_org (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), a text, other uuid, organization_id uuid NOT NULL);
CREATE TABLE retargeted (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), other uuid, organization_id uuid NOT NULL);
CREATE TABLE slots (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, room int NOT NULL);
SET tenant_iso.unsafe_ddl = on;
ALTER TABLE slots ADD EXCLUDE (room WITH =);
ALTER POLICY tenant_isolation ON retargeted USING (other = tenant_iso.current_org_id())
    WITH CHECK (other = tenant_iso.current_org_id());
ALTER TABLE damaged ADD UNIQUE (email);
ALTER TABLE damaged ADD FOREIGN KEY (course_id) REFERENCES courses (id);
CREATE INDEX damaged_email_idx ON damaged (email);
ALTER TABLE damaged NO FORCE ROW LEVEL SECURITY;
ALTER POLICY tenant_isolation ON damaged USING (true);
DROP TRIGGER tenant_iso_stamp ON damaged;
-- with the stamping trigger gone, nothing guards the registry: a row of an unregistered organization
INSERT INTO damaged (organization_id, email) VALUES ('0c000000-0000-4000-8000-0000000000c0', 'orphan@nowhere.test');
-- views and a materialized view over tenant tables
CREATE VIEW v_owner AS SELECT * FROM courses;
CREATE VIEW v_nested WITH (security_invoker = true) AS SELECT * FROM v_owner;
CREATE VIEW v_owner2 AS SELECT title FROM v_nested;
CREATE VIEW v_plain AS SELECT 1 AS one;
CREATE MATERIALIZED VIEW mv AS SELECT * FROM lessons WITH NO DATA;
RESET tenant_iso.unsafe_ddl;
CREATE VIEW v_auto AS SELECT * FROM users;          -- the schema check sets security_invoker
-- security-definer functions
CREATE FUNCTION all_courses() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM public."courses" c JOIN Lessons l ON l.course_id = c.id $$;
CREATE FUNCTION owner_courses() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM public.courses $$;
ALTER FUNCTION owner_courses() OWNER TO ti_owner;
CREATE FUNCTION no_tables() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 42 $$;
CREATE ROLE ti_audit_bypass NOLOGIN BYPASSRLS;
CREATE FUNCTION bypass_users() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    AS $$ BEGIN RETURN (SELECT count(*) FROM users); END $$;
ALTER FUNCTION bypass_users() OWNER TO ti_audit_bypass;
GRANT ti_audit_bypass TO ti_other;
-- exemptions and a foreign table
DO $$ BEGIN PERFORM tenant_iso.exempt_table('public.plans', 'plans are the same for every organization'); END $$;
CREATE TABLE plans (code text PRIMARY KEY, price numeric);
DO $$ BEGIN PERFORM tenant_iso.exempt_table('public.not_yet', 'created by a later migration'); END $$;
CREATE SCHEMA ref;
DO $$ BEGIN PERFORM tenant_iso.exempt_schema('ref', 'reference data'); END $$;
SET tenant_iso.unsafe_ddl = on;       -- the schema check refuses such a reference
CREATE TABLE ref.countries (code text PRIMARY KEY, user_id uuid REFERENCES users (id));
RESET tenant_iso.unsafe_ddl;
CREATE FOREIGN DATA WRAPPER audit_fdw;
CREATE SERVER audit_srv FOREIGN DATA WRAPPER audit_fdw;
CREATE FOREIGN TABLE remote_things (id int) SERVER audit_srv;
CREATE FOREIGN TABLE ref.remote_codes (code text) SERVER audit_srv;
RESET client_min_messages;

CREATE TEMP TABLE a1 AS SELECT * FROM tenant_iso.audit() WITH ORDINALITY AS x(relation, check_name, status, detail, nr);
CREATE FUNCTION pg_temp.st(rel text, chk text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(status, ',') FROM a1 WHERE relation IS NOT DISTINCT FROM rel::regclass AND check_name = chk $$;

-- plain tables: the invariants they miss, and the ones that need the column are not reported without it
SELECT results_eq($$SELECT check_name, status FROM a1 WHERE relation = 'plain'::regclass ORDER BY nr$$,
    $$VALUES ('organization_id_column', 'violation'), ('row_level_security', 'violation'),
             ('tenant_isolation_policy', 'violation'), ('stamping_trigger', 'violation')$$,
    'a plain table without organization_id: column, row level security, policy and trigger are reported');
SELECT results_eq($$SELECT check_name FROM a1 WHERE relation = 'textorg'::regclass AND status = 'violation' ORDER BY nr$$,
    ARRAY['organization_id_type', 'organization_id_not_null', 'row_level_security', 'tenant_isolation_policy',
          'tenant_index', 'stamping_trigger'],
    'a table with a nullable text organization_id: every invariant it misses');
SELECT is(pg_temp.st('textorg', 'organization_id_column'), 'ok', 'and an ok row for the column it has');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'textorg'::regclass AND check_name = 'organization_id_type'),
               '^Column "organization_id" is of type text, not uuid\. Keep the column of type uuid\.$', 'the detail says what and how to fix');

-- the damaged tenant table
SELECT is(pg_temp.st('damaged', 'row_level_security'), 'violation', 'NO FORCE ROW LEVEL SECURITY is a violation');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'damaged'::regclass AND check_name = 'row_level_security'),
               'enabled but not forced', 'and the detail says it is not forced');
SELECT is(pg_temp.st('damaged', 'tenant_isolation_policy'), 'violation', 'an altered tenant_isolation policy is a violation');
SELECT is(pg_temp.st('damaged', 'stamping_trigger'), 'violation', 'a dropped stamping trigger is a violation');
SELECT is(pg_temp.st('damaged', 'orphan_rows') || ' ' || (SELECT detail FROM a1 WHERE relation = 'damaged'::regclass AND check_name = 'orphan_rows'),
          'violation Rows belong to organizations that are not registered (1 id: 0c000000-0000-4000-8000-0000000000c0). Delete those rows, or register the organizations with tenant_iso.create_organization(name, id).',
          'a row of an unregistered organization (written with the stamping trigger dropped) is a violation, naming the id');
SELECT is(pg_temp.st('damaged', 'tenant_index'), 'ok', 'its tenant index is still there');
SELECT is(pg_temp.st('retargeted', 'tenant_isolation_policy'), 'violation',
          'a policy rewritten to compare another uuid column is a violation');
SELECT is(pg_temp.st('late_org', 'tenant_isolation_policy'), 'ok', 'the generated policy on a later organization_id column is ok');
SELECT is(pg_temp.st('domain_org', 'tenant_isolation_policy'), 'ok', 'the generated policy on a domain-typed organization_id is ok');
SELECT is(pg_temp.st('domain_org', 'organization_id_type'), 'ok', 'a domain over uuid is a uuid');
SELECT is(pg_temp.st('damaged', 'unique_key_without_tenant'), 'violation', 'a global UNIQUE (email) is a violation');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'damaged'::regclass AND check_name = 'unique_key_without_tenant'),
               '^Unique key damaged_email_key on \(email\) does not include "organization_id"', 'naming the key and its columns');
SELECT is(pg_temp.st('slots', 'unique_key_without_tenant'), 'violation', 'so is an exclusion constraint without organization_id');
SELECT is(pg_temp.st('damaged', 'foreign_key_without_tenant'), 'violation', 'a single-column reference to a tenant table is a violation');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'damaged'::regclass AND check_name = 'foreign_key_without_tenant'),
               '^Foreign key damaged_course_id_fkey \(to public\.courses\)', 'naming the key and the table it references');
SELECT is(pg_temp.st('damaged', 'index_leading_column'), 'warning', 'indexes not leading with organization_id are a warning');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'damaged'::regclass AND check_name = 'index_leading_column'),
               '^Index damaged_email_idx, damaged_email_key does not lead', 'naming each index');

-- the audit agrees with the invariants the guard enforces, table by table
SELECT set_eq(
    $$SELECT relation, check_name FROM a1 WHERE status = 'violation'
        AND check_name IN ('organization_id_column', 'organization_id_type', 'organization_id_not_null', 'row_level_security',
                           'tenant_isolation_policy', 'tenant_index', 'stamping_trigger',
                           'unique_key_without_tenant', 'foreign_key_without_tenant')$$,
    $$SELECT DISTINCT c.oid::regclass, v.check_name
      FROM pg_class c, tenant_iso._table_violations(c.oid) v
      WHERE c.oid IN (SELECT relation FROM a1 WHERE check_name = 'organization_id_column')$$,
    'audit() and _table_violations() find the same violations on every table');
SELECT is((SELECT count(*) FROM tenant_iso._invariant_checks(ARRAY['users'::regclass::oid, 'damaged'::regclass::oid]) WHERE NOT passed),
          (SELECT count(*) FROM a1 WHERE relation IN ('users'::regclass, 'damaged'::regclass) AND status = 'violation'
             AND check_name NOT IN ('index_leading_column', 'sequence_columns')),
          '_invariant_checks() for a list of tables gives the audit''s invariant rows');

-- sequences
SELECT is(pg_temp.st('counted', 'sequence_columns'), 'warning', 'serial and identity columns are a warning');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'counted'::regclass AND check_name = 'sequence_columns'),
               '^Column m \(identity, public\.counted_m_seq\), n \(sequence, public\.counted_n_seq\): a sequence is shared by all tenants',
               'naming each column, how and which sequence');
SELECT is(pg_temp.st('counted', 'index_leading_column'), 'ok', 'an index on a single uuid column is fine');
SELECT is(pg_temp.st('users', 'sequence_columns'), 'ok', 'uuid keys draw no sequence warning');

-- views
SELECT is(pg_temp.st('v_owner', 'view_security_invoker'), 'violation', 'a view over a tenant table without security_invoker is a violation');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'v_owner'::regclass AND check_name = 'view_security_invoker'),
               'owner postgres, not of its caller\. Set ALTER VIEW public\.v_owner SET \(security_invoker = true\)', 'the detail names the owner and the fix');
SELECT is(pg_temp.st('v_nested', 'view_security_invoker'), 'ok', 'a security_invoker view is ok');
SELECT is(pg_temp.st('v_owner2', 'view_security_invoker'), 'violation', 'a view reading tenant tables through other views is found too');
SELECT is(pg_temp.st('v_auto', 'view_security_invoker'), 'ok', 'a view the schema check fixed is ok');
SELECT is_empty($$SELECT * FROM a1 WHERE relation = 'v_plain'::regclass$$, 'a view that reads no tenant table is not reported');
SELECT is(pg_temp.st('mv', 'materialized_view'), 'violation', 'a materialized view over a tenant table is a violation');

-- security-definer functions
SELECT is((SELECT status || ' ' || relation::text FROM a1 WHERE check_name = 'security_definer_function' AND detail LIKE 'Function public.all_courses()%'),
          'warning courses', 'a superuser''s SECURITY DEFINER function naming tenant tables is a warning on the first of them');
SELECT matches((SELECT detail FROM a1 WHERE check_name = 'security_definer_function' AND detail LIKE 'Function public.all_courses()%'),
               'owned by postgres, which is a superuser; its source mentions tenant tables public\.courses, public\.lessons \(a match of names',
               'naming the owner and every table it mentions, quoted or in another case, and saying it is heuristic');
SELECT is((SELECT status || ' ' || relation::text FROM a1 WHERE check_name = 'security_definer_function' AND detail LIKE 'Function public.bypass_users()%'),
          'warning users', 'so is one owned by a BYPASSRLS role');
SELECT is((SELECT count(*) FROM a1 WHERE check_name = 'security_definer_function'
            AND (detail LIKE 'Function public.owner_courses()%' OR detail LIKE 'Function public.no_tables()%')), 0::bigint,
          'functions owned by a role bound by row level security, or naming no tenant table, are not reported');

-- exemptions, foreign tables, roles
SELECT is(pg_temp.st('plans', 'exemption'), 'warning', 'an exempt table is listed for review');
SELECT matches((SELECT detail FROM a1 WHERE relation = 'plans'::regclass AND check_name = 'exemption'),
               '^Global table \(exempt table\): plans are the same for every organization \(exempted by postgres on ',
               'with its reason and who exempted it');
SELECT is_empty($$SELECT * FROM a1 WHERE relation = 'plans'::regclass AND check_name <> 'exemption'$$, 'an exempt table gets no other check');
SELECT ok(EXISTS (SELECT 1 FROM a1 WHERE relation IS NULL AND check_name = 'exemption' AND status = 'warning'
                   AND detail LIKE 'Schema ref is exempt: reference data%'), 'an exempt schema is listed with its reason');
SELECT ok(EXISTS (SELECT 1 FROM a1 WHERE relation IS NULL AND check_name = 'exemption'
                   AND detail LIKE 'Table public.not_yet (not created yet) is exempt: created by a later migration%'),
          'an exemption for a table not created yet is listed');
SELECT is(pg_temp.st('ref.countries', 'exemption'), 'warning', 'a table of an exempt schema is listed');
SELECT is(pg_temp.st('ref.countries', 'foreign_key_into_tenant_table'), 'violation',
          'a global table referencing a tenant table is a violation (an existence oracle for every tenant)');
SELECT is(pg_temp.st('remote_things', 'foreign_table'), 'violation', 'a foreign table outside exempt schemas is a violation');
SELECT is(pg_temp.st('ref.remote_codes', 'exemption'), 'warning', 'an exempt foreign table is only listed');
SELECT ok(EXISTS (SELECT 1 FROM a1 WHERE relation IS NULL AND check_name = 'role_bypasses_rls' AND status = 'warning'
                   AND detail LIKE 'Role ti_audit_bypass has BYPASSRLS%'), 'a BYPASSRLS role is listed');
SELECT ok(EXISTS (SELECT 1 FROM a1 WHERE relation IS NULL AND check_name = 'role_bypasses_rls' AND status = 'warning'
                   AND detail LIKE 'Role ti_other is a member of ti_audit_bypass, which has BYPASSRLS: it can SET ROLE ti_audit_bypass%'),
          'and so is a role that can become it');
SELECT is_empty($$SELECT * FROM a1 WHERE check_name = 'role_bypasses_rls' AND detail LIKE 'Role ti_app %'$$,
                'the application role is not listed');
SELECT is((SELECT count(*) FROM a1 WHERE relation::text LIKE 'tenant_iso.%' OR relation::text LIKE 'pg_catalog.%'), 0::bigint,
          'the extension''s own tables and system catalogs are not audited');

------------------------------------------------------------------------------
-- verify(): one error listing every violation
------------------------------------------------------------------------------
SELECT throws_ok('SELECT tenant_iso.verify()', 'TI004',
                 format('tenant isolation audit found %s violations', (SELECT count(*) FROM a1 WHERE status = 'violation')),
                 'verify() raises TI004 with the number of violations');
CREATE TEMP TABLE e2 AS SELECT string_to_array(pg_temp.detail('SELECT tenant_iso.verify()'), E'\n') AS lines;
SELECT is((SELECT cardinality(lines) FROM e2), (SELECT count(*)::int FROM a1 WHERE status = 'violation'),
          'its detail has one line per violation');
SELECT ok(text 'public.damaged: unique_key_without_tenant: Unique key damaged_email_key on (email) does not include "organization_id": its duplicate-key error tells one tenant that a value exists at another. Include organization_id in the key, e.g. UNIQUE (organization_id, email); a key of a single uuid column is fine (a random id cannot be guessed).'
          = ANY ((SELECT lines FROM e2)::text[]), 'each line is "table: check: detail"');
SELECT ok(NOT EXISTS (SELECT 1 FROM e2, unnest(lines) l WHERE l LIKE '%warning%' OR l LIKE '%sequence_columns%'),
          'warnings do not make verify() fail');
SET ROLE ti_app;
SELECT throws_ok('SELECT tenant_iso.verify()', 'TI004', NULL, 'the application role gets the same verdict');
RESET ROLE;

-- fixing the violations one by one makes verify() pass again
SET client_min_messages = error;
DROP TABLE plain, textorg, damaged, retargeted, slots;
ALTER VIEW v_owner SET (security_invoker = true);
ALTER VIEW v_owner2 SET (security_invoker = true);
DROP MATERIALIZED VIEW mv;
ALTER TABLE ref.countries DROP CONSTRAINT countries_user_id_fkey;
DROP FOREIGN TABLE remote_things;
RESET client_min_messages;
SELECT lives_ok('SELECT tenant_iso.verify()', 'once fixed, verify() passes (warnings remain)');
SELECT is((SELECT count(*) FROM tenant_iso.audit() WHERE status = 'warning' AND check_name IN ('sequence_columns', 'security_definer_function', 'exemption')) > 0,
          true, 'and the warnings are still reported');

-- check 30 (warning): what DDL evaluates over every organization's rows, listed for review
SET ROLE ti_owner;
CREATE DOMAIN public.short_code AS text CHECK (length(VALUE) < 10);
CREATE TABLE exprs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL,
                    UNIQUE (organization_id, id), title text NOT NULL, code public.short_code,
                    CONSTRAINT title_numeric CHECK (title::numeric > 0),
                    upper_title text GENERATED ALWAYS AS (upper(title)) STORED);
CREATE INDEX exprs_lower ON exprs (organization_id, lower(title));
RESET ROLE;
SELECT is((SELECT status || ': ' || detail FROM tenant_iso.audit() WHERE relation = 'exprs'::regclass AND check_name = 'row_expressions'),
          'warning: column code of domain public.short_code, index exprs_lower, CHECK constraint title_numeric, generated column upper_title are evaluated over every organization''s rows when created, validated or rewritten: an error raised there (a failed cast, for example) can show one stored value to the role running that DDL.',
          'row_expressions: a warning naming the domain column, the expression index, the CHECK constraint and the generated column');
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'courses'::regclass AND check_name = 'row_expressions'), 'ok',
          'row_expressions: ok for a table without such expressions');

SELECT * FROM finish();
ROLLBACK;
