-- Missing tenant context: a statement on a tenant table by a role that row level security applies
-- to fails with SQLSTATE TI001 when no tenant is set - whether the table is empty or not, whatever
-- the plan - unless tenant_iso.missing_context = 'empty' (zero rows). Superusers and BYPASSRLS roles
-- bypass row level security (PostgreSQL's rule) and therefore see every tenant.
-- COPY ... TO STDOUT runs in psql only (not inside pgTAP's PL/pgSQL): captured from separate sessions.
\set copy_no_tenant `psql -X -q -d :DBNAME -c 'SET ROLE ti_app' -c 'COPY courses (title) TO STDOUT' 2>&1 | head -1`
\set copy_tenant_a `psql -X -q -d :DBNAME -c "SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a'" -c 'SET ROLE ti_app' -c 'COPY courses (title) TO STDOUT' 2>&1 | tr '\n' ','`

BEGIN;
SELECT plan(52);

\ir include/plan_of.sql

-- an empty tenant table, and one emptied by deleting every row
SET ROLE ti_owner;
CREATE TABLE empty_things (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, label text);
CREATE VIEW course_titles AS SELECT id, title FROM courses;
CREATE FUNCTION public.count_courses_definer() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = public, pg_temp AS 'SELECT count(*) FROM public.courses';
RESET ROLE;
DELETE FROM assets;      -- as superuser: every organization's assets are gone
ANALYZE assets;

RESET tenant.org_id;
SET ROLE ti_app;

------------------------------------------------------------------------------
-- SELECT / INSERT / UPDATE / DELETE without a tenant: TI001
------------------------------------------------------------------------------
SELECT throws_ok('SELECT * FROM courses', 'TI001', 'no tenant is set for this statement on tenant tables',
                 'SELECT without a tenant fails with TI001');
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('Orphan')$$, 'TI001', NULL, 'INSERT without a tenant fails with TI001');
SELECT throws_ok($$INSERT INTO courses (organization_id, title) VALUES ('0a000000-0000-4000-8000-00000000000a', 'Orphan')$$,
                 'TI001', NULL, 'INSERT naming an organization without a tenant fails with TI001');
SELECT throws_ok($$UPDATE courses SET title = 'x'$$, 'TI001', NULL, 'UPDATE without a tenant fails with TI001');
SELECT throws_ok($$DELETE FROM courses$$, 'TI001', NULL, 'DELETE without a tenant fails with TI001');
SELECT throws_ok($$UPDATE courses SET title = 'x' WHERE id = '2a000000-0000-4000-8000-000000000001'$$, 'TI001', NULL,
                 'UPDATE by id without a tenant fails with TI001');
SELECT throws_ok($$DELETE FROM courses WHERE id = '2b000000-0000-4000-8000-000000000001'$$, 'TI001', NULL,
                 'DELETE by id without a tenant fails with TI001');
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('Orphan') ON CONFLICT DO NOTHING$$, 'TI001', NULL,
                 'INSERT ... ON CONFLICT without a tenant fails with TI001');
SELECT throws_ok('SELECT count(*) FROM courses WHERE false', 'TI001', NULL,
                 'a query whose plan never reads the table (WHERE false) fails the same way');
SELECT throws_ok('SELECT 1 FROM courses LIMIT 0', 'TI001', NULL, 'LIMIT 0 fails the same way');
SELECT throws_ok('SELECT (SELECT count(*) FROM courses)', 'TI001', NULL, 'a sub-select on a tenant table fails the same way');
SELECT throws_ok('SELECT 1 WHERE EXISTS (SELECT 1 FROM users WHERE email = ''bea@beta.test'')', 'TI001', NULL,
                 'an EXISTS probe (existence oracle) fails the same way');
SELECT throws_ok('SELECT * FROM course_titles', 'TI001', NULL, 'a view over a tenant table (owned by ti_owner) fails the same way');
SELECT throws_ok('SELECT public.count_courses_definer()', 'TI001', NULL,
                 'a SECURITY DEFINER function of the table owner fails the same way');
