-- Issue 13: statements and options that PostgreSQL 16, 17 and 18 added and that can create,
-- alter or bypass a tenant table, attacked on the versions that have them (psql's \if on the
-- server's version; the plan counts each version's part), and the one place where the server's
-- own order differs between releases (ON CONFLICT DO UPDATE ... WHERE), on every version.
--   every version  ON CONFLICT DO UPDATE ... WHERE on another tenant's existing row: 42501
--                  whatever the WHERE clause says (some releases evaluate it before the row
--                  level security check of that row, some after); ALTER COLUMN organization_id
--                  TYPE ... USING <another organization>; statistics of ANALYZE (pg_stats)
--   17 and later   MERGE ... WHEN NOT MATCHED BY SOURCE, MERGE ... RETURNING (merge_action()),
--                  MERGE into a view, ALTER COLUMN ... SET EXPRESSION (organization_id: TI003;
--                  another generated column: the expression rules), SET STATISTICS DEFAULT on an
--                  expression index column, the MAINTAIN privilege (ANALYZE, CLUSTER, REINDEX by
--                  the application role). COPY ... (ON_ERROR) is attacked in 730_copy_from.sql.
--   18 and later   NOT NULL constraints as catalog objects (DROP CONSTRAINT, NOT VALID, NO
--                  INHERIT), NOT ENFORCED constraints (a composite key between tenant tables, a foreign key
--                  without organization_id, a CHECK), virtual generated columns (organization_id
--                  itself, a user function, a column beside it), RETURNING old/new, temporal keys
--                  (WITHOUT OVERLAPS).
-- ALTER TABLE ... SPLIT/MERGE PARTITION is in no released version up to 18 (added and reverted
-- in 17's development): nothing to attack.
-- Attackers: ti_app and the table owner ti_owner working for A; B's rows must stay unseen and
-- unchanged. Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-...-00b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
BEGIN;
SELECT current_setting('server_version_num')::int >= 170000 AS pg17,
       current_setting('server_version_num')::int >= 180000 AS pg18 \gset
SELECT plan(9
            + CASE WHEN :'pg17'::bool THEN 25 ELSE 0 END
            + CASE WHEN :'pg18'::bool THEN 21 ELSE 0 END);

\ir include/err.sql
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;
\ir include/undone.sql
GRANT EXECUTE ON FUNCTION pg_temp.undone(text) TO PUBLIC;
\ir include/b_rows.sql
SELECT pg_temp.b_rows() AS b_before \gset
\ir include/violations.sql
-- counters that a rollback does not reset: the rows of A, and of anyone else, a function was given
CREATE SEQUENCE public.seen_own;
CREATE SEQUENCE public.seen_other;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.seen_own, public.seen_other TO PUBLIC;
CREATE FUNCTION public.saw(org uuid, val text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF org IS NOT DISTINCT FROM tenant_iso.current_org_id() THEN
        PERFORM nextval('public.seen_own');
    ELSE
        RAISE NOTICE 'saw another tenant''s row: % %', org, val;
        PERFORM nextval('public.seen_other');
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION public.saw_text(org uuid, val text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN public.saw(org, val) THEN val END $$;
\ir include/seen.sql
GRANT EXECUTE ON FUNCTION pg_temp.seen() TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app, ti_owner;
SET client_min_messages = warning;

------------------------------------------------------------------------------
-- every version
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'x')
                          ON CONFLICT (id) DO UPDATE SET title = 'pwned' WHERE false$$),
          'ERROR 42501', 'ON CONFLICT DO UPDATE ... WHERE false on B''s id: refused (42501), as without the WHERE clause, on every version');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'x')
                          ON CONFLICT (id) DO UPDATE SET title = 'pwned' WHERE public.saw(courses.organization_id, courses.title)$$),
          'ERROR 42501', 'ON CONFLICT DO UPDATE ... WHERE <function of the existing row> on B''s id: refused (42501)');
