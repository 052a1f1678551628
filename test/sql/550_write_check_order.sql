-- Issue 10, item 6: the order of checks on writes.
-- Attacks the order in which row level security checks run on UPDATE, DELETE, MERGE and INSERT
-- ... ON CONFLICT DO UPDATE, as the application role ti_app (and the table owner ti_owner).  The
-- owner added ordinary policies of its own whose names sort before tenant_isolation ("a_audit",
-- "a_upd", ...), calling a PL/pgSQL function that is not leakproof (it could RAISE a NOTICE with
-- the values it is given).  PostgreSQL runs restrictive policies in name order, and write checks
-- (WITH CHECK OPTIONs: new rows, the existing row of ON CONFLICT DO UPDATE, MERGE's matched rows)
-- in list order; tenant_iso must put its tenant comparison first everywhere, so that the function
-- is only ever given the tenant's own rows.  The function counts, in sequences (which a rollback
-- does not reset), the rows it was given of the current tenant and of any other: the count of
-- others must stay 0 on every path, without knowing any id (the issue's MERGE ... nextval(cnt) >
-- N) and with B's ids.
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
BEGIN;
SELECT plan(62);

\ir include/err.sql
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;
CREATE SEQUENCE public.seen_own;
CREATE SEQUENCE public.seen_other;
CREATE SEQUENCE public.cnt;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.seen_own, public.seen_other, public.cnt TO PUBLIC;
\ir include/seen.sql
GRANT EXECUTE ON FUNCTION pg_temp.seen() TO PUBLIC;
\ir include/undone.sql
GRANT EXECUTE ON FUNCTION pg_temp.undone(text) TO PUBLIC;

-- the owner's audit policies, named to sort before tenant_isolation
SET ROLE ti_owner;
CREATE FUNCTION public.audit_ok(org uuid, val text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF org IS NOT DISTINCT FROM tenant_iso.current_org_id() THEN
        PERFORM nextval('public.seen_own');
    ELSE
        RAISE NOTICE 'audit_ok was given another tenant''s row: % %', org, val;
        PERFORM nextval('public.seen_other');
    END IF;
    RETURN true;
END $$;
CREATE POLICY a_audit ON courses AS RESTRICTIVE FOR ALL USING (public.audit_ok(organization_id, title));
CREATE POLICY a_upd ON users AS RESTRICTIVE FOR UPDATE USING (public.audit_ok(organization_id, name)) WITH CHECK (public.audit_ok(organization_id, name));
CREATE POLICY a_del ON users AS RESTRICTIVE FOR DELETE USING (public.audit_ok(organization_id, email));
CREATE POLICY a_sel ON users AS RESTRICTIVE FOR SELECT USING (public.audit_ok(organization_id, email));
CREATE POLICY a_course_ok ON lessons AS RESTRICTIVE FOR ALL
    USING (EXISTS (SELECT 1 FROM courses c WHERE c.id = lessons.course_id AND public.audit_ok(c.organization_id, c.title)));
CREATE POLICY a_perm ON enrollments AS PERMISSIVE FOR UPDATE USING (public.audit_ok(organization_id, id::text));
CREATE TABLE events (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    kind            text NOT NULL,
    PRIMARY KEY (organization_id, kind, id)
) PARTITION BY LIST (kind);
CREATE TABLE events_x PARTITION OF events FOR VALUES IN ('x');
CREATE TABLE events_y PARTITION OF events FOR VALUES IN ('y');
CREATE POLICY a_audit ON events AS RESTRICTIVE FOR ALL USING (public.audit_ok(organization_id, kind));
CREATE POLICY a_audit ON events_y AS RESTRICTIVE FOR ALL USING (public.audit_ok(organization_id, kind));
RESET ROLE;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ti_app;
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO events (kind) VALUES ('x'), ('y');
RESET ROLE;
SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO events (kind) VALUES ('x'), ('y');
SELECT pg_temp.seen() AS reset0 \gset

SELECT ok('a_audit' < 'tenant_isolation' AND 'a_upd' < 'tenant_isolation' AND 'a_course_ok' < 'tenant_isolation',
          'sanity: the owner''s policy names sort before tenant_isolation');
SELECT is((SELECT string_agg(title, ',' ORDER BY title) FROM courses), 'Algebra,Astronomy', 'a scan of courses: A''s rows');
SELECT is(pg_temp.seen(), 'own=2 other=0', 'the scan''s audit policy was given A''s 2 rows only (the order the README fixes for scans)');

------------------------------------------------------------------------------
-- the issue's statement: MERGE counting rows with nextval, no id needed
------------------------------------------------------------------------------
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND nextval('public.cnt') > 3 THEN DELETE$$), '0',
          'MERGE ... WHEN MATCHED AND nextval(cnt) > 3 THEN DELETE: nothing deleted');
