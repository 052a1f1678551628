-- Issue 11, item 1: a cascade must not strip a tenant table of its isolation.
-- Attacker: ti_owner, the migration role that owns the tables (NOT superuser), with the
-- privileges a migration role commonly has: CREATE on the database (so it can create schemas
-- and trusted extensions such as citext and btree_gist) and membership in a second role it
-- administers (ti_kit610).  A superuser only sets up what only a superuser can: the grants, the
-- role ti_kit610, and (as a reviewer would) LEAKPROOF on one of ti_owner's functions.
-- Every route drops or alters an object the tenant table depends on, so that PostgreSQL drops
-- the table's organization_id column, its tenant_isolation policy, its stamping trigger or its
-- organization_id-leading index with it:
--   DROP OWNED BY <a role> CASCADE (the role owns the domain of organization_id; run by that role
--   itself, by ti_owner, and by ti_owner against a table of another owner), DROP DOMAIN / TYPE
--   ... CASCADE (also a domain over a domain, an enum in the only tenant index), DROP FUNCTION
--   ... CASCADE (a function in a domain DEFAULT, in the only tenant index, in a user policy, in a
--   column DEFAULT), DROP COLLATION ... CASCADE, DROP OPERATOR ... CASCADE, DROP SCHEMA ...
--   CASCADE, DROP EXTENSION citext / btree_gist CASCADE, REASSIGN OWNED then DROP OWNED and DROP
--   ROLE, ALTER DOMAIN / ALTER TYPE, and the temporary schema: a dependency on a temporary object
--   is dropped in-statement (DROP ... pg_temp, DISCARD TEMP), at COMMIT (ON COMMIT DROP) and when
--   the session ends - the last two outside any statement the guard sees.
-- After each route: either the statement was refused, or the table still passes
-- tenant_iso._table_violations() and tenant A still sees only its own rows.
-- The routes that need a COMMIT or the end of a session run first, in sessions of their own (the
-- database is thrown away afterwards); the rest runs in BEGIN ... ROLLBACK.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;

