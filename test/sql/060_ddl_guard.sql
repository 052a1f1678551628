-- The DDL guard: once a table is a tenant table, statements that would break its isolation are
-- refused (42P16 unless PostgreSQL refuses first) and leave the table unchanged; harmless DDL keeps
-- working; a superuser's SET tenant_iso.unsafe_ddl = on opens an escape hatch with a WARNING;
-- TRUNCATE by roles subject to row level security and CREATE RULE on tenant tables are refused.
-- Attacker: ti_owner, the owner of the tables (it may ALTER them), and ti_app where it applies.

-- The WARNING of the escape hatch, captured from a separate session (pgTAP cannot catch warnings).
-- Runs before BEGIN so that it cannot wait for this session's locks; it rolls back.
\set unsafe_warning `psql -X -q -d :DBNAME -c 'SET tenant_iso.unsafe_ddl = on' -c 'BEGIN' -c 'ALTER TABLE assets NO FORCE ROW LEVEL SECURITY' -c 'ROLLBACK' 2>&1`

BEGIN;
SELECT plan(74);

-- A fingerprint of everything the guard protects (and more): columns, row level security flags,
-- policies, triggers, constraints, indexes, inheritance.
CREATE FUNCTION pg_temp.fingerprint(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum)
           FROM pg_attribute WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped),
        (SELECT 'rls ' || relrowsecurity || ' force ' || relforcerowsecurity FROM pg_class WHERE oid = rel),
        (SELECT string_agg(polname || ' ' || polpermissive || ' ' || polcmd::text || ' ' || polroles::text || ' ' ||
                           coalesce(pg_get_expr(polqual, polrelid), '-') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '-'), '; ' ORDER BY polname)
           FROM pg_policy WHERE polrelid = rel),
        (SELECT string_agg(tgname || ' ' || tgenabled::text || ' ' || tgtype || ' ' || tgfoid::regproc::text, '; ' ORDER BY tgname)
           FROM pg_trigger WHERE tgrelid = rel AND NOT tgisinternal),
        (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), '; ' ORDER BY conname)
           FROM pg_constraint WHERE conrelid = rel),
        (SELECT string_agg(pg_get_indexdef(indexrelid), '; ' ORDER BY indexrelid::regclass::text)
           FROM pg_index WHERE indrelid = rel),
        (SELECT string_agg(inhparent::regclass::text, ', ') FROM pg_inherits WHERE inhrelid = rel))
$$;
\ir include/violations.sql

SELECT pg_temp.fingerprint('assets') AS fp_assets, pg_temp.fingerprint('courses') AS fp_courses,
       pg_temp.fingerprint('lessons') AS fp_lessons \gset

------------------------------------------------------------------------------
-- refused: every way of weakening the tenant boundary, as the table owner
------------------------------------------------------------------------------
SET ROLE ti_owner;
-- organization_id
SELECT throws_ok('ALTER TABLE assets DROP COLUMN organization_id CASCADE', '42P16',
                 'statement would break tenant isolation of table public.assets',
                 'DROP COLUMN organization_id CASCADE is refused (42P16)');
SELECT throws_ok('ALTER TABLE courses DROP COLUMN organization_id CASCADE', '42P16', NULL,
                 'DROP COLUMN organization_id CASCADE on a referenced table is refused');
SELECT throws_ok('ALTER TABLE assets RENAME COLUMN organization_id TO org_id', '42P16', NULL,
                 'RENAME COLUMN organization_id is refused');
SELECT throws_ok('ALTER TABLE assets ALTER COLUMN organization_id TYPE text', NULL, NULL,
                 'ALTER COLUMN organization_id TYPE text is refused (PostgreSQL refuses first: the policy uses the column)');
SELECT throws_ok('ALTER TABLE assets ALTER COLUMN organization_id DROP NOT NULL', '42P16', NULL,
                 'ALTER COLUMN organization_id DROP NOT NULL is refused');
-- row level security
SELECT throws_ok('ALTER TABLE assets DISABLE ROW LEVEL SECURITY', '42P16', NULL, 'DISABLE ROW LEVEL SECURITY is refused');
SELECT throws_ok('ALTER TABLE assets NO FORCE ROW LEVEL SECURITY', '42P16', NULL, 'NO FORCE ROW LEVEL SECURITY is refused');
SELECT throws_ok('ALTER TABLE assets ADD COLUMN sneaky int, NO FORCE ROW LEVEL SECURITY', '42P16', NULL,
                 'a harmless subcommand does not carry a harmful one (ADD COLUMN, NO FORCE ...)');
