/*-------------------------------------------------------------------------
 * src/copy.c
 *		COPY ... FROM STDIN into tenant tables by roles that row level
 *		security applies to (which PostgreSQL refuses), run as an INSERT.
 *
 * PostgreSQL's COPY FROM does not evaluate row level security policies, so
 * it refuses COPY FROM for every role they apply to; tenant tables force
 * them, so even their owner cannot load data.  Here COPY t [(cols)] FROM
 * STDIN becomes a real INSERT:
 *
 *	  INSERT INTO t (cols) OVERRIDING SYSTEM VALUE <the client's rows>
 *
 * analysed, rewritten (policies), planned (planner.c scopes it) and run by
 * the executor (executor.c checks it) with the caller's identity, exactly as
 * the caller's own INSERT would be: the stamping trigger, every policy's
 * WITH CHECK, every trigger (row and statement, BEFORE and AFTER, transition
 * tables), constraints and foreign keys, partition routing, and the INSERT
 * privilege on the listed columns.  Only where the rows come from differs:
 * the statement is planned over a two-row VALUES list of typed NULLs (a
 * scan of its own in the plan), and that scan is replaced in the finished
 * plan by a custom scan that reads the client's data with PostgreSQL's own
 * COPY FROM machinery (BeginCopyFrom / NextCopyFrom: every format and
 * option PostgreSQL accepts) and streams the rows into the INSERT one at a
 * time, without materializing them.
 *
 * Invariants:
 *	- Only COPY ... FROM STDIN into a tenant table (ordinary or partitioned)
 *	  by a role that tenant scoping applies to, for which PostgreSQL would
 *	  apply row level security, is taken over.  Everything else, COPY TO,
 *	  COPY FROM a file or a program (with PostgreSQL's own privilege rules)
 *	  included, is left to PostgreSQL.
 *	- The rows pass through the INSERT's plan only: no row reaches the table
 *	  by another route, so nothing INSERT enforces can be skipped.  The
 *	  INSERT names exactly the columns COPY loads; the columns it does not
 *	  load get their defaults from the INSERT, never from COPY (so nothing is
 *	  evaluated twice).
 *	- The custom scan runs only inside the COPY that planned it (identity of
 *	  its plan node), never anywhere else.
 *	- Any error (a malformed row, a row for another organization, a policy,
 *	  a constraint) fails the whole statement: nothing of the load is kept.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/copy.h"
#include "commands/copyfrom_internal.h"
#include "commands/progress.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "tenant_iso.h"

/* One COPY FROM being run as an INSERT. */
typedef struct TiCopy
{
	Oid			relid;
	CopyStmt   *stmt;
	const char *query_string;
	List	   *attnums;		/* the columns loaded, in the data's order */
	CustomScan *scan;			/* the row source in the INSERT's plan */
	CopyFromState cstate;		/* once the row source began */
	bool		at_end;			/* it read the end of the data */
} TiCopy;

/* The row source's executor state. */
typedef struct TiCopyScanState
{
	CustomScanState css;
	TiCopy	   *copy;
	Relation	rel;
	Datum	   *values;			/* one row as NextCopyFrom returns it ... */
	bool	   *nulls;			/* ... (every column of the table) */
	int			ncols;			/* columns loaded */
	AttrNumber *attnums;		/* their attribute numbers */
	int64		excluded;		/* rows COPY's WHERE clause left out */
} TiCopyScanState;

/* The COPY whose INSERT is running (innermost). */
static TiCopy *active = NULL;

