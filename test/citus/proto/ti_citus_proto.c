/*
 * test/citus/proto/ti_citus_proto.c: a throw-away EXPERIMENT behind docs/citus-notes.md,
 * section 5 ("Prototype"). Not part of tenant_iso and not built by anything in the repository.
 * It exists to show, on Citus 13.2.2 + PostgreSQL 15, that four mechanisms work; the real
 * implementation belongs in tenant_iso's own hooks (src/planner.c, src/executor.c,
 * src/guard.c, src/context.c).
 *
 * Build and load (after tenant_iso, so that its hooks run first):
 *   printf 'MODULE_big = ti_citus_proto\nOBJS = ti_citus_proto.o\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' > Makefile
 *   make PG_CONFIG=<private pg_config> install
 *   shared_preload_libraries = 'citus,tenant_iso,ti_citus_proto'   (on every node)
 *
 *  1. planner hook (outermost, runs before tenant_iso's and Citus's): adds
 *     "<rte>.organization_id = '<tenant>'::uuid" (a Const) for every tenant table that
 *     row level security applies to (WHERE for non-nullable RTEs, the outer join's ON
 *     clause for nullable ones; the UPDATE/DELETE target too), in every subquery/CTE, so
 *     that Citus's router/fast-path planner prunes to the tenant's shard.
 *  2. the plan gets a PlanInvalItem on tenant_iso.current_org_id() (PROCOID); a change of
 *     tenant.org_id (tenant_iso's assign hook, wrapped here) calls
 *     CallSyscacheCallbacks(PROCOID, hash), so cached generic plans are replanned with the
 *     new tenant instead of routing to the old tenant's shard.
 *  3. ExecutorStart: for a plan with a Citus custom scan, UseCoordinatedTransaction() (so
 *     Citus opens remote transaction blocks even for autocommit statements) and Citus's own
 *     PostprocessVariableSetStmt() with "SET LOCAL tenant.org_id TO '<tenant>';" (sent to the
 *     remote transactions already open and appended to activeSetStmts, which
 *     StartRemoteTransactionBegin() replays after every BEGIN).
 *  4. ProcessUtility: CREATE POLICY tenant_isolation arriving without AS RESTRICTIVE (Citus's
 *     policy deparser drops it) is made restrictive before it runs.
 * GUCs ti_proto.inject / invalidate / propagate / fix_policy (default on) switch each off.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "tcop/utility.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "nodes/extensible.h"
#include "common/string.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "rewrite/rowsecurity.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

PG_MODULE_MAGIC;

void _PG_init(void);

#define UUID_EQ_OPERATOR 2972

static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static bool opt_fix_policy = true;
static bool opt_inject = true;
static bool opt_invalidate = true;
static bool opt_propagate = true;
static GucStringAssignHook orig_assign = NULL;
static char last_tenant[64] = "";

/* Citus internals, resolved at first use */
static StringInfo *citus_activeSetStmts = NULL;
static void (*citus_UseCoordinatedTransaction) (void) = NULL;
static void (*citus_PostprocessVariableSetStmt) (VariableSetStmt *, const char *) = NULL;

static Oid
tenant_func_oid(void)
{
	return LookupFuncName(list_make2(makeString("tenant_iso"), makeString("current_org_id")), 0, NULL, true);
}

