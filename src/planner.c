/*-------------------------------------------------------------------------
 * src/planner.c
 *		Planner hook: implied leakproof conditions for LIKE on tenant tables.
 *
 * Row level security orders a query's own conditions after the tenant
 * policy unless they are leakproof, and LIKE is not: it can neither become
 * an index condition nor run on the index's output, so "title LIKE 'ab%'"
 * reads and filters every row of the tenant.  A LIKE pattern with a fixed
 * prefix implies the range  col ~>=~ 'ab' AND col ~<~ 'ac'  whose operators
 * are leakproof: we add that range next to the LIKE (which still filters),
 * so an index on (organization_id, col text_pattern_ops) gets its full index
 * condition back.
 *
 * Second, the tenant comparison costs nothing per row.  The policy compares
 * organization_id with the STABLE function tenant_iso.current_org_id(), so
 * the planner estimates it from the actual tenant (a skewed tenant gets the
 * right plan) and can use it as an index condition (evaluated once per
 * scan).  Where it remains a filter, evaluated per row, we replace the call
 * in the finished plan with an executor parameter of type
 * tenant_iso.tenant_id, which executor.c fills once per execution from the
 * current tenant.  Cached (generic) plans therefore follow a tenant switch.
 *
 * Third, for operators that no implied range can help (jsonb @>, full-text
 * @@, array operators): when a tenant table has an index whose leading
 * column is organization_id and that also covers the condition's column
 * (e.g. GIN (organization_id, tags) with btree_gin), we let a built-in
 * operator's condition be an index condition of that index, next to the
 * tenant equality.  The index then only ever reaches the current tenant's
 * entries, and the heap recheck tests organization_id first, so the
 * operator never sees another tenant's row.  Only those indexes are offered,
 * and the condition stays non-leakproof everywhere else (filters keep their
 * order after the tenant policy).
 *
 * Invariants:
 *	- Only conditions implied by the query's own conditions are added, and
 *	  only at top-level AND positions (WHERE, JOIN ... ON), so results are
 *	  unchanged; tenant_iso.implied_quals = off turns it off for comparison.
 *	- Only leakproof built-in operators are added: they may run before the
 *	  tenant policy without revealing anything.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "optimizer/planner.h"
#include "access/transam.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "parser/parse_func.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "tenant_iso.h"

/* text ~~ text, text ~>=~ text, text ~<~ text */
#define TI_OID_TEXT_LIKE_OP			1209
#define TI_OID_TEXT_PATTERN_GE_OP	2317
#define TI_OID_TEXT_PATTERN_LT_OP	2314

static planner_hook_type prev_planner = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;
static bool implied_quals = true;

/*
 * The mark of the tenant parameter: a uuid Param with this type modifier.
 * The uuid type takes no type modifier, so no expression of a user's query
 * can produce a Param that carries it: the parameter is recognised by
 * identity, not by its type.
 */
#define TI_TENANT_PARAM_TYPMOD	0x54490001

static bool
is_tenant_param(Node *node)
{
	return node != NULL && IsA(node, Param) &&
		((Param *) node)->paramkind == PARAM_EXEC &&
		((Param *) node)->paramtype == UUIDOID &&
		((Param *) node)->paramtypmod == TI_TENANT_PARAM_TYPMOD;
}

typedef List *(*QualMutator) (List *qual, void *cxt);