static Node *create_scan_state(CustomScan *cscan);
static void begin_scan(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *exec_scan(CustomScanState *node);
static void end_scan(CustomScanState *node);
static void rescan_scan(CustomScanState *node);

static const CustomScanMethods scan_methods = {
	.CustomName = "tenant_iso COPY FROM",
	.CreateCustomScanState = create_scan_state,
};

static const CustomExecMethods exec_methods = {
	.CustomName = "tenant_iso COPY FROM",
	.BeginCustomScan = begin_scan,
	.ExecCustomScan = exec_scan,
	.EndCustomScan = end_scan,
	.ReScanCustomScan = rescan_scan,
};

/*
 * Is this COPY FROM STDIN into relid ours to run?  A tenant table (ordinary
 * or partitioned), a role tenant scoping applies to, and row level security
 * in force for it (PostgreSQL would refuse the COPY).
 */
static bool
copy_is_ours(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	return (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE) &&
		ti_relid_is_tenant_table(relid) &&
		ti_tenant_scoping_applies(InvalidOid) &&
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED;
}

/*
 * FREEZE: PostgreSQL's own refusals, in its words.  Where PostgreSQL would
 * freeze (the table is new in this subtransaction), the rows are loaded
 * unfrozen: an INSERT cannot freeze, and nothing but the later vacuum's
 * work depends on it.
 */
static void
check_freeze(Relation rel)
{
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot perform COPY FREEZE on a partitioned table")));
	InvalidateCatalogSnapshot();
	if (!ThereAreNoPriorRegisteredSnapshots() || !ThereAreNoReadyPortals())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot perform COPY FREEZE because of prior transaction activity")));
	if (!ti_rel_storage_new_in_subxact(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot perform COPY FREEZE because the table was not created or truncated in the current subtransaction")));
}

/* The position (1-based) of attnum in attnums, or 0. */
static int
attnum_position(List *attnums, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, attnums)
		if (lfirst_int(lc) == attnum)
			return foreach_current_index(lc) + 1;
	return 0;
}

/*
 * A column of the table (varno 1) -> the column of the row source's scan
 * tuple that loads it (system columns keep their number: tableoid is set).
 */
static Node *
map_where_vars(Node *node, List *attnums)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varno == 1 && ((Var *) node)->varlevelsup == 0)
	{
		Var		   *var = (Var *) copyObject(node);

		if (var->varattno > 0)
			var->varattno = attnum_position(attnums, var->varattno);
		var->varno = INDEX_VAR;
		return (Node *) var;
	}
	return expression_tree_mutator(node, map_where_vars, (void *) attnums);
}

/*
 * COPY's WHERE clause, transformed as PostgreSQL does, as a qual over the
 * row source's columns.  It may only name loaded columns: the others get
 * their defaults from the INSERT, after the row source.
 */
static List *
transform_where(ParseState *pstate, Relation rel, Node *raw, List *attnums)
{
	ParseNamespaceItem *nsitem;
	Node	   *expr;
	Bitmapset  *attrs = NULL;
	int			i = -1;

	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	expr = transformExpr(pstate, raw, EXPR_KIND_COPY_WHERE);
	expr = coerce_to_boolean(pstate, expr, "WHERE");
	assign_expr_collations(pstate, expr);

	pull_varattnos(expr, 1, &attrs);
	while ((i = bms_next_member(attrs, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;

		if (attno == InvalidAttrNumber || (attno > 0 && !list_member_int(attnums, attno)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 attno == InvalidAttrNumber ?
					 errmsg("the WHERE clause of COPY FROM into tenant table \"%s\" cannot refer to the whole row",
							RelationGetRelationName(rel)) :
					 errmsg("the WHERE clause of COPY FROM into tenant table \"%s\" cannot refer to column \"%s\", which is not loaded",
							RelationGetRelationName(rel), get_attname(RelationGetRelid(rel), attno, false)),
					 errdetail("COPY into a tenant table runs as an INSERT of the loaded columns; the other columns get their values only then."),
					 errhint("Load the column (name it in the column list), or filter the data before loading it.")));
	}

	expr = eval_const_expressions(NULL, expr);
	expr = (Node *) canonicalize_qual((Expr *) expr, false);
	fix_opfuncids(expr);
	return (List *) map_where_vars((Node *) make_ands_implicit((Expr *) expr), attnums);
}

/*
 * The INSERT, analysed and rewritten as the caller's:
 *	  INSERT INTO t (cols) OVERRIDING SYSTEM VALUE
 *	  VALUES (NULL::type, ...), (NULL::type, ...)
 * (OVERRIDING SYSTEM VALUE: COPY loads identity columns it names as given.
 * Two rows, so that the values stay a scan of their own in the plan.)
 */
static Query *
build_insert(Relation rel, List *attnums, const char *query_string, QueryEnvironment *queryEnv)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	InsertStmt *ins = makeNode(InsertStmt);
	SelectStmt *values = makeNode(SelectStmt);
	RawStmt    *raw = makeNode(RawStmt);
	List	   *queries;
	Query	   *query;
	ListCell   *lc;
	int			row;

	ins->relation = makeRangeVar(get_namespace_name(RelationGetNamespace(rel)),
								 pstrdup(RelationGetRelationName(rel)), -1);
	foreach(lc, attnums)
	{
		ResTarget  *col = makeNode(ResTarget);

		col->name = pstrdup(NameStr(TupleDescAttr(tupdesc, lfirst_int(lc) - 1)->attname));
		col->location = -1;
		ins->cols = lappend(ins->cols, col);
	}
	for (row = 0; row < 2; row++)
	{
		List	   *exprs = NIL;

		foreach(lc, attnums)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);
			A_Const    *null = makeNode(A_Const);
			TypeCast   *cast = makeNode(TypeCast);

			null->isnull = true;
			null->location = -1;
			cast->arg = (Node *) null;
			cast->typeName = makeTypeNameFromOid(att->atttypid, att->atttypmod);
			cast->location = -1;
			exprs = lappend(exprs, cast);
		}
		values->valuesLists = lappend(values->valuesLists, exprs);
	}
	ins->selectStmt = (Node *) values;
	ins->override = OVERRIDING_SYSTEM_VALUE;
	raw->stmt = (Node *) ins;
	raw->stmt_location = -1;
	raw->stmt_len = 0;

	queries = pg_analyze_and_rewrite_fixedparams(raw, query_string, NULL, 0, queryEnv);
	query = list_length(queries) == 1 ? linitial_node(Query, queries) : NULL;
	if (query == NULL || query->commandType != CMD_INSERT || !query->canSetTag ||
		rt_fetch(query->resultRelation, query->rtable)->relid != RelationGetRelid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot run COPY FROM into tenant table \"%s\" as an INSERT",
						RelationGetRelationName(rel)),
				 errdetail("The INSERT was rewritten into other statements.")));
	return query;
}