------------------------------------------------------------------------------
-- outside any statement: temporary objects dropped at COMMIT and at the end of a session
------------------------------------------------------------------------------
\getenv tmpdir TI_TMP
\if :{?tmpdir}
\else
\set tmpdir /tmp
\endif
\pset format unaligned
\pset tuples_only on
\set commit_sql :tmpdir '/610_commit_route.sql'
\set session_sql :tmpdir '/610_session_route.sql'
-- (1) ON COMMIT DROP: ti_owner's migration, committed. In one transaction it creates a temporary
--     table ON COMMIT DROP and makes objects of two tenant tables depend on it, each statement
--     passing the guard: a BEGIN ATOMIC function used by the DEFAULT of the domain of
--     organization_id (dropping the function drops the domain, and with it the column), and a
--     column of the temporary table's row type in the table's only organization_id-leading index.
--     The temporary table is dropped with CASCADE by COMMIT itself.
SELECT $sql$
SET client_min_messages = warning;
SET ROLE ti_owner;
CREATE FUNCTION public.commit_pick() RETURNS uuid LANGUAGE sql BEGIN ATOMIC SELECT NULL::uuid; END;
CREATE DOMAIN public.commit_org AS uuid DEFAULT public.commit_pick();
CREATE TABLE public.t_commit_default (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id public.commit_org NOT NULL, secret text NOT NULL);
CREATE TABLE public.t_commit_index (organization_id uuid NOT NULL, secret text NOT NULL);
RESET ROLE;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
INSERT INTO public.t_commit_default (secret) VALUES ('A:1');
INSERT INTO public.t_commit_index (secret) VALUES ('A:1');
RESET ROLE;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
INSERT INTO public.t_commit_default (secret) VALUES ('B:1');
INSERT INTO public.t_commit_index (secret) VALUES ('B:1');
RESET ROLE;
RESET tenant.org_id;
BEGIN;
SET LOCAL ROLE ti_owner;
CREATE TEMP TABLE commit_seed (id uuid, x int) ON COMMIT DROP;
CREATE OR REPLACE FUNCTION public.commit_pick() RETURNS uuid LANGUAGE sql BEGIN ATOMIC SELECT id FROM pg_temp.commit_seed LIMIT 1; END;
ALTER TABLE public.t_commit_index ADD COLUMN seed pg_temp.commit_seed;
CREATE INDEX t_commit_index_seed ON public.t_commit_index (organization_id, seed);
DROP INDEX public.t_commit_index_organization_id_idx;
COMMIT;
$sql$ \g :commit_sql
\set commit_out `psql -X -q -A -t -d :DBNAME -f :commit_sql 2>&1`
-- (2) the end of a session: ti_owner creates a tenant table whose organization_id is of a
--     temporary domain, and another whose organization_id domain has a DEFAULT calling a
--     temporary function; tenants A and B write rows; the session ends (pg_temp is dropped with
--     CASCADE by the exiting backend, outside any statement).
SELECT $sql$
SET client_min_messages = warning;
SET ROLE ti_owner;
CREATE DOMAIN pg_temp.sess_org AS uuid;
CREATE TABLE public.t_sess_domain (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id pg_temp.sess_org NOT NULL, secret text NOT NULL);
CREATE FUNCTION pg_temp.sess_default() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid';
CREATE DOMAIN public.sess_default_org AS uuid DEFAULT pg_temp.sess_default();
CREATE TABLE public.t_sess_default (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id public.sess_default_org NOT NULL, secret text NOT NULL);
RESET ROLE;
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
INSERT INTO public.t_sess_domain (secret) VALUES ('A:1');
INSERT INTO public.t_sess_default (secret) VALUES ('A:1');
RESET ROLE;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
INSERT INTO public.t_sess_domain (secret) VALUES ('B:1');
INSERT INTO public.t_sess_default (secret) VALUES ('B:1');
RESET ROLE;
SELECT pg_backend_pid();
$sql$ \g :session_sql
\set session_pid `psql -X -q -A -t -d :DBNAME -f :session_sql 2>/dev/null`
-- wait (at most 60 s) until that backend has exited: its pg_temp is removed before it leaves
-- pg_stat_activity
CREATE FUNCTION pg_temp.wait_gone(p int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..1200 LOOP
        PERFORM pg_stat_clear_snapshot();
        EXIT WHEN p IS NULL OR NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = p);
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT pg_temp.wait_gone(NULLIF(:'session_pid', '')::int) AS waited \gset

BEGIN;
SELECT plan(86);
\ir include/err.sql
SELECT diag('the COMMIT route''s session said: ' || :'commit_out') WHERE :'commit_out' <> '';

\ir include/violations.sql
\ir include/app_secrets.sql

------------------------------------------------------------------------------
-- the routes outside any statement (run above)
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SELECT is(pg_temp.violations('public.t_commit_default'), '',
          'COMMIT dropping an ON COMMIT DROP temporary table (-> BEGIN ATOMIC function -> DEFAULT of the domain of organization_id) leaves the table passing every check');
SELECT is(pg_temp.app_secrets('public.t_commit_default'), 'A:1',
          '... and tenant A still sees only its own row');
SELECT is(pg_temp.violations('public.t_commit_index'), '',
          'COMMIT dropping an ON COMMIT DROP temporary table whose row type is in the only organization_id-leading index leaves the table passing every check');
SELECT is(pg_temp.app_secrets('public.t_commit_index'), 'A:1', '... and tenant A still sees only its own row');
SELECT isnt(:'session_pid'::text, ''::text, 'sanity: the session of the end-of-session route ran');
SELECT ok(pg_temp.violations('public.t_sess_domain') IN ('', 'gone'),
          'the end of ti_owner''s session (its temporary domain, the type of organization_id, dropped with CASCADE) leaves the table passing every check (or it was never created)');
