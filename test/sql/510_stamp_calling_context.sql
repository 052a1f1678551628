-- Issue 10, item 2: the stamping trigger function's calling context.
-- Attacks tenant_iso.stamp_organization_id() (C, executable by PUBLIC because PostgreSQL checks
-- EXECUTE when it clones the trigger onto a new partition) as the application role ti_app, on
-- tables it owns (temporary tables, also dressed up as tenant tables with row level security and
-- a policy named tenant_isolation), and as the table owner ti_owner: the issue's crash (a bigint
-- organization_id), a text column (uuid bytes written as text), arrays, domains, dropped columns,
-- wrong trigger names, AFTER, statement-level, DELETE, INSTEAD OF and constraint triggers, a
-- direct call.  Everything but the generated trigger "tenant_iso_stamp" of a tenant table with a
-- uuid organization_id fails with SQLSTATE 39P01 before a byte is written; the generated trigger
-- keeps working on partitions.  Also: the C functions reachable by PUBLIC are exactly the three
-- that validate their input.  The server must not crash.
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a, B = 0b000000-0000-4000-8000-00000000000b.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SELECT pg_backend_pid() AS pid0, pg_postmaster_start_time() AS start0 \gset
BEGIN;
SELECT plan(40);

------------------------------------------------------------------------------
-- which C functions the application role can reach at all
------------------------------------------------------------------------------
-- a hostile value of a type, as an SQL expression (variant 1 is always NULL)
CREATE FUNCTION pg_temp.hostile(t regtype, v int) RETURNS text LANGUAGE sql AS $$
    SELECT CASE
        WHEN v = 1 THEN format('NULL::%s', t)
        WHEN t = 'uuid'::regtype THEN (ARRAY['''00000000-0000-0000-0000-000000000000''::uuid', '''0b000000-0000-4000-8000-00000000000b''::uuid',
                                             '''ffffffff-ffff-ffff-ffff-ffffffffffff''::uuid', 'gen_random_uuid()'])[v - 1]
        WHEN t IN ('text'::regtype, 'name'::regtype, 'cstring'::regtype) THEN
            (ARRAY['''''', 'repeat(''x'', 1000000)', '''v1.'' || repeat(''.'', 10000)', '''%s%s%n''']::text[])[v - 1] || '::' || t::text
        WHEN t IN ('oid[]'::regtype, 'regclass[]'::regtype) THEN
            (ARRAY['''{}''', 'ARRAY[0, 4294967295]', 'ARRAY[NULL]', '(SELECT array_agg(c.oid) FROM pg_class c)']::text[])[v - 1] || '::' || t::text
        WHEN t IN ('oid'::regtype, 'regclass'::regtype) THEN (ARRAY['0', '4294967295', '''pg_class''::regclass', '''courses''::regclass'])[v - 1] || '::' || t::text
        WHEN t = 'interval'::regtype THEN (ARRAY['''-1 day''', '''0''', '''1 month -30 days''', '''178000000 years'''])[v - 1] || '::interval'
        ELSE format('NULL::%s', t)
    END
$$;
-- every C function of the extension that the current role may execute (but triggers), called with
-- hostile arguments: the SQLSTATE of each call ('00000' when it returned)
CREATE FUNCTION pg_temp.call_c_functions() RETURNS TABLE (fn text, variant int, state text) LANGUAGE plpgsql AS $$
DECLARE f record; args text;
BEGIN
    FOR f IN SELECT p.oid, p.oid::regprocedure::text AS sig, p.proargtypes::oid[] AS types
             FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
             WHERE p.pronamespace = 'tenant_iso'::regnamespace AND l.lanname = 'c'
               AND has_function_privilege(p.oid, 'EXECUTE')
               AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
             ORDER BY 2
    LOOP
        FOR v IN 1..5 LOOP
            SELECT coalesce(string_agg(pg_temp.hostile(a.t::regtype, v), ', ' ORDER BY a.ord), '') INTO args
              FROM unnest(f.types) WITH ORDINALITY a(t, ord);
            fn := f.sig;
            variant := v;
            BEGIN
                EXECUTE format('SELECT count(*) FROM %s(%s) s', f.oid::regproc, args);
                state := '00000';
            EXCEPTION WHEN OTHERS THEN
                state := SQLSTATE;
            END;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.hostile(regtype, int), pg_temp.call_c_functions() TO PUBLIC;
SET ROLE ti_app;
CREATE TEMP TABLE c_calls AS SELECT * FROM pg_temp.call_c_functions();
RESET ROLE;
SELECT ok((SELECT count(DISTINCT fn) FROM c_calls WHERE fn IN ('tenant_iso.current_org_id()', 'tenant_iso.authenticate(text)')) = 2,
          'sanity: the C functions reachable by ti_app (current_org_id, authenticate, and any other) were each called with hostile arguments');
SELECT is((SELECT string_agg(fn || ' #' || variant || ': ' || state, ', ') FROM c_calls WHERE state IN ('XX000', 'XX001', 'XX002')),
          NULL, 'every C function reachable by ti_app validates its arguments: no internal error (XX000) for NULLs, empty, huge, odd values');
SELECT is(pg_backend_pid(), :pid0, 'and the backend survived all of them');
SELECT is((SELECT count(*) FROM pg_proc p
           WHERE p.pronamespace = 'tenant_iso'::regnamespace AND p.prosecdef
             AND has_function_privilege('ti_app', p.oid, 'EXECUTE')),
          0::bigint, 'ti_app may execute none of the extension''s SECURITY DEFINER functions');

------------------------------------------------------------------------------
-- tables of the application role's own (temporary tables)
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
-- the issue's crash: a bigint organization_id
CREATE TEMP TABLE t_bigint (organization_id bigint);
CREATE TRIGGER s BEFORE INSERT ON t_bigint FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_bigint VALUES (1)$$, '39P01', NULL,
                 'the issue''s crash: the function as trigger of a table with a bigint organization_id fails with 39P01');
SELECT throws_ok($$INSERT INTO t_bigint VALUES (NULL)$$, '39P01', NULL, 'also with a NULL organization_id (nothing to stamp into a bigint)');
-- a text column: uuid bytes would be written as a text datum
CREATE TEMP TABLE t_text (organization_id text);
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT OR UPDATE ON t_text FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_text VALUES (NULL)$$, '39P01', NULL,
                 'a text organization_id, trigger named tenant_iso_stamp: 39P01');