/* Apply fn to the filter (qual) of every node of a plan tree. */
static void
mutate_plan_quals(Plan *plan, QualMutator fn, void *cxt)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	if (plan->qual != NIL)
		plan->qual = fn(plan->qual, cxt);
	mutate_plan_quals(plan->lefttree, fn, cxt);
	mutate_plan_quals(plan->righttree, fn, cxt);
	switch (nodeTag(plan))
	{
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				mutate_plan_quals((Plan *) lfirst(lc), fn, cxt);
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				mutate_plan_quals((Plan *) lfirst(lc), fn, cxt);
			break;
		case T_BitmapAnd:
			foreach(lc, ((BitmapAnd *) plan)->bitmapplans)
				mutate_plan_quals((Plan *) lfirst(lc), fn, cxt);
			break;
		case T_BitmapOr:
			foreach(lc, ((BitmapOr *) plan)->bitmapplans)
				mutate_plan_quals((Plan *) lfirst(lc), fn, cxt);
			break;
		case T_SubqueryScan:
			mutate_plan_quals(((SubqueryScan *) plan)->subplan, fn, cxt);
			break;
		case T_CustomScan:
			foreach(lc, ((CustomScan *) plan)->custom_plans)
				mutate_plan_quals((Plan *) lfirst(lc), fn, cxt);
			break;
		default:
			break;
	}
}

/* Apply fn to the filters of a whole statement (main plan and subplans). */
static void
mutate_stmt_quals(PlannedStmt *stmt, QualMutator fn, void *cxt)
{
	ListCell   *lc;

	mutate_plan_quals(stmt->planTree, fn, cxt);
	foreach(lc, stmt->subplans)
		mutate_plan_quals((Plan *) lfirst(lc), fn, cxt);
}

static bool
find_param_walker(Node *node, int *id)
{
	if (node == NULL)
		return false;
	if (is_tenant_param(node))
	{
		*id = ((Param *) node)->paramid;
		return true;
	}
	return expression_tree_walker(node, find_param_walker, (void *) id);
}

static List *
find_param_in_qual(List *qual, void *cxt)
{
	int		   *id = (int *) cxt;

	if (*id < 0)
		(void) find_param_walker((Node *) qual, id);
	return qual;
}

/*
 * The executor parameter that carries the tenant in this plan, or -1.
 * Called by executor.c for every execution (also in parallel workers).
 */
int
ti_tenant_param_id(PlannedStmt *stmt)
{
	int			id = -1;

	if (stmt->paramExecTypes == NIL)
		return -1;
	mutate_stmt_quals(stmt, find_param_in_qual, &id);
	if (id >= list_length(stmt->paramExecTypes))
		elog(ERROR, "tenant parameter %d out of range", id);
	return id;
}

typedef struct ParamizeContext
{
	Oid			funcid;			/* tenant_iso.current_org_id() */
	int			paramid;		/* -1 until first needed */
	PlannedStmt *stmt;
} ParamizeContext;

static Node *
paramize_mutator(Node *node, ParamizeContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == cxt->funcid)
	{
		Param	   *param = makeNode(Param);

		if (cxt->paramid < 0)
		{
			cxt->paramid = list_length(cxt->stmt->paramExecTypes);
			cxt->stmt->paramExecTypes = lappend_oid(cxt->stmt->paramExecTypes, UUIDOID);
		}
		param->paramkind = PARAM_EXEC;
		param->paramid = cxt->paramid;
		param->paramtype = UUIDOID;
		param->paramtypmod = TI_TENANT_PARAM_TYPMOD;
		param->paramcollid = InvalidOid;
		param->location = -1;
		return (Node *) param;
	}
	return expression_tree_mutator(node, paramize_mutator, (void *) cxt);
}

static List *
paramize_qual(List *qual, void *cxt)
{
	return (List *) paramize_mutator((Node *) qual, (ParamizeContext *) cxt);
}

/*
 * Replace current_org_id() in the filter of every plan node by the tenant
 * parameter, which executor.c fills once per execution.
 */
static void
paramize_tenant(PlannedStmt *stmt)
{
	ParamizeContext cxt;

	cxt.funcid = ti_tenant_func_oid();
	if (!OidIsValid(cxt.funcid))
		return;
	cxt.paramid = -1;
	cxt.stmt = stmt;
	mutate_stmt_quals(stmt, paramize_qual, &cxt);
}

/*
 * The fixed prefix of a LIKE pattern (with the default escape '\'), or NULL
 * when it has none.
 */
