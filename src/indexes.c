/*-------------------------------------------------------------------------
 * src/indexes.c
 *		Indexes of tenant tables.
 *
 * Invariants:
 *	- A new unique or exclusion index of a tenant table includes
 *	  organization_id (an exclusion constraint compares it with =), or is
 *	  on a single uuid column; otherwise its conflict errors would tell one
 *	  tenant what another tenant holds.  Checked when the index is created,
 *	  before it is built (the build itself would raise such an error).
 *	- Its expressions and predicate pass the rule of expressions.c, also
 *	  before the build.
 *	- An index that does not lead with organization_id gets a WARNING, or
 *	  is refused under tenant_iso.strict_indexes: its index condition runs
 *	  before the tenant filter, so EXPLAIN ANALYZE row counts could reveal
 *	  other tenants' values.
 *	- DROP INDEX CONCURRENTLY of an index leading with organization_id is
 *	  refused: it commits in steps and cannot be rolled back by the guard.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

static List *ti_index_list(Oid relid);

/* uuid = uuid */
#define TI_OID_UUID_EQ_OP		2972

static bool strict_indexes = false;

void
ti_indexes_init(void)
{
	DefineCustomBoolVariable("tenant_iso.strict_indexes",
							 "Refuses indexes on tenant tables that do not lead with organization_id.",
							 "Off (the default): such an index gets a WARNING. An index condition that runs before "
							 "the tenant filter lets EXPLAIN ANALYZE act as a value oracle. Indexes on a single uuid "
							 "column are exempt.",
							 &strict_indexes, false, PGC_SUSET, 0, NULL, NULL, NULL);
}

/* The exclusion operators of an index's constraint (NULL when none), current command included. */
static Oid *
exclusion_ops(Oid relid, Oid indexoid, int *n)
{
	Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid		   *ops = NULL;

	*n = 0;
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ConstraintRelidTypidNameIndexId, true, SnapshotSelf, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		bool		isnull;
		Datum		d;

		if (con->contype != CONSTRAINT_EXCLUSION || con->conindid != indexoid)
			continue;
		d = heap_getattr(tup, Anum_pg_constraint_conexclop, RelationGetDescr(rel), &isnull);
		if (!isnull)
		{
			ArrayType  *arr = DatumGetArrayTypePCopy(d);

			*n = ARR_DIMS(arr)[0];
			ops = (Oid *) ARR_DATA_PTR(arr);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return ops;
}

/* Does a unique or exclusion index compare organization_id by equality? */
static bool
key_has_tenant(Oid relid, Form_pg_index index, AttrNumber orgatt)
{
	int			i,
				nops = 0;
	Oid		   *ops = index->indisexclusion ? exclusion_ops(relid, index->indexrelid, &nops) : NULL;

	for (i = 0; i < index->indnkeyatts; i++)
	{
		if (index->indkey.values[i] != orgatt)
			continue;
		if (!index->indisexclusion)
			return true;
		if (ops == NULL || (i < nops && ops[i] == TI_OID_UUID_EQ_OP))
			return true;
	}
	return false;
}

static void
refuse_key(Oid relid, Form_pg_index index)
{
	char	   *cols = ti_index_key_columns(relid, index);

	ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
			  psprintf("statement would break tenant isolation of table %s", ti_qualified_name(relid)),
			  index->indisexclusion ?
			  "An exclusion constraint that does not compare \"organization_id\" with = would tell one tenant, through its conflict errors, that another tenant holds a value." :
			  "A unique or exclusion key without \"organization_id\" would tell one tenant, through its conflict errors, that a value exists at another.",
			  index->indisexclusion ?
			  psprintf("Compare the tenant with equality: EXCLUDE (organization_id WITH =, %s).", cols) :
			  psprintf("Include organization_id in the key, e.g. UNIQUE (organization_id, %s).", cols));
}

/*
 * A new index of a guarded table, checked before it is built: its key (see
 * the file header) and its expressions.
 */
void
ti_check_new_index(Oid relid, Oid indexoid)
{
	HeapTuple	tup = ti_catalog_row(IndexRelationId, IndexRelidIndexId, Anum_pg_index_indexrelid, indexoid, NULL);
	Relation	pg_index;
	Form_pg_index index;
	AttrNumber	orgatt = get_attnum(relid, TI_COLUMN);
	bool		isnull;
	Datum		exprs;
	Datum		pred;

	if (!HeapTupleIsValid(tup))
		return;
	index = (Form_pg_index) GETSTRUCT(tup);
	if ((index->indisunique || index->indisexclusion) && !key_has_tenant(relid, index, orgatt) &&
		!(index->indisunique && ti_index_is_single_uuid(relid, index)))
		refuse_key(relid, index);
	pg_index = table_open(IndexRelationId, AccessShareLock);
	exprs = heap_getattr(tup, Anum_pg_index_indexprs, RelationGetDescr(pg_index), &isnull);
	if (!isnull)
		ti_check_expression(relid, stringToNode(TextDatumGetCString(exprs)), "an index expression");
	pred = heap_getattr(tup, Anum_pg_index_indpred, RelationGetDescr(pg_index), &isnull);
	if (!isnull)
		ti_check_expression(relid, stringToNode(TextDatumGetCString(pred)), "an index predicate");
	table_close(pg_index, AccessShareLock);
	heap_freetuple(tup);
}

