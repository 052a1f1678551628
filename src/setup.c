/*-------------------------------------------------------------------------
 * src/setup.c
 *		The schema check (the ddl_command_end event trigger) and the set-up
 *		of a tenant table, shared with tenant_iso.enroll().
 *
 * The set-up is: check the organization_id column and the keys, add the
 * conveniences (the composite key (organization_id, <primary key>), the
 * column DEFAULT for partition routing, the permissive policy
 * tenant_access), run the repair of every invariant that fails
 * (invariants.c), then require every invariant.  So the schema check,
 * enroll(), the guard and the audit cannot disagree about what a set-up
 * tenant table is.
 *
 * Invariants:
 *	- A managed table (managed.c) either leaves the schema check fully set
 *	  up or the statement fails and nothing is created.
 *	- Set-up DDL runs as the extension's owner (internal.c).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

/* enroll() counted the rows already (see prepare_enrolment) */
static bool rows_checked = false;

PG_FUNCTION_INFO_V1(tenant_iso_ddl_command_end);
PG_FUNCTION_INFO_V1(tenant_iso_setup_table);

#define TI_KEY_CHECKS "unique_key_without_tenant,exclusion_without_tenant_equality,foreign_key_without_tenant"

/*
 * Refuse a table whose organization_id column is missing, not a uuid (or a
 * domain over uuid), or nullable: with a hint saying how to fix it.
 */
static void
ti_check_tenant_column(Oid relid, const char *command_tag, bool require_not_null)
{
	HeapTuple	tup;
	Form_pg_attribute att;
	char	   *qual = ti_qualified_name(relid);
	bool		ctas = command_tag != NULL && strcmp(command_tag, "CREATE TABLE") != 0;
	char	   *typname;
	bool		notnull;

	tup = SearchSysCacheAttName(relid, TI_COLUMN);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table %s has no \"organization_id\" column", qual),
				 errdetail("Every table outside exempt schemas is a tenant table: each row must name the organization that owns it."),
				 errhint("Add the column \"organization_id uuid NOT NULL\" to the table definition, or exempt a global table first with SELECT tenant_iso.exempt_table('name', 'reason').")));
	att = (Form_pg_attribute) GETSTRUCT(tup);
	typname = getBaseType(att->atttypid) == UUIDOID ? NULL : format_type_be(att->atttypid);
	notnull = att->attnotnull;
	ReleaseSysCache(tup);
	if (typname != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("column \"organization_id\" of table %s must be of type uuid", qual),
				 errdetail("It is declared as %s.", typname),
				 errhint("Declare the column as \"organization_id uuid NOT NULL\".")));
	if (!notnull && require_not_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("column \"organization_id\" of table %s must be NOT NULL", qual),
				 errdetail("A row without an organization would belong to no tenant."),
				 ctas ?
				 errhint("CREATE TABLE AS and SELECT INTO cannot declare NOT NULL: create the table with \"organization_id uuid NOT NULL\" first, then fill it with INSERT ... SELECT.") :
				 errhint("Declare the column as \"organization_id uuid NOT NULL\".")));
}

/*
 * The primary key column of relid when the key is a single column other
 * than organization_id and no UNIQUE (organization_id, <it>) exists; else NULL.
 */
static char *
single_key_without_twin(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *rows = ti_internal_query("SELECT a.attname::text FROM pg_catalog.pg_index i "
										 "JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid "
										 " AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0] "
										 "WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indisprimary "
										 "AND i.indnkeyatts OPERATOR(pg_catalog.=) 1 "
										 "AND a.attname OPERATOR(pg_catalog.<>) 'organization_id' "
										 "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index u "
										 "  JOIN pg_catalog.pg_attribute o ON o.attrelid OPERATOR(pg_catalog.=) u.indrelid "
										 "   AND o.attname OPERATOR(pg_catalog.=) 'organization_id' "
										 "  WHERE u.indrelid OPERATOR(pg_catalog.=) i.indrelid AND u.indisunique "
										 "  AND u.indpred IS NULL AND u.indnkeyatts OPERATOR(pg_catalog.=) 2 "
										 "  AND u.indkey[0] OPERATOR(pg_catalog.=) o.attnum "
										 "  AND u.indkey[1] OPERATOR(pg_catalog.=) i.indkey[0])",
										 1, argtypes, values, 1, 1);

	return rows == NIL ? NULL : ((char **) linitial(rows))[0];
}

/*
 * The conveniences of the set-up that are not invariants: the composite key
 * child tables reference, the DEFAULT that partition routing needs (the
 * stamping trigger runs after routing), and the permissive policy.
 */
