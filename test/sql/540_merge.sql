-- Issue 10, item 5: MERGE.
-- Attacks MERGE as the application role ti_app (and the table owner ti_owner): PostgreSQL filters
-- a MERGE target by the SELECT policies only when the statement references target columns, so
-- "ON true WHEN MATCHED THEN DELETE" used to fail on the first row of another tenant (revealing
-- that it exists, how many there are, and where).  Every WHEN combination (MATCHED UPDATE /
-- DELETE / DO NOTHING, NOT MATCHED INSERT / DO NOTHING, with and without AND conditions, several
-- clauses), ON true and ON an id or value that B uses, a tenant table as source, a CTE source,
-- prepared (generic) plans, a partitioned target, a table where only B has rows: B's rows are
-- never matched (0 matched, no error), WHEN conditions are evaluated for A's rows only (counted
-- with sequences, which a rollback does not reset), B's rows are unchanged at the end.
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
BEGIN;
SELECT plan(52);

\ir include/b_rows.sql
SELECT pg_temp.b_rows() AS b_before \gset

-- counters that a rollback does not reset: rows of A and rows of anyone else a WHEN condition saw
CREATE SEQUENCE public.seen_own;
CREATE SEQUENCE public.seen_other;
CREATE SEQUENCE public.cnt;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.seen_own, public.seen_other, public.cnt TO PUBLIC;
CREATE FUNCTION public.saw(org uuid, val text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF org IS NOT DISTINCT FROM tenant_iso.current_org_id() THEN
        PERFORM nextval('public.seen_own');
    ELSE
        RAISE NOTICE 'a WHEN condition saw another tenant''s row: % %', org, val;
        PERFORM nextval('public.seen_other');
    END IF;
    RETURN true;
END $$;
\ir include/seen.sql
GRANT EXECUTE ON FUNCTION pg_temp.seen() TO PUBLIC;
-- run a statement and undo it; return its row count, or 'ERROR <sqlstate>: <message>'
CREATE FUNCTION pg_temp.merged(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint; st text; msg text;
BEGIN
    BEGIN
        EXECUTE sql;
        GET DIAGNOSTICS n = ROW_COUNT;
        RAISE SQLSTATE 'ZZ001';
    EXCEPTION
        WHEN SQLSTATE 'ZZ001' THEN RETURN n::text;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            RETURN 'ERROR ' || st || ': ' || msg;
    END;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.merged(text) TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app;

-- a tenant table where only B has rows, and a partitioned one
SET ROLE ti_owner;
CREATE TABLE notes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    body            text NOT NULL
);
CREATE TABLE events (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    kind            text NOT NULL,
    PRIMARY KEY (organization_id, kind, id)
) PARTITION BY LIST (kind);
CREATE TABLE events_x PARTITION OF events FOR VALUES IN ('x');
CREATE TABLE events_y PARTITION OF events FOR VALUES IN ('y');
RESET ROLE;
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO notes (body) VALUES ('B note 1'), ('B note 2'), ('B note 3');
INSERT INTO events (kind) VALUES ('x'), ('y'), ('y');
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO events (kind) VALUES ('x');
SELECT pg_temp.seen() AS reset0 \gset

------------------------------------------------------------------------------
-- the issue's statements
------------------------------------------------------------------------------
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE$$), '2',
          'the issue''s MERGE ... ON true WHEN MATCHED THEN DELETE: A''s 2 courses, no error from B''s rows');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND nextval('public.cnt') > 3 THEN DELETE$$), '0',
          'the issue''s counting MERGE (WHEN MATCHED AND nextval(cnt) > 3): no row deleted, no error');
SELECT is((SELECT last_value FROM public.cnt), 2::bigint, 'its WHEN condition was evaluated for A''s 2 rows only');

------------------------------------------------------------------------------
-- every WHEN combination, ON true
------------------------------------------------------------------------------
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN UPDATE SET title = 'merged'$$), '2',
          'ON true, WHEN MATCHED THEN UPDATE: A''s 2 rows');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND public.saw(c.organization_id, c.title) THEN DO NOTHING$$), '0',
          'ON true, WHEN MATCHED AND <condition> THEN DO NOTHING: nothing changed');
