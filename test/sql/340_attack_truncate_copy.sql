-- Attack family: TRUNCATE, COPY TO and COPY FROM.
-- TRUNCATE ignores row level security: by a role that RLS applies to it would empty a tenant
-- table for every organization, so tenant_iso refuses it (42501, hint: DELETE) in every form
-- (ONLY, CASCADE, several tables, from PL/pgSQL, from a SECURITY DEFINER function, a partitioned
-- table, a partition, and tenant tables reached through CASCADE or inheritance from a table that
-- is not a tenant table). Superusers keep TRUNCATE.
-- COPY ... TO applies row level security (scoped to the tenant); COPY ... FROM is refused by
-- PostgreSQL itself for roles that RLS applies to (0A000).
-- Attackers: ti_app (also with an explicit TRUNCATE grant and the server-file roles) and ti_owner,
-- working for A.
BEGIN;
SELECT plan(38);

\ir include/b_rows.sql
\ir include/err.sql
SELECT pg_temp.b_rows() AS b_before \gset

-- a global table referenced by a tenant table, and a global parent with a tenant child
SELECT tenant_iso.exempt_table('public.plans', 'plans are shared by all organizations') \gset
SELECT tenant_iso.exempt_table('public.note_templates', 'global note templates') \gset
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_owner;
CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE subscriptions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL,
                            plan_id int NOT NULL REFERENCES plans (id));
CREATE TABLE note_templates (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, body text NOT NULL);
SELECT pg_temp.err($$CREATE TABLE org_notes () INHERITS (note_templates)$$) AS org_notes_err \gset
CREATE TABLE events (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, kind text NOT NULL,
                     PRIMARY KEY (organization_id, id)) PARTITION BY LIST (organization_id);
CREATE TABLE events_ab PARTITION OF events FOR VALUES IN ('0a000000-0000-4000-8000-00000000000a', '0b000000-0000-4000-8000-00000000000b');
INSERT INTO plans VALUES (1, 'free');
INSERT INTO subscriptions (plan_id) VALUES (1);
INSERT INTO events (organization_id, kind) VALUES ('0b000000-0000-4000-8000-00000000000b', 'b-event');
RESET ROLE;
DO $$ BEGIN
    IF to_regclass('org_notes') IS NOT NULL THEN
        INSERT INTO org_notes (organization_id, body) VALUES ('0b000000-0000-4000-8000-00000000000b', 'B private note');
    END IF;
END $$;
CREATE FUNCTION owner_truncate() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$BEGIN TRUNCATE courses CASCADE; END$$;
ALTER FUNCTION owner_truncate() OWNER TO ti_owner;
GRANT EXECUTE ON FUNCTION owner_truncate() TO ti_app;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';

------------------------------------------------------------------------------
-- TRUNCATE
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT throws_ok($$TRUNCATE courses$$, '42501', NULL, 'ti_app: TRUNCATE courses fails with 42501');
RESET ROLE;
GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO ti_app;
SET ROLE ti_app;
SELECT throws_ok($$TRUNCATE courses$$, '42501', 'cannot truncate tenant table public.courses',
                 'ti_app with the TRUNCATE privilege: TRUNCATE courses is refused by tenant_iso');
SELECT ok((pg_temp.err($$TRUNCATE courses$$))[4] LIKE '%DELETE%', '... with a hint suggesting DELETE');
SELECT throws_ok($$TRUNCATE ONLY users CASCADE$$, '42501', NULL, 'ti_app: TRUNCATE ONLY ... CASCADE is refused');
SELECT throws_ok($$TRUNCATE plans, assets$$, '42501', NULL, 'ti_app: TRUNCATE of a global table and a tenant table is refused');
SELECT throws_ok($$DO 'BEGIN EXECUTE ''TRUNCATE lessons CASCADE''; END'$$, '42501', NULL,
                 'ti_app: TRUNCATE from a PL/pgSQL block is refused');
SELECT throws_ok($$SELECT owner_truncate()$$, '42501', NULL,
                 'ti_app: TRUNCATE inside a SECURITY DEFINER function owned by ti_owner is refused');
SELECT throws_ok($$TRUNCATE events$$, '42501', NULL, 'ti_app: TRUNCATE of a partitioned tenant table is refused');
SELECT throws_ok($$TRUNCATE events_ab$$, '42501', NULL, 'ti_app: TRUNCATE of a partition is refused');
SELECT ok((pg_temp.err($$TRUNCATE plans CASCADE$$)) IS NOT NULL,
          'ti_app: TRUNCATE of a global table that CASCADEs to a tenant table is refused');
RESET ROLE;

SET ROLE ti_owner;
SELECT throws_ok($$TRUNCATE courses$$, '42501', 'cannot truncate tenant table public.courses',
                 'ti_owner: TRUNCATE courses is refused');
SELECT throws_ok($$TRUNCATE courses CASCADE$$, '42501', NULL, 'ti_owner: TRUNCATE courses CASCADE is refused');
SELECT throws_ok($$TRUNCATE ONLY enrollments RESTART IDENTITY$$, '42501', NULL, 'ti_owner: TRUNCATE ONLY ... RESTART IDENTITY is refused');
SELECT throws_ok($$TRUNCATE TABLE public.lessons, public.assets$$, '42501', NULL, 'ti_owner: TRUNCATE of two tenant tables is refused');
SELECT throws_ok($$TRUNCATE events$$, '42501', NULL, 'ti_owner: TRUNCATE of a partitioned tenant table is refused');
SELECT ok((pg_temp.err($$TRUNCATE plans CASCADE$$)) IS NOT NULL,
          'ti_owner: TRUNCATE plans CASCADE (reaching subscriptions, a tenant table) is refused');