SELECT throws_ok('EXPLAIN ANALYZE SELECT * FROM courses', NULL, NULL, 'EXPLAIN ANALYZE (which executes) fails too');
SELECT lives_ok('EXPLAIN SELECT * FROM courses', 'plain EXPLAIN (no execution) works without a tenant');
SELECT lives_ok('SELECT count(*) FROM pg_class', 'statements on non-tenant tables need no tenant');
SELECT is(:'copy_no_tenant'::text, 'ERROR:  no tenant is set for this statement on tenant tables',
          'COPY tenant_table TO STDOUT without a tenant fails with the TI001 error');
SELECT is(:'copy_tenant_a'::text, 'Algebra,Astronomy,', 'COPY tenant_table TO STDOUT with a tenant exports only its rows');

\ir include/error_of.sql
SELECT matches(pg_temp.error_of('SELECT * FROM courses'), 'TI001 \| .* \| .+ \| .*SET tenant\.org_id',
               'the TI001 error has a detail and a hint that shows SET tenant.org_id');

------------------------------------------------------------------------------
-- an empty table fails the same way
------------------------------------------------------------------------------
SELECT throws_ok('SELECT * FROM empty_things', 'TI001', NULL, 'SELECT on a never-filled tenant table fails with TI001');
SELECT throws_ok('DELETE FROM empty_things', 'TI001', NULL, 'DELETE on a never-filled tenant table fails with TI001');
SELECT throws_ok($$UPDATE empty_things SET label = 'x'$$, 'TI001', NULL, 'UPDATE on a never-filled tenant table fails with TI001');
SELECT throws_ok('SELECT * FROM assets', 'TI001', NULL, 'SELECT on a tenant table emptied by DELETE fails with TI001');
SELECT throws_ok('SELECT count(*) FROM assets WHERE id = ''5a000000-0000-4000-8000-000000000001''', 'TI001', NULL,
                 'a lookup by id on an emptied tenant table fails with TI001');

