-- Attack family: foreign keys and constraint validation.
-- Foreign-key checks do not see row level security: a single-column reference between tenant
-- tables would let tenant A attach rows to B's rows and probe whether they exist. The schema
-- check refuses such keys (42P16, nothing created): a reference between tenant tables must
-- carry organization_id on both sides, matched column to column
-- (FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)).
-- References to global (exempt) tables are fine. A reference with B's id then fails exactly like
-- one with a random id: no oracle.
-- Adding a FOREIGN KEY or CHECK constraint to a populated tenant table must validate the rows of
-- every tenant, not only the ones the migrating role sees (with forced row level security the
-- validation query is filtered): a constraint violated only by B's rows fails to be added while
-- working for A, and is never marked valid.
-- Attackers: ti_owner (migrations) and ti_app, working for A.
BEGIN;
SELECT plan(37);

\ir include/b_rows.sql
\ir include/err.sql
-- the error of a statement with an id replaced by <id>, to compare errors for two different ids
CREATE FUNCTION pg_temp.err_shape(sql text, id text) RETURNS text LANGUAGE sql AS $$
    SELECT replace(array_to_string(pg_temp.err(format(sql, id)), ' / ', ''), id, '<id>')
$$;
-- run sql and then probe in a subtransaction that is always rolled back: 'error' when sql
-- failed, otherwise 'ok: <probe result>' (so that a wrongly accepted statement leaves nothing)
CREATE FUNCTION pg_temp.attempt(sql text, probe text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    BEGIN
        EXECUTE sql;
    EXCEPTION WHEN OTHERS THEN
        RETURN 'error';
    END;
    EXECUTE probe INTO r;
    RAISE EXCEPTION USING ERRCODE = 'ZZ999', MESSAGE = 'ok: ' || COALESCE(r, '<null>');
EXCEPTION WHEN SQLSTATE 'ZZ999' THEN
    RETURN SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.fks(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(pg_get_constraintdef(oid), '; ' ORDER BY conname) FROM pg_constraint WHERE conrelid = rel AND contype = 'f'
$$;
SELECT pg_temp.b_rows() AS b_before \gset
SELECT pg_temp.fks('lessons') AS lessons_fks \gset
SELECT tenant_iso.exempt_table('public.plans', 'plans are shared by all organizations') \gset
SELECT tenant_iso.exempt_table('public.public_listings', 'a global directory') \gset

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_owner;

------------------------------------------------------------------------------
-- foreign keys between tenant tables must carry organization_id on both sides
------------------------------------------------------------------------------
SELECT throws_ok($$CREATE TABLE notes (id uuid PRIMARY KEY, organization_id uuid NOT NULL, course_id uuid REFERENCES courses (id))$$,
                 '42P16', NULL, 'CREATE TABLE with a single-column REFERENCES courses (id) is refused with 42P16');
SELECT ok((pg_temp.err($$CREATE TABLE notes (id uuid PRIMARY KEY, organization_id uuid NOT NULL, course_id uuid REFERENCES courses (id))$$))[4]
          LIKE '%organization_id%', '... with a hint showing the composite form');
SELECT is(to_regclass('notes'), NULL, '... and no table was created');
SELECT throws_ok($$ALTER TABLE lessons ADD FOREIGN KEY (course_id) REFERENCES courses (id)$$, '42P16', NULL,
                 'ALTER TABLE ADD FOREIGN KEY (course_id) REFERENCES courses (id) is refused');
SELECT throws_ok($$ALTER TABLE enrollments ADD CONSTRAINT e_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID$$, '42P16', NULL,
                 '... also NOT VALID');
CREATE TABLE ratings (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL,
                      course_id uuid NOT NULL, stars int NOT NULL);
SELECT throws_ok($$ALTER TABLE ratings ADD FOREIGN KEY (course_id, organization_id) REFERENCES courses (organization_id, id)$$, '42P16', NULL,
                 'a two-column key that maps organization_id to the parent''s id (misaligned) is refused');
SELECT throws_ok($$ALTER TABLE ratings ADD FOREIGN KEY (organization_id) REFERENCES courses (id)$$, '42P16', NULL,
                 'organization_id referencing the parent''s id is refused');
SELECT is(pg_temp.fks('lessons'), :'lessons_fks', 'the foreign keys of lessons are unchanged');
SELECT is((SELECT count(*) FROM pg_constraint WHERE conrelid IN ('ratings'::regclass, 'enrollments'::regclass) AND contype = 'f'
           AND confrelid <> 'tenant_iso.organizations'::regclass AND conname <> ALL (ARRAY['enrollments_organization_id_user_id_fkey', 'enrollments_organization_id_course_id_fkey'])),
          0::bigint, 'none of the refused keys was created');
SELECT lives_ok($$CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL)$$, 'a global (exempt) table');
SELECT lives_ok($$CREATE TABLE subscriptions (id uuid PRIMARY KEY, organization_id uuid NOT NULL, plan_id int NOT NULL REFERENCES plans (id))$$,
                'a single-column reference from a tenant table to a global table is accepted');
SELECT lives_ok($$CREATE TABLE course_notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, course_id uuid NOT NULL,
                  FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id))$$,
                'the composite reference FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) is accepted');
