-- Attack family: views, security-definer functions and materialized views as windows.
-- A view runs, by default, with its owner's rights: a view over a tenant table owned by a
-- superuser or a BYPASSRLS role would show every tenant's rows to whoever may query it. The
-- schema check sets security_invoker = true on every view that reads tenant tables (directly,
-- through other views or sub-selects), and refuses security_invoker = false however it is asked
-- for (CREATE VIEW WITH, CREATE OR REPLACE, ALTER VIEW SET / RESET, ALTER TABLE SET).
-- Materialized views over tenant tables are refused (0A000): their contents are computed once,
-- by one role, and shown to every tenant.
-- Security-definer functions owned by a superuser or BYPASSRLS role ARE windows (row level
-- security does not apply to those roles); this file asserts what happens and docs/limits.md
-- explains it; tenant_iso.audit() (issue 4) reports such functions.
-- Attackers: ti_app working for A (reader), ti_owner (creates views), and privileged creators.
BEGIN;
SELECT plan(49);

\ir include/b_rows.sql
CREATE FUNCTION pg_temp.invoker(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT option_value FROM pg_class c, pg_options_to_table(c.reloptions)
    WHERE c.oid = rel AND option_name = 'security_invoker'
$$;
\ir include/err.sql
\ir include/count_if_exists.sql
SELECT pg_temp.b_rows() AS b_before \gset
-- an exempt (global) table, for the controls
SELECT tenant_iso.exempt_table('public.plans', 'plans are shared by all organizations') \gset
CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO plans VALUES (1, 'free'), (2, 'pro');
GRANT SELECT ON plans TO ti_app, ti_owner;
-- a role that bypasses row level security (rolled back with the file)
CREATE ROLE ti_bypass NOLOGIN BYPASSRLS;
GRANT CREATE, USAGE ON SCHEMA public TO ti_bypass;
GRANT SELECT, UPDATE ON courses TO ti_bypass;

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';

------------------------------------------------------------------------------
-- views owned by privileged roles do not become windows
------------------------------------------------------------------------------
-- a superuser's view
CREATE VIEW su_courses AS SELECT id, organization_id, title FROM courses;
GRANT SELECT, UPDATE, INSERT, DELETE ON su_courses TO ti_app;
SELECT is(pg_temp.invoker('su_courses'), 'true', 'a superuser''s view over courses gets security_invoker = true');
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM su_courses), 2::bigint, 'ti_app: the superuser''s view shows A''s 2 courses');
SELECT is_empty($$SELECT * FROM su_courses WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a'$$,
                'ti_app: the superuser''s view shows none of B''s courses');
WITH u AS (UPDATE su_courses SET title = 'pwned' WHERE id = '2b000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT is(count(*), 0::bigint, 'ti_app: UPDATE of B''s course through the superuser''s view changes nothing') FROM u;
WITH d AS (DELETE FROM su_courses WHERE title = 'Biology' RETURNING 1)
SELECT is(count(*), 0::bigint, 'ti_app: DELETE of B''s course through the superuser''s view deletes nothing') FROM d;
SELECT throws_ok($$INSERT INTO su_courses (organization_id, title) VALUES ('0b000000-0000-4000-8000-00000000000b', 'planted')$$,
                 'TI003', NULL, 'ti_app: INSERT for B through the superuser''s view fails with TI003');
RESET ROLE;

-- nested views, sub-selects, joins with global tables
CREATE VIEW su_outer AS SELECT title FROM su_courses;
CREATE VIEW su_count AS SELECT (SELECT count(*) FROM courses) AS n;
CREATE VIEW su_join AS SELECT c.title, p.name FROM plans p CROSS JOIN lessons c;
CREATE VIEW su_exists AS SELECT p.name FROM plans p WHERE EXISTS (SELECT 1 FROM users u WHERE u.email = 'bea@beta.test');
GRANT SELECT ON su_outer, su_count, su_join, su_exists TO ti_app;
SELECT is(pg_temp.invoker('su_outer'), 'true', 'a view over a view over courses gets security_invoker = true');
SELECT is(pg_temp.invoker('su_count'), 'true', 'a view reading courses in a sub-select gets security_invoker = true');
SELECT is(pg_temp.invoker('su_join'), 'true', 'a view joining a global table with lessons gets security_invoker = true');
SELECT is(pg_temp.invoker('su_exists'), 'true', 'a view reading users only in EXISTS gets security_invoker = true');
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM su_outer), 2::bigint, 'ti_app: the nested view shows A''s 2 courses');
SELECT is((SELECT n FROM su_count), 2::bigint, 'ti_app: the counting view counts A''s courses only');
SELECT is((SELECT count(*) FROM su_join), 4::bigint, 'ti_app: the join view joins A''s 2 lessons only (x 2 plans)');
SELECT is_empty($$SELECT * FROM su_exists$$, 'ti_app: the EXISTS view does not reveal that B has bea@beta.test');
RESET ROLE;

