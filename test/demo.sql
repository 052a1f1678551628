-- test/demo.sql: the walk-through of `make demo` (a learning platform with two organizations).
--
-- Run by test/demo.sh with psql as the cluster's superuser "postgres" in a fresh database; the
-- script switches to the migration role (lms_owner) and the application role (lms_app) itself.
--
-- How it checks itself (the meta-commands and checks are not echoed, only the statements are):
--   - a statement that must be refused runs with ON_ERROR_STOP off, then
--     pg_temp.refused() confirms that it failed with the expected SQLSTATE;
--   - pg_temp.holds() confirms a claim (a count, an empty result).
-- Either raises "isolation promise broken: ..." otherwise, and psql then exits non-zero.
\set ON_ERROR_STOP 1
\set QUIET on
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset null '(null)'
SET client_min_messages = notice;

CREATE FUNCTION pg_temp.holds(ok boolean, claim text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'isolation promise broken: %', claim;
    END IF;
    RETURN '   ok: ' || claim;
END $$;

CREATE FUNCTION pg_temp.refused(failed text, sqlstate text, want text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF failed IS DISTINCT FROM 'true' THEN
        RAISE EXCEPTION 'isolation promise broken: the statement above was accepted, it must be refused with SQLSTATE %', want;
    END IF;
    IF sqlstate IS DISTINCT FROM want THEN
        RAISE EXCEPTION 'unexpected error: the statement above failed with SQLSTATE %, expected %', sqlstate, want;
    END IF;
    RETURN '   ok: refused, as expected (SQLSTATE ' || sqlstate || ')';
END $$;

\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
\set QUIET off
\set ECHO queries

\echo
\echo '======================================================================'
\echo ' 1. Install the extension'
\echo '======================================================================'
\echo 'tenant_iso is preloaded (shared_preload_libraries) and created once per database.'
SHOW shared_preload_libraries;
CREATE EXTENSION tenant_iso;

\echo
\echo '======================================================================'
\echo ' 2. Two roles: the migration role and the application role'
\echo '======================================================================'
\echo 'lms_owner runs migrations and owns the tables. lms_app is what the application'
\echo 'connects as: neither superuser, nor BYPASSRLS, nor owner of anything. These are'
\echo 'exactly the grants the README tells you to give (the same as the test suite''s).'
CREATE ROLE lms_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
CREATE ROLE lms_app   LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
GRANT CREATE ON SCHEMA public TO lms_owner;
GRANT USAGE ON SCHEMA public TO lms_app;
ALTER DEFAULT PRIVILEGES FOR ROLE lms_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lms_app;
ALTER DEFAULT PRIVILEGES FOR ROLE lms_owner IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO lms_app;
GRANT SELECT ON tenant_iso.organizations TO lms_app;

\echo
\echo '======================================================================'
\echo ' 3. Two organizations (tenants)'
\echo '======================================================================'
\echo 'Provisioning is not the application''s job: create_organization() is not'
\echo 'executable by PUBLIC. Here the superuser calls it.'
SELECT tenant_iso.create_organization('Alpha Academy', :'A') AS alpha_academy;
SELECT tenant_iso.create_organization('Beta Bootcamp', :'B') AS beta_bootcamp;

\echo
\echo '======================================================================'
\echo ' 4. The migration role creates the tables'
\echo '======================================================================'
\echo 'Plain CREATE TABLE statements with an "organization_id uuid NOT NULL" column.'
\echo 'tenant_iso''s schema check sets each one up: a unique key (organization_id, id)'
\echo 'that child tables reference and that serves as the index leading with'
\echo 'organization_id (the NOTICEs), a foreign key to the registry, forced row level'
\echo 'security with the two tenant policies, and the stamping trigger.'
SET ROLE lms_owner;
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    email           text NOT NULL,
    name            text NOT NULL,
    UNIQUE (organization_id, email)
);
CREATE TABLE courses (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    title           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
\echo 'Child tables reference (organization_id, id): a row can only point at a row of'
\echo 'its own organization.'
CREATE TABLE lessons (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    course_id       uuid NOT NULL,
    title           text NOT NULL,
    position        int NOT NULL DEFAULT 1,
    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) ON DELETE CASCADE
);
CREATE TABLE enrollments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    course_id       uuid NOT NULL,
    enrolled_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) ON DELETE CASCADE
);
CREATE TABLE assets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    lesson_id       uuid NOT NULL,
    url             text NOT NULL,
    bytes           bigint NOT NULL DEFAULT 0,
    FOREIGN KEY (organization_id, lesson_id) REFERENCES lessons (organization_id, id) ON DELETE CASCADE
);
RESET ROLE;
\echo 'What a tenant table looks like afterwards:'
\d courses

