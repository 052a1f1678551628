/*-------------------------------------------------------------------------
 * src/citus_route.c
 *		Tenant-scoped queries on Citus: routed to the tenant's one shard, and
 *		the tenant sent along to every node they run on.
 *
 * Routing.  Citus prunes shards only by a comparison of the distribution
 * column with a constant or an external parameter in the query text.  A
 * tenant-scoped query names no organization_id, but every row it may see
 * has organization_id = the tenant in effect (row level security on every
 * shard), so adding "organization_id = '<tenant>'" for each distributed
 * tenant table the query scans changes no result and lets Citus route it to
 * the tenant's shard.  It is added where the rows are filtered: WHERE for
 * tables on the inner side of joins, the outer join's ON clause for
 * nullable ones, the target of UPDATE and DELETE, in every subquery, CTE and
 * sublink; never for the rows INSERT writes (the stamping trigger and the
 * policy's check do that).  A table the query already compares with a
 * constant or parameter keeps its own comparison (Citus's fast path needs
 * the column once).
 *
 * Plans carry the tenant as a constant, so each plan is tied to the tenant
 * setting (citus.c): any change of it replans cached plans before their next
 * use, generic plans of prepared statements included.
 *
 * Propagation.  Before a plan on distributed tenant tables starts, the
 * tenant in effect (or "no tenant") is sent to every remote transaction of
 * the statement, and Citus is made to open remote transaction blocks even in
 * autocommit, so that no shard query runs under another tenant or without
 * one: workers apply the same row level security and stamping, and fail
 * with TI001 without a tenant.  What is sent: citus_context.c.
 *
 * Invariants:
 *	- Only tables that are Citus tables and tenant tables with tenant
 *	  scoping applying get the comparison; results never change.
 *	- Every statement on distributed tenant tables sends the tenant it runs
 *	  under (or none) before any of its shard queries.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "tenant_iso.h"

/* uuid = uuid */
#define TI_OID_UUID_EQ_OP		2972

typedef struct RouteContext
{
	TiTenant	tenant;
	bool		routed;			/* the query scans a distributed tenant table */
} RouteContext;

/* Is this range table entry a distributed tenant table that tenant scoping applies to? */
static bool
is_distributed_tenant_rte(Query *query, RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION &&
		(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_PARTITIONED_TABLE) &&
		ti_relid_is_tenant_table(rte->relid) && ti_citus_is_table(rte->relid) &&
		ti_tenant_scoping_applies(ti_query_rte_check_as_user(query, rte));
}

/* Is clause "<rti>.organization_id = <Const or Param>" (either side)? */
static bool
compares_tenant_column(Node *clause, Index rti, AttrNumber att)
{
	OpExpr	   *op;
	Node	   *l,
			   *r;

	if (!IsA(clause, OpExpr) || list_length(((OpExpr *) clause)->args) != 2)
		return false;
	op = (OpExpr *) clause;
	l = strip_implicit_coercions(linitial(op->args));
	r = strip_implicit_coercions(lsecond(op->args));
	if (IsA(r, Var))
	{
		Node	   *t = l;

		l = r;
		r = t;
	}
	return IsA(l, Var) && ((Var *) l)->varno == rti && ((Var *) l)->varattno == att &&
		((Var *) l)->varlevelsup == 0 && (IsA(r, Const) || IsA(r, Param));
}

/* Does the top-level AND of quals compare rti's organization_id with a constant or parameter? */
static bool
quals_fix_tenant(Node *quals, Index rti, AttrNumber att)
{
	ListCell   *lc;

	if (quals == NULL)
		return false;
	if (IsA(quals, BoolExpr) && ((BoolExpr *) quals)->boolop == AND_EXPR)
	{
		foreach(lc, ((BoolExpr *) quals)->args)
			if (quals_fix_tenant((Node *) lfirst(lc), rti, att))
				return true;
		return false;
	}
	if (IsA(quals, List))
	{
		foreach(lc, (List *) quals)
			if (quals_fix_tenant((Node *) lfirst(lc), rti, att))
				return true;
		return false;
	}
	return compares_tenant_column(quals, rti, att);
}

/* "<rti>.organization_id = '<tenant>'::uuid" */
static Node *
tenant_constant_qual(Query *query, Index rti, const TiTenant *tenant)
{
	RangeTblEntry *rte = rt_fetch(rti, query->rtable);
	AttrNumber	att = get_attnum(rte->relid, TI_COLUMN);
	Oid			type;
	int32		typmod;
	Oid			coll;
	Expr	   *left;
	pg_uuid_t  *value;
	OpExpr	   *op;

	if (att == InvalidAttrNumber)
		return NULL;
	get_atttypetypmodcoll(rte->relid, att, &type, &typmod, &coll);
	if (getBaseType(type) != UUIDOID)
		return NULL;
	left = (Expr *) makeVar(rti, att, type, typmod, coll, 0);
	if (type != UUIDOID)
		left = (Expr *) makeRelabelType(left, UUIDOID, -1, InvalidOid, COERCE_IMPLICIT_CAST);
	value = palloc(sizeof(pg_uuid_t));
	*value = tenant->uuid;
	op = (OpExpr *) make_opclause(TI_OID_UUID_EQ_OP, BOOLOID, false, left,
								  (Expr *) makeConst(UUIDOID, -1, InvalidOid, UUID_LEN,
													 UUIDPGetDatum(value), false, false),
								  InvalidOid, InvalidOid);
	set_opfuncid(op);
	return (Node *) op;
}

