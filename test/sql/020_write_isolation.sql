-- Write isolation: inserts are stamped with the current tenant, a spoofed organization_id fails,
-- a row can never move to another organization, and another tenant's rows cannot be updated or
-- deleted (by id, by pattern, or wholesale).
-- Attacker: ti_app (not superuser, not BYPASSRLS, not owner), then ti_owner (the table owner).
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
BEGIN;
SELECT plan(50);

\ir include/b_rows.sql
SELECT pg_temp.b_rows() AS b_before \gset

------------------------------------------------------------------------------
-- ti_app working for A
------------------------------------------------------------------------------
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;

-- stamping: omitted organization_id
INSERT INTO courses (id, title) VALUES ('2a000000-0000-4000-8000-0000000000a1', 'Calculus')
    RETURNING organization_id AS stamped_omitted \gset
SELECT is(:'stamped_omitted'::uuid, '0a000000-0000-4000-8000-00000000000a'::uuid,
          'ti_app: an insert that omits organization_id is stamped with the current tenant (RETURNING)');
-- stamping: explicit NULL
INSERT INTO courses (id, organization_id, title) VALUES ('2a000000-0000-4000-8000-0000000000a2', NULL, 'Chemistry')
    RETURNING organization_id AS stamped_null \gset
SELECT is(:'stamped_null'::uuid, '0a000000-0000-4000-8000-00000000000a'::uuid,
          'ti_app: an insert with an explicit NULL organization_id is stamped with the current tenant');
-- stamping: explicit own organization is accepted
SELECT lives_ok($$INSERT INTO courses (id, organization_id, title)
                  VALUES ('2a000000-0000-4000-8000-0000000000a3', '0a000000-0000-4000-8000-00000000000a', 'Cosmology')$$,
                'ti_app: an insert naming the current tenant explicitly is accepted');
-- stamping: DEFAULT keyword and multi-row VALUES
WITH i AS (INSERT INTO courses (organization_id, title) VALUES (DEFAULT, 'Drama'), (NULL, 'Design') RETURNING organization_id)
SELECT count(*) FILTER (WHERE organization_id = '0a000000-0000-4000-8000-00000000000a') AS n_stamped_default FROM i \gset
SELECT is((SELECT count(*) FROM courses WHERE title IN ('Drama', 'Design')), 2::bigint,
          'ti_app: a multi-row insert with DEFAULT / NULL organization_id is visible to the tenant');
SELECT is(:n_stamped_default::bigint, 2::bigint,
          'ti_app: DEFAULT and NULL organization_id in a multi-row insert are both stamped');

-- spoofing on INSERT
SELECT throws_ok($$INSERT INTO courses (id, organization_id, title)
                   VALUES ('2b000000-0000-4000-8000-0000000000f1', '0b000000-0000-4000-8000-00000000000b', 'Spoofed')$$,
                 'TI003', 'cannot insert a row for another organization into table "courses"',
                 'ti_app: an insert with another organization''s id fails with TI003');
SELECT throws_ok($$INSERT INTO courses (id, organization_id, title) VALUES
                   ('2a000000-0000-4000-8000-0000000000f2', '0a000000-0000-4000-8000-00000000000a', 'Fine'),
                   ('2b000000-0000-4000-8000-0000000000f3', '0b000000-0000-4000-8000-00000000000b', 'Spoofed')$$,
                 'TI003', NULL,
                 'ti_app: a multi-row insert with one spoofed row fails as a whole');
SELECT throws_ok($$INSERT INTO courses (organization_id, title) VALUES ('0c000000-0000-4000-8000-00000000000c', 'Unknown org')$$,
                 'TI003', 'cannot insert a row for another organization into table "courses"',
                 'ti_app: an insert naming a non-existent organization fails the same way (no existence leak)');
SELECT throws_ok($$INSERT INTO courses (organization_id, title)
                   SELECT '0b000000-0000-4000-8000-00000000000b'::uuid, 'x' || g FROM generate_series(1, 3) g$$,
                 'TI003', NULL,
                 'ti_app: INSERT ... SELECT with another organization''s id fails with TI003');
