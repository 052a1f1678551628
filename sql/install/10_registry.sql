/* sql/install/10_registry.sql: the tenant registry, create_organization(), drop_organization(). */

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

