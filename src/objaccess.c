/*-------------------------------------------------------------------------
 * src/objaccess.c
 *		The object access hook: every creation, alteration, drop and
 *		truncation of a catalog object reaches it, whatever statement or
 *		cascade caused it (DROP ... CASCADE, DROP OWNED, DROP EXTENSION of
 *		another extension, ALTER DOMAIN, ...).  contrib/sepgsql is the model.
 *
 * It maps the object to the tenant table it belongs to (a column, index,
 * constraint, policy, trigger, rule, default, statistics object of the
 * table; the columns of a domain's type) and then:
 *	- refuses at once what must never run: a rule on a tenant table, a
 *	  TRUNCATE by a role tenant scoping applies to, an unsafe expression or
 *	  a key without organization_id before an index is built or a
 *	  constraint validated, expression statistics, a change of the
 *	  extension's schema;
 *	- notes the table for the guard, which verifies its invariants when the
 *	  statement ends (guard.c).
 * Nothing is checked while the extension itself runs DDL or is being
 * created or updated.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tenant_iso.h"

static object_access_hook_type prev_object_access = NULL;

/* The pg_node_tree column of a row, as a node (NULL if null). */
static Node *
node_column(HeapTuple tup, int attnum, TupleDesc desc)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum, desc, &isnull);

	return isnull ? NULL : (Node *) stringToNode(TextDatumGetCString(d));
}

/*
 * The guarded table a relation belongs to (itself, or an index's table), or
 * InvalidOid.  An index the current command creates is found with
 * SnapshotSelf (its rows are not in the caches yet).
 */
static Oid
guarded_table_of_relation(Oid relid)
{
	TupleDesc	desc;
	HeapTuple	tup = ti_catalog_row(IndexRelationId, IndexRelidIndexId, Anum_pg_index_indexrelid,
								 relid, &desc);

	if (HeapTupleIsValid(tup))
		relid = ((Form_pg_index) GETSTRUCT(tup))->indrelid;
	return ti_relid_is_guarded(relid) ? relid : InvalidOid;
}


static void
refuse_expression_statistics(Oid relid)
{
	ti_refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
			  psprintf("cannot create statistics on expressions of tenant table %s", ti_qualified_name(relid)),
			  "ANALYZE would evaluate the expressions over every tenant's rows, and their statistics are readable beyond the current tenant.",
			  "Create statistics on columns only.");
}

/* A new constraint: a CHECK of a tenant table, or of a domain tenant tables use. */
static void
post_create_constraint(Oid objectId)
{
	TupleDesc	desc;
	HeapTuple	tup = ti_catalog_row(ConstraintRelationId, ConstraintOidIndexId, Anum_pg_constraint_oid,
								 objectId, &desc);
	Form_pg_constraint con;
	ListCell   *lc;

	if (!HeapTupleIsValid(tup))
		return;
	con = (Form_pg_constraint) GETSTRUCT(tup);
	if (OidIsValid(con->conrelid) && ti_relid_is_guarded(con->conrelid))
	{
		if (con->contype == CONSTRAINT_CHECK)
			ti_check_expression(con->conrelid, node_column(tup, Anum_pg_constraint_conbin, desc),
								"a CHECK constraint");
		ti_guard_note_table(con->conrelid, false);
	}
	if (OidIsValid(con->contypid) && con->contype == CONSTRAINT_CHECK)
	{
		foreach(lc, ti_tables_depending_on(TypeRelationId, con->contypid))
			ti_check_expression(lfirst_oid(lc), node_column(tup, Anum_pg_constraint_conbin, desc),
								"a domain CHECK constraint");
	}
}

/* The pg_attrdef row of a column the current command may have just given a default. */
static HeapTuple
attrdef_row(Oid relid, AttrNumber attnum, TupleDesc *desc)
{
	Relation	rel = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber, F_INT2EQ, Int16GetDatum(attnum));
	scan = systable_beginscan(rel, AttrDefaultIndexId, true, SnapshotSelf, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		tup = heap_copytuple(tup);
	*desc = CreateTupleDescCopy(RelationGetDescr(rel));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return tup;
}