SELECT throws_ok($$INSERT INTO users (organization_id, email, name)
                   VALUES ('0b000000-0000-4000-8000-00000000000b', 'mallory@evil.test', 'Mallory')
                   ON CONFLICT DO NOTHING$$,
                 'TI003', NULL,
                 'ti_app: a spoofed insert with ON CONFLICT DO NOTHING fails too');
SELECT is_empty($$SELECT 1 FROM courses WHERE title IN ('Spoofed', 'Fine', 'Unknown org') OR title LIKE 'x_'$$,
                'ti_app: the failed inserts left nothing visible to A');

-- INSERT ... SELECT copies only the tenant's rows and stamps them
INSERT INTO courses (title) SELECT title || ' (copy)' FROM courses WHERE title IN ('Algebra', 'Astronomy', 'Biology', 'Botany');
SELECT results_eq($$SELECT title FROM courses WHERE title LIKE '% (copy)' ORDER BY title$$,
                  ARRAY['Algebra (copy)', 'Astronomy (copy)'],
                  'ti_app: INSERT ... SELECT reads only A''s rows');

-- a child row cannot hang off another tenant's parent (composite foreign keys include organization_id)
SELECT throws_ok($$INSERT INTO lessons (course_id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'Parasite')$$,
                 '23503', NULL,
                 'ti_app: a lesson for B''s course cannot be created by A (foreign key on (organization_id, course_id))');

-- moving a row to another organization
SELECT throws_ok($$UPDATE courses SET organization_id = '0b000000-0000-4000-8000-00000000000b'
                   WHERE id = '2a000000-0000-4000-8000-000000000001'$$,
                 'TI003', 'cannot change organization_id of a row in table "courses"',
                 'ti_app: UPDATE moving a row to another organization fails with TI003');
SELECT throws_ok($$UPDATE courses SET organization_id = NULL WHERE id = '2a000000-0000-4000-8000-000000000001'$$,
                 'TI003', NULL,
                 'ti_app: UPDATE setting organization_id to NULL fails with TI003');
SELECT throws_ok($$UPDATE courses SET organization_id = '0c000000-0000-4000-8000-00000000000c'$$,
                 'TI003', NULL,
                 'ti_app: UPDATE moving every row to an unknown organization fails with TI003');
SELECT lives_ok($$UPDATE courses SET organization_id = '0a000000-0000-4000-8000-00000000000a', title = title
                  WHERE id = '2a000000-0000-4000-8000-000000000001'$$,
                'ti_app: UPDATE setting organization_id to its current value is harmless');

