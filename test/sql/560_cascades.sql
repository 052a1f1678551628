-- Issue 10, item 7: referential actions, deferred work and security-restricted operations.
-- Attacks what runs outside the application role's own statements, as the application role
-- ti_app (and the table owner ti_owner, the provisioning role ti_prov): PostgreSQL runs a foreign
-- key's ON DELETE / ON UPDATE action as the referencing table's owner, in a mode that skips forced
-- row level security, so its triggers, the stamping trigger and whatever code they reach must
-- still be scoped to the tenant.  Paths: ON DELETE CASCADE over four levels, ON DELETE SET NULL
-- (column list), ON UPDATE CASCADE, the issue's attack (an owner's audit trigger inserting into
-- an unqualified table name, shadowed by ti_app's pg_temp.audit_log whose trigger then runs
-- ti_app's code as the owner inside the cascade: what can it read, write, change?), deferred
-- foreign-key checks and deferred constraint triggers (run at COMMIT: for whom?), owner DDL
-- that evaluates the owner's functions over the whole table (CHECK validation, index
-- expressions: security-restricted operations), audit()'s 'trigger_search_path' check, and
-- drop_organization() removing exactly one organization's rows in every table, over multi-level
-- cascades and tables of several owners.
-- No BEGIN around the file: deferred work runs at COMMIT (the database is thrown away afterwards).
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b,
-- C = 0c000000-0000-4000-8000-00000000000c (created and dropped here).
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
\set C '0c000000-0000-4000-8000-00000000000c'
SET client_min_messages = warning;
SELECT plan(45);

\ir include/err.sql
-- an organization's rows in every tenant table, as one fingerprint (as superuser)
CREATE FUNCTION pg_temp.org_rows(org uuid) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t regclass; name text; v text; out text := '';
BEGIN
    FOR t, name IN SELECT c.oid::regclass, c.relname FROM pg_class c
             WHERE c.relkind = 'r' AND c.relnamespace <> 'tenant_iso'::regnamespace
               AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
             ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT count(*) || '':'' || coalesce(md5(string_agg(x::text, '','' ORDER BY x::text)), ''-'') FROM ONLY %s x WHERE organization_id = $1', t)
            INTO v USING org;
        out := out || name || '=' || v || ' ';
    END LOOP;
    RETURN out;
END $$;
\ir include/org_count.sql
-- what the owner's triggers saw: one row per trigger call (a global table: temporary tables
-- cannot be used inside referential actions run for another role)
SELECT tenant_iso.exempt_table('public.trigger_log', 'test instrumentation: what triggers saw');
CREATE TABLE public.trigger_log (ctx text, who text, tenant uuid, row_org uuid, others bigint);
GRANT ALL ON public.trigger_log TO PUBLIC;
CREATE SEQUENCE public.exfil_other;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.exfil_other TO PUBLIC;
GRANT CREATE ON SCHEMA public TO ti_other;

