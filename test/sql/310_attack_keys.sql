-- Attack family: key oracles and secondary indexes.
-- A unique key without organization_id is a cross-tenant oracle: its duplicate-key error tells
-- tenant A that a value (an e-mail address, a code) exists at tenant B. The schema check refuses
-- such keys (SQLSTATE 42P16, nothing created, hint "UNIQUE (organization_id, ...)"), except a key
-- on one uuid column (a random id cannot be guessed). An exclusion constraint is a unique key
-- by another name and must follow the same rule. With keys that include organization_id, A
-- learns nothing from its own duplicate-key errors.
-- Secondary indexes that do not lead with organization_id get a WARNING, or are refused (42P16)
-- under the superuser-only setting tenant_iso.strict_indexes = on (same uuid exception).
-- Attackers: ti_owner (migrations, working for A) for DDL; ti_app (working for A) at run time.
BEGIN;
SELECT plan(60);

\ir include/b_rows.sql
\ir include/err.sql
-- the index definitions of a table, for "nothing was created"
CREATE FUNCTION pg_temp.indexes(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(pg_get_indexdef(indexrelid), '; ' ORDER BY indexrelid) FROM pg_index WHERE indrelid = rel
$$;
CREATE EXTENSION btree_gist;
CREATE EXTENSION btree_gin;
-- B has two courses with the same secret title: a unique index build over every tenant's rows
-- would fail on them with "Key (title)=(...) is duplicated"
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
INSERT INTO courses (organization_id, title) VALUES
    ('0b000000-0000-4000-8000-00000000000b', 'B merger plan'), ('0b000000-0000-4000-8000-00000000000b', 'B merger plan');
SELECT pg_temp.b_rows() AS b_before \gset
SELECT pg_temp.indexes('users') AS users_idx, pg_temp.indexes('courses') AS courses_idx, pg_temp.indexes('lessons') AS lessons_idx \gset

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_owner;

------------------------------------------------------------------------------
-- unique keys without organization_id are refused, nothing is created
------------------------------------------------------------------------------
SELECT throws_ok($$CREATE TABLE k_email (id uuid PRIMARY KEY, organization_id uuid NOT NULL, email text UNIQUE)$$,
                 '42P16', NULL, 'CREATE TABLE with a global UNIQUE (email) is refused with 42P16');
SELECT ok((pg_temp.err($$CREATE TABLE k_email (id uuid PRIMARY KEY, organization_id uuid NOT NULL, email text UNIQUE)$$))[4]
          LIKE '%UNIQUE (organization_id, email)%',
          '... and the hint shows UNIQUE (organization_id, email)');
SELECT is(to_regclass('k_email'), NULL, '... and no table was created');
SELECT throws_ok($$CREATE TABLE k_serial (id bigserial PRIMARY KEY, organization_id uuid NOT NULL, note text)$$,
                 '42P16', NULL, 'CREATE TABLE with id bigserial PRIMARY KEY is refused (a counter is guessable)');
SELECT ok((pg_temp.err($$CREATE TABLE k_serial (id bigserial PRIMARY KEY, organization_id uuid NOT NULL, note text)$$))[4]
          LIKE '%UNIQUE (organization_id, %',
          '... with a hint naming UNIQUE (organization_id, ...)');
SELECT is(to_regclass('k_serial'), NULL, '... and no table was created');
SELECT is(to_regclass('k_serial_id_seq'), NULL, '... and no sequence was left behind');
SELECT throws_ok($$CREATE TABLE k_code (organization_id uuid NOT NULL, code text, PRIMARY KEY (code))$$,
                 '42P16', NULL, 'CREATE TABLE with PRIMARY KEY (code text) is refused');
SELECT throws_ok($$CREATE TABLE k_pair (id uuid PRIMARY KEY, organization_id uuid NOT NULL, course_id uuid, pos int, UNIQUE (course_id, pos))$$,
                 '42P16', NULL, 'CREATE TABLE with a multi-column UNIQUE without organization_id is refused');
SELECT lives_ok($$CREATE TABLE k_ok (id uuid PRIMARY KEY, organization_id uuid NOT NULL, email text, UNIQUE (organization_id, email))$$,
                'CREATE TABLE with id uuid PRIMARY KEY and UNIQUE (organization_id, email) is accepted');
SELECT ok(EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = 'k_ok'::regclass AND i.indisunique
                  AND pg_get_indexdef(i.indexrelid) LIKE '%(organization_id, id)%'),
          '... and it has the UNIQUE (organization_id, id) twin for composite foreign keys');