static char *
like_prefix(const char *patt, int len)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < len; i++)
	{
		char		c = patt[i];

		if (c == '%' || c == '_')
			break;
		if (c == '\\')
		{
			i++;
			if (i >= len)
				break;
			c = patt[i];
		}
		appendStringInfoChar(&buf, c);
	}
	if (buf.len == 0)
	{
		pfree(buf.data);
		return NULL;
	}
	return buf.data;
}

/*
 * The smallest string greater than every string with this prefix, in
 * byte order (what ~<~ compares), or NULL when we cannot make one safely:
 * only a final ASCII character below 0x7F is incremented, so the result is
 * always valid in any server encoding.
 */
static char *
prefix_upper_bound(const char *prefix)
{
	int			len = strlen(prefix);
	char	   *upper = pstrdup(prefix);

	while (len > 0)
	{
		unsigned char last = (unsigned char) upper[len - 1];

		if (last < 0x7F)
		{
			upper[len - 1] = (char) (last + 1);
			upper[len] = '\0';
			return upper;
		}
		if (last >= 0x80)
			break;				/* part of a multibyte character: give up */
		len--;
	}
	pfree(upper);
	return NULL;
}

static Expr *
make_text_opexpr(Oid opno, Expr *left, const char *value)
{
	Const	   *c = makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
							  CStringGetTextDatum(value), false, false);

	return make_opclause(opno, BOOLOID, false, (Expr *) copyObject(left), (Expr *) c,
						 InvalidOid, DEFAULT_COLLATION_OID);
}

/* Implied range conditions for one clause, appended to *extra. */
static void
imply_for_clause(Query *query, Node *clause, List **extra)
{
	OpExpr	   *op;
	Node	   *left;
	Const	   *patt;
	Var		   *var;
	RangeTblEntry *rte;
	char	   *prefix;
	char	   *upper;

	if (!IsA(clause, OpExpr))
		return;
	op = (OpExpr *) clause;
	if (op->opno != TI_OID_TEXT_LIKE_OP || list_length(op->args) != 2)
		return;
	left = linitial(op->args);
	if (!IsA(lsecond(op->args), Const))
		return;
	patt = (Const *) lsecond(op->args);
	if (patt->constisnull || patt->consttype != TEXTOID)
		return;
	/* the column may be wrapped in a RelabelType (e.g. varchar) */
	if (IsA(left, RelabelType))
		left = (Node *) ((RelabelType *) left)->arg;
	if (!IsA(left, Var))
		return;
	var = (Var *) left;
	if (var->varlevelsup != 0 || (var->vartype != TEXTOID && var->vartype != VARCHAROID) ||
		var->varno < 1 || var->varno > list_length(query->rtable))
		return;
	rte = rt_fetch(var->varno, query->rtable);
	if (rte->rtekind != RTE_RELATION || !ti_relid_is_tenant_table(rte->relid))
		return;

	{
		text	   *t = DatumGetTextPP(patt->constvalue);

		prefix = like_prefix(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	if (prefix == NULL)
		return;
	*extra = lappend(*extra, make_text_opexpr(TI_OID_TEXT_PATTERN_GE_OP,
											  (Expr *) linitial(op->args), prefix));
	upper = prefix_upper_bound(prefix);
	if (upper != NULL)
		*extra = lappend(*extra, make_text_opexpr(TI_OID_TEXT_PATTERN_LT_OP,
												  (Expr *) linitial(op->args), upper));
}

/* Walk a qual at top-level AND positions, collecting implied conditions. */
static void
imply_for_quals(Query *query, Node *quals, List **extra)
{
	if (quals == NULL)
		return;
	if (IsA(quals, BoolExpr) && ((BoolExpr *) quals)->boolop == AND_EXPR)
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) quals)->args)
			imply_for_quals(query, (Node *) lfirst(lc), extra);
	}
	else if (IsA(quals, List))
	{
		ListCell   *lc;

		foreach(lc, (List *) quals)
			imply_for_quals(query, (Node *) lfirst(lc), extra);
	}
	else
		imply_for_clause(query, quals, extra);
}