SELECT is(pg_temp.app_secrets('public.t_sess_domain'), CASE WHEN to_regclass('public.t_sess_domain') IS NULL THEN 'gone' ELSE 'A:1' END::text,
          '... and tenant A still sees only its own row');
SELECT ok(pg_temp.violations('public.t_sess_default') IN ('', 'gone'),
          'the end of ti_owner''s session (a temporary function in the DEFAULT of the domain of organization_id) leaves the table passing every check (or it was never created)');
SELECT is(pg_temp.app_secrets('public.t_sess_default'), CASE WHEN to_regclass('public.t_sess_default') IS NULL THEN 'gone' ELSE 'A:1' END::text,
          '... and tenant A still sees only its own row');
-- (those tables are done with: whatever state they are in must not affect the routes below)
DROP TABLE IF EXISTS public.t_commit_default, public.t_commit_index, public.t_sess_domain, public.t_sess_default;

------------------------------------------------------------------------------
-- set-up: the grants, a second role administered by ti_owner, one table per route
------------------------------------------------------------------------------
SELECT format('GRANT CREATE ON DATABASE %I TO ti_owner', current_database()) \gexec
GRANT CREATE ON SCHEMA public TO ti_other;
CREATE ROLE ti_kit610 NOLOGIN NOSUPERUSER NOBYPASSRLS;
GRANT CREATE ON SCHEMA public TO ti_kit610;
GRANT ti_kit610 TO ti_owner;

SET ROLE ti_kit610;
CREATE DOMAIN public.kit_org AS uuid;
RESET ROLE;

