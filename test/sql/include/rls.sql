-- test/sql/include/rls.sql: pg_temp.rls(rel) shows whether row level security is enabled and forced
-- on a table, as 'relrowsecurity/relforcerowsecurity' ('true/true' for a tenant table).
-- Included by 650 and 660.
CREATE FUNCTION pg_temp.rls(rel regclass) RETURNS text LANGUAGE sql AS $$
    SELECT relrowsecurity || '/' || relforcerowsecurity FROM pg_class WHERE oid = rel
$$;
