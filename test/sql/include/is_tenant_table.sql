-- test/sql/include/is_tenant_table.sql: pg_temp.is_tenant_table(rel) tells whether a table is set up
-- as a tenant table (row level security enabled and forced, the policy tenant_isolation present);
-- false when it is not or does not exist.
-- Included by 050 and 330.
CREATE FUNCTION pg_temp.is_tenant_table(rel text) RETURNS boolean LANGUAGE sql AS $$
    SELECT coalesce((SELECT c.relrowsecurity AND c.relforcerowsecurity
                       AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
                     FROM pg_class c WHERE c.oid = to_regclass(rel)), false)
$$;
