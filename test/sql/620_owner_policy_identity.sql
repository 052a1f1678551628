-- Issue 11, item 2: the tenant check is the policy the extension generated, recognised by identity,
-- never by its shape.  A user policy that looks like it (an operator whose right side is
-- tenant_iso.current_org_id(), the same expression text on another column, a name that sorts
-- first) is a user policy: it runs after the tenant comparison, so a leaky function in it never
-- sees another tenant's row, and it is never dropped as if it were the tenant check.
-- Attacker: ti_owner (the table owner, not superuser) writes the policies, operators and
-- functions; they run for ti_app (working for tenant A) and for ti_owner itself (bound by FORCE
-- ROW LEVEL SECURITY).  The spy functions count, in a sequence (not rolled back with a refused
-- statement), every call that sees a value of a tenant other than the one in effect.
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;
BEGIN;
SELECT plan(48);
\ir include/err.sql

\ir include/violations.sql
\ir include/spied.sql
\ir include/plan_of.sql
CREATE FUNCTION pg_temp.policy_text(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(polname || ' ' || polpermissive || ' ' || polcmd::text || ' ' || polroles::text || ' ' ||
                      coalesce(pg_get_expr(polqual, polrelid), '-') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '-'), '; ' ORDER BY polname)
    FROM pg_policy WHERE polrelid = rel
$$;

------------------------------------------------------------------------------
-- ti_owner's tables, spies and disguised policies
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE SEQUENCE public.spy_other;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.spy_other TO PUBLIC;
-- the tenant a value belongs to is its prefix ('A:...', 'B:...')
CREATE FUNCTION public.spy_eq(v text, t uuid) RETURNS boolean LANGUAGE plpgsql IMMUTABLE COST 0.0001 AS $$
BEGIN
    IF v IS NOT NULL AND left(v, 2) IS DISTINCT FROM
       (CASE tenant_iso.current_org_id() WHEN '0a000000-0000-4000-8000-00000000000a' THEN 'A:'
                                          WHEN '0b000000-0000-4000-8000-00000000000b' THEN 'B:' END) THEN
        PERFORM nextval('public.spy_other');
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION public.spy_uuid(o uuid, t uuid) RETURNS boolean LANGUAGE plpgsql IMMUTABLE COST 0.0001 AS $$
BEGIN
    IF o IS DISTINCT FROM tenant_iso.current_org_id() THEN
        PERFORM nextval('public.spy_other');
    END IF;
    RETURN true;
END $$;
-- a policy function that tries to switch the tenant while rows are read
CREATE FUNCTION public.switch_to_b(v text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', true);
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION public.spy_eq(text, uuid), public.spy_uuid(uuid, uuid), public.switch_to_b(text) TO PUBLIC;
-- the issue's operator, and one over uuid that looks like equality
CREATE OPERATOR public.=== (LEFTARG = text, RIGHTARG = uuid, FUNCTION = public.spy_eq);
CREATE OPERATOR public.=== (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.spy_uuid);
-- "=" in schema public over uuid, and a current_org_id() in schema public
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.spy_uuid);
CREATE FUNCTION public.current_org_id() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT '0b000000-0000-4000-8000-00000000000b'::uuid $$;

CREATE TABLE memos (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    body            text NOT NULL
);
-- the issue's attack: a restrictive policy that sorts first (PostgreSQL orders restrictive
-- policies by name) and has the shape "x OP tenant_iso.current_org_id()"
CREATE POLICY "0_disguised" ON memos AS RESTRICTIVE USING (body === tenant_iso.current_org_id());
CREATE POLICY aaa_disguised_uuid ON memos AS RESTRICTIVE USING (organization_id === tenant_iso.current_org_id());
CREATE POLICY "0_permissive_disguise" ON memos AS PERMISSIVE USING (body === tenant_iso.current_org_id());
-- the same expression text as the generated policy, on another column
CREATE TABLE shares (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    shared_with     uuid NOT NULL,
    body            text NOT NULL
);
CREATE POLICY "0_same_text" ON shares AS RESTRICTIVE FOR SELECT USING (shared_with = tenant_iso.current_org_id());
-- the generated expression, copied under another name, and a policy that switches the tenant
CREATE TABLE notes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    body            text NOT NULL
);
CREATE POLICY "0_copy" ON notes AS RESTRICTIVE USING (organization_id = tenant_iso.current_org_id());
CREATE POLICY "1_switch" ON notes AS RESTRICTIVE FOR SELECT USING (public.switch_to_b(body));
RESET ROLE;