------------------------------------------------------------------------------
-- the owner's schema: more levels, other referential actions, triggers
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE TABLE audit_log (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    what            text NOT NULL
);
CREATE TABLE asset_versions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    asset_id        uuid NOT NULL,
    version         int NOT NULL,
    FOREIGN KEY (organization_id, asset_id) REFERENCES assets (organization_id, id) ON DELETE CASCADE
);
CREATE TABLE course_notes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    course_id       uuid,
    body            text NOT NULL,
    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) ON DELETE SET NULL (course_id) ON UPDATE CASCADE
);
CREATE TABLE parents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    name            text NOT NULL
);
CREATE TABLE kids (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    parent_id       uuid NOT NULL,
    name            text NOT NULL,
    FOREIGN KEY (organization_id, parent_id) REFERENCES parents (organization_id, id) DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE kid_notes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    body            text NOT NULL
);
CREATE TABLE audit_rows (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    what            text NOT NULL
);
-- a well-behaved trigger (search_path fixed, names qualified): what does it see, and as whom?
CREATE FUNCTION public.log_visibility() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    INSERT INTO public.trigger_log VALUES (
        TG_TABLE_NAME || ' ' || TG_OP, current_user, tenant_iso.current_org_id(),
        CASE TG_OP WHEN 'DELETE' THEN OLD.organization_id ELSE NEW.organization_id END,
        (SELECT count(*) FROM public.users u WHERE u.organization_id IS DISTINCT FROM tenant_iso.current_org_id())
      + (SELECT count(*) FROM public.courses c WHERE c.organization_id IS DISTINCT FROM tenant_iso.current_org_id())
      + (SELECT count(*) FROM public.lessons l WHERE l.organization_id IS DISTINCT FROM tenant_iso.current_org_id())
      + (SELECT count(*) FROM public.assets a WHERE a.organization_id IS DISTINCT FROM tenant_iso.current_org_id()));
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER log_visibility BEFORE INSERT OR UPDATE OR DELETE ON lessons FOR EACH ROW EXECUTE FUNCTION public.log_visibility();
CREATE TRIGGER log_visibility BEFORE INSERT OR UPDATE OR DELETE ON enrollments FOR EACH ROW EXECUTE FUNCTION public.log_visibility();
CREATE TRIGGER log_visibility BEFORE INSERT OR UPDATE OR DELETE ON assets FOR EACH ROW EXECUTE FUNCTION public.log_visibility();
CREATE TRIGGER log_visibility BEFORE INSERT OR UPDATE OR DELETE ON asset_versions FOR EACH ROW EXECUTE FUNCTION public.log_visibility();
CREATE TRIGGER log_visibility BEFORE INSERT OR UPDATE OR DELETE ON course_notes FOR EACH ROW EXECUTE FUNCTION public.log_visibility();
CREATE TRIGGER log_visibility BEFORE INSERT OR UPDATE OR DELETE ON kids FOR EACH ROW EXECUTE FUNCTION public.log_visibility();
-- the issue's ordinary audit trigger: an unqualified table name, no search_path
CREATE FUNCTION public.audit_lessons() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (what) VALUES ('lesson deleted: ' || OLD.title);
    RETURN OLD;