SET ROLE ti_owner;
CREATE EXTENSION citext;
CREATE EXTENSION btree_gist;
CREATE SCHEMA kit;
CREATE DOMAIN kit.org AS uuid;
CREATE DOMAIN public.org_base AS uuid;
CREATE DOMAIN public.org_derived AS public.org_base;
CREATE TYPE kit.kind AS ENUM ('lecture', 'lab');
CREATE COLLATION kit.bytes (provider = libc, locale = 'C');
CREATE FUNCTION kit.mkid() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid';
CREATE DOMAIN public.org_fdefault AS uuid DEFAULT kit.mkid();
CREATE DOMAIN public.org_citext AS uuid DEFAULT (lower('0A000000-0000-4000-8000-00000000000A'::citext)::text)::uuid;
CREATE FUNCTION public.norm(v text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(v)';
CREATE FUNCTION public.is_public(v text) RETURNS boolean LANGUAGE sql STABLE AS $$SELECT v NOT LIKE '%hidden%'$$;
CREATE FUNCTION public.title_ok(a text, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT a IS DISTINCT FROM b';
CREATE OPERATOR public.!== (LEFTARG = text, RIGHTARG = text, FUNCTION = public.title_ok);
CREATE DOMAIN public.owner_org AS uuid;
RESET ROLE;
-- a reviewer (superuser) marks norm() LEAKPROOF so that ti_owner may index it
ALTER FUNCTION public.norm(text) LEAKPROOF;

SET ROLE ti_owner;
-- organization_id of a domain owned by another role, by a domain in schema kit, by a domain over a domain
CREATE TABLE t_kit (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id public.kit_org NOT NULL, secret text NOT NULL);
CREATE TABLE t_dom (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id kit.org NOT NULL, secret text NOT NULL);
CREATE TABLE t_derived (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id public.org_derived NOT NULL, secret text NOT NULL);
-- the only organization_id-leading index uses an enum, a collation, a function, citext, btree_gist
CREATE TABLE t_enum (organization_id uuid NOT NULL, kind kit.kind NOT NULL, secret text NOT NULL, UNIQUE (organization_id, kind, secret));
CREATE TABLE t_coll (organization_id uuid NOT NULL, name text COLLATE kit.bytes NOT NULL, secret text NOT NULL);
CREATE INDEX t_coll_org_name ON t_coll (organization_id, name);
DROP INDEX t_coll_organization_id_idx;
CREATE TABLE t_func (organization_id uuid NOT NULL, secret text NOT NULL);
CREATE INDEX t_func_org_norm ON t_func (organization_id, public.norm(secret));
DROP INDEX t_func_organization_id_idx;
CREATE TABLE t_cit (organization_id uuid NOT NULL, email citext NOT NULL, secret text NOT NULL, UNIQUE (organization_id, email));
CREATE TABLE t_gist (organization_id uuid NOT NULL, secret text NOT NULL);
CREATE INDEX t_gist_org ON t_gist USING gist (organization_id, secret);
DROP INDEX t_gist_organization_id_idx;
-- organization_id of a domain whose DEFAULT calls a function, or citext
CREATE TABLE t_fdefault (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id public.org_fdefault NOT NULL, secret text NOT NULL);
CREATE TABLE t_citdefault (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id public.org_citext NOT NULL, secret text NOT NULL);
-- objects whose loss narrows nothing: a restrictive user policy with a function and an operator
CREATE TABLE t_policy (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL);
CREATE POLICY only_public ON t_policy AS RESTRICTIVE FOR SELECT USING (public.is_public(secret));
CREATE POLICY not_hidden ON t_policy AS RESTRICTIVE FOR SELECT USING (secret !== 'A:hidden' AND secret !== 'B:hidden');
-- a column DEFAULT of organization_id calling a function
CREATE TABLE t_coldefault (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, secret text NOT NULL);
-- temporary objects dropped inside a statement
CREATE DOMAIN pg_temp.tmp_org AS uuid;
RESET ROLE;
-- a tenant table of another owner whose organization_id is of ti_owner's domain
SET ROLE ti_other;
CREATE TABLE t_other (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id public.owner_org NOT NULL, secret text NOT NULL);
GRANT SELECT, INSERT ON t_other TO ti_app;
RESET ROLE;

-- rows of A and B in every table, written by the application
SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO t_kit (secret) VALUES ('A:1');
INSERT INTO t_dom (secret) VALUES ('A:1');
INSERT INTO t_derived (secret) VALUES ('A:1');
INSERT INTO t_enum (kind, secret) VALUES ('lab', 'A:1');
INSERT INTO t_coll (name, secret) VALUES ('a', 'A:1');
INSERT INTO t_func (secret) VALUES ('A:1');
INSERT INTO t_cit (email, secret) VALUES ('a@a.test', 'A:1');
INSERT INTO t_gist (secret) VALUES ('A:1');
INSERT INTO t_fdefault (secret) VALUES ('A:1');
INSERT INTO t_citdefault (secret) VALUES ('A:1');
INSERT INTO t_policy (secret) VALUES ('A:1'), ('A:hidden');
INSERT INTO t_coldefault (organization_id, secret) VALUES (:'A', 'A:1');
INSERT INTO t_other (secret) VALUES ('A:1');
RESET ROLE;
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO t_kit (secret) VALUES ('B:1');
INSERT INTO t_dom (secret) VALUES ('B:1');
INSERT INTO t_derived (secret) VALUES ('B:1');
INSERT INTO t_enum (kind, secret) VALUES ('lab', 'B:1');
INSERT INTO t_coll (name, secret) VALUES ('b', 'B:1');
INSERT INTO t_func (secret) VALUES ('B:1');
INSERT INTO t_cit (email, secret) VALUES ('b@b.test', 'B:1');
INSERT INTO t_gist (secret) VALUES ('B:1');
INSERT INTO t_fdefault (secret) VALUES ('B:1');
INSERT INTO t_citdefault (secret) VALUES ('B:1');
INSERT INTO t_policy (secret) VALUES ('B:1'), ('B:hidden');
INSERT INTO t_coldefault (organization_id, secret) VALUES (:'B', 'B:1');
INSERT INTO t_other (secret) VALUES ('B:1');
RESET ROLE;
SET tenant.org_id = :'A';
SELECT is(pg_temp.violations('t_kit') || pg_temp.violations('t_dom') || pg_temp.violations('t_derived') || pg_temp.violations('t_enum')
          || pg_temp.violations('t_coll') || pg_temp.violations('t_func') || pg_temp.violations('t_cit') || pg_temp.violations('t_gist')
          || pg_temp.violations('t_fdefault') || pg_temp.violations('t_citdefault') || pg_temp.violations('t_policy')
          || pg_temp.violations('t_coldefault') || pg_temp.violations('t_other'), '',
          'sanity: every route''s table is a tenant table passing every check');

------------------------------------------------------------------------------
-- DROP OWNED BY ... CASCADE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT isnt(pg_temp.err('DROP OWNED BY ti_kit610 CASCADE'), NULL,
            'ti_owner: DROP OWNED BY ti_kit610 CASCADE (ti_kit610 owns the domain of t_kit.organization_id) is refused');
SET ROLE ti_kit610;
SELECT isnt(pg_temp.err('DROP OWNED BY ti_kit610 CASCADE'), NULL,
            'ti_kit610 (as ti_owner may become): DROP OWNED BY itself CASCADE is refused');
RESET ROLE;
SELECT is(pg_temp.violations('t_kit'), '', 't_kit passes every check');
SELECT is(pg_temp.app_secrets('t_kit'), 'A:1', 'tenant A sees only its own row of t_kit');

------------------------------------------------------------------------------
-- DROP DOMAIN / TYPE ... CASCADE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT isnt(pg_temp.err('DROP DOMAIN kit.org CASCADE'), NULL, 'DROP DOMAIN (the type of organization_id) CASCADE is refused');
SELECT isnt(pg_temp.err('DROP TYPE kit.org CASCADE'), NULL, 'DROP TYPE of the same domain CASCADE is refused');
SELECT isnt(pg_temp.err('DROP DOMAIN public.org_base CASCADE'), NULL,
            'DROP DOMAIN of the base of organization_id''s domain (a domain over a domain) CASCADE is refused');
SELECT isnt(pg_temp.err('DROP TYPE kit.kind CASCADE'), NULL,
            'DROP TYPE of an enum whose column is in the only organization_id-leading key CASCADE is refused');
RESET ROLE;
SELECT is(pg_temp.violations('t_dom'), '', 't_dom passes every check');
SELECT is(pg_temp.app_secrets('t_dom'), 'A:1', 'tenant A sees only its own row of t_dom');
SELECT is(pg_temp.violations('t_derived'), '', 't_derived passes every check');
SELECT is(pg_temp.app_secrets('t_derived'), 'A:1', 'tenant A sees only its own row of t_derived');
SELECT is(pg_temp.violations('t_enum'), '', 't_enum passes every check');

------------------------------------------------------------------------------
-- DROP FUNCTION ... CASCADE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT isnt(pg_temp.err('DROP FUNCTION kit.mkid() CASCADE'), NULL,
            'DROP FUNCTION used in the DEFAULT of the domain of organization_id (the domain goes with it) CASCADE is refused');
SELECT isnt(pg_temp.err('DROP FUNCTION public.norm(text) CASCADE'), NULL,
            'DROP FUNCTION used in the only organization_id-leading index CASCADE is refused');
SELECT lives_ok('DROP FUNCTION public.is_public(text) CASCADE',
                'DROP FUNCTION used in a restrictive user policy CASCADE works (it only drops the owner''s own policy)');
RESET ROLE;
SELECT is(pg_temp.violations('t_fdefault'), '', 't_fdefault passes every check');
SELECT is(pg_temp.app_secrets('t_fdefault'), 'A:1', 'tenant A sees only its own row of t_fdefault');
SELECT is(pg_temp.violations('t_func'), '', 't_func passes every check');
SELECT is(pg_temp.violations('t_policy'), '', 't_policy passes every check after its user policy went');
SELECT is(pg_temp.app_secrets('t_policy'), 'A:1', 'tenant A sees only its own visible row of t_policy (the operator policy still applies)');
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid = 't_policy'::regclass AND polname = 'only_public'), 0::bigint,
          'sanity: the user policy only_public is gone');
