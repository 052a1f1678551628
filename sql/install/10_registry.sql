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

-- Rows of tenant tables are only written for registered organizations that
-- are not being dropped (src/registry.c: the stamping trigger holds the
-- organization's registry lock, this trigger takes it exclusively before a
-- registry row goes); ids never change.
CREATE FUNCTION tenant_iso.registry_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'tenant_iso_registry_guard'
LANGUAGE C;
REVOKE ALL ON FUNCTION tenant_iso.registry_guard() FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.registry_guard() IS
'Internal: BEFORE DELETE OR UPDATE OF id trigger of tenant_iso.organizations: waits for the writers of an organization before its row goes, and keeps ids unchanged.';
CREATE TRIGGER tenant_iso_registry_guard BEFORE DELETE OR UPDATE OF id ON tenant_iso.organizations
    FOR EACH ROW EXECUTE FUNCTION tenant_iso.registry_guard();

CREATE FUNCTION tenant_iso._remove_organization(id uuid)
RETURNS bigint
AS 'MODULE_PATHNAME', 'tenant_iso_remove_organization'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION tenant_iso._remove_organization(uuid) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso._remove_organization(uuid) IS
'Internal step of tenant_iso.drop_organization(): removes the registry row, then the organization''s rows of every tenant table, each deleted by the table''s owner with the organization as the tenant.';

CREATE FUNCTION tenant_iso.drop_organization(id uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION 'organization id must not be NULL'
            USING ERRCODE = '22004', DETAIL = 'drop_organization removes exactly one organization.',
                  HINT = 'Pass the id returned by tenant_iso.create_organization().';
    END IF;
    -- src/organizations.c: waits for the organization's writers, deletes its
    -- rows table by table (by each table's owner, never with this function's
    -- rights), and returns how many.
    RETURN tenant_iso._remove_organization(drop_organization.id);
END
$$;
REVOKE ALL ON FUNCTION tenant_iso.drop_organization(uuid) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.drop_organization(uuid) IS
'Deletes an organization and every row it owns in every tenant table; returns the number of tenant rows removed. Not executable by PUBLIC.';