SELECT pg_temp.err($$TRUNCATE note_templates$$) AS trunc_templates_err \gset
RESET ROLE;
SELECT is((SELECT count(*) FROM subscriptions WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 1::bigint,
          'superuser: B''s subscription survived TRUNCATE ... CASCADE attempts');
SELECT is((SELECT count(*) FROM events WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 1::bigint,
          'superuser: B''s event survived');
SELECT is((SELECT count(*) FROM note_templates WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'),
          CASE WHEN to_regclass('org_notes') IS NULL THEN 0::bigint ELSE 1::bigint END,
          'superuser: TRUNCATE of a global parent did not empty a tenant child table');
SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: B''s data is intact after the TRUNCATE attempts');

------------------------------------------------------------------------------
-- COPY TO (scoped) and COPY FROM (refused): server files, in the data directory
------------------------------------------------------------------------------
GRANT pg_write_server_files, pg_read_server_files TO ti_app, ti_owner;
SELECT set_config('ti.copy_dir', current_setting('data_directory') || '/ti_copy_' || pg_backend_pid(), false) \gset
CREATE FUNCTION pg_temp.copy_out(name text, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY %s TO %L', what, current_setting('ti.copy_dir') || '_' || name || '.csv');
END
$$;
CREATE FUNCTION pg_temp.file(name text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_read_file(current_setting('ti.copy_dir') || '_' || name || '.csv')
$$;
SET ROLE ti_app;
SELECT lives_ok($$SELECT pg_temp.copy_out('courses', 'courses')$$, 'ti_app: COPY courses TO a file runs');
SELECT lives_ok($$SELECT pg_temp.copy_out('users', 'users (email)')$$, 'ti_app: COPY users (email) TO a file runs');
SELECT lives_ok($$SELECT pg_temp.copy_out('query', '(SELECT * FROM lessons WHERE organization_id = ''0b000000-0000-4000-8000-00000000000b'')')$$,
                'ti_app: COPY (SELECT ... WHERE organization_id = B) TO a file runs');
SELECT lives_ok($$SELECT pg_temp.copy_out('dml', '(DELETE FROM assets WHERE id = ''5b000000-0000-4000-8000-000000000001'' RETURNING *)')$$,
                'ti_app: COPY (DELETE ... B''s id RETURNING *) TO a file runs');
RESET ROLE;
SELECT ok(pg_temp.file('courses') LIKE '%Algebra%' AND pg_temp.file('courses') LIKE '%Astronomy%',
          'COPY courses TO wrote A''s courses');
SELECT ok(pg_temp.file('courses') NOT LIKE '%0b000000-0000-4000-8000-00000000000b%' AND pg_temp.file('courses') NOT LIKE '%Biology%',
          'COPY courses TO wrote none of B''s courses');
SELECT ok(pg_temp.file('users') LIKE '%alan@alpha.test%' AND pg_temp.file('users') NOT LIKE '%bea@beta.test%',
          'COPY users (email) TO wrote A''s addresses only');
SELECT is(pg_temp.file('query'), '', 'COPY (SELECT ... WHERE organization_id = B) TO wrote nothing');
SELECT is(pg_temp.file('dml'), '', 'COPY (DELETE ... RETURNING) on B''s id wrote (and deleted) nothing');
SET ROLE ti_owner;
SELECT lives_ok($$SELECT pg_temp.copy_out('owner', 'courses')$$, 'ti_owner: COPY courses TO a file runs');
RESET ROLE;
SELECT ok(pg_temp.file('owner') NOT LIKE '%Biology%' AND pg_temp.file('owner') LIKE '%Algebra%',
          'ti_owner''s COPY courses TO wrote A''s courses only');

-- a file with one row for A and one for B, written by the superuser
SELECT pg_temp.copy_out('both', $$(SELECT gen_random_uuid(), organization_id, 'copied ' || title, now() FROM courses WHERE title IN ('Algebra', 'Biology'))$$) \gset
SET ROLE ti_app;
SELECT throws_ok(format('COPY courses FROM %L', current_setting('ti.copy_dir') || '_both.csv'),
                 '0A000', 'COPY FROM not supported with row-level security',
                 'ti_app: COPY courses FROM a file is refused (0A000)');
SELECT throws_ok(format('COPY users (email, name) FROM %L', current_setting('ti.copy_dir') || '_users.csv'),
                 '0A000', 'COPY FROM not supported with row-level security',
                 'ti_app: COPY users (columns) FROM a file is refused (0A000)');
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok(format('COPY courses FROM %L', current_setting('ti.copy_dir') || '_both.csv'),
                 '0A000', 'COPY FROM not supported with row-level security',
                 'ti_owner: COPY courses FROM a file is refused (0A000)');
RESET ROLE;
SELECT is((SELECT count(*) FROM courses WHERE title LIKE 'copied %'), 0::bigint, 'no copied row reached any tenant');
SELECT is(pg_temp.b_rows(), :'b_before', 'superuser: B''s data is intact after the COPY attempts');
-- empty the files again (they live in the throw-away data directory)
SELECT count(*) AS emptied FROM (SELECT pg_temp.copy_out(n, '(SELECT 1 WHERE false)')
                                  FROM unnest(ARRAY['courses', 'users', 'query', 'dml', 'owner', 'both']) n) s \gset

------------------------------------------------------------------------------
-- the superuser keeps TRUNCATE
------------------------------------------------------------------------------
SELECT lives_ok($$TRUNCATE assets$$, 'superuser: TRUNCATE assets works');
SELECT is((SELECT count(*) FROM assets), 0::bigint, '... and emptied it for every tenant');

SELECT * FROM finish();
ROLLBACK;
