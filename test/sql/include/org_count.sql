-- test/sql/include/org_count.sql: pg_temp.org_count(org) counts the rows organization org owns in
-- every tenant table (every table with the policy tenant_isolation outside the schema tenant_iso,
-- each counted ONLY, without its partitions or children), read as the caller.
-- Included by 080 and 560.
CREATE FUNCTION pg_temp.org_count(org uuid) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t regclass; n bigint; total bigint := 0;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c
             WHERE c.relkind = 'r' AND c.relnamespace <> 'tenant_iso'::regnamespace
               AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
    LOOP
        EXECUTE format('SELECT count(*) FROM ONLY %s WHERE organization_id = $1', t) INTO n USING org;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;
