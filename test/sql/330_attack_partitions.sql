-- Attack family: partitions and inheritance children.
-- Row level security policies are not inherited: a query against a partition or child table
-- directly uses the policies of that table only. Every partition and child of a tenant table
-- must therefore be a tenant table itself, however it came to be one: PARTITION OF (also
-- sub-partitions), ATTACH PARTITION, INHERITS, ALTER TABLE ... INHERIT. A compliant table that
-- joins is set up; a table that cannot be a tenant table (no organization_id, exempt) is refused.
-- The reverse direction too: a tenant table under a parent that is not a tenant table (an exempt,
-- global table) would show its rows, unscoped, through that parent.
-- Attackers: ti_app and ti_owner working for A; B's and C's rows live in their own partitions.
BEGIN;
SELECT plan(41);

\ir include/err.sql
\ir include/is_tenant_table.sql
\ir include/count_if_exists.sql
SELECT tenant_iso.create_organization('Gamma Guild', '0c000000-0000-4000-8000-00000000000c') AS org_c \gset

------------------------------------------------------------------------------
-- a table partitioned by tenant, with a sub-partitioned default partition
------------------------------------------------------------------------------
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_owner;
CREATE TABLE events (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    kind            text NOT NULL,
    PRIMARY KEY (organization_id, id)
) PARTITION BY LIST (organization_id);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('0a000000-0000-4000-8000-00000000000a');
CREATE TABLE events_b PARTITION OF events FOR VALUES IN ('0b000000-0000-4000-8000-00000000000b');
CREATE TABLE events_rest PARTITION OF events DEFAULT PARTITION BY HASH (id);
CREATE TABLE events_rest_0 PARTITION OF events_rest FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE events_rest_1 PARTITION OF events_rest FOR VALUES WITH (MODULUS 2, REMAINDER 1);
RESET ROLE;
-- (rows are routed before BEFORE triggers run, so they name their organization explicitly)
INSERT INTO events (organization_id, kind) VALUES
    ('0a000000-0000-4000-8000-00000000000a', 'a-login'),
    ('0b000000-0000-4000-8000-00000000000b', 'b-login'), ('0b000000-0000-4000-8000-00000000000b', 'b-secret'),
    ('0c000000-0000-4000-8000-00000000000c', 'c-login'), ('0c000000-0000-4000-8000-00000000000c', 'c-secret'),
    ('0c000000-0000-4000-8000-00000000000c', 'c-more'), ('0c000000-0000-4000-8000-00000000000c', 'c-even-more');
SELECT count(*) AS others_before FROM events WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a' \gset

SELECT ok(pg_temp.is_tenant_table('events_b'), 'a partition created with PARTITION OF is a tenant table');
SELECT ok(pg_temp.is_tenant_table('events_rest') AND pg_temp.is_tenant_table('events_rest_0') AND pg_temp.is_tenant_table('events_rest_1'),
          'a sub-partitioned default partition and its sub-partitions are tenant tables');

SET ROLE ti_app;
SELECT is((SELECT string_agg(kind, ',') FROM events), 'a-login', 'ti_app: through the parent A sees only its own event');
SELECT is_empty($$SELECT * FROM events_b$$, 'ti_app: the partition holding B''s rows, queried directly, shows nothing');
SELECT is_empty($$SELECT * FROM events_rest$$, 'ti_app: the default partition, queried directly, shows nothing of C');
SELECT is((SELECT count(*) FROM events_rest_0) + (SELECT count(*) FROM events_rest_1), 0::bigint,
          'ti_app: the hash sub-partitions, queried directly, show nothing of C');
WITH u AS (UPDATE events_b SET kind = 'pwned' RETURNING 1) SELECT is(count(*), 0::bigint, 'ti_app: UPDATE of B''s partition changes nothing') FROM u;
WITH d AS (DELETE FROM events_rest_1 RETURNING 1) SELECT is(count(*), 0::bigint, 'ti_app: DELETE from a sub-partition deletes nothing') FROM d;
SELECT throws_ok($$INSERT INTO events_b (organization_id, kind) VALUES ('0b000000-0000-4000-8000-00000000000b', 'planted')$$,
                 'TI003', NULL, 'ti_app: INSERT for B directly into B''s partition fails with TI003');
RESET ROLE;
SET ROLE ti_owner;
SELECT is_empty($$SELECT * FROM events_b$$, 'ti_owner: B''s partition queried directly shows nothing');
SELECT is((SELECT count(*) FROM ONLY events_rest), 0::bigint, 'ti_owner: ONLY on the default partition shows nothing');
-- the partitions cannot be opened
SELECT throws_ok($$ALTER TABLE events_b NO FORCE ROW LEVEL SECURITY$$, '42P16', NULL,
                 'ti_owner: NO FORCE ROW LEVEL SECURITY on a partition is refused');