-- a DEFAULT of organization_id is not part of the boundary (the stamping trigger is): dropping the
-- function of t_coldefault's column default would take kit.org_fdefault's domain with it, so a
-- separate function is used here
SET ROLE ti_owner;
CREATE FUNCTION kit.mkid2() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid';
ALTER TABLE t_coldefault ALTER COLUMN organization_id SET DEFAULT kit.mkid2();
SELECT lives_ok('DROP FUNCTION kit.mkid2() CASCADE', 'DROP FUNCTION used in the column DEFAULT of organization_id CASCADE works');
RESET ROLE;
SELECT is(pg_temp.violations('t_coldefault'), '', 't_coldefault passes every check without a column DEFAULT');
SET ROLE ti_app;
SELECT lives_ok($$INSERT INTO t_coldefault (secret) VALUES ('A:2')$$, 'tenant A can still insert without naming organization_id');
RESET ROLE;
SELECT is((SELECT organization_id FROM t_coldefault WHERE secret = 'A:2'), :'A'::uuid, '... and the stamping trigger stamps the row with A');
SELECT is(pg_temp.app_secrets('t_coldefault'), 'A:1,A:2', 'tenant A sees only its own rows of t_coldefault');

------------------------------------------------------------------------------
-- DROP COLLATION / OPERATOR ... CASCADE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT isnt(pg_temp.err('DROP COLLATION kit.bytes CASCADE'), NULL,
            'DROP COLLATION of a column in the only organization_id-leading index CASCADE is refused');