static Node *
add_implied(Query *query, Node *quals)
{
	List	   *extra = NIL;

	imply_for_quals(query, quals, &extra);
	if (extra == NIL)
		return quals;
	return (Node *) make_ands_explicit(lappend(extra, quals));
}

static bool implied_walker(Node *node, void *context);

static void
implied_jointree(Query *query, Node *jtnode)
{
	if (jtnode == NULL)
		return;
	if (IsA(jtnode, FromExpr))
	{
		FromExpr   *f = (FromExpr *) jtnode;
		ListCell   *lc;

		foreach(lc, f->fromlist)
			implied_jointree(query, (Node *) lfirst(lc));
		f->quals = add_implied(query, f->quals);
	}
	else if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jtnode;

		implied_jointree(query, j->larg);
		implied_jointree(query, j->rarg);
		j->quals = add_implied(query, j->quals);
	}
}

/*
 * The tenant comparison goes first on every tenant table a query scans,
 * for every role tenant scoping applies to.  PostgreSQL evaluates the
 * restrictive policies of a table in name order, each as its own security
 * barrier level, and applies none to the target of a MERGE that reads no
 * target column, nor in referential actions (run as the table's owner
 * without forced row level security).  We put our own comparison
 * (tenant_table.c) at the lowest level and drop the generated policy's
 * copy of it (recognised by equal(), not by shape); every other qual, user
 * policy and check then only ever sees the tenant's rows.
 */
static void
scope_rte(Query *query, Index rti, RangeTblEntry *rte)
{
	Expr	   *tenant;
	List	   *others = NIL;
	ListCell   *lc;

	if (rte->rtekind != RTE_RELATION ||
		(query->commandType == CMD_INSERT && rti == query->resultRelation) ||
		!ti_relid_is_tenant_table(rte->relid) ||
		!ti_tenant_scoping_applies(ti_query_rte_check_as_user(query, rte)))
		return;
	tenant = ti_tenant_qual(rte->relid, rti);
	if (tenant == NULL)
		return;
	foreach(lc, rte->securityQuals)
	{
		if (!ti_is_tenant_qual(rte->relid, rti, (Node *) lfirst(lc)))
			others = lappend(others, lfirst(lc));
	}
	rte->securityQuals = lcons(tenant, others);
}

static bool
is_rls_check(WCOKind kind)
{
	return kind == WCO_RLS_INSERT_CHECK || kind == WCO_RLS_UPDATE_CHECK ||
		kind == WCO_RLS_CONFLICT_CHECK || kind == WCO_RLS_MERGE_UPDATE_CHECK ||
		kind == WCO_RLS_MERGE_DELETE_CHECK;
}

/*
 * The row level security checks of a write (new rows, the existing row of
 * ON CONFLICT DO UPDATE, MERGE's matched rows) run in list order: the
 * generated policy's check goes first for each kind present.
 */
static void
order_write_checks(Query *query)
{
	RangeTblEntry *rte;
	List	   *first = NIL;
	List	   *rest = NIL;
	ListCell   *lc;

	if (query->resultRelation <= 0 || query->withCheckOptions == NIL)
		return;
	rte = rt_fetch(query->resultRelation, query->rtable);
	if (rte->rtekind != RTE_RELATION || !ti_relid_is_tenant_table(rte->relid))
		return;
	foreach(lc, query->withCheckOptions)
	{
		WithCheckOption *wco = (WithCheckOption *) lfirst(lc);

		if (is_rls_check(wco->kind) &&
			ti_is_tenant_qual(rte->relid, query->resultRelation, wco->qual))
			first = lappend(first, wco);
		else
			rest = lappend(rest, wco);
	}
	query->withCheckOptions = list_concat(first, rest);
}

