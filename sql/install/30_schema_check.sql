/* sql/install/30_schema_check.sql: the stamping trigger function and the schema check (event trigger). */

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