/* AND qual into *target (a qual tree or an implicit-AND list). */
static void
add_qual(Node **target, Node *qual)
{
	if (qual == NULL)
		return;
	if (*target == NULL)
		*target = qual;
	else if (IsA(*target, List))
		*target = (Node *) lappend((List *) *target, qual);
	else if (IsA(*target, BoolExpr) && ((BoolExpr *) *target)->boolop == AND_EXPR)
		((BoolExpr *) *target)->args = lappend(((BoolExpr *) *target)->args, qual);
	else
		*target = (Node *) make_andclause(list_make2(*target, qual));
}

/* The tenant comparison of rti, into *target, unless the query already fixes it. */
static void
route_rti(Query *query, Index rti, Node **target, RouteContext *cxt)
{
	RangeTblEntry *rte = rt_fetch(rti, query->rtable);

	if (!is_distributed_tenant_rte(query, rte))
		return;
	cxt->routed = true;
	if (!cxt->tenant.valid ||
		quals_fix_tenant(query->jointree->quals, rti, get_attnum(rte->relid, TI_COLUMN)))
		return;
	add_qual(target, tenant_constant_qual(query, rti, &cxt->tenant));
}

/* target: where the conditions of the tables below this join tree node go. */
static void
route_jointree(Query *query, Node *node, Node **target, RouteContext *cxt)
{
	ListCell   *lc;

	if (node == NULL)
		return;
	if (IsA(node, RangeTblRef))
		route_rti(query, ((RangeTblRef *) node)->rtindex, target, cxt);
	else if (IsA(node, FromExpr))
	{
		foreach(lc, ((FromExpr *) node)->fromlist)
			route_jointree(query, (Node *) lfirst(lc), target, cxt);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) node;
		Node	  **left = target;
		Node	  **right = target;

		/* a nullable side's rows are filtered by the join condition, not WHERE */
		if (j->jointype == JOIN_LEFT || j->jointype == JOIN_FULL || j->jointype == JOIN_ANTI)
			right = &j->quals;
		if (j->jointype == JOIN_RIGHT || j->jointype == JOIN_FULL)
			left = &j->quals;
		route_jointree(query, j->larg, left, cxt);
		route_jointree(query, j->rarg, right, cxt);
	}
}

static bool route_walker(Node *node, void *context);

static void
route_one_query(Query *query, RouteContext *cxt)
{
	(void) query_tree_walker(query, route_walker, (void *) cxt, 0);
	if (query->jointree == NULL)
		return;
	route_jointree(query, (Node *) query->jointree, &query->jointree->quals, cxt);
	/* the target of UPDATE and DELETE is not in the join tree */
	if ((query->commandType == CMD_UPDATE || query->commandType == CMD_DELETE) &&
		query->resultRelation > 0)
		route_rti(query, query->resultRelation, &query->jointree->quals, cxt);
}

static bool
route_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		route_one_query((Query *) node, (RouteContext *) context);
		return false;
	}
	return expression_tree_walker(node, route_walker, context);
}

/*
 * Before planning (planner.c): add the tenant comparison for every
 * distributed tenant table the query scans.  Returns whether the plan
 * depends on the tenant setting (it scans such a table).
 */
bool
ti_citus_route_query(Query *parse)
{
	RouteContext cxt;

	if (parse->commandType == CMD_UTILITY || !ti_citus_active())
		return false;
	ti_citus_check_conversions(parse);
	memset(&cxt, 0, sizeof(cxt));
	ti_effective_tenant(&cxt.tenant);
	route_one_query(parse, &cxt);
	return cxt.routed;
}

/* After planning: a plan routed for the tenant in effect is replanned when it changes. */
void
ti_citus_route_plan(PlannedStmt *stmt, bool routed)
{
	if (routed)
		stmt->invalItems = lappend(stmt->invalItems, ti_citus_tenant_inval_item());
}

/*
 * Does the statement read or write a Citus table?  Asked of its range table
 * (which keeps every table a distributed plan reads), not of the shape of
 * the plan.
 */
static bool
reads_citus_tables(PlannedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION && ti_citus_is_table(rte->relid))
			return true;
	}
	return false;
}

/*
 * Before a statement on tenant tables starts (executor.c): if it reads or
 * writes Citus tables, send the tenant it runs under to every node.
 */
void
ti_citus_executor_start(PlannedStmt *stmt, const TiTenant *tenant)
{
	if (!ti_citus_active() || !reads_citus_tables(stmt))
		return;
	ti_citus_send_local_setting(ti_citus_context_command(tenant));
	ti_citus_use_coordinated_transaction();
}

/*
 * COPY FROM into a distributed tenant table (guard.c), by a role tenant
 * scoping applies to: Citus copies the rows into the shards on the workers,
 * where PostgreSQL refuses COPY FROM under row level security, and the
 * INSERT that tenant_iso runs COPY as on a single node (copy.c) is not a
 * plan Citus can distribute.  Refused with the way that works.
 */
void
ti_citus_check_copy(CopyStmt *stmt)
{
	Oid			relid;

	if (!stmt->is_from || stmt->relation == NULL || !ti_citus_active())
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || !ti_citus_is_table(relid) || !ti_relid_is_tenant_table(relid) ||
		!ti_tenant_scoping_applies(InvalidOid))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("COPY FROM into distributed tenant table %s is not supported", ti_qualified_name(relid)),
			 errdetail("Citus copies the rows into the shards on the workers, where row level security does not allow COPY FROM."),
			 errhint("Use INSERT: a multi-row INSERT, or INSERT ... SELECT.")));
}