SELECT lives_ok($$CREATE TABLE k_ref (id uuid PRIMARY KEY, organization_id uuid NOT NULL, external_ref uuid UNIQUE NULLS NOT DISTINCT)$$,
                'a UNIQUE key on a single uuid column is accepted');

SELECT throws_ok($$ALTER TABLE users ADD UNIQUE (name)$$, '42P16', NULL,
                 'ALTER TABLE ADD UNIQUE (name) is refused');
SELECT ok((pg_temp.err($$ALTER TABLE users ADD UNIQUE (name)$$))[4] LIKE '%UNIQUE (organization_id, name)%',
          '... with the hint UNIQUE (organization_id, name)');
SELECT throws_ok($$ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE (name) DEFERRABLE$$, '42P16', NULL,
                 'ALTER TABLE ADD CONSTRAINT ... UNIQUE (name) DEFERRABLE is refused');
CREATE TABLE k_nopk (organization_id uuid NOT NULL, code text NOT NULL);
SELECT throws_ok($$ALTER TABLE k_nopk ADD PRIMARY KEY (code)$$, '42P16', NULL,
                 'ALTER TABLE ADD PRIMARY KEY (code) is refused');
SELECT is((SELECT count(*) FROM pg_constraint WHERE conrelid = 'k_nopk'::regclass AND contype = 'p'), 0::bigint,
          '... and the table has no primary key');
SELECT throws_ok($$CREATE UNIQUE INDEX users_name_uidx ON users (name)$$, '42P16', NULL,
                 'CREATE UNIQUE INDEX ON users (name) is refused');
SELECT throws_ok($$CREATE UNIQUE INDEX users_lname_uidx ON users (lower(name))$$, '42P16', NULL,
                 'a unique expression index without organization_id is refused');
SELECT throws_ok($$CREATE UNIQUE INDEX users_name_inc_uidx ON users (name) INCLUDE (organization_id)$$, '42P16', NULL,
                 'a unique index with organization_id only in INCLUDE is refused (not a key column)');
SELECT throws_ok($$CREATE UNIQUE INDEX users_name_part_uidx ON users (name) WHERE organization_id IS NOT NULL$$, '42P16', NULL,
                 'a partial unique index with organization_id only in its predicate is refused');
SELECT throws_ok($$CREATE UNIQUE INDEX lessons_pos_uidx ON lessons (course_id, position)$$, '42P16', NULL,
                 'a unique index on (uuid, int) without organization_id is refused (only a single uuid column is exempt)');
SELECT is(pg_temp.indexes('users'), :'users_idx', 'none of the refused keys left an index on users');
SELECT is(pg_temp.indexes('lessons'), :'lessons_idx', 'none of the refused keys left an index on lessons');
SELECT lives_ok($$CREATE UNIQUE INDEX users_org_name_uidx ON users (organization_id, name)$$,
                'CREATE UNIQUE INDEX ON users (organization_id, name) is accepted');
SELECT lives_ok($$CREATE UNIQUE INDEX lessons_course_uidx ON lessons (course_id)$$,
                'a unique index on a single uuid column is accepted');

-- exclusion constraints are unique keys by another name
SELECT throws_ok($$ALTER TABLE users ADD CONSTRAINT users_name_excl EXCLUDE USING btree (name WITH =)$$, '42P16', NULL,
                 'EXCLUDE (name WITH =) without organization_id is refused like UNIQUE (name)');
SELECT throws_ok($$CREATE TABLE k_rooms (id uuid PRIMARY KEY, organization_id uuid NOT NULL, room text, during tstzrange,
                   EXCLUDE USING gist (room WITH =, during WITH &&))$$, '42P16', NULL,
                 'CREATE TABLE with EXCLUDE (room WITH =, during WITH &&) without organization_id is refused');
