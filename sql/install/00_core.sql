/* sql/0.1.0/00_core.sql: tenant_iso 0.1.0 install script, part 1: context, registry, exemptions, schema check. */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION tenant_iso" to load this file. \quit

-- Every role that queries a tenant table evaluates the generated policies,
-- which call tenant_iso.current_org_id(): the schema is usable by all.
GRANT USAGE ON SCHEMA tenant_iso TO PUBLIC;

------------------------------------------------------------------------------
-- The tenant context
------------------------------------------------------------------------------
CREATE FUNCTION tenant_iso.current_org_id()
RETURNS uuid
AS 'MODULE_PATHNAME', 'tenant_iso_current_org_id'
LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF;

COMMENT ON FUNCTION tenant_iso.current_org_id() IS
'The current tenant (setting tenant.org_id) as a uuid, or NULL when no tenant is set.';


------------------------------------------------------------------------------
-- The tenant registry
------------------------------------------------------------------------------
CREATE TABLE tenant_iso.organizations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (name ~ '[^[:space:]]' AND char_length(name) <= 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenant_iso.organizations IS
'The tenant registry: every tenant row references one of these. A tenant session sees only its own row.';

ALTER TABLE tenant_iso.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_iso.organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_iso.organizations AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (id = tenant_iso.current_org_id())
    WITH CHECK (id = tenant_iso.current_org_id());
CREATE POLICY tenant_access ON tenant_iso.organizations AS PERMISSIVE FOR SELECT TO PUBLIC
    USING (true);
SELECT pg_catalog.pg_extension_config_dump('tenant_iso.organizations', '');

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
-- Organizations: create and drop (provisioning roles only)
------------------------------------------------------------------------------
CREATE FUNCTION tenant_iso.create_organization(name text, id uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id uuid;
BEGIN
    IF name IS NULL OR name !~ '[^[:space:]]' THEN
        RAISE EXCEPTION 'organization name must not be empty'
            USING ERRCODE = '22023', DETAIL = 'Every organization needs a name.',
                  HINT = 'Call tenant_iso.create_organization(''Acme Learning'').';
    END IF;
    IF pg_catalog.char_length(name) > 200 THEN
        RAISE EXCEPTION 'organization name is too long'
            USING ERRCODE = '22001',
                  DETAIL = pg_catalog.format('The name has %s characters; at most 200 are allowed.', pg_catalog.char_length(name)),
                  HINT = 'Use a shorter name.';
    END IF;
    IF id IS NOT NULL AND EXISTS (SELECT 1 FROM tenant_iso.organizations o WHERE o.id = create_organization.id) THEN
        RAISE EXCEPTION 'organization % already exists', id
            USING ERRCODE = '23505', DETAIL = 'Organization ids are unique.',
                  HINT = 'Omit the id to get a new random one.';
    END IF;
    INSERT INTO tenant_iso.organizations (id, name)
    VALUES (COALESCE(create_organization.id, pg_catalog.gen_random_uuid()), create_organization.name)
    RETURNING organizations.id INTO new_id;
    RETURN new_id;
END
$$;
REVOKE ALL ON FUNCTION tenant_iso.create_organization(text, uuid) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.create_organization(text, uuid) IS
'Registers an organization (tenant) and returns its id. Not executable by PUBLIC: grant it to a provisioning role.';

CREATE FUNCTION tenant_iso._delete_organization_row(id uuid)
RETURNS bigint
AS 'MODULE_PATHNAME', 'tenant_iso_delete_organization_row'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION tenant_iso._delete_organization_row(uuid) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso._delete_organization_row(uuid) IS
'Internal step of tenant_iso.drop_organization(): deletes the registry row with the organization as the tenant, so that the cascades reach its rows.';

CREATE FUNCTION tenant_iso.drop_organization(id uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    n bigint;
    total bigint := 0;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION 'organization id must not be NULL'
            USING ERRCODE = '22004', DETAIL = 'drop_organization removes exactly one organization.',
                  HINT = 'Pass the id returned by tenant_iso.create_organization().';
    END IF;
    -- Lock the registry row first: concurrent inserts for this organization
    -- (their foreign-key check takes FOR KEY SHARE) wait for us, and rows
    -- they committed before are counted below.
    PERFORM 1 FROM tenant_iso.organizations o WHERE o.id = drop_organization.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organization % does not exist', id
            USING ERRCODE = 'P0002', DETAIL = 'There is no such row in tenant_iso.organizations.',
                  HINT = 'List organizations with SELECT * FROM tenant_iso.organizations as a superuser.';
    END IF;
    -- Count the rows of every tenant table (leaf tables only: partitions have
    -- their own policies; ONLY avoids counting inheritance children twice).
    FOR t IN
        SELECT c.oid::regclass AS rel
        FROM pg_catalog.pg_class c
        WHERE c.relkind = 'r'
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
                      WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
          AND c.relnamespace <> 'tenant_iso'::regnamespace
    LOOP
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM ONLY %s WHERE organization_id OPERATOR(pg_catalog.=) $1', t.rel)
            INTO n USING id;
        total := total + n;
    END LOOP;
    -- The registry foreign keys cascade: the rows are deleted by each table's
    -- owner (PostgreSQL runs referential actions as the referencing table's
    -- owner), so no user trigger ever runs with this function's rights.
    -- Referential actions are scoped to the tenant in effect, so the row is
    -- deleted with this organization as the tenant (src/organizations.c).
    PERFORM tenant_iso._delete_organization_row(drop_organization.id);
    RETURN total;
END
$$;
REVOKE ALL ON FUNCTION tenant_iso.drop_organization(uuid) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.drop_organization(uuid) IS
'Deletes an organization and every row it owns in every tenant table; returns the number of tenant rows removed. Not executable by PUBLIC.';

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

------------------------------------------------------------------------------
-- Invariants of a tenant table (used by the DDL guard and the audit)
------------------------------------------------------------------------------
CREATE FUNCTION tenant_iso._base_type(typ oid)
RETURNS oid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE d(oid, base) AS (
        SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t WHERE t.oid = typ
        UNION ALL
        SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t JOIN d ON t.oid = d.base WHERE d.base <> 0
    )
    SELECT d.oid FROM d WHERE d.base = 0 LIMIT 1
$$;

CREATE FUNCTION tenant_iso._table_violations(rel oid)
RETURNS TABLE (check_name text, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH
    cls AS (SELECT c.* FROM pg_catalog.pg_class c WHERE c.oid = rel),
    col AS (SELECT a.* FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = rel AND a.attname = 'organization_id' AND NOT a.attisdropped),
    pol AS (SELECT p.*, pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
                   pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck
            FROM pg_catalog.pg_policy p WHERE p.polrelid = rel AND p.polname = 'tenant_isolation'),
    -- the generated expression, as deparsed for a uuid column and for a domain over uuid
    expected AS (SELECT ARRAY['(organization_id = tenant_iso.current_org_id())',
                              '((organization_id)::uuid = tenant_iso.current_org_id())']::text[] AS exprs)
    SELECT v.check_name, v.detail, v.hint FROM (
        SELECT 1 AS ord, 'organization_id_column' AS check_name,
               'The table would have no "organization_id" column.' AS detail,
               'Keep the column "organization_id uuid NOT NULL".' AS hint
        WHERE NOT EXISTS (SELECT 1 FROM col)
        UNION ALL
        SELECT 2, 'organization_id_type',
               pg_catalog.format('Column "organization_id" would be of type %s, not uuid.', pg_catalog.format_type(col.atttypid, col.atttypmod)),
               'Keep the column of type uuid.'
        FROM col WHERE tenant_iso._base_type(col.atttypid) <> 'pg_catalog.uuid'::pg_catalog.regtype
        UNION ALL
        SELECT 3, 'organization_id_not_null', 'Column "organization_id" would accept NULL.',
               'Keep the column NOT NULL.'
        FROM col WHERE NOT col.attnotnull
        UNION ALL
        SELECT 4, 'row_level_security', 'Row level security would not be enabled and forced.',
               'Keep ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY on tenant tables.'
        FROM cls WHERE NOT (cls.relrowsecurity AND cls.relforcerowsecurity)
        UNION ALL
        SELECT 5, 'tenant_isolation_policy', 'Policy "tenant_isolation" would be missing.',
               'Keep the generated policy; add your own policies beside it to narrow access.'
        WHERE NOT EXISTS (SELECT 1 FROM pol)
        UNION ALL
        SELECT 6, 'tenant_isolation_policy',
               'Policy "tenant_isolation" would no longer be the generated one (restrictive, FOR ALL, TO PUBLIC, comparing organization_id with the current tenant).',
               'Keep the generated policy unchanged; add your own policies beside it to narrow access.'
        FROM pol, expected
        WHERE pol.polpermissive OR pol.polcmd <> '*' OR pol.polroles <> '{0}'::oid[]
           OR NOT (pol.qual = ANY (expected.exprs)) OR NOT (pol.withcheck = ANY (expected.exprs))
        UNION ALL
        SELECT 7, 'tenant_index', 'No index leading with "organization_id" would remain.',
               'Keep at least one index whose first column is organization_id.'
        FROM col
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                          WHERE i.indrelid = rel AND i.indkey[0] = col.attnum AND i.indpred IS NULL
                            AND i.indisvalid)
        UNION ALL
        SELECT 8, 'registry_foreign_key',
               'The foreign key from "organization_id" to tenant_iso.organizations (id) ON DELETE CASCADE would be missing.',
               'Keep the generated foreign key constraint "tenant_iso_organization_fk".'
        FROM col
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                          WHERE k.conrelid = rel AND k.contype = 'f'
                            AND k.confrelid = 'tenant_iso.organizations'::pg_catalog.regclass
                            AND k.conkey = ARRAY[col.attnum] AND k.confdeltype = 'c' AND k.convalidated)
        UNION ALL
        SELECT 9, 'stamping_trigger',
               'The stamping trigger "tenant_iso_stamp" would be missing or disabled.',
               'Keep the generated trigger enabled.'
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                          WHERE t.tgrelid = rel AND t.tgname = 'tenant_iso_stamp'
                            AND t.tgfoid = 'tenant_iso.stamp_organization_id()'::pg_catalog.regprocedure
                            AND t.tgenabled IN ('O', 'A')
                            AND (t.tgtype::int & 31) = 23)   -- ROW | BEFORE | INSERT | UPDATE
        UNION ALL
        -- A unique key without organization_id is a cross-tenant oracle: its
        -- duplicate-key error tells one tenant that a value exists at another.
        -- A key on one uuid column is exempt: a random id cannot be guessed.
        SELECT 10, 'unique_key_without_tenant',
               pg_catalog.format('Unique key %s on (%s) does not include "organization_id": its duplicate-key error would tell one tenant that a value exists at another.',
                                 pg_catalog.quote_ident(ic.relname), uk.cols),
               pg_catalog.format('Include organization_id in the key, e.g. UNIQUE (organization_id, %s).', uk.cols)
        FROM col
        JOIN LATERAL (
            SELECT i.indexrelid, i.indnkeyatts, i.indisunique,
                   (i.indkey::pg_catalog.int2[])[0:i.indnkeyatts - 1] AS keys,
                   pg_catalog.array_to_string(ARRAY(
                       SELECT COALESCE(pg_catalog.quote_ident(a.attname), 'expression')
                       FROM pg_catalog.unnest((i.indkey::pg_catalog.int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, ord)
                       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum
                       ORDER BY k.ord), ', ') AS cols
            FROM pg_catalog.pg_index i
            WHERE i.indrelid = rel AND (i.indisunique OR i.indisexclusion)
        ) uk ON true
        JOIN pg_catalog.pg_class ic ON ic.oid = uk.indexrelid
        WHERE NOT (col.attnum OPERATOR(pg_catalog.=) ANY (uk.keys))
          AND NOT (uk.indisunique AND uk.indnkeyatts = 1 AND uk.keys[1] <> 0 AND EXISTS (
                   SELECT 1 FROM pg_catalog.pg_attribute a1
                   WHERE a1.attrelid = rel AND a1.attnum = uk.keys[1]
                     AND tenant_iso._base_type(a1.atttypid) = 'pg_catalog.uuid'::pg_catalog.regtype))
        UNION ALL
        -- A reference to another tenant table must carry organization_id on both
        -- sides: foreign-key checks do not see row level security, so a
        -- single-column reference lets a tenant probe and attach to other tenants' rows.
        SELECT 11, 'foreign_key_without_tenant',
               pg_catalog.format('Foreign key %s references tenant table %s without matching "organization_id" on both sides: it would let one tenant probe and reference another tenant''s rows.',
                                 pg_catalog.quote_ident(k.conname), k.confrelid::pg_catalog.regclass),
               pg_catalog.format('Reference the parent''s (organization_id, id) key: FOREIGN KEY (organization_id, ...) REFERENCES %s (organization_id, ...).',
                                 k.confrelid::pg_catalog.regclass)
        FROM col, pg_catalog.pg_constraint k
        WHERE k.conrelid = rel AND k.contype = 'f'
          AND k.confrelid <> 'tenant_iso.organizations'::pg_catalog.regclass
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
                      WHERE p.polrelid = k.confrelid AND p.polname = 'tenant_isolation')
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.generate_subscripts(k.conkey, 1) s(i)
                          JOIN pg_catalog.pg_attribute pa ON pa.attrelid = k.confrelid
                           AND pa.attnum = k.confkey[s.i] AND pa.attname = 'organization_id'
                          WHERE k.conkey[s.i] = col.attnum)
    ) v
    ORDER BY v.ord