SET tenant.org_id = :'A';
SET ROLE ti_app;
INSERT INTO memos (body) VALUES ('A:one'), ('A:two');
INSERT INTO shares (shared_with, body) VALUES (:'A', 'A:kept'), (:'B', 'A:shared with B');
RESET ROLE;
SET tenant.org_id = :'B';
SET ROLE ti_app;
INSERT INTO memos (id, body) VALUES ('7b000000-0000-4000-8000-000000000001', 'B:secret');
INSERT INTO shares (shared_with, body) VALUES (:'A', 'B:shared with A');
RESET ROLE;
-- notes: written by a superuser (its SELECT policy switches the tenant)
INSERT INTO notes (organization_id, body) VALUES (:'A', 'A:note'), (:'B', 'B:note');
SET tenant.org_id = :'A';
SELECT pg_temp.reset_spy() \gset
SELECT public.spy_eq('B:probe', :'A') AS probe \gset
SELECT is(pg_temp.spied(), 1::bigint, 'sanity: the spy counts a value of B seen while the tenant is A');
SELECT pg_temp.reset_spy() \gset

SELECT is(pg_temp.violations('memos') || pg_temp.violations('shares') || pg_temp.violations('notes'), '',
          'sanity: memos, shares and notes are tenant tables passing every check (user policies are allowed beside the generated one)');
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid = 'memos'::regclass AND polname = 'tenant_isolation'), 1::bigint,
          'sanity: the generated policy tenant_isolation is still there, beside the disguised ones');

------------------------------------------------------------------------------
-- the disguised policies run after the tenant comparison
------------------------------------------------------------------------------
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT is((SELECT string_agg(body, ',' ORDER BY body) FROM memos), 'A:one,A:two', 'ti_app (A): SELECT returns only A''s memos');
SELECT is((SELECT count(*) FROM memos WHERE id = '7b000000-0000-4000-8000-000000000001'), 0::bigint,
          'ti_app (A): B''s memo looked up by id is not found');
SELECT lives_ok($$UPDATE memos SET body = body$$, 'ti_app (A): UPDATE of every visible row works');
SELECT is((pg_temp.err($$DELETE FROM memos WHERE body LIKE 'B:%'$$)), NULL, 'ti_app (A): DELETE ... WHERE body LIKE ''B:%'' runs');
SELECT lives_ok($$INSERT INTO memos (body) VALUES ('A:three')$$, 'ti_app (A): INSERT runs the disguised WITH CHECK on A''s own row');
SELECT isnt(pg_temp.err($$INSERT INTO memos (id, body) VALUES ('7b000000-0000-4000-8000-000000000001', 'A:collide')
                          ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body$$), NULL,
            'ti_app (A): INSERT ... ON CONFLICT DO UPDATE against B''s row is refused');
SELECT lives_ok($$MERGE INTO memos m USING (VALUES ('7b000000-0000-4000-8000-000000000001'::uuid)) v(id) ON m.id = v.id
                  WHEN MATCHED THEN UPDATE SET body = m.body WHEN NOT MATCHED THEN DO NOTHING$$,
                'ti_app (A): MERGE naming B''s row id runs');
SELECT is((SELECT count(*) FROM memos m WHERE body === tenant_iso.current_org_id()), 3::bigint,
          'ti_app (A): the disguised operator in its own WHERE clause sees only A''s rows');
SELECT is((SELECT count(*) FROM memos m JOIN memos n ON n.body === tenant_iso.current_org_id() AND n.id <> m.id), 6::bigint,
          'ti_app (A): in a join condition as well');
RESET ROLE;
SELECT is(pg_temp.spied(), 0::bigint,
          'the disguised restrictive and permissive policies (body === current_org_id(), organization_id === current_org_id()) never saw a value of B during SELECT, UPDATE, DELETE, INSERT, ON CONFLICT and MERGE');
SELECT is((SELECT body FROM memos WHERE id = '7b000000-0000-4000-8000-000000000001'), 'B:secret', 'and B''s memo is unchanged');
SET ROLE ti_owner;
SELECT is((SELECT string_agg(body, ',' ORDER BY body) FROM memos), 'A:one,A:three,A:two', 'ti_owner (A): SELECT returns only A''s memos');
SELECT lives_ok($$UPDATE memos SET body = body WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'$$,
                'ti_owner (A): UPDATE aimed at B''s rows runs');