-- the same dressed up as a tenant table (row level security, a policy named tenant_isolation)
ALTER TABLE t_text ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON t_text USING (true) WITH CHECK (true);
CREATE POLICY tenant_access ON t_text USING (true);
SELECT throws_ok($$INSERT INTO t_text VALUES (NULL)$$, '39P01', NULL,
                 'a text organization_id in a table that looks like a tenant table: 39P01 (the column type is checked)');
SELECT throws_ok($$INSERT INTO t_text VALUES ('x')$$, '39P01', NULL, 'with a value too');
SELECT throws_ok($$WITH n AS (INSERT INTO t_text VALUES (NULL) RETURNING 1) SELECT count(*) FROM n$$, '39P01', NULL,
                 'an insert in a data-modifying CTE: 39P01');
SELECT is((SELECT count(*) FROM t_text), 0::bigint, 'nothing was written into the text table');
-- other column types
CREATE TEMP TABLE t_array (organization_id uuid[]);
ALTER TABLE t_array ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON t_array USING (true) WITH CHECK (true);
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT ON t_array FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_array VALUES (NULL)$$, '39P01', NULL, 'a uuid[] organization_id: 39P01');
CREATE TEMP TABLE t_bytea (organization_id bytea);
ALTER TABLE t_bytea ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON t_bytea USING (true) WITH CHECK (true);
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT ON t_bytea FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_bytea VALUES (NULL)$$, '39P01', NULL, 'a bytea organization_id: 39P01');
CREATE TEMP TABLE t_nocol (org uuid);
ALTER TABLE t_nocol ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON t_nocol USING (true) WITH CHECK (true);
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT ON t_nocol FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_nocol VALUES (NULL)$$, '39P01', NULL, 'a table without an organization_id column: 39P01');
-- a uuid column, but not (dressed up as) a tenant table
CREATE TEMP TABLE t_plain (organization_id uuid);
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT ON t_plain FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_plain VALUES (NULL)$$, '39P01', NULL,
                 'a uuid organization_id in a table that is not a tenant table: 39P01');