$$;
REVOKE ALL ON FUNCTION tenant_iso._table_violations(oid) FROM PUBLIC;

------------------------------------------------------------------------------
-- The stamping trigger and the schema check
------------------------------------------------------------------------------
CREATE FUNCTION tenant_iso.stamp_organization_id()
RETURNS trigger
AS 'MODULE_PATHNAME', 'tenant_iso_stamp_organization_id'
LANGUAGE C;
-- Executable by PUBLIC: PostgreSQL checks EXECUTE when it clones the trigger
-- onto a new partition.  The function checks its calling context itself
-- (src/stamp.c): only as the trigger tenant_iso_stamp of a tenant table.
COMMENT ON FUNCTION tenant_iso.stamp_organization_id() IS
'BEFORE INSERT OR UPDATE trigger of every tenant table: stamps the current tenant, refuses other organizations and changes of organization_id.';

CREATE FUNCTION tenant_iso._setup_table(rel regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'tenant_iso_setup_table'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION tenant_iso._setup_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso._setup_table(regclass) IS
'Internal: the schema check''s set-up of one table (index, registry key, policies, stamping). Use tenant_iso.enroll().';

CREATE FUNCTION tenant_iso.ddl_command_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'tenant_iso_ddl_command_end'
LANGUAGE C;
REVOKE ALL ON FUNCTION tenant_iso.ddl_command_end() FROM PUBLIC;

CREATE EVENT TRIGGER tenant_iso_schema_check ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE VIEW', 'CREATE MATERIALIZED VIEW',
                 'CREATE SCHEMA')
    EXECUTE FUNCTION tenant_iso.ddl_command_end();
