/*-------------------------------------------------------------------------
 * src/managed.c
 *		Which tables must be tenant tables: the "managed" rule, exemptions
 *		(global tables and schemas), and the inheritance rule.
 *
 * The schema check, tenant_iso.enroll(), the guard and tenant_iso.audit()
 * all classify tables here (the audit through tenant_iso._table_kinds()).
 *
 * Invariants:
 *	- A managed table is an ordinary or partitioned table that is not
 *	  temporary, not in a system schema, information_schema or tenant_iso,
 *	  not created by an extension's script, and not exempt (its schema, or
 *	  the table by name, in tenant_iso.exemptions).  Every managed table is
 *	  a tenant table or is refused.
 *	- Exemptions are recorded by name (so they can precede the table and
 *	  survive pg_dump); when an exempt table is renamed or moved, or an
 *	  exempt schema renamed, the record follows it.
 *	- A tenant table's ancestors (partition or inheritance parents, at any
 *	  level) are tenant tables too.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "tenant_iso.h"


/* The exemptions, loaded once per caller: a List of char *[2] {schema, table or NULL}. */
List *
ti_load_exemptions(void)
{
	if (!OidIsValid(ti_extension_owner()))
		return NIL;
	return ti_internal_query("SELECT schema_name, table_name FROM tenant_iso.exemptions",
							 0, NULL, NULL, 0, 2);
}

static bool
is_exempt(List *exemptions, const char *nspname, const char *relname)
{
	ListCell   *lc;

	foreach(lc, exemptions)
	{
		char	  **row = (char **) lfirst(lc);

		if (strcmp(row[0], nspname) == 0 && (row[1] == NULL || strcmp(row[1], relname) == 0))
			return true;
	}
	return false;
}

/* Schemas that never hold tenant tables. */
static bool
ti_schema_is_system(Oid nspid)
{
	char	   *name = get_namespace_name(nspid);

	return name == NULL || IsCatalogNamespace(nspid) || IsToastNamespace(nspid) ||
		isAnyTempNamespace(nspid) || strcmp(name, TI_SCHEMA) == 0 ||
		strcmp(name, "information_schema") == 0;
}

/* The kind of a relation (see TiTableKind), with exemptions already loaded. */
TiTableKind
ti_table_kind_with(Oid relid, List *exemptions)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class cls;
	TiTableKind kind;

	if (!HeapTupleIsValid(tup))
		return TI_KIND_MISSING;
	cls = (Form_pg_class) GETSTRUCT(tup);
	if (cls->relkind == RELKIND_FOREIGN_TABLE)
		kind = TI_KIND_FOREIGN;
	else if (cls->relkind != RELKIND_RELATION && cls->relkind != RELKIND_PARTITIONED_TABLE)
		kind = TI_KIND_NOT_TABLE;
	else if (cls->relpersistence == RELPERSISTENCE_TEMP)
		kind = TI_KIND_TEMPORARY;
	else if (ti_schema_is_system(cls->relnamespace))
		kind = TI_KIND_SYSTEM;
	else
		kind = TI_KIND_MANAGED;
	if ((kind == TI_KIND_MANAGED || kind == TI_KIND_FOREIGN) &&
		OidIsValid(getExtensionOfObject(RelationRelationId, relid)))
		kind = TI_KIND_EXTENSION;
	if ((kind == TI_KIND_MANAGED || kind == TI_KIND_FOREIGN) &&
		is_exempt(exemptions, get_namespace_name(cls->relnamespace), NameStr(cls->relname)))
		kind = TI_KIND_EXEMPT;
	ReleaseSysCache(tup);
	return kind;
}

static TiTableKind
ti_table_kind(Oid relid)
{
	return ti_table_kind_with(relid, ti_load_exemptions());
}

bool
ti_relation_is_managed(Oid relid)
{
	return ti_table_kind(relid) == TI_KIND_MANAGED;
}

/* The direct parents of relid (partition or inheritance). */
static List *
parents_of(Oid relid)
{
	Relation	rel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		result = lappend_oid(result, ((Form_pg_inherits) GETSTRUCT(tup))->inhparent);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* Every ancestor of relid, nearest first. */
static List *
ancestors_of(Oid relid)
{
	List	   *result = NIL;
	List	   *todo = parents_of(relid);

	while (todo != NIL)
	{
		Oid			parent = linitial_oid(todo);

		todo = list_delete_first(todo);
		if (list_member_oid(result, parent))
			continue;
		result = lappend_oid(result, parent);
		todo = list_concat(todo, parents_of(parent));
	}
	return result;
}

/* An ancestor (at any level) that is not a tenant table, or InvalidOid. */
Oid
ti_non_tenant_ancestor(Oid relid)
{
	ListCell   *lc;

	foreach(lc, ancestors_of(relid))
		if (!ti_relid_has_isolation_policy(lfirst_oid(lc)))
			return lfirst_oid(lc);
	return InvalidOid;
}

/* Is any ancestor (at any level) a tenant table? */
bool
ti_has_tenant_ancestor(Oid relid)
{
	ListCell   *lc;

	foreach(lc, ancestors_of(relid))
		if (ti_relid_has_isolation_policy(lfirst_oid(lc)))
			return true;
	return false;
}

/* A renamed or moved exempt table keeps its exemption. */
void
ti_follow_table_exemption(Oid relid, const char *old_nsp, const char *old_rel)
{
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char	   *new_rel = get_rel_name(relid);

	if (new_rel == NULL)
		return;
	values[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(relid)));
	values[1] = CStringGetTextDatum(new_rel);
	values[2] = CStringGetTextDatum(old_nsp);
	values[3] = CStringGetTextDatum(old_rel);
	(void) ti_internal_query("UPDATE tenant_iso.exemptions SET schema_name = $1, table_name = $2 "
							 "WHERE schema_name OPERATOR(pg_catalog.=) $3 AND table_name OPERATOR(pg_catalog.=) $4",
							 4, argtypes, values, 0, 0);
}

/* A renamed schema keeps its exemptions (of the schema and of its tables). */
void
ti_follow_schema_exemption(const char *old_nsp, const char *new_nsp)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(new_nsp);
	values[1] = CStringGetTextDatum(old_nsp);
	(void) ti_internal_query("UPDATE tenant_iso.exemptions SET schema_name = $1 "
							 "WHERE schema_name OPERATOR(pg_catalog.=) $2",
							 2, argtypes, values, 0, 0);
}