SELECT is(pg_temp.seen(), 'own=0 other=0', '... and the WHERE clause was never given B''s row');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2a000000-0000-4000-8000-000000000001', 'x')
                          ON CONFLICT (id) DO UPDATE SET title = 'pwned' WHERE false$$),
          '0', 'control: on A''s own id the WHERE clause still decides (false: nothing updated, no error)');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2a000000-0000-4000-8000-000000000001', 'x')
                          ON CONFLICT (id) DO UPDATE SET title = 'Algebra II' WHERE courses.title = 'Algebra'$$),
          '1', 'control: on A''s own id a WHERE clause that holds updates the row');
RESET ROLE;
SET ROLE ti_owner;
SELECT is((pg_temp.err(format($$ALTER TABLE courses ALTER COLUMN organization_id TYPE uuid USING %L::uuid$$, :'B')))[1],
          '0A000', 'ALTER COLUMN organization_id TYPE ... USING <B>: refused (the policy depends on the column)');
RESET ROLE;
ANALYZE courses;
SELECT ok((SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'courses') > 0,
          'sanity: ANALYZE collected statistics of courses');
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'courses'), 0::bigint,
          'ti_app sees none of them in pg_stats (they describe every tenant''s rows)');
RESET ROLE;

------------------------------------------------------------------------------
-- 17 and later
------------------------------------------------------------------------------
\if :pg17
SET tenant.org_id = :'A';
SET ROLE ti_app;
-- MERGE ... WHEN NOT MATCHED BY SOURCE: the target rows no source row matched
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (SELECT 1 WHERE false) s(x) ON true
                          WHEN NOT MATCHED BY SOURCE THEN DELETE$$),
          '2', 'MERGE ... WHEN NOT MATCHED BY SOURCE THEN DELETE (empty source): A''s 2 courses, none of B''s');
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (SELECT 1 WHERE false) s(x) ON true
                          WHEN NOT MATCHED BY SOURCE AND public.saw(c.organization_id, c.title) THEN UPDATE SET title = c.title$$),
          '2', 'MERGE ... WHEN NOT MATCHED BY SOURCE AND <function> THEN UPDATE: A''s 2 courses');
SELECT is(pg_temp.seen(), 'own=2 other=0', '... and the condition was given A''s rows only');
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000001'::uuid, 'x')) s(id, t) ON c.id = s.id
                          WHEN MATCHED THEN UPDATE SET title = 'pwned'
                          WHEN NOT MATCHED BY SOURCE THEN DELETE
                          WHEN NOT MATCHED BY TARGET THEN INSERT (title) VALUES (s.t)$$),
          '3', 'MERGE ON B''s id with MATCHED / NOT MATCHED BY SOURCE / BY TARGET: A''s 2 rows deleted, 1 inserted, B''s row not matched');
SELECT is(pg_temp.undone($$MERGE INTO users u USING (VALUES ('bob@beta.test')) s(email) ON u.email = s.email
                          WHEN NOT MATCHED BY SOURCE AND u.name LIKE 'B%' THEN DELETE$$),
          '0', 'MERGE ... WHEN NOT MATCHED BY SOURCE AND <a condition true for B''s users only>: nothing');
-- MERGE ... RETURNING
SELECT results_eq($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN UPDATE SET title = c.title
                    RETURNING merge_action() || ' ' || c.organization_id$$,
                  ARRAY['UPDATE ' || :'A', 'UPDATE ' || :'A'],
                  'MERGE ... ON true ... RETURNING merge_action(), organization_id: A''s 2 rows only');
SELECT results_eq($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000002'::uuid)) s(id) ON c.id = s.id
                    WHEN MATCHED THEN DELETE
                    WHEN NOT MATCHED THEN DO NOTHING
                    RETURNING merge_action() || ' ' || c.title$$,
                  ARRAY[]::text[],
                  'MERGE ... ON B''s id WHEN MATCHED THEN DELETE RETURNING: nothing returned');
