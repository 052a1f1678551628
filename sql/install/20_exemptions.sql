/* sql/install/20_exemptions.sql: exemptions (global tables and schemas) and who may grant them. */

------------------------------------------------------------------------------
-- Exemptions (global tables and schemas), dumped by pg_dump
------------------------------------------------------------------------------
CREATE TABLE tenant_iso.exemptions (
    schema_name  text NOT NULL,
    table_name   text,             -- NULL: the whole schema
    reason       text NOT NULL CHECK (reason ~ '[^[:space:]]' AND char_length(reason) <= 1000),
    exempted_by  name NOT NULL DEFAULT current_user,
    exempted_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT exemptions_unique UNIQUE NULLS NOT DISTINCT (schema_name, table_name)
);
COMMENT ON TABLE tenant_iso.exemptions IS
'Schemas and tables that are not tenant tables (global lookup tables, plans), with who exempted them, when and why.';
GRANT SELECT ON tenant_iso.exemptions TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('tenant_iso.exemptions', '');

------------------------------------------------------------------------------
-- Internal: who may administer the extension
------------------------------------------------------------------------------
CREATE FUNCTION tenant_iso._require_admin(action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = current_user AND r.rolsuper)
       AND NOT pg_catalog.pg_has_role(current_user,
             (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'tenant_iso'), 'MEMBER')
    THEN
        RAISE EXCEPTION 'permission denied to %', action
            USING ERRCODE = '42501',
                  DETAIL = 'Only a superuser or the owner of extension tenant_iso may do this.',
                  HINT = 'Ask a database administrator to run it.';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION tenant_iso._require_admin(text) FROM PUBLIC;

