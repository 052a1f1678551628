-- Red team, issue 16: the registry guard (src/registry.c, organizations.c, stamp.c, executor.c).
-- Every assertion states the SAFE behaviour: a failing assertion is a hole.
-- Attackers: the application role ti_app, the table owner ti_owner, the provisioning role ti_prov
-- (and, for the "refused to superusers too" claims, the superuser running this file).
-- Not wrapped in one transaction: some attacks need their own transactions (ROLLBACK, REPEATABLE
-- READ) and a second session (dblink, as ti_prov).  The database is thrown away afterwards.
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;
CREATE EXTENSION dblink;
SELECT plan(24);
\ir include/error_of.sql
-- rows of tenant tables whose organization is not registered (superuser view)
CREATE FUNCTION pg_temp.orphans(rel regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s t WHERE NOT EXISTS (SELECT 1 FROM tenant_iso.organizations o WHERE o.id = t.organization_id)', rel)
        INTO n;
    RETURN n;
END $$;
-- a second session, as the provisioning role
SELECT dblink_connect('prov', format('host=127.0.0.1 port=%s dbname=%s user=ti_prov', current_setting('port'), current_database()));

------------------------------------------------------------------------------
-- H1: the known-registered cache remembers an organization whose create_organization() rolled back
------------------------------------------------------------------------------
-- An administrator's (or a sign-up flow's) transaction registers E, writes its first row, fails and
-- rolls back.  Later in the same backend (a pooled connection), the application writes for E.
BEGIN;
SELECT tenant_iso.create_organization('Ephemeral', '0e000000-0000-4000-8000-00000000000e');
SET LOCAL tenant.org_id = '0e000000-0000-4000-8000-00000000000e';
INSERT INTO courses (title) VALUES ('sign-up row');
ROLLBACK;
SET tenant.org_id = '0e000000-0000-4000-8000-00000000000e';
SET ROLE ti_app;
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('orphan after rolled-back create')$$, '23503', NULL,
                 'H1: ti_app cannot write for an organization whose create_organization() rolled back (same backend)');
RESET ROLE;
RESET tenant.org_id;
-- the same inside one transaction: a savepoint rolled back, as the provisioning role
GRANT SELECT, INSERT ON courses TO ti_prov;
SET ROLE ti_prov;
SET tenant.org_id = '0d000000-0000-4000-8000-00000000000d';
BEGIN;
SAVEPOINT s;
SELECT tenant_iso.create_organization('Savepoint Org', '0d000000-0000-4000-8000-00000000000d');
INSERT INTO courses (title) VALUES ('inside the savepoint');
ROLLBACK TO SAVEPOINT s;
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('orphan after savepoint rollback')$$, '23503', NULL,
                 'H1b: after ROLLBACK TO SAVEPOINT of create_organization(), no row may be written for it');
COMMIT;
RESET tenant.org_id;
RESET ROLE;
SELECT is(pg_temp.orphans('courses'), 0::bigint, 'H1: no row of courses belongs to an unregistered organization');
DELETE FROM courses WHERE organization_id IN ('0e000000-0000-4000-8000-00000000000e', '0d000000-0000-4000-8000-00000000000d');

------------------------------------------------------------------------------
-- H2: the table owner keeps an organization's rows through drop_organization()
------------------------------------------------------------------------------
SELECT tenant_iso.create_organization('Victim', '0c000000-0000-4000-8000-00000000000c');
SET tenant.org_id = '0c000000-0000-4000-8000-00000000000c';
SET ROLE ti_app;
INSERT INTO users (email, name) VALUES ('v@victim.test', 'V');
RESET ROLE;
RESET tenant.org_id;
SET ROLE ti_owner;
CREATE FUNCTION public.keep_rows() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER keep_rows BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION public.keep_rows();
RESET ROLE;
SELECT throws_ok($$SELECT * FROM dblink('prov', $q$SELECT tenant_iso.drop_organization('0c000000-0000-4000-8000-00000000000c')::text$q$) AS t(n text)$$,
                 '09000', NULL, 'H2: drop_organization() fails when a BEFORE DELETE trigger returning NULL keeps rows of the organization (09000)');
