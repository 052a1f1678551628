/*-------------------------------------------------------------------------
 * src/compat.c
 *		Functions that hide PostgreSQL version differences (see compat.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_constraint.h"
#include "commands/copy.h"
#include "commands/copyfrom_internal.h"
#include "commands/progress.h"
#include "executor/executor.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif

#include "compat.h"

Oid
ti_rte_check_as_user(PlannedStmt *stmt, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	if (rte->perminfoindex == 0)
		return InvalidOid;
	return getRTEPermissionInfo(stmt->permInfos, rte)->checkAsUser;
#else
	return rte->checkAsUser;
#endif
}

AclMode
ti_rte_required_perms(PlannedStmt *stmt, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	if (rte->perminfoindex == 0)
		return 0;
	return getRTEPermissionInfo(stmt->permInfos, rte)->requiredPerms;
#else
	return rte->requiredPerms;
#endif
}

Oid
ti_query_rte_check_as_user(Query *query, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	if (rte->perminfoindex == 0)
		return InvalidOid;
	return getRTEPermissionInfo(query->rteperminfos, rte)->checkAsUser;
#else
	return rte->checkAsUser;
#endif
}

struct config_generic *
ti_find_guc(const char *name)
{
	struct config_generic *gconf = NULL;
#if PG_VERSION_NUM >= 160000
	gconf = find_option(name, false, true, ERROR);
#else
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	for (i = 0; i < n; i++)
	{
		if (strcmp(vars[i]->name, name) == 0)
		{
			gconf = vars[i];
			break;
		}
	}
#endif
	if (gconf == NULL)
		elog(ERROR, "setting \"%s\" is not defined", name);
	return gconf;
}

void *
ti_guc_malloc(size_t size)
{
#if PG_VERSION_NUM >= 160000
	return guc_malloc(LOG, size);
#else
	return malloc(size);
#endif
}

void
ti_guc_free(void *ptr)
{
#if PG_VERSION_NUM >= 160000
	guc_free(ptr);
#else
	free(ptr);
#endif
}

/*
 * Is the column's NOT NULL in force for every row?  From 18 on a not-null
 * constraint may exist NOT VALID (attnotnull is then true, too).
 */
bool
ti_attnotnull_valid(Oid relid, AttrNumber attnum, bool attnotnull)
{
#if PG_VERSION_NUM >= 180000
	HeapTuple	tup;
	bool		valid;

	if (!attnotnull)
		return false;
	tup = findNotNullConstraintAttnum(relid, attnum);
	if (!HeapTupleIsValid(tup))
		return true;			/* a primary key's column */
	valid = ((Form_pg_constraint) GETSTRUCT(tup))->convalidated;
	heap_freetuple(tup);
	return valid;
#else
	return attnotnull;
#endif
}

/* A column's statistics target (-1: the default) from its pg_attribute tuple. */
int
ti_att_stattarget(HeapTuple atttup)
{
#if PG_VERSION_NUM >= 170000
	bool		isnull;
	Datum		d = SysCacheGetAttr(ATTNUM, atttup, Anum_pg_attribute_attstattarget, &isnull);

	return isnull ? -1 : DatumGetInt16(d);
#else
	return ((Form_pg_attribute) GETSTRUCT(atttup))->attstattarget;
#endif
}

/* Run a query to its end, forward. */
void
ti_executor_run_all(QueryDesc *queryDesc)
{
#if PG_VERSION_NUM >= 180000
	ExecutorRun(queryDesc, ForwardScanDirection, 0);
#else
	ExecutorRun(queryDesc, ForwardScanDirection, 0, true);
#endif
}

/*
 * Did the row NextCopyFrom() just read have a soft error that ON_ERROR
 * ignore skips?  Then get ready for the next row, as CopyFrom() does (from
 * 18 on: more than REJECT_LIMIT such rows fail the COPY).
 */
bool
ti_copy_row_skipped(CopyFromState cstate)
{
#if PG_VERSION_NUM >= 170000
	if (cstate->opts.on_error == COPY_ON_ERROR_STOP || cstate->escontext == NULL ||
		!cstate->escontext->error_occurred)
		return false;
	cstate->escontext->error_occurred = false;
	pgstat_progress_update_param(PROGRESS_COPY_TUPLES_SKIPPED, cstate->num_errors);
#if PG_VERSION_NUM >= 180000
	if (cstate->opts.reject_limit > 0 && cstate->num_errors > cstate->opts.reject_limit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("skipped more than REJECT_LIMIT (%lld) rows due to data type incompatibility",
						(long long) cstate->opts.reject_limit)));
#endif
	return true;
#else
	return false;
#endif
}

/* The NOTICE that closes a COPY whose ON_ERROR ignore skipped rows, as CopyFrom() sends it. */
void
ti_copy_report_skipped(CopyFromState cstate)
{
#if PG_VERSION_NUM >= 170000
	if (cstate->opts.on_error == COPY_ON_ERROR_STOP || cstate->num_errors == 0)
		return;
#if PG_VERSION_NUM >= 180000
	if (cstate->opts.log_verbosity < COPY_LOG_VERBOSITY_DEFAULT)
		return;
#endif
	ereport(NOTICE,
			errmsg_plural("%llu row was skipped due to data type incompatibility",
						  "%llu rows were skipped due to data type incompatibility",
						  (unsigned long long) cstate->num_errors,
						  (unsigned long long) cstate->num_errors));
#endif
}

/* Was the relation created, or given new storage, in the current subtransaction? */
bool
ti_rel_storage_new_in_subxact(Relation rel)
{
	SubTransactionId mine = GetCurrentSubTransactionId();

#if PG_VERSION_NUM >= 160000
	return rel->rd_createSubid == mine || rel->rd_newRelfilelocatorSubid == mine;
#else
	return rel->rd_createSubid == mine || rel->rd_newRelfilenodeSubid == mine;
#endif
}