SELECT lives_ok('DROP OPERATOR public.!== (text, text) CASCADE',
                'DROP OPERATOR used in a restrictive user policy CASCADE works (it only drops the owner''s own policy)');
RESET ROLE;
SELECT is(pg_temp.violations('t_coll'), '', 't_coll passes every check');
SELECT is(pg_temp.violations('t_policy'), '', 't_policy passes every check without any user policy');
SELECT is(pg_temp.app_secrets('t_policy'), 'A:1,A:hidden', 'tenant A sees its own rows of t_policy, and no row of B');

------------------------------------------------------------------------------
-- DROP SCHEMA ... CASCADE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT isnt(pg_temp.err('DROP SCHEMA kit CASCADE'), NULL,
            'DROP SCHEMA CASCADE of the schema holding the domain of organization_id (and an enum, a collation, a function the tables use) is refused');
RESET ROLE;
SELECT is(pg_temp.violations('t_dom') || pg_temp.violations('t_enum') || pg_temp.violations('t_coll') || pg_temp.violations('t_fdefault'), '',
          't_dom, t_enum, t_coll and t_fdefault pass every check');
SELECT is(pg_temp.app_secrets('t_dom') || ' ' || pg_temp.app_secrets('t_fdefault'), 'A:1 A:1', 'tenant A sees only its own rows of t_dom and t_fdefault');

------------------------------------------------------------------------------
-- DROP EXTENSION <another extension> CASCADE (trusted extensions ti_owner created)
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT isnt(pg_temp.err('DROP EXTENSION citext CASCADE'), NULL,
            'DROP EXTENSION citext CASCADE (a citext column in the only organization_id-leading key, citext in the DEFAULT of organization_id''s domain) is refused');
SELECT isnt(pg_temp.err('DROP EXTENSION btree_gist CASCADE'), NULL,
            'DROP EXTENSION btree_gist CASCADE (the only organization_id-leading index is a GiST index) is refused');