/* A copy of the query's VALUES range table entry (its only one). */
static RangeTblEntry *
values_rte_of(Query *query)
{
	RangeTblEntry *found = NULL;
	ListCell   *lc;

	foreach(lc, query->rtable)
	{
		if (((RangeTblEntry *) lfirst(lc))->rtekind != RTE_VALUES)
			continue;
		if (found != NULL)
			elog(ERROR, "tenant_iso: two VALUES lists in the INSERT of COPY FROM");
		found = copyObject((RangeTblEntry *) lfirst(lc));
	}
	if (found == NULL)
		elog(ERROR, "tenant_iso: no VALUES list in the INSERT of COPY FROM");
	return found;
}

/* The address of the plan's VALUES scan (of the INSERT's own values), or NULL. */
static Plan **
find_values_scan(Plan **plan, List *rtable)
{
	Plan	  **found;

	if (*plan == NULL)
		return NULL;
	if (IsA(*plan, ValuesScan) &&
		rt_fetch(((Scan *) *plan)->scanrelid, rtable)->rtekind == RTE_VALUES)
		return plan;
	if ((found = find_values_scan(&(*plan)->lefttree, rtable)) != NULL)
		return found;
	return find_values_scan(&(*plan)->righttree, rtable);
}

/* Vars of the VALUES scan -> columns of the custom scan's scan tuple. */
static Node *
index_var_mutator(Node *node, Index *scanrelid)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varno == *scanrelid && ((Var *) node)->varlevelsup == 0)
	{
		Var		   *var = (Var *) copyObject(node);

		var->varno = INDEX_VAR;
		return (Node *) var;
	}
	return expression_tree_mutator(node, index_var_mutator, (void *) scanrelid);
}

/*
 * Replace the INSERT's VALUES scan by the row source: same output (the new
 * rows, defaults of the columns not loaded included), scan tuple = the
 * loaded columns (typed as the VALUES RTE of the query, which the planner's
 * flat range table no longer describes), plus COPY's WHERE clause.
 */
static CustomScan *
replace_values_scan(PlannedStmt *plan, RangeTblEntry *rte, List *where)
{
	Plan	  **slot = IsA(plan->planTree, ModifyTable) ?
		find_values_scan(&plan->planTree->lefttree, plan->rtable) : NULL;
	ValuesScan *values;
	CustomScan *scan = makeNode(CustomScan);
	Index		scanrelid;
	ListCell   *t,
			   *m,
			   *c;
	AttrNumber	resno = 0;

	if (slot == NULL)
		elog(ERROR, "tenant_iso: no VALUES scan in the plan of COPY FROM");
	values = (ValuesScan *) *slot;
	scanrelid = values->scan.scanrelid;

	scan->scan.plan = values->scan.plan;
	scan->scan.plan.type = T_CustomScan;
	scan->scan.plan.targetlist = (List *) index_var_mutator((Node *) values->scan.plan.targetlist, &scanrelid);
	scan->scan.plan.qual = list_concat((List *) index_var_mutator((Node *) values->scan.plan.qual, &scanrelid),
									   where);
	scan->scan.scanrelid = 0;
	forthree(t, rte->coltypes, m, rte->coltypmods, c, rte->colcollations)
	{
		resno++;
		scan->custom_scan_tlist =
			lappend(scan->custom_scan_tlist,
					makeTargetEntry((Expr *) makeVar(INDEX_VAR, resno, lfirst_oid(t), lfirst_int(m),
													 lfirst_oid(c), 0),
									resno, NULL, false));
	}
	scan->methods = &scan_methods;
	*slot = (Plan *) scan;
	return scan;
}

