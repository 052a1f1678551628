/*-------------------------------------------------------------------------
 * src/ddl.c
 *		The schema check: the ddl_command_end event trigger that refuses
 *		non-compliant tenant tables and sets up compliant ones (tenant index,
 *		registry foreign key, forced row level security, the generated
 *		policies and the stamping trigger).
 *
 * Invariants:
 *	- A managed table (ordinary or partitioned, not temporary, not in a
 *	  system schema or ours, not created by an extension script, not exempt)
 *	  either leaves this trigger fully set up or the statement fails and
 *	  nothing is created.
 *	- Set-up DDL runs as the extension's owner with search_path pinned to
 *	  pg_catalog, pg_temp and every name quoted; ti_in_internal_ddl keeps our
 *	  own hooks from re-checking it half-way.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_index.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_ddl_command_end);
PG_FUNCTION_INFO_V1(tenant_iso_setup_table);

bool		ti_in_internal_ddl = false;

static bool strict_indexes = false;

void
ti_ddl_init(void)
{
	DefineCustomBoolVariable("tenant_iso.strict_indexes",
							 "Refuses indexes on tenant tables that do not lead with organization_id.",
							 "Off (the default): such an index gets a WARNING. An index condition that runs before "
							 "the tenant filter lets EXPLAIN ANALYZE act as a value oracle. Indexes on a single uuid "
							 "column are exempt.",
							 &strict_indexes, false, PGC_SUSET, 0, NULL, NULL, NULL);
}

static bool
spi_exists(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	int			ret = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 1);

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	return SPI_processed > 0;
}

static void
spi_exec(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/*
 * Is relid a table the schema check must manage?  See the file header.
 * Needs a transaction; does its own SPI for the exemption lookup.
 */
bool
ti_relation_is_managed(Oid relid)
{
	HeapTuple	tup;
	Form_pg_class cls;
	char	   *nspname;
	char	   *relname;
	bool		exempt;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return false;
	cls = (Form_pg_class) GETSTRUCT(tup);
	if ((cls->relkind != RELKIND_RELATION && cls->relkind != RELKIND_PARTITIONED_TABLE) ||
		cls->relpersistence == RELPERSISTENCE_TEMP ||
		IsCatalogNamespace(cls->relnamespace) ||
		IsToastNamespace(cls->relnamespace) ||
		isAnyTempNamespace(cls->relnamespace))
	{
		ReleaseSysCache(tup);
		return false;
	}
	relname = pstrdup(NameStr(cls->relname));
	nspname = get_namespace_name(cls->relnamespace);
	ReleaseSysCache(tup);

	if (nspname == NULL ||
		strcmp(nspname, TI_SCHEMA) == 0 ||
		strcmp(nspname, "information_schema") == 0)
		return false;
	if (OidIsValid(getExtensionOfObject(RelationRelationId, relid)))
		return false;

	values[0] = CStringGetTextDatum(nspname);
	values[1] = CStringGetTextDatum(relname);
	exempt = ti_internal_query("SELECT 1 FROM tenant_iso.exemptions "
							   "WHERE schema_name OPERATOR(pg_catalog.=) $1 "
							   "AND (table_name IS NULL OR table_name OPERATOR(pg_catalog.=) $2)",
							   2, argtypes, values, 1, 1) != NIL;
	return !exempt;
}

/*
 * Refuse a table whose organization_id column is missing, not a uuid (or a
 * domain over uuid), or nullable.
 */
void
ti_check_tenant_column(Oid relid, const char *command_tag)
{
	HeapTuple	tup;
	Form_pg_attribute att;
	char	   *qual = ti_qualified_name(relid);
	bool		ctas = command_tag != NULL && strcmp(command_tag, "CREATE TABLE") != 0;
	Oid			basetype;

	tup = SearchSysCacheAttName(relid, TI_COLUMN);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table %s has no \"organization_id\" column", qual),
				 errdetail("Every table outside exempt schemas is a tenant table: each row must name the organization that owns it."),
				 errhint("Add the column \"organization_id uuid NOT NULL\" to the table definition, or exempt a global table first with SELECT tenant_iso.exempt_table('name', 'reason').")));
	att = (Form_pg_attribute) GETSTRUCT(tup);
	basetype = getBaseType(att->atttypid);
	if (basetype != UUIDOID)
	{
		char	   *typname = format_type_be(att->atttypid);

		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("column \"organization_id\" of table %s must be of type uuid", qual),
				 errdetail("It is declared as %s.", typname),
				 errhint("Declare the column as \"organization_id uuid NOT NULL\".")));
	}
	if (!att->attnotnull)
	{
		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("column \"organization_id\" of table %s must be NOT NULL", qual),
				 errdetail("A row without an organization would belong to no tenant."),
				 ctas ?
				 errhint("CREATE TABLE AS and SELECT INTO cannot declare NOT NULL: create the table with \"organization_id uuid NOT NULL\" first, then fill it with INSERT ... SELECT.") :
				 errhint("Declare the column as \"organization_id uuid NOT NULL\".")));
	}
	ReleaseSysCache(tup);
}

