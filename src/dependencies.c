/*-------------------------------------------------------------------------
 * src/dependencies.c
 *		What tenant tables depend on, by PostgreSQL's own dependency graph
 *		(pg_depend), in both directions:
 *
 *		- ti_tables_depending_on(): the tenant tables whose columns, defaults,
 *		  constraints, indexes, triggers, policies or rules depend, directly
 *		  or through other objects (domains over domains, functions with SQL
 *		  bodies, casts), on an object.  When the object changes (a function
 *		  replaced, a domain constraint added), the guard re-checks them.
 *		- ti_temporary_dependency(): the first object in a temporary schema a
 *		  tenant table depends on.  Temporary objects are dropped with CASCADE
 *		  at COMMIT (ON COMMIT DROP) or when their session ends, outside any
 *		  statement the guard sees, and the cascade would reach the table.
 *
 *		Both walks follow every kind of dependency except extension
 *		membership, stop at pinned (system) objects, and are bounded.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_conversion.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_type.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "tenant_iso.h"

/* Walks stop after this many objects (a schema of ordinary size needs far fewer). */
#define TI_MAX_WALK 20000

typedef struct DepObject
{
	Oid			classId;
	Oid			objectId;
} DepObject;

/* The objects on one side of pg_depend rows about (classId, objectId). */
static List *
dependency_neighbours(Oid classId, Oid objectId, bool dependents)
{
	Relation	rel = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	ScanKeyInit(&key[0], dependents ? Anum_pg_depend_refclassid : Anum_pg_depend_classid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(classId));
	ScanKeyInit(&key[1], dependents ? Anum_pg_depend_refobjid : Anum_pg_depend_objid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objectId));
	scan = systable_beginscan(rel, dependents ? DependReferenceIndexId : DependDependerIndexId,
							  true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
		DepObject  *o;

		if (dep->deptype == DEPENDENCY_EXTENSION || dep->deptype == DEPENDENCY_AUTO_EXTENSION)
			continue;
		o = palloc(sizeof(DepObject));
		o->classId = dependents ? dep->classid : dep->refclassid;
		o->objectId = dependents ? dep->objid : dep->refobjid;
		result = lappend(result, o);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* A set of objects, for a walk (freed with the current memory context). */
static HTAB *
object_set(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(DepObject);
	ctl.entrysize = sizeof(DepObject);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("tenant_iso dependency walk", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Add o to the set; false when it was there already. */
static bool
first_visit(HTAB *set, DepObject *o)
{
	DepObject	key;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.classId = o->classId;
	key.objectId = o->objectId;
	hash_search(set, &key, HASH_ENTER, &found);
	return !found;
}

/* An ordinary or partitioned table? */
static bool
is_table(Oid classId, Oid objectId)
{
	char		relkind;

	if (classId != RelationRelationId)
		return false;
	relkind = get_rel_relkind(objectId);
	return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE;
}

/* The table a sub-object (default, constraint, index, trigger, policy, rule) belongs to. */
static Oid
owning_table(DepObject *o)
{
	ListCell   *lc;

	if (is_table(o->classId, o->objectId))
		return o->objectId;
	foreach(lc, dependency_neighbours(o->classId, o->objectId, false))
	{
		DepObject  *r = (DepObject *) lfirst(lc);

		if (is_table(r->classId, r->objectId))
			return r->objectId;
		if (r->classId == RelationRelationId && get_rel_relkind(r->objectId) == RELKIND_INDEX)
			return IndexGetRelation(r->objectId, true);
	}
	return InvalidOid;
}

/*
 * The guarded tenant tables that depend, directly or transitively, on the
 * object (classId, objectId).
 */
List *
ti_tables_depending_on(Oid classId, Oid objectId)
{
	HTAB	   *visited = object_set();
	List	   *queue;
	List	   *tables = NIL;
	DepObject  *start = palloc(sizeof(DepObject));

	start->classId = classId;
	start->objectId = objectId;
	queue = list_make1(start);
	first_visit(visited, start);
	while (queue != NIL && hash_get_num_entries(visited) < TI_MAX_WALK)
	{
		DepObject  *o = (DepObject *) linitial(queue);
		ListCell   *lc;

		queue = list_delete_first(queue);
		foreach(lc, dependency_neighbours(o->classId, o->objectId, true))
		{
			DepObject  *d = (DepObject *) lfirst(lc);
			Oid			table;

			if (!first_visit(visited, d))
				continue;
			table = owning_table(d);
			if (OidIsValid(table) && ti_relid_is_guarded(table))
				tables = list_append_unique_oid(tables, table);
			if (!is_table(d->classId, d->objectId))
				queue = lappend(queue, d);
		}
	}
	return tables;
}

/* The schema of an object of a catalog that has schemas (InvalidOid otherwise). */
static Oid
object_schema(DepObject *o)
{
	ObjectAddress addr;

	if (o->classId == NamespaceRelationId)
		return o->objectId;
	if (o->classId != RelationRelationId && o->classId != TypeRelationId &&
		o->classId != ProcedureRelationId && o->classId != OperatorRelationId &&
		o->classId != CollationRelationId && o->classId != ConversionRelationId &&
		o->classId != OperatorClassRelationId && o->classId != OperatorFamilyRelationId &&
		o->classId != StatisticExtRelationId)
		return InvalidOid;
	ObjectAddressSet(addr, o->classId, o->objectId);
	return get_object_namespace(&addr);
}

/* The table and its sub-objects, added to visited: where the forward walk starts. */
static List *
table_and_parts(Oid relid, HTAB *visited)
{
	DepObject  *t = palloc(sizeof(DepObject));
	List	   *parts;
	ListCell   *lc;

	t->classId = RelationRelationId;
	t->objectId = relid;
	parts = list_make1(t);
	first_visit(visited, t);
	foreach(lc, dependency_neighbours(RelationRelationId, relid, true))
	{
		DepObject  *d = (DepObject *) lfirst(lc);

		if (owning_table(d) == relid && first_visit(visited, d))
			parts = lappend(parts, d);
	}
	return parts;
}

/*
 * The description of the first object in a temporary schema that relid
 * depends on (directly, or through its parts and the objects they use), or
 * NULL.
 */
char *
ti_temporary_dependency(Oid relid)
{
	HTAB	   *visited = object_set();
	List	   *queue = table_and_parts(relid, visited);

	while (queue != NIL && hash_get_num_entries(visited) < TI_MAX_WALK)
	{
		DepObject  *o = (DepObject *) linitial(queue);
		ListCell   *lc;

		queue = list_delete_first(queue);
		foreach(lc, dependency_neighbours(o->classId, o->objectId, false))
		{
			DepObject  *r = (DepObject *) lfirst(lc);
			Oid			nsp;
			ObjectAddress addr;

			if (IsPinnedObject(r->classId, r->objectId) || !first_visit(visited, r))
				continue;
			nsp = object_schema(r);
			if (OidIsValid(nsp) && isAnyTempNamespace(nsp))
			{
				ObjectAddressSet(addr, r->classId, r->objectId);
				return getObjectDescription(&addr, true);
			}
			queue = lappend(queue, r);
		}
	}
	return NULL;
}