SELECT results_eq($$MERGE INTO courses c USING (SELECT 'merged' AS t) s ON false WHEN NOT MATCHED THEN INSERT (title) VALUES (s.t)
                    RETURNING merge_action() || ' ' || c.organization_id$$,
                  ARRAY['INSERT ' || :'A'],
                  'MERGE ... WHEN NOT MATCHED THEN INSERT ... RETURNING: the row is stamped with A');
DELETE FROM courses WHERE title = 'merged';
-- MERGE into a view over a tenant table (a view that reads tenant tables gets security_invoker)
RESET ROLE;
SET ROLE ti_owner;
CREATE VIEW course_list AS SELECT * FROM courses;
GRANT SELECT, INSERT, UPDATE, DELETE ON course_list TO ti_app;
RESET ROLE;
SET ROLE ti_app;
SELECT is(pg_temp.undone($$MERGE INTO course_list c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE$$),
          '2', 'MERGE INTO <view over courses> ON true WHEN MATCHED THEN DELETE: A''s 2 courses only');
SELECT is(pg_temp.undone($$MERGE INTO course_list c USING (SELECT 1 WHERE false) s(x) ON true
                          WHEN NOT MATCHED BY SOURCE AND public.saw(c.organization_id, c.title) THEN UPDATE SET title = 'pwned'$$),
          '2', 'MERGE INTO <view> ... WHEN NOT MATCHED BY SOURCE: A''s 2 courses only');
SELECT is(pg_temp.seen(), 'own=2 other=0', '... and the condition was given A''s rows only');
RESET ROLE;

-- ALTER COLUMN ... SET EXPRESSION: organization_id generated from a constant (accepted, see
-- 710_odd_ddl.sql); the owner may reference the registry, so that only tenant_iso stands in the way
GRANT SELECT, REFERENCES ON tenant_iso.organizations TO ti_owner;
SET ROLE ti_owner;
CREATE TABLE gen_org (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                      organization_id uuid NOT NULL GENERATED ALWAYS AS ('0a000000-0000-4000-8000-00000000000a'::uuid) STORED,
                      secret text NOT NULL,
                      tag text GENERATED ALWAYS AS (lower(secret)) STORED);
GRANT SELECT, INSERT ON gen_org TO ti_app;
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO gen_org (secret) VALUES ('A secret');
RESET ROLE;
SET ROLE ti_owner;
SELECT is((pg_temp.err(format($$ALTER TABLE gen_org ALTER COLUMN organization_id SET EXPRESSION AS (%L::uuid)$$, :'B')))[1],
          'TI003', 'ALTER COLUMN organization_id SET EXPRESSION AS (<B>): refused (TI003), it would move A''s rows to B');
SELECT is((pg_temp.err(format($$ALTER TABLE courses ALTER COLUMN organization_id SET EXPRESSION AS (%L::uuid)$$, :'B')))[1],
          'TI003', 'SET EXPRESSION on the organization_id of an ordinary tenant table: refused (TI003)');
RESET ROLE;
SELECT is((SELECT string_agg(organization_id || ' ' || secret, ',') FROM gen_org), :'A' || ' A secret',
          'gen_org''s row still belongs to A');
SET ROLE ti_owner;
SELECT (pg_temp.err($$ALTER TABLE gen_org ADD COLUMN tag2 text GENERATED ALWAYS AS (public.saw_text(organization_id, secret)) STORED$$))[1]
       AS add_generated_refusal \gset
SELECT pg_temp.seen() AS reset1 \gset
SELECT is((pg_temp.err($$ALTER TABLE gen_org ALTER COLUMN tag SET EXPRESSION AS (public.saw_text(organization_id, secret))$$))[1],
          :'add_generated_refusal', 'SET EXPRESSION AS (<a function that is not leakproof>) on another generated column: refused as ADD COLUMN ... GENERATED with it is');