static void
add_conveniences(Oid relid, bool notice)
{
	char	   *qual = ti_qualified_name(relid);
	char	   *pkcol = single_key_without_twin(relid);
	HeapTuple	tup;
	bool		has_default;

	if (pkcol != NULL)
	{
		ti_internal_ddl(psprintf("ALTER TABLE %s ADD UNIQUE (" TI_COLUMN ", %s)", qual, quote_identifier(pkcol)));
		if (notice)
			ereport(NOTICE,
					(errmsg("tenant_iso added unique key (organization_id, %s) to table %s",
							quote_identifier(pkcol), qual),
					 errdetail("Child tables reference it with FOREIGN KEY (organization_id, ...) REFERENCES %s (organization_id, %s).",
							   qual, quote_identifier(pkcol))));
	}
	tup = SearchSysCacheAttName(relid, TI_COLUMN);
	has_default = HeapTupleIsValid(tup) && ((Form_pg_attribute) GETSTRUCT(tup))->atthasdef;
	if (HeapTupleIsValid(tup))
		ReleaseSysCache(tup);
	if (!has_default)
		ti_internal_ddl(psprintf("ALTER TABLE %s ALTER COLUMN " TI_COLUMN " SET DEFAULT tenant_iso.current_org_id()", qual));
	if (!ti_relid_has_policy(relid, TI_ACCESS_POLICY))
		ti_internal_ddl(psprintf("CREATE POLICY " TI_ACCESS_POLICY " ON %s AS PERMISSIVE FOR ALL TO PUBLIC "
								 "USING (true) WITH CHECK (true)", qual));
}

/*
 * The partitions and children of a new tenant table become tenant tables
 * too (a table moved into a managed schema brings its partitions along).
 */
static void
setup_children(Oid relid, const char *command_tag, bool notice)
{
	ListCell   *lc;

	foreach(lc, find_inheritance_children(relid, NoLock))
	{
		Oid			child = lfirst_oid(lc);
		char		kind = get_rel_relkind(child);

		if ((kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE) || ti_relid_is_tenant_table(child))
			continue;
		if (!ti_relation_is_managed(child))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					 errmsg("table %s cannot be a tenant table while its partition or child %s is not one",
							ti_qualified_name(relid), ti_qualified_name(child)),
					 errdetail("The partition or child is exempt or outside the managed schemas: queried directly, its rows would not be scoped to a tenant."),
					 errhint("Move the partitions and children into a managed schema first, or detach them.")));
		ti_setup_tenant_table(child, command_tag, notice);
	}
}

/* Check a managed table, set it up, and verify the result. */
void
ti_setup_tenant_table(Oid relid, const char *command_tag, bool notice)
{
	Oid			parent = ti_non_tenant_ancestor(relid);
	int			citus;

	if (OidIsValid(parent))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table %s cannot be a tenant table under %s, which is not a tenant table",
						ti_qualified_name(relid), ti_qualified_name(parent)),
				 errdetail("Rows read through a parent are filtered by the parent's policies only, so every tenant's rows would be visible through it."),
				 errhint("Make the parent a tenant table too, or keep the tables apart.")));
	ti_check_tenant_column(relid, command_tag, true);
	/* a table that joins with rows (ATTACH, INHERIT, a move, enroll()): all registered */
	if (!rows_checked)
		ti_registry_require_rows(relid, psprintf("make table %s a tenant table", ti_qualified_name(relid)),
								 "try again");
	ti_invariants_require(relid, TI_KEY_CHECKS);
	citus = ti_citus_setup_begin(relid);	/* Citus: distributed once set up */
	add_conveniences(relid, notice);
	ti_invariants_repair(relid, notice);
	setup_children(relid, command_tag, notice);
	ti_invariants_require(relid, NULL);
	ti_check_index_leading(relid, NIL);
	ti_citus_setup_end(relid, citus);
}

/* A new table that is not managed must not reference or inherit tenant tables. */
static void
check_unmanaged_table(Oid relid)
{
	if (ti_unsafe_ddl())
		return;
	ti_refuse_fk_into_tenant_tables(relid);
	if (ti_has_tenant_ancestor(relid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table %s cannot be a partition or child of a tenant table", ti_qualified_name(relid)),
				 errdetail("It is exempt or outside the managed schemas, so queries against it directly would not be scoped to a tenant."),
				 errhint("Create partitions and children of tenant tables in a managed schema.")));
}

