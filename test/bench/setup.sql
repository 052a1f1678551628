-- test/bench/setup.sql: roles, schemas, tables and data of `make bench` (see docs/benchmark.md).
--
-- Run by test/bench/run.sh as the superuser, with psql variables
--   norgs  number of organizations (1,000)
--   big    rows of the big organization, k = 1 (200,000 at full scale)
--   mrows  rows of every other organization (1,800 at full scale; k = 2 is "the medium tenant",
--          k = 3 receives the inserts of W3, W3m and the COPY loads)
--
-- Ids are computed from integers so that pgbench scripts can name rows without string variables:
--   organization k   00000000-0000-4000-8000-<k, 12 digits>
--   course (k, s)    <k, 8 digits>-0000-4000-8000-<s, 12 digits>   (s = 1 .. rows of k)
--
-- Variants (same rows, same physical order, same indexes):
--   V0    bench_plain.courses_v0    no row level security; queries say WHERE organization_id = ...
--   V0L   bench_plain.courses_v0    V0's table; queries name the organization by a literal instead
--   V0fk  bench_plain.courses_v0fk  V0 plus a foreign key to the registry (W3, W3m, COPY: what a key costs)
--   V1    bench_plain.courses_v1    RLS, policy organization_id = current_setting('tenant.org_id')::uuid
--   V2    bench_plain.courses_v2    RLS, policy organization_id = (SELECT current_setting('tenant.org_id')::uuid)
--   V3    bench.courses             a tenant_iso tenant table, created normally (the schema check sets it up)
-- bench_plain is exempted from the schema check; V1 and V2 get their row level security by hand.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- The server runs with synchronous_commit = off, but an asynchronous commit lets no one set the
-- "committed" hint bits of its rows until its WAL is flushed, and VACUUM then leaves the pages
-- not all-visible (no index-only scans). The load commits synchronously.
SET synchronous_commit = on;

