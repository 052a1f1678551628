-- Attack family: policies and rules.
-- Policies the application adds can only narrow the tenant boundary: an extra permissive
-- USING (true) policy does not widen it (the generated tenant_isolation policy is RESTRICTIVE),
-- extra restrictive policies compose with it. An added policy must not run before the tenant
-- filter either: PostgreSQL evaluates restrictive policies in name order, and a non-leakproof
-- function or a failing expression in a policy named before "tenant_isolation" would see B's
-- rows. The generated policy cannot be altered, renamed, re-targeted or dropped, and row level
-- security cannot be disabled or un-forced.
-- Rules (CREATE RULE) on tenant tables are refused (0A000): a rule runs with its owner's rights.
-- Rules elsewhere run with their owner's rights too: owned by ti_owner they stay scoped; owned by
-- a superuser they are windows like SECURITY DEFINER functions (docs/limits.md).
-- Attackers: ti_owner (adds policies and rules) and ti_app, working for A.
BEGIN;
SELECT plan(37);

\ir include/b_rows.sql
\ir include/err.sql
CREATE FUNCTION pg_temp.policies(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(polname || ' ' || polpermissive || ' ' || polcmd::text || ' ' || polroles::text || ' '
                      || COALESCE(pg_get_expr(polqual, polrelid), '') || ' ' || COALESCE(pg_get_expr(polwithcheck, polrelid), ''),
                      '; ' ORDER BY polname)
    FROM pg_policy WHERE polrelid = rel
$$;
SELECT pg_temp.b_rows() AS b_before \gset
SELECT tenant_iso.exempt_table('public.plans', 'plans are shared by all organizations') \gset
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';

------------------------------------------------------------------------------
-- extra permissive policies do not widen the boundary
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE POLICY open_all ON courses AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)$$,
                'ti_owner adds a permissive FOR ALL USING (true) WITH CHECK (true) policy');
SELECT lives_ok($$CREATE POLICY open_b ON courses AS PERMISSIVE FOR SELECT TO ti_app USING (organization_id = '0b000000-0000-4000-8000-00000000000b')$$,
                'ti_owner adds a permissive policy naming B''s organization');
SELECT lives_ok($$CREATE POLICY open_users ON users AS PERMISSIVE FOR SELECT USING (true)$$,
                'ti_owner adds a permissive FOR SELECT USING (true) policy on users');
RESET ROLE;
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'ti_app: still A''s 2 courses only');
SELECT is_empty($$SELECT * FROM courses WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'$$,
                'ti_app: the policy naming B shows none of B''s courses');
SELECT is_empty($$SELECT * FROM users WHERE email = 'bea@beta.test'$$, 'ti_app: B''s users stay invisible');
WITH u AS (UPDATE courses SET title = 'pwned' WHERE id = '2b000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT is(count(*), 0::bigint, 'ti_app: UPDATE of B''s course changes nothing') FROM u;
SELECT throws_ok($$INSERT INTO courses (organization_id, title) VALUES ('0b000000-0000-4000-8000-00000000000b', 'planted')$$,
                 'TI003', NULL, 'ti_app: inserting for B still fails');
RESET ROLE;
SET ROLE ti_owner;
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'ti_owner: its own USING (true) policy does not show it B''s courses');
RESET ROLE;

------------------------------------------------------------------------------
-- extra restrictive policies compose (narrow further)
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE POLICY z_no_astronomy ON courses AS RESTRICTIVE FOR SELECT USING (title <> 'Astronomy')$$,
                'ti_owner adds a restrictive policy hiding Astronomy');
SELECT lives_ok($$CREATE POLICY z_no_spam ON courses AS RESTRICTIVE FOR INSERT WITH CHECK (title <> 'spam')$$,
                'ti_owner adds a restrictive WITH CHECK policy refusing spam');
RESET ROLE;
SET ROLE ti_app;
SELECT results_eq($$SELECT title FROM courses ORDER BY title$$, ARRAY['Algebra'], 'ti_app: both restrictive policies apply: Algebra only');
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('spam')$$, '42501', NULL, 'ti_app: the restrictive WITH CHECK refuses spam');
SELECT lives_ok($$INSERT INTO courses (title) VALUES ('Anatomy')$$, 'ti_app: other inserts still work');
RESET ROLE;

------------------------------------------------------------------------------
-- an added policy must not run before the tenant filter
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE FUNCTION public.audit_title(v text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    PERFORM set_config('ti.audited', COALESCE(current_setting('ti.audited', true), '') || '|' || v, false);
    RETURN true;
END
$$;
GRANT EXECUTE ON FUNCTION public.audit_title(text) TO PUBLIC;
SELECT pg_temp.err($$CREATE POLICY a_audit ON courses AS RESTRICTIVE FOR SELECT USING (public.audit_title(title))$$) AS a_audit_err \gset
SELECT pg_temp.err($$CREATE POLICY zz_audit ON lessons AS RESTRICTIVE FOR SELECT USING (public.audit_title(title))$$) AS zz_audit_err \gset
SELECT pg_temp.err($$CREATE POLICY p_audit ON users AS PERMISSIVE FOR SELECT USING (public.audit_title(email))$$) AS p_audit_err \gset
CREATE FUNCTION public.check_org(org uuid) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    IF org = '0b000000-0000-4000-8000-00000000000b' THEN
        RAISE division_by_zero;
    END IF;
    RETURN true;
END
$$;
GRANT EXECUTE ON FUNCTION public.check_org(uuid) TO PUBLIC;
SELECT pg_temp.err($$CREATE POLICY a_check ON enrollments AS RESTRICTIVE FOR SELECT USING (public.check_org(organization_id))$$) AS a_check_err \gset
RESET ROLE;
SET ROLE ti_app;
SELECT set_config('ti.audited', '', false) \gset
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'ti_app: A''s courses (Algebra, Anatomy) with the added policies');
SELECT is((SELECT count(*) FROM lessons), 2::bigint, 'ti_app: A''s 2 lessons');
SELECT is((SELECT count(*) FROM users), 2::bigint, 'ti_app: A''s 2 users');
SELECT ok(current_setting('ti.audited') NOT LIKE '%Biology%' AND current_setting('ti.audited') NOT LIKE '%Botany%',
          'a restrictive policy named before tenant_isolation (a_audit) never sees B''s titles');