-- cross-tenant UPDATE / DELETE by id, by pattern, and wholesale
WITH u AS (UPDATE courses SET title = 'pwned' WHERE id = '2b000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT count(*) AS n_upd_by_id FROM u \gset
SELECT is(:n_upd_by_id::bigint, 0::bigint, 'ti_app: UPDATE of B''s course by id affects 0 rows');
WITH d AS (DELETE FROM courses WHERE id = '2b000000-0000-4000-8000-000000000002' RETURNING 1)
SELECT count(*) AS n_del_by_id FROM d \gset
SELECT is(:n_del_by_id::bigint, 0::bigint, 'ti_app: DELETE of B''s course by id affects 0 rows');
WITH u AS (UPDATE users SET name = 'pwned' WHERE email = 'bea@beta.test' RETURNING 1)
SELECT count(*) AS n_upd_by_email FROM u \gset
SELECT is(:n_upd_by_email::bigint, 0::bigint, 'ti_app: UPDATE of B''s user by e-mail affects 0 rows');
WITH d AS (DELETE FROM assets WHERE organization_id = '0b000000-0000-4000-8000-00000000000b' RETURNING 1)
SELECT count(*) AS n_del_by_org FROM d \gset
SELECT is(:n_del_by_org::bigint, 0::bigint, 'ti_app: DELETE ... WHERE organization_id = B affects 0 rows');
WITH u AS (UPDATE lessons SET position = position + 1 RETURNING organization_id)
SELECT count(*) AS n_upd_all, count(*) FILTER (WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a') AS n_upd_all_foreign FROM u \gset
SELECT is(:n_upd_all::bigint, 2::bigint, 'ti_app: UPDATE without WHERE touches only A''s 2 lessons');
SELECT is(:n_upd_all_foreign::bigint, 0::bigint, 'ti_app: and RETURNING shows no other organization');
WITH u AS (UPDATE users u SET name = u.name FROM users b WHERE b.email = 'bea@beta.test' RETURNING 1)
SELECT count(*) AS n_upd_join FROM u \gset
SELECT is(:n_upd_join::bigint, 0::bigint, 'ti_app: UPDATE ... FROM joining B''s row affects 0 rows');
WITH d AS (DELETE FROM enrollments e USING courses c WHERE c.id = e.course_id AND c.title = 'Biology' RETURNING 1)
SELECT count(*) AS n_del_using FROM d \gset
SELECT is(:n_del_using::bigint, 0::bigint, 'ti_app: DELETE ... USING B''s course affects 0 rows');
-- ON CONFLICT DO UPDATE against B's primary key must not update B's row
SELECT throws_ok($$INSERT INTO users (id, email, name) VALUES ('1b000000-0000-4000-8000-000000000001', 'x@alpha.test', 'X')
                   ON CONFLICT (id) DO UPDATE SET name = 'pwned'$$,
                 '42501', NULL,
                 'ti_app: INSERT ... ON CONFLICT DO UPDATE hitting B''s row fails (row level security)');
-- MERGE: B's row never matches, and a spoofed insert branch fails
MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-000000000001'::uuid)) v(id) ON c.id = v.id
    WHEN MATCHED THEN UPDATE SET title = 'pwned';
SELECT is((SELECT count(*) FROM courses WHERE title = 'pwned'), 0::bigint, 'ti_app: MERGE ... WHEN MATCHED does not match B''s row');
SELECT throws_ok($$MERGE INTO courses c USING (VALUES ('2b000000-0000-4000-8000-0000000000f9'::uuid)) v(id) ON c.id = v.id
                   WHEN NOT MATCHED THEN INSERT (id, organization_id, title) VALUES (v.id, '0b000000-0000-4000-8000-00000000000b', 'Merged spoof')$$,
                 'TI003', NULL, 'ti_app: MERGE ... WHEN NOT MATCHED inserting for another organization fails with TI003');
MERGE INTO courses c USING (VALUES ('2a000000-0000-4000-8000-0000000000e1'::uuid)) v(id) ON c.id = v.id
    WHEN NOT MATCHED THEN INSERT (id, title) VALUES (v.id, 'Merged');
SELECT is((SELECT organization_id FROM courses WHERE title = 'Merged'), '0a000000-0000-4000-8000-00000000000a'::uuid,
          'ti_app: MERGE ... WHEN NOT MATCHED INSERT is stamped');
-- DELETE everything the tenant can see
WITH d AS (DELETE FROM assets RETURNING organization_id)
SELECT count(*) AS n_del_all, count(*) FILTER (WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a') AS n_del_all_foreign FROM d \gset
SELECT is(:n_del_all::bigint, 2::bigint, 'ti_app: DELETE without WHERE removes only A''s 2 assets');
SELECT is(:n_del_all_foreign::bigint, 0::bigint, 'ti_app: and none of another organization');

RESET ROLE;
SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: every row of B is intact after ti_app''s attempts');
SELECT is((SELECT organization_id FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'),
          '0a000000-0000-4000-8000-00000000000a'::uuid, 'superuser: A''s course still belongs to A');
SELECT is((SELECT organization_id FROM courses WHERE id = '2a000000-0000-4000-8000-0000000000a1'),
          '0a000000-0000-4000-8000-00000000000a'::uuid, 'superuser: the stamped row is stored with organization A');
SELECT is((SELECT count(*) FROM courses WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 2::bigint,
          'superuser: B still has exactly its 2 courses (no spoofed row was added)');
SELECT is_empty($$SELECT 1 FROM courses WHERE title IN ('Spoofed', 'Fine', 'Unknown org', 'pwned') OR title LIKE 'x_'$$,
                'superuser: no spoofed or pwned course exists in any organization');
SELECT is((SELECT count(*) FROM courses WHERE organization_id NOT IN ('0a000000-0000-4000-8000-00000000000a', '0b000000-0000-4000-8000-00000000000b')),
          0::bigint, 'superuser: no course belongs to a third organization');

------------------------------------------------------------------------------
-- ti_owner (the table owner, bound by FORCE ROW LEVEL SECURITY) working for B
------------------------------------------------------------------------------
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT pg_temp.b_rows() AS b_before_owner \gset
SET ROLE ti_owner;
INSERT INTO courses (id, title) VALUES ('2b000000-0000-4000-8000-0000000000b1', 'Bioinformatics')
    RETURNING organization_id AS owner_stamped \gset
SELECT is(:'owner_stamped'::uuid, '0b000000-0000-4000-8000-00000000000b'::uuid,
          'ti_owner: an insert that omits organization_id is stamped with the current tenant');
SELECT throws_ok($$INSERT INTO courses (organization_id, title) VALUES ('0a000000-0000-4000-8000-00000000000a', 'Spoofed by owner')$$,
                 'TI003', 'cannot insert a row for another organization into table "courses"',
                 'ti_owner: a spoofed organization_id on insert fails with TI003');
SELECT throws_ok($$UPDATE courses SET organization_id = '0a000000-0000-4000-8000-00000000000a' WHERE id = '2b000000-0000-4000-8000-000000000001'$$,
                 'TI003', 'cannot change organization_id of a row in table "courses"',
                 'ti_owner: moving a row to another organization fails with TI003');
WITH u AS (UPDATE courses SET title = 'pwned by owner' WHERE id = '2a000000-0000-4000-8000-000000000002' RETURNING 1)
SELECT count(*) AS n_owner_upd FROM u \gset
SELECT is(:n_owner_upd::bigint, 0::bigint, 'ti_owner: UPDATE of A''s course by id affects 0 rows');
WITH d AS (DELETE FROM users WHERE id = '1a000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT count(*) AS n_owner_del FROM d \gset
SELECT is(:n_owner_del::bigint, 0::bigint, 'ti_owner: DELETE of A''s user by id affects 0 rows');
WITH d AS (DELETE FROM courses WHERE title LIKE 'A%' RETURNING 1)
SELECT count(*) AS n_owner_del_pat FROM d \gset
SELECT is(:n_owner_del_pat::bigint, 0::bigint, 'ti_owner: DELETE by a pattern matching only A''s titles affects 0 rows');
INSERT INTO courses (title) SELECT 'owner copy of ' || title FROM courses WHERE title IN ('Algebra', 'Biology');
SELECT results_eq($$SELECT title FROM courses WHERE title LIKE 'owner copy of %'$$, ARRAY['owner copy of Biology'],
                  'ti_owner: INSERT ... SELECT reads only B''s rows');
SELECT lives_ok($$INSERT INTO courses (organization_id, title) SELECT organization_id, 'resubmitted ' || title FROM courses WHERE title = 'Biology'$$,
                'ti_owner: INSERT ... SELECT copying the visible organization_id (the current tenant) is accepted');

RESET ROLE;
SELECT is((SELECT count(*) FROM courses WHERE organization_id = '0a000000-0000-4000-8000-00000000000a' AND title LIKE '%owner%'),
          0::bigint, 'superuser: nothing the owner did reached organization A');
SELECT is((SELECT organization_id FROM courses WHERE title = 'owner copy of Biology'),
          '0b000000-0000-4000-8000-00000000000b'::uuid, 'superuser: the owner''s INSERT ... SELECT row is stamped B');
SELECT is((SELECT title FROM courses WHERE id = '2a000000-0000-4000-8000-000000000002'), 'Astronomy',
          'superuser: A''s course is unchanged after the owner''s attempts');
SELECT is((SELECT count(*) FROM users WHERE organization_id = '0a000000-0000-4000-8000-00000000000a'), 2::bigint,
          'superuser: A''s users are intact after the owner''s attempts');
SELECT is((SELECT organization_id FROM courses WHERE id = '2b000000-0000-4000-8000-000000000001'),
          '0b000000-0000-4000-8000-00000000000b'::uuid, 'superuser: B''s course was not moved');

SELECT * FROM finish();
ROLLBACK;
