/* sql/install/80_stats.sql: per-tenant load figures (src/stats.c, docs/operations.md). */

------------------------------------------------------------------------------
-- tenant_stats: what each tenant's statements cost, since the last reset
------------------------------------------------------------------------------
-- Not for PUBLIC: the figures tell every tenant's volume.  Superusers and
-- members of pg_read_all_stats only (also checked in C).
CREATE FUNCTION tenant_iso._tenant_stats(
    OUT organization_id uuid, OUT statements bigint, OUT rows_returned bigint,
    OUT rows_inserted bigint, OUT rows_updated bigint, OUT rows_deleted bigint,
    OUT total_exec_time double precision, OUT max_exec_time double precision,
    OUT last_statement_at timestamptz, OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'tenant_iso_tenant_stats'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION tenant_iso._tenant_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_iso._tenant_stats() TO pg_read_all_stats;

CREATE VIEW tenant_iso.tenant_stats AS
    SELECT * FROM tenant_iso._tenant_stats();
REVOKE ALL ON tenant_iso.tenant_stats FROM PUBLIC;
GRANT SELECT ON tenant_iso.tenant_stats TO pg_read_all_stats;
COMMENT ON VIEW tenant_iso.tenant_stats IS
'Per organization since the last reset: top-level statements on tenant tables, rows returned / inserted / updated / deleted, total and max execution time (ms), time of the last statement. Superusers and pg_read_all_stats only.';

CREATE FUNCTION tenant_iso.tenant_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'tenant_iso_tenant_stats_reset'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION tenant_iso.tenant_stats_reset() FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.tenant_stats_reset() IS
'Forgets every tenant''s figures in tenant_iso.tenant_stats (superusers only).';
