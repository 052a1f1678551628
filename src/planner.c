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

#include "tenant_iso.h"

/* text ~~ text, text ~>=~ text, text ~<~ text */
#define TI_OID_TEXT_LIKE_OP			1209
#define TI_OID_TEXT_PATTERN_GE_OP	2317
#define TI_OID_TEXT_PATTERN_LT_OP	2314

static planner_hook_type prev_planner = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;
static bool implied_quals = true;

/* OIDs of tenant_iso.current_org_id() and tenant_iso.tenant_id, looked up lazily. */
static Oid	tenant_func_oid = InvalidOid;
static Oid	tenant_type_oid = InvalidOid;

static void
invalidate_oids(Datum arg, int cacheid, uint32 hashvalue)
{
	tenant_func_oid = InvalidOid;
	tenant_type_oid = InvalidOid;
}

static bool
lookup_oids(void)
{
	Oid			nsp;

	if (OidIsValid(tenant_func_oid) && OidIsValid(tenant_type_oid))
		return true;
	nsp = get_namespace_oid(TI_SCHEMA, true);
	if (!OidIsValid(nsp))
		return false;
	tenant_type_oid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									  CStringGetDatum("tenant_id"), ObjectIdGetDatum(nsp));
	tenant_func_oid = LookupFuncName(list_make2(makeString(TI_SCHEMA), makeString("current_org_id")),
									 0, NULL, true);
	return OidIsValid(tenant_func_oid) && OidIsValid(tenant_type_oid);
}

/*
 * The executor parameter that carries the tenant in this plan, or -1.
 * Called by executor.c for every execution: a short list scan.
 */
int
ti_tenant_param_id(PlannedStmt *stmt)
{
	ListCell   *lc;
	int			id = 0;

	if (stmt->paramExecTypes == NIL)
		return -1;
	/* a parallel worker has planned nothing: look the type up here */
	if (!OidIsValid(tenant_type_oid) && !lookup_oids())
		return -1;
	foreach(lc, stmt->paramExecTypes)
	{
		if (lfirst_oid(lc) == tenant_type_oid)
			return id;
		id++;
	}
	return -1;
}

typedef struct ParamizeContext
{
	int			paramid;		/* -1 until first needed */
	PlannedStmt *stmt;
} ParamizeContext;

static Node *
paramize_mutator(Node *node, ParamizeContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == tenant_func_oid)
	{
		Param	   *param = makeNode(Param);

		if (cxt->paramid < 0)
		{
			cxt->paramid = list_length(cxt->stmt->paramExecTypes);
			cxt->stmt->paramExecTypes = lappend_oid(cxt->stmt->paramExecTypes, tenant_type_oid);
		}
		param->paramkind = PARAM_EXEC;
		param->paramid = cxt->paramid;
		param->paramtype = UUIDOID;
		param->paramtypmod = -1;
		param->paramcollid = InvalidOid;
		param->location = -1;
		return (Node *) param;
	}
	return expression_tree_mutator(node, paramize_mutator, (void *) cxt);
}

/* Replace current_org_id() in the filter (qual) of every plan node. */
static void
paramize_plan(Plan *plan, ParamizeContext *cxt)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	if (plan->qual != NIL)
		plan->qual = (List *) paramize_mutator((Node *) plan->qual, cxt);
	paramize_plan(plan->lefttree, cxt);
	paramize_plan(plan->righttree, cxt);
	switch (nodeTag(plan))
	{
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				paramize_plan((Plan *) lfirst(lc), cxt);
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				paramize_plan((Plan *) lfirst(lc), cxt);
			break;
		case T_BitmapAnd:
			foreach(lc, ((BitmapAnd *) plan)->bitmapplans)
				paramize_plan((Plan *) lfirst(lc), cxt);
			break;
		case T_BitmapOr:
			foreach(lc, ((BitmapOr *) plan)->bitmapplans)
				paramize_plan((Plan *) lfirst(lc), cxt);
			break;
		case T_SubqueryScan:
			paramize_plan(((SubqueryScan *) plan)->subplan, cxt);
			break;
		case T_CustomScan:
			foreach(lc, ((CustomScan *) plan)->custom_plans)
				paramize_plan((Plan *) lfirst(lc), cxt);
			break;
		default:
			break;
	}
}

static void
paramize_tenant(PlannedStmt *stmt)
{
	ParamizeContext cxt;
	ListCell   *lc;

	if (!lookup_oids())
		return;
	cxt.paramid = -1;
	cxt.stmt = stmt;
	paramize_plan(stmt->planTree, &cxt);
	foreach(lc, stmt->subplans)
		paramize_plan((Plan *) lfirst(lc), &cxt);
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

/* Is this security qual the generated tenant comparison? */
static bool
is_tenant_qual(Node *qual)
{
	OpExpr	   *op;
	Node	   *rarg;

	if (qual == NULL || !IsA(qual, OpExpr))
		return false;
	op = (OpExpr *) qual;
	if (list_length(op->args) != 2)
		return false;
	rarg = lsecond(op->args);
	return IsA(rarg, FuncExpr) && ((FuncExpr *) rarg)->funcid == tenant_func_oid;
}

/*
 * PostgreSQL evaluates the restrictive policies of a table in name order,
 * each as its own security barrier level: a restrictive policy an owner
 * names "a_audit" would run before tenant_isolation and see every tenant's
 * rows.  Move the tenant comparison to the front; it is leakproof, so this
 * only ever filters earlier.
 */
static void
tenant_quals_first(Query *query)
{
	ListCell   *lc;

	if (!OidIsValid(tenant_func_oid))
		return;
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
		ListCell   *lc2;
		Node	   *tenant = NULL;

		if (rte->rtekind != RTE_RELATION || list_length(rte->securityQuals) < 2)
			continue;
		foreach(lc2, rte->securityQuals)
		{
			if (is_tenant_qual((Node *) lfirst(lc2)))
			{
				tenant = (Node *) lfirst(lc2);
				break;
			}
		}
		if (tenant == NULL || linitial(rte->securityQuals) == tenant)
			continue;
		rte->securityQuals = list_delete_ptr(rte->securityQuals, tenant);
		rte->securityQuals = lcons(tenant, rte->securityQuals);
	}
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

		tenant_quals_first(query);
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

	if (parse->commandType != CMD_UTILITY && lookup_oids())
		(void) implied_walker((Node *) parse, (void *) &implied_quals);

	if (prev_planner)
		stmt = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);

	if (stmt->commandType != CMD_UTILITY)
		paramize_tenant(stmt);
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
	CacheRegisterSyscacheCallback(PROCOID, invalidate_oids, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, invalidate_oids, (Datum) 0);
}
