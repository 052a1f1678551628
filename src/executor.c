/*-------------------------------------------------------------------------
 * src/executor.c
 *		Per-statement enforcement: the missing-tenant check and the tracking
 *		of statements that read or write tenant tables.
 *
 * Invariants:
 *	- A statement whose plan reads or writes a tenant table, run by a role
 *	  that row level security applies to, fails at ExecutorStart when no
 *	  tenant is set (unless tenant_iso.missing_context = 'empty').  The check
 *	  looks at the plan's range table, so it fails the same way whether the
 *	  table is empty or not and whatever plan was chosen.
 *	- Every executor is listed in open_execs from ExecutorStart to
 *	  ExecutorEnd, with the tenant it started under, whether it reads tenant
 *	  tables itself ("direct") or ran a nested statement that did ("tainted":
 *	  e.g. a cursor over a set-returning function), and whether it is inside
 *	  ExecutorRun now.  context.c refuses a tenant switch while a direct
 *	  executor runs, or while a direct or tainted one is open but suspended
 *	  (a cursor between fetches).  ExecutorRun refuses to go on when the
 *	  tenant changed by a route without check hook (RESET, a role default).
 *	  Entries of an aborted (sub)transaction are dropped by the transaction
 *	  callbacks, because ExecutorEnd is not called for a failed portal.
 *	- A WITH HOLD cursor over tenant rows may not outlive the tenant it read
 *	  them under: its commit fails when the tenant reverts at commit
 *	  (SET LOCAL) or context_scope is 'transaction'.
 *	- A "tenant table" is a table with row level security enabled and a
 *	  policy named tenant_isolation: read from the relcache, no catalog scan.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "nodes/params.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "rewrite/rowsecurity.h"
#include "utils/memutils.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "compat.h"
#include "tenant_iso.h"

typedef struct OpenExec
{
	QueryDesc  *queryDesc;
	SubTransactionId subid;
	bool		direct;			/* its own plan reads tenant tables (RLS applying) */
	bool		tainted;		/* a nested statement read tenant tables */
	int			running;		/* inside ExecutorRun */
	bool		tenant_valid;	/* the tenant it started under */
	pg_uuid_t	tenant;
} OpenExec;

static OpenExec *open_execs = NULL;
static int	n_open_execs = 0;
static int	max_open_execs = 0;

/* Holdable cursors persisted while holding tenant rows (see ti_ExecutorEnd). */
typedef struct HeldCursor
{
	Portal		portal;
	char		name[NAMEDATALEN];
	bool		checked;		/* its commit has been checked */
	bool		tenant_valid;	/* the tenant its rows belong to */
	pg_uuid_t	tenant;
} HeldCursor;

static HeldCursor *held_cursors = NULL;
static int	n_held_cursors = 0;
static int	max_held_cursors = 0;

int			ti_explain_analyze_depth = 0;
int			ti_matview_depth = 0;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;

bool
ti_relation_is_tenant_table(Relation rel)
{
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity || rel->rd_rsdesc == NULL)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *policy = (RowSecurityPolicy *) lfirst(lc);

		if (strcmp(policy->policy_name, TI_ISOLATION_POLICY) == 0)
			return true;
	}
	return false;
}

bool
ti_relid_is_tenant_table(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		result;

	if (!RelationIsValid(rel))
		return false;
	result = ti_relation_is_tenant_table(rel);
	RelationClose(rel);
	return result;
}

/* Does row level security apply to the given role (or the current one) for relid? */
bool
ti_rls_applies(Oid relid, Oid checkAsUser)
{
	return check_enable_rls(relid, checkAsUser, true) == RLS_ENABLED;
}

/*
 * Does the plan read or write a tenant table with row level security
 * applying?  Only RTE_RELATION entries of ordinary and partitioned tables
 * are looked at.
 */