/*
 * Warn about (or, under tenant_iso.strict_indexes, refuse) each index of a
 * tenant table that does not lead with organization_id: the given indexes,
 * or all of them (NIL).
 */
void
ti_check_index_leading(Oid relid, List *indexes)
{
	ListCell   *lc;
	AttrNumber	orgatt = get_attnum(relid, TI_COLUMN);

	if (indexes == NIL)
		indexes = ti_index_list(relid);
	foreach(lc, indexes)
	{
		HeapTuple	tup;
		bool		ok;

		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		if (!HeapTupleIsValid(tup))
			continue;
		ok = ti_index_leads_with_tenant((Form_pg_index) GETSTRUCT(tup), orgatt) ||
			ti_index_is_single_uuid(relid, (Form_pg_index) GETSTRUCT(tup));
		ReleaseSysCache(tup);
		if (ok)
			continue;
		ereport(strict_indexes && !ti_unsafe_ddl() ? ERROR : WARNING,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("index %s on tenant table %s does not lead with \"organization_id\"",
						quote_identifier(get_rel_name(lfirst_oid(lc))), ti_qualified_name(relid)),
				 errdetail("Its index condition runs before the tenant filter, so EXPLAIN ANALYZE row counts could reveal other tenants' values."),
				 errhint("Lead the index with organization_id, e.g. CREATE INDEX ON %s (organization_id, ...); btree_gin and btree_gist allow that for GIN and GiST.",
						 ti_qualified_name(relid))));
	}
}

/* The indexes of a table (to spot the ones a statement adds). */
static List *
ti_index_list(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	List	   *result;

	if (!RelationIsValid(rel))
		return NIL;
	result = RelationGetIndexList(rel);
	RelationClose(rel);
	return result;
}

/* DROP INDEX CONCURRENTLY of an index leading with organization_id is refused. */
void
ti_check_drop_index_concurrently(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Oid			indexoid = RangeVarGetRelid(makeRangeVarFromNameList((List *) lfirst(lc)), NoLock, true);
		Oid			heapoid = OidIsValid(indexoid) ? IndexGetRelation(indexoid, true) : InvalidOid;
		HeapTuple	tup;
		bool		leads;

		if (!OidIsValid(heapoid) || !ti_relid_is_guarded(heapoid))
			continue;
		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(tup))
			continue;
		leads = ti_index_leads_with_tenant((Form_pg_index) GETSTRUCT(tup), get_attnum(heapoid, TI_COLUMN));
		ReleaseSysCache(tup);
		if (leads)
			ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
					  psprintf("cannot drop an index of tenant table %s that leads with \"organization_id\" concurrently",
							   ti_qualified_name(heapoid)),
					  "DROP INDEX CONCURRENTLY cannot be rolled back, so the guard could not undo it if it removed the last tenant index.",
					  "Use DROP INDEX without CONCURRENTLY.");
	}
}

/*
 * Is a partial index's predicate free of values: AND, OR and NOT over
 * IS [NOT] NULL tests and boolean columns?  The size and row count of a
 * partial index (pg_class.reltuples, pg_relation_size()) count the matching
 * rows of every tenant, so a predicate that compares a column with a value
 * would tell the table's owner how many rows of other tenants match it.
 */
bool
ti_predicate_is_value_free(Node *pred)
{
	ListCell   *lc;

	if (pred == NULL)
		return true;
	if (IsA(pred, List))
	{
		foreach(lc, (List *) pred)
			if (!ti_predicate_is_value_free(lfirst(lc)))
				return false;
		return true;
	}
	if (IsA(pred, BoolExpr))
		return ti_predicate_is_value_free((Node *) ((BoolExpr *) pred)->args);
	if (IsA(pred, NullTest))
		return IsA(((NullTest *) pred)->arg, Var);
	if (IsA(pred, BooleanTest))
		return IsA(((BooleanTest *) pred)->arg, Var);
	return IsA(pred, Var) && ((Var *) pred)->vartype == BOOLOID;
}
