/*-------------------------------------------------------------------------
 * src/catalog.c
 *		Catalog rows as the running command sees them, and how their parts
 *		are named in messages.  A leaf.
 *
 *		Rows are read with SnapshotSelf: the object access hook and the
 *		guard look at objects the current command may have just created,
 *		before any CommandCounterIncrement.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

/*
 * The row of an object of catalog by its OID (oidatt, unique index oidindex),
 * copied; NULL when not found.  The catalog's tuple descriptor goes to *desc
 * unless desc is NULL.
 */
HeapTuple
ti_catalog_row(Oid catalog, Oid oidindex, AttrNumber oidatt, Oid objectId, TupleDesc *desc)
{
	Relation	rel = table_open(catalog, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, oidatt, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objectId));
	scan = systable_beginscan(rel, oidindex, true, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		tup = heap_copytuple(tup);
	if (desc != NULL)
		*desc = CreateTupleDescCopy(RelationGetDescr(rel));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return tup;
}

/* The key columns of an index of relid, as "a, b" ("expression" for expressions). */
char *
ti_index_key_columns(Oid relid, Form_pg_index index)
{
	StringInfoData cols;
	int			i;

	initStringInfo(&cols);
	for (i = 0; i < index->indnkeyatts; i++)
	{
		AttrNumber	att = index->indkey.values[i];
		char	   *name = att > 0 ? get_attname(relid, att, true) : NULL;

		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "", name ? quote_identifier(name) : "expression");
	}
	return cols.data;
}

/* The owner of a relation (the relcache's pg_class row). */
Oid
ti_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}