static bool
plan_uses_tenant_tables(PlannedStmt *stmt)
{
	ListCell   *lc;
	int			rti = 0;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		rti++;
		if (rte->rtekind != RTE_RELATION)
			continue;
		if (rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE)
			continue;
		if (!ti_relid_is_tenant_table(rte->relid))
			continue;
		if (ti_rls_applies(rte->relid, ti_rte_check_as_user(stmt, rte)))
			return true;
	}
	return false;
}

static bool
same_tenant(bool valid, const pg_uuid_t *uuid)
{
	const pg_uuid_t *now = ti_current_tenant();

	if (now == NULL || !valid)
		return now == NULL && !valid;
	return memcmp(now, uuid, sizeof(pg_uuid_t)) == 0;
}

static void
track_exec(QueryDesc *queryDesc, bool direct)
{
	const pg_uuid_t *tenant = ti_current_tenant();
	OpenExec   *e;
	int			i;

	if (n_open_execs >= max_open_execs)
	{
		int			newmax = max_open_execs == 0 ? 8 : max_open_execs * 2;

		if (open_execs == NULL)
			open_execs = MemoryContextAlloc(TopMemoryContext, newmax * sizeof(OpenExec));
		else
			open_execs = repalloc(open_execs, newmax * sizeof(OpenExec));
		max_open_execs = newmax;
	}
	/* the executors around a statement on tenant tables consume tenant rows */
	if (direct)
		for (i = 0; i < n_open_execs; i++)
			open_execs[i].tainted = true;
	e = &open_execs[n_open_execs++];
	e->queryDesc = queryDesc;
	e->subid = GetCurrentSubTransactionId();
	e->direct = direct;
	e->tainted = false;
	e->running = 0;
	e->tenant_valid = tenant != NULL;
	if (tenant != NULL)
		e->tenant = *tenant;
}

static OpenExec *
find_exec(QueryDesc *queryDesc)
{
	int			i;

	for (i = n_open_execs - 1; i >= 0; i--)
		if (open_execs[i].queryDesc == queryDesc)
			return &open_execs[i];
	return NULL;
}

/* Remove the entry; returns whether it had read tenant rows. */
static bool
untrack_exec(QueryDesc *queryDesc)
{
	OpenExec   *e = find_exec(queryDesc);
	bool		tenant_rows;
	int			i;

	if (e == NULL)
		return false;
	tenant_rows = e->direct || e->tainted;
	i = e - open_execs;
	memmove(&open_execs[i], &open_execs[i + 1], (n_open_execs - i - 1) * sizeof(OpenExec));
	n_open_execs--;
	return tenant_rows;
}

/*
 * Is a statement on tenant tables running, or a cursor holding tenant rows
 * open?  Held cursors that were closed since are forgotten here.
 */
bool
ti_tenant_statement_running(void)
{
	int			i,
				j = 0;

	for (i = 0; i < n_open_execs; i++)
	{
		OpenExec   *e = &open_execs[i];

		if (e->direct && e->running > 0)
			return true;
		if ((e->direct || e->tainted) && e->running == 0)
			return true;
	}
	for (i = 0; i < n_held_cursors; i++)
	{
		if (GetPortalByName(held_cursors[i].name) == held_cursors[i].portal)
			held_cursors[j++] = held_cursors[i];
	}
	n_held_cursors = j;
	return n_held_cursors > 0;
}

/*
 * PersistHoldablePortal() runs a WITH HOLD cursor's executor to completion at
 * commit and ends it with ActivePortal set to the cursor: remember such a
 * cursor, since its stored rows belong to the tenant of that moment.
 */