-- the tenant_isolation policy
SELECT throws_ok('DROP POLICY tenant_isolation ON assets', '42P16', NULL, 'DROP POLICY tenant_isolation is refused');
SELECT throws_ok('ALTER POLICY tenant_isolation ON assets USING (true)', '42P16', NULL, 'ALTER POLICY tenant_isolation USING (true) is refused');
SELECT throws_ok('ALTER POLICY tenant_isolation ON assets WITH CHECK (true)', '42P16', NULL, 'ALTER POLICY tenant_isolation WITH CHECK (true) is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON assets USING (organization_id = tenant_iso.current_org_id() OR url LIKE '%')$$, '42P16', NULL,
                 'ALTER POLICY tenant_isolation with a widened USING is refused');
SELECT throws_ok('ALTER POLICY tenant_isolation ON assets TO ti_other', '42P16', NULL, 'ALTER POLICY tenant_isolation TO one role is refused');
SELECT throws_ok('ALTER POLICY tenant_isolation ON assets RENAME TO old_isolation', '42P16', NULL, 'renaming tenant_isolation is refused');
-- the registry (its rows are what every tenant row is written for)
SELECT throws_ok($$DELETE FROM tenant_iso.organizations$$, '42501', NULL, 'the owner cannot delete organizations');
-- the organization_id-leading index
SELECT throws_ok('ALTER TABLE assets DROP CONSTRAINT assets_organization_id_id_key', '42P16', NULL,
                 'dropping the only organization_id-leading key of assets is refused');
-- the stamping trigger
SELECT throws_ok('ALTER TABLE assets DISABLE TRIGGER tenant_iso_stamp', '42P16', NULL, 'DISABLE TRIGGER tenant_iso_stamp is refused');
SELECT throws_ok('ALTER TABLE assets DISABLE TRIGGER USER', '42P16', NULL, 'DISABLE TRIGGER USER is refused');
SELECT throws_ok('ALTER TABLE assets DISABLE TRIGGER ALL', NULL, NULL, 'DISABLE TRIGGER ALL is refused');
SELECT throws_ok('ALTER TABLE assets ENABLE REPLICA TRIGGER tenant_iso_stamp', '42P16', NULL,
                 'ENABLE REPLICA TRIGGER tenant_iso_stamp (fires only on replicas) is refused');
SELECT throws_ok('DROP TRIGGER tenant_iso_stamp ON assets', '42P16', NULL, 'DROP TRIGGER tenant_iso_stamp is refused');
SELECT throws_ok('ALTER TRIGGER tenant_iso_stamp ON assets RENAME TO stamp', '42P16', NULL, 'renaming tenant_iso_stamp is refused');
-- rules
SELECT throws_ok('CREATE RULE no_delete AS ON DELETE TO assets DO INSTEAD NOTHING', '0A000',
                 'cannot create rule "no_delete" on tenant table public.assets', 'CREATE RULE on a tenant table is refused (0A000)');
SELECT throws_ok($$CREATE RULE copy_out AS ON INSERT TO assets DO ALSO INSERT INTO courses (organization_id, title) VALUES (NEW.organization_id, NEW.url)$$,
                 '0A000', NULL, 'CREATE RULE ... DO ALSO on a tenant table is refused');

RESET ROLE;
SELECT is(pg_temp.fingerprint('assets'), :'fp_assets', 'assets is unchanged after every refused statement');
SELECT is(pg_temp.fingerprint('courses'), :'fp_courses', 'courses is unchanged');
SELECT is(pg_temp.fingerprint('lessons'), :'fp_lessons', 'lessons (whose foreign key a CASCADE would have dropped) is unchanged');
SELECT is(pg_temp.violations('assets'), '', 'assets passes every check');
SELECT is((SELECT count(*) FROM pg_rewrite WHERE ev_class = 'assets'::regclass), 0::bigint, 'assets has no rule');

-- the same refusals bind a superuser without the escape hatch
SELECT throws_ok('ALTER TABLE assets DISABLE ROW LEVEL SECURITY', '42P16', NULL, 'a superuser without unsafe_ddl is refused too');
SELECT throws_ok($$DELETE FROM tenant_iso.organizations WHERE id = '0a000000-0000-4000-8000-00000000000a'$$,
                 '42501', 'cannot delete rows of tenant_iso.organizations directly',
                 'a superuser''s direct DELETE of a registry row is refused: its tenant rows would stay (drop_organization() removes both)');