/*
 * INSERT ... ON CONFLICT DO UPDATE ... WHERE: the WHERE clause sees the
 * existing row, which may be another tenant's (a key on a single uuid
 * column).  Depending on the server's version (and minor release) the WHERE
 * clause is evaluated before or after the row level security check of that
 * row (WCO_RLS_CONFLICT_CHECK).  The tenant comparison goes first in it, so
 * that the statement's WHERE clause is never given another tenant's row:
 *	  (tenant comparison) IS NOT TRUE OR (the statement's WHERE)
 * when the generated policy's check of the existing row follows (the usual
 * case): another tenant's row passes the WHERE clause unevaluated and that
 * check refuses it (42501), the same refusal as without a WHERE clause and
 * as on a server that checks the row first;
 *	  (tenant comparison) AND (the statement's WHERE)
 * otherwise: the row is skipped, never updated.
 */
static bool
has_tenant_conflict_check(Query *query, Oid relid)
{
	ListCell   *lc;

	foreach(lc, query->withCheckOptions)
	{
		WithCheckOption *wco = (WithCheckOption *) lfirst(lc);

		if (wco->kind == WCO_RLS_CONFLICT_CHECK &&
			ti_is_tenant_qual(relid, query->resultRelation, wco->qual))
			return true;
	}
	return false;
}

static void
scope_conflict_where(Query *query)
{
	RangeTblEntry *rte;
	Expr	   *tenant;
	Node	   *where;

	if (query->onConflict == NULL || query->onConflict->action != ONCONFLICT_UPDATE ||
		query->onConflict->onConflictWhere == NULL)
		return;
	rte = rt_fetch(query->resultRelation, query->rtable);
	if (!ti_relid_is_tenant_table(rte->relid) ||
		!ti_tenant_scoping_applies(ti_query_rte_check_as_user(query, rte)) ||
		(tenant = ti_tenant_qual(rte->relid, query->resultRelation)) == NULL)
		return;
	where = query->onConflict->onConflictWhere;
	if (has_tenant_conflict_check(query, rte->relid))
	{
		BooleanTest *other = makeNode(BooleanTest);

		other->arg = tenant;
		other->booltesttype = IS_NOT_TRUE;
		other->location = -1;
		query->onConflict->onConflictWhere = (Node *) make_orclause(list_make2(other, where));
	}
	else
		query->onConflict->onConflictWhere = (Node *) make_and_qual((Node *) tenant, where);
}

static void
scope_query(Query *query)
{
	ListCell   *lc;
	Index		rti = 0;

	foreach(lc, query->rtable)
		scope_rte(query, ++rti, (RangeTblEntry *) lfirst(lc));
	order_write_checks(query);
	scope_conflict_where(query);
}

static bool
implied_walker(Node *node, void *context)
{
	bool		implied = *(bool *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;

		scope_query(query);
		if (implied)
			implied_jointree(query, (Node *) query->jointree);
		return query_tree_walker(query, implied_walker, context, 0);
	}
	return expression_tree_walker(node, implied_walker, context);
}

static PlannedStmt *
ti_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	PlannedStmt *stmt;
	bool		routed = false;

	if (parse->commandType != CMD_UTILITY && OidIsValid(ti_tenant_func_oid()))
	{
		(void) implied_walker((Node *) parse, (void *) &implied_quals);
		/* Citus: each distributed tenant table compared with the tenant, to prune shards */
		routed = ti_citus_route_query(parse);
	}

	if (prev_planner)
		stmt = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);

	if (stmt->commandType != CMD_UTILITY)
		paramize_tenant(stmt);
	ti_citus_route_plan(stmt, routed);
	return stmt;
}

/*
 * A restriction that only tenant-leading indexes may serve: a built-in
 * operator, not leakproof, comparing a column of this relation with a
 * constant.  Returns the column, or 0.
 */