\echo
\echo '======================================================================'
\echo ' 5. The application connects: no tenant, no data'
\echo '======================================================================'
SET ROLE lms_app;
\echo 'Without a tenant, a statement on a tenant table is an error, not an empty or a'
\echo 'global result.  expected: refused'
\set ON_ERROR_STOP 0
SELECT count(*) FROM courses;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', 'TI001') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'A malformed tenant is refused when it is set.  expected: refused'
\set ON_ERROR_STOP 0
SET tenant.org_id = 'alpha-academy';
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '22P02') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'The application cannot provision organizations.  expected: refused'
\set ON_ERROR_STOP 0
SELECT tenant_iso.create_organization('Gamma Academy');
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42501') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries

\echo
\echo '======================================================================'
\echo ' 6. Alpha Academy writes its data: organization_id is stamped'
\echo '======================================================================'
\echo 'The application sets the tenant once (per session, or per transaction with'
\echo 'SET LOCAL / set_config(..., true)) and never mentions organization_id again.'
SET tenant.org_id = :'A';
INSERT INTO users (email, name) VALUES ('ada@alpha.test', 'Ada')
    RETURNING name, organization_id;
\echo 'An explicit NULL is stamped too (a column DEFAULT could not do that):'
INSERT INTO users (organization_id, email, name) VALUES (NULL, 'alan@alpha.test', 'Alan')
    RETURNING name, organization_id;
INSERT INTO courses (title) VALUES ('Algebra'), ('Astronomy');
INSERT INTO lessons (course_id, title)
    SELECT id, CASE title WHEN 'Algebra' THEN 'Variables' ELSE 'Stars' END FROM courses;
INSERT INTO enrollments (user_id, course_id)
    SELECT u.id, c.id FROM users u JOIN courses c
      ON (u.name, c.title) IN (('Ada', 'Algebra'), ('Alan', 'Astronomy'));
INSERT INTO assets (lesson_id, url, bytes)
    SELECT id, 'https://cdn.alpha.test/' || lower(title) || '.mp4', 1048576 FROM lessons;

\echo
\echo '======================================================================'
\echo ' 7. Beta Bootcamp writes its data, with the same statements'
\echo '======================================================================'
SET tenant.org_id = :'B';
INSERT INTO users (email, name) VALUES
    ('bea@beta.test', 'Bea'), ('ben@beta.test', 'Ben'), ('ada@alpha.test', 'Another Ada');
INSERT INTO courses (title) VALUES ('Biology');
INSERT INTO lessons (course_id, title, position)
    SELECT id, t.title, t.pos FROM courses, (VALUES ('Cells', 1), ('Roots', 2)) AS t (title, pos);
INSERT INTO enrollments (user_id, course_id) SELECT u.id, c.id FROM users u, courses c;
INSERT INTO assets (lesson_id, url) SELECT id, 'https://cdn.beta.test/cells.pdf' FROM lessons WHERE title = 'Cells';
\set ECHO none
\set QUIET on
SELECT id AS beta_course_id FROM courses WHERE title = 'Biology' \gset
SELECT id AS beta_user_id FROM users WHERE name = 'Bea' \gset
\set QUIET off
\set ECHO queries