SELECT throws_ok($$UPDATE tenant_iso.organizations SET id = gen_random_uuid() WHERE id = '0a000000-0000-4000-8000-00000000000a'$$,
                 '0A000', 'the id of an organization cannot change', 'changing an organization''s id is refused');
SELECT throws_ok($$TRUNCATE tenant_iso.organizations$$, '42501', NULL, 'TRUNCATE of the registry is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON assets USING (organization_id = (SELECT tenant_iso.current_org_id()) OR true)$$,
                 '42P16', NULL, 'a superuser cannot widen tenant_isolation either');
SELECT is(pg_temp.fingerprint('assets'), :'fp_assets', 'assets is unchanged after the superuser''s attempts');

------------------------------------------------------------------------------
-- the last organization_id-leading index
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE TABLE t_idx (organization_id uuid NOT NULL, x int);
SELECT is((SELECT count(*) FROM pg_index WHERE indrelid = 't_idx'::regclass), 1::bigint, 'sanity: t_idx has one (generated) index');
SELECT (SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 't_idx'::regclass) AS t_idx_index \gset
SELECT throws_ok(format('DROP INDEX %s', :'t_idx_index'), '42P16',
                 format('cannot drop the last index of tenant table public.t_idx that leads with "organization_id"'),
                 'dropping the last organization_id-leading index is refused');
SELECT isnt(to_regclass(:'t_idx_index'), NULL, 'and the index is still there');
CREATE INDEX t_idx_org_x ON t_idx (organization_id, x);
SELECT throws_ok(format('DROP INDEX %s, t_idx_org_x', :'t_idx_index'), '42P16', NULL,
                 'dropping every organization_id-leading index in one statement is refused');
SELECT lives_ok(format('DROP INDEX %s', :'t_idx_index'), 'dropping one when another organization_id-leading index exists is allowed');
SELECT throws_ok('DROP INDEX t_idx_org_x', '42P16', NULL, 'and then the remaining one cannot be dropped');
SELECT throws_ok('CREATE INDEX t_idx_counting ON t_idx (organization_id) WHERE x > 0', '42P16', NULL,
                 'a partial index whose predicate compares a column with a value is refused (its row count would count every tenant''s matches)');
SELECT lives_ok('CREATE INDEX t_idx_partial ON t_idx (organization_id) WHERE x IS NOT NULL',
                'a partial index on IS [NOT] NULL tests is accepted');
SELECT throws_ok('DROP INDEX t_idx_org_x', '42P16', NULL, 'a partial index does not count as the organization_id-leading index');

------------------------------------------------------------------------------
-- allowed: harmless DDL, and policies that narrow
------------------------------------------------------------------------------
SELECT lives_ok('ALTER TABLE assets ADD COLUMN checksum text', 'ALTER TABLE ... ADD COLUMN works');
SELECT lives_ok('ALTER TABLE assets ALTER COLUMN bytes TYPE numeric', 'ALTER TABLE ... ALTER COLUMN (another column) TYPE works');
SELECT lives_ok('ALTER TABLE assets RENAME COLUMN checksum TO sha256', 'renaming another column works');
SELECT lives_ok('CREATE INDEX assets_org_url ON assets (organization_id, url)', 'CREATE INDEX leading with organization_id works');
SELECT lives_ok('ALTER TABLE assets ENABLE ALWAYS TRIGGER tenant_iso_stamp', 'ENABLE ALWAYS TRIGGER tenant_iso_stamp (still fires) works');
SELECT lives_ok($$CREATE POLICY see_everything ON assets AS PERMISSIVE FOR SELECT USING (true)$$,
                'the owner may add a permissive policy');
SELECT lives_ok('DROP POLICY tenant_access ON assets', 'the owner may drop the permissive tenant_access policy');
SELECT lives_ok($$CREATE POLICY cdn_only ON assets AS RESTRICTIVE USING (url LIKE 'https://cdn.%')$$,
                'the owner may add a restrictive policy');