static AttrNumber
tenant_index_candidate(RestrictInfo *rinfo, Index rti)
{
	OpExpr	   *op;
	Node	   *l,
			   *r;

	if (rinfo->leakproof || !IsA(rinfo->clause, OpExpr))
		return 0;
	op = (OpExpr *) rinfo->clause;
	if (op->opno >= FirstNormalObjectId || list_length(op->args) != 2)
		return 0;
	l = strip_implicit_coercions(linitial(op->args));
	r = strip_implicit_coercions(lsecond(op->args));
	if (IsA(r, Var) && IsA(l, Const))
	{
		Node	   *t = l;

		l = r;
		r = t;
	}
	if (!IsA(l, Var) || !IsA(r, Const) || ((Var *) l)->varno != rti ||
		((Var *) l)->varlevelsup != 0 || ((Var *) l)->varattno <= 0)
		return 0;
	return ((Var *) l)->varattno;
}

static void
set_leakproof(List *rinfos, bool value)
{
	ListCell   *lc;

	foreach(lc, rinfos)
		((RestrictInfo *) lfirst(lc))->leakproof = value;
}

/*
 * create_index_paths() with only these indexes offered and these conditions
 * usable as index conditions; both are put back afterwards.
 */
static void
index_paths_with(PlannerInfo *root, RelOptInfo *rel, List *indexes, List *flipped)
{
	List	   *saved_indexlist = rel->indexlist;

	rel->indexlist = indexes;
	set_leakproof(flipped, true);
	PG_TRY();
	{
		create_index_paths(root, rel);
	}
	PG_CATCH();
	{
		set_leakproof(flipped, false);
		rel->indexlist = saved_indexlist;
		PG_RE_THROW();
	}
	PG_END_TRY();
	set_leakproof(flipped, false);
	rel->indexlist = saved_indexlist;
}

static void
ti_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	AttrNumber	orgatt;
	List	   *indexes = NIL;
	List	   *flipped = NIL;
	ListCell   *lc;

	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);

	if (!implied_quals || rte->rtekind != RTE_RELATION || rel->reloptkind != RELOPT_BASEREL ||
		rel->indexlist == NIL || rel->baserestrictinfo == NIL ||
		!ti_relid_is_tenant_table(rte->relid))
		return;
	orgatt = get_attnum(rte->relid, TI_COLUMN);
	if (orgatt == InvalidAttrNumber)
		return;

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc);
		AttrNumber	att;
		ListCell   *lc2;

		if (rinfo->security_level <= rel->baserestrict_min_security)
			continue;			/* may be an index condition anyway */
		att = tenant_index_candidate(rinfo, rti);
		if (att == 0 || att == orgatt)
			continue;
		foreach(lc2, rel->indexlist)
		{
			IndexOptInfo *index = (IndexOptInfo *) lfirst(lc2);
			int			k;

			if (index->nkeycolumns < 2 || index->indexkeys[0] != orgatt || index->indpred != NIL)
				continue;
			for (k = 1; k < index->nkeycolumns; k++)
			{
				if (index->indexkeys[k] == att)
				{
					indexes = list_append_unique_ptr(indexes, index);
					flipped = list_append_unique_ptr(flipped, rinfo);
				}
			}
		}
	}
	if (flipped == NIL)
		return;

	index_paths_with(root, rel, indexes, flipped);
}

void
ti_planner_init(void)
{
	DefineCustomBoolVariable("tenant_iso.implied_quals",
							 "Lets tenant-leading indexes serve LIKE prefixes and built-in operators on tenant tables.",
							 "Adds the leakproof range implied by LIKE 'prefix%' (for (organization_id, col "
							 "text_pattern_ops) indexes) and lets built-in operators such as jsonb @> be index "
							 "conditions of indexes that lead with organization_id. Results are the same either way.",
							 &implied_quals,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	prev_planner = planner_hook;
	planner_hook = ti_planner;
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = ti_set_rel_pathlist;
}