static Node *
create_scan_state(CustomScan *cscan)
{
	TiCopyScanState *state = (TiCopyScanState *) newNode(sizeof(TiCopyScanState), T_CustomScanState);

	state->css.methods = &exec_methods;
	return (Node *) state;
}

/*
 * Start reading the client's data: the executor's checks (the tenant, the
 * INSERT privilege on the columns) came first, so a refused COPY never
 * starts the copy protocol.
 */
static void
begin_scan(CustomScanState *node, EState *estate, int eflags)
{
	TiCopyScanState *state = (TiCopyScanState *) node;
	TiCopy	   *copy = active;
	ParseState *pstate;
	ListCell   *lc;
	int			natts;

	if (copy == NULL || (CustomScan *) node->ss.ps.plan != copy->scan)
		elog(ERROR, "tenant_iso: COPY FROM row source outside its COPY");
	state->copy = copy;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	state->rel = table_open(copy->relid, NoLock);
	natts = RelationGetDescr(state->rel)->natts;
	state->values = palloc0(natts * sizeof(Datum));
	state->nulls = palloc0(natts * sizeof(bool));
	state->ncols = list_length(copy->attnums);
	state->attnums = palloc(state->ncols * sizeof(AttrNumber));
	foreach(lc, copy->attnums)
		state->attnums[foreach_current_index(lc)] = lfirst_int(lc);

	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = copy->query_string;
	copy->cstate = BeginCopyFrom(pstate, state->rel, NULL, NULL, false, NULL,
								 copy->stmt->attlist, copy->stmt->options);
	/* the INSERT computes the defaults of the columns not loaded, not COPY */
	copy->cstate->num_defaults = 0;
}

/* The next row of the client's data, as a new row of the INSERT. */
static TupleTableSlot *
exec_scan(CustomScanState *node)
{
	TiCopyScanState *state = (TiCopyScanState *) node;
	CopyFromState cstate = state->copy->cstate;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	EState	   *estate = node->ss.ps.state;

	for (;;)
	{
		MemoryContext old;
		bool		more;
		int			i;

		CHECK_FOR_INTERRUPTS();
		/* the rows before were all stored by now */
		pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED, estate->es_processed);
		ResetExprContext(econtext);
		old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		more = NextCopyFrom(cstate, econtext, state->values, state->nulls);
		MemoryContextSwitchTo(old);
		if (!more)
		{
			state->copy->at_end = true;
			return NULL;
		}
		if (ti_copy_row_skipped(cstate))
			continue;			/* ON_ERROR ignore */

		ExecClearTuple(slot);
		for (i = 0; i < state->ncols; i++)
		{
			slot->tts_values[i] = state->values[state->attnums[i] - 1];
			slot->tts_isnull[i] = state->nulls[state->attnums[i] - 1];
		}
		ExecStoreVirtualTuple(slot);
		slot->tts_tableOid = state->copy->relid;
		econtext->ecxt_scantuple = slot;

		if (node->ss.ps.qual != NULL && !ExecQual(node->ss.ps.qual, econtext))
		{
			pgstat_progress_update_param(PROGRESS_COPY_TUPLES_EXCLUDED, ++state->excluded);
			continue;
		}
		if (node->ss.ps.ps_ProjInfo != NULL)
			return ExecProject(node->ss.ps.ps_ProjInfo);
		return slot;
	}
}

static void
end_scan(CustomScanState *node)
{
	TiCopyScanState *state = (TiCopyScanState *) node;

	if (state->copy != NULL && state->copy->cstate != NULL)
	{
		EndCopyFrom(state->copy->cstate);
		state->copy->cstate = NULL;
	}
	if (state->rel != NULL)
		table_close(state->rel, NoLock);
}

static void
rescan_scan(CustomScanState *node)
{
	elog(ERROR, "tenant_iso: the COPY FROM row source cannot be rescanned");
}

