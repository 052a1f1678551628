/*-------------------------------------------------------------------------
 * src/expressions.c
 *		Expressions that DDL evaluates over every row of a tenant table.
 *
 * Building an index, validating a CHECK or domain constraint, filling a
 * generated column and rewriting a column with USING evaluate expressions
 * over all rows, every tenant's, without row level security.  A function
 * in such an expression sees those rows; one that prints, stores or
 * otherwise leaks its arguments reveals other tenants' data to the role
 * that runs the DDL (the table owner).
 *
 * Invariants:
 *	- Such an expression on a tenant table may only call functions that are
 *	  leakproof, or built into PostgreSQL and immutable (no side effects).
 *	  Operators, casts (also through I/O functions) and domain checks count
 *	  as the functions they run.  The rule is checked when the object is
 *	  created (before any row is read: the object access hook runs before
 *	  the build or validation) and as an invariant of the table.
 *	- What remains possible is documented: a built-in function can raise an
 *	  error that quotes one value (a failed cast); the table owner must be
 *	  trusted with those messages.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/regproc.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/indexing.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "tenant_iso.h"

static bool unsafe_walker(Node *node, Oid *bad);

/* check_functions_in_node() callback: true (stop) for a function that may leak. */
static bool
function_may_leak(Oid funcid, void *context)
{
	if (get_func_leakproof(funcid))
		return false;
	if (funcid < FirstNormalObjectId && func_volatile(funcid) == PROVOLATILE_IMMUTABLE)
		return false;
	*(Oid *) context = funcid;
	return true;
}

/* The CHECK constraints of a domain (and of the domains it is based on) are evaluated too. */
static bool
domain_checks_unsafe(Oid typid, Oid *bad)
{
	int32		typmod = -1;

	while (get_typtype(typid) == TYPTYPE_DOMAIN)
	{
		Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		bool		unsafe = false;

		ScanKeyInit(&key, Anum_pg_constraint_contypid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(typid));
		scan = systable_beginscan(rel, ConstraintTypidIndexId, true, NULL, 1, &key);
		while (!unsafe && HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			bool		isnull;
			Datum		bin = heap_getattr(tup, Anum_pg_constraint_conbin, RelationGetDescr(rel), &isnull);

			if (!isnull)
				unsafe = unsafe_walker(stringToNode(TextDatumGetCString(bin)), bad);
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		if (unsafe)
			return true;
		typid = getBaseTypeAndTypmod(typid, &typmod);
	}
	return false;
}

static bool
unsafe_walker(Node *node, Oid *bad)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, function_may_leak, (void *) bad))
		return true;
	if (IsA(node, CoerceToDomain) && domain_checks_unsafe(((CoerceToDomain *) node)->resulttype, bad))
		return true;
	return expression_tree_walker(node, unsafe_walker, (void *) bad);
}

/*
 * Does an expression call a function that may leak the rows it is
 * evaluated over (see the file header)?  *bad names it.
 */
static bool
ti_expr_is_unsafe(Node *expr, Oid *bad)
{
	*bad = InvalidOid;
	return unsafe_walker(expr, bad);
}

/* Refuse an expression that DDL would evaluate over every row of a tenant table. */
void
ti_check_expression(Oid relid, Node *expr, const char *what)
{
	Oid			bad;

	if (!ti_expr_is_unsafe(expr, &bad))
		return;
	ti_refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
			  psprintf("%s on tenant table %s calls function %s, which may reveal other tenants' rows",
					   what, ti_qualified_name(relid), format_procedure(bad)),
			  "It is evaluated over every row of the table, every tenant's, without row level security; the function is neither leakproof nor a built-in immutable function.",
			  "Use leakproof or built-in immutable functions only, or have a superuser review the function and mark it LEAKPROOF.");
}

/* The pg_node_tree column of a catalog tuple, as a node (NULL if null). */
static Node *
node_column(HeapTuple tup, int attnum, TupleDesc desc)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum, desc, &isnull);

	return isnull ? NULL : (Node *) stringToNode(TextDatumGetCString(d));
}