SELECT matches(pg_temp.seen(), '^own=[0-9]+ other=0$', 'its audit policy was not given B''s rows');
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND nextval('public.cnt') > 0 THEN DELETE$$), '2',
          'MERGE ... WHEN MATCHED AND nextval(cnt) > 0 THEN DELETE: A''s 2 rows');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks (scan, MERGE delete check) were given A''s rows only');
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN UPDATE SET title = c.title$$), '2',
          'MERGE ... WHEN MATCHED THEN UPDATE: A''s 2 rows');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks (scan, MERGE update check, new row) were given A''s rows only');
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DO NOTHING WHEN NOT MATCHED THEN INSERT (title) VALUES ('x')$$), '0',
          'MERGE ... WHEN MATCHED THEN DO NOTHING: nothing');
SELECT matches(pg_temp.seen(), '^own=[0-9]+ other=0$', 'its audit policy was given none of B''s rows');
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000001'::uuid)) s(id) ON c.id = s.id
                          WHEN MATCHED THEN UPDATE SET title = 'pwned' WHEN NOT MATCHED THEN INSERT (title) VALUES ('new')$$), '1',
          'MERGE ON c.id = B''s id: not matched, A''s new row inserted');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks were given A''s rows only');

------------------------------------------------------------------------------
-- UPDATE and DELETE
------------------------------------------------------------------------------
SELECT is(pg_temp.undone($$UPDATE courses SET title = title$$), '2', 'UPDATE of every row: A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks (target scan, new rows) were given A''s rows only');
SELECT is(pg_temp.undone($$UPDATE courses SET title = 'pwned' WHERE id = '2b000000-0000-4000-8000-000000000001'$$), '0', 'UPDATE of B''s id: nothing');
SELECT is(pg_temp.seen(), 'own=0 other=0', 'its audit policy was not given B''s row');
SELECT is(pg_temp.undone($$UPDATE courses SET title = title WHERE public.audit_ok(organization_id, title)$$), '2',
          'UPDATE with the leaky function in its own WHERE clause: A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'the WHERE clause and the checks were given A''s rows only');
SELECT is(pg_temp.undone($$UPDATE courses c SET title = l.title FROM lessons l WHERE l.course_id = c.id$$), '2', 'UPDATE ... FROM lessons: A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks were given A''s rows only');
SELECT is(pg_temp.undone($$DELETE FROM courses WHERE id = '2b000000-0000-4000-8000-000000000002'$$), '0', 'DELETE of B''s id: nothing');
SELECT is(pg_temp.seen(), 'own=0 other=0', 'its audit policy was not given B''s row');
SELECT is(pg_temp.undone($$DELETE FROM courses$$), '2', 'DELETE of every row (cascading to lessons, enrollments, assets): A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks were given A''s rows only');
SELECT is(pg_temp.undone($$DELETE FROM courses c USING users u WHERE u.organization_id = c.organization_id$$), '2', 'DELETE ... USING users: A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks were given A''s rows only');
SELECT is(pg_temp.undone($$WITH d AS (DELETE FROM courses RETURNING title) SELECT count(*) FROM d$$), '1', 'a data-modifying CTE deleting every course');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its checks were given A''s rows only');
SELECT is(pg_temp.undone($$SELECT title FROM courses FOR UPDATE$$), '2', 'SELECT ... FOR UPDATE: A''s 2');
SELECT is(pg_temp.seen(), 'own=2 other=0', 'its audit policy was given A''s rows only');

------------------------------------------------------------------------------
-- INSERT ... ON CONFLICT: the existing row of another tenant
------------------------------------------------------------------------------
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'x') ON CONFLICT (id) DO UPDATE SET title = 'pwned'$$),
          'ERROR 42501', 'ON CONFLICT (id) DO UPDATE on B''s id: refused by row level security (the known existence residual of a uuid key)');
SELECT is(pg_temp.seen(), 'own=1 other=0', 'the existing-row check ran the tenant comparison first: the audit policy saw A''s new row only, never B''s row');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000002', 'x')
                          ON CONFLICT (id) DO UPDATE SET title = 'pwned' WHERE public.audit_ok(courses.organization_id, courses.title)$$),
          'ERROR 42501', 'ON CONFLICT (id) DO UPDATE ... WHERE <leaky function of the existing row> on B''s id: refused');