/*
 * Add whatever of the tenant set-up the table lacks.  Partitions created with
 * PARTITION OF already carry the cloned index, foreign key and trigger of
 * their parent; policies and row level security are never inherited, so
 * every partition gets its own.
 */
void
ti_setup_tenant_table(Oid relid, bool notice)
{
	char	   *qual = ti_qualified_name(relid);
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	Oid			save_userid;
	int			save_sec,
				save_nest;
	bool		save_internal = ti_in_internal_ddl;
	StringInfoData sql;

	initStringInfo(&sql);
	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	ti_in_internal_ddl = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");

		/*
		 * 1a. A single-column primary key gets its composite twin
		 * UNIQUE (organization_id, key), so that child tables can reference
		 * (organization_id, id) without fuss.
		 */
		{
			int			ret;
			char	   *pkcol = NULL;

			ret = SPI_execute_with_args("SELECT a.attname::text FROM pg_catalog.pg_index i "
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
										1, argtypes, values, NULL, false, 1);
			if (ret == SPI_OK_SELECT && SPI_processed == 1)
				pkcol = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			if (pkcol != NULL)
			{
				resetStringInfo(&sql);
				appendStringInfo(&sql, "ALTER TABLE %s ADD UNIQUE (organization_id, %s)",
								 qual, quote_identifier(pkcol));
				spi_exec(sql.data);
				if (notice)
					ereport(NOTICE,
							(errmsg("tenant_iso added unique key (organization_id, %s) to table %s",
									quote_identifier(pkcol), qual),
							 errdetail("Child tables reference it with FOREIGN KEY (organization_id, ...) REFERENCES %s (organization_id, %s).",
									   qual, quote_identifier(pkcol))));
			}
		}

		/* 1b. an index leading with organization_id */
		if (!spi_exists("SELECT 1 FROM pg_catalog.pg_index i "
						"JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid "
						" AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0] "
						"WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) 'organization_id' "
						"AND i.indpred IS NULL AND i.indisvalid",
						1, argtypes, values))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql, "CREATE INDEX ON %s (organization_id)", qual);
			spi_exec(sql.data);
			if (notice)
				ereport(NOTICE,
						(errmsg("tenant_iso created an index on (organization_id) of table %s", qual),
						 errdetail("Tenant tables need an index that leads with organization_id.")));
		}

		/* 2. the foreign key to the registry */
		if (!spi_exists("SELECT 1 FROM pg_catalog.pg_constraint c "
						"WHERE c.conrelid OPERATOR(pg_catalog.=) $1 AND c.contype OPERATOR(pg_catalog.=) 'f' "
						"AND c.confrelid OPERATOR(pg_catalog.=) 'tenant_iso.organizations'::pg_catalog.regclass",
						1, argtypes, values))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "ALTER TABLE %s ADD CONSTRAINT " TI_REGISTRY_FK " FOREIGN KEY (organization_id) "
							 "REFERENCES tenant_iso.organizations (id) ON DELETE CASCADE",
							 qual);
			spi_exec(sql.data);
		}

		/*
		 * 2b. DEFAULT tenant_iso.current_org_id(): the stamping trigger runs
		 * after partition routing, so a partitioned table (e.g. LIST by
		 * organization_id) needs the tenant before routing.
		 */
		if (spi_exists("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) $1 "
					   "AND attname OPERATOR(pg_catalog.=) 'organization_id' AND NOT atthasdef",
					   1, argtypes, values))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql, "ALTER TABLE %s ALTER COLUMN organization_id SET DEFAULT tenant_iso.current_org_id()", qual);
			spi_exec(sql.data);
		}

		/* 3. row level security, forced so that the owner is bound too */
		resetStringInfo(&sql);
		appendStringInfo(&sql, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY", qual);
		spi_exec(sql.data);

		/* 4. the generated policies */
		if (!spi_exists("SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid OPERATOR(pg_catalog.=) $1 "
						"AND polname OPERATOR(pg_catalog.=) 'tenant_isolation'",
						1, argtypes, values))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "CREATE POLICY " TI_ISOLATION_POLICY " ON %s AS RESTRICTIVE FOR ALL TO PUBLIC "
							 "USING (organization_id = tenant_iso.current_org_id()) "
							 "WITH CHECK (organization_id = tenant_iso.current_org_id())",
							 qual);
			spi_exec(sql.data);
		}
		if (!spi_exists("SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid OPERATOR(pg_catalog.=) $1 "
						"AND polname OPERATOR(pg_catalog.=) 'tenant_access'",
						1, argtypes, values))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "CREATE POLICY " TI_ACCESS_POLICY " ON %s AS PERMISSIVE FOR ALL TO PUBLIC "
							 "USING (true) WITH CHECK (true)",
							 qual);
			spi_exec(sql.data);
		}

		/* 5. the stamping trigger */
		if (!spi_exists("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid OPERATOR(pg_catalog.=) $1 "
						"AND tgname OPERATOR(pg_catalog.=) 'tenant_iso_stamp'",
						1, argtypes, values))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "CREATE TRIGGER " TI_STAMP_TRIGGER " BEFORE INSERT OR UPDATE OF organization_id ON %s "
							 "FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id()",
							 qual);
			spi_exec(sql.data);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ti_in_internal_ddl = save_internal;
	}
	PG_END_TRY();
	ti_end_internal(save_userid, save_sec, save_nest);
	pfree(sql.data);
}