/* The first column of relid whose domain has a CHECK that may leak, described; or NULL. */
static char *
unsafe_column_domain(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	char	   *found = NULL;
	Oid			bad;
	int			i;

	for (i = 0; i < desc->natts && found == NULL; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && get_typtype(att->atttypid) == TYPTYPE_DOMAIN &&
			domain_checks_unsafe(att->atttypid, &bad))
			found = psprintf("domain %s of column %s has a CHECK that calls function %s",
							 format_type_be(att->atttypid), quote_identifier(NameStr(att->attname)),
							 format_procedure(bad));
	}
	relation_close(rel, AccessShareLock);
	return found;
}

/*
 * What DDL evaluates over every row of a table, one expression at a time:
 * visit(what, expr, arg) gets a description ("index x", "CHECK constraint
 * y", "generated column z") and the expression; it returns true to stop.
 */
typedef bool (*RowExpressionVisitor) (const char *what, Node *expr, void *arg);

static bool
visit_indexes(Oid relid, Snapshot snapshot, RowExpressionVisitor visit, void *arg)
{
	Relation	rel = table_open(IndexRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		stop = false;

	ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, IndexIndrelidIndexId, true, snapshot, 1, &key);
	while (!stop && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		char	   *what = psprintf("index %s",
									quote_identifier(get_rel_name(((Form_pg_index) GETSTRUCT(tup))->indexrelid)));
		Node	   *exprs = node_column(tup, Anum_pg_index_indexprs, RelationGetDescr(rel));
		Node	   *pred = node_column(tup, Anum_pg_index_indpred, RelationGetDescr(rel));

		stop = (exprs != NULL && visit(what, exprs, arg)) || (pred != NULL && visit(what, pred, arg));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return stop;
}

static bool
visit_checks(Oid relid, Snapshot snapshot, RowExpressionVisitor visit, void *arg)
{
	Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		stop = false;

	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ConstraintRelidTypidNameIndexId, true, snapshot, 1, &key);
	while (!stop && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		if (con->contype == CONSTRAINT_CHECK)
			stop = visit(psprintf("CHECK constraint %s", quote_identifier(NameStr(con->conname))),
						 node_column(tup, Anum_pg_constraint_conbin, RelationGetDescr(rel)), arg);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return stop;
}

static bool
visit_generated(Oid relid, Snapshot snapshot, RowExpressionVisitor visit, void *arg)
{
	Relation	rel = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		stop = false;

	ScanKeyInit(&key, Anum_pg_attrdef_adrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, AttrDefaultIndexId, true, snapshot, 1, &key);
	while (!stop && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		AttrNumber	att = ((Form_pg_attrdef) GETSTRUCT(tup))->adnum;

		if (get_attgenerated(relid, att) != '\0')
			stop = visit(psprintf("generated column %s", quote_identifier(get_attname(relid, att, false))),
						 node_column(tup, Anum_pg_attrdef_adbin, RelationGetDescr(rel)), arg);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return stop;
}

static void
visit_row_expressions(Oid relid, Snapshot snapshot, RowExpressionVisitor visit, void *arg)
{
	(void) (visit_indexes(relid, snapshot, visit, arg) ||
			visit_checks(relid, snapshot, visit, arg) ||
			visit_generated(relid, snapshot, visit, arg));
}

/* visit_row_expressions(): the first expression that may leak, described. */
static bool
first_unsafe(const char *what, Node *expr, void *arg)
{
	char	  **found = (char **) arg;
	Oid			bad;

	if (!ti_expr_is_unsafe(expr, &bad))
		return false;
	*found = psprintf("%s calls function %s", what, format_procedure(bad));
	return true;
}

/*
 * The first expression of relid that DDL evaluates over every row and that
 * may leak (index expressions and predicates, CHECK constraints, generated
 * columns, CHECK constraints of the columns' domains), described for a
 * message; NULL when there is none.  snapshot: NULL for the catalog
 * snapshot, SnapshotSelf for objects the current command is creating.
 */
char *
ti_unsafe_table_expression(Oid relid, Snapshot snapshot)
{
	char	   *found = unsafe_column_domain(relid);

	if (found == NULL)
		visit_row_expressions(relid, snapshot, first_unsafe, &found);
	return found;
}

/* visit_row_expressions(): every expression, by its description. */
static bool
collect_what(const char *what, Node *expr, void *arg)
{
	List	  **names = (List **) arg;
	ListCell   *lc;

	foreach(lc, *names)
		if (strcmp(strVal(lfirst(lc)), what) == 0)
			return false;
	*names = lappend(*names, makeString(pstrdup(what)));
	return false;
}

/*
 * Everything of relid that DDL evaluates over every row, whatever it calls
 * (for the audit: an error raised there can quote a stored value), by
 * description: index expressions and predicates, CHECK constraints,
 * generated columns, columns of domains with CHECK constraints.
 */
List *
ti_row_expressions(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *names = NIL;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && DomainHasConstraints(att->atttypid))
			names = lappend(names, makeString(psprintf("column %s of domain %s",
													   quote_identifier(NameStr(att->attname)),
													   format_type_be(att->atttypid))));
	}
	relation_close(rel, AccessShareLock);
	visit_row_expressions(relid, NULL, collect_what, &names);
	return names;
}