SELECT isnt(pg_temp.err('DROP EXTENSION tenant_iso CASCADE'), NULL, 'ti_owner cannot drop extension tenant_iso');
SELECT isnt(pg_temp.err('DROP SCHEMA tenant_iso CASCADE'), NULL, 'ti_owner cannot drop schema tenant_iso');
RESET ROLE;
SELECT is(pg_temp.violations('t_cit'), '', 't_cit passes every check');
SELECT is(pg_temp.violations('t_citdefault'), '', 't_citdefault passes every check');
SELECT is(pg_temp.app_secrets('t_citdefault'), 'A:1', 'tenant A sees only its own row of t_citdefault');
SELECT is(pg_temp.violations('t_gist'), '', 't_gist passes every check');

------------------------------------------------------------------------------
-- ALTER DOMAIN / ALTER TYPE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok('ALTER DOMAIN kit.org RENAME TO org_renamed', 'ALTER DOMAIN ... RENAME of organization_id''s domain works');
SELECT lives_ok('ALTER DOMAIN kit.org_renamed SET SCHEMA public', 'ALTER DOMAIN ... SET SCHEMA works');
SELECT lives_ok('ALTER DOMAIN public.org_renamed DROP NOT NULL', 'ALTER DOMAIN ... DROP NOT NULL works (the column keeps its own NOT NULL)');
SELECT lives_ok(format($$ALTER DOMAIN public.org_renamed SET DEFAULT %L$$, :'B'), 'ALTER DOMAIN ... SET DEFAULT <B> works');
SELECT lives_ok('ALTER TABLE t_dom ALTER COLUMN organization_id DROP DEFAULT', '... and so does dropping the column DEFAULT that shadows it');
SELECT is((pg_temp.err(format($$ALTER DOMAIN public.org_renamed ADD CONSTRAINT not_b CHECK (VALUE <> %L)$$, :'B')))[1], '23514',
          'ALTER DOMAIN ... ADD CONSTRAINT CHECK (VALUE <> B) fails validation (23514): B''s row is not removed or hidden');
SELECT lives_ok($$ALTER TYPE kit.kind ADD VALUE 'seminar'$$, 'ALTER TYPE ... ADD VALUE of an enum in the tenant key works');
SELECT lives_ok($$ALTER TYPE kit.kind RENAME VALUE 'lab' TO 'workshop'$$, 'ALTER TYPE ... RENAME VALUE works');
SELECT lives_ok('ALTER DOMAIN public.org_renamed OWNER TO ti_kit610', 'ti_owner gives organization_id''s domain to ti_kit610');
SELECT isnt(pg_temp.err('DROP OWNED BY ti_kit610 CASCADE'), NULL, '... and DROP OWNED BY ti_kit610 CASCADE is refused');
RESET ROLE;
SELECT is(pg_temp.violations('t_dom'), '', 't_dom passes every check after the ALTER DOMAIN / ALTER TYPE statements');
SELECT is(pg_temp.violations('t_enum'), '', 't_enum passes every check');
SELECT is(pg_temp.app_secrets('t_dom'), 'A:1', 'tenant A sees only its own row of t_dom');
SET ROLE ti_app;
SELECT is((pg_temp.err($$INSERT INTO t_dom (secret) VALUES ('A:2')$$))[1], 'TI003',
          'with the domain''s DEFAULT <B> in effect, tenant A''s insert is refused (TI003), not written for B');
RESET ROLE;
SELECT is((SELECT count(*) FROM t_dom WHERE organization_id = :'B'), 1::bigint, 'and no row was written for B');

------------------------------------------------------------------------------
-- temporary objects dropped inside a statement
------------------------------------------------------------------------------
-- (a tenant table cannot depend on a temporary object at all: the drop at COMMIT or at the end of
-- the session would cascade outside any statement; see the routes at the top of this file)
SET ROLE ti_owner;
SELECT throws_ok($$CREATE TABLE t_tmp (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id pg_temp.tmp_org NOT NULL, secret text NOT NULL)$$,
                 '42P16', 'statement would break tenant isolation of table public.t_tmp',
                 'a tenant table whose organization_id is of a temporary domain is refused');