SELECT is((SELECT count(*) FROM users WHERE organization_id = '0c000000-0000-4000-8000-00000000000c')
          || '/' || (SELECT count(*) FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-00000000000c'), '1/1',
          'H2: ... and nothing was dropped: the row and the organization are still there (no orphan)');
SET ROLE ti_owner;
DROP TRIGGER keep_rows ON users;
RESET ROLE;
SELECT is((SELECT * FROM dblink('prov', $$SELECT tenant_iso.drop_organization('0c000000-0000-4000-8000-00000000000c')::text$$) AS t(n text)),
          '1', 'without the trigger, ti_prov drops the organization and its 1 row');

------------------------------------------------------------------------------
-- H3: any role's temporary table carrying a policy named tenant_isolation breaks drop_organization()
------------------------------------------------------------------------------
SELECT tenant_iso.create_organization('Victim 2', '0c000000-0000-4000-8000-0000000000c2');
SET ROLE ti_app;
CREATE TEMP TABLE blocker (organization_id uuid);
CREATE POLICY tenant_isolation ON pg_temp.blocker USING (true);
RESET ROLE;
SELECT lives_ok($$SELECT * FROM dblink('prov', 'SELECT tenant_iso.drop_organization(''0c000000-0000-4000-8000-0000000000c2'')::text') AS t(n text)$$,
                'H3: ti_app''s temporary table with a policy named tenant_isolation does not break drop_organization() in other sessions');
SET ROLE ti_app;
DROP TABLE pg_temp.blocker;
CREATE TEMP TABLE blocker2 (x int);
CREATE POLICY tenant_isolation ON pg_temp.blocker2 USING (true);
RESET ROLE;
SELECT tenant_iso.create_organization('Victim 3', '0c000000-0000-4000-8000-0000000000c3');
SELECT lives_ok($$SELECT * FROM dblink('prov', 'SELECT tenant_iso.drop_organization(''0c000000-0000-4000-8000-0000000000c3'')::text') AS t(n text)$$,
                'H3b: nor does one without an organization_id column');
SET ROLE ti_app;
DROP TABLE pg_temp.blocker2;
RESET ROLE;

------------------------------------------------------------------------------
-- H4: the registry refusal ("refused to superusers too") and a DELETE in a writable CTE
------------------------------------------------------------------------------
SELECT tenant_iso.create_organization('CTE victim', '0c000000-0000-4000-8000-0000000000c4');
SET tenant.org_id = '0c000000-0000-4000-8000-0000000000c4';
INSERT INTO courses (title) VALUES ('cte victim row');
RESET tenant.org_id;
SELECT throws_ok($$DELETE FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-0000000000c4'$$, '42501', NULL,
                 'held: a plain DELETE of a registry row is refused to the superuser');
SELECT throws_ok($$WITH d AS (DELETE FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-0000000000c4' RETURNING id) SELECT count(*) FROM d$$,
                 '42501', NULL, 'H4: a DELETE of the registry inside a writable CTE (top-level SELECT) is refused');
CREATE TEMP TABLE sink (id uuid);
SELECT throws_ok($$WITH d AS (DELETE FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-0000000000c4' RETURNING id) INSERT INTO sink SELECT id FROM d$$,
                 '42501', NULL, 'H4b: a DELETE of the registry inside a writable CTE (top-level INSERT) is refused');
SELECT is(pg_temp.orphans('courses'), 0::bigint, 'H4: no orphan rows in courses after the CTE attempts');
DELETE FROM courses WHERE organization_id = '0c000000-0000-4000-8000-0000000000c4';

------------------------------------------------------------------------------
-- held: other routes to the registry
------------------------------------------------------------------------------
CREATE VIEW pg_temp.reg AS SELECT * FROM tenant_iso.organizations;
SELECT throws_ok($$DELETE FROM pg_temp.reg WHERE id = '0b000000-0000-4000-8000-00000000000b'$$, '42501', NULL,
                 'held: DELETE through an auto-updatable view of the registry');
SELECT throws_ok($$MERGE INTO tenant_iso.organizations o USING (SELECT '0b000000-0000-4000-8000-00000000000b'::uuid AS id) s ON o.id = s.id WHEN MATCHED THEN DELETE$$,
                 '42501', NULL, 'held: MERGE ... DELETE on the registry');
SELECT throws_ok($$TRUNCATE tenant_iso.organizations CASCADE$$, '42501', NULL, 'held: TRUNCATE ... CASCADE of the registry');
SET ROLE ti_owner;
CREATE FUNCTION public.del_org(o uuid) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$ DELETE FROM tenant_iso.organizations WHERE id = o $$;
GRANT EXECUTE ON FUNCTION public.del_org(uuid) TO ti_app;
RESET ROLE;
SET ROLE ti_app;
SELECT throws_ok($$SELECT public.del_org('0b000000-0000-4000-8000-00000000000b')$$, '42501', NULL,
                 'held: a SECURITY DEFINER function of the owner cannot delete from the registry');
RESET ROLE;

------------------------------------------------------------------------------
-- held: drop_organization() and the owner's triggers
------------------------------------------------------------------------------
SELECT tenant_iso.create_organization('Victim 5', '0c000000-0000-4000-8000-0000000000c5');
SET tenant.org_id = '0c000000-0000-4000-8000-0000000000c5';
INSERT INTO courses (id, title) VALUES ('2c000000-0000-4000-8000-0000000000c5', 'c5');
RESET tenant.org_id;
SET ROLE ti_owner;
CREATE FUNCTION public.grab() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    DELETE FROM public.users;                                    -- every tenant's users?
    INSERT INTO public.lessons (course_id, title) VALUES (OLD.id, 'resurrected');   -- a row for the dropped org
    RETURN OLD;
END $$;
CREATE TRIGGER grab AFTER DELETE ON courses FOR EACH ROW EXECUTE FUNCTION public.grab();
RESET ROLE;
SELECT throws_ok($$SELECT * FROM dblink('prov', 'SELECT tenant_iso.drop_organization(''0c000000-0000-4000-8000-0000000000c5'')::text') AS t(n text)$$,
                 NULL, NULL, 'held: an owner trigger re-inserting a row for the organization being dropped fails the drop');
SELECT is((SELECT count(*) FROM users WHERE organization_id IN (:'A', :'B')), 4::bigint,
          'held: the owner''s trigger run by drop_organization() deletes no other tenant''s rows');
SET ROLE ti_owner;
DROP TRIGGER grab ON courses;
CREATE POLICY nodelete ON courses AS RESTRICTIVE FOR DELETE USING (false);
RESET ROLE;
SELECT * FROM dblink('prov', 'SELECT tenant_iso.drop_organization(''0c000000-0000-4000-8000-0000000000c5'')::text') AS t(n text);
SELECT is((SELECT count(*) FROM courses WHERE organization_id = '0c000000-0000-4000-8000-0000000000c5'), 0::bigint,
          'held: an owner''s restrictive policy FOR DELETE USING (false) does not keep rows through drop_organization()');
SET ROLE ti_owner;
DROP POLICY nodelete ON courses;
RESET ROLE;

------------------------------------------------------------------------------
-- H5: a REPEATABLE READ snapshot makes the rows check of SET SCHEMA see a dropped organization
------------------------------------------------------------------------------
CREATE SCHEMA legacy AUTHORIZATION ti_owner;
SELECT tenant_iso.exempt_schema('legacy', 'pre-migration staging');
SELECT tenant_iso.create_organization('Legacy 1', '0c000000-0000-4000-8000-0000000000c6');
SELECT tenant_iso.create_organization('Legacy 2', '0c000000-0000-4000-8000-0000000000c7');
SET ROLE ti_owner;
CREATE TABLE legacy.old1 (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, title text NOT NULL);
INSERT INTO legacy.old1 (organization_id, title) VALUES ('0c000000-0000-4000-8000-0000000000c6', 'legacy row');
CREATE TABLE legacy.old2 (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, title text NOT NULL);
INSERT INTO legacy.old2 (organization_id, title) VALUES ('0c000000-0000-4000-8000-0000000000c7', 'legacy row');
RESET ROLE;
-- control: READ COMMITTED, the organization dropped first
SELECT * FROM dblink('prov', 'SELECT tenant_iso.drop_organization(''0c000000-0000-4000-8000-0000000000c6'')::text') AS t(n text);
SET ROLE ti_owner;
SELECT throws_ok($$ALTER TABLE legacy.old1 SET SCHEMA public$$, '23503', NULL,
                 'held: SET SCHEMA of a table with rows of a dropped organization is refused (READ COMMITTED)');
-- the attack: the owner's snapshot predates the drop
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM legacy.old2;
SELECT * FROM dblink('prov', 'SELECT tenant_iso.drop_organization(''0c000000-0000-4000-8000-0000000000c7'')::text') AS t(n text);
SELECT throws_ok($$ALTER TABLE legacy.old2 SET SCHEMA public$$, '23503', NULL,
                 'H5: SET SCHEMA under a REPEATABLE READ snapshot taken before drop_organization() is refused too');
COMMIT;
RESET ROLE;
SELECT is(CASE WHEN to_regclass('public.old2') IS NULL THEN 0 ELSE pg_temp.orphans(to_regclass('public.old2')) END::bigint, 0::bigint,
          'H5: no tenant table holds rows of the dropped organization');

------------------------------------------------------------------------------
-- held: existence oracles and the role cache
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT is(split_part(pg_temp.error_of($$INSERT INTO courses (organization_id, title) VALUES ('0b000000-0000-4000-8000-00000000000b', 'x')$$), ' | ', 2),
          split_part(pg_temp.error_of($$INSERT INTO courses (organization_id, title) VALUES ('0f000000-0000-4000-8000-00000000000f', 'x')$$), ' | ', 2),
          'held: writing a registered and an unregistered foreign id give the same error (no existence oracle)');
RESET ROLE;
GRANT SELECT, INSERT ON courses TO ti_other;
BEGIN;
SAVEPOINT s;
ALTER ROLE ti_other BYPASSRLS;
SET ROLE ti_other;
INSERT INTO courses (organization_id, title) VALUES (:'B', 'bypass inside the savepoint');
RESET ROLE;
ROLLBACK TO SAVEPOINT s;
SET ROLE ti_other;
SELECT throws_ok($$INSERT INTO courses (organization_id, title) VALUES ('0b000000-0000-4000-8000-00000000000b', 'stale bypass')$$, 'TI003', NULL,
                 'held: after ROLLBACK TO SAVEPOINT of ALTER ROLE ... BYPASSRLS the role is scoped again');
RESET ROLE;
COMMIT;
RESET tenant.org_id;

SELECT dblink_disconnect('prov');
SELECT * FROM finish();