/*
 * A new column default of a tenant table (PostgreSQL passes the table and
 * the column number, not the default's OID): a generated column's
 * expression must be safe before the table is filled.
 */
static void
post_create_default(Oid relid, AttrNumber attnum)
{
	TupleDesc	desc;
	HeapTuple	tup;

	if (!ti_relid_is_guarded(relid))
		return;
	tup = attrdef_row(relid, attnum, &desc);
	if (HeapTupleIsValid(tup) && get_attgenerated(relid, attnum) != '\0')
		ti_check_expression(relid, node_column(tup, Anum_pg_attrdef_adbin, desc), "a generated column");
	ti_guard_note_table(relid, false);
}

static void
post_create_statistics(Oid objectId)
{
	TupleDesc	desc;
	HeapTuple	tup = ti_catalog_row(StatisticExtRelationId, StatisticExtOidIndexId, Anum_pg_statistic_ext_oid,
								 objectId, &desc);
	Oid			relid;

	if (!HeapTupleIsValid(tup))
		return;
	relid = ((Form_pg_statistic_ext) GETSTRUCT(tup))->stxrelid;
	if (ti_relid_is_guarded(relid) && node_column(tup, Anum_pg_statistic_ext_stxexprs, desc) != NULL)
		refuse_expression_statistics(relid);
}

/* The name of a rule the current command may have just created. */
static char *
rule_name(Oid objectId)
{
	TupleDesc	desc;
	HeapTuple	tup = ti_catalog_row(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid, objectId, &desc);

	return HeapTupleIsValid(tup) ? pstrdup(NameStr(((Form_pg_rewrite) GETSTRUCT(tup))->rulename)) : "?";
}

/* The table a policy, trigger or rule belongs to. */
static Oid
owning_table(Oid classId, Oid objectId)
{
	TupleDesc	desc;
	HeapTuple	tup;

	switch (classId)
	{
		case PolicyRelationId:
			tup = ti_catalog_row(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid, objectId, &desc);
			return HeapTupleIsValid(tup) ? ((Form_pg_policy) GETSTRUCT(tup))->polrelid : InvalidOid;
		case TriggerRelationId:
			tup = ti_catalog_row(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid, objectId, &desc);
			return HeapTupleIsValid(tup) ? ((Form_pg_trigger) GETSTRUCT(tup))->tgrelid : InvalidOid;
		case RewriteRelationId:
			tup = ti_catalog_row(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid, objectId, &desc);
			return HeapTupleIsValid(tup) ? ((Form_pg_rewrite) GETSTRUCT(tup))->ev_class : InvalidOid;
		case ConstraintRelationId:
			tup = ti_catalog_row(ConstraintRelationId, ConstraintOidIndexId, Anum_pg_constraint_oid, objectId, &desc);
			return HeapTupleIsValid(tup) ? ((Form_pg_constraint) GETSTRUCT(tup))->conrelid : InvalidOid;
		case AttrDefaultRelationId:
			tup = ti_catalog_row(AttrDefaultRelationId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid, objectId, &desc);
			return HeapTupleIsValid(tup) ? ((Form_pg_attrdef) GETSTRUCT(tup))->adrelid : InvalidOid;
		default:
			return InvalidOid;
	}
}

/*
 * An object tenant tables use (a type or domain, directly or under other
 * domains; a function, also through domains) changed: the tables are checked.
 */
static void
note_dependent_tables(Oid classId, Oid objectId)
{
	ListCell   *lc;

	foreach(lc, ti_tables_depending_on(classId, objectId))
		ti_guard_note_table(lfirst_oid(lc), false);
}