------------------------------------------------------------------------------
-- Exemptions
------------------------------------------------------------------------------
CREATE FUNCTION tenant_iso._check_reason(reason text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF reason IS NULL OR reason !~ '[^[:space:]]' THEN
        RAISE EXCEPTION 'an exemption needs a reason'
            USING ERRCODE = '22023', DETAIL = 'Exemptions are reported by the audit together with their reason.',
                  HINT = 'Say why the data is global, e.g. ''plans are shared by all organizations''.';
    END IF;
    IF pg_catalog.char_length(reason) > 1000 THEN
        RAISE EXCEPTION 'exemption reason is too long'
            USING ERRCODE = '22001', DETAIL = 'At most 1000 characters are allowed.',
                  HINT = 'Use a shorter reason.';
    END IF;
END
$$;

CREATE FUNCTION tenant_iso.exempt_schema(schema_name text, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM tenant_iso._require_admin('exempt a schema');
    PERFORM tenant_iso._check_reason(reason);
    IF schema_name IS NULL OR schema_name = '' OR pg_catalog.octet_length(schema_name) > 63 THEN
        RAISE EXCEPTION 'invalid schema name'
            USING ERRCODE = '3F000', DETAIL = 'A schema name is 1 to 63 characters long.',
                  HINT = 'Pass the schema name as it is stored, e.g. ''reference''.';
    END IF;
    IF schema_name = 'tenant_iso' OR schema_name = 'information_schema' OR schema_name ~ '^pg_' THEN
        RAISE EXCEPTION 'schema "%" is never a tenant schema', schema_name
            USING ERRCODE = '22023', DETAIL = 'System schemas and the extension''s own schema are exempt already.',
                  HINT = 'Exempt only your own schemas.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_isolation'
               WHERE n.nspname = schema_name) THEN
        RAISE EXCEPTION 'schema "%" already holds tenant tables', schema_name
            USING ERRCODE = '55000', DETAIL = 'Exempting it would not remove their tenant boundary, and new tables in it would have none.',
                  HINT = 'Put global tables in a schema of their own.';
    END IF;
    INSERT INTO tenant_iso.exemptions (schema_name, table_name, reason)
    VALUES (schema_name, NULL, reason)
    ON CONFLICT ON CONSTRAINT exemptions_unique DO UPDATE SET reason = EXCLUDED.reason,
        exempted_by = EXCLUDED.exempted_by, exempted_at = EXCLUDED.exempted_at;
END
$$;
REVOKE ALL ON FUNCTION tenant_iso.exempt_schema(text, text) FROM PUBLIC;

CREATE FUNCTION tenant_iso._exempt_table(table_name text, reason text, default_schema text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts text[];
    nsp text;
    rel text;
    relid oid;
BEGIN
    PERFORM tenant_iso._require_admin('exempt a table');
    PERFORM tenant_iso._check_reason(reason);
    IF table_name IS NULL OR pg_catalog.char_length(table_name) > 200 THEN
        RAISE EXCEPTION 'invalid table name'
            USING ERRCODE = '42602', DETAIL = 'Give the table as name or schema.name.',
                  HINT = 'Quote mixed-case names as in SQL, e.g. ''public."Plans"''.';
    END IF;
    BEGIN
        parts := pg_catalog.parse_ident(table_name);
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid table name: "%"', table_name
            USING ERRCODE = '42602', DETAIL = 'Give the table as name or schema.name.',
                  HINT = 'Quote mixed-case names as in SQL, e.g. ''public."Plans"''.';
    END;
    IF pg_catalog.array_length(parts, 1) = 1 THEN
        -- the schema an unqualified CREATE TABLE would use
        nsp := default_schema;
        IF nsp IS NULL THEN
            RAISE EXCEPTION 'no schema has been selected to exempt "%" in', table_name
                USING ERRCODE = '3F000', DETAIL = 'search_path names no existing schema.',
                      HINT = 'Qualify the name, e.g. ''public.plans''.';
        END IF;
        rel := parts[1];
    ELSIF pg_catalog.array_length(parts, 1) = 2 THEN
        nsp := parts[1];
        rel := parts[2];
    ELSE
        RAISE EXCEPTION 'invalid table name: "%"', table_name
            USING ERRCODE = '42602', DETAIL = 'Give the table as name or schema.name, without a database name.',
                  HINT = 'Use ''schema.table''.';
    END IF;
    IF pg_catalog.octet_length(nsp) > 63 OR pg_catalog.octet_length(rel) > 63 THEN
        RAISE EXCEPTION 'invalid table name: a name part is longer than 63 bytes'
            USING ERRCODE = '42602', DETAIL = 'No schema or table can have such a name.',
                  HINT = 'Use the name as it is stored.';
    END IF;
    IF nsp = 'tenant_iso' THEN
        RAISE EXCEPTION 'table %.% belongs to extension tenant_iso', pg_catalog.quote_ident(nsp), pg_catalog.quote_ident(rel)
            USING ERRCODE = '55000', DETAIL = 'The extension''s own tables are never tenant tables.',
                  HINT = 'Exempt only your own tables.';
    END IF;
    IF nsp = 'information_schema' OR nsp ~ '^pg_' THEN
        RAISE EXCEPTION 'table %.% is in a system schema', pg_catalog.quote_ident(nsp), pg_catalog.quote_ident(rel)
            USING ERRCODE = '22023', DETAIL = 'System tables and the extension''s own tables are never tenant tables.',
                  HINT = 'Exempt only your own tables.';
    END IF;
    SELECT c.oid INTO relid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = nsp AND c.relname = rel;
    IF relid IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = relid AND p.polname = 'tenant_isolation') THEN
        RAISE EXCEPTION 'table %.% is already a tenant table', pg_catalog.quote_ident(nsp), pg_catalog.quote_ident(rel)
            USING ERRCODE = '55000', DETAIL = 'Exempting it would leave its rows with a tenant boundary nobody maintains.',
                  HINT = 'Exempt a global table before creating it, or create it anew after exempting the name.';
    END IF;
    INSERT INTO tenant_iso.exemptions (schema_name, table_name, reason)
    VALUES (nsp, rel, reason)
    ON CONFLICT ON CONSTRAINT exemptions_unique DO UPDATE SET reason = EXCLUDED.reason,
        exempted_by = EXCLUDED.exempted_by, exempted_at = EXCLUDED.exempted_at;
END
$$;
REVOKE ALL ON FUNCTION tenant_iso._exempt_table(text, text, text) FROM PUBLIC;

-- The caller's search_path decides where an unqualified name lives, so this
-- wrapper takes current_schema() before the pinned search_path applies.
CREATE FUNCTION tenant_iso.exempt_table(table_name text, reason text)
RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT tenant_iso._exempt_table(table_name, reason, pg_catalog.current_schema()) $$;
REVOKE ALL ON FUNCTION tenant_iso.exempt_table(text, text) FROM PUBLIC;