------------------------------------------------------------------------------
-- whatever the plan: index scan, index-only scan, sequential scan, bitmap scan
------------------------------------------------------------------------------
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT matches(pg_temp.plan_of($$SELECT * FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'$$), 'Index Scan',
               'sanity: with enable_seqscan off the lookup uses an index scan');
SELECT throws_ok($$SELECT * FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'$$, 'TI001', NULL,
                 'index scan plan: TI001');
SELECT matches(pg_temp.plan_of($$SELECT organization_id FROM courses WHERE organization_id = '0a000000-0000-4000-8000-00000000000a'$$),
               'Index', 'sanity: a lookup by organization_id uses an index');
SELECT throws_ok($$SELECT organization_id FROM courses WHERE organization_id = '0a000000-0000-4000-8000-00000000000a'$$, 'TI001', NULL,
                 'index plan on organization_id: TI001');
SELECT throws_ok($$SELECT * FROM empty_things WHERE id = '00000000-0000-4000-8000-000000000001'$$, 'TI001', NULL, 'index scan plan on an empty table: TI001');
RESET enable_seqscan;
RESET enable_bitmapscan;
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
SELECT matches(pg_temp.plan_of($$SELECT * FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'$$), 'Seq Scan',
               'sanity: with index scans off the lookup uses a sequential scan');
SELECT throws_ok($$SELECT * FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'$$, 'TI001', NULL,
                 'sequential scan plan: TI001');
SELECT throws_ok($$SELECT * FROM empty_things WHERE id = '00000000-0000-4000-8000-000000000001'$$, 'TI001', NULL, 'sequential scan plan on an empty table: TI001');
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;
SET enable_seqscan = off;
SET enable_indexscan = off;
SELECT matches(pg_temp.plan_of($$SELECT * FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'$$), 'Bitmap',
               'sanity: with seq and index scans off the lookup uses a bitmap scan');
SELECT throws_ok($$SELECT * FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'$$, 'TI001', NULL,
                 'bitmap scan plan: TI001');
RESET enable_seqscan;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- a statement prepared while a tenant was set fails once the tenant is gone
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
PREPARE count_courses AS SELECT count(*) FROM courses;
SELECT results_eq('count_courses', ARRAY[2::bigint], 'sanity: the prepared statement works with a tenant');
RESET tenant.org_id;
SELECT throws_ok('EXECUTE count_courses', 'TI001', NULL, 'the same prepared statement fails with TI001 after RESET');
DEALLOCATE count_courses;

-- the table owner is bound too
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok('SELECT * FROM courses', 'TI001', NULL, 'the table owner without a tenant: TI001');
SELECT throws_ok('DELETE FROM empty_things', 'TI001', NULL, 'the table owner without a tenant, empty table: TI001');
RESET ROLE;

------------------------------------------------------------------------------
-- tenant_iso.missing_context = 'empty': zero rows instead of an error
------------------------------------------------------------------------------
SET ROLE ti_app;
SET tenant_iso.missing_context = 'empty';
SELECT is((SELECT count(*) FROM courses), 0::bigint, 'missing_context = empty: SELECT returns zero rows');
SELECT is_empty($$SELECT * FROM courses WHERE id = '2b000000-0000-4000-8000-000000000001'$$,
                'missing_context = empty: a lookup by id returns zero rows');
SELECT is((SELECT count(*) FROM empty_things), 0::bigint, 'missing_context = empty: an empty table returns zero rows');
WITH u AS (UPDATE courses SET title = 'pwned' RETURNING 1) SELECT count(*) AS n_empty_upd FROM u \gset
SELECT is(:n_empty_upd::bigint, 0::bigint, 'missing_context = empty: UPDATE affects zero rows');
WITH d AS (DELETE FROM users RETURNING 1) SELECT count(*) AS n_empty_del FROM d \gset
SELECT is(:n_empty_del::bigint, 0::bigint, 'missing_context = empty: DELETE affects zero rows');
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('Orphan')$$, NULL, NULL,
                 'missing_context = empty: INSERT without a tenant still fails');
RESET tenant_iso.missing_context;
SELECT throws_ok('SELECT * FROM courses', 'TI001', NULL, 'RESET tenant_iso.missing_context restores the error');
RESET ROLE;

------------------------------------------------------------------------------
-- superusers and BYPASSRLS roles bypass row level security (PostgreSQL's rule)
------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM courses), 4::bigint, 'a superuser without a tenant sees every organization''s rows');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT is((SELECT count(*) FROM courses), 4::bigint, 'a superuser sees every organization''s rows even with a tenant set');
RESET tenant.org_id;
CREATE ROLE ti_bypass_040 NOSUPERUSER BYPASSRLS NOLOGIN;
GRANT SELECT ON courses TO ti_bypass_040;
SET ROLE ti_bypass_040;
SELECT is((SELECT count(*) FROM courses), 4::bigint, 'a BYPASSRLS role without a tenant sees every organization''s rows');
RESET ROLE;
-- the role loses BYPASSRLS in this session: tenant scoping applies to it from the next statement
ALTER ROLE ti_bypass_040 NOBYPASSRLS;
SET ROLE ti_bypass_040;
SELECT throws_ok('SELECT * FROM courses', 'TI001', NULL, '... after ALTER ROLE ... NOBYPASSRLS, the same role without a tenant gets TI001');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT is((SELECT count(*) FROM courses), 2::bigint, '... and with tenant A sees A''s rows only');
RESET tenant.org_id;
RESET ROLE;
SELECT is((SELECT count(*) FROM users WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 2::bigint,
          'sanity: nothing was changed by the attempts above (B''s users intact)');

SELECT * FROM finish();
ROLLBACK;