SELECT ok(:'add_generated_refusal' IS NOT NULL, '(ADD COLUMN ... GENERATED ALWAYS AS (<that function>) STORED is refused)');
SELECT ok(pg_temp.seen() LIKE '% other=0', '... and neither gave the function a row of B (refused before the table is rewritten)');
SELECT lives_ok($$ALTER TABLE gen_org ALTER COLUMN tag SET EXPRESSION AS (upper(secret))$$,
                'SET EXPRESSION AS (<a built-in immutable function>): accepted');
RESET ROLE;
SELECT is(pg_temp.violations('gen_org'), '', 'gen_org is a complete tenant table');

-- SET STATISTICS DEFAULT (17) on an expression column of an index: statistics on
SET ROLE ti_owner;
CREATE INDEX courses_lower_title ON courses (organization_id, lower(title));
SELECT is((pg_temp.err($$ALTER INDEX courses_lower_title ALTER COLUMN 2 SET STATISTICS DEFAULT$$))[1],
          '42P16', 'ALTER INDEX ... ALTER COLUMN 2 SET STATISTICS DEFAULT on an expression column: refused (42P16)');
DROP INDEX courses_lower_title;

-- the MAINTAIN privilege (17): ANALYZE, CLUSTER, REINDEX by the application role
GRANT MAINTAIN ON courses TO ti_app;
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT lives_ok($$ANALYZE courses$$, 'MAINTAIN: ti_app may ANALYZE courses');
SELECT is((SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'courses'), 0::bigint,
          '... and still sees none of the statistics in pg_stats');
SELECT lives_ok($$CLUSTER courses USING courses_pkey$$, 'MAINTAIN: ti_app may CLUSTER courses');
SELECT lives_ok($$REINDEX TABLE courses$$, 'MAINTAIN: ti_app may REINDEX courses');
SELECT is((SELECT string_agg(title, ',' ORDER BY title) FROM courses), 'Algebra,Astronomy',
          'after them ti_app still reads A''s courses only');
RESET ROLE;
\endif

------------------------------------------------------------------------------
-- 18 and later
------------------------------------------------------------------------------
\if :pg18
SET ROLE ti_owner;
-- NOT NULL constraints as catalog objects
SELECT is((pg_temp.err($$ALTER TABLE courses DROP CONSTRAINT courses_organization_id_not_null$$))[1],
          '42P16', 'DROP CONSTRAINT <the not-null constraint of organization_id>: refused (42P16)');
SELECT is((pg_temp.err($$ALTER TABLE courses ALTER COLUMN organization_id DROP NOT NULL,
                           ADD CONSTRAINT org_nn NOT NULL organization_id NOT VALID$$))[1],
          '42P16', 'DROP NOT NULL, then ADD CONSTRAINT ... NOT NULL organization_id NOT VALID: refused (42P16)');
SELECT lives_ok($$ALTER TABLE courses ALTER CONSTRAINT courses_organization_id_not_null NO INHERIT$$,
                'ALTER CONSTRAINT <the not-null constraint> NO INHERIT: accepted');
SELECT is((SELECT attnotnull FROM pg_attribute WHERE attrelid = 'courses'::regclass AND attname = 'organization_id'), true,
          '... organization_id is still NOT NULL');
-- NOT ENFORCED constraints
SELECT lives_ok($$ALTER TABLE lessons ALTER CONSTRAINT lessons_organization_id_course_id_fkey NOT ENFORCED$$,
                'ALTER CONSTRAINT <a composite key between tenant tables> NOT ENFORCED: accepted (an unchecked key tells nothing)');
RESET ROLE;
SELECT is(pg_temp.violations('lessons'), '', '... lessons still passes every check');
SET ROLE ti_owner;
SELECT is((pg_temp.err($$ALTER TABLE lessons ADD FOREIGN KEY (course_id) REFERENCES courses (id) NOT ENFORCED$$))[1],
          '42P16', 'a foreign key to a tenant table without organization_id, NOT ENFORCED: refused as an enforced one (42P16)');
