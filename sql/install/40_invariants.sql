/* sql/install/40_invariants.sql: the checks of tenant tables, views and other tables, defined once in C (src/invariants.c, src/views.c, src/fk.c, src/managed.c). */

------------------------------------------------------------------------------
-- How the schema check classifies relations, and the checks of each
------------------------------------------------------------------------------
-- Executable by PUBLIC: audit() is, and these read catalog facts only (and
-- the names in tenant_iso.exemptions, which PUBLIC may read too).
CREATE FUNCTION tenant_iso._table_kinds(rels oid[])
RETURNS TABLE (relid oid, kind text)
AS 'MODULE_PATHNAME', 'tenant_iso_table_kinds'
LANGUAGE C STABLE;
COMMENT ON FUNCTION tenant_iso._table_kinds(oid[]) IS
'Internal: how the schema check classifies each relation: tenant, exempt, extension, foreign, temporary, system or not a table.';

CREATE FUNCTION tenant_iso._table_checks(rels oid[])
RETURNS TABLE (relid oid, ord int, check_name text, status text, detail text)
AS 'MODULE_PATHNAME', 'tenant_iso_table_checks'
LANGUAGE C STABLE;
COMMENT ON FUNCTION tenant_iso._table_checks(oid[]) IS
'Internal: every check of every given relation (the invariants of tenant tables, the view checks, the foreign-key rule of other tables), passed or not, for audit().';

-- The invariants one table violates, in the words of the guard's error.
CREATE FUNCTION tenant_iso._table_violations(rel oid)
RETURNS TABLE (check_name text, detail text, hint text)
AS 'MODULE_PATHNAME', 'tenant_iso_table_violations'
LANGUAGE C STABLE;
REVOKE ALL ON FUNCTION tenant_iso._table_violations(oid) FROM PUBLIC;

-- The invariant rows of _table_checks() (warnings left out), as 0.1.0 had them.
CREATE FUNCTION tenant_iso._invariant_checks(rels oid[])
RETURNS TABLE (relid oid, ord int, check_name text, passed boolean, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relid, c.ord, c.check_name, c.status = 'ok', c.detail, NULL::text
    FROM tenant_iso._table_checks(rels) c
    WHERE c.status <> 'warning'
$$;
COMMENT ON FUNCTION tenant_iso._invariant_checks(oid[]) IS
'Internal: the invariants of tenant_iso._table_checks() for many tables at once, passed or not.';
