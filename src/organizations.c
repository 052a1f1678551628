/*-------------------------------------------------------------------------
 * src/organizations.c
 *		The registry's one C helper: deleting an organization's registry row
 *		with that organization as the tenant in effect.
 *
 * Referential actions are scoped to the tenant in effect (tenant_table.c),
 * so the cascade from tenant_iso.organizations into every tenant table
 * removes exactly the dropped organization's rows only when that
 * organization is the tenant while it runs.  drop_organization() (SQL,
 * SECURITY DEFINER) calls this after its checks and counts.
 *
 * Invariants:
 *	- Only a superuser (the extension's SECURITY DEFINER functions run as its
 *	  owner) may call it; it is not executable by PUBLIC either.
 *	- The tenant is restored on return (its GUC nest level is popped), and
 *	  on error by the (sub)transaction abort, as for a function's SET clause.
 *	- Deferred work the cascades queue runs before the tenant is restored.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/uuid.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_delete_organization_row);

/*
 * tenant_iso._delete_organization_row(id uuid) RETURNS bigint
 *		Deletes the registry row of organization id (its rows in tenant tables
 *		go with it through the registry keys' ON DELETE CASCADE) with id as
 *		the tenant; returns the number of registry rows deleted (0 or 1).
 */
Datum
tenant_iso_delete_organization_row(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];
	TiInternalTenant pushed;
	uint64		deleted = 0;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function tenant_iso._delete_organization_row"),
				 errdetail("It is an internal step of tenant_iso.drop_organization()."),
				 errhint("Call tenant_iso.drop_organization(id).")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("organization id must not be NULL"),
				 errdetail("An organization is deleted by its id."),
				 errhint("Call tenant_iso.drop_organization(id).")));
	values[0] = UUIDPGetDatum(PG_GETARG_UUID_P(0));

	/* an error unwinds the nest level through (sub)transaction abort */
	pushed = ti_context_push_internal(PG_GETARG_UUID_P(0));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("DELETE FROM tenant_iso.organizations o WHERE o.id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the registry row");
	deleted = SPI_processed;

	/*
	 * Deferred checks and triggers the cascades queued belong to this
	 * organization: run them now, under it (nothing else can be pending:
	 * the switch to it would have been refused).  Deferrable constraints
	 * stay immediate for the rest of the transaction.
	 */
	if (SPI_execute("SET CONSTRAINTS ALL IMMEDIATE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not run the deferred checks of the cascades");
	SPI_finish();
	ti_context_pop_internal(pushed);
	PG_RETURN_INT64((int64) deleted);
}