-- CREATE OR REPLACE of a view that did not read tenant tables before
CREATE VIEW su_switch WITH (security_invoker = false) AS SELECT 0::bigint AS n;
GRANT SELECT ON su_switch TO ti_app;
SELECT pg_temp.err($$CREATE OR REPLACE VIEW su_switch AS SELECT count(*) AS n FROM courses$$) AS switch_err \gset
SELECT ok(pg_temp.invoker('su_switch') = 'true' OR (SELECT definition FROM pg_views WHERE viewname = 'su_switch') NOT LIKE '%courses%',
          'CREATE OR REPLACE turning a security_invoker = false view into one over courses sets security_invoker or is refused');
SET ROLE ti_app;
SELECT ok((SELECT n FROM su_switch) IN (0, 2), 'ti_app: ... either way the view never counts B''s courses');
RESET ROLE;

-- a BYPASSRLS role's view
SET ROLE ti_bypass;
CREATE VIEW by_courses AS SELECT id, organization_id, title FROM courses;
GRANT SELECT ON by_courses TO ti_app;
RESET ROLE;
SELECT is(pg_temp.invoker('by_courses'), 'true', 'a BYPASSRLS role''s view over courses gets security_invoker = true');
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM by_courses), 2::bigint, 'ti_app: the BYPASSRLS role''s view shows A''s 2 courses only');
RESET ROLE;

-- ti_owner's views
SET ROLE ti_owner;
SELECT lives_ok($$CREATE VIEW v_courses AS SELECT id, title FROM courses$$, 'ti_owner creates a view over courses');
SELECT is(pg_temp.invoker('v_courses'), 'true', '... it gets security_invoker = true');
RESET ROLE;
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM v_courses), 2::bigint, 'ti_app: ti_owner''s view shows A''s 2 courses');
RESET ROLE;

------------------------------------------------------------------------------
-- security_invoker = false is refused however it is asked for
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT ok((pg_temp.err($$CREATE VIEW v_definer WITH (security_invoker = false) AS SELECT * FROM courses$$)) IS NOT NULL,
          'ti_owner: CREATE VIEW ... WITH (security_invoker = false) over courses is refused');
SELECT is(to_regclass('v_definer'), NULL, '... and the view does not exist');
SELECT ok((pg_temp.err($$ALTER VIEW v_courses SET (security_invoker = false)$$)) IS NOT NULL,
          'ti_owner: ALTER VIEW ... SET (security_invoker = false) is refused');
SELECT ok((pg_temp.err($$ALTER VIEW v_courses RESET (security_invoker)$$)) IS NOT NULL,
          'ti_owner: ALTER VIEW ... RESET (security_invoker) is refused');
SELECT ok((pg_temp.err($$ALTER TABLE v_courses SET (security_invoker = off)$$)) IS NOT NULL,
          'ti_owner: ALTER TABLE <view> SET (security_invoker = off) is refused');
SELECT ok((pg_temp.err($$CREATE OR REPLACE VIEW v_courses WITH (security_invoker = false) AS SELECT id, title FROM courses$$)) IS NOT NULL,
          'ti_owner: CREATE OR REPLACE VIEW ... WITH (security_invoker = false) is refused');
SELECT is(pg_temp.invoker('v_courses'), 'true', '... and the view still has security_invoker = true');
RESET ROLE;
SELECT ok((pg_temp.err($$CREATE VIEW su_definer WITH (security_invoker = false) AS SELECT * FROM courses$$)) IS NOT NULL,
          'superuser: CREATE VIEW ... WITH (security_invoker = false) over courses is refused too');
SELECT is(to_regclass('su_definer'), NULL, '... and the view does not exist');
SELECT ok((pg_temp.err($$ALTER VIEW su_courses SET (security_invoker = false)$$)) IS NOT NULL,
          'superuser: ALTER VIEW ... SET (security_invoker = false) is refused');