RESET ROLE;
SELECT is(pg_temp.spied(), 0::bigint, 'as the owner too, no disguised policy saw a value of B');
-- the plan: the tenant comparison is the first condition, the disguised one only follows it
-- (a sequential scan: every condition is a filter, in the order they run)
SET ROLE ti_app;
SELECT matches(pg_temp.plan_of('SELECT * FROM memos', seq_scan_only => true), 'Filter: \(\(organization_id = \$[0-9]+\) AND ',
               'EXPLAIN: the first filter of memos is the tenant comparison, the disguised policies come after it');
RESET ROLE;

------------------------------------------------------------------------------
-- the same text on another column is a user policy, kept as such
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT is((SELECT string_agg(body, ',' ORDER BY body) FROM shares), 'A:kept',
          'ti_app (A): shares returns A''s rows that pass the user policy shared_with = current_org_id() (not dropped as if it were the tenant check), and nothing of B');
RESET ROLE;
SET ROLE ti_owner;
SELECT is((SELECT string_agg(body, ',' ORDER BY body) FROM shares), 'A:kept', 'ti_owner (A): the same');
RESET ROLE;
SET tenant.org_id = :'B';
SET ROLE ti_app;
SELECT is((SELECT coalesce(string_agg(body, ',' ORDER BY body), '') FROM shares), '',
          'ti_app (B): B''s row shared with A stays hidden from B by the user policy, and A''s row shared with B is not B''s');
RESET ROLE;
SET tenant.org_id = :'A';

------------------------------------------------------------------------------
-- a copy of the generated expression, and a policy that switches the tenant
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT is((pg_temp.err('SELECT count(*) FROM notes'))[1], 'TI002',
          'ti_app (A): a user policy that switches the tenant to B while notes is read fails (TI002)');
RESET ROLE;
SELECT is(current_setting('tenant.org_id'), :'A', 'and the tenant is still A afterwards');
SET tenant.org_id = :'A';
SET ROLE ti_owner;
SELECT lives_ok('DROP POLICY "1_switch" ON notes', 'the owner may drop its own user policy');
RESET ROLE;
SET ROLE ti_app;
SELECT is((SELECT string_agg(body, ',' ORDER BY body) FROM notes), 'A:note', 'ti_app (A): with a copy of the generated expression as a user policy, notes returns only A''s note');
RESET ROLE;
SELECT is(pg_temp.violations('notes'), '', 'notes passes every check');

------------------------------------------------------------------------------
-- ALTER POLICY tenant_isolation: any change of the generated policy is refused
------------------------------------------------------------------------------
SELECT pg_temp.policy_text('memos') AS memos_policies \gset
SET ROLE ti_owner;
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos USING (body === tenant_iso.current_org_id())$$, '42P16', NULL,
                 'ALTER POLICY tenant_isolation USING (body === current_org_id()) is refused (42P16)');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos USING (organization_id === tenant_iso.current_org_id())
                   WITH CHECK (organization_id === tenant_iso.current_org_id())$$, '42P16', NULL,
                 'ALTER POLICY tenant_isolation with the look-alike operator === over uuid is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos USING (organization_id OPERATOR(public.=) tenant_iso.current_org_id())
                   WITH CHECK (organization_id OPERATOR(public.=) tenant_iso.current_org_id())$$, '42P16', NULL,
                 'ALTER POLICY tenant_isolation with an operator named = in schema public is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos USING (organization_id = public.current_org_id())
                   WITH CHECK (organization_id = public.current_org_id())$$, '42P16', NULL,
                 'ALTER POLICY tenant_isolation with a function current_org_id() of schema public is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos USING (organization_id = tenant_iso.current_org_id() AND body === tenant_iso.current_org_id())$$,
                 '42P16', NULL, 'ALTER POLICY tenant_isolation with the tenant comparison AND a leaky condition is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos USING (body === tenant_iso.current_org_id() AND organization_id = tenant_iso.current_org_id())$$,
                 '42P16', NULL, 'ALTER POLICY tenant_isolation with a leaky condition before the tenant comparison is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos TO ti_app$$, '42P16', NULL, 'ALTER POLICY tenant_isolation TO ti_app is refused');