/*
 * tenant_iso.ddl_command_end() RETURNS event_trigger
 *		Check and set up every table the finished command created.
 */
Datum
tenant_iso_ddl_command_end(PG_FUNCTION_ARGS)
{
	List	   *relids = NIL;
	List	   *tags = NIL;
	ListCell   *lc1,
			   *lc2;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.ddl_command_end() must be called as an event trigger"),
				 errdetail("It is the schema check of tenant_iso."),
				 errhint("Do not call it directly.")));

	if (ti_in_internal_ddl || creating_extension)
		PG_RETURN_VOID();

	/* Temporary tables are never tenant tables: skip them without a catalog query. */
	{
		EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
		Node	   *parsetree = trigdata->parsetree;
		RangeVar   *rv = NULL;

		if (parsetree != NULL && IsA(parsetree, CreateStmt))
			rv = ((CreateStmt *) parsetree)->relation;
		else if (parsetree != NULL && IsA(parsetree, CreateTableAsStmt))
			rv = ((CreateTableAsStmt *) parsetree)->into->rel;
		if (rv != NULL && rv->relpersistence == RELPERSISTENCE_TEMP)
			PG_RETURN_VOID();
	}

	foreach(lc1, ti_internal_query("SELECT DISTINCT e.objid, e.command_tag "
								   "FROM pg_catalog.pg_event_trigger_ddl_commands() e "
								   "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) e.objid "
								   "WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
								   "AND e.command_tag OPERATOR(pg_catalog.=) ANY ('{CREATE TABLE,CREATE TABLE AS,SELECT INTO,CREATE VIEW,CREATE MATERIALIZED VIEW}'::pg_catalog.text[]) "
								   "AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m}'::pg_catalog.\"char\"[]) "
								   "AND NOT e.in_extension",
								   0, NULL, NULL, 0, 2))
	{
		char	  **row = (char **) lfirst(lc1);

		relids = lappend_oid(relids, atooid(row[0]));
		tags = lappend(tags, row[1]);
	}

	forboth(lc1, relids, lc2, tags)
	{
		Oid			relid = lfirst_oid(lc1);
		const char *tag = (const char *) lfirst(lc2);

		char		relkind = get_rel_relkind(relid);

		if (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW)
		{
			if (!ti_unsafe_ddl())
				ti_check_view(relid, true);
			continue;
		}
		if (!ti_relation_is_managed(relid))
		{
			if (!ti_unsafe_ddl())
				ti_refuse_fk_into_tenant_tables(relid);
			if (ti_has_tenant_ancestor(relid) && !ti_unsafe_ddl())
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
						 errmsg("table %s cannot be a partition or child of a tenant table", ti_qualified_name(relid)),
						 errdetail("It is exempt or outside the managed schemas, so queries against it directly would not be scoped to a tenant."),
						 errhint("Create partitions and children of tenant tables in a managed schema.")));
			continue;
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
			continue;
		}
		ti_enroll_table(relid, tag, true);
	}
	PG_RETURN_VOID();
}