SELECT is((pg_temp.err($$ALTER TABLE courses ADD CONSTRAINT saw_check CHECK (public.saw(organization_id, title)) NOT ENFORCED$$))[1],
          '42501', 'a CHECK calling a function that is not leakproof, NOT ENFORCED: refused as an enforced one (42501)');
-- virtual generated columns
SELECT is((pg_temp.err(format($$CREATE TABLE virt_org (id uuid PRIMARY KEY,
                                  organization_id uuid NOT NULL GENERATED ALWAYS AS (%L::uuid) VIRTUAL)$$, :'A')))[1],
          '0A000', 'organization_id as a virtual generated column: refused (0A000: it cannot carry the key, index and foreign key)');
SELECT is((pg_temp.err(format($$CREATE TABLE virt_org2 (organization_id uuid NOT NULL GENERATED ALWAYS AS (%L::uuid) VIRTUAL, note text)$$, :'A')))[1],
          '0A000', 'the same without a primary key: refused (0A000)');
SELECT hasnt_table('public', 'virt_org', 'the refused tables do not exist');
SELECT is((pg_temp.err($$ALTER TABLE courses ADD COLUMN spied text GENERATED ALWAYS AS (public.saw_text(organization_id, title)) VIRTUAL$$))[1],
          '0A000', 'a virtual generated column calling a user function: refused (0A000)');
SELECT lives_ok($$ALTER TABLE courses ADD COLUMN title_uc text GENERATED ALWAYS AS (upper(title)) VIRTUAL$$,
                'a virtual generated column of a built-in function beside organization_id: accepted');
RESET ROLE;
SELECT is(pg_temp.violations('courses'), '', 'courses is a complete tenant table');
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT is((SELECT string_agg(title_uc, ',' ORDER BY title_uc) FROM courses), 'ALGEBRA,ASTRONOMY',
          'ti_app reads the virtual column of A''s rows only');
SELECT is((SELECT count(*) FROM courses WHERE title_uc LIKE 'B%'), 0::bigint,
          'a condition on the virtual column finds none of B''s rows');
-- RETURNING old / new
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'x')
                          ON CONFLICT (id) DO UPDATE SET title = 'pwned' RETURNING old.title$$),
          'ERROR 42501', 'ON CONFLICT DO UPDATE ... RETURNING old.* on B''s id: refused (42501)');
WITH u AS (UPDATE courses SET title = title RETURNING old.organization_id || ' ' || old.title AS r)
SELECT is(string_agg(r, ',' ORDER BY r), :'A' || ' Algebra,' || :'A' || ' Astronomy', 'UPDATE ... RETURNING old.*: A''s rows only') FROM u;
WITH m AS (MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN UPDATE SET title = c.title
           RETURNING old.organization_id || ' ' || new.title AS r)
SELECT is(string_agg(r, ',' ORDER BY r), :'A' || ' Algebra,' || :'A' || ' Astronomy', 'MERGE ... RETURNING old.*, new.*: A''s rows only') FROM m;
WITH d AS (DELETE FROM courses WHERE title LIKE '%o%' RETURNING old.title AS r)
SELECT is(string_agg(r, ',' ORDER BY r), 'Astronomy', 'DELETE ... RETURNING old.*: A''s rows only (B''s Biology and Botany not deleted)') FROM d;
RESET ROLE;
-- temporal keys (WITHOUT OVERLAPS)
CREATE EXTENSION IF NOT EXISTS btree_gist;
SET ROLE ti_owner;
SELECT is((pg_temp.err($$CREATE TABLE rooms (id bigint, organization_id uuid NOT NULL, during tstzrange NOT NULL,
                                             PRIMARY KEY (id, during WITHOUT OVERLAPS))$$))[1],
          '42P16', 'a temporal primary key (WITHOUT OVERLAPS) without organization_id: refused (42P16)');
RESET ROLE;
\endif

------------------------------------------------------------------------------
RESET ROLE;
SELECT is(pg_temp.b_rows(), :'b_before', 'B''s rows are unchanged');
SELECT * FROM finish();
ROLLBACK;
