-- Issue 11, item 4: DDL that evaluates expressions over every row of a tenant table - index
-- expressions and predicates, CHECK validation, generated columns, ALTER COLUMN ... TYPE (its
-- USING expression, its cast, the CHECKs of a domain it converts to), ALTER DOMAIN ... ADD /
-- VALIDATE CONSTRAINT, index rebuilds - runs over every tenant's rows without row level security.
-- A function in such an expression that is neither leakproof nor a built-in immutable function
-- must never get another tenant's row; a USING expression must not read organization_id or other
-- columns; statistics of expression indexes must show the owner nothing of other tenants.
-- Attacker: ti_owner (the table owner, not superuser), working with tenant A set.  Its spy
-- functions count, in a sequence (not rolled back with a refused statement), every value of a
-- tenant other than the one in effect they are called with (values carry their tenant as a
-- prefix: 'A:...', 'B:...').  A superuser only marks one of ti_owner's functions LEAKPROOF, as
-- the guard's hint tells users to have a reviewer do.
-- What stays possible (documented here, by tests): expressions of built-in immutable functions
-- still run over every tenant's rows, so
--   - a built-in function can raise an error that quotes one value of another tenant (a failed
--     cast): the owner gets the error, and the statement fails; repeated with predicates that
--     exclude the values already seen, such errors read another tenant's column one value per
--     statement;
--   - a CHECK or domain constraint that fails validation tells the owner that some row (of any
--     tenant) violates it (one bit per statement);
-- and the owner must be trusted with those.  A partial index's size and row count (pg_class) are
-- a different matter: they count, without any error, the rows of another tenant that match any
-- predicate of built-in functions (tested below as a leak).
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;
BEGIN;
SELECT plan(51);
\ir include/err.sql

\ir include/violations.sql
\ir include/b_rows.sql
\ir include/spied.sql
\ir include/undone.sql