SELECT throws_ok($$ALTER TABLE events_rest_0 DISABLE ROW LEVEL SECURITY$$, '42P16', NULL,
                 'ti_owner: DISABLE ROW LEVEL SECURITY on a sub-partition is refused');
SELECT throws_ok($$DROP POLICY tenant_isolation ON events_b$$, '42P16', NULL,
                 'ti_owner: dropping the policy of a partition is refused');
-- a detached partition stays a tenant table
SELECT lives_ok($$ALTER TABLE events DETACH PARTITION events_b$$, 'ti_owner detaches B''s partition');
SELECT ok(pg_temp.is_tenant_table('events_b'), '... it is still a tenant table');
RESET ROLE;
SET ROLE ti_app;
SELECT is_empty($$SELECT * FROM events_b$$, 'ti_app: the detached partition shows nothing of B');
RESET ROLE;

------------------------------------------------------------------------------
-- ATTACH PARTITION
------------------------------------------------------------------------------
-- a compliant table that was never set up (created under unsafe_ddl, as a restore would)
SET tenant_iso.unsafe_ddl = on;
SET client_min_messages = error;
CREATE TABLE events_b2 (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, kind text NOT NULL);
CREATE TABLE events_noorg (id uuid NOT NULL DEFAULT gen_random_uuid(), kind text NOT NULL);
CREATE TABLE events_nullorg (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid, kind text NOT NULL);
RESET client_min_messages;
RESET tenant_iso.unsafe_ddl;
INSERT INTO events_b2 (organization_id, kind) VALUES ('0b000000-0000-4000-8000-00000000000b', 'b2-secret');
ALTER TABLE events_b2 OWNER TO ti_owner;
ALTER TABLE events_noorg OWNER TO ti_owner;
ALTER TABLE events_nullorg OWNER TO ti_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON events_b2 TO ti_app;
SELECT tenant_iso.exempt_table('public.events_exempt', 'a global table that must not become a partition') \gset
CREATE TABLE events_exempt (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, kind text NOT NULL);
ALTER TABLE events_exempt OWNER TO ti_owner;
SET ROLE ti_owner;
SELECT lives_ok($$ALTER TABLE events ATTACH PARTITION events_b2 FOR VALUES IN ('0b000000-0000-4000-8000-00000000000b')$$,
                'ti_owner: ATTACH PARTITION of a compliant table that was not set up succeeds');
SELECT ok(pg_temp.is_tenant_table('events_b2'), '... and the attached table is now a tenant table');
RESET ROLE;
SET ROLE ti_app;
SELECT is(pg_temp.count_if_exists('events_b2', 'true'), 0::bigint, 'ti_app: the attached table, queried directly, shows nothing of B');
RESET ROLE;
SET ROLE ti_owner;
SELECT ok((pg_temp.err($$ALTER TABLE events ATTACH PARTITION events_noorg FOR VALUES IN ('0d000000-0000-4000-8000-00000000000d')$$)) IS NOT NULL,
          'ti_owner: ATTACH PARTITION of a table without organization_id is refused');
SELECT ok((pg_temp.err($$ALTER TABLE events ATTACH PARTITION events_nullorg FOR VALUES IN ('0d000000-0000-4000-8000-00000000000d')$$)) IS NOT NULL,
          'ti_owner: ATTACH PARTITION of a table with a nullable organization_id is refused');
SELECT ok((pg_temp.err($$ALTER TABLE events ATTACH PARTITION events_exempt FOR VALUES IN ('0d000000-0000-4000-8000-00000000000d')$$)) IS NOT NULL,
          'ti_owner: ATTACH PARTITION of an exempt table is refused');
SELECT is((SELECT count(*) FROM pg_inherits WHERE inhrelid IN ('events_noorg'::regclass, 'events_nullorg'::regclass, 'events_exempt'::regclass)),
          0::bigint, '... none of them became a partition');
RESET ROLE;
-- a partition in an exempt schema
CREATE SCHEMA archive;
GRANT USAGE, CREATE ON SCHEMA archive TO ti_owner, ti_app;
SELECT tenant_iso.exempt_schema('archive', 'global archive tables') \gset
SET ROLE ti_owner;
SELECT ok((pg_temp.err($$CREATE TABLE archive.events_old PARTITION OF events FOR VALUES IN ('0e000000-0000-4000-8000-00000000000e')$$)) IS NOT NULL,
          'ti_owner: a partition of a tenant table in an exempt schema is refused');
SELECT is(to_regclass('archive.events_old'), NULL, '... and it does not exist');
RESET ROLE;

------------------------------------------------------------------------------
-- inheritance children: INHERITS and ALTER TABLE ... INHERIT
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE TABLE course_archive (archived_at timestamptz NOT NULL DEFAULT now()) INHERITS (courses)$$,
                'ti_owner creates a child table with INHERITS (courses)');
