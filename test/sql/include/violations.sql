-- test/sql/include/violations.sql: pg_temp.violations(rel) lists the invariant checks a table fails
-- (tenant_iso._table_violations), sorted and joined by ', '; '' when it is a tenant table passing
-- every check. A table that is not set up as a tenant table (policy tenant_isolation, row level
-- security enabled and forced) is prefixed 'not a tenant table: '; a table that does not exist
-- gives 'gone'.
-- Included by 050, 060, 610, 620, 630, 640, 650, 660, 710 and 720.
CREATE FUNCTION pg_temp.violations(rel text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN to_regclass(rel) IS NULL THEN 'gone' ELSE
        (SELECT CASE WHEN c.relrowsecurity AND c.relforcerowsecurity
                          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
                     THEN '' ELSE 'not a tenant table: ' END
           FROM pg_class c WHERE c.oid = to_regclass(rel))
        || coalesce((SELECT string_agg(v.check_name, ', ' ORDER BY v.check_name)
                       FROM tenant_iso._table_violations(to_regclass(rel)) v), '')
    END
$$;