END $$;
CREATE TRIGGER audit_lessons BEFORE DELETE ON lessons FOR EACH ROW EXECUTE FUNCTION public.audit_lessons();
-- a deferred constraint trigger
CREATE FUNCTION public.audit_kid_note() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    INSERT INTO public.audit_rows (what) VALUES ('kid note: ' || NEW.body);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER audit_kid_note AFTER INSERT ON kid_notes DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.audit_kid_note();
RESET ROLE;
-- a table of another owner
SET ROLE ti_other;
CREATE TABLE other_owned (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    note            text NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON other_owned TO ti_app, ti_owner;
RESET ROLE;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app;

-- rows of A and B in the new tables
SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO asset_versions (asset_id, version) VALUES ('5a000000-0000-4000-8000-000000000001', 1), ('5a000000-0000-4000-8000-000000000002', 1);
INSERT INTO course_notes (course_id, body) VALUES ('2a000000-0000-4000-8000-000000000001', 'A note on Algebra'),
                                                  ('2a000000-0000-4000-8000-000000000002', 'A note on Astronomy');
INSERT INTO other_owned (note) VALUES ('A other');
RESET ROLE;
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO asset_versions (asset_id, version) VALUES ('5b000000-0000-4000-8000-000000000001', 1), ('5b000000-0000-4000-8000-000000000002', 1);
INSERT INTO course_notes (course_id, body) VALUES ('2b000000-0000-4000-8000-000000000001', 'B note on Biology'),
                                                  ('2b000000-0000-4000-8000-000000000002', 'B note on Botany');
INSERT INTO other_owned (note) VALUES ('B other');
INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000003', 'B third');
INSERT INTO course_notes (course_id, body) VALUES ('2b000000-0000-4000-8000-000000000003', 'B note on B third');
INSERT INTO parents (id, name) VALUES ('6b000000-0000-4000-8000-000000000001', 'B parent');
INSERT INTO kids (parent_id, name) VALUES ('6b000000-0000-4000-8000-000000000001', 'B kid');
RESET ROLE;
SELECT pg_temp.org_rows(:'B') AS b_before \gset
DELETE FROM trigger_log;

------------------------------------------------------------------------------
-- ON DELETE CASCADE (four levels) and ON DELETE SET NULL, as ti_app
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
DELETE FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001';
RESET ROLE;
SELECT is((SELECT string_agg(ctx, ',' ORDER BY ctx) FROM trigger_log),
          'asset_versions DELETE,assets DELETE,course_notes UPDATE,enrollments DELETE,lessons DELETE',
          'sanity: deleting A''s course cascaded to lessons, enrollments, assets, asset versions and nulled a course note');
SELECT is((SELECT string_agg(DISTINCT who, ',') FROM trigger_log), 'ti_owner', 'sanity: the referential actions ran as the tables'' owner');
SELECT is((SELECT count(*) FROM trigger_log WHERE tenant IS DISTINCT FROM :'A' OR row_org IS DISTINCT FROM :'A'), 0::bigint,
          'every trigger inside the cascades ran with tenant A, on A''s rows');
SELECT is((SELECT sum(others) FROM trigger_log), 0::numeric,
          'no trigger inside the cascades could see any row of another tenant (users, courses, lessons, assets)');
SELECT is((SELECT count(*) FROM ONLY asset_versions WHERE organization_id = :'A'), 1::bigint, 'A''s asset version of the deleted course is gone, the other stays');
SELECT is((SELECT string_agg(coalesce(course_id::text, 'NULL') || ' ' || body, ',' ORDER BY body) FROM course_notes WHERE organization_id = :'A'),
          'NULL A note on Algebra,2a000000-0000-4000-8000-000000000002 A note on Astronomy', 'ON DELETE SET NULL (course_id) nulled A''s note only');
SELECT is(pg_temp.org_rows(:'B'), :'b_before', 'B''s rows in every table are unchanged');
DELETE FROM trigger_log;

------------------------------------------------------------------------------
-- ON UPDATE CASCADE, as ti_app
------------------------------------------------------------------------------
SET ROLE ti_app;
INSERT INTO courses (id, title) VALUES ('2a000000-0000-4000-8000-000000000003', 'A third');
INSERT INTO course_notes (course_id, body) VALUES ('2a000000-0000-4000-8000-000000000003', 'A note on A third');
RESET ROLE;
DELETE FROM trigger_log;
SET ROLE ti_app;
UPDATE courses SET id = '2a000000-0000-4000-8000-000000000033' WHERE id = '2a000000-0000-4000-8000-000000000003';
SELECT results_eq($$SELECT course_id FROM course_notes WHERE body = 'A note on A third'$$, $$VALUES ('2a000000-0000-4000-8000-000000000033'::uuid)$$,
                  'ON UPDATE CASCADE moved A''s note to the new course id');
SELECT throws_ok(format($$UPDATE courses SET organization_id = %L WHERE id = '2a000000-0000-4000-8000-000000000033'$$, :'B'), 'TI003', NULL,
                 'moving the parent to B (which would cascade organization_id) is refused (TI003)');
RESET ROLE;
SELECT is((SELECT count(*) FROM trigger_log WHERE tenant IS DISTINCT FROM :'A' OR row_org IS DISTINCT FROM :'A' OR others <> 0), 0::bigint,
          'the ON UPDATE CASCADE ran with tenant A, on A''s rows, seeing nothing of B');
SELECT is((SELECT course_id FROM course_notes WHERE body = 'B note on B third'), '2b000000-0000-4000-8000-000000000003'::uuid,
          'B''s note is untouched');

------------------------------------------------------------------------------
-- the issue's attack: ti_app's code inside a cascade, run as the owner
------------------------------------------------------------------------------
SET ROLE ti_app;
CREATE TEMP TABLE stolen (probe text, result text);
CREATE TEMP TABLE audit_log (what text);   -- shadows public.audit_log in the owner's trigger
CREATE FUNCTION pg_temp.steal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r text; n bigint;
BEGIN
    INSERT INTO pg_temp.stolen VALUES ('who', current_user);
    INSERT INTO pg_temp.stolen VALUES ('tenant', coalesce(tenant_iso.current_org_id()::text, 'none'));
    INSERT INTO pg_temp.stolen VALUES ('users', (SELECT string_agg(name, ',' ORDER BY name) FROM public.users));
    INSERT INTO pg_temp.stolen VALUES ('others', (
          (SELECT count(*) FROM public.users WHERE organization_id IS DISTINCT FROM tenant_iso.current_org_id())
        + (SELECT count(*) FROM public.courses WHERE organization_id IS DISTINCT FROM tenant_iso.current_org_id())
        + (SELECT count(*) FROM public.enrollments WHERE organization_id IS DISTINCT FROM tenant_iso.current_org_id())
        + (SELECT count(*) FROM public.course_notes WHERE organization_id IS DISTINCT FROM tenant_iso.current_org_id())
        + (SELECT count(*) FROM public.other_owned WHERE organization_id IS DISTINCT FROM tenant_iso.current_org_id()))::text);
    -- writes
    BEGIN
        UPDATE public.course_notes SET body = body;
        GET DIAGNOSTICS n = ROW_COUNT;
        r := n::text;
    EXCEPTION WHEN OTHERS THEN r := SQLSTATE;
    END;
    INSERT INTO pg_temp.stolen VALUES ('update', r);
    BEGIN
        DELETE FROM public.course_notes WHERE organization_id = '0b000000-0000-4000-8000-00000000000b';
        GET DIAGNOSTICS n = ROW_COUNT;
        r := n::text;
    EXCEPTION WHEN OTHERS THEN r := SQLSTATE;
    END;
    INSERT INTO pg_temp.stolen VALUES ('delete_b', r);
    BEGIN
        INSERT INTO public.courses (organization_id, title) VALUES ('0b000000-0000-4000-8000-00000000000b', 'planted');
        r := 'inserted';
    EXCEPTION WHEN OTHERS THEN r := SQLSTATE;
    END;
    INSERT INTO pg_temp.stolen VALUES ('insert_b', r);
    -- schema changes with the owner's rights, each undone at once (only whether it worked is kept)
    BEGIN
        CREATE FUNCTION public.exfil(org uuid, v text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $f$
        BEGIN
            IF org IS DISTINCT FROM tenant_iso.current_org_id() THEN
                RAISE NOTICE 'exfil: %', v;
                PERFORM nextval('public.exfil_other');
            END IF;
            RETURN true;
        END $f$;
        ALTER TABLE public.users ADD CONSTRAINT exfil CHECK (public.exfil(organization_id, name || ' ' || email));
        r := 'added';
        RAISE SQLSTATE 'ZZ001';
    EXCEPTION WHEN SQLSTATE 'ZZ001' THEN NULL;
              WHEN OTHERS THEN r := SQLSTATE;
    END;
    INSERT INTO pg_temp.stolen VALUES ('check_constraint', r);
    BEGIN
        DROP TABLE public.other_owned;
        r := 'dropped';
        RAISE SQLSTATE 'ZZ001';
    EXCEPTION WHEN SQLSTATE 'ZZ001' THEN NULL;
              WHEN OTHERS THEN r := SQLSTATE;
    END;
    INSERT INTO pg_temp.stolen VALUES ('drop_other_owner', r);
    BEGIN
        DROP TABLE public.asset_versions;
        r := 'dropped';
        RAISE SQLSTATE 'ZZ001';
    EXCEPTION WHEN SQLSTATE 'ZZ001' THEN NULL;
              WHEN OTHERS THEN r := SQLSTATE;
    END;
    INSERT INTO pg_temp.stolen VALUES ('drop_owner_table', r);
    RETURN NEW;
END $$;
CREATE TRIGGER steal AFTER INSERT ON pg_temp.audit_log FOR EACH ROW EXECUTE FUNCTION pg_temp.steal();
GRANT ALL ON pg_temp.audit_log, pg_temp.stolen TO PUBLIC;
-- the attack: delete one of its own courses (DISCARD PLANS: the owner's trigger already ran in this
-- session, and its cached plan still names public.audit_log; an attacker's fresh session has none)
DISCARD PLANS;
-- tenant_iso refuses temporary tables inside a referential action run as the owner for another
-- role: the owner's trigger never reaches ti_app's pg_temp.audit_log, the whole delete fails
SELECT throws_ok($$DELETE FROM courses WHERE id = '2a000000-0000-4000-8000-000000000002'$$, '42501',
                 'cannot use temporary table audit_log inside a referential action',
                 'the issue''s attack: the cascade reaching the owner''s trigger that resolves audit_log to ti_app''s temporary table is refused (42501)');
RESET ROLE;
SELECT is((SELECT count(*) FROM stolen), 0::bigint, 'ti_app''s trigger never ran with the owner''s rights (nothing stolen, nothing dropped)');
SELECT is((SELECT count(*) FROM courses WHERE id = '2a000000-0000-4000-8000-000000000002'), 1::bigint,
          'and A''s course is still there (the refused delete was rolled back)');
-- an owner's trigger that runs a utility statement inside a cascade: refused too
CREATE FUNCTION public.ddl_in_cascade() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $f$
BEGIN
    EXECUTE 'CREATE TABLE public.made_in_cascade (organization_id uuid NOT NULL)';
    RETURN OLD;
END $f$;
ALTER FUNCTION public.ddl_in_cascade() OWNER TO ti_owner;
SET ROLE ti_owner;
CREATE TRIGGER ddl_in_cascade BEFORE DELETE ON public.enrollments FOR EACH ROW EXECUTE FUNCTION public.ddl_in_cascade();
RESET ROLE;
SET ROLE ti_app;
SELECT throws_ok($$DELETE FROM users WHERE id = '1a000000-0000-4000-8000-000000000002'$$, '42501',
                 'cannot run utility statements inside a referential action',
                 'an owner''s trigger running DDL inside a cascade started by ti_app is refused (42501)');
RESET ROLE;
SELECT is(to_regclass('public.made_in_cascade'), NULL, 'and made nothing');
DROP TRIGGER ddl_in_cascade ON public.enrollments;
SELECT is(pg_temp.org_rows(:'B'), :'b_before', 'B''s rows in every table are unchanged');
DELETE FROM stolen;
SELECT setval('public.exfil_other', 1, false) \gset

------------------------------------------------------------------------------
-- owner DDL that evaluates the owner's own functions over every row (no cascade needed)
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_owner;
CREATE FUNCTION public.peek(org uuid, v text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF org IS DISTINCT FROM tenant_iso.current_org_id() THEN
        RAISE NOTICE 'peek: %', v;
        PERFORM nextval('public.exfil_other');
    END IF;
    RETURN true;
END $$;
SELECT pg_temp.err($$ALTER TABLE courses ADD CONSTRAINT peek CHECK (public.peek(organization_id, title))$$) AS e1 \gset
SELECT is((SELECT last_value FROM public.exfil_other WHERE is_called), NULL::bigint,
          'ti_owner: validating a new CHECK constraint does not give the owner''s function other tenants'' rows');
SELECT setval('public.exfil_other', 1, false) \gset
SELECT pg_temp.err($$CREATE INDEX courses_peek ON courses (organization_id) WHERE public.peek(organization_id, title)$$) AS e2 \gset
SELECT is((SELECT last_value FROM public.exfil_other WHERE is_called), NULL::bigint,
          'ti_owner: building a partial index (a security-restricted operation) does not give the owner''s function other tenants'' rows');
SELECT setval('public.exfil_other', 1, false) \gset
SELECT pg_temp.err($$CREATE INDEX courses_peek_expr ON courses (organization_id, public.peek(organization_id, title))$$) AS e3 \gset
SELECT is((SELECT last_value FROM public.exfil_other WHERE is_called), NULL::bigint,
          'ti_owner: building an expression index does not give the owner''s function other tenants'' rows');
SELECT setval('public.exfil_other', 1, false) \gset
RESET ROLE;

------------------------------------------------------------------------------
-- deferred work: foreign-key checks and constraint triggers run at COMMIT
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO parents (id, name) VALUES ('6a000000-0000-4000-8000-000000000001', 'A parent');
INSERT INTO kids (parent_id, name) VALUES ('6a000000-0000-4000-8000-000000000001', 'A kid');
BEGIN;
INSERT INTO kid_notes (body) VALUES ('A kid note, same tenant');
COMMIT;
SELECT results_eq($$SELECT organization_id, what FROM audit_rows$$,
                  format($$VALUES (%L::uuid, 'kid note: A kid note, same tenant')$$, :'A'),
                  'control: a deferred constraint trigger run at COMMIT writes for A, under A');
BEGIN;
\set ON_ERROR_STOP 0
DELETE FROM parents WHERE name = 'A parent';
COMMIT;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '23503', 'control: deleting A''s parent of a kid fails at COMMIT (deferred foreign-key check, 23503)');
BEGIN;
DELETE FROM parents WHERE name = 'A parent';
\set ON_ERROR_STOP 0
SET LOCAL tenant.org_id = :'B';
\set switch_state :LAST_ERROR_SQLSTATE
COMMIT;
\set ON_ERROR_STOP 1
RESET ROLE;
SELECT is(:'switch_state'::text, 'TI002', 'a switch to B while A''s deferred foreign-key check is pending is refused (TI002)');
SELECT is((SELECT count(*) FROM kids k WHERE NOT EXISTS (SELECT 1 FROM parents p WHERE p.organization_id = k.organization_id AND p.id = k.parent_id)),
          0::bigint, 'a deferred foreign-key check queued under A still holds after a switch to B before COMMIT: no orphan kid of A');
SET tenant.org_id = :'A';
SET ROLE ti_app;
BEGIN;
INSERT INTO kid_notes (body) VALUES ('secret of A');
\set ON_ERROR_STOP 0
SET LOCAL tenant.org_id = :'B';
\set switch_state :LAST_ERROR_SQLSTATE
COMMIT;
\set ON_ERROR_STOP 1
RESET ROLE;
SELECT is(:'switch_state'::text, 'TI002', 'a switch to B while a deferred constraint trigger queued for A''s row is pending is refused (TI002)');
SELECT is((SELECT count(*) FROM audit_rows WHERE organization_id = :'B' AND what LIKE '%secret of A%'), 0::bigint,
          'a deferred constraint trigger queued for A''s row does not run under B after a switch before COMMIT (A''s text never lands in B''s rows)');

------------------------------------------------------------------------------
-- audit(): trigger functions on tenant tables whose search_path is not fixed
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'lessons'::regclass AND check_name = 'trigger_search_path'), 'warning',
          'audit() warns about lessons: its trigger audit_lessons has no fixed search_path');
SELECT matches((SELECT detail FROM tenant_iso.audit() WHERE relation = 'lessons'::regclass AND check_name = 'trigger_search_path'), 'audit_lessons',
               'and names the trigger');
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'assets'::regclass AND check_name = 'trigger_search_path'), 'ok',
          'a trigger function with SET search_path (and the C stamping trigger) is ok');
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'users'::regclass AND check_name = 'trigger_search_path'), 'ok',
          'a table with only the stamping trigger is ok');