\echo
\echo '======================================================================'
\echo ' 8. Each tenant sees only its own rows'
\echo '======================================================================'
\echo 'The same queries, no WHERE organization_id anywhere. As Alpha Academy:'
SET tenant.org_id = :'A';
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM courses) AS courses,
       (SELECT count(*) FROM lessons) AS lessons, (SELECT count(*) FROM enrollments) AS enrollments,
       (SELECT count(*) FROM assets) AS assets;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds((SELECT count(*) FROM users) = 2 AND (SELECT count(*) FROM courses) = 2
                 AND (SELECT count(*) FROM lessons) = 2 AND (SELECT count(*) FROM enrollments) = 2
                 AND (SELECT count(*) FROM assets) = 2
                 AND NOT EXISTS (SELECT 1 FROM users WHERE organization_id <> :'A')
                 AND NOT EXISTS (SELECT 1 FROM assets WHERE organization_id <> :'A'),
                 'Alpha Academy sees its 2 users, 2 courses, 2 lessons, 2 enrollments, 2 assets and nothing else') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
SELECT u.name, c.title AS course FROM enrollments e
    JOIN users u ON u.organization_id = e.organization_id AND u.id = e.user_id
    JOIN courses c ON c.organization_id = e.organization_id AND c.id = e.course_id
    ORDER BY u.name;
\echo 'The registry shows the tenant only its own organization:'
SELECT name FROM tenant_iso.organizations;
\echo 'As Beta Bootcamp:'
SET tenant.org_id = :'B';
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM courses) AS courses,
       (SELECT count(*) FROM lessons) AS lessons, (SELECT count(*) FROM enrollments) AS enrollments,
       (SELECT count(*) FROM assets) AS assets;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds((SELECT count(*) FROM users) = 3 AND (SELECT count(*) FROM courses) = 1
                 AND (SELECT count(*) FROM lessons) = 2 AND (SELECT count(*) FROM enrollments) = 3
                 AND (SELECT count(*) FROM assets) = 1
                 AND NOT EXISTS (SELECT 1 FROM courses WHERE organization_id <> :'B')
                 AND (SELECT count(*) FROM tenant_iso.organizations) = 1,
                 'Beta Bootcamp sees its 3 users, 1 course, 2 lessons, 3 enrollments, 1 asset and nothing else') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'An e-mail address both organizations use matches only the current tenant''s row:'
SELECT name FROM users WHERE email = 'ada@alpha.test';

\echo
\echo '======================================================================'
\echo ' 9. Another tenant''s row does not exist for you'
\echo '======================================================================'
\echo 'Alpha Academy knows the id of Beta''s course (leaked in a URL, say):'
SET tenant.org_id = :'A';
SELECT * FROM courses WHERE id = :'beta_course_id';
UPDATE courses SET title = 'Hijacked' WHERE id = :'beta_course_id';
DELETE FROM users WHERE id = :'beta_user_id';
\echo 'Naming the other organization explicitly does not help either:'
SELECT count(*) FROM courses WHERE organization_id = :'B';
\set ECHO none
\set QUIET on
SELECT pg_temp.holds(NOT EXISTS (SELECT 1 FROM courses WHERE id = :'beta_course_id')
                 AND NOT EXISTS (SELECT 1 FROM courses WHERE organization_id = :'B'),
                 'Beta''s rows are invisible to Alpha, by id and by organization_id') AS v \gset
\echo :v
SET tenant.org_id = :'B';
SELECT pg_temp.holds((SELECT title FROM courses WHERE id = :'beta_course_id') = 'Biology'
                 AND EXISTS (SELECT 1 FROM users WHERE id = :'beta_user_id'),
                 'Beta''s course is unchanged and Bea still exists (UPDATE 0, DELETE 0 above)') AS v \gset
\echo :v
SET tenant.org_id = :'A';
\set QUIET off
\set ECHO queries