-- a uuid column in a table dressed up as a tenant table, but the wrong kind of trigger
CREATE TEMP TABLE t_uuid (organization_id uuid, note text);
ALTER TABLE t_uuid ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON t_uuid USING (true) WITH CHECK (true);
CREATE POLICY tenant_access ON t_uuid USING (true);
CREATE TRIGGER stamp_other_name BEFORE INSERT ON t_uuid FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_uuid VALUES (NULL)$$, '39P01', NULL, 'a trigger under another name than tenant_iso_stamp: 39P01');
DROP TRIGGER stamp_other_name ON t_uuid;
CREATE TRIGGER tenant_iso_stamp AFTER INSERT ON t_uuid FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_uuid VALUES (NULL)$$, '39P01', NULL, 'an AFTER INSERT row trigger: 39P01');
DROP TRIGGER tenant_iso_stamp ON t_uuid;
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT ON t_uuid FOR EACH STATEMENT EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_uuid VALUES (NULL)$$, '39P01', NULL, 'a statement-level trigger: 39P01');
DROP TRIGGER tenant_iso_stamp ON t_uuid;
CREATE TRIGGER tenant_iso_stamp BEFORE DELETE ON t_uuid FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
INSERT INTO t_uuid VALUES (:'A', 'to delete');
SELECT throws_ok($$DELETE FROM t_uuid$$, '39P01', NULL, 'a BEFORE DELETE row trigger: 39P01');
DROP TRIGGER tenant_iso_stamp ON t_uuid;
CREATE CONSTRAINT TRIGGER tenant_iso_stamp AFTER INSERT ON t_uuid FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_uuid VALUES (NULL)$$, '39P01', NULL, 'a constraint trigger: 39P01');
DROP TRIGGER tenant_iso_stamp ON t_uuid;
CREATE TEMP VIEW v_stamp AS SELECT NULL::uuid AS organization_id;
CREATE TRIGGER tenant_iso_stamp INSTEAD OF INSERT ON v_stamp FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO v_stamp VALUES (NULL)$$, '39P01', NULL, 'an INSTEAD OF trigger on a view: 39P01');
SELECT throws_ok($$SELECT tenant_iso.stamp_organization_id()$$, '39P01', NULL, 'a direct call: 39P01');
-- the right kind of trigger on a table dressed up as a tenant table: it stamps correctly and
-- refuses other organizations (nothing to gain: the table is the role's own)
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT OR UPDATE OF organization_id ON t_uuid
    FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT results_eq($$INSERT INTO t_uuid VALUES (NULL, 'stamped') RETURNING organization_id$$, format('VALUES (%L::uuid)', :'A'),
                  'on a uuid column of a table dressed up as a tenant table, the generated kind of trigger stamps A, byte for byte');
SELECT throws_ok(format($$INSERT INTO t_uuid VALUES (%L, 'spoofed')$$, :'B'), 'TI003', NULL,
                 'and refuses B''s id (TI003)');
-- what the trigger verified is remembered for the table until the table changes: once the table
-- is no longer dressed up (policy dropped, trigger renamed), the next insert is refused again
DROP POLICY tenant_isolation ON t_uuid;
SELECT throws_ok($$INSERT INTO t_uuid VALUES (NULL, 'again')$$, '39P01', NULL,
                 'the same trigger after the table lost its tenant_isolation policy: 39P01 (nothing verified is kept)');
CREATE POLICY tenant_isolation ON t_uuid USING (true) WITH CHECK (true);
ALTER TRIGGER tenant_iso_stamp ON t_uuid RENAME TO renamed_stamp;
SELECT throws_ok($$INSERT INTO t_uuid VALUES (NULL, 'again')$$, '39P01', NULL,
                 'the same trigger renamed: 39P01');
ALTER TRIGGER renamed_stamp ON t_uuid RENAME TO tenant_iso_stamp;
-- a domain over uuid, and a dropped column in front of organization_id (attribute numbers shift)
CREATE DOMAIN pg_temp.org_dom AS uuid;
CREATE TEMP TABLE t_dom (dropped int, note text, organization_id pg_temp.org_dom);
ALTER TABLE t_dom DROP COLUMN dropped;
ALTER TABLE t_dom ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON t_dom USING (true) WITH CHECK (true);
CREATE POLICY tenant_access ON t_dom USING (true);
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT ON t_dom FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT results_eq($$INSERT INTO t_dom (note) VALUES ('n') RETURNING note, organization_id::uuid$$, format($$VALUES ('n', %L::uuid)$$, :'A'),
                  'a domain over uuid after a dropped column: the right column is stamped with A, the other column intact');

------------------------------------------------------------------------------
-- the table owner
------------------------------------------------------------------------------
RESET ROLE;
SET ROLE ti_owner;
CREATE TRIGGER zz_stamp BEFORE INSERT ON courses FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO courses (title) VALUES ('Second stamp')$$, '39P01', NULL,
                 'ti_owner: the function as a second trigger of a tenant table under another name: the insert fails with 39P01');