static void
note_held_cursor(bool tenant_valid, const pg_uuid_t *tenant)
{
	Portal		portal = ActivePortal;

	if (portal == NULL || (portal->cursorOptions & CURSOR_OPT_HOLD) == 0 ||
		portal->holdStore == NULL || portal->name == NULL)
		return;
	if (n_held_cursors >= max_held_cursors)
	{
		int			newmax = max_held_cursors == 0 ? 4 : max_held_cursors * 2;

		if (held_cursors == NULL)
			held_cursors = MemoryContextAlloc(TopMemoryContext, newmax * sizeof(HeldCursor));
		else
			held_cursors = repalloc(held_cursors, newmax * sizeof(HeldCursor));
		max_held_cursors = newmax;
	}
	held_cursors[n_held_cursors].portal = portal;
	strlcpy(held_cursors[n_held_cursors].name, portal->name, NAMEDATALEN);
	held_cursors[n_held_cursors].checked = false;
	held_cursors[n_held_cursors].tenant_valid = tenant_valid;
	if (tenant_valid)
		held_cursors[n_held_cursors].tenant = *tenant;
	n_held_cursors++;
}

/*
 * Fill the executor parameter that planner.c put in place of
 * current_org_id() in plan filters: once per execution, before any row is
 * read (ExecInitNode evaluates no filter).  In parallel workers this runs
 * too, with the tenant setting the leader passed on.
 */
static void
fill_tenant_param(QueryDesc *queryDesc)
{
	int			id = ti_tenant_param_id(queryDesc->plannedstmt);
	ParamExecData *prm;
	const pg_uuid_t *tenant;

	if (id < 0 || queryDesc->estate == NULL || queryDesc->estate->es_param_exec_vals == NULL)
		return;
	prm = &queryDesc->estate->es_param_exec_vals[id];
	prm->execPlan = NULL;
	tenant = ti_current_tenant();
	if (tenant == NULL)
	{
		prm->value = (Datum) 0;
		prm->isnull = true;
	}
	else
	{
		pg_uuid_t  *copy = MemoryContextAlloc(queryDesc->estate->es_query_cxt, sizeof(pg_uuid_t));

		*copy = *tenant;
		prm->value = UUIDPGetDatum(copy);
		prm->isnull = false;
	}
}

/* Does the plan read a tenant table at all (whoever runs it)? */
static bool
plan_reads_tenant_tables(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION &&
			(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_PARTITIONED_TABLE) &&
			ti_relid_is_tenant_table(rte->relid))
			return true;
	}
	return false;
}

static void
ti_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		tenant_stmt = false;

	/*
	 * A materialized view is computed once, by one role, and shown to all:
	 * none may be filled from tenant tables, also not through a function.
	 */
	if (ti_matview_depth > 0 && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		plan_reads_tenant_tables(queryDesc->plannedstmt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialized views cannot be filled from tenant tables"),
				 errdetail("Their contents would be computed once, by one role, and shown to every tenant."),
				 errhint("Use a view, or a tenant table filled by your application.")));

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		plan_uses_tenant_tables(queryDesc->plannedstmt))
	{
		tenant_stmt = true;
		if (ti_explain_analyze_depth > 0 && !ti_allow_explain_analyze())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("EXPLAIN ANALYZE of statements on tenant tables is not allowed for this role"),
					 errdetail("Its row counts (\"Rows Removed by Filter\") count rows of other tenants."),
					 errhint("Use plain EXPLAIN, or ask a superuser to set tenant_iso.allow_explain_analyze for a trusted role.")));
		switch (ti_tenant_state())
		{
			case TI_TENANT_OK:
				break;
			case TI_TENANT_UNSIGNED:
				ereport(ERROR,
						(errcode(ERRCODE_TI_NO_TENANT),
						 errmsg("the tenant context was not set by tenant_iso.authenticate()"),
						 errdetail("tenant_iso.require_signed_context is on for this role, so only a verified token sets the tenant."),
						 errhint("Call SELECT tenant_iso.authenticate('<token>') first.")));
				break;
			case TI_TENANT_NONE:
			case TI_TENANT_STALE:
				if (ti_missing_context() == TI_MISSING_ERROR)
					ereport(ERROR,
							(errcode(ERRCODE_TI_NO_TENANT),
							 errmsg("no tenant is set for this statement on tenant tables"),
							 ti_tenant_state() == TI_TENANT_STALE ?
							 errdetail("tenant_iso.context_scope is \"transaction\" and the tenant was set in an earlier transaction.") :
							 errdetail("Rows of tenant tables belong to one organization each; without a tenant the statement cannot be scoped."),
							 ti_context_scope() == TI_SCOPE_TRANSACTION ?
							 errhint("Run SET LOCAL tenant.org_id = '<organization uuid>' (or set_config('tenant.org_id', ..., true)) in this transaction first.") :
							 errhint("Run SET tenant.org_id = '<organization uuid>' (or SET LOCAL, or set_config()) first.")));
				break;
		}
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		track_exec(queryDesc, tenant_stmt);
	fill_tenant_param(queryDesc);
}