SELECT lives_ok('SELECT tenant_iso.verify()', 'verify() passes (warnings do not fail it)');
RESET ROLE;
-- pg_temp is searched first unless the search_path names it: "pg_catalog, public" still lets a
-- temporary table shadow public.audit_log
ALTER FUNCTION public.audit_lessons() SET search_path = pg_catalog, public;
SET ROLE ti_app;
SELECT isnt((SELECT status FROM tenant_iso.audit() WHERE relation = 'lessons'::regclass AND check_name = 'trigger_search_path'), 'ok',
            'audit() still warns about a trigger function whose search_path does not put pg_temp last (pg_catalog, public)');
DELETE FROM stolen;
INSERT INTO lessons (course_id, title) VALUES ('2a000000-0000-4000-8000-000000000033', 'Short-lived');
SELECT throws_ok($$DELETE FROM courses WHERE id = '2a000000-0000-4000-8000-000000000033'$$, '42501', NULL,
                 'with search_path = pg_catalog, public the owner''s insert inside the cascade would reach the temporary audit_log: refused (42501)');
SELECT is((SELECT count(*) FROM stolen), 0::bigint, 'and none of ti_app''s code ran');
RESET ROLE;
ALTER FUNCTION public.audit_lessons() SET search_path = pg_catalog, public, pg_temp;
SET ROLE ti_app;
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'lessons'::regclass AND check_name = 'trigger_search_path'), 'ok',
          'with search_path = pg_catalog, public, pg_temp: ok');