SELECT throws_ok($$ALTER POLICY tenant_isolation ON memos RENAME TO "1_isolation"$$, '42P16', NULL, 'renaming tenant_isolation is refused');
SELECT throws_ok($$ALTER POLICY "0_disguised" ON memos RENAME TO tenant_isolation$$, NULL, NULL,
                 'renaming a disguised policy to tenant_isolation is refused (the name is taken)');
SELECT throws_ok($q$DO $d$ BEGIN
                     DROP POLICY tenant_isolation ON memos;
                     ALTER POLICY "0_disguised" ON memos RENAME TO tenant_isolation;
                   END $d$$q$, '42P16', NULL,
                 'dropping tenant_isolation and renaming the disguised policy to it, in one DO block, is refused');
SELECT throws_ok($q$DO $d$ BEGIN
                     DROP POLICY tenant_isolation ON memos;
                     CREATE POLICY tenant_isolation ON memos AS RESTRICTIVE USING (body === tenant_iso.current_org_id())
                         WITH CHECK (body === tenant_iso.current_org_id());
                   END $d$$q$, '42P16', NULL,
                 'dropping tenant_isolation and creating a disguised one under its name, in one DO block, is refused');
SELECT lives_ok($$ALTER POLICY tenant_isolation ON memos USING (organization_id = tenant_iso.current_org_id())
                  WITH CHECK (organization_id = tenant_iso.current_org_id())$$,
                'ALTER POLICY tenant_isolation restating the generated expression exactly is accepted');
RESET ROLE;
SELECT is(pg_temp.policy_text('memos'), :'memos_policies', 'the policies of memos are unchanged after every attempt');
SELECT is(pg_temp.violations('memos'), '', 'memos passes every check');
-- the commuted comparison means the same, but is not the generated policy: refused, or harmless
SET ROLE ti_owner;
SELECT pg_temp.err($$ALTER POLICY tenant_isolation ON memos USING (tenant_iso.current_org_id() = organization_id)
                     WITH CHECK (tenant_iso.current_org_id() = organization_id)$$) AS commuted \gset
RESET ROLE;
SELECT ok(:'commuted' <> '' OR pg_temp.violations('memos') = '',
          'ALTER POLICY tenant_isolation USING (current_org_id() = organization_id) is refused, or leaves memos passing every check');
SELECT pg_temp.reset_spy() \gset
SET ROLE ti_app;
SELECT is((SELECT string_agg(body, ',' ORDER BY body) FROM memos), 'A:one,A:three,A:two', 'ti_app (A): memos still returns only A''s rows');
RESET ROLE;
SELECT is(pg_temp.spied(), 0::bigint, 'and the disguised policies still see nothing of B');

------------------------------------------------------------------------------
-- the generated policy is recognised in audit() by identity too
------------------------------------------------------------------------------
SET ROLE ti_owner;
CREATE TABLE lookalike (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, body text NOT NULL);
RESET ROLE;
SET tenant_iso.unsafe_ddl = on;
ALTER POLICY tenant_isolation ON lookalike USING (organization_id OPERATOR(public.=) tenant_iso.current_org_id())
    WITH CHECK (organization_id OPERATOR(public.=) tenant_iso.current_org_id());
RESET tenant_iso.unsafe_ddl;
SET ROLE ti_app;
SELECT is((SELECT status FROM tenant_iso.audit() WHERE relation = 'lookalike'::regclass AND check_name = 'tenant_isolation_policy'), 'violation',
          'audit(): a tenant_isolation policy using an operator named = of schema public (set by a superuser under unsafe_ddl) is not the generated one');
RESET ROLE;
SELECT is(pg_temp.violations('lookalike'), 'tenant_isolation_policy', '_table_violations() says the same');
SET ROLE ti_owner;
SELECT throws_ok('ALTER TABLE lookalike ADD COLUMN extra int, NO FORCE ROW LEVEL SECURITY', '42P16', NULL,
                 'the guard still protects the table whose policy is damaged: NO FORCE ROW LEVEL SECURITY is refused');
SELECT lives_ok($$ALTER POLICY tenant_isolation ON lookalike USING (organization_id = tenant_iso.current_org_id())
                  WITH CHECK (organization_id = tenant_iso.current_org_id())$$,
                'the owner may repair it by restating the generated expression');
RESET ROLE;
SELECT is(pg_temp.violations('lookalike'), '', 'after which it passes every check');

SELECT * FROM finish();
ROLLBACK;