CREATE ROLE bench_owner LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE bench_app   LOGIN NOSUPERUSER NOBYPASSRLS;
-- W6: a pooled client, whose tenant lives for one transaction only
CREATE ROLE bench_pool  LOGIN NOSUPERUSER NOBYPASSRLS;
ALTER ROLE bench_pool SET tenant_iso.context_scope = 'transaction';
-- bench_app without per-tenant statistics (variant V3nt: what tenant_iso.track_tenant_stats costs;
-- the setting is for superusers, so it is the role's default, set here)
CREATE ROLE bench_app_nt LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE bench_app;
ALTER ROLE bench_app_nt SET tenant_iso.track_tenant_stats = off;

CREATE EXTENSION tenant_iso;
CREATE EXTENSION btree_gin;
CREATE EXTENSION pg_prewarm;

CREATE SCHEMA bench AUTHORIZATION bench_owner;
CREATE SCHEMA bench_plain AUTHORIZATION bench_owner;
SELECT tenant_iso.exempt_schema('bench_plain', 'benchmark baselines');

-- the README's grants for the application role, for both application roles
GRANT USAGE ON SCHEMA bench, bench_plain TO bench_app, bench_pool;
GRANT SELECT ON tenant_iso.organizations TO bench_app, bench_pool;
ALTER DEFAULT PRIVILEGES FOR ROLE bench_owner IN SCHEMA bench, bench_plain
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bench_app, bench_pool;

-- helpers of the loader (not used by the measured queries)
CREATE FUNCTION bench_plain.org_uuid(k int) RETURNS uuid LANGUAGE sql IMMUTABLE
    AS $$ SELECT ('00000000-0000-4000-8000-' || lpad(k::text, 12, '0'))::uuid $$;
CREATE FUNCTION bench_plain.course_uuid(k int, s int) RETURNS uuid LANGUAGE sql IMMUTABLE
    AS $$ SELECT (lpad(k::text, 8, '0') || '-0000-4000-8000-' || lpad(s::text, 12, '0'))::uuid $$;

-- the registry, through the provisioning function
SELECT count(tenant_iso.create_organization('Organization ' || k, bench_plain.org_uuid(k)))
FROM generate_series(1, :norgs) k;

-- Tables are created and filled in one transaction: with wal_level = minimal their data then
-- skips the WAL.
BEGIN;
SET ROLE bench_owner;
CREATE TABLE bench_plain.courses_v0 (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    title           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    views           int NOT NULL DEFAULT 0,
    tags            jsonb NOT NULL DEFAULT '[]'
);
CREATE TABLE bench_plain.courses_v0fk (LIKE bench_plain.courses_v0 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
-- hand-rolled row level security: the DEFAULT stamps inserts
CREATE TABLE bench_plain.courses_v1 (LIKE bench_plain.courses_v0 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE bench_plain.courses_v1 ALTER organization_id SET DEFAULT current_setting('tenant.org_id')::uuid;
CREATE TABLE bench_plain.courses_v2 (LIKE bench_plain.courses_v0 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
ALTER TABLE bench_plain.courses_v2 ALTER organization_id SET DEFAULT current_setting('tenant.org_id')::uuid;
-- V3: created the way a user creates a tenant table
CREATE TABLE bench.courses (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    title           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    views           int NOT NULL DEFAULT 0,
    tags            jsonb NOT NULL DEFAULT '[]'
);
RESET ROLE;

-- V0: the rows. Physical order is a hash of the id, so that every tenant's rows are spread over
-- the table as they would be after years of interleaved inserts.
INSERT INTO bench_plain.courses_v0 (id, organization_id, title, created_at, tags)
SELECT bench_plain.course_uuid(k, s), bench_plain.org_uuid(k),
       -- 32 letters a..p: a given two-letter prefix starts 1 title in 256
       translate(md5(k || ':' || s), '0123456789', 'ghijklmnop'),
       timestamptz '2021-01-01 00:00+00' + ((abs(hashtext(s || '/' || k)::bigint) % 1576800) * interval '1 minute'),
       -- two tags of 1,000: a given tag is on about 1 course in 500
       jsonb_build_array('t' || (abs(hashtext(k || '#' || s)::bigint) % 1000), 't' || (abs(hashtext(s || '#' || k)::bigint) % 1000))
FROM (SELECT 1 AS k, s FROM generate_series(1, :big) s
      UNION ALL
      SELECT k, s FROM generate_series(2, :norgs) k, generate_series(1, :mrows) s) g
ORDER BY md5(s || '.' || k);

INSERT INTO bench_plain.courses_v0fk SELECT * FROM bench_plain.courses_v0;
INSERT INTO bench_plain.courses_v1 SELECT * FROM bench_plain.courses_v0;
INSERT INTO bench_plain.courses_v2 SELECT * FROM bench_plain.courses_v0;
-- Bulk load of the tenant table as the superuser, with triggers (the stamping trigger and the
-- registry key's checks) off: the rows are valid by construction.
SET LOCAL session_replication_role = replica;
INSERT INTO bench.courses SELECT * FROM bench_plain.courses_v0;
COMMIT;

-- V0fk's foreign key to the registry (as tenant tables had before the registry guard)
ALTER TABLE bench_plain.courses_v0fk ADD CONSTRAINT courses_v0fk_organization_fk
    FOREIGN KEY (organization_id) REFERENCES tenant_iso.organizations (id) ON DELETE CASCADE;

-- the same indexes everywhere: V3 has the schema check's UNIQUE (organization_id, id) (the key
-- child tables reference; it is also its tenant index), so every plain table gets it too
SET ROLE bench_owner;
ALTER TABLE bench_plain.courses_v0 ADD UNIQUE (organization_id, id);
ALTER TABLE bench_plain.courses_v0fk ADD UNIQUE (organization_id, id);
ALTER TABLE bench_plain.courses_v1 ADD UNIQUE (organization_id, id);
ALTER TABLE bench_plain.courses_v2 ADD UNIQUE (organization_id, id);
CREATE INDEX ON bench_plain.courses_v0 (organization_id, created_at);
CREATE INDEX ON bench_plain.courses_v0fk (organization_id, created_at);
CREATE INDEX ON bench_plain.courses_v1 (organization_id, created_at);
CREATE INDEX ON bench_plain.courses_v2 (organization_id, created_at);
CREATE INDEX ON bench.courses (organization_id, created_at);
CREATE INDEX ON bench_plain.courses_v0 (organization_id, title text_pattern_ops);
CREATE INDEX ON bench_plain.courses_v0fk (organization_id, title text_pattern_ops);
CREATE INDEX ON bench_plain.courses_v1 (organization_id, title text_pattern_ops);
CREATE INDEX ON bench_plain.courses_v2 (organization_id, title text_pattern_ops);
CREATE INDEX ON bench.courses (organization_id, title text_pattern_ops);
CREATE INDEX ON bench_plain.courses_v0 USING gin (organization_id, tags);
CREATE INDEX ON bench_plain.courses_v0fk USING gin (organization_id, tags);
CREATE INDEX ON bench_plain.courses_v1 USING gin (organization_id, tags);
CREATE INDEX ON bench_plain.courses_v2 USING gin (organization_id, tags);
CREATE INDEX ON bench.courses USING gin (organization_id, tags);

-- hand-rolled row level security of V1 and V2 (forced: the owner is bound too, as in V3)
ALTER TABLE bench_plain.courses_v1 ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY courses_v1_tenant ON bench_plain.courses_v1
    USING (organization_id = current_setting('tenant.org_id')::uuid)
    WITH CHECK (organization_id = current_setting('tenant.org_id')::uuid);
ALTER TABLE bench_plain.courses_v2 ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY courses_v2_tenant ON bench_plain.courses_v2
    USING (organization_id = (SELECT current_setting('tenant.org_id')::uuid))
    WITH CHECK (organization_id = (SELECT current_setting('tenant.org_id')::uuid));
RESET ROLE;

VACUUM (ANALYZE) bench_plain.courses_v0, bench_plain.courses_v0fk, bench_plain.courses_v1,
    bench_plain.courses_v2, bench.courses, tenant_iso.organizations;
CHECKPOINT;