SELECT is(pg_temp.seen(), 'own=2 other=0', 'its condition saw A''s 2 rows, none of B''s');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND public.saw(c.organization_id, c.title) THEN UPDATE SET title = c.title$$), '2',
          'ON true, WHEN MATCHED AND <condition> THEN UPDATE: A''s 2 rows');
SELECT is(pg_temp.seen(), 'own=2 other=0', 'its condition saw A''s rows only');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND public.saw(c.organization_id, c.title) THEN DELETE$$), '2',
          'ON true, WHEN MATCHED AND <condition> THEN DELETE: A''s 2 rows');
SELECT is(pg_temp.seen(), 'own=2 other=0', 'its condition saw A''s rows only');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND c.title LIKE 'B%' THEN DELETE
                           WHEN MATCHED AND public.saw(c.organization_id, c.title) THEN UPDATE SET title = c.title || '!'
                           WHEN NOT MATCHED THEN INSERT (title) VALUES ('never')$$), '2',
          'ON true, three clauses (DELETE of titles LIKE ''B%'', UPDATE, NOT MATCHED INSERT): A''s 2 rows updated, B''s Biology and Botany not deleted');
SELECT is(pg_temp.seen(), 'own=2 other=0', 'the second clause''s condition saw A''s rows only');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1), (2)) s(x) ON true WHEN MATCHED AND s.x = 1 AND public.saw(c.organization_id, c.title) THEN DO NOTHING
                           WHEN MATCHED AND s.x = 2 AND public.saw(c.organization_id, c.title) THEN DO NOTHING$$), '0',
          'ON true with two source rows, two DO NOTHING clauses: nothing changed');
SELECT is(pg_temp.seen(), 'own=4 other=0', 'their conditions saw A''s 2 rows twice, none of B''s');
SELECT is(pg_temp.merged($$MERGE INTO notes n USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (body) VALUES ('A note')$$), '1',
          'a table where only B has rows, ON true, WHEN MATCHED DELETE / NOT MATCHED INSERT: B''s rows do not match, A''s note is inserted');
SELECT is(pg_temp.merged($$MERGE INTO notes n USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN UPDATE SET body = 'pwned'$$), '0',
          'a table where only B has rows, ON true, WHEN MATCHED UPDATE: 0 rows');
SELECT is(pg_temp.merged($$MERGE INTO notes n USING (VALUES (1)) s(x) ON true WHEN NOT MATCHED THEN DO NOTHING$$), '0',
          'a table where only B has rows, WHEN NOT MATCHED THEN DO NOTHING: 0 rows, no error');
SELECT is(pg_temp.merged($$MERGE INTO events e USING (VALUES (1)) s(x) ON true WHEN MATCHED AND public.saw(e.organization_id, e.kind) THEN DELETE$$), '1',
          'a partitioned table, ON true, WHEN MATCHED THEN DELETE: A''s 1 row of 4');
SELECT is(pg_temp.seen(), 'own=1 other=0', 'its condition saw A''s row only');
SELECT is(pg_temp.merged($$MERGE INTO events_y e USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (kind) VALUES ('y')$$), '1',
          'a partition named directly, where only B has rows: B''s rows do not match, A''s row is inserted');

------------------------------------------------------------------------------
-- ON an id or a value that B uses
------------------------------------------------------------------------------
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000001'::uuid)) s(id) ON c.id = s.id
                           WHEN MATCHED THEN UPDATE SET title = 'pwned' WHEN NOT MATCHED THEN DO NOTHING$$), '0',
          'ON c.id = B''s id, WHEN MATCHED UPDATE / NOT MATCHED DO NOTHING: 0 rows');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000001'::uuid)) s(id) ON c.id = s.id
                           WHEN MATCHED THEN DELETE$$), '0',
          'ON c.id = B''s id, WHEN MATCHED DELETE: 0 rows');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000001'::uuid)) s(id) ON c.id = s.id
                           WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (title) VALUES ('new')$$), '1',
          'ON c.id = B''s id, WHEN MATCHED DELETE / NOT MATCHED INSERT (no id): B''s row is not matched, A''s new row is inserted');
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000001'::uuid)) s(id) ON c.id = s.id
                           WHEN MATCHED AND public.saw(c.organization_id, c.title) THEN DO NOTHING$$), '0',
          'ON c.id = B''s id, WHEN MATCHED AND <condition> THEN DO NOTHING: 0 rows');