SELECT ok(pg_temp.is_tenant_table('course_archive'), '... it is a tenant table');
RESET ROLE;
INSERT INTO course_archive (id, organization_id, title) VALUES
    ('2b000000-0000-4000-8000-0000000000c1', '0b000000-0000-4000-8000-00000000000b', 'B archived secret');
SET tenant_iso.unsafe_ddl = on;
SET client_min_messages = error;
CREATE TABLE course_kid (id uuid NOT NULL, organization_id uuid NOT NULL, title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE course_noorg (id uuid NOT NULL, title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
RESET client_min_messages;
RESET tenant_iso.unsafe_ddl;
INSERT INTO course_kid (id, organization_id, title) VALUES ('2b000000-0000-4000-8000-0000000000c2', '0b000000-0000-4000-8000-00000000000b', 'B kid secret');
ALTER TABLE course_kid OWNER TO ti_owner;
ALTER TABLE course_noorg OWNER TO ti_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON course_kid TO ti_app;
SET ROLE ti_owner;
SELECT lives_ok($$ALTER TABLE course_kid INHERIT courses$$,
                'ti_owner: ALTER TABLE ... INHERIT courses of a compliant table that was not set up succeeds');
SELECT ok(pg_temp.is_tenant_table('course_kid'), '... and the child is now a tenant table');
SELECT ok((pg_temp.err($$ALTER TABLE course_noorg INHERIT courses$$)) IS NOT NULL,
          'ti_owner: ALTER TABLE ... INHERIT of a table without organization_id is refused');
SELECT ok((pg_temp.err($$ALTER TABLE events_exempt INHERIT events_a$$)) IS NOT NULL,
          'ti_owner: ALTER TABLE ... INHERIT of an exempt table is refused');
RESET ROLE;
SET ROLE ti_app;
SELECT is_empty($$SELECT * FROM course_archive$$, 'ti_app: a child made with INHERITS, queried directly, shows nothing of B');
SELECT is(pg_temp.count_if_exists('course_kid', 'true'), 0::bigint, 'ti_app: a child added with INHERIT, queried directly, shows nothing of B');
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'ti_app: the parent with its children shows A''s 2 courses only');
SELECT is_empty($$SELECT * FROM courses WHERE title LIKE 'B %'$$, 'ti_app: B''s archived rows do not appear through the parent');
RESET ROLE;

------------------------------------------------------------------------------
-- a tenant table below a global (exempt) parent
------------------------------------------------------------------------------
SELECT tenant_iso.exempt_table('public.plan_templates', 'global plan templates') \gset
SELECT tenant_iso.exempt_table('public.global_log', 'global log') \gset
CREATE TABLE plan_templates (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, name text NOT NULL);
CREATE TABLE global_log (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, line text NOT NULL)
    PARTITION BY LIST (organization_id);
ALTER TABLE plan_templates OWNER TO ti_owner;
ALTER TABLE global_log OWNER TO ti_owner;
GRANT SELECT ON plan_templates, global_log TO ti_app;
SET ROLE ti_owner;
SELECT pg_temp.err($$CREATE TABLE org_plans () INHERITS (plan_templates)$$) AS org_plans_err \gset
SELECT pg_temp.err($$CREATE TABLE global_log_b PARTITION OF global_log FOR VALUES IN ('0b000000-0000-4000-8000-00000000000b')$$) AS global_log_b_err \gset
RESET ROLE;
DO $$ BEGIN  -- only if the children were accepted
    IF to_regclass('org_plans') IS NOT NULL THEN
        INSERT INTO org_plans (organization_id, name) VALUES ('0b000000-0000-4000-8000-00000000000b', 'B private plan');
    END IF;
    IF to_regclass('global_log_b') IS NOT NULL THEN
        INSERT INTO global_log (organization_id, line) VALUES ('0b000000-0000-4000-8000-00000000000b', 'B private log line');
    END IF;
END $$;
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM plan_templates WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 0::bigint,
          'ti_app: a global parent does not show the rows of a tenant child table (refused, or scoped)');
SELECT is((SELECT count(*) FROM global_log WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 0::bigint,
          'ti_app: a global partitioned table does not show the rows of a tenant partition (refused, or scoped)');
RESET ROLE;

SELECT is((SELECT count(*) FROM events WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a'), :others_before::bigint - 2 + 1,
          'superuser: C''s events are intact in the partitioned table (B''s 2 went with the detached partition, 1 came with the attached one)');
SELECT is((SELECT count(*) FROM events_b WHERE kind LIKE 'b-%'), 2::bigint, 'superuser: the detached partition still holds B''s 2 events');
SELECT is((SELECT count(*) FROM courses WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'), 4::bigint,
          'superuser: B''s 2 courses and 2 archived courses are intact');

SELECT * FROM finish();
ROLLBACK;
