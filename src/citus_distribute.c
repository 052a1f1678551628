/*-------------------------------------------------------------------------
 * src/citus_distribute.c
 *		Distributing tenant tables on Citus: tenant_iso.distribute(), and the
 *		schema check's distribution of new tenant tables once the registry is
 *		a reference table.
 *
 * The layout: the registry tenant_iso.organizations is a reference table (a
 * copy on every node: the coordinator's is the one the registry guard reads
 * before rows are inserted into distributed tables, registry.c and
 * executor.c; the workers' serve the tenant's reads of it on the shards);
 * every tenant table is hash-distributed by organization_id, all in one
 * co-location group (a tenant's rows of every table on one shard, so that
 * keys and joins between tenant tables stay there).  Once the registry is a
 * reference table every tenant table is distributed (a local one could not
 * be referenced by a distributed one, nor reference one), so:
 *	- tenant_iso.distribute(rel) distributes rel and every tenant table not
 *	  distributed yet (on the first call: all of them, and the registry);
 *	- afterwards the schema check distributes each new tenant table at
 *	  CREATE TABLE (and enroll() each enrolled one).
 * Tenant tables have no foreign key to the registry (registry.c guards
 * writes instead), so their owners need no privilege on it: Citus creates
 * and moves shards as the table's owner.
 * Citus refuses tables with triggers unless citus.enable_unsafe_triggers is
 * on: ours is safe by design (it stamps on each shard with the tenant the
 * coordinator sends), and so is the registry's guard trigger (on each
 * placement it takes the organization's lock when drop_organization()'s
 * DELETE reaches that node), so it is switched on for our own calls only; a
 * table with triggers of its own is refused unless the caller switched it on.
 *
 * Invariants:
 *	- distribute() works as the extension's owner (internal.c); the schema
 *	  check distributes a new, empty table as the user who creates it (so
 *	  that the rest of the user's transaction uses the same Citus
 *	  connections), a table with rows as the extension's owner (every row is
 *	  copied).  All in the caller's transaction: it is all or nothing, and
 *	  the commit is refused unless every placement on every node passes the
 *	  checks of citus_ddl.c.  The guard stays on for what Citus does.
 *	- Only the owner of the table (or a superuser) may call distribute();
 *	  Citus's conversion functions on tenant tables are refused unless
 *	  tenant_iso calls them (own_call).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_distribute);

/* True while tenant_iso itself calls Citus's table conversion functions. */
static bool own_call = false;

/*
 * Citus settings for our own calls, until pop_settings(): our
 * trigger is allowed, a key of the user's own from a local table to the
 * registry does not turn the table into a Citus local table (it is
 * distributed right after),
 * and shard DDL runs over one connection per node (keys to reference tables
 * after distributing, in one transaction); Citus's notices about the local
 * data are not shown (we remove it).
 */