DELETE FROM stolen;
INSERT INTO courses (id, title) VALUES ('2a000000-0000-4000-8000-000000000004', 'A fourth');
INSERT INTO lessons (course_id, title) VALUES ('2a000000-0000-4000-8000-000000000004', 'Short-lived too');
DELETE FROM courses WHERE id = '2a000000-0000-4000-8000-000000000004';
SELECT is((SELECT count(*) FROM stolen), 0::bigint, 'and then the owner''s insert goes to public.audit_log: ti_app''s code no longer runs');
SELECT is((SELECT count(*) FROM audit_log WHERE what = 'lesson deleted: Short-lived too'), 0::bigint,
          'sanity: ti_app''s temporary audit_log did not get the row');
DROP TABLE pg_temp.audit_log;
RESET ROLE;
-- (an audit row written while the organization is being dropped would fail its registry key)
SET ROLE ti_owner;
DROP TRIGGER audit_lessons ON lessons;
RESET ROLE;

------------------------------------------------------------------------------
-- drop_organization(): exactly one organization's rows, in every table, over every cascade
------------------------------------------------------------------------------
SET ROLE ti_prov;
SELECT is(tenant_iso.create_organization('Gamma Guild', :'C'), :'C'::uuid, 'ti_prov creates organization C');
RESET ROLE;
SET tenant.org_id = :'C';
SET ROLE ti_app;
INSERT INTO users (id, email, name) VALUES ('1c000000-0000-4000-8000-000000000001', 'cy@gamma.test', 'Cy');
INSERT INTO courses (id, title) VALUES ('2c000000-0000-4000-8000-000000000001', 'Chemistry');
INSERT INTO lessons (id, course_id, title) VALUES ('3c000000-0000-4000-8000-000000000001', '2c000000-0000-4000-8000-000000000001', 'Atoms');
INSERT INTO enrollments (user_id, course_id) VALUES ('1c000000-0000-4000-8000-000000000001', '2c000000-0000-4000-8000-000000000001');
INSERT INTO assets (id, lesson_id, url) VALUES ('5c000000-0000-4000-8000-000000000001', '3c000000-0000-4000-8000-000000000001', 'https://cdn.gamma.test/atoms.mp4');
INSERT INTO asset_versions (asset_id, version) VALUES ('5c000000-0000-4000-8000-000000000001', 1), ('5c000000-0000-4000-8000-000000000001', 2);
INSERT INTO course_notes (course_id, body) VALUES ('2c000000-0000-4000-8000-000000000001', 'C note');
INSERT INTO parents (id, name) VALUES ('6c000000-0000-4000-8000-000000000001', 'C parent');
INSERT INTO kids (parent_id, name) VALUES ('6c000000-0000-4000-8000-000000000001', 'C kid');
INSERT INTO kid_notes (body) VALUES ('C kid note');
INSERT INTO other_owned (note) VALUES ('C other');
INSERT INTO audit_log (what) VALUES ('C audit');
RESET ROLE;
SELECT pg_temp.org_count(:'C') AS c_rows, pg_temp.org_rows(:'A') AS a_before_drop, pg_temp.org_rows(:'B') AS b_before_drop \gset
SELECT cmp_ok(:c_rows::bigint, '>=', 13::bigint, 'sanity: C has rows in every table');
DELETE FROM trigger_log;
SET tenant.org_id = :'A';
SET ROLE ti_prov;
SELECT is(tenant_iso.drop_organization(:'C'), :c_rows::bigint, 'ti_prov (its session set to tenant A) drops C: the count of C''s rows is returned');
RESET ROLE;
SELECT is(pg_temp.org_count(:'C'), 0::bigint, 'no row of C is left in any table (four levels of cascades, several owners)');
SELECT is(pg_temp.org_rows(:'A'), :'a_before_drop', 'A''s rows in every table are unchanged');
SELECT is(pg_temp.org_rows(:'B'), :'b_before_drop', 'B''s rows in every table are unchanged');
SELECT is((SELECT count(*) FROM trigger_log WHERE tenant IS DISTINCT FROM :'C' OR row_org IS DISTINCT FROM :'C' OR others <> 0), 0::bigint,
          'every trigger inside drop_organization''s cascades ran with tenant C, on C''s rows, seeing nothing else');
SELECT cmp_ok((SELECT count(*) FROM trigger_log), '>=', 5::bigint, 'sanity: the owner''s triggers fired in those cascades');

SELECT * FROM finish();