------------------------------------------------------------------------------
-- ti_owner's table, spies, domains and casts
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE SEQUENCE public.spy_other;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.spy_other TO PUBLIC;
-- a value of another tenant than the one in effect?
CREATE FUNCTION public.foreign_value(v text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT v IS NOT NULL AND left(v, 2) IS DISTINCT FROM
           (CASE tenant_iso.current_org_id() WHEN '0a000000-0000-4000-8000-00000000000a' THEN 'A:'
                                             WHEN '0b000000-0000-4000-8000-00000000000b' THEN 'B:' END)
$$;
-- the spies (declared IMMUTABLE, as index expressions and generated columns require)
CREATE FUNCTION public.spy(v text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF public.foreign_value(v) THEN
        PERFORM nextval('public.spy_other');
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION public.spy_text(v text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM public.spy(v);
    RETURN v;
END $$;
CREATE FUNCTION public.spy_row(org uuid, v text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF org IS DISTINCT FROM tenant_iso.current_org_id() THEN
        PERFORM nextval('public.spy_other');
    END IF;
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION public.foreign_value(text), public.spy(text), public.spy_text(text), public.spy_row(uuid, text) TO PUBLIC;
-- a domain whose CHECK is a spy, a domain over a domain, a domain whose CHECK comes later
CREATE DOMAIN public.leaky_text AS text CHECK (public.spy(VALUE));
CREATE DOMAIN public.base_text AS text;
CREATE DOMAIN public.derived_text AS public.base_text;
CREATE DOMAIN public.direct_text AS text;
CREATE DOMAIN public.later_text AS text;
ALTER DOMAIN public.later_text ADD CONSTRAINT later_spy CHECK (public.spy(VALUE)) NOT VALID;
-- a type with an assignment cast from text that is a spy
CREATE TYPE public.boxed AS (v text);
CREATE FUNCTION public.box(v text) RETURNS public.boxed LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM public.spy(v);
    RETURN ROW(v)::public.boxed;
END $$;
CREATE CAST (text AS public.boxed) WITH FUNCTION public.box(text) AS ASSIGNMENT;
-- a function a reviewer will mark LEAKPROOF
CREATE FUNCTION public.norm(v text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN lower(v); END';

CREATE TABLE dossiers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    secret          text NOT NULL,
    note            text NOT NULL,
    code            text NOT NULL,
    label           public.derived_text NOT NULL,
    tag             public.direct_text NOT NULL
);
RESET ROLE;
ALTER FUNCTION public.norm(text) LEAKPROOF;

SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO dossiers (secret, note, code, label, tag) VALUES
    ('A:alpha', 'A:note one', 'A:1', 'A:label', 'A:tag'),
    ('A:beta',  'A:note two', 'A:2', 'A:label', 'A:tag');
RESET ROLE;
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO dossiers (secret, note, code, label, tag) VALUES
    ('B:gamma', 'B:note one', 'B:3', 'B:label', 'B:tag'),
    ('B:delta', 'B:note two', 'B:4', 'B:label', 'B:tag');
RESET ROLE;
SET tenant.org_id = :'A';
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.b_rows(ARRAY['dossiers']) AS b_before \gset
SELECT public.spy('B:probe') AS probe \gset
SELECT is(pg_temp.spied(), 1::bigint, 'sanity: the spy counts a value of B it is called with while the tenant is A');
SELECT pg_temp.reset_spy() \gset
SELECT is(pg_temp.violations('dossiers'), '', 'sanity: dossiers is a tenant table passing every check');

------------------------------------------------------------------------------
-- expressions that a refusal stops before any row is read
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT throws_ok($$CREATE INDEX d_spy ON dossiers (organization_id, public.spy_text(secret))$$, '42501', NULL,
                 'an expression index calling a leaky plpgsql function is refused (42501)');
SELECT throws_ok($$CREATE INDEX d_spy ON dossiers (organization_id, (public.spy_row(organization_id, secret)))$$, '42501', NULL,
                 'an expression index leading with organization_id whose expression reads organization_id and a secret is refused');
SELECT throws_ok($$CREATE INDEX d_spy ON dossiers (organization_id) WHERE public.spy(secret)$$, '42501', NULL,
                 'a partial index whose predicate calls a leaky function is refused');
SELECT throws_ok($$CREATE INDEX d_spy ON dossiers (organization_id, ((secret)::public.leaky_text))$$, '42501', NULL,
                 'an expression index casting to a domain whose CHECK is leaky is refused');
SELECT throws_ok($$CREATE UNIQUE INDEX d_spy ON dossiers (organization_id, public.spy_text(secret))$$, '42501', NULL,
                 'a unique expression index calling it is refused');
SELECT throws_ok($$ALTER TABLE dossiers ADD CONSTRAINT d_spy CHECK (public.spy(secret))$$, '42501', NULL,
                 'a CHECK constraint calling a leaky function is refused');
SELECT throws_ok($$ALTER TABLE dossiers ADD CONSTRAINT d_spy CHECK (public.spy(secret)) NOT VALID$$, '42501', NULL,
                 'the same CHECK ... NOT VALID is refused too (VALIDATE would run it over every row)');
SELECT throws_ok($$ALTER TABLE dossiers ALTER COLUMN secret TYPE text USING (public.spy_text(secret))$$, '42501', NULL,
                 'ALTER COLUMN ... TYPE ... USING a leaky function of the column itself is refused');
SELECT throws_ok($$ALTER TABLE dossiers ALTER COLUMN secret TYPE text
                   USING (CASE WHEN organization_id = '0b000000-0000-4000-8000-00000000000b' THEN 'overwritten' ELSE secret END)$$, '42501', NULL,
                 'the issue''s ALTER COLUMN ... TYPE ... USING (CASE WHEN organization_id = <B> ...) is refused');
SELECT throws_ok($$ALTER TABLE dossiers ALTER COLUMN secret TYPE text USING (secret || note)$$, '42501', NULL,
                 'ALTER COLUMN ... TYPE ... USING an expression that reads another column is refused');
SELECT throws_ok($$ALTER TABLE dossiers ALTER COLUMN secret TYPE text USING (organization_id::text || secret)$$, '42501', NULL,
                 'ALTER COLUMN ... TYPE ... USING an expression that reads organization_id is refused');
SELECT throws_ok($$ALTER DOMAIN public.direct_text ADD CONSTRAINT d_spy CHECK (public.spy(VALUE))$$, '42501', NULL,
                 'ALTER DOMAIN ... ADD CONSTRAINT CHECK (leaky) on a domain a tenant table uses is refused');
SELECT throws_ok($$ALTER DOMAIN public.direct_text ADD CONSTRAINT d_spy CHECK (public.spy(VALUE)) NOT VALID$$, '42501', NULL,
                 'the same ... NOT VALID is refused too');
SELECT throws_ok($$CREATE STATISTICS d_stats ON (lower(secret)), organization_id FROM dossiers$$, '42501', NULL,
                 'statistics on an expression of a tenant table are refused (42501)');
RESET ROLE;
SELECT is(pg_temp.spied(), 0::bigint, 'none of those refused statements let a spy see a value of B');
SELECT is(pg_temp.b_rows(ARRAY['dossiers']), :'b_before', 'B''s rows are unchanged');
SELECT is(pg_temp.violations('dossiers'), '', 'dossiers passes every check');

------------------------------------------------------------------------------
-- expressions evaluated over every row whatever the refusal at the end of the statement
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT pg_temp.reset_spy() \gset
SELECT matches(pg_temp.undone($$ALTER TABLE dossiers ADD COLUMN g text GENERATED ALWAYS AS (public.spy_text(secret)) STORED$$), '^ERROR ',
               'a generated column calling a leaky function is refused');
SELECT is(pg_temp.spied(), 0::bigint, '... and the spy never saw a value of B (the refusal comes before the table is filled)');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone($$ALTER TABLE dossiers ALTER COLUMN tag TYPE public.leaky_text$$) AS e \gset
SELECT is(pg_temp.spied(), 0::bigint,
          'ALTER COLUMN ... TYPE <domain whose CHECK is leaky> (no USING): the domain CHECK never sees a value of B');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone($$ALTER TABLE dossiers ALTER COLUMN tag TYPE public.leaky_text USING tag$$) AS e \gset
SELECT is(pg_temp.spied(), 0::bigint,
          'ALTER COLUMN ... TYPE <that domain> USING <the column itself>: the domain CHECK never sees a value of B');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone($$ALTER TABLE dossiers ALTER COLUMN note TYPE public.boxed$$) AS e \gset
SELECT is(pg_temp.spied(), 0::bigint,
          'ALTER COLUMN ... TYPE <a type with an assignment cast from text that is a spy>: the cast never sees a value of B');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone($$ALTER DOMAIN public.base_text ADD CONSTRAINT d_spy CHECK (public.spy(VALUE))$$) AS e \gset
SELECT is(pg_temp.spied(), 0::bigint,
          'ALTER DOMAIN <base of a domain a tenant table uses> ADD CONSTRAINT CHECK (leaky): validation never shows the spy a value of B');
RESET ROLE;
SELECT is(pg_temp.b_rows(ARRAY['dossiers']), :'b_before', 'B''s rows are unchanged');
SELECT is(pg_temp.violations('dossiers'), '', 'dossiers passes every check');
-- a domain CHECK added NOT VALID while no tenant table used the domain (accepted): no tenant
-- table may then use the domain, so VALIDATE runs over no tenant row
SET ROLE ti_owner;
SELECT throws_ok($$ALTER TABLE dossiers ADD COLUMN extra public.later_text$$, '42P16', NULL,
                 'a tenant table cannot gain a column of a domain whose (NOT VALID) CHECK calls a leaky function');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone($$ALTER DOMAIN public.later_text VALIDATE CONSTRAINT later_spy$$) AS e \gset
SELECT is(pg_temp.spied(), 0::bigint,
          'ALTER DOMAIN ... VALIDATE CONSTRAINT of a leaky CHECK (NOT VALID) of a domain: the spy never sees a value of B');
RESET ROLE;
-- a function reviewed and marked LEAKPROOF, then replaced by its owner: rebuilding the index
-- evaluates the new body over every row
SET ROLE ti_owner;
SELECT lives_ok($$CREATE INDEX d_norm ON dossiers (organization_id, public.norm(secret))$$,
                'an expression index calling a function a superuser marked LEAKPROOF is accepted');
SELECT lives_ok($$ALTER TABLE dossiers ADD CONSTRAINT d_norm_ck CHECK (public.norm(secret) IS NOT NULL) NOT VALID$$,
                'so is a CHECK ... NOT VALID calling it');
SELECT pg_temp.err($$CREATE OR REPLACE FUNCTION public.norm(v text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
                     'BEGIN PERFORM public.spy(v); RETURN lower(v); END'$$) AS replaced \gset
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone('REINDEX INDEX d_norm') AS e \gset
SELECT is(pg_temp.spied(), 0::bigint,
          'after the owner replaced the reviewed function with a leaky body, REINDEX never shows it a value of B');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone('REINDEX TABLE dossiers') AS e \gset
SELECT pg_temp.undone('CLUSTER dossiers USING dossiers_pkey') AS e \gset
SELECT is(pg_temp.spied(), 0::bigint, 'nor REINDEX TABLE or CLUSTER (they rebuild the index too)');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone($$ALTER TABLE dossiers ALTER COLUMN code TYPE varchar(100)$$) AS e \gset
SELECT is(pg_temp.spied(), 0::bigint, 'nor an ALTER COLUMN ... TYPE of another column (the table and its indexes are rewritten)');
SELECT pg_temp.reset_spy() \gset
SELECT pg_temp.undone($$ALTER TABLE dossiers VALIDATE CONSTRAINT d_norm_ck$$) AS e \gset
SELECT is(pg_temp.spied(), 0::bigint, 'nor VALIDATE CONSTRAINT of the CHECK that calls it');
-- (the index and the CHECK go: they would fail the unsafe_expression check of every later statement)
ALTER TABLE dossiers DROP CONSTRAINT d_norm_ck;
DROP INDEX d_norm;
RESET ROLE;

------------------------------------------------------------------------------
-- statistics of expression indexes
------------------------------------------------------------------------------
SET ROLE ti_owner;
SELECT lives_ok($$CREATE INDEX d_lower ON dossiers (organization_id, lower(secret))$$,
                'an expression index of built-in immutable functions is accepted');
RESET ROLE;
SELECT is((SELECT attstattarget::int FROM pg_attribute WHERE attrelid = 'd_lower'::regclass AND attnum = 2), 0,
          'its expression column collects no statistics (SET STATISTICS 0)');
SET ROLE ti_owner;
SELECT throws_ok($$ALTER INDEX d_lower ALTER COLUMN 2 SET STATISTICS 100$$, '42P16', NULL,
                 'turning the expression column''s statistics back on is refused');
-- a migration typically creates the index and analyzes the table in one transaction (this file
-- runs in one)
ANALYZE dossiers;
SELECT is((SELECT count(*) FROM pg_stats WHERE tablename IN ('d_lower', 'dossiers')), 0::bigint,
          'after ANALYZE in the same transaction, pg_stats shows the owner nothing of the table or of its expression index');
SELECT is((SELECT count(*) FROM pg_stats WHERE tablename = 'd_lower' AND array_to_string(histogram_bounds, ',') LIKE '%b:%'), 0::bigint,
          '... in particular no histogram with B''s (lower-cased) secrets');
SELECT lives_ok($$CREATE STATISTICS d_cols (mcv) ON secret, organization_id FROM dossiers$$, 'statistics on plain columns are accepted');
ANALYZE dossiers;
SELECT is((SELECT count(*) FROM pg_stats_ext WHERE tablename = 'dossiers') + (SELECT count(*) FROM pg_stats_ext_exprs WHERE tablename = 'dossiers'),
          0::bigint, 'pg_stats_ext shows the owner nothing of them');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_statistic WHERE starelid = 'd_lower'::regclass), 0::bigint,
          'and no statistics of the expression index exist at all');

------------------------------------------------------------------------------
-- what stays possible with built-in immutable functions
------------------------------------------------------------------------------
SET ROLE ti_owner;
-- (1) an error quoting one value: the owner gets the error, nothing is built
SELECT pg_temp.err($$CREATE INDEX d_cast ON dossiers (organization_id,
                       (CASE WHEN organization_id = '0b000000-0000-4000-8000-00000000000b' AND secret > 'B:' THEN secret::int END))$$) AS cast_err \gset
SELECT diag('documented residual: the owner''s failed index build said: ' || (:'cast_err'::text[])[2]);
SELECT isnt(:'cast_err'::text[], NULL::text[], 'an expression index of built-in functions whose cast fails on B''s rows fails (or is refused)');
SELECT is(to_regclass('d_cast'), NULL, '... and builds nothing');
SELECT ok((array_to_string(:'cast_err'::text[], ' ') LIKE '%B:gamma%')::int + (array_to_string(:'cast_err'::text[], ' ') LIKE '%B:delta%')::int <= 1,
          '... the owner gets at most an error quoting one value of B (PostgreSQL''s message for the failed cast), one value per failed statement');
-- (2) a validation failure: one bit, "some row violates it"
SELECT pg_temp.err($$ALTER TABLE dossiers ADD CONSTRAINT d_bit CHECK (organization_id <> '0b000000-0000-4000-8000-00000000000b' OR secret < 'B:e')$$) AS bit_err \gset
SELECT isnt(:'bit_err'::text[], NULL::text[], 'a CHECK of built-in functions that B''s row violates fails validation (or is refused)');
SELECT ok(array_to_string(:'bit_err'::text[], ' ') NOT LIKE '%B:%', '... and its error quotes no value of B: one bit ("some row violates it") per statement');
-- (3) a partial index's row count and size: no error, a count of B's matching rows
SELECT pg_temp.err($$CREATE INDEX d_probe ON dossiers (organization_id)
                     WHERE organization_id = '0b000000-0000-4000-8000-00000000000b' AND secret >= 'B:e'$$) AS probe_err \gset
SELECT ok(to_regclass('d_probe') IS NULL OR (SELECT reltuples FROM pg_class WHERE oid = to_regclass('d_probe')) <= 0,
          'a partial index whose predicate singles out B''s rows is refused, or its row count (pg_class.reltuples) does not tell the owner how many of B''s rows match');
RESET ROLE;
SELECT is(pg_temp.b_rows(ARRAY['dossiers']), :'b_before', 'B''s rows are unchanged at the end');
SET ROLE ti_app;
SELECT is((SELECT string_agg(secret, ',' ORDER BY secret) FROM dossiers), 'A:alpha,A:beta', 'ti_app (A) sees only A''s dossiers');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