SELECT throws_ok($$ALTER TABLE t_coldefault ADD COLUMN tmp pg_temp.tmp_org$$, '42P16', NULL,
                 'a tenant table cannot gain a column of a temporary type');
SELECT lives_ok('DROP DOMAIN pg_temp.tmp_org CASCADE', 'so dropping the temporary domain with CASCADE reaches no tenant table');
RESET ROLE;
SELECT is(pg_temp.violations('t_coldefault'), '', 't_coldefault still passes every check');

------------------------------------------------------------------------------
-- REASSIGN OWNED, DROP OWNED, DROP ROLE
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok('REASSIGN OWNED BY ti_kit610 TO ti_owner', 'ti_owner: REASSIGN OWNED BY ti_kit610 TO ti_owner works');
SELECT lives_ok('DROP OWNED BY ti_kit610 CASCADE', '... then DROP OWNED BY ti_kit610 CASCADE drops nothing of the tenant tables');
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM ti_kit610;
SELECT lives_ok('DROP ROLE ti_kit610', '... and the role can be dropped (superuser)');
SELECT is(pg_temp.violations('t_kit') || pg_temp.violations('t_dom'), '', 't_kit and t_dom pass every check after REASSIGN OWNED, DROP OWNED, DROP ROLE');
SELECT is(pg_temp.app_secrets('t_kit') || ' ' || pg_temp.app_secrets('t_dom'), 'A:1 A:1', 'tenant A sees only its own rows of t_kit and t_dom');
-- ti_owner's own role: its domain is the type of organization_id of ti_other's table
SET ROLE ti_owner;
SELECT isnt(pg_temp.err('DROP OWNED BY ti_owner CASCADE'), NULL,
            'ti_owner: DROP OWNED BY ti_owner CASCADE (its domain is the type of organization_id of ti_other''s table) is refused');
RESET ROLE;
SELECT is(pg_temp.violations('t_other'), '', 'ti_other''s table passes every check');
SELECT is(pg_temp.app_secrets('t_other'), 'A:1', 'tenant A sees only its own row of ti_other''s table');
-- and after giving everything away: the new owner is bound, a cascade still cannot strip the tables
CREATE ROLE ti_heir610 NOLOGIN NOSUPERUSER NOBYPASSRLS;
GRANT CREATE ON SCHEMA public TO ti_heir610;
SELECT format('GRANT CREATE ON DATABASE %I TO ti_heir610', current_database()) \gexec
GRANT ti_heir610 TO ti_owner;
SET ROLE ti_owner;
SELECT lives_ok('REASSIGN OWNED BY ti_owner TO ti_heir610', 'ti_owner: REASSIGN OWNED BY ti_owner TO ti_heir610 works');
RESET ROLE;
SELECT is(pg_temp.violations('courses') || pg_temp.violations('t_dom'), '', 'the reassigned tenant tables pass every check');
SET ROLE ti_heir610;
SELECT is((SELECT string_agg(title, ',' ORDER BY title) FROM courses), 'Algebra,Astronomy',
          'the new owner is bound: with tenant A it sees only A''s courses');
SELECT isnt(pg_temp.err('DROP OWNED BY ti_heir610 CASCADE'), NULL,
            'the new owner''s DROP OWNED BY itself CASCADE (its domain is the type of organization_id of ti_other''s table) is refused');
RESET ROLE;
SELECT is(pg_temp.violations('t_other'), '', 'ti_other''s table still passes every check');
SELECT is(pg_temp.app_secrets('t_other'), 'A:1', 'tenant A still sees only its own row of ti_other''s table');

SELECT * FROM finish();
ROLLBACK;
