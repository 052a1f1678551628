/*-------------------------------------------------------------------------
 * src/executor.c
 *		Per-statement enforcement: the missing-tenant check, the tenant of
 *		each statement (recorded in inflight.c), the per-execution tenant
 *		parameter, and the checks that no statement or cursor goes on under
 *		another tenant than the one it started under.
 *
 * Invariants:
 *	- A statement whose plan reads or writes a tenant table, run by a role
 *	  that tenant scoping applies to, fails at ExecutorStart when no tenant
 *	  is in effect (unless tenant_iso.missing_context = 'empty').  The check
 *	  looks at the plan's range table, so it fails the same way whether the
 *	  table is empty or not and whatever plan was chosen.
 *	- The tenant parameter that planner.c put into plan filters is found by
 *	  identity (planner.c knows its marks) and always filled: with the
 *	  tenant in effect, or NULL.  A plan that may start parallel workers
 *	  hands them the same tenant first (context.c).
 *	- At every executor boundary (start, each run, finish) the tenant in
 *	  effect must still be that of every statement and cursor holding
 *	  tenant rows (TI002).  A WITH HOLD cursor over tenant rows may not
 *	  outlive the tenant it read them under: its commit fails when the
 *	  tenant reverts at commit (SET LOCAL) or context_scope is
 *	  'transaction'.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "parser/parsetree.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"

#include "compat.h"
#include "tenant_iso.h"

static bool allow_explain_analyze = false;

/* Set by the guard around EXPLAIN ANALYZE and materialized view statements. */
static int	explain_analyze_depth = 0;
static int	matview_depth = 0;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/* Is this range table entry an ordinary or partitioned tenant table? */
static bool
rte_is_tenant_table(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION &&
		(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_PARTITIONED_TABLE) &&
		ti_relid_is_tenant_table(rte->relid);
}

/*
 * The guard marks the statements it runs for EXPLAIN ANALYZE (refused on
 * tenant tables) and for materialized views (never filled from tenant
 * tables): delta +1 before, -1 after.
 */
void
ti_executor_mark(bool explain_analyze, bool matview, int delta)
{
	if (explain_analyze)
		explain_analyze_depth += delta;
	if (matview)
		matview_depth += delta;
}

/* Does the plan read or write a tenant table with tenant scoping applying? */
static bool
plan_scopes_tenant_tables(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte_is_tenant_table(rte) &&
			ti_tenant_scoping_applies(ti_rte_check_as_user(stmt, rte)))
			return true;
	}
	return false;
}

/* Does the plan read a tenant table at all (whoever runs it)? */
static bool
plan_reads_tenant_tables(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
		if (rte_is_tenant_table((RangeTblEntry *) lfirst(lc)))
			return true;
	return false;
}

/* Fill the plan's tenant parameter (if it has one): once per execution. */
static void
fill_tenant_param(QueryDesc *queryDesc, const TiTenant *tenant)
{
	int			id;
	ParamExecData *prm;

	if (queryDesc->estate == NULL || queryDesc->estate->es_param_exec_vals == NULL)
		return;
	id = ti_tenant_param_id(queryDesc->plannedstmt);
	if (id < 0)
		return;
	prm = &queryDesc->estate->es_param_exec_vals[id];
	prm->execPlan = NULL;
	if (!tenant->valid)
	{
		prm->value = (Datum) 0;
		prm->isnull = true;
	}
	else
	{
		pg_uuid_t  *copy = MemoryContextAlloc(queryDesc->estate->es_query_cxt, sizeof(pg_uuid_t));

		*copy = tenant->uuid;
		prm->value = UUIDPGetDatum(copy);
		prm->isnull = false;
	}
}

static void
refuse_matview_fill(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("materialized views cannot be filled from tenant tables"),
			 errdetail("Their contents would be computed once, by one role, and shown to every tenant."),
			 errhint("Use a view, or a tenant table filled by your application.")));
}

static void
refuse_explain_analyze(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("EXPLAIN ANALYZE of statements on tenant tables is not allowed for this role"),
			 errdetail("Its row counts (\"Rows Removed by Filter\") count rows of other tenants."),
			 errhint("Use plain EXPLAIN, or ask a superuser to set tenant_iso.allow_explain_analyze for a trusted role.")));
}