-- a global table referencing a tenant table's guessable values
SELECT pg_temp.err($$CREATE TABLE public_listings (organization_id uuid NOT NULL, email text NOT NULL,
                     FOREIGN KEY (organization_id, email) REFERENCES users (organization_id, email))$$) AS listings_err \gset
DO $$ BEGIN IF to_regclass('public_listings') IS NOT NULL THEN EXECUTE 'GRANT SELECT, INSERT ON public_listings TO ti_app'; END IF; END $$;
RESET ROLE;

------------------------------------------------------------------------------
-- cross-tenant references at run time: B's id fails exactly like a random id
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT throws_ok($$INSERT INTO lessons (course_id, title) VALUES ('2b000000-0000-4000-8000-000000000001', 'attached to B')$$,
                 '23503', NULL, 'ti_app: a lesson referencing B''s course fails (23503)');
SELECT is(pg_temp.err_shape($$INSERT INTO lessons (course_id, title) VALUES (%L, 'attached')$$, '2b000000-0000-4000-8000-000000000001'),
          pg_temp.err_shape($$INSERT INTO lessons (course_id, title) VALUES (%L, 'attached')$$, 'd3adbeef-0000-4000-8000-0000000000ff'),
          'ti_app: the error for B''s course id is identical to the one for a random id (no oracle)');
SELECT is(pg_temp.err_shape($$UPDATE lessons SET course_id = %L WHERE id = '3a000000-0000-4000-8000-000000000001'$$, '2b000000-0000-4000-8000-000000000002'),
          pg_temp.err_shape($$UPDATE lessons SET course_id = %L WHERE id = '3a000000-0000-4000-8000-000000000001'$$, 'd3adbeef-0000-4000-8000-0000000000fe'),
          'ti_app: moving A''s lesson to B''s course fails like moving it to a random course');
SELECT is(pg_temp.err_shape($$INSERT INTO enrollments (user_id, course_id) VALUES (%L, '2a000000-0000-4000-8000-000000000001')$$, '1b000000-0000-4000-8000-000000000001'),
          pg_temp.err_shape($$INSERT INTO enrollments (user_id, course_id) VALUES (%L, '2a000000-0000-4000-8000-000000000001')$$, 'd3adbeef-0000-4000-8000-0000000000fd'),
          'ti_app: enrolling B''s user fails like enrolling a random user');
SELECT is(pg_temp.err_shape($$INSERT INTO course_notes (course_id) VALUES (%L)$$, '2b000000-0000-4000-8000-000000000001'),
          pg_temp.err_shape($$INSERT INTO course_notes (course_id) VALUES (%L)$$, 'd3adbeef-0000-4000-8000-0000000000fc'),
          'ti_app: the same on a table created under the rules');
SELECT throws_ok($$INSERT INTO lessons (organization_id, course_id, title) VALUES ('0b000000-0000-4000-8000-00000000000b', '2b000000-0000-4000-8000-000000000001', 'x')$$,
                 'TI003', NULL, 'ti_app: naming B''s organization and B''s course fails with TI003');
SELECT is(pg_temp.err_shape($$INSERT INTO public_listings (organization_id, email) VALUES ('0b000000-0000-4000-8000-00000000000b', %L)$$, 'bea@beta.test'),
          pg_temp.err_shape($$INSERT INTO public_listings (organization_id, email) VALUES ('0b000000-0000-4000-8000-00000000000b', %L)$$, 'nobody@beta.test'),
          'ti_app: a global table''s reference into users does not tell whether B has an address (refused, or no oracle)');