/* Check a managed table, set it up, and verify the result. */
void
ti_enroll_table(Oid relid, const char *command_tag, bool notice)
{
	Oid			parent = ti_non_tenant_ancestor(relid);

	if (OidIsValid(parent))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table %s cannot be a tenant table under %s, which is not a tenant table",
						ti_qualified_name(relid), ti_qualified_name(parent)),
				 errdetail("Rows read through a parent are filtered by the parent's policies only, so every tenant's rows would be visible through it."),
				 errhint("Make the parent a tenant table too, or keep the tables apart.")));
	ti_check_tenant_column(relid, command_tag);
	ti_verify_table_checks(relid, true, TI_KEY_CHECKS);
	ti_setup_tenant_table(relid, notice);
	ti_verify_table(relid, true);
	ti_check_new_indexes(relid, NIL);
}

/* An ancestor (partition or inheritance parent, any level) that is not a tenant table, or InvalidOid. */
Oid
ti_non_tenant_ancestor(Oid relid)
{
	List	   *parents = ti_internal_oids("WITH RECURSIVE up(relid) AS ("
										   " SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid OPERATOR(pg_catalog.=) $1"
										   " UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid OPERATOR(pg_catalog.=) up.relid)"
										   " SELECT up.relid FROM up WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p"
										   "  WHERE p.polrelid OPERATOR(pg_catalog.=) up.relid AND p.polname OPERATOR(pg_catalog.=) 'tenant_isolation')",
										   relid);

	return parents == NIL ? InvalidOid : linitial_oid(parents);
}

/* Is any ancestor (partition parent or inheritance parent, at any level) a tenant table? */
bool
ti_has_tenant_ancestor(Oid relid)
{
	return ti_internal_exists("WITH RECURSIVE up(relid) AS ("
							  " SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid OPERATOR(pg_catalog.=) $1"
							  " UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid OPERATOR(pg_catalog.=) up.relid)"
							  " SELECT 1 FROM up JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) up.relid"
							  " AND p.polname OPERATOR(pg_catalog.=) 'tenant_isolation'",
							  relid);
}

/*
 * A view that reads tenant tables (directly or through other views) must run
 * with its caller's rights: security_invoker is set when the view does not
 * say, and a view that asks for security_invoker = false is refused.  A
 * materialized view over tenant tables is refused: its contents are computed
 * once, by one role, and shown to all.
 */