/* Does an expression read a column other than attnum? */
static bool
other_column_walker(Node *node, AttrNumber *attnum)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varattno != *attnum;
	return expression_tree_walker(node, other_column_walker, (void *) attnum);
}

/*
 * The expression ALTER COLUMN ... TYPE evaluates over every row, as
 * PostgreSQL builds it: the USING expression (or the column itself),
 * coerced to the new type by assignment (casts, I/O, domain checks).
 */
static Node *
column_transform(Relation rel, AttrNumber attnum, ColumnDef *def)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	Node	   *expr;
	Oid			target;
	int32		typmod;

	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	if (def->raw_default != NULL)
		expr = transformExpr(pstate, copyObject(def->raw_default), EXPR_KIND_ALTER_COL_TRANSFORM);
	else
		expr = (Node *) makeVar(1, attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
	typenameTypeIdAndMod(pstate, def->typeName, &target, &typmod);
	return coerce_to_target_type(pstate, expr, exprType(expr), target, typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
}

/* ALTER COLUMN ... TYPE [USING expr] of one column of a tenant table. */
static void
check_column_rewrite(Oid relid, const char *colname, ColumnDef *def)
{
	Relation	rel = relation_open(relid, NoLock);
	AttrNumber	attnum = get_attnum(relid, colname);
	Node	   *expr = NULL;

	if (attnum > 0)
		expr = column_transform(rel, attnum, def);
	relation_close(rel, NoLock);
	if (attnum <= 0)
		return;					/* PostgreSQL reports the missing column */
	if (def->raw_default != NULL && other_column_walker(expr, &attnum))
		ti_refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
				  psprintf("USING expression for column \"%s\" of tenant table %s reads other columns",
						   colname, ti_qualified_name(relid)),
				  "The rewrite runs over every row, every tenant's, without row level security: an expression that reads other columns (organization_id among them) could change one tenant's rows based on another's, or single them out.",
				  "Convert the column from its own value only, or migrate the data with UPDATE under each tenant.");
	if (expr != NULL)
		ti_check_expression(relid, expr, def->raw_default != NULL ? "a USING expression" : "the conversion to the new type");
}

/*
 * The USING expressions of ALTER TABLE ... ALTER COLUMN ... TYPE on a tenant
 * table, checked before the rewrite runs.  A new generation expression for
 * organization_id (SET EXPRESSION, 17 and later) would recompute the
 * organization of every row, every tenant's: refused (TI003).
 */
void
ti_check_column_rewrites(Oid relid, AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_AlterColumnType && cmd->def != NULL && IsA(cmd->def, ColumnDef))
			check_column_rewrite(relid, cmd->name, (ColumnDef *) cmd->def);
		if (ti_at_sets_expression(cmd) && cmd->name != NULL && strcmp(cmd->name, TI_COLUMN) == 0)
			ti_refuse(ERRCODE_TI_CROSS_TENANT_WRITE,
					  psprintf("cannot change the generation expression of column \"%s\" of tenant table %s",
							   TI_COLUMN, ti_qualified_name(relid)),
					  "SET EXPRESSION recomputes organization_id of every row, every tenant's, without row level security: it would move rows from one organization to another.",
					  "Keep the expression, or DROP EXPRESSION to keep the stored values.");
	}
}