SELECT is(to_regclass('k_rooms'), NULL, '... and no table was created');
SELECT lives_ok($$CREATE TABLE k_bookings (id uuid PRIMARY KEY, organization_id uuid NOT NULL, room text, during tstzrange,
                  EXCLUDE USING gist (organization_id WITH =, room WITH =, during WITH &&))$$,
                'an exclusion constraint that includes organization_id WITH = is accepted');

-- the refusal comes before the index is built: the error neither shows B's values nor tells
-- (by "could not create unique index ... Duplicate keys exist") that B holds duplicates
SELECT is((pg_temp.err($$CREATE UNIQUE INDEX courses_title_uidx ON courses (title)$$))[1], '42P16',
          'CREATE UNIQUE INDEX ON courses (title) fails with 42P16, not with a duplicate-key error caused by B''s rows');
SELECT ok(array_to_string(pg_temp.err($$CREATE UNIQUE INDEX courses_title_uidx ON courses (title)$$), ' ') NOT LIKE '%merger%',
          '... and no part of the error shows B''s duplicated title');
SELECT ok(array_to_string(pg_temp.err($$ALTER TABLE courses ADD UNIQUE (title)$$), ' ') NOT LIKE '%merger%',
          'ALTER TABLE courses ADD UNIQUE (title) does not show B''s duplicated title either');
SELECT ok(array_to_string(pg_temp.err($$ALTER TABLE courses ADD EXCLUDE USING btree (title WITH =)$$), ' ') NOT LIKE '%merger%',
          'ALTER TABLE courses ADD EXCLUDE (title WITH =) does not show B''s duplicated title either');
SELECT is(pg_temp.indexes('courses'), :'courses_idx', 'courses has no new index');

------------------------------------------------------------------------------
-- run-time key oracles: ti_app working for A
------------------------------------------------------------------------------
RESET ROLE;
SET ROLE ti_app;
SELECT lives_ok($$INSERT INTO users (email, name) VALUES ('bea@beta.test', 'Probe')$$,
                'ti_app: inserting B''s e-mail address succeeds: UNIQUE (organization_id, email) tells nothing');
SELECT lives_ok($$INSERT INTO k_ok (id, email) VALUES (gen_random_uuid(), 'probe@beta.test')$$,
                'ti_app: the same on a table created under the rules');
SELECT throws_ok($$INSERT INTO users (email, name) VALUES ('alan@alpha.test', 'Dup')$$, '23505', NULL,
                 'control: A''s own duplicate e-mail address is refused');
SELECT lives_ok($$INSERT INTO k_bookings (id, room, during) VALUES (gen_random_uuid(), 'Room 1', '[2030-01-01,2030-01-02)')$$,
                'ti_app: booking a room in A');
RESET ROLE;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
INSERT INTO k_bookings (id, organization_id, room, during)
    VALUES (gen_random_uuid(), '0b000000-0000-4000-8000-00000000000b', 'Room 2', '[2030-01-01,2030-01-02)');
DO $$ BEGIN  -- k_rooms exists only if its global exclusion constraint was (wrongly) accepted above
    IF to_regclass('k_rooms') IS NOT NULL THEN
        EXECUTE $i$INSERT INTO k_rooms (id, organization_id, room, during)
                   VALUES (gen_random_uuid(), '0b000000-0000-4000-8000-00000000000b', 'Room 2', '[2030-01-01,2030-01-02)')$i$;
    END IF;
END $$;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT lives_ok($$INSERT INTO k_bookings (id, room, during) VALUES (gen_random_uuid(), 'Room 2', '[2030-01-01,2030-01-02)')$$,
                'ti_app: a tenant-scoped exclusion constraint does not tell A that B booked Room 2');
SELECT ok(to_regclass('k_rooms') IS NULL
          OR pg_temp.err($$INSERT INTO k_rooms (id, room, during) VALUES (gen_random_uuid(), 'Room 2', '[2030-01-01,2030-01-02)')$$) IS NULL,
          'ti_app: no global exclusion constraint tells A that B booked Room 2 (23P01 would be an oracle)');