SELECT is(pg_temp.seen(), 'own=0 other=0', 'its condition never saw B''s row');
SELECT is(pg_temp.merged(format($$MERGE INTO courses c USING (VALUES (%L::uuid)) s(o) ON c.organization_id = s.o
                                  WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN DO NOTHING$$, :'B')), '0',
          'ON organization_id = B: 0 rows');
SELECT matches(pg_temp.merged(format($$MERGE INTO courses c USING (VALUES (%L::uuid)) s(o) ON c.organization_id = s.o
                                      WHEN NOT MATCHED THEN INSERT (organization_id, title) VALUES (s.o, 'spoofed')$$, :'B')), '^ERROR TI003',
               'ON organization_id = B, WHEN NOT MATCHED INSERT of B''s organization: refused (TI003)');
SELECT is(pg_temp.merged($$MERGE INTO users u USING (VALUES ('ada@alpha.test')) s(email) ON u.email = s.email
                           WHEN MATCHED AND public.saw(u.organization_id, u.name) THEN UPDATE SET name = u.name$$), '1',
          'ON an email that A and B both use: only A''s user matches');
SELECT is(pg_temp.seen(), 'own=1 other=0', 'its condition saw A''s user only (not B''s Another Ada)');
SELECT is(pg_temp.merged($$MERGE INTO users u USING (VALUES ('bea@beta.test')) s(email) ON u.email = s.email
                           WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (email, name) VALUES (s.email, 'A''s Bea')$$), '1',
          'ON an email only B uses: not matched, A''s row is inserted (unique key on (organization_id, email))');

------------------------------------------------------------------------------
-- tenant tables as source, CTE sources, prepared statements
------------------------------------------------------------------------------
SELECT is(pg_temp.merged($$MERGE INTO lessons l USING courses c ON l.organization_id = c.organization_id AND l.course_id = c.id
                           WHEN MATCHED AND public.saw(c.organization_id, c.title) AND public.saw(l.organization_id, l.title) THEN UPDATE SET title = l.title$$), '2',
          'a tenant table as source (courses into lessons): A''s 2 lessons');
SELECT is(pg_temp.seen(), 'own=4 other=0', 'its condition saw A''s courses and lessons only');
SELECT is(pg_temp.merged($$MERGE INTO lessons l USING (SELECT c.id, c.organization_id FROM courses c) c ON true
                           WHEN MATCHED AND public.saw(c.organization_id, 'src') THEN DO NOTHING$$), '0',
          'a subquery over courses as source, ON true: nothing changed');
SELECT is(pg_temp.seen(), 'own=4 other=0', 'its condition saw 2 x 2 of A''s rows, none of B''s');
SELECT is(pg_temp.merged($$WITH s AS (SELECT id, organization_id FROM courses) MERGE INTO enrollments e USING s ON e.course_id = s.id AND e.organization_id = s.organization_id
                           WHEN MATCHED AND public.saw(e.organization_id, 'enrollment') THEN DELETE$$), '2',
          'a CTE over courses as source: A''s 2 enrollments');
