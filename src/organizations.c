/*-------------------------------------------------------------------------
 * src/organizations.c
 *		Removing an organization: tenant_iso._remove_organization(), the
 *		work of drop_organization().
 *
 * Tenant tables have no foreign key to the registry (registry.c guards
 * writes instead), so the organization's rows are deleted here, table by
 * table:
 *	1. the registry row goes first: its trigger (registry.c) takes the
 *	   organization's registry lock exclusively, which waits for every
 *	   transaction that wrote for it and keeps new writers out until commit;
 *	2. every tenant table's rows of the organization are counted, then
 *	   deleted, tables that reference others before those they reference
 *	   (a RESTRICT or NO ACTION key between tenant tables then finds its
 *	   referencing rows gone already);
 *	3. deferred checks and triggers run before the function returns.
 * On Citus the registry's DELETE reaches every placement and each table's
 * DELETE every shard; the lock is taken on the coordinator first, where
 * writers of distributed tables take it (executor.c).
 *
 * Invariants:
 *	- Only a superuser (the extension's SECURITY DEFINER functions run as its
 *	  owner) may call it; it is not executable by PUBLIC either.
 *	- Each table's rows are deleted by the table's owner, as PostgreSQL runs
 *	  a referential action (the owner's identity, SECURITY_NOFORCE_RLS), with
 *	  a pinned search_path and the organization as the tenant in effect: its
 *	  triggers never run with the rights of the caller, tenant scoping and
 *	  the rules for referential actions (no temporary tables, no utility
 *	  statements: tenant_table.c, executor.c, guard.c) apply as in a cascade.
 *	- The registry lock needs READ COMMITTED: under a transaction snapshot,
 *	  rows committed by the writers it waited for would not be seen.
 *	- The tenant is restored on return, and on error by the (sub)transaction
 *	  abort, as for a function's SET clause.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_remove_organization);

/*
 * tables, ordered so that a table comes before every table it references
 * (edges: rows of "referencing oid, referenced oid" text pairs).  Tables in
 * a cycle of references come last, in OID order.
 */
static List *
referencing_first(List *tables, List *edges)
{
	List	   *order = NIL;
	List	   *left = list_copy(tables);
	bool		progress = true;

	while (left != NIL && progress)
	{
		ListCell   *lc;

		progress = false;
		foreach(lc, left)
		{
			Oid			t = lfirst_oid(lc);
			ListCell   *le;
			bool		referenced = false;

			/* still referenced by a table not deleted yet? */
			foreach(le, edges)
			{
				char	  **e = (char **) lfirst(le);

				if (atooid(e[1]) == t && list_member_oid(left, atooid(e[0])))
					referenced = true;
			}
			if (referenced)
				continue;
			order = lappend_oid(order, t);
			left = foreach_delete_current(left, lc);
			progress = true;
		}
	}
	return list_concat(order, left);
}

/* The tenant tables that hold rows (no partitioned parents), in delete order. */
static List *
tables_in_delete_order(void)
{
	List	   *tables = NIL;
	List	   *edges;
	ListCell   *lc;

	foreach(lc, ti_internal_query("SELECT c.oid FROM pg_catalog.pg_class c "
								  "WHERE c.relkind OPERATOR(pg_catalog.=) 'r' "
								  "AND c.relpersistence OPERATOR(pg_catalog.<>) 't' "
								  "AND c.relnamespace OPERATOR(pg_catalog.<>) 'tenant_iso'::pg_catalog.regnamespace "
								  "AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid "
								  "            AND p.polname OPERATOR(pg_catalog.=) '" TI_ISOLATION_POLICY "') ORDER BY 1",
								  0, NULL, NULL, 0, 1))
	{
		Oid			relid = atooid(((char **) lfirst(lc))[0]);

		/* tenant tables only: not another session's table dressed up as one */
		if (ti_relid_is_guarded(relid) && ti_relid_is_tenant_table(relid))
			tables = lappend_oid(tables, relid);
	}
	/* referencing table -> every table holding rows of the referenced one */
	edges = ti_internal_query("SELECT DISTINCT k.conrelid, t.relid FROM pg_catalog.pg_constraint k "
							  "CROSS JOIN LATERAL (SELECT p.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree(k.confrelid) p WHERE p.isleaf "
							  "                    UNION SELECT k.confrelid) t "
							  "WHERE k.contype OPERATOR(pg_catalog.=) 'f' "
							  "AND k.conrelid OPERATOR(pg_catalog.<>) t.relid",
							  0, NULL, NULL, 0, 2);
	return referencing_first(tables, edges);
}

