/* sql/install/90_tap.sql: pgTAP tests for users' own suites (docs/testing.md). */

------------------------------------------------------------------------------
-- One line in a pgTAP suite: fail when a table is not isolated
------------------------------------------------------------------------------
-- SECURITY INVOKER (the caller's pgTAP session state); pgTAP is found through
-- its extension's schema, whatever the caller's search_path.
CREATE FUNCTION tenant_iso._pgtap_schema()
RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp name;
BEGIN
    SELECT n.nspname INTO nsp
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgtap';
    IF nsp IS NULL THEN
        RAISE EXCEPTION 'pgTAP is not installed in this database'
            USING ERRCODE = '0A000',
                  DETAIL = 'tenant_iso''s tap_ functions return pgTAP test results.',
                  HINT = 'CREATE EXTENSION pgtap; in the database your test suite runs in.';
    END IF;
    RETURN nsp;
END
$$;

-- The TAP lines for one table: ok if it passes every check of the audit,
-- else not ok with the audit's detail of each violation as diagnostics.
-- "table schema.name is isolated by tenant", whatever the search_path
CREATE FUNCTION tenant_iso._tap_description(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('table %I.%I is isolated by tenant', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = rel
$$;

CREATE FUNCTION tenant_iso.tap_isolated(rel regclass, description text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tap name := tenant_iso._pgtap_schema();
    problems text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL'
            USING ERRCODE = '22004', DETAIL = 'tenant_iso.tap_isolated() tests one table.',
                  HINT = 'Pass a table name, e.g. tenant_iso.tap_isolated(''public.courses'').';
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s', a.check_name, a.detail), E'\n' ORDER BY a.nr)
      INTO problems
      FROM tenant_iso.audit() WITH ORDINALITY AS a(relation, check_name, status, detail, nr)
     WHERE a.relation = rel AND a.status = 'violation';
    IF NOT EXISTS (SELECT 1 FROM tenant_iso._table_checks(ARRAY[rel::oid]) c
                   WHERE c.check_name = 'tenant_isolation_policy') THEN
        problems := pg_catalog.concat_ws(E'\n', problems, 'Not a tenant table: it has no tenant checks.');
    END IF;
    -- pgTAP's own functions call each other unqualified: its schema goes on the path (this call only)
    PERFORM pg_catalog.set_config('search_path', pg_catalog.format('%I, pg_catalog, pg_temp', tap), true);
    RETURN QUERY EXECUTE pg_catalog.format('SELECT %I.ok($1, $2)', tap)
        USING problems IS NULL, coalesce(description, tenant_iso._tap_description(rel));
    IF problems IS NOT NULL THEN
        RETURN QUERY EXECUTE pg_catalog.format('SELECT %I.diag($1)', tap) USING problems;
    END IF;
END
$$;
COMMENT ON FUNCTION tenant_iso.tap_isolated(regclass, text) IS
'pgTAP: ok when the table is a tenant table that passes every check of tenant_iso.audit(); not ok with the violations as diagnostics.';

-- One test per table that must be a tenant table (as the schema check decides).
CREATE FUNCTION tenant_iso.tap_tables_isolated()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
BEGIN
    PERFORM tenant_iso._pgtap_schema();
    FOR t IN
        SELECT k.relid::regclass
          FROM tenant_iso._table_kinds((SELECT pg_catalog.array_agg(c.oid) FROM pg_catalog.pg_class c
                                         WHERE c.relkind IN ('r', 'p'))) k
          JOIN pg_catalog.pg_class c ON c.oid = k.relid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE k.kind = 'tenant'
         ORDER BY n.nspname, c.relname
    LOOP
        RETURN QUERY SELECT * FROM tenant_iso.tap_isolated(t);
    END LOOP;
END
$$;
COMMENT ON FUNCTION tenant_iso.tap_tables_isolated() IS
'pgTAP: one test per table the schema check treats as a tenant table, ok when tenant_iso.audit() finds no violation on it.';