/*
 * Errors while the INSERT handles a row name the COPY's line, as
 * PostgreSQL's COPY does (not those of statement triggers, before the first
 * row and after the last).
 */
static void
copy_error_callback(void *arg)
{
	TiCopy	   *copy = (TiCopy *) arg;

	if (copy->cstate != NULL && copy->cstate->cur_lineno > 0 && !copy->at_end)
		CopyFromErrorCallback(copy->cstate);
}

/* Run the INSERT; returns the number of rows it stored. */
static uint64
run_insert(TiCopy *copy, PlannedStmt *plan, QueryEnvironment *queryEnv)
{
	QueryDesc  *qd;
	ErrorContextCallback errcallback;
	uint64		processed;

	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	qd = CreateQueryDesc(plan, copy->query_string, GetActiveSnapshot(), InvalidSnapshot,
						 None_Receiver, NULL, queryEnv, 0);
	ExecutorStart(qd, 0);

	errcallback.callback = copy_error_callback;
	errcallback.arg = copy;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	ti_executor_run_all(qd);
	error_context_stack = errcallback.previous;

	processed = qd->estate->es_processed;
	if (copy->cstate != NULL)
		ti_copy_report_skipped(copy->cstate);
	ExecutorFinish(qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);
	PopActiveSnapshot();
	return processed;
}

static void
run_copy(CopyStmt *stmt, Oid relid, const char *query_string, QueryEnvironment *queryEnv,
		 QueryCompletion *qc)
{
	Relation	rel = table_open(relid, NoLock);
	ParseState *pstate = make_parsestate(NULL);
	CopyFormatOptions opts;
	List	   *where = NIL;
	Query	   *query;
	PlannedStmt *plan;
	RangeTblEntry *values_rte;
	TiCopy		copy;
	TiCopy	   *outer = active;
	uint64		processed = 0;

	pstate->p_sourcetext = query_string;
	pstate->p_queryEnv = queryEnv;
	memset(&copy, 0, sizeof(copy));
	copy.relid = relid;
	copy.stmt = stmt;
	copy.query_string = query_string;

	/* what DoCopy() and CopyFrom() check before the first row, in their words */
	if (XactReadOnly && !rel->rd_islocaltemp)
		PreventCommandIfReadOnly("COPY FROM");
	memset(&opts, 0, sizeof(opts));
	ProcessCopyOptions(pstate, &opts, true, stmt->options);
	copy.attnums = CopyGetAttnums(RelationGetDescr(rel), rel, stmt->attlist);
	if (copy.attnums == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot run COPY FROM into tenant table \"%s\" without columns",
						RelationGetRelationName(rel))));
	if (opts.freeze)
		check_freeze(rel);
	if (stmt->whereClause != NULL)
		where = transform_where(pstate, rel, stmt->whereClause, copy.attnums);

	query = build_insert(rel, copy.attnums, query_string, queryEnv);
	table_close(rel, NoLock);	/* the lock stays */
	values_rte = values_rte_of(query);
	plan = pg_plan_query(query, query_string, 0, NULL);
	copy.scan = replace_values_scan(plan, values_rte, where);

	active = &copy;
	PG_TRY();
	{
		processed = run_insert(&copy, plan, queryEnv);
	}
	PG_FINALLY();
	{
		active = outer;
	}
	PG_END_TRY();

	if (qc != NULL)
		SetQueryCompletion(qc, CMDTAG_COPY, processed);
}

/*
 * Called by the guard for every COPY statement before PostgreSQL runs it:
 * run COPY ... FROM STDIN into a tenant table ourselves (returns true, qc
 * set), or leave the statement to PostgreSQL (false).
 */
bool
ti_copy_intercept(PlannedStmt *pstmt, const char *queryString, ParamListInfo params,
				  QueryEnvironment *queryEnv, QueryCompletion *qc)
{
	CopyStmt   *stmt = (CopyStmt *) pstmt->utilityStmt;
	Oid			relid;

	if (!stmt->is_from || stmt->filename != NULL || stmt->is_program || stmt->relation == NULL)
		return false;
	/* locked as DoCopy() locks it, then asked */
	relid = RangeVarGetRelidExtended(stmt->relation, RowExclusiveLock, RVR_MISSING_OK, NULL, NULL);
	if (!OidIsValid(relid) || !copy_is_ours(relid))
		return false;
	run_copy(copyObject(stmt), relid, queryString, queryEnv, qc);
	return true;
}