void
ti_check_view(Oid viewid, bool fix)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(viewid)};
	Oid			save_userid;
	int			save_sec,
				save_nest;
	bool		reads_tenant;
	int			invoker = -1;	/* -1 unset, 0 false, 1 true */
	char		relkind = get_rel_relkind(viewid);
	char	   *qual = ti_qualified_name(viewid);
	bool		save_internal = ti_in_internal_ddl;

	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	reads_tenant = spi_exists("WITH RECURSIVE deps(relid) AS ("
							  " SELECT d.refobjid FROM pg_catalog.pg_rewrite r"
							  " JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
							  "  AND d.objid OPERATOR(pg_catalog.=) r.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
							  " WHERE r.ev_class OPERATOR(pg_catalog.=) $1 AND d.refobjid OPERATOR(pg_catalog.<>) $1"
							  " UNION"
							  " SELECT d.refobjid FROM deps JOIN pg_catalog.pg_rewrite r ON r.ev_class OPERATOR(pg_catalog.=) deps.relid"
							  " JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
							  "  AND d.objid OPERATOR(pg_catalog.=) r.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
							  " WHERE d.refobjid OPERATOR(pg_catalog.<>) deps.relid)"
							  " SELECT 1 FROM deps JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) deps.relid"
							  " AND p.polname OPERATOR(pg_catalog.=) 'tenant_isolation'",
							  1, argtypes, values);
	if (reads_tenant && relkind == RELKIND_VIEW)
	{
		if (SPI_execute_with_args("SELECT o.option_value::pg_catalog.bool::pg_catalog.int4 "
								  "FROM pg_catalog.pg_class c, pg_catalog.pg_options_to_table(c.reloptions) o "
								  "WHERE c.oid OPERATOR(pg_catalog.=) $1 "
								  "AND o.option_name OPERATOR(pg_catalog.=) 'security_invoker'",
								  1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read view options");
		if (SPI_processed > 0)
		{
			bool		isnull;

			invoker = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		if (invoker == -1 && fix)
		{
			ti_in_internal_ddl = true;
			PG_TRY();
			{
				if (SPI_execute(psprintf("ALTER VIEW %s SET (security_invoker = true)", qual), false, 0) < 0)
					elog(ERROR, "could not set security_invoker");
			}
			PG_FINALLY();
			{
				ti_in_internal_ddl = save_internal;
			}
			PG_END_TRY();
			invoker = 1;
			ereport(NOTICE,
					(errmsg("tenant_iso set security_invoker on view %s", qual),
					 errdetail("The view reads tenant tables, so it runs with the rights of the role that queries it.")));
		}
	}
	SPI_finish();
	ti_end_internal(save_userid, save_sec, save_nest);

	if (!reads_tenant)
		return;
	if (relkind == RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialized view %s cannot read tenant tables", qual),
				 errdetail("Its contents would be computed once, by one role, and shown to every tenant."),
				 errhint("Use a view, or a tenant table filled by your application.")));
	if (invoker != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("view %s reads tenant tables and must have security_invoker = true", qual),
				 errdetail("A view that runs with its owner's rights would show every tenant what its owner may see."),
				 errhint("Create it WITH (security_invoker = true), or leave the option out: tenant_iso sets it.")));
}

/*
 * Indexes on a tenant table should lead with organization_id: an index
 * condition runs before the tenant filter, so EXPLAIN ANALYZE's row counts
 * would reveal matching rows of other tenants.  Warn (or, under
 * tenant_iso.strict_indexes, refuse) for each index not in before.
 */
void
ti_check_new_indexes(Oid relid, List *before)
{
	Relation	rel = RelationIdGetRelation(relid);
	List	   *indexes;
	ListCell   *lc;
	AttrNumber	orgatt = get_attnum(relid, TI_COLUMN);

	if (!RelationIsValid(rel))
		return;
	indexes = RelationGetIndexList(rel);
	RelationClose(rel);
	foreach(lc, indexes)
	{
		Oid			idx = lfirst_oid(lc);
		HeapTuple	tup;
		Form_pg_index form;
		bool		ok;

		if (list_member_oid(before, idx))
			continue;
		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
		if (!HeapTupleIsValid(tup))
			continue;
		form = (Form_pg_index) GETSTRUCT(tup);
		ok = form->indnkeyatts > 0 && form->indkey.values[0] == orgatt;
		if (!ok && form->indnkeyatts == 1 && form->indkey.values[0] != 0 &&
			getBaseType(get_atttype(relid, form->indkey.values[0])) == UUIDOID)
			ok = true;
		ReleaseSysCache(tup);
		if (ok)
			continue;
		ereport(strict_indexes && !ti_unsafe_ddl() ? ERROR : WARNING,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("index %s on tenant table %s does not lead with \"organization_id\"",
						quote_identifier(get_rel_name(idx)), ti_qualified_name(relid)),
				 errdetail("Its index condition runs before the tenant filter, so EXPLAIN ANALYZE row counts could reveal other tenants' values."),
				 errhint("Lead the index with organization_id, e.g. CREATE INDEX ON %s (organization_id, ...); btree_gin and btree_gist allow that for GIN and GiST.",
						 ti_qualified_name(relid))));
	}
	list_free(indexes);
}


/*
 * tenant_iso._setup_table(rel regclass) RETURNS void
 *		The schema check's set-up, for tenant_iso.enroll(): checks the
 *		organization_id column, adds what is missing, verifies the result.
 *		Callers check privileges and data first.
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
	ti_enroll_table(relid, NULL, true);
	PG_RETURN_VOID();
}