static const char *
current_tenant(void)
{
	const char *v = GetConfigOption("tenant.org_id", true, false);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

static bool
is_tenant_table(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		result = false;
	ListCell   *lc;

	if (!RelationIsValid(rel))
		return false;
	if (rel->rd_rel->relrowsecurity && rel->rd_rsdesc != NULL)
		foreach(lc, rel->rd_rsdesc->policies)
			if (strcmp(((RowSecurityPolicy *) lfirst(lc))->policy_name, "tenant_isolation") == 0)
				result = true;
	RelationClose(rel);
	return result && check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED;
}

typedef struct InjectCxt
{
	Query	   *query;
	Datum		tenant;
	bool		injected;
} InjectCxt;

static Node *
tenant_qual(InjectCxt *cxt, Index rti)
{
	RangeTblEntry *rte = rt_fetch(rti, cxt->query->rtable);
	AttrNumber	att = get_attnum(rte->relid, "organization_id");
	Var		   *var;
	Const	   *c;
	OpExpr	   *op;

	if (att == InvalidAttrNumber || get_atttype(rte->relid, att) != UUIDOID)
		return NULL;
	var = makeVar(rti, att, UUIDOID, -1, InvalidOid, 0);
	c = makeConst(UUIDOID, -1, InvalidOid, UUID_LEN, cxt->tenant, false, false);
	op = (OpExpr *) make_opclause(UUID_EQ_OPERATOR, BOOLOID, false, (Expr *) var, (Expr *) c,
								  InvalidOid, InvalidOid);
	set_opfuncid(op);
	cxt->injected = true;
	return (Node *) op;
}

static void
add_qual(Node **target, Node *qual)
{
	if (qual == NULL)
		return;
	if (*target == NULL)
		*target = qual;
	else if (IsA(*target, List))
		*target = (Node *) lappend((List *) *target, qual);
	else
		*target = (Node *) make_andclause(list_make2(*target, qual));
}

/* target: where quals for RTEs below this node go (WHERE, or an outer join's ON) */
static void
inject_jointree(InjectCxt *cxt, Node *node, Node **target)
{
	if (node == NULL)
		return;
	if (IsA(node, RangeTblRef))
	{
		Index		rti = ((RangeTblRef *) node)->rtindex;
		RangeTblEntry *rte = rt_fetch(rti, cxt->query->rtable);

		if (rte->rtekind == RTE_RELATION && is_tenant_table(rte->relid))
			add_qual(target, tenant_qual(cxt, rti));
	}
	else if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			inject_jointree(cxt, lfirst(lc), target);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) node;
		Node	  **ltarget = target;
		Node	  **rtarget = target;

		if (j->jointype == JOIN_LEFT || j->jointype == JOIN_FULL || j->jointype == JOIN_ANTI)
			rtarget = &j->quals;
		if (j->jointype == JOIN_RIGHT || j->jointype == JOIN_FULL)
			ltarget = &j->quals;
		inject_jointree(cxt, j->larg, ltarget);
		inject_jointree(cxt, j->rarg, rtarget);
	}
}

static bool inject_walker(Node *node, void *context);

static void
inject_query(Query *q, Datum tenant, bool *injected)
{
	InjectCxt	cxt = {q, tenant, false};

	/* subqueries in FROM, CTEs and sublinks first */
	query_tree_walker(q, inject_walker, injected, 0);
	if (q->jointree == NULL)
		return;
	inject_jointree(&cxt, (Node *) q->jointree, &q->jointree->quals);
	if ((q->commandType == CMD_UPDATE || q->commandType == CMD_DELETE) && q->resultRelation > 0)
	{
		RangeTblEntry *rte = rt_fetch(q->resultRelation, q->rtable);

		if (is_tenant_table(rte->relid))
			add_qual(&q->jointree->quals, tenant_qual(&cxt, q->resultRelation));
	}
	if (cxt.injected)
		*injected = true;
}

static bool
inject_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		const char *t = current_tenant();

		if (t != NULL)
			inject_query((Query *) node, DirectFunctionCall1(uuid_in, CStringGetDatum(t)), (bool *) context);
		return false;
	}
	return expression_tree_walker(node, inject_walker, context);
}

static PlannedStmt *
proto_planner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	bool		injected = false;
	PlannedStmt *stmt;
	const char *t = current_tenant();

	if (opt_inject && t != NULL && parse->commandType != CMD_UTILITY && IsTransactionState())
		inject_query(parse, DirectFunctionCall1(uuid_in, CStringGetDatum(t)), &injected);
	stmt = prev_planner ? prev_planner(parse, query_string, cursorOptions, boundParams)
		: standard_planner(parse, query_string, cursorOptions, boundParams);
	if (injected && opt_invalidate)
	{
		Oid			f = tenant_func_oid();

		if (OidIsValid(f))
		{
			PlanInvalItem *item = makeNode(PlanInvalItem);

			item->cacheId = PROCOID;
			item->hashValue = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(f));
			stmt->invalItems = lappend(stmt->invalItems, item);
		}
	}
	return stmt;
}