SELECT is(pg_temp.seen(), 'own=2 other=0', 'its condition saw A''s enrollments only');
SET plan_cache_mode = force_generic_plan;
PREPARE m(int) AS MERGE INTO courses c USING (VALUES ($1)) s(x) ON true WHEN MATCHED AND public.saw(c.organization_id, c.title) THEN DO NOTHING;
EXECUTE m(1);
\set m1_count :ROW_COUNT
EXECUTE m(2);
SELECT is(pg_temp.seen(), 'own=4 other=0', 'a prepared MERGE (generic plan) run twice: its condition saw A''s rows only');
SELECT is(:'m1_count'::text, '0', 'and changes nothing');
DEALLOCATE m;
PREPARE m_del(uuid) AS MERGE INTO courses c USING (VALUES ($1)) s(id) ON c.id = s.id WHEN MATCHED THEN DELETE;
SAVEPOINT before_m_del;
EXECUTE m_del('2b000000-0000-4000-8000-000000000002');
\set m_del_b :ROW_COUNT
EXECUTE m_del('2a000000-0000-4000-8000-000000000002');
\set m_del_a :ROW_COUNT
ROLLBACK TO SAVEPOINT before_m_del;
SELECT is(:'m_del_b'::text, '0', 'a prepared MERGE ... DELETE (generic plan) with B''s id: 0 rows');
SELECT is(:'m_del_a'::text, '1', 'control: with A''s id: 1 row');
DEALLOCATE m_del;
RESET plan_cache_mode;

------------------------------------------------------------------------------
-- no tenant
------------------------------------------------------------------------------
SET tenant.org_id = '';
SELECT matches(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE$$), '^ERROR TI001',
               'no tenant: MERGE ... ON true WHEN MATCHED THEN DELETE fails with TI001');
SET tenant_iso.missing_context = 'empty';
SELECT is(pg_temp.merged($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND public.saw(c.organization_id, c.title) THEN DELETE$$), '0',
          'no tenant, missing_context = empty: MERGE matches no row at all');
SELECT is(pg_temp.seen(), 'own=0 other=0', 'and its condition saw no row');
SELECT matches(pg_temp.merged($$MERGE INTO notes n USING (VALUES (1)) s(x) ON true WHEN NOT MATCHED THEN INSERT (body) VALUES ('orphan')$$), '^ERROR',
               'no tenant, missing_context = empty: a NOT MATCHED INSERT fails (no organization to stamp)');
RESET tenant_iso.missing_context;
SET tenant.org_id = :'A';

------------------------------------------------------------------------------
-- statements kept (not rolled back), then checked
------------------------------------------------------------------------------
MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN UPDATE SET title = c.title || ' (A)';
MERGE INTO assets a USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE;
MERGE INTO notes n USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (body) VALUES ('A note');
SELECT results_eq('SELECT title FROM courses ORDER BY title', ARRAY['Algebra (A)', 'Astronomy (A)'], 'ti_app sees its merged courses');
SELECT is((SELECT count(*) FROM assets), 0::bigint, 'and none of its assets');

------------------------------------------------------------------------------
-- the table owner, bound by forced row level security
------------------------------------------------------------------------------
RESET ROLE;
SET ROLE ti_owner;
SELECT is(pg_temp.merged($$MERGE INTO users u USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE$$), '2',
          'ti_owner: ON true, WHEN MATCHED THEN DELETE: A''s 2 users (and their enrollments), no error');
SELECT is(pg_temp.merged($$MERGE INTO notes n USING (VALUES (1)) s(x) ON true WHEN MATCHED AND public.saw(n.organization_id, n.body) THEN UPDATE SET body = 'pwned'$$), '1',
          'ti_owner: ON true, WHEN MATCHED AND <condition> THEN UPDATE on notes: A''s 1 note');
SELECT is(pg_temp.seen(), 'own=1 other=0', 'ti_owner: its condition saw A''s note only');
RESET ROLE;

------------------------------------------------------------------------------
-- B's rows are as they were
------------------------------------------------------------------------------
SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: B''s rows in every fixture table are unchanged');
SELECT is((SELECT string_agg(body, ',' ORDER BY body) FROM notes WHERE organization_id = :'B'), 'B note 1,B note 2,B note 3',
          'superuser: B''s notes are unchanged');
SELECT is((SELECT count(*) FROM events WHERE organization_id = :'B'), 3::bigint, 'superuser: B''s events are unchanged');

SELECT * FROM finish();
ROLLBACK;