RESET ROLE;
SELECT is(pg_temp.violations('assets'), '', 'assets still passes every check after the allowed DDL');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM assets), 2::bigint, 'a permissive USING (true) policy added by the owner does not widen the tenant boundary');
SELECT is((SELECT count(*) FROM assets WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 0::bigint,
          'B''s assets stay invisible to A');
RESET ROLE;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- a tenant table must not become the child of a non-tenant (exempt) table
------------------------------------------------------------------------------
CREATE SCHEMA shared AUTHORIZATION ti_owner;
INSERT INTO tenant_iso.exemptions (schema_name, table_name, reason) VALUES ('shared', NULL, 'shared lookup tables');
GRANT USAGE ON SCHEMA shared TO ti_app;
SET ROLE ti_owner;
CREATE TABLE shared.inh_parent (id uuid, organization_id uuid NOT NULL, lesson_id uuid NOT NULL, url text NOT NULL, bytes numeric NOT NULL);
GRANT SELECT ON shared.inh_parent TO ti_app;
SELECT throws_ok('ALTER TABLE assets INHERIT shared.inh_parent', NULL, NULL,
                 'ALTER TABLE tenant_table INHERIT exempt_parent is refused (the parent would show every tenant''s rows)');
CREATE TABLE shared.part_parent (LIKE users) PARTITION BY LIST (organization_id);
GRANT SELECT ON shared.part_parent TO ti_app;
SELECT throws_ok('ALTER TABLE shared.part_parent ATTACH PARTITION users DEFAULT', NULL, NULL,
                 'ATTACH PARTITION of a tenant table to an exempt parent is refused');
RESET ROLE;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM shared.inh_parent WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a'), 0::bigint,
          'A sees no other organization''s assets through an exempt inheritance parent');
SELECT is((SELECT count(*) FROM shared.part_parent WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a'), 0::bigint,
          'A sees no other organization''s users through an exempt partitioned parent');
RESET ROLE;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- the escape hatch: superuser only, with a WARNING
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT throws_ok('SET tenant_iso.unsafe_ddl = on', '42501', NULL, 'ti_owner cannot SET tenant_iso.unsafe_ddl (42501)');
SELECT throws_ok($$SELECT set_config('tenant_iso.unsafe_ddl', 'on', false)$$, '42501', NULL,
                 'ti_owner cannot set_config(''tenant_iso.unsafe_ddl'', ...) either');
RESET ROLE;
SET ROLE ti_app;
SELECT throws_ok('SET tenant_iso.unsafe_ddl = on', '42501', NULL, 'ti_app cannot SET tenant_iso.unsafe_ddl (42501)');
RESET ROLE;
SELECT matches(:'unsafe_warning'::text, 'WARNING:  tenant_iso\.unsafe_ddl is on: table public\.assets no longer passes check',
               'a superuser with unsafe_ddl = on gets a WARNING when breaking a table''s isolation');
SET tenant_iso.unsafe_ddl = on;
SELECT lives_ok('ALTER TABLE assets NO FORCE ROW LEVEL SECURITY', 'a superuser with unsafe_ddl = on can NO FORCE ROW LEVEL SECURITY');
SELECT ok(NOT (SELECT relforcerowsecurity FROM pg_class WHERE oid = 'assets'::regclass), 'and the change took effect');
SELECT lives_ok('ALTER TABLE assets FORCE ROW LEVEL SECURITY', 'and can restore it');
RESET tenant_iso.unsafe_ddl;
SELECT is(pg_temp.violations('assets'), '', 'after the restore assets passes every check again');

------------------------------------------------------------------------------
-- TRUNCATE ignores row level security: refused for roles it applies to
------------------------------------------------------------------------------
GRANT TRUNCATE ON assets TO ti_app;
SET ROLE ti_app;
SELECT throws_ok('TRUNCATE assets', '42501', 'cannot truncate tenant table public.assets', 'TRUNCATE by ti_app (even with the privilege) is refused (42501)');
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok('TRUNCATE assets', '42501', 'cannot truncate tenant table public.assets', 'TRUNCATE by the owner is refused (42501)');
SELECT throws_ok('TRUNCATE courses CASCADE', '42501', NULL, 'TRUNCATE ... CASCADE by the owner is refused');
SELECT throws_ok('TRUNCATE t_idx, assets', '42501', NULL, 'TRUNCATE of several tables by the owner is refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM assets), 4::bigint, 'every organization''s assets are still there');
SELECT lives_ok('TRUNCATE assets', 'TRUNCATE by a superuser is allowed');
SELECT is((SELECT count(*) FROM assets), 0::bigint, 'and empties the table');

SELECT * FROM finish();
ROLLBACK;