SELECT is(pg_temp.seen(), 'own=1 other=0', 'the conflict''s WHERE clause was never given B''s existing row');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000002', 'x')
                          ON CONFLICT (id) DO UPDATE SET title = 'pwned' WHERE courses.title = 'no such title'$$),
          'ERROR 42501', 'ON CONFLICT DO UPDATE ... WHERE <false for B''s row>: refused all the same (no oracle on B''s values)');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'x') ON CONFLICT (id) DO NOTHING$$), '0',
          'ON CONFLICT (id) DO NOTHING on B''s id: nothing');
SELECT matches(pg_temp.seen(), '^own=[0-9]+ other=0$', 'the audit policy saw A''s proposed row only');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2a000000-0000-4000-8000-000000000001', 'x') ON CONFLICT (id) DO UPDATE SET title = 'Algebra II'$$),
          '1', 'control: ON CONFLICT (id) DO UPDATE on A''s own id updates it');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'control: its checks were given A''s rows');
SELECT is(pg_temp.undone($$INSERT INTO users (email, name) VALUES ('ada@alpha.test', 'Ada II') ON CONFLICT (organization_id, email) DO UPDATE SET name = EXCLUDED.name$$),
          '1', 'ON CONFLICT (organization_id, email) DO UPDATE for an email A and B both use: A''s user');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'the UPDATE / SELECT policies of users were given A''s rows only');

------------------------------------------------------------------------------
-- per-command policies, a policy with a subquery, a permissive policy, a partitioned table
------------------------------------------------------------------------------
SELECT is(pg_temp.undone($$UPDATE users SET name = name$$), '2', 'users, restrictive FOR UPDATE / FOR SELECT policies: UPDATE of A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'they were given A''s rows only');
SELECT is(pg_temp.undone($$DELETE FROM users$$), '2', 'users, restrictive FOR DELETE policy: DELETE of A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'it was given A''s rows only');
SELECT is(pg_temp.undone($$MERGE INTO users u USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE$$), '2', 'users: MERGE ... DELETE of A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its policies were given A''s rows only');
SELECT is(pg_temp.undone($$DELETE FROM lessons$$), '2', 'lessons, a restrictive policy with a subquery on courses: DELETE of A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'the subquery''s function was given A''s courses only');
SELECT is(pg_temp.undone($$UPDATE enrollments SET enrolled_at = enrolled_at$$), '2', 'enrollments, a permissive policy named a_perm: UPDATE of A''s 2');
SELECT is(pg_temp.seen(), 'own=0 other=0', 'the permissive policy''s function was not even called (OR true)');
SELECT is(pg_temp.undone($$UPDATE events SET kind = kind$$), '2', 'a partitioned table with a_audit on the parent: UPDATE of A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its policies were given A''s rows only');
SELECT is(pg_temp.undone($$MERGE INTO events e USING (VALUES (1)) s(x) ON true WHEN MATCHED THEN DELETE$$), '2', 'partitioned: MERGE ... DELETE of A''s 2');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its policies were given A''s rows only');
SELECT is(pg_temp.undone($$DELETE FROM events_y$$), '1', 'a partition with its own a_audit, named directly: DELETE of A''s 1');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'its policy was given A''s row only');

------------------------------------------------------------------------------
-- the table owner
------------------------------------------------------------------------------
RESET ROLE;
SET ROLE ti_owner;
SELECT is(pg_temp.undone($$MERGE INTO courses c USING (VALUES (1)) s(x) ON true WHEN MATCHED AND nextval('public.cnt') > 0 THEN UPDATE SET title = c.title$$), '2',
          'ti_owner: MERGE ... WHEN MATCHED THEN UPDATE: A''s 2');
SELECT is(pg_temp.undone($$UPDATE users SET name = name$$), '2', 'ti_owner: UPDATE users: A''s 2');
SELECT is(pg_temp.undone($$INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'x') ON CONFLICT (id) DO UPDATE SET title = 'pwned'$$),
          'ERROR 42501', 'ti_owner: ON CONFLICT DO UPDATE on B''s id: refused');
SELECT matches(pg_temp.seen(), '^own=[1-9][0-9]* other=0$', 'ti_owner: its own audit policies were given A''s rows only');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