/* No tenant is in effect for a statement on tenant tables: TI001, unless 'empty'. */
static void
refuse_missing_tenant(void)
{
	TenantState state = ti_tenant_state();

	if (state == TI_TENANT_UNSIGNED)
		ereport(ERROR,
				(errcode(ERRCODE_TI_NO_TENANT),
				 errmsg("the tenant context was not set by tenant_iso.authenticate()"),
				 errdetail("tenant_iso.require_signed_context is on for this role, so only a verified token sets the tenant."),
				 errhint("Call SELECT tenant_iso.authenticate('<token>') first.")));
	if (ti_missing_context() == TI_MISSING_EMPTY)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_TI_NO_TENANT),
			 errmsg("no tenant is set for this statement on tenant tables"),
			 state == TI_TENANT_STALE ?
			 errdetail("tenant_iso.context_scope is \"transaction\" and the tenant was set in an earlier transaction.") :
			 errdetail("Rows of tenant tables belong to one organization each; without a tenant the statement cannot be scoped."),
			 ti_context_scope() == TI_SCOPE_TRANSACTION ?
			 errhint("Run SET LOCAL tenant.org_id = '<organization uuid>' (or set_config('tenant.org_id', ..., true)) in this transaction first.") :
			 errhint("Run SET tenant.org_id = '<organization uuid>' (or SET LOCAL, or set_config()) first.")));
}

/*
 * Inside a referential action run as a table's owner for another role, no
 * temporary relation may be used: only the caller could have put it there
 * (see ti_in_foreign_referential_action()).
 */
static void
refuse_temporary_relations(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION && get_rel_persistence(rte->relid) == RELPERSISTENCE_TEMP)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("cannot use temporary table %s inside a referential action", get_rel_name(rte->relid)),
					 errdetail("Referential actions run with the table owner's rights; a temporary table of the session there can only be the caller's, reached through an unqualified name."),
					 errhint("Qualify the names in trigger functions on tenant tables, or give them SET search_path = ..., pg_temp.")));
	}
}

/* The tenant tables a writing statement touches have deferred work of this tenant. */
static void
note_written_tables(PlannedStmt *stmt, const TiTenant *tenant)
{
	ListCell   *lc;

	if (stmt->commandType == CMD_SELECT)
		return;
	foreach(lc, stmt->rtable)
		if (rte_is_tenant_table((RangeTblEntry *) lfirst(lc)))
			ti_inflight_note_written(((RangeTblEntry *) lfirst(lc))->relid, tenant);
}

/*
 * Citus: the rows a statement inserts into a distributed tenant table are
 * written on the workers, where the shards' stamping triggers do not look at
 * the registry (stamp.c).  They can only be the tenant's (TI003 otherwise),
 * so the registry guard holds the tenant's lock here, on the coordinator,
 * where drop_organization() takes it, and checks the tenant is registered.
 * A table the statement inserts into is one its INSERT privilege is checked
 * on (INSERT, ON CONFLICT, MERGE, a data-modifying CTE): Citus's plans keep
 * the statement's range table, but not always its command or CTE flags.
 * UPDATE and DELETE write no row of another organization (Citus refuses
 * changes of the distribution column, the stamping trigger any other).
 */
static void
guard_distributed_inserts(PlannedStmt *stmt, const TiTenant *tenant)
{
	ListCell   *lc;

	if (!tenant->valid || stmt->commandType == CMD_UTILITY)
		return;			/* without a tenant, the shards refuse every row (TI003, NOT NULL) */
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte_is_tenant_table(rte) && (ti_rte_required_perms(stmt, rte) & ACL_INSERT) != 0 &&
			ti_citus_is_table(rte->relid))
		{
			ti_registry_protect(get_rel_name(rte->relid), &tenant->uuid);
			return;				/* one lock and one check for the tenant */
		}
	}
}

/*
 * Does a DELETE or MERGE delete rows of the registry?  Citus's plans of a
 * statement on its tables have no result relations, but keep the
 * statement's range table, with the DELETE privilege its target requires.
 */
static bool
deletes_registry_rows(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (stmt->commandType != CMD_DELETE && stmt->commandType != CMD_MERGE)
		return false;
	foreach(lc, stmt->resultRelations)
		if (rt_fetch(lfirst_int(lc), stmt->rtable)->relid == ti_registry_oid())
			return true;
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION && rte->relid == ti_registry_oid() &&
			(ti_rte_required_perms(stmt, rte) & ACL_DELETE) != 0)
			return true;
	}
	return false;
}

/*
 * The checks before a statement starts: no materialized view is filled from
 * tenant tables, no temporary table is used in a foreign referential action,
 * and a statement on tenant tables has a tenant.  Returns whether the
 * statement reads or writes tenant tables with scoping applying.
 */
static bool
check_before_start(PlannedStmt *stmt, const TiTenant *tenant)
{
	if (deletes_registry_rows(stmt))
		ti_registry_check_write(stmt->commandType);
	if (matview_depth > 0 && plan_reads_tenant_tables(stmt))
		refuse_matview_fill();
	if (ti_in_foreign_referential_action())
		refuse_temporary_relations(stmt);
	if (!plan_scopes_tenant_tables(stmt))
		return false;
	if (explain_analyze_depth > 0 && !allow_explain_analyze)
		refuse_explain_analyze();
	if (!tenant->valid)
		refuse_missing_tenant();
	note_written_tables(stmt, tenant);
	guard_distributed_inserts(stmt, tenant);
	return true;
}