\echo
\echo '======================================================================'
\echo '10. Writes cannot cross the boundary'
\echo '======================================================================'
\echo 'A spoofed organization_id on insert (Alpha working, Beta''s id given).  expected: refused'
\set ON_ERROR_STOP 0
INSERT INTO courses (organization_id, title) VALUES (:'B', 'Spoofed course');
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', 'TI003') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'Moving a row to another organization.  expected: refused'
\set ON_ERROR_STOP 0
UPDATE courses SET organization_id = :'B' WHERE title = 'Algebra';
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', 'TI003') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'A lesson of Alpha pointing at Beta''s course (the composite foreign key).  expected: refused'
\set ON_ERROR_STOP 0
INSERT INTO lessons (course_id, title) VALUES (:'beta_course_id', 'Smuggled');
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '23503') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'Switching tenants in the middle of a query.  expected: refused'
\set ON_ERROR_STOP 0
SELECT title FROM courses WHERE set_config('tenant.org_id', :'B', false) IS NOT NULL;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', 'TI002') AS v \gset
\echo :v
SELECT pg_temp.holds(tenant_iso.current_org_id() = :'A', 'the tenant is still Alpha Academy') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'TRUNCATE ignores row level security, so the application may not use it.  expected: refused'
\set ON_ERROR_STOP 0
TRUNCATE enrollments;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42501') AS v \gset
\echo :v
SET tenant.org_id = :'B';
SELECT pg_temp.holds((SELECT count(*) FROM courses) = 1 AND (SELECT count(*) FROM enrollments) = 3,
                 'Beta''s data is untouched by Alpha''s attempts') AS v \gset
\echo :v
SET tenant.org_id = :'A';
\set QUIET off
\set ECHO queries

\echo
\echo '======================================================================'
\echo '11. Prepared statements and plans follow the tenant'
\echo '======================================================================'
\echo 'The tenant is read once per execution, not per row and not when the plan is'
\echo 'made: the organization_id index serves the tenant condition, and one cached'
\echo 'generic plan serves every tenant.'
EXPLAIN (COSTS OFF) SELECT title FROM courses;
SET plan_cache_mode = force_generic_plan;
PREPARE course_titles AS SELECT title FROM courses ORDER BY title;
EXECUTE course_titles;
SET tenant.org_id = :'B';
EXECUTE course_titles;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds((SELECT count(*) FROM courses WHERE title = 'Biology') = 1
                 AND (SELECT count(*) FROM courses) = 1,
                 'the same prepared statement shows each tenant its own courses') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
DEALLOCATE course_titles;
RESET plan_cache_mode;
RESET ROLE;

