-- Read isolation: a tenant sees only its own rows; another tenant's row does not exist for it.
-- Attacker: ti_app (not superuser, not BYPASSRLS, not owner), and ti_owner (the table owner).
BEGIN;
SELECT plan(16);

SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'tenant A sees its 2 courses');
SELECT is((SELECT count(*) FROM courses WHERE organization_id <> '0a000000-0000-4000-8000-00000000000a'), 0::bigint,
          'tenant A sees no course of another organization');
SELECT is_empty($$SELECT * FROM courses WHERE id = '2b000000-0000-4000-8000-000000000001'$$,
          'B''s course looked up by id returns zero rows for A');
SELECT is_empty($$SELECT * FROM users WHERE email = 'bea@beta.test'$$, 'B''s user looked up by e-mail is invisible');
SELECT is((SELECT count(*) FROM users WHERE email = 'ada@alpha.test'), 1::bigint,
          'a value shared by both tenants matches only A''s row');
SELECT is_empty($$SELECT * FROM courses WHERE organization_id = '0b000000-0000-4000-8000-00000000000b'$$,
          'an explicit WHERE organization_id = B returns nothing');
SELECT is((SELECT count(*) FROM lessons l JOIN courses c ON c.organization_id = l.organization_id AND c.id = l.course_id), 2::bigint,
          'joins see only A''s rows');
SELECT is((SELECT count(*) FROM tenant_iso.organizations), 1::bigint, 'the registry shows only A''s own organization');
SELECT is((SELECT name FROM tenant_iso.organizations), 'Alpha Academy', 'and it is A');

RESET ROLE;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
SELECT results_eq($$SELECT title FROM courses ORDER BY title$$, ARRAY['Biology', 'Botany'], 'tenant B sees its own courses');
SELECT is_empty($$SELECT * FROM assets WHERE url LIKE '%alpha%'$$, 'B cannot find A''s assets by pattern');

-- the table owner is bound too (FORCE ROW LEVEL SECURITY)
RESET ROLE;
SET ROLE ti_owner;
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'the owner sees only the current tenant''s rows');
SELECT is_empty($$SELECT * FROM courses WHERE id = '2a000000-0000-4000-8000-000000000001'$$,
          'the owner cannot see A''s course while working for B');

-- SET LOCAL and set_config(..., true) scope the tenant to the transaction
RESET ROLE;
SET ROLE ti_app;
SET LOCAL tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SELECT is((SELECT count(*) FROM courses WHERE title = 'Algebra'), 1::bigint, 'SET LOCAL switches the tenant');
SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b', true);
SELECT is((SELECT count(*) FROM courses WHERE title = 'Algebra'), 0::bigint, 'set_config(..., true) switches it back');
SELECT is(tenant_iso.current_org_id(), '0b000000-0000-4000-8000-00000000000b'::uuid, 'current_org_id() follows');

SELECT * FROM finish();
ROLLBACK;