static void
ti_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		explain_only = (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0;
	bool		direct = false;
	TiTenant	tenant;

	ti_effective_tenant(&tenant);
	if (!explain_only)
	{
		ti_context_check_unchanged(NULL);
		direct = check_before_start(queryDesc->plannedstmt, &tenant);
		/* no statement reads rows of a tenant other than those around it consumed */
		if (direct)
			ti_context_check_unchanged(TI_ANY_TAINTED);
		/*
		 * Citus: every node runs the statement's shard queries under its
		 * tenant; also a table's owner's deleting for drop_organization()
		 * (organizations.c): outside tenant scoping here, as a referential
		 * action (SECURITY_NOFORCE_RLS), not on the workers.
		 */
		if (direct || (tenant.valid && InNoForceRLSOperation()))
			ti_citus_executor_start(queryDesc->plannedstmt, &tenant);
	}
	if (queryDesc->plannedstmt->parallelModeNeeded)
		ti_context_prepare_parallel(&tenant);

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (!explain_only)
		ti_inflight_start(queryDesc, direct, &tenant);
	fill_tenant_param(queryDesc, &tenant);
}

/*
 * Refuse to go on serving rows read under another tenant (a cursor whose
 * tenant changed by a route without check hook), and refuse a change made
 * while this run read tenant rows.
 */
static void
ti_ExecutorRun(TI_EXECUTOR_RUN_PARAMS)
{
	ti_context_check_unchanged(queryDesc);
	ti_inflight_run_begin(queryDesc);
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(TI_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(TI_EXECUTOR_RUN_ARGS);
	}
	PG_FINALLY();
	{
		ti_inflight_run_end(queryDesc);
	}
	PG_END_TRY();
	ti_context_check_unchanged(NULL);
}

/* AFTER triggers (referential actions among them) ran: the same checks. */
static void
ti_ExecutorFinish(QueryDesc *queryDesc)
{
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
	ti_context_check_unchanged(NULL);
	/* the statement's own trigger events are done or deferred now */
	if (ti_inflight_only(queryDesc))
		ti_context_check_deferred();
}

static void
ti_ExecutorEnd(QueryDesc *queryDesc)
{
	TiTenant	tenant;

	bool		parallel = queryDesc->plannedstmt->parallelModeNeeded;

	if (ti_inflight_end(queryDesc, &tenant))
		ti_inflight_note_held_cursor(&tenant);

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	if (parallel)
		ti_context_finish_parallel();
}

/*
 * At commit, WITH HOLD cursors persisted in this transaction must keep
 * serving the tenant that will be in effect afterwards: refuse the commit
 * when the tenant reverts (SET LOCAL, set_config(..., true)) or when
 * context_scope is 'transaction'.
 */
static void
check_held_cursors_at_commit(void)
{
	const char *name;
	TiTenant	tenant;
	TiTenant	after;
	Portal		portal;

	while (ti_inflight_next_unchecked_held(&name, &tenant, &portal))
	{
		ti_tenant_after_commit(&after);
		if (ti_tenant_equal(&after, &tenant) && ti_context_scope() != TI_SCOPE_TRANSACTION)
			continue;

		/*
		 * The cursor was already made to survive the transaction: drop it
		 * before the error aborts the commit, or it would outlive both.
		 */
		if (GetPortalByName(name) == portal && portal->status != PORTAL_ACTIVE)
		{
			char	   *copy = pstrdup(name);

			PortalDrop(portal, false);
			name = copy;
		}
		ereport(ERROR,
				(errcode(ERRCODE_TI_TENANT_SWITCH),
				 errmsg("WITH HOLD cursor \"%s\" over tenant rows cannot outlive its tenant context", name),
				 errdetail("The tenant it read its rows under ends with this transaction."),
				 errhint("Close the cursor before COMMIT, or set the tenant for the session (SET, not SET LOCAL).")));
	}
}

static void
executor_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			check_held_cursors_at_commit();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			explain_analyze_depth = 0;
			matview_depth = 0;
			break;
		default:
			break;
	}
}

void
ti_executor_init(void)
{
	DefineCustomBoolVariable("tenant_iso.allow_explain_analyze",
							 "Allows EXPLAIN ANALYZE on tenant tables for roles that row level security applies to.",
							 "Off (the default): refused, because its row counts (\"Rows Removed by Filter\") "
							 "count other tenants' rows. Grant it to trusted roles with ALTER ROLE ... SET.",
							 &allow_explain_analyze, false, PGC_SUSET, 0, NULL, NULL, NULL);
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ti_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = ti_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = ti_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ti_ExecutorEnd;
	RegisterXactCallback(executor_xact_callback, NULL);
}