/* relid's rows of org, counted as of now (a new snapshot: not read-only). */
static uint64
count_rows(const char *qual, Datum org)
{
	Oid			argtypes[1] = {UUIDOID};
	bool		isnull;

	if (SPI_execute_with_args(psprintf("SELECT pg_catalog.count(*) FROM ONLY %s WHERE organization_id OPERATOR(pg_catalog.=) $1", qual),
							  1, argtypes, &org, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count the rows of %s", qual);
	return (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* A trigger of the table kept rows of the organization: nothing is dropped. */
static void
refuse_kept_rows(const char *qual, uint64 kept, Datum org)
{
	ereport(ERROR,
			(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
			 errmsg("cannot drop organization %s: " UINT64_FORMAT " of its rows in table %s were not deleted",
					DatumGetCString(DirectFunctionCall1(uuid_out, org)), kept, qual),
			 errdetail("A BEFORE DELETE trigger of the table skipped them; nothing was dropped."),
			 errhint("Let the table's BEFORE DELETE triggers return OLD, then call tenant_iso.drop_organization() again.")));
}

/*
 * Count, then delete, relid's rows of org (qual: its name), as the current
 * user; then make sure none is left (a trigger may skip rows).
 */
static uint64
count_and_delete(const char *qual, Datum org)
{
	Oid			argtypes[1] = {UUIDOID};
	uint64		counted;
	uint64		kept;

	/* what the writers it waited for committed */
	counted = count_rows(qual, org);
	if (SPI_execute_with_args(psprintf("DELETE FROM ONLY %s WHERE organization_id OPERATOR(pg_catalog.=) $1", qual),
							  1, argtypes, &org, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the rows of %s", qual);
	kept = count_rows(qual, org);
	if (kept > 0)
		refuse_kept_rows(qual, kept, org);
	return counted;
}

/*
 * Count and delete relid's rows of org as the table's owner (see the
 * header).  Both as the owner: Citus runs the statements on a distributed
 * table's shards over the connections of one user per transaction.
 */
static uint64
delete_rows(Oid relid, Datum org)
{
	char	   *qual = ti_qualified_name(relid);
	Oid			save_userid;
	int			save_sec;
	int			nest;
	uint64		counted = 0;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(ti_relation_owner(relid),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	PG_TRY();
	{
		counted = count_and_delete(qual, org);
	}
	PG_FINALLY();
	{
		AtEOXact_GUC(true, nest);
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	return counted;
}

/*
 * Citus ties the placements of a shard group to the connections of the
 * first user that modifies them in a transaction, and every distributed
 * tenant table is in one co-location group: their rows can only be deleted
 * as their owners if that is one role.  Refused before anything is deleted.
 */
static void
check_one_distributed_owner(List *tables)
{
	Oid			first = InvalidOid;
	ListCell   *lc;

	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);

		if (!ti_citus_is_table(relid))
			continue;
		if (!OidIsValid(first))
			first = relid;
		else if (ti_relation_owner(relid) != ti_relation_owner(first))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot drop an organization on Citus: distributed tenant tables %s and %s have different owners",
							ti_qualified_name(first), ti_qualified_name(relid)),
					 errdetail("Each table's rows are deleted as its owner; the tables are co-located, and Citus does not let a user reach placements that another user modified in the same transaction."),
					 errhint("Give every tenant table one owner (ALTER TABLE ... OWNER TO ...), then drop the organization.")));
	}
}

/*
 * The registry row first: its trigger waits for the organization's writers
 * and keeps new ones out (registry.c).  The lock is taken here first: on
 * Citus the trigger fires on the registry's placements, and this node is
 * where writers of distributed tables take it (executor.c).  Returns the
 * rows deleted (0 or 1).
 */
static uint64
delete_registry_row(Datum org)
{
	Oid			argtypes[1] = {UUIDOID};

	ti_registry_lock_for_drop(DatumGetUUIDP(org));
	ti_registry_removing(true);
	PG_TRY();
	{
		if (SPI_execute_with_args("DELETE FROM tenant_iso.organizations o WHERE o.id OPERATOR(pg_catalog.=) $1",
								  1, argtypes, &org, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete the registry row");
	}
	PG_FINALLY();
	{
		ti_registry_removing(false);
	}
	PG_END_TRY();
	return SPI_processed;
}

static void
check_arguments(FunctionCallInfo fcinfo)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function tenant_iso._remove_organization"),
				 errdetail("It is an internal step of tenant_iso.drop_organization()."),
				 errhint("Call tenant_iso.drop_organization(id).")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("organization id must not be NULL"),
				 errdetail("drop_organization removes exactly one organization."),
				 errhint("Pass the id returned by tenant_iso.create_organization().")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("tenant_iso.drop_organization() must run at isolation level READ COMMITTED"),
				 errdetail("It waits for the transactions that wrote for the organization, then deletes what they committed; a transaction snapshot would not show those rows."),
				 errhint("Run it in its own transaction, or SET TRANSACTION ISOLATION LEVEL READ COMMITTED first.")));
}

/*
 * tenant_iso._remove_organization(id uuid) RETURNS bigint
 *		Removes organization id and every row it owns in every tenant
 *		table; returns the number of those rows.
 */
Datum
tenant_iso_remove_organization(PG_FUNCTION_ARGS)
{
	Datum		org;
	TiInternalTenant pushed;
	List	   *tables;
	ListCell   *lc;
	uint64		total = 0;

	check_arguments(fcinfo);
	org = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	/* an error unwinds the nest level through (sub)transaction abort */
	pushed = ti_context_push_internal(PG_GETARG_UUID_P(0));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	tables = tables_in_delete_order();
	check_one_distributed_owner(tables);
	if (delete_registry_row(org) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("organization %s does not exist", DatumGetCString(DirectFunctionCall1(uuid_out, org))),
				 errdetail("There is no such row in tenant_iso.organizations."),
				 errhint("List organizations with SELECT * FROM tenant_iso.organizations as a superuser.")));
	foreach(lc, tables)
		total += delete_rows(lfirst_oid(lc), org);
	/* deferred checks and triggers of these deletes run under this organization */
	if (SPI_execute("SET CONSTRAINTS ALL IMMEDIATE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not run the deferred checks");
	SPI_finish();
	ti_context_pop_internal(pushed);
	PG_RETURN_INT64((int64) total);
}