/* wraps tenant_iso's assign hook: a new tenant invalidates plans that carry the old one */
static void
proto_assign(const char *newval, void *extra)
{
	if (orig_assign)
		orig_assign(newval, extra);
	if (strncmp(last_tenant, newval ? newval : "", sizeof(last_tenant)) != 0)
	{
		strlcpy(last_tenant, newval ? newval : "", sizeof(last_tenant));
		if (opt_invalidate && IsTransactionState())
		{
			Oid			f = tenant_func_oid();

			if (OidIsValid(f))
				CallSyscacheCallbacks(PROCOID, GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(f)));
		}
	}
}

static bool
plan_has_citus_scan(Plan *plan)
{
	if (plan == NULL)
		return false;
	if (IsA(plan, CustomScan) && ((CustomScan *) plan)->methods != NULL &&
		strncmp(((CustomScan *) plan)->methods->CustomName, "Citus", 5) == 0)
		return true;
	return plan_has_citus_scan(plan->lefttree) || plan_has_citus_scan(plan->righttree);
}

static void
proto_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	const char *t = current_tenant();

	if (opt_propagate && t != NULL && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		plan_has_citus_scan(queryDesc->plannedstmt->planTree))
	{
		char		cmd[128];

		if (citus_activeSetStmts == NULL)
		{
			citus_activeSetStmts = (StringInfo *) load_external_function("$libdir/citus", "activeSetStmts", true, NULL);
			citus_UseCoordinatedTransaction = (void (*) (void)) load_external_function("$libdir/citus", "UseCoordinatedTransaction", true, NULL);
			citus_PostprocessVariableSetStmt = (void (*) (VariableSetStmt *, const char *)) load_external_function("$libdir/citus", "PostprocessVariableSetStmt", true, NULL);
		}
		snprintf(cmd, sizeof(cmd), "SET LOCAL tenant.org_id TO '%s';", t);
		if (*citus_activeSetStmts == NULL || !pg_str_endswith((*citus_activeSetStmts)->data, cmd))
		{
			/*
			 * Citus's own SET LOCAL propagation: sends the command to every remote
			 * transaction already in progress and appends it to activeSetStmts, which
			 * StartRemoteTransactionBegin() replays after BEGIN on new connections.
			 */
			VariableSetStmt *vs = makeNode(VariableSetStmt);

			vs->kind = VAR_SET_VALUE;
			vs->name = "tenant.org_id";
			vs->is_local = true;
			citus_PostprocessVariableSetStmt(vs, cmd);
		}
		citus_UseCoordinatedTransaction();
	}
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* 4. CREATE POLICY tenant_isolation arriving without AS RESTRICTIVE (Citus's deparser) becomes restrictive */
static void
proto_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (opt_fix_policy && IsA(pstmt->utilityStmt, CreatePolicyStmt) &&
		strcmp(((CreatePolicyStmt *) pstmt->utilityStmt)->policy_name, "tenant_isolation") == 0 &&
		((CreatePolicyStmt *) pstmt->utilityStmt)->permissive)
	{
		if (readOnlyTree)
		{
			pstmt = copyObject(pstmt);
			readOnlyTree = false;
		}
		((CreatePolicyStmt *) pstmt->utilityStmt)->permissive = false;
		elog(LOG, "ti_citus_proto: made policy tenant_isolation on %s restrictive (app %s)",
			 ((CreatePolicyStmt *) pstmt->utilityStmt)->table->relname, application_name);
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

void
_PG_init(void)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	DefineCustomBoolVariable("ti_proto.inject", "", NULL, &opt_inject, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("ti_proto.invalidate", "", NULL, &opt_invalidate, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("ti_proto.propagate", "", NULL, &opt_propagate, true, PGC_USERSET, 0, NULL, NULL, NULL);
	for (i = 0; i < n; i++)
		if (strcmp(vars[i]->name, "tenant.org_id") == 0 && vars[i]->vartype == PGC_STRING)
		{
			struct config_string *s = (struct config_string *) vars[i];

			orig_assign = s->assign_hook;
			s->assign_hook = proto_assign;
		}
	if (orig_assign == NULL)
		elog(WARNING, "ti_citus_proto: tenant.org_id not found (load it after tenant_iso)");
	prev_planner = planner_hook;
	planner_hook = proto_planner;
	DefineCustomBoolVariable("ti_proto.fix_policy", "", NULL, &opt_fix_policy, true, PGC_USERSET, 0, NULL, NULL, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = proto_ProcessUtility;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = proto_ExecutorStart;
}
