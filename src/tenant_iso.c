/*-------------------------------------------------------------------------
 * src/tenant_iso.c
 *		Module entry point: refuses to load unless preloaded, then lets each
 *		subsystem install its settings and hooks.
 *
 * Enforcement (missing-tenant errors, the tenant-switch guard, the DDL
 * guard, TRUNCATE refusal) lives in hooks, so a backend that loaded the
 * library late would run part of the session unguarded.  We therefore
 * require shared_preload_libraries, as sepgsql and pgaudit do.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "tenant_iso.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant_iso must be loaded via shared_preload_libraries"),
				 errdetail("Tenant isolation is enforced by hooks that must be active in every session from its start."),
				 errhint("Add tenant_iso to shared_preload_libraries in postgresql.conf and restart the server.")));

	ti_citus_init();			/* first: refuses citus after tenant_iso */
	ti_tenant_table_init();
	ti_stamp_init();
	ti_refusal_init();
	ti_inflight_init();
	ti_context_init();
	ti_auth_init();
	ti_executor_init();
	ti_stats_init();
	ti_registry_init();			/* after the executor's hooks: it asks inflight.c */
	ti_planner_init();
	ti_indexes_init();
	ti_guard_init();
	ti_objaccess_init();
	ti_citus_ddl_init();

	MarkGUCPrefixReserved("tenant");
	MarkGUCPrefixReserved("tenant_iso");
}