static void
post_create(Oid classId, Oid objectId, int subId)
{
	Oid			relid;

	switch (classId)
	{
		case RelationRelationId:
			relid = guarded_table_of_relation(objectId);
			if (!OidIsValid(relid))
				return;
			if (relid != objectId && subId == 0)
			{
				ti_check_new_index(relid, objectId);
				ti_guard_note_new_index(relid, objectId);
			}
			ti_guard_note_table(relid, false);
			return;
		case ConstraintRelationId:
			post_create_constraint(objectId);
			return;
		case AttrDefaultRelationId:
			post_create_default(objectId, (AttrNumber) subId);
			return;
		case ProcedureRelationId:
			/* CREATE OR REPLACE of a function that tenant tables use */
			note_dependent_tables(classId, objectId);
			return;
		case StatisticExtRelationId:
			post_create_statistics(objectId);
			return;
		case RewriteRelationId:
			relid = owning_table(classId, objectId);
			if (OidIsValid(relid) && ti_relid_is_guarded(relid))
				ti_refuse_rule(relid, rule_name(objectId));
			return;
		case PolicyRelationId:
		case TriggerRelationId:
			relid = owning_table(classId, objectId);
			if (OidIsValid(relid) && ti_relid_is_guarded(relid))
				ti_guard_note_table(relid, false);
			return;
		default:
			return;
	}
}

/* The extension's schema may not be renamed or given away (its name is in every statement). */
static void
post_alter_namespace(Oid objectId)
{
	if (objectId == ti_schema_oid())
		ti_refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
				  "cannot alter schema tenant_iso",
				  "The schema belongs to extension tenant_iso: its name and owner are part of the tenant boundary.",
				  "Leave the schema as the extension created it.");
}


/*
 * An object was altered, or is about to be dropped: note its tenant table for
 * the guard (before a drop with the table's state before it, so that only new
 * damage is refused).
 */
static void
note_object(Oid classId, Oid objectId, bool before_drop)
{
	Oid			relid;

	if (classId == TypeRelationId || classId == ProcedureRelationId)
	{
		note_dependent_tables(classId, objectId);
		return;
	}
	if (classId == NamespaceRelationId && !before_drop)
	{
		post_alter_namespace(objectId);
		return;
	}
	relid = classId == RelationRelationId ? guarded_table_of_relation(objectId) :
		owning_table(classId, objectId);
	if (OidIsValid(relid) && ti_relid_is_guarded(relid))
		ti_guard_note_table(relid, before_drop);
}

/* TRUNCATE ignores row level security: refused for roles tenant scoping applies to. */
static void
pre_truncate(Oid relid)
{
	if (relid == ti_registry_oid())
		ti_refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
				  "cannot truncate tenant_iso.organizations",
				  "The rows of every organization's tenant tables would stay behind without an organization.",
				  "Use tenant_iso.drop_organization(id) for each organization.");
	if (ti_relid_is_tenant_table(relid) && ti_tenant_scoping_applies(InvalidOid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot truncate tenant table %s", ti_qualified_name(relid)),
				 errdetail("TRUNCATE ignores row level security and would empty the table for every organization."),
				 errhint("Use DELETE FROM %s to remove the current tenant's rows.", ti_qualified_name(relid))));
}

static void
ti_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (ti_internal_active() || creating_extension || !IsTransactionState() ||
		!OidIsValid(ti_schema_oid()))
		return;
	switch (access)
	{
		case OAT_POST_CREATE:
			post_create(classId, objectId, subId);
			break;
		case OAT_POST_ALTER:
			note_object(classId, objectId, false);
			break;
		case OAT_DROP:
			note_object(classId, objectId, true);
			break;
		case OAT_TRUNCATE:
			pre_truncate(objectId);
			break;
		default:
			break;
	}
}

void
ti_objaccess_init(void)
{
	prev_object_access = object_access_hook;
	object_access_hook = ti_object_access;
}