-- the stamping error is the same for B's organization and for one that does not exist
SELECT is((pg_temp.err($$INSERT INTO courses (organization_id, title) VALUES ('0b000000-0000-4000-8000-00000000000b', 'x')$$))[1:3],
          (pg_temp.err($$INSERT INTO courses (organization_id, title) VALUES ('0c000000-0000-4000-8000-00000000000c', 'x')$$))[1:3],
          'ti_app: naming B''s organization fails exactly like naming one that does not exist');

------------------------------------------------------------------------------
-- secondary indexes
------------------------------------------------------------------------------
RESET ROLE;
SET ROLE ti_owner;
SELECT lives_ok($$CREATE INDEX courses_title_idx ON courses (title)$$,
                'by default an index not leading with organization_id is created (with a WARNING)');
SELECT ok(to_regclass('courses_title_idx') IS NOT NULL, '... and it exists');
DROP INDEX courses_title_idx;
SELECT throws_ok($$SET tenant_iso.strict_indexes = on$$, '42501', NULL,
                 'ti_owner cannot set tenant_iso.strict_indexes');
SELECT throws_ok($$SET tenant_iso.strict_indexes = off$$, '42501', NULL,
                 'ti_owner cannot turn tenant_iso.strict_indexes off either');
RESET ROLE;
SET ROLE ti_app;
SELECT throws_ok($$SET tenant_iso.strict_indexes = on$$, '42501', NULL,
                 'ti_app cannot set tenant_iso.strict_indexes');
RESET ROLE;
SELECT lives_ok($$SET tenant_iso.strict_indexes = on$$, 'a superuser sets tenant_iso.strict_indexes = on');
SELECT courses_idx AS courses_idx2 FROM (SELECT pg_temp.indexes('courses') AS courses_idx) s \gset
SET ROLE ti_owner;
SELECT throws_ok($$CREATE INDEX courses_title_idx ON courses (title)$$, '42P16', NULL,
                 'strict: CREATE INDEX ON courses (title) is refused with 42P16');
SELECT throws_ok($$CREATE INDEX courses_title_org_idx ON courses (title, organization_id)$$, '42P16', NULL,
                 'strict: an index with organization_id in second place is refused');
SELECT throws_ok($$CREATE INDEX courses_ltitle_idx ON courses (lower(title))$$, '42P16', NULL,
                 'strict: an expression index not leading with organization_id is refused');
SELECT throws_ok($$CREATE INDEX courses_title_part_idx ON courses (title) WHERE organization_id = '0a000000-0000-4000-8000-00000000000a'$$,
                 '42P16', NULL, 'strict: a partial index with organization_id only in its predicate is refused');
SELECT throws_ok($$CREATE INDEX courses_fts_idx ON courses USING gin (to_tsvector('simple', title))$$, '42P16', NULL,
                 'strict: a GIN index not leading with organization_id is refused');
SELECT throws_ok($$CREATE INDEX courses_brin_idx ON courses USING brin (created_at)$$, '42P16', NULL,
                 'strict: a BRIN index not leading with organization_id is refused');
SELECT is(pg_temp.indexes('courses'), :'courses_idx2', 'strict: none of them was created');
SELECT lives_ok($$CREATE INDEX courses_org_title_idx ON courses (organization_id, title)$$,
                'strict: an index leading with organization_id is accepted');
SELECT lives_ok($$CREATE INDEX courses_org_fts_idx ON courses USING gin (organization_id, to_tsvector('simple', title))$$,
                'strict: a GIN index leading with organization_id (btree_gin) is accepted');
SELECT lives_ok($$CREATE INDEX lessons_course_idx ON lessons (course_id)$$,
                'strict: an index on a single uuid column is accepted');
SELECT lives_ok($$CREATE INDEX k_bookings_org_during_idx ON k_bookings USING gist (organization_id, during)$$,
                'strict: a GiST index leading with organization_id (btree_gist) is accepted');
RESET ROLE;
RESET tenant_iso.strict_indexes;

SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: B''s data is intact');

SELECT * FROM finish();
ROLLBACK;
