-- Attack family: side channels.
--  * leaky user functions: a non-leakproof PL/pgSQL function, created by ti_app itself, that
--    records every value it is called with (in a temporary table and a setting, and by RAISE
--    NOTICE) is placed in WHERE clauses, join conditions, ORDER BY, UPDATE / DELETE / MERGE, under
--    sequential, index and bitmap plans: it must never see B's values (row level security quals
--    are security barriers: evaluated first, and leakproof operators only may run before them);
--  * error side channels: an expression that fails (division by zero, bad cast, bad regex) only
--    for B's rows must never fail;
--  * SET row_security = off: queries on tenant tables fail instead of running unfiltered;
--  * EXPLAIN ANALYZE: its row counts ("Rows Removed by Filter") count other tenants' rows, so it
--    is refused (42501) for roles that RLS applies to unless a superuser allows it with
--    tenant_iso.allow_explain_analyze; plain EXPLAIN stays available;
--  * pg_stats, pg_stats_ext, pg_stats_ext_exprs: no rows for tenant tables (their most common
--    values would be other tenants' values); pg_statistic itself is not readable.
-- Residual signals PostgreSQL itself leaves (estimates of plain EXPLAIN, reltuples, ...) are in
-- docs/limits.md. Attackers: ti_app and ti_owner working for A.
BEGIN;
SELECT plan(59);

\ir include/b_rows.sql
\ir include/err.sql
\ir include/explain_lines.sql
-- more rows, so that every plan shape is reachable, and a secondary index on title
-- (not leading with organization_id: its index condition runs before the tenant filter)
SET client_min_messages = error;
INSERT INTO courses (organization_id, title)
    SELECT CASE WHEN i % 2 = 0 THEN '0a000000-0000-4000-8000-00000000000a'::uuid ELSE '0b000000-0000-4000-8000-00000000000b'::uuid END,
           CASE WHEN i % 2 = 0 THEN 'A filler ' ELSE 'B filler ' END || i
    FROM generate_series(1, 400) i;
CREATE INDEX courses_title_idx ON courses (title);
CREATE INDEX users_email_idx ON users (email);
RESET client_min_messages;
ANALYZE courses, users;
SELECT pg_temp.b_rows() AS b_before \gset

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;

------------------------------------------------------------------------------
-- leaky functions, created by ti_app
------------------------------------------------------------------------------
CREATE TEMP TABLE seen (v text);
CREATE FUNCTION pg_temp.spy(v text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    INSERT INTO seen VALUES (v);
    PERFORM set_config('ti.seen', COALESCE(current_setting('ti.seen', true), '') || '|' || v, false);
    RAISE NOTICE 'spy saw %', v;
    RETURN true;
END
$$;
-- B's values: titles Biology, Botany, 'B filler ...'; e-mail bea@beta.test
CREATE FUNCTION pg_temp.saw_b() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM seen WHERE v IN ('Biology', 'Botany', 'bea@beta.test', 'Another Ada', 'Cells', 'Roots') OR v LIKE 'B filler%'
$$;
SET client_min_messages = warning;

SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT ok((SELECT string_agg(p, ' ') FROM pg_temp.explain_lines($$SELECT * FROM courses WHERE pg_temp.spy(title) AND title >= 'A'$$) p)
          LIKE '%Seq Scan%', 'plan 1 is a sequential scan');
SELECT is((SELECT count(*) FROM courses WHERE pg_temp.spy(title) AND title >= 'A'), 202::bigint, 'seq scan: A''s 202 courses match');
SELECT is(pg_temp.saw_b(), 0::bigint, 'seq scan: the leaky function saw none of B''s titles');
RESET enable_indexscan;
RESET enable_bitmapscan;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT ok((SELECT string_agg(p, ' ') FROM pg_temp.explain_lines($$SELECT * FROM courses WHERE pg_temp.spy(title) AND title >= 'Bi'$$) p)
          LIKE '%Index Scan using courses_title_idx%', 'plan 2 is an index scan on title');
SELECT is((SELECT count(*) FROM courses WHERE pg_temp.spy(title) AND title >= 'Bi'), 0::bigint, 'index scan: no course of A matches');
SELECT is(pg_temp.saw_b(), 0::bigint, 'index scan: the leaky function saw none of B''s titles');
RESET enable_bitmapscan;
SET enable_indexscan = off;
SELECT ok((SELECT string_agg(p, ' ') FROM pg_temp.explain_lines($$SELECT * FROM courses WHERE pg_temp.spy(title) AND title >= 'Bi'$$) p)
          LIKE '%Bitmap Heap Scan%', 'plan 3 is a bitmap scan');
SELECT is((SELECT count(*) FROM courses WHERE pg_temp.spy(title) AND title >= 'Bi'), 0::bigint, 'bitmap scan: no course of A matches');
SELECT is(pg_temp.saw_b(), 0::bigint, 'bitmap scan: the leaky function saw none of B''s titles');
RESET enable_seqscan;
RESET enable_indexscan;

SELECT is((SELECT count(*) FROM users u JOIN enrollments e ON e.organization_id = u.organization_id AND e.user_id = u.id AND pg_temp.spy(u.email)),
          2::bigint, 'join condition: A''s 2 enrollments');
SELECT is((SELECT count(*) FROM (SELECT name FROM users ORDER BY pg_temp.spy(name)) s), 2::bigint, 'ORDER BY: A''s 2 users');
SELECT is((SELECT count(*) FROM lessons WHERE EXISTS (SELECT 1 FROM courses c WHERE pg_temp.spy(c.title) AND c.id = lessons.course_id)),
          2::bigint, 'EXISTS sub-select: A''s 2 lessons');
WITH u AS (UPDATE courses SET title = title WHERE pg_temp.spy(title) AND title LIKE 'B%' RETURNING 1)
SELECT is(count(*), 0::bigint, 'UPDATE ... WHERE leaky(...): no row of A matches') FROM u;
WITH d AS (DELETE FROM lessons WHERE pg_temp.spy(title) AND title IN ('Cells', 'Roots') RETURNING 1)
SELECT is(count(*), 0::bigint, 'DELETE ... WHERE leaky(...): nothing deleted') FROM d;
SELECT lives_ok($$MERGE INTO courses c USING (SELECT 1 AS x) s ON pg_temp.spy(c.title) AND c.title = 'Biology'
                  WHEN MATCHED THEN UPDATE SET title = c.title$$, 'MERGE ... ON leaky(...) runs');
SELECT is(pg_temp.saw_b(), 0::bigint, 'join, ORDER BY, sub-select, UPDATE, DELETE, MERGE: the leaky function saw none of B''s values');
SELECT ok(current_setting('ti.seen') NOT LIKE '%Biology%' AND current_setting('ti.seen') NOT LIKE '%bea@beta%',
          'nor did it record any in a setting');
SELECT ok((SELECT count(*) FROM seen) > 200, 'control: the leaky function did record A''s values (it ran)');

------------------------------------------------------------------------------
-- error side channels
------------------------------------------------------------------------------
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT lives_ok($$SELECT count(*) FROM courses WHERE title = 'Botany' AND 1 / (length(title) - 6) > 0$$,
                'index scan on B''s title: a division by zero that only B''s row would trigger does not fire');
RESET enable_bitmapscan;
SET enable_indexscan = off;
SELECT lives_ok($$SELECT count(*) FROM courses WHERE title = 'Botany' AND 1 / (length(title) - 6) > 0$$,
                'bitmap scan: the same division by zero does not fire');
RESET enable_seqscan;
RESET enable_indexscan;
SELECT lives_ok($$SELECT count(*) FROM courses WHERE CASE WHEN title = 'Biology' THEN 1 / (length(title) - 7) = 1 ELSE true END$$,
                'seq scan: CASE WHEN <B''s title> THEN <division by zero> does not fire');
SELECT lives_ok($$SELECT count(*) FROM courses WHERE CASE WHEN title LIKE 'B%' THEN title::int > 0 ELSE false END$$,
                'a cast that fails only on B''s titles does not fire');
SELECT lives_ok($$SELECT count(*) FROM users WHERE email ~ CASE WHEN email = 'bea@beta.test' THEN '(' ELSE 'x' END$$,
                'an invalid regular expression chosen only for B''s e-mail does not fire');
SELECT lives_ok($$SELECT count(*) FROM courses c JOIN lessons l ON l.organization_id = c.organization_id AND l.course_id = c.id
                  AND 1 / (length(c.title) - 7) > 0 AND c.title <> 'Algebra'$$,
                'a join condition that fails only on B''s course Biology does not fire');
SELECT lives_ok($$SELECT sum(1 / (length(title) - 6)) FROM courses WHERE title NOT LIKE 'A filler%'$$,
                'an aggregate argument that fails only on B''s course Botany does not fire');
SELECT lives_ok($$SELECT title FROM courses WHERE title NOT LIKE 'A filler%' ORDER BY 1 / (length(title) - 6)$$,
                'an ORDER BY expression that fails only on Botany does not fire');
SELECT lives_ok($$UPDATE courses SET title = title WHERE title = 'Botany' AND 1 / (length(title) - 6) > 0$$,
                'UPDATE: a WHERE clause that fails only on Botany does not fire');
SELECT throws_ok($$SELECT count(*) FROM courses WHERE title = 'Astronomy' AND 1 / (length(title) - 9) > 0$$, '22012', NULL,
                 'control: the same expression on A''s own row does fire');

------------------------------------------------------------------------------
-- SET row_security = off
------------------------------------------------------------------------------
SELECT lives_ok($$SET row_security = off$$, 'ti_app may set row_security = off');
SELECT throws_ok($$SELECT * FROM courses$$, '42501', NULL, 'ti_app: with row_security = off SELECT on a tenant table fails (42501)');
SELECT throws_ok($$UPDATE users SET name = name$$, '42501', NULL, 'ti_app: with row_security = off UPDATE fails (42501)');
SELECT throws_ok($$SELECT count(*) FROM tenant_iso.organizations$$, '42501', NULL,
                 'ti_app: with row_security = off the registry is not readable either');
RESET row_security;
RESET ROLE;
SET ROLE ti_owner;
SET row_security = off;
SELECT throws_ok($$SELECT * FROM courses$$, '42501', NULL, 'ti_owner: with row_security = off SELECT on its own tenant table fails (42501)');
RESET row_security;
RESET ROLE;

------------------------------------------------------------------------------
-- EXPLAIN ANALYZE
------------------------------------------------------------------------------
PREPARE q_user(text) AS SELECT * FROM users WHERE email = $1;
CREATE VIEW v_users AS SELECT * FROM users;
GRANT SELECT ON v_users TO ti_app;
SET ROLE ti_app;
SELECT throws_ok($$EXPLAIN ANALYZE SELECT * FROM users WHERE email = 'bea@beta.test'$$, '42501', NULL,
                 'ti_app: EXPLAIN ANALYZE of a query on users is refused (42501)');
SELECT throws_ok($$EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) SELECT * FROM users WHERE email = 'bea@beta.test'$$, '42501', NULL,
                 'ti_app: EXPLAIN (ANALYZE, TIMING off, ...) is refused');
SELECT throws_ok($$EXPLAIN (ANALYZE true, BUFFERS true) SELECT count(*) FROM courses WHERE title >= 'B'$$, '42501', NULL,
                 'ti_app: EXPLAIN (ANALYZE true, BUFFERS true) is refused');
SELECT throws_ok($$EXPLAIN ANALYZE SELECT * FROM v_users WHERE email = 'bea@beta.test'$$, '42501', NULL,
                 'ti_app: EXPLAIN ANALYZE through a view is refused');
SELECT throws_ok($$EXPLAIN ANALYZE EXECUTE q_user('bea@beta.test')$$, '42501', NULL,
                 'ti_app: EXPLAIN ANALYZE EXECUTE of a prepared statement is refused');
SELECT throws_ok($$DO 'DECLARE r record; BEGIN FOR r IN EXECUTE ''EXPLAIN ANALYZE SELECT * FROM users WHERE email = ''''bea@beta.test'''''' LOOP END LOOP; END'$$,
                 '42501', NULL, 'ti_app: EXPLAIN ANALYZE from PL/pgSQL is refused');
SELECT throws_ok($$EXPLAIN ANALYZE DELETE FROM courses WHERE id = '2b000000-0000-4000-8000-000000000001'$$, '42501', NULL,
                 'ti_app: EXPLAIN ANALYZE of a DELETE is refused');
SELECT lives_ok($$EXPLAIN SELECT * FROM users WHERE email = 'bea@beta.test'$$, 'ti_app: plain EXPLAIN is allowed');
SELECT lives_ok($$EXPLAIN (ANALYZE false, COSTS off) SELECT * FROM users$$, 'ti_app: EXPLAIN (ANALYZE false) is allowed');
SELECT lives_ok($$EXPLAIN ANALYZE SELECT count(*) FROM generate_series(1, 3)$$, 'ti_app: EXPLAIN ANALYZE of a query on no tenant table is allowed');
SELECT throws_ok($$SET tenant_iso.allow_explain_analyze = on$$, '42501', NULL, 'ti_app cannot set tenant_iso.allow_explain_analyze');
SELECT throws_ok($$ALTER ROLE ti_app SET tenant_iso.allow_explain_analyze = on$$, '42501', NULL,
                 'ti_app cannot ALTER ROLE itself to allow EXPLAIN ANALYZE');
SELECT throws_ok($$LOAD 'auto_explain'$$, '42501', NULL, 'ti_app cannot LOAD auto_explain (a server-side EXPLAIN ANALYZE)');
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok($$EXPLAIN ANALYZE SELECT * FROM users WHERE email = 'bea@beta.test'$$, '42501', NULL,
                 'ti_owner: EXPLAIN ANALYZE is refused too');
RESET ROLE;
SELECT lives_ok($$EXPLAIN ANALYZE SELECT * FROM users WHERE email = 'bea@beta.test'$$, 'superuser: EXPLAIN ANALYZE is allowed');
SELECT lives_ok($$ALTER ROLE ti_app SET tenant_iso.allow_explain_analyze = on$$,
                'superuser: ALTER ROLE ti_app SET tenant_iso.allow_explain_analyze = on is accepted');
SET tenant_iso.allow_explain_analyze = on;
SET ROLE ti_app;
SELECT lives_ok($$EXPLAIN ANALYZE SELECT * FROM users WHERE email = 'bea@beta.test'$$,
                'ti_app: with tenant_iso.allow_explain_analyze on (set by a superuser), EXPLAIN ANALYZE is allowed');
RESET ROLE;
RESET tenant_iso.allow_explain_analyze;

------------------------------------------------------------------------------
-- statistics views
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE STATISTICS courses_org_title_stx (ndistinct, dependencies, mcv) ON organization_id, title FROM courses;
-- statistics on expressions are refused: ANALYZE would run the expressions over every tenant's
-- rows, and pg_stats_ext_exprs showed them to every role before PostgreSQL 15.7 / 16.3
SELECT throws_ok($$CREATE STATISTICS users_lower_email_stx ON (lower(email)) FROM users$$, '42501', NULL,
                 'ti_owner: CREATE STATISTICS on an expression of a tenant table is refused');
RESET ROLE;
CREATE STATISTICS users_email_name_stx (ndistinct) ON email, name FROM users;
ANALYZE courses, users;
SELECT ok((SELECT count(*) FROM pg_stats WHERE tablename = 'users' AND attname = 'email') = 1
          AND (SELECT count(*) FROM pg_stats_ext WHERE tablename = 'courses') = 1
          AND (SELECT count(*) FROM pg_stats_ext WHERE tablename = 'users') = 1,
          'control: the superuser sees statistics for users and courses (they exist)');
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM pg_stats WHERE tablename IN ('users', 'courses', 'lessons', 'enrollments', 'assets')), 0::bigint,
          'ti_app: pg_stats shows no rows for tenant tables');
SELECT is((SELECT count(*) FROM pg_stats_ext WHERE tablename IN ('users', 'courses')), 0::bigint,
          'ti_app: pg_stats_ext shows no rows for tenant tables');
SELECT is((SELECT count(*) FROM pg_stats_ext_exprs WHERE tablename IN ('users', 'courses')), 0::bigint,
          'ti_app: pg_stats_ext_exprs shows no rows for tenant tables');
SELECT throws_ok($$SELECT * FROM pg_statistic$$, '42501', NULL, 'ti_app: pg_statistic is not readable');
SELECT throws_ok($$SELECT * FROM pg_statistic_ext_data$$, '42501', NULL, 'ti_app: pg_statistic_ext_data is not readable');
RESET ROLE;
SET ROLE ti_owner;
SELECT is((SELECT count(*) FROM pg_stats WHERE tablename IN ('users', 'courses')) +
          (SELECT count(*) FROM pg_stats_ext WHERE tablename IN ('users', 'courses')) +
          (SELECT count(*) FROM pg_stats_ext_exprs WHERE tablename IN ('users', 'courses')), 0::bigint,
          'ti_owner (bound by FORCE RLS): the statistics views show nothing for its tenant tables');
RESET ROLE;

SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: B''s data is intact');

SELECT * FROM finish();
ROLLBACK;