SELECT ok(current_setting('ti.audited') NOT LIKE '%Cells%' AND current_setting('ti.audited') NOT LIKE '%Roots%',
          'a restrictive policy named after tenant_isolation (zz_audit) never sees B''s lessons');
SELECT ok(current_setting('ti.audited') NOT LIKE '%beta.test%', 'a permissive policy (p_audit) never sees B''s e-mail addresses');
SELECT ok(current_setting('ti.audited') LIKE '%Algebra%' AND current_setting('ti.audited') LIKE '%Variables%',
          'control: the policy functions ran on A''s rows');
SELECT is((pg_temp.err($$SELECT count(*) FROM enrollments$$)), NULL::text[],
          'a restrictive policy (a_check) that fails only on B''s rows does not fire for A');
RESET ROLE;

------------------------------------------------------------------------------
-- the generated policy and forced RLS cannot be loosened
------------------------------------------------------------------------------
SELECT pg_temp.policies('courses') AS courses_policies \gset
SET ROLE ti_owner;
SELECT throws_ok($$ALTER POLICY tenant_isolation ON courses USING (true)$$, '42P16', NULL, 'ti_owner: ALTER POLICY tenant_isolation USING (true) is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON courses TO ti_other$$, '42P16', NULL, 'ti_owner: re-targeting tenant_isolation to one role is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON courses RENAME TO old_isolation$$, '42P16', NULL, 'ti_owner: renaming tenant_isolation is refused');
SELECT throws_ok($$DROP POLICY tenant_isolation ON courses$$, '42P16', NULL, 'ti_owner: dropping tenant_isolation is refused');
SELECT throws_ok($$ALTER TABLE courses DISABLE ROW LEVEL SECURITY$$, '42P16', NULL, 'ti_owner: DISABLE ROW LEVEL SECURITY is refused');
SELECT throws_ok($$ALTER TABLE courses NO FORCE ROW LEVEL SECURITY$$, '42P16', NULL, 'ti_owner: NO FORCE ROW LEVEL SECURITY is refused');
RESET ROLE;
SELECT is(pg_temp.policies('courses'), :'courses_policies', 'the policies of courses are unchanged');

------------------------------------------------------------------------------
-- rules
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE TABLE empty_notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, body text NOT NULL);
SELECT throws_ok($$CREATE RULE log_insert AS ON INSERT TO courses DO ALSO NOTIFY course_inserted$$, '0A000', NULL,
                 'ti_owner: CREATE RULE ... ON INSERT TO a tenant table is refused (0A000)');
SELECT throws_ok($$CREATE OR REPLACE RULE keep AS ON DELETE TO lessons DO INSTEAD NOTHING$$, '0A000', NULL,
                 'ti_owner: CREATE OR REPLACE RULE ... ON DELETE is refused');
SELECT throws_ok($$CREATE RULE upd AS ON UPDATE TO users DO ALSO UPDATE courses SET title = title$$, '0A000', NULL,
                 'ti_owner: CREATE RULE ... ON UPDATE is refused');
SELECT throws_ok($$CREATE RULE "_RETURN" AS ON SELECT TO empty_notes DO INSTEAD SELECT * FROM empty_notes$$, '0A000', NULL,
                 'ti_owner: an ON SELECT rule (turning an empty tenant table into a view) is refused');
RESET ROLE;
SELECT throws_ok($$CREATE RULE su_rule AS ON INSERT TO courses DO ALSO NOTIFY course_inserted$$, '0A000', NULL,
                 'superuser: CREATE RULE on a tenant table is refused too');
SELECT is((SELECT count(*) FROM pg_rules WHERE tablename IN ('courses', 'lessons', 'users', 'empty_notes')), 0::bigint,
          'no rule exists on any tenant table');
-- a rule on a global table owned by ti_owner runs as ti_owner: still scoped to the tenant
SET ROLE ti_owner;
CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL);
CREATE RULE plans_sweep AS ON INSERT TO plans DO ALSO DELETE FROM courses WHERE title IN ('Biology', 'Botany');
GRANT INSERT, SELECT ON plans TO ti_app;
RESET ROLE;
SET ROLE ti_app;
SELECT lives_ok($$INSERT INTO plans VALUES (1, 'free')$$, 'ti_app inserts into a global table whose rule (owned by ti_owner) deletes B''s courses');
RESET ROLE;
SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: the rule deleted nothing of B; B''s data is intact');

SELECT * FROM finish();
ROLLBACK;
