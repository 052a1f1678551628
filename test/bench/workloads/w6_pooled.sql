-- W6: a transaction as a client of a transaction-pooling pooler sends it: the tenant for this
-- transaction only (a random organization each time), then a point select. Run as bench_pool
-- (tenant_iso.context_scope = 'transaction'). V0 sends the same set_config and names the
-- organization in its WHERE clause.
\set k random(1, :norgs)
\set s random(1, :mrows)
BEGIN;
SELECT set_config('tenant.org_id', '00000000-0000-4000-8000-' || lpad(:k::text, 12, '0'), true);
SELECT id, title, created_at, views FROM @T@
WHERE id = (lpad(:k::text, 8, '0') || '-0000-4000-8000-' || lpad(:s::text, 12, '0'))::uuid@AND_ORG_K@;
COMMIT;