WITH d AS (DELETE FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT is(count(*), 1::bigint, 'ti_app deletes A''s course (ON DELETE CASCADE to A''s lessons)') FROM d;
RESET ROLE;
SET ROLE ti_owner;
SELECT is(pg_temp.err_shape($$INSERT INTO lessons (course_id, title) VALUES (%L, 'attached')$$, '2b000000-0000-4000-8000-000000000002'),
          pg_temp.err_shape($$INSERT INTO lessons (course_id, title) VALUES (%L, 'attached')$$, 'd3adbeef-0000-4000-8000-0000000000fb'),
          'ti_owner: a lesson referencing B''s course fails like one referencing a random course');
RESET ROLE;
SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: B''s data is intact (the cascade reached A''s rows only)');

------------------------------------------------------------------------------
-- adding constraints validates every tenant's rows
------------------------------------------------------------------------------
-- B's rating points at A's course (invalid for a composite reference) and has 9 stars
INSERT INTO ratings (organization_id, course_id, stars) VALUES
    ('0a000000-0000-4000-8000-00000000000a', '2a000000-0000-4000-8000-000000000002', 3),
    ('0b000000-0000-4000-8000-00000000000b', '2a000000-0000-4000-8000-000000000002', 9);
SET ROLE ti_owner;
SELECT is(pg_temp.attempt($$ALTER TABLE ratings ADD CONSTRAINT ratings_course_fk FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_course_fk'$$), 'error',
          'ti_owner working for A: adding a foreign key that only B''s row violates fails (not: added and marked valid)');
SELECT lives_ok($$ALTER TABLE ratings ADD CONSTRAINT ratings_course_fk FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) NOT VALID$$,
                'ti_owner: the same key NOT VALID is added (new rows are checked)');
SELECT is(pg_temp.attempt($$ALTER TABLE ratings VALIDATE CONSTRAINT ratings_course_fk$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_course_fk'$$), 'error',
          'ti_owner working for A: VALIDATE CONSTRAINT of the key fails on B''s row (not: marked valid)');
ALTER TABLE ratings DROP CONSTRAINT ratings_course_fk;
SELECT is(pg_temp.attempt($$ALTER TABLE ratings ADD CONSTRAINT ratings_stars_check CHECK (stars BETWEEN 1 AND 5)$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_stars_check'$$), 'error',
          'ti_owner working for A: a CHECK constraint that only B''s row violates fails');
SELECT lives_ok($$ALTER TABLE ratings ADD CONSTRAINT ratings_stars_check CHECK (stars BETWEEN 1 AND 5) NOT VALID$$,
                'ti_owner: the same CHECK NOT VALID is added');
SELECT is(pg_temp.attempt($$ALTER TABLE ratings VALIDATE CONSTRAINT ratings_stars_check$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_stars_check'$$), 'error',
          'ti_owner working for A: VALIDATE of the CHECK fails on B''s row');
ALTER TABLE ratings DROP CONSTRAINT ratings_stars_check;
-- without a tenant, and with missing_context = 'empty' (where every tenant query sees no rows)
RESET tenant.org_id;
SELECT is(pg_temp.attempt($$ALTER TABLE ratings ADD CONSTRAINT ratings_course_fk FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_course_fk'$$), 'error',
          'ti_owner without a tenant: adding the violated foreign key fails');
SET tenant_iso.missing_context = 'empty';
SELECT is(pg_temp.attempt($$ALTER TABLE ratings ADD CONSTRAINT ratings_course_fk FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_course_fk'$$), 'error',
          'ti_owner with missing_context = empty: adding the violated foreign key fails');
SELECT is(pg_temp.attempt($$ALTER TABLE ratings ADD CONSTRAINT ratings_stars_check CHECK (stars BETWEEN 1 AND 5)$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_stars_check'$$), 'error',
          'ti_owner with missing_context = empty: adding the violated CHECK fails');
RESET tenant_iso.missing_context;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SELECT is(pg_temp.attempt($$ALTER TABLE ratings ADD CONSTRAINT ratings_course_fk FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)$$,
                          $$SELECT convalidated::text FROM pg_constraint WHERE conname = 'ratings_course_fk'$$), 'error',
          'control: ti_owner working for B (who sees the bad row) fails to add it too');
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
-- the same through a partitioned table
RESET ROLE;
SET ROLE ti_owner;
CREATE TABLE reviews (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, course_id uuid NOT NULL,
                      PRIMARY KEY (organization_id, id)) PARTITION BY LIST (organization_id);
CREATE TABLE reviews_ab PARTITION OF reviews FOR VALUES IN ('0a000000-0000-4000-8000-00000000000a', '0b000000-0000-4000-8000-00000000000b');
RESET ROLE;
INSERT INTO reviews (organization_id, course_id) VALUES ('0b000000-0000-4000-8000-00000000000b', '2a000000-0000-4000-8000-000000000002');
SET ROLE ti_owner;
SELECT is(pg_temp.attempt($$ALTER TABLE reviews ADD CONSTRAINT reviews_course_fk FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)$$,
                          $$SELECT string_agg(convalidated::text, ',') FROM pg_constraint WHERE conname = 'reviews_course_fk'$$), 'error',
          'ti_owner working for A: a foreign key on a partitioned table that only B''s row violates fails');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_constraint WHERE conrelid IN ('ratings'::regclass, 'reviews'::regclass, 'reviews_ab'::regclass)
           AND contype IN ('f', 'c') AND confrelid IS DISTINCT FROM 'tenant_iso.organizations'::regclass), 0::bigint,
          'no constraint violated by B''s rows exists on ratings or reviews');
-- once every row is valid, the migration works
DELETE FROM ratings WHERE organization_id = '0b000000-0000-4000-8000-00000000000b';
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_owner;
SELECT lives_ok($$ALTER TABLE ratings ADD CONSTRAINT ratings_course_fk FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)$$,
                'control: with valid rows only, ti_owner adds the foreign key');
SELECT lives_ok($$ALTER TABLE ratings ADD CONSTRAINT ratings_stars_ok CHECK (stars BETWEEN 1 AND 5)$$,
                'control: ... and the CHECK constraint');
RESET ROLE;
SELECT is((SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = 'ratings'::regclass AND conname IN ('ratings_course_fk', 'ratings_stars_ok')),
          true, 'control: both are valid');

SELECT * FROM finish();
ROLLBACK;
