/* sql/install/95_citus.sql: tenant tables on Citus (docs/citus.md): distribute(), and what nodes call on each other. */

------------------------------------------------------------------------------
-- Distributing tenant tables
------------------------------------------------------------------------------
-- SECURITY INVOKER: the C function checks that the caller owns the table (or
-- is a superuser), then does the work as the extension's owner.
CREATE FUNCTION tenant_iso.distribute(rel regclass)
RETURNS SETOF regclass
AS 'MODULE_PATHNAME', 'tenant_iso_distribute'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tenant_iso.distribute(regclass) IS
'On the Citus coordinator: distributes the tenant table by organization_id, with every tenant table not distributed yet, co-located; the first call makes tenant_iso.organizations a reference table. Returns the tables distributed. See docs/citus.md.';

------------------------------------------------------------------------------
-- Between Citus nodes
------------------------------------------------------------------------------
-- Executable by PUBLIC: a coordinator calls it on the workers as the user
-- the statement runs as; it verifies a MAC made with tenant_iso.signing_key.
CREATE FUNCTION tenant_iso._node_context(token text)
RETURNS void
AS 'MODULE_PATHNAME', 'tenant_iso_node_context'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tenant_iso._node_context(text) IS
'Internal (Citus): on a worker, the tenant the coordinator sends under require_signed_context, from a node token; for the current transaction.';

-- Executable by PUBLIC, like audit(): catalog facts of one relation on this node.
CREATE FUNCTION tenant_iso._shard_violations(rel oid)
RETURNS text
AS 'MODULE_PATHNAME', 'tenant_iso_shard_violations'
LANGUAGE C STABLE;
COMMENT ON FUNCTION tenant_iso._shard_violations(oid) IS
'Internal (Citus): the checks a shard placement, worker shell or registry placement fails on this node, for audit().';

CREATE FUNCTION tenant_iso._placement_checks()
RETURNS TABLE (relid oid, ord int, check_name text, status text, detail text)
AS 'MODULE_PATHNAME', 'tenant_iso_placement_checks'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tenant_iso._placement_checks() IS
'Internal (Citus): the audit rows of every shard placement and worker shell of every distributed tenant table and of the registry; nothing without Citus.';