/* Check and set up one relation the finished command created. */
static void
check_created(Oid relid, const char *tag)
{
	char		relkind = get_rel_relkind(relid);

	/* on a Citus worker: a shard or shell Citus builds, verified at commit */
	if (ti_citus_defer_setup(relid))
		return;
	if (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW)
	{
		if (!ti_unsafe_ddl())
			ti_check_view(relid, true);
		return;
	}
	if (!ti_relation_is_managed(relid))
	{
		check_unmanaged_table(relid);
		return;
	}
	if (ti_unsafe_ddl())
	{
		/*
		 * The escape hatch steps aside entirely: this is also how a dump is
		 * restored, whose script brings its own index, key, policies and
		 * trigger.  tenant_iso.audit() reports what is missing.
		 */
		ereport(WARNING,
				(errmsg("tenant_iso.unsafe_ddl is on: table %s was neither checked nor set up",
						ti_qualified_name(relid)),
				 errhint("Run SELECT tenant_iso.verify() when done; tenant_iso.enroll() sets up a table.")));
		return;
	}
	ti_setup_tenant_table(relid, tag, true);
}

/* Is the command creating a temporary table (never a tenant table: skip the catalog query)? */
static bool
creates_temporary_table(EventTriggerData *trigdata)
{
	Node	   *parsetree = trigdata->parsetree;
	RangeVar   *rv = NULL;

	if (parsetree != NULL && IsA(parsetree, CreateStmt))
		rv = ((CreateStmt *) parsetree)->relation;
	else if (parsetree != NULL && IsA(parsetree, CreateTableAsStmt))
		rv = ((CreateTableAsStmt *) parsetree)->into->rel;
	return rv != NULL && rv->relpersistence == RELPERSISTENCE_TEMP;
}

/*
 * tenant_iso.ddl_command_end() RETURNS event_trigger
 *		Check and set up every table the finished command created.
 */
Datum
tenant_iso_ddl_command_end(PG_FUNCTION_ARGS)
{
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.ddl_command_end() must be called as an event trigger"),
				 errdetail("It is the schema check of tenant_iso."),
				 errhint("Do not call it directly.")));
	if (ti_internal_active() || creating_extension ||
		creates_temporary_table((EventTriggerData *) fcinfo->context))
		PG_RETURN_VOID();

	foreach(lc, ti_internal_query("SELECT DISTINCT e.objid, e.command_tag "
								  "FROM pg_catalog.pg_event_trigger_ddl_commands() e "
								  "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) e.objid "
								  "WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
								  "AND e.command_tag OPERATOR(pg_catalog.=) ANY ('{CREATE TABLE,CREATE TABLE AS,SELECT INTO,CREATE VIEW,CREATE MATERIALIZED VIEW}'::pg_catalog.text[]) "
								  "AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m}'::pg_catalog.\"char\"[]) "
								  "AND NOT e.in_extension",
								  0, NULL, NULL, 0, 2))
	{
		char	  **row = (char **) lfirst(lc);

		check_created(atooid(row[0]), row[1]);
	}
	PG_RETURN_VOID();
}

/*
 * enroll(): the column must exist and be uuid; every row must belong to a
 * registered organization (counted once, over the table and its children);
 * a nullable column without NULLs becomes NOT NULL.
 */
static void
prepare_enrolment(Oid relid)
{
	char	   *qual = ti_qualified_name(relid);
	HeapTuple	tup;
	bool		notnull;

	ti_check_tenant_column(relid, NULL, false);
	ti_registry_require_rows(relid, psprintf("enroll table %s", qual), "enroll the table again");
	tup = SearchSysCacheAttName(relid, TI_COLUMN);
	notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
	ReleaseSysCache(tup);
	if (notnull)
		return;
	ti_internal_ddl(psprintf("ALTER TABLE %s ALTER COLUMN " TI_COLUMN " SET NOT NULL", qual));
	ereport(NOTICE,
			(errmsg("tenant_iso set column \"organization_id\" of table %s NOT NULL", qual),
			 errdetail("No row had a NULL organization_id.")));
}

/*
 * tenant_iso._setup_table(rel regclass) RETURNS void
 *		The schema check's set-up, for tenant_iso.enroll(): checks the
 *		organization_id column and the rows, adds what is missing, verifies
 *		the result.  The caller checks privileges and locks the table.
 */
Datum
tenant_iso_setup_table(PG_FUNCTION_ARGS)
{
	Oid			relid;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL"),
				 errdetail("A table to set up must be named."),
				 errhint("Pass a table name, e.g. 'public.courses'.")));
	relid = PG_GETARG_OID(0);
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errdetail("The table may have been dropped."),
				 errhint("Pass the name of an existing table.")));
	if (!ti_relation_is_managed(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s cannot be a tenant table", ti_qualified_name(relid)),
				 errdetail("Only ordinary and partitioned tables outside system schemas, the tenant_iso schema and exempt schemas or tables, and not owned by an extension, are tenant tables."),
				 errhint("Check the table's schema and tenant_iso.exemptions.")));
	prepare_enrolment(relid);
	rows_checked = true;
	PG_TRY();
	{
		ti_setup_tenant_table(relid, NULL, true);
	}
	PG_FINALLY();
	{
		rows_checked = false;
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}
