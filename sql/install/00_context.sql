/* sql/install/00_context.sql: tenant_iso install script, part 1: the schema, the tenant context. */

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