SELECT ok((pg_temp.err($$ALTER VIEW su_outer RESET (security_invoker)$$)) IS NOT NULL,
          'superuser: ALTER VIEW ... RESET (security_invoker) on the nested view is refused');
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM su_courses), 2::bigint, 'ti_app: after all attempts the superuser''s view still shows 2 courses');
RESET ROLE;
-- a view over global tables only is left alone
CREATE VIEW su_plans WITH (security_invoker = false) AS SELECT * FROM plans;
SELECT is(pg_temp.invoker('su_plans'), 'false', 'control: a view over global tables only keeps security_invoker = false');

------------------------------------------------------------------------------
-- security-definer functions
------------------------------------------------------------------------------
CREATE FUNCTION su_all_courses() RETURNS SETOF courses LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp AS 'SELECT * FROM courses';
SET ROLE ti_owner;
CREATE FUNCTION owner_all_courses() RETURNS SETOF courses LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp AS 'SELECT * FROM courses';
RESET ROLE;
SET ROLE ti_bypass;
CREATE FUNCTION by_all_courses() RETURNS SETOF courses LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp AS 'SELECT * FROM courses';
RESET ROLE;
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM owner_all_courses()), 2::bigint,
          'ti_app: a SECURITY DEFINER function owned by ti_owner shows A''s 2 courses only (FORCE RLS binds the owner)');
SELECT is((SELECT count(*) FROM su_all_courses() WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 2::bigint,
          'documented limit: a SECURITY DEFINER function owned by a superuser shows B''s courses (RLS does not apply to superusers; audit flags it)');
SELECT is((SELECT count(*) FROM by_all_courses() WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 2::bigint,
          'documented limit: likewise for one owned by a BYPASSRLS role');
RESET ROLE;

------------------------------------------------------------------------------
-- materialized views
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT throws_ok($$CREATE MATERIALIZED VIEW mv_courses AS SELECT * FROM courses$$, '0A000', NULL,
                 'ti_owner: a materialized view over courses is refused with 0A000');
SELECT ok((pg_temp.err($$CREATE MATERIALIZED VIEW mv_courses AS SELECT * FROM courses$$))[4] ILIKE '%view%',
          '... with a hint pointing to a view');
SELECT is(to_regclass('mv_courses'), NULL, '... and it does not exist');
SELECT throws_ok($$CREATE MATERIALIZED VIEW mv_nodata AS SELECT title FROM courses WITH NO DATA$$, '0A000', NULL,
                 'ti_owner: ... also WITH NO DATA');
SELECT throws_ok($$CREATE MATERIALIZED VIEW mv_nested AS SELECT * FROM v_courses$$, '0A000', NULL,
                 'ti_owner: ... also over a view over courses');
-- a materialized view filled through a function that reads a tenant table
CREATE FUNCTION owner_titles() RETURNS SETOF text LANGUAGE plpgsql STABLE AS
    $$BEGIN RETURN QUERY SELECT title FROM courses; END$$;
SELECT pg_temp.err($$CREATE MATERIALIZED VIEW mv_fn AS SELECT t FROM owner_titles() t$$) AS mv_fn_err \gset
SELECT is(to_regclass('mv_fn'), NULL,
          'ti_owner: a materialized view filled by a function that reads courses is refused');
RESET ROLE;
SELECT throws_ok($$CREATE MATERIALIZED VIEW su_mv AS SELECT * FROM courses$$, '0A000', NULL,
                 'superuser: a materialized view over courses is refused too');
SELECT lives_ok($$CREATE MATERIALIZED VIEW mv_plans AS SELECT * FROM plans$$,
                'control: a materialized view over a global table is accepted');
DO $$ BEGIN  -- mv_fn exists only if it was (wrongly) accepted above
    IF to_regclass('mv_fn') IS NOT NULL THEN EXECUTE 'GRANT SELECT ON mv_fn TO ti_app'; END IF;
END $$;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
SELECT is(pg_temp.count_if_exists('mv_fn', $$t IN ('Algebra', 'Astronomy')$$), 0::bigint,
          'ti_app working for B: no materialized view shows A''s course titles');
RESET ROLE;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';

------------------------------------------------------------------------------
-- ti_app's own temporary views run as ti_app
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT lives_ok($$CREATE TEMP VIEW tv_courses AS SELECT * FROM courses$$, 'ti_app may create a temporary view over courses');
SELECT is((SELECT count(*) FROM tv_courses), 2::bigint, 'ti_app: its temporary view shows A''s 2 courses only');
RESET ROLE;

SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: B''s data is intact');

SELECT * FROM finish();
ROLLBACK;
