/*-------------------------------------------------------------------------
 * src/fk.c
 *		Foreign keys and tenant tables.
 *
 * Invariants:
 *	- A table that is not a tenant table (a global, exempt table) may not
 *	  reference a tenant table: its foreign-key checks do not see row level
 *	  security, so every tenant could learn which rows other tenants have.
 *	- A foreign key that PostgreSQL validated for a role subject to tenant
 *	  scoping saw only the current tenant's rows (its validation query runs
 *	  under forced row level security): it is checked again over every row,
 *	  as the extension's owner, and the statement is refused if it does not
 *	  hold.
 *	(Keys between tenant tables must pair organization_id on both sides:
 *	 that is an invariant, in invariants.c.)
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "tenant_iso.h"

/*
 * The foreign keys of relid into tenant tables (or tables that must become
 * ones), as "name (to schema.table)" in name order; the registry does not
 * count.
 */
static List *
ti_fks_into_tenant_tables(Oid relid, Oid *first_target)
{
	Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *exemptions = ti_load_exemptions();
	List	   *items = NIL;

	*first_target = InvalidOid;
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		if (con->contype != CONSTRAINT_FOREIGN || ti_relid_is_registry(con->confrelid))
			continue;
		if (!ti_relid_has_isolation_policy(con->confrelid) &&
			ti_table_kind_with(con->confrelid, exemptions) != TI_KIND_MANAGED)
			continue;
		if (!OidIsValid(*first_target))
			*first_target = con->confrelid;
		items = lappend(items, makeString(psprintf("%s (to %s)", quote_identifier(NameStr(con->conname)),
												   ti_qualified_name(con->confrelid))));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return ti_sorted_strings(items);
}

/* Refuse a table that is not a tenant table but references one. */
void
ti_refuse_fk_into_tenant_tables(Oid relid)
{
	Oid			target;

	/* tenant tables (and those that must become ones) follow the invariants instead */
	if (get_rel_name(relid) == NULL || ti_relid_is_guarded(relid) ||
		ti_relation_is_managed(relid) || ti_fks_into_tenant_tables(relid, &target) == NIL)
		return;
	ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
			  psprintf("table %s, which is not a tenant table, cannot reference tenant table %s",
					   ti_qualified_name(relid), ti_qualified_name(target)),
			  "Foreign-key checks do not see row level security: inserts into it would tell any tenant which rows other tenants have.",
			  "Make the referencing table a tenant table with a composite key (organization_id, ...), or drop the reference.");
}

/* The audit's check of a table that is not a tenant table. */
List *
ti_fk_checks(Oid relid)
{
	Oid			target;
	List	   *items = ti_fks_into_tenant_tables(relid, &target);
	TiCheck    *c;

	if (items == NIL)
		return NIL;
	c = palloc0(sizeof(TiCheck));
	c->ord = 11;
	c->name = "foreign_key_into_tenant_table";
	c->now = psprintf("Foreign key %s references a tenant table from a table that is not one: every tenant can write this table, and its foreign-key checks tell whether another tenant's row exists.",
					  ti_join_strings(items));
	c->hint = "Make the table a tenant table, or drop the foreign key.";
	return list_make1(c);
}

/* "Does a row violating this key exist" queries for every validated key of relid. */
static List *
revalidation_queries(Oid relid, List **names)
{
	List	   *queries = NIL;
	ListCell   *lc;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	*names = NIL;
	foreach(lc, ti_internal_query("SELECT k.conname::text, pg_catalog.format("
								  "'SELECT 1 FROM %s %s f WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s) LIMIT 1', "
								  " CASE WHEN (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) k.conrelid) "
								  "   OPERATOR(pg_catalog.=) 'p' THEN '' ELSE 'ONLY' END, "
								  " k.conrelid::pg_catalog.regclass, "
								  " pg_catalog.string_agg(pg_catalog.format('f.%I IS NOT NULL', fa.attname), ' AND ' ORDER BY s.i), "
								  " k.confrelid::pg_catalog.regclass, "
								  " pg_catalog.string_agg(pg_catalog.format('p.%I OPERATOR(pg_catalog.=) f.%I', pa.attname, fa.attname), ' AND ' ORDER BY s.i)) "
								  "FROM pg_catalog.pg_constraint k "
								  "CROSS JOIN LATERAL pg_catalog.generate_subscripts(k.conkey, 1) s(i) "
								  "JOIN pg_catalog.pg_attribute fa ON fa.attrelid OPERATOR(pg_catalog.=) k.conrelid AND fa.attnum OPERATOR(pg_catalog.=) k.conkey[s.i] "
								  "JOIN pg_catalog.pg_attribute pa ON pa.attrelid OPERATOR(pg_catalog.=) k.confrelid AND pa.attnum OPERATOR(pg_catalog.=) k.confkey[s.i] "
								  "WHERE k.conrelid OPERATOR(pg_catalog.=) $1 AND k.contype OPERATOR(pg_catalog.=) 'f' AND k.convalidated "
								  "AND k.confrelid OPERATOR(pg_catalog.<>) 'tenant_iso.organizations'::pg_catalog.regclass "
								  "GROUP BY k.oid, k.conname, k.conrelid, k.confrelid",
								  1, argtypes, values, 0, 2))
	{
		char	  **row = (char **) lfirst(lc);

		*names = lappend(*names, row[0]);
		queries = lappend(queries, row[1]);
	}
	return queries;
}

/*
 * Check every validated foreign key of relid over all rows (see the file
 * header), as the extension's owner.
 */
void
ti_revalidate_foreign_keys(Oid relid)
{
	List	   *names;
	List	   *queries = revalidation_queries(relid, &names);
	ListCell   *lc1,
			   *lc2;

	forboth(lc1, names, lc2, queries)
	{
		if (ti_internal_query((char *) lfirst(lc2), 0, NULL, NULL, 1, 1) != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("foreign key constraint \"%s\" of tenant table %s is violated",
							(char *) lfirst(lc1), ti_qualified_name(relid)),
					 errdetail("Rows of the table, possibly of other tenants, reference missing rows; PostgreSQL's own check saw only the current tenant's rows."),
					 errhint("Fix the data as a role that sees every tenant, or add the key NOT VALID.")));
	}
}