/*
 * Refuse to go on serving rows read under another tenant (a cursor whose
 * tenant changed through RESET or a role default, which run no check hook),
 * and note that this executor runs.
 */
static void
ti_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	OpenExec   *e = find_exec(queryDesc);

	if (e != NULL && (e->direct || e->tainted) && !same_tenant(e->tenant_valid, &e->tenant))
		ereport(ERROR,
				(errcode(ERRCODE_TI_TENANT_SWITCH),
				 errmsg("the tenant changed since this statement or cursor started"),
				 errdetail("Its rows were read for another tenant context."),
				 errhint("Close the cursor and open it again under the current tenant.")));
	if (e != NULL)
		e->running++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		/* the entry may have moved: look it up again */
		e = find_exec(queryDesc);
		if (e != NULL && e->running > 0)
			e->running--;
	}
	PG_END_TRY();
}

static void
ti_ExecutorEnd(QueryDesc *queryDesc)
{
	OpenExec   *e = n_open_execs > 0 ? find_exec(queryDesc) : NULL;

	if (e != NULL)
	{
		bool		valid = e->tenant_valid;
		pg_uuid_t	tenant = e->tenant;

		if (untrack_exec(queryDesc))
			note_held_cursor(valid, &tenant);
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
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
	int			i;
	bool		after_valid;
	pg_uuid_t	after;

	for (i = 0; i < n_held_cursors; i++)
	{
		HeldCursor *h = &held_cursors[i];
		bool		same;

		if (h->checked)
			continue;
		h->checked = true;
		ti_tenant_after_commit(&after_valid, &after);
		same = (after_valid == h->tenant_valid) &&
			(!after_valid || memcmp(&after, &h->tenant, sizeof(pg_uuid_t)) == 0);
		if (!same || ti_context_scope() == TI_SCOPE_TRANSACTION)
		{
			Portal		portal = GetPortalByName(h->name);

			/*
			 * The cursor was already made to survive the transaction: drop it
			 * before the error aborts the commit, or it would outlive both.
			 */
			if (portal == h->portal && portal->status != PORTAL_ACTIVE)
				PortalDrop(portal, false);
			ereport(ERROR,
					(errcode(ERRCODE_TI_TENANT_SWITCH),
					 errmsg("WITH HOLD cursor \"%s\" over tenant rows cannot outlive its tenant context", h->name),
					 errdetail("The tenant it read its rows under ends with this transaction."),
					 errhint("Close the cursor before COMMIT, or set the tenant for the session (SET, not SET LOCAL).")));
		}
	}
}

static void
ti_xact_callback(XactEvent event, void *arg)
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
			n_open_execs = 0;
			ti_explain_analyze_depth = 0;
			ti_matview_depth = 0;
			ti_in_internal_ddl = false;
			break;
		default:
			break;
	}
}

static void
ti_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		int			i,
					j = 0;

		for (i = 0; i < n_open_execs; i++)
		{
			if (open_execs[i].subid < mySubid)
				open_execs[j++] = open_execs[i];
		}
		n_open_execs = j;
	}
}

void
ti_executor_init(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ti_ExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ti_ExecutorEnd;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = ti_ExecutorRun;
	RegisterXactCallback(ti_xact_callback, NULL);
	RegisterSubXactCallback(ti_subxact_callback, NULL);
}