\echo
\echo '======================================================================'
\echo '12. The schema is guarded too, even for the table owner'
\echo '======================================================================'
SET ROLE lms_owner;
SET tenant.org_id = :'A';
\echo 'The owner is bound by row level security (FORCE) like the application:'
SELECT count(*) AS courses_the_owner_sees FROM courses;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds((SELECT count(*) FROM courses) = 2, 'the owner sees only Alpha''s 2 courses') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'A table without organization_id.  expected: refused'
\set ON_ERROR_STOP 0
CREATE TABLE notes (id bigint PRIMARY KEY, body text);
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42P16') AS v \gset
\echo :v
SELECT pg_temp.holds(to_regclass('public.notes') IS NULL, 'nothing was created') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'A unique key without organization_id: its duplicate-key error would tell one'
\echo 'organization that another uses a value.  expected: refused'
\set ON_ERROR_STOP 0
CREATE TABLE coupons (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    code            text NOT NULL UNIQUE
);
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42P16') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'CREATE TABLE AS cannot declare NOT NULL.  expected: refused'
\set ON_ERROR_STOP 0
CREATE TABLE course_archive AS SELECT * FROM courses;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42P16') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'The escape hatch tenant_iso.unsafe_ddl is for superusers only.  expected: refused'
\set ON_ERROR_STOP 0
SET tenant_iso.unsafe_ddl = on;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42501') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'Turning row level security off.  expected: refused'
\set ON_ERROR_STOP 0
ALTER TABLE courses DISABLE ROW LEVEL SECURITY;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42P16') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'Dropping the tenant policy.  expected: refused'
\set ON_ERROR_STOP 0
DROP POLICY tenant_isolation ON courses;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42P16') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'Application policies may narrow access, never widen it (tenant_isolation is'
\echo 'RESTRICTIVE). A permissive policy of your own is fine:'
CREATE POLICY everything ON courses FOR SELECT USING (true);
RESET ROLE;
SET ROLE lms_app;
SELECT count(*) AS courses_seen_with_extra_policy FROM courses;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds((SELECT count(*) FROM courses) = 2,
                 'a permissive USING (true) policy does not widen the tenant boundary') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
RESET ROLE;
SET ROLE lms_owner;
DROP POLICY everything ON courses;
RESET ROLE;

\echo
\echo '======================================================================'
\echo '13. Global tables are exempted explicitly'
\echo '======================================================================'
\echo 'Data shared by every organization (here: pricing plans) lives in a table a'
\echo 'superuser exempts, with a reason that is recorded.'
SELECT tenant_iso.exempt_table('public.plans', 'pricing plans are shared by every organization');
SET ROLE lms_owner;
CREATE TABLE plans (code text PRIMARY KEY, monthly_cents int NOT NULL);
RESET ROLE;
SELECT schema_name, table_name, reason, exempted_by FROM tenant_iso.exemptions;

\echo
\echo '======================================================================'
\echo '14. Limits: who is not bound; and "no tenant" as zero rows'
\echo '======================================================================'
\echo 'Superusers and BYPASSRLS roles bypass row level security: PostgreSQL''s rule.'
\echo 'The superuser running this script, without any tenant, sees both tenants''
\echo 'courses. Never let the application connect as such a role.'
RESET tenant.org_id;
SELECT o.name AS organization, count(c.id) AS courses
    FROM tenant_iso.organizations o LEFT JOIN courses c ON c.organization_id = o.id
    GROUP BY o.name ORDER BY o.name;
\echo 'An application that prefers "no tenant = no rows" to an error can say so:'
SET ROLE lms_app;
SET tenant_iso.missing_context = 'empty';
SELECT count(*) AS courses_without_tenant FROM courses;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds((SELECT count(*) FROM courses) = 0, 'no tenant shows zero rows under missing_context = empty') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
RESET tenant_iso.missing_context;
RESET ROLE;

\echo
\echo '======================================================================'
\echo '15. An organization leaves'
\echo '======================================================================'
\echo 'drop_organization() deletes the organization and every row it owns in every'
\echo 'tenant table, and says how many tenant rows it removed (3+1+2+3+1 = 10).'
SELECT tenant_iso.drop_organization(:'B') AS tenant_rows_removed \gset
\echo 'tenant_rows_removed =' :tenant_rows_removed
SET tenant.org_id = :'A';
SET ROLE lms_app;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds(:tenant_rows_removed = 10, 'drop_organization removed Beta''s 10 rows') AS v \gset
\echo :v
SELECT pg_temp.holds((SELECT count(*) FROM users) = 2 AND (SELECT count(*) FROM assets) = 2,
                 'Alpha Academy keeps all its rows') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
RESET ROLE;


\echo
\echo '======================================================================'
\echo '16. Which tenant is loading the database?'
\echo '======================================================================'
\echo 'tenant_iso.tenant_stats counts, per organization, the statements on tenant'
\echo 'tables this walk-through ran, their rows and their time (superusers and'
\echo 'members of pg_read_all_stats only: it tells each tenant''s volume).'
SELECT coalesce(o.name, s.organization_id::text) AS organization, s.statements,
       s.rows_returned, s.rows_inserted, s.rows_updated, s.rows_deleted,
       round(s.total_exec_time::numeric, 2) AS total_ms
    FROM tenant_iso.tenant_stats s LEFT JOIN tenant_iso.organizations o ON o.id = s.organization_id
    ORDER BY s.statements DESC;
\set ECHO none
\set QUIET on
SELECT pg_temp.holds((SELECT statements FROM tenant_iso.tenant_stats WHERE organization_id = :'A') > 0,
                 'Alpha Academy''s statements are counted') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
\echo 'The application role asks for them.  expected: refused'
SET ROLE lms_app;
\set ON_ERROR_STOP 0
SELECT * FROM tenant_iso.tenant_stats;
\set ON_ERROR_STOP 1
\set ECHO none
\set QUIET on
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '42501') AS v \gset
\echo :v
\set QUIET off
\set ECHO queries
RESET ROLE;