static int
push_settings(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("citus.enable_unsafe_triggers", "on", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("citus.enable_local_reference_table_foreign_keys", "off", PGC_SUSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("citus.multi_shard_modify_mode", "sequential", PGC_SUSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	/* Citus's notices about copying local data we remove ourselves */
	(void) set_config_option("client_min_messages", "warning", PGC_SUSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

static void
pop_settings(int nest)
{
	AtEOXact_GUC(true, nest);
}

/* A distributed tenant table to co-locate with, or InvalidOid. */
static Oid
colocation_anchor(void)
{
	List	   *oids = ti_internal_oids("SELECT p.logicalrelid::pg_catalog.oid FROM pg_catalog.pg_dist_partition p "
										"WHERE p.partmethod OPERATOR(pg_catalog.=) 'h' AND EXISTS (SELECT 1 "
										"  FROM pg_catalog.pg_policy y WHERE y.polrelid OPERATOR(pg_catalog.=) p.logicalrelid "
										"  AND y.polname OPERATOR(pg_catalog.=) 'tenant_isolation') "
										"ORDER BY p.logicalrelid LIMIT 1", InvalidOid);

	return oids == NIL ? InvalidOid : linitial_oid(oids);
}

/*
 * create_distributed_table() of a new, empty table as the current user:
 * Citus's own look at it (here) and the validation of its keys on the
 * workers need no tenant, they see no rows.
 */
static void
distribute_empty_as_user(const char *sql)
{
	TiTenant	tenant;
	int			nest;

	ti_effective_tenant(&tenant);
	nest = NewGUCNestLevel();
	(void) set_config_option("tenant_iso.missing_context", "empty", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	ti_citus_send_local_setting(ti_citus_context_command(&tenant));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not distribute a table: %s", sql);
	SPI_finish();
	AtEOXact_GUC(true, nest);
	ti_citus_send_local_setting(ti_citus_context_command(&tenant));
}

/* Run sql (a conversion of tenant_iso's own) as the extension's owner or as the current user. */
static void
run_own_call(const char *sql, bool as_owner)
{
	bool		saved = own_call;

	own_call = true;
	PG_TRY();
	{
		if (as_owner)
			(void) ti_internal_query(sql, 0, NULL, NULL, 0, 1);
		else
			distribute_empty_as_user(sql);
	}
	PG_FINALLY();
	{
		own_call = saved;
	}
	PG_END_TRY();
}

/*
 * create_distributed_table(relid, 'organization_id'), co-located with the
 * tenant tables: as the extension's owner (distribute()), or as the current
 * user (the schema check).  Citus opens its connections to the workers as
 * the user it runs as, and a connection sees only what that same connection
 * created in the transaction: the user's next statements on the new table
 * (CREATE INDEX after CREATE TABLE, in one migration) must find its shards.
 * Returns whether the table had rows (copied to the shards).
 */
static bool
distribute_one(Oid relid, bool as_owner)
{
	Oid			anchor = colocation_anchor();
	char	   *sql = psprintf("SELECT pg_catalog.create_distributed_table(%s, %s, colocate_with => %s)",
							   quote_literal_cstr(ti_qualified_name(relid)), quote_literal_cstr(TI_COLUMN),
							   quote_literal_cstr(OidIsValid(anchor) ? ti_qualified_name(anchor) : "default"));
	bool		rows = ti_internal_exists(psprintf("SELECT 1 FROM ONLY %s LIMIT 1", ti_qualified_name(relid)),
										  InvalidOid);

	/* rows are copied as the user runs: every tenant's rows only as the owner */
	run_own_call(sql, as_owner || rows);
	return rows;
}

/* Is the registry a reference table yet (the distributed layout is in place)? */
bool
ti_citus_registry_distributed(void)
{
	return ti_citus_active() && !ti_citus_is_worker() && ti_citus_is_table(ti_registry_oid());
}

/* "oid,oid,..." for an oid[] literal */
static char *
oid_list_text(List *oids)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, oids)
		appendStringInfo(&buf, "%s%u", buf.len > 0 ? "," : "", lfirst_oid(lc));
	return buf.data;
}

static void
refuse(int sqlstate, const char *msg, const char *detail, const char *hint)
{
	ereport(ERROR, (errcode(sqlstate), errmsg("%s", msg), errdetail("%s", detail), errhint("%s", hint)));
}

/* distribute() can run here, on this table, for this role (errors otherwise). */
static void
check_can_distribute(Oid relid)
{
	HeapTuple	tup;
	Oid			owner;

	if (!ti_citus_active())
		refuse(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "Citus is not installed in this database",
			   "tenant_iso.distribute() distributes tenant tables with Citus.",
			   "Preload citus before tenant_iso and run CREATE EXTENSION citus first (docs/citus.md).");
	if (ti_citus_is_worker())
		refuse(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "tenant tables are distributed on the Citus coordinator",
			   "This node is a Citus worker.", "Connect to the coordinator and call tenant_iso.distribute() there.");
	if (!ti_relid_is_tenant_table(relid) || !ti_relation_is_managed(relid))
		refuse(ERRCODE_WRONG_OBJECT_TYPE,
			   psprintf("%s is not a tenant table", ti_qualified_name(relid)),
			   "tenant_iso.distribute() distributes tenant tables by organization_id.",
			   "Distribute global tables with Citus's create_distributed_table() or create_reference_table().");
	if (get_rel_relispartition(relid))
		refuse(ERRCODE_WRONG_OBJECT_TYPE,
			   psprintf("%s is a partition", ti_qualified_name(relid)),
			   "Citus distributes partitions with their partitioned table.",
			   "Distribute the partitioned table.");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	if (!has_privs_of_role(GetUserId(), owner))
		refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
			   psprintf("must be owner of table %s", ti_qualified_name(relid)),
			   "Distributing a table changes where its rows are stored.",
			   "Call tenant_iso.distribute() as the table's owner.");
}

/* The fix of a unique key on one column col that Citus cannot enforce. */
static char *
unique_key_hint(Oid relid, char **row)
{
	char	   *rel = ti_qualified_name(relid);

	if (row[2] == NULL)
		return psprintf("Drop index %s, or recreate it with organization_id as its first column.",
						quote_identifier(row[0]));
	if (strcmp(row[4], "t") == 0)
		return psprintf("Drop it (ALTER TABLE %s DROP CONSTRAINT %s): the unique key on (organization_id, %s) keeps %s unique within each tenant.",
						rel, quote_identifier(row[2]), row[1], row[1]);
	return psprintf("Include organization_id: %s (organization_id, %s) in CREATE TABLE, or for an existing table ALTER TABLE %s DROP CONSTRAINT %s, ADD %s (organization_id, %s).",
					strcmp(row[3], "p") == 0 ? "PRIMARY KEY" : "UNIQUE", row[1], rel, quote_identifier(row[2]),
					strcmp(row[3], "p") == 0 ? "PRIMARY KEY" : "UNIQUE", row[1]);
}

/* Unique keys Citus cannot enforce (without organization_id): refused with the fix. */
static void
check_unique_keys(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *rows = ti_internal_query("WITH o AS (SELECT a.attnum FROM pg_catalog.pg_attribute a "
										 "  WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) 'organization_id') "
										 "SELECT c.relname::pg_catalog.text, pg_catalog.pg_get_indexdef(i.indexrelid, 1, true), "
										 "  k.conname::pg_catalog.text, k.contype::pg_catalog.text, "
										 "  EXISTS (SELECT 1 FROM pg_catalog.pg_index t WHERE t.indrelid OPERATOR(pg_catalog.=) $1 "
										 "    AND t.indisunique AND t.indpred IS NULL AND t.indnkeyatts OPERATOR(pg_catalog.=) 2 "
										 "    AND t.indkey[0] OPERATOR(pg_catalog.=) (SELECT o.attnum FROM o) "
										 "    AND t.indkey[1] OPERATOR(pg_catalog.=) i.indkey[0])::pg_catalog.text "
										 "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid "
										 "LEFT JOIN pg_catalog.pg_constraint k ON k.conindid OPERATOR(pg_catalog.=) i.indexrelid "
										 "  AND k.conrelid OPERATOR(pg_catalog.=) i.indrelid "
										 "WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND (i.indisunique OR i.indisexclusion) "
										 "AND NOT (SELECT o.attnum FROM o) OPERATOR(pg_catalog.=) ANY (i.indkey::pg_catalog.int2[]) "
										 "ORDER BY 1", 1, argtypes, values, 1, 5);
	char	  **row;

	if (rows == NIL)
		return;
	row = (char **) linitial(rows);
	refuse(ERRCODE_INVALID_TABLE_DEFINITION,
		   psprintf("cannot distribute table %s: unique key \"%s\" does not include organization_id",
					ti_qualified_name(relid), row[0]),
		   "Citus keeps each tenant's rows on one shard and can only enforce unique keys that include the distribution column organization_id.",
		   unique_key_hint(relid, row));
}

/* Triggers of the user's own: Citus runs them on the shards; only if the caller allowed that. */
static void
check_triggers(Oid relid)
{
	const char *allowed = GetConfigOption("citus.enable_unsafe_triggers", true, false);

	if ((allowed != NULL && strcmp(allowed, "on") == 0) ||
		!ti_internal_exists("SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) $1 "
							"AND NOT t.tgisinternal AND t.tgname OPERATOR(pg_catalog.<>) 'tenant_iso_stamp'", relid))
		return;
	refuse(ERRCODE_FEATURE_NOT_SUPPORTED,
		   psprintf("cannot distribute table %s: it has triggers of its own", ti_qualified_name(relid)),
		   "Citus runs a distributed table's triggers on its shards, on the workers; it calls that unsafe.",
		   "Drop them, or SET citus.enable_unsafe_triggers = on first if they are written for shards.");
}

/* Restrictive policies of the user's own: Citus re-creates them permissive on the shards. */
static void
check_own_restrictive_policies(Oid relid)
{
	if (!ti_internal_exists("SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) $1 "
							"AND NOT p.polpermissive AND p.polname OPERATOR(pg_catalog.<>) 'tenant_isolation'", relid))
		return;
	refuse(ERRCODE_FEATURE_NOT_SUPPORTED,
		   psprintf("cannot distribute table %s: it has restrictive policies of its own", ti_qualified_name(relid)),
		   "Citus 13.2 re-creates every policy on the shards without AS RESTRICTIVE, where such a policy would narrow nothing; only tenant_iso's own policy is restored.",
		   "Drop them first and narrow access in the application, or with a permissive policy that replaces tenant_access.");
}

/* Tenant tables to distribute now: relid and every tenant table not distributed yet. */
static List *
tables_to_distribute(Oid relid)
{
	List	   *result = list_make1_oid(relid);
	ListCell   *lc;

	/* candidates: tables with the generated policy; each is checked by identity */
	foreach(lc, ti_internal_oids("SELECT p.polrelid FROM pg_catalog.pg_policy p "
								 "WHERE p.polname OPERATOR(pg_catalog.=) 'tenant_isolation' ORDER BY 1", InvalidOid))
	{
		Oid			t = lfirst_oid(lc);

		if (t != relid && !ti_citus_is_table(t) && !get_rel_relispartition(t) &&
			ti_relation_is_managed(t) && ti_relid_is_tenant_table(t))
			result = lappend_oid(result, t);
	}
	foreach(lc, result)
	{
		check_unique_keys(lfirst_oid(lc));
		check_triggers(lfirst_oid(lc));
		check_own_restrictive_policies(lfirst_oid(lc));
	}
	return result;
}

/* A foreign key between two tables being distributed, dropped and added again around it. */
typedef struct TenantKey
{
	char	   *table;
	char	   *name;
	char	   *definition;
} TenantKey;

/*
 * Drop the foreign keys between the tables (Citus distributes a referenced
 * table only when no local table references it); returns them.
 */
static List *
drop_keys_between(List *tables)
{
	char	   *oids = oid_list_text(tables);
	ListCell   *lc;
	List	   *keys = NIL;

	foreach(lc, ti_internal_query(psprintf("SELECT k.conrelid::pg_catalog.regclass::pg_catalog.text, k.conname::pg_catalog.text, "
										   "  pg_catalog.pg_get_constraintdef(k.oid) FROM pg_catalog.pg_constraint k "
										   "WHERE k.contype OPERATOR(pg_catalog.=) 'f' "
										   "AND k.conrelid OPERATOR(pg_catalog.=) ANY ('{%s}'::pg_catalog.oid[]) "
										   "AND k.confrelid OPERATOR(pg_catalog.=) ANY ('{%s}'::pg_catalog.oid[]) "
										   "ORDER BY 1, 2", oids, oids),
								  0, NULL, NULL, 0, 3))
	{
		char	  **row = (char **) lfirst(lc);
		TenantKey  *key = palloc(sizeof(TenantKey));

		key->table = row[0];
		key->name = row[1];
		key->definition = row[2];
		keys = lappend(keys, key);
		ti_internal_ddl(psprintf("ALTER TABLE %s DROP CONSTRAINT %s", key->table, quote_identifier(key->name)));
	}
	return keys;
}

static void
add_keys(List *keys)
{
	ListCell   *lc;

	foreach(lc, keys)
	{
		TenantKey  *key = (TenantKey *) lfirst(lc);

		ti_internal_ddl(psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", key->table,
								 quote_identifier(key->name), key->definition));
	}
}

/* Citus keeps a distributed table's former local rows on disk, invisible: remove them. */
static void
truncate_local_data(Oid relid)
{
	/* as the extension's own work: a TRUNCATE of the registry is refused otherwise */
	ti_internal_ddl(psprintf("SELECT pg_catalog.truncate_local_data_after_distributing_table(%s)",
							 quote_literal_cstr(ti_qualified_name(relid))));
}

/* The conversions of distribute_tables(), as tenant_iso's own calls. */
static void
convert_tables(List *tables)
{
	int			nest = push_settings();
	List	   *keys = drop_keys_between(tables);
	bool		registry = !ti_citus_is_table(ti_registry_oid());
	ListCell   *lc;

	if (registry)
		(void) ti_internal_query("SELECT pg_catalog.create_reference_table('tenant_iso.organizations')",
								 0, NULL, NULL, 0, 1);
	foreach(lc, tables)
		(void) distribute_one(lfirst_oid(lc), true);
	add_keys(keys);
	foreach(lc, tables)
		truncate_local_data(lfirst_oid(lc));
	if (registry)
		truncate_local_data(ti_registry_oid());
	pop_settings(nest);
	foreach(lc, tables)
		ti_invariants_require(lfirst_oid(lc), NULL);
}

/* Distribute the tables (and, the first time, the registry), keys between them kept. */
static void
distribute_tables(List *tables)
{
	own_call = true;
	PG_TRY();
	{
		convert_tables(tables);
	}
	PG_FINALLY();
	{
		own_call = false;
	}
	PG_END_TRY();
}

/*
 * tenant_iso.distribute(rel regclass) RETURNS SETOF regclass
 *		Distributes tenant table rel by organization_id, with every tenant
 *		table not distributed yet, co-located; the first call makes the
 *		registry a reference table.  Returns the tables it distributed
 *		(none when rel already is).  Owner of rel or superuser.
 */
Datum
tenant_iso_distribute(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	List	   *tables;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		refuse(ERRCODE_NULL_VALUE_NOT_ALLOWED, "table must not be NULL",
			   "tenant_iso.distribute() distributes one named tenant table (and the others not distributed yet).",
			   "Pass a table name, e.g. SELECT tenant_iso.distribute('public.courses').");
	relid = PG_GETARG_OID(0);
	if (get_rel_name(relid) == NULL)
		refuse(ERRCODE_UNDEFINED_TABLE, psprintf("relation with OID %u does not exist", relid),
			   "The table may have been dropped.", "Pass the name of an existing table.");
	check_can_distribute(relid);
	if (ti_citus_is_table(relid))
		return (Datum) 0;
	tables = tables_to_distribute(relid);
	distribute_tables(tables);
	foreach(lc, tables)
	{
		Datum		value = ObjectIdGetDatum(lfirst_oid(lc));
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}

/* Should the set-up of relid distribute it (a new tenant table in the distributed layout)? */
static bool
distributes_at_setup(Oid relid)
{
	return ti_citus_registry_distributed() && !get_rel_relispartition(relid) &&
		!ti_citus_is_table(relid);
}

/*
 * The schema check's set-up of relid begins (setup.c).  Returns a settings
 * nest level for ti_citus_setup_end(), or 0 when relid stays local.
 */
int
ti_citus_setup_begin(Oid relid)
{
	if (!distributes_at_setup(relid))
		return 0;
	check_unique_keys(relid);
	check_triggers(relid);
	check_own_restrictive_policies(relid);
	return push_settings();
}

/* The set-up of relid is complete: distribute it (if ti_citus_setup_begin() said so). */
void
ti_citus_setup_end(Oid relid, int nest)
{
	if (nest == 0)
		return;
	if (distribute_one(relid, false))
		truncate_local_data(relid);		/* an enrolled table's rows are on the shards now */
	pop_settings(nest);
	ereport(NOTICE,
			(errmsg("tenant_iso distributed table %s by organization_id", ti_qualified_name(relid)),
			 errdetail("The registry is a reference table, so every tenant table is distributed and co-located with the others.")));
}

/* Citus's functions that distribute, convert or undistribute a table named by their first argument. */
static const char *const conversion_functions[] = {
	"create_distributed_table", "create_distributed_table_concurrently", "create_reference_table",
	"undistribute_table", "alter_distributed_table", "alter_table_set_access_method",
	"citus_add_local_table_to_metadata", "update_distributed_table_colocation",
	"remove_local_tables_from_metadata", NULL
};

static bool
is_conversion_function(Oid funcid)
{
	char	   *name;
	int			i;

	if (get_func_namespace(funcid) != PG_CATALOG_NAMESPACE || (name = get_func_name(funcid)) == NULL)
		return false;
	for (i = 0; conversion_functions[i] != NULL; i++)
		if (strcmp(name, conversion_functions[i]) == 0)
			return true;
	return false;
}

/* A call of such a function on a tenant table or the registry, not by tenant_iso: refused. */
static void
check_conversion_call(FuncExpr *call)
{
	Const	   *arg;
	Oid			relid;

	if (call->args == NIL || !IsA(linitial(call->args), Const) || !is_conversion_function(call->funcid))
		return;
	arg = (Const *) linitial(call->args);
	if (arg->constisnull || (arg->consttype != REGCLASSOID && arg->consttype != OIDOID))
		return;
	relid = DatumGetObjectId(arg->constvalue);
	if (!ti_relid_is_guarded(relid) && !ti_relid_is_registry(relid))
		return;
	ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
			  psprintf("%s() cannot be used on %s %s", get_func_name(call->funcid),
					   ti_relid_is_registry(relid) ? "the registry" : "tenant table", ti_qualified_name(relid)),
			  "Tenant tables are hash-distributed by organization_id and co-located, the registry is a reference table, and both stay so: another layout, column or co-location would put a tenant's rows on several shards, or every tenant's rows on every node.",
			  "Use SELECT tenant_iso.distribute('<tenant table>'); it distributes tenant tables and the registry (docs/citus.md).");
}

/*
 * Before planning (citus_route.c): a direct call of one of Citus's table
 * conversion functions on a tenant table or the registry
 * (SELECT create_distributed_table('courses', 'title')) is refused before
 * it starts, with the reason.  Whatever other route changes how a tenant
 * table is distributed, the commit is refused (citus_ddl.c).
 */
void
ti_citus_check_conversions(Query *parse)
{
	ListCell   *lc;

	if (own_call || ti_internal_active() || parse->commandType != CMD_SELECT || parse->rtable != NIL)
		return;
	foreach(lc, parse->targetList)
	{
		Node	   *expr = (Node *) ((TargetEntry *) lfirst(lc))->expr;

		if (IsA(expr, FuncExpr))
			check_conversion_call((FuncExpr *) expr);
	}
}