DROP TRIGGER zz_stamp ON courses;
CREATE TEMP TABLE t_owner (organization_id int);
CREATE TRIGGER tenant_iso_stamp BEFORE INSERT ON t_owner FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id();
SELECT throws_ok($$INSERT INTO t_owner VALUES (1)$$, '39P01', NULL, 'ti_owner: on its own temporary table with an int column: 39P01');
-- the generated trigger still works where it must: cloned onto partitions
CREATE TABLE events (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    kind            text NOT NULL,
    PRIMARY KEY (organization_id, kind, id)
) PARTITION BY LIST (kind);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a');
CREATE TABLE events_b PARTITION OF events FOR VALUES IN ('b');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname = 'tenant_iso_stamp' AND tgrelid IN ('events_a'::regclass, 'events_b'::regclass)),
          2::bigint, 'ti_owner: both partitions got the stamping trigger (cloned from the parent)');
RESET ROLE;
SET ROLE ti_app;
SELECT results_eq($$INSERT INTO events (kind) VALUES ('a'), ('b') RETURNING tableoid::regclass::text, organization_id$$,
                  format($$VALUES ('events_a', %L::uuid), ('events_b', %L::uuid)$$, :'A', :'A'),
                  'ti_app: rows routed to partitions are stamped with A');
SELECT throws_ok(format($$INSERT INTO events (kind, organization_id) VALUES ('b', %L)$$, :'B'), 'TI003', NULL,
                 'ti_app: B''s id into a partition is refused (TI003)');
SELECT throws_ok(format($$INSERT INTO events_a (kind, organization_id) VALUES ('a', %L)$$, :'B'), 'TI003', NULL,
                 'ti_app: B''s id into a partition named directly is refused (TI003)');
SELECT throws_ok(format($$UPDATE events SET organization_id = %L$$, :'B'), 'TI003', NULL,
                 'ti_app: moving a partition''s row to B is refused (TI003)');
SELECT results_eq($$INSERT INTO courses (title) VALUES ('Stamped') RETURNING organization_id$$, format('VALUES (%L::uuid)', :'A'),
                  'ti_app: the generated trigger of an ordinary tenant table stamps A');
SELECT throws_ok(format($$INSERT INTO courses (title, organization_id) VALUES ('Spoofed', %L)$$, :'B'), 'TI003', NULL,
                 'ti_app: and refuses B''s id (TI003)');
RESET ROLE;

------------------------------------------------------------------------------
-- nothing crashed, nothing of B's was touched
------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM courses WHERE organization_id = :'B'), 2::bigint, 'superuser: B''s courses are as before');
SELECT is((SELECT count(*) FROM events WHERE organization_id = :'B'), 0::bigint, 'superuser: no event row of B');
SELECT is(pg_backend_pid(), :pid0, 'the same backend ran the whole file (no crash)');
SELECT is(pg_postmaster_start_time(), :'start0'::timestamptz, 'the postmaster did not restart');

SELECT * FROM finish();
ROLLBACK;
