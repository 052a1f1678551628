/*-------------------------------------------------------------------------
 * src/internal.c
 *		The extension's own work: catalog queries and set-up DDL run as the
 *		extension's owner, and the flag that tells our hooks it is ours.
 *
 * A leaf (it only uses PostgreSQL).
 *
 * Invariants:
 *	- "The extension's owner" is pg_extension.extowner of tenant_iso, the
 *	  role that created it (a superuser: the extension is not trusted).
 *	- Everything here runs with that role's rights and with search_path
 *	  pinned to pg_catalog, pg_temp, so neither the calling role's
 *	  privileges nor its temporary or shadowing objects affect it; callers
 *	  quote every name they put into SQL text and pass values as parameters.
 *	- While the extension runs its own DDL, ti_internal_active() is true;
 *	  the flag is restored in PG_FINALLY, so an error caught by a savepoint
 *	  cannot leave the hooks switched off.  The user and the setting are
 *	  unwound by the (sub)transaction abort.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/genam.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "tenant_iso.h"

static bool internal_active = false;

/* Is the extension running its own DDL right now? */
bool
ti_internal_active(void)
{
	return internal_active;
}

/* The pg_extension row of tenant_iso: its owner and schema (InvalidOid: not installed). */
static void
extension_row(Oid *owner, Oid *schema)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	*owner = InvalidOid;
	*schema = InvalidOid;
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("tenant_iso"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		*owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
		*schema = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* The owner of extension tenant_iso, or InvalidOid when it is not installed. */
Oid
ti_extension_owner(void)
{
	Oid			owner,
				schema;

	extension_row(&owner, &schema);
	return owner;
}

/* The schema of extension tenant_iso, or InvalidOid when it is not installed. */
Oid
ti_extension_schema(void)
{
	Oid			owner,
				schema;

	extension_row(&owner, &schema);
	return schema;
}

char *
ti_qualified_name(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));

	if (relname == NULL || nspname == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(nspname, relname);
}

/*
 * Run the following SPI work as the extension's owner with a pinned
 * search_path.  An error unwinds both through transaction abort.
 */
static void
ti_begin_internal(Oid *save_userid, int *save_sec, int *save_nest)
{
	Oid			owner = ti_extension_owner();

	if (!OidIsValid(owner))
		elog(ERROR, "extension tenant_iso is not installed");
	GetUserIdAndSecContext(save_userid, save_sec);
	SetUserIdAndSecContext(owner, *save_sec | SECURITY_LOCAL_USERID_CHANGE);
	*save_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

static void
ti_end_internal(Oid save_userid, int save_sec, int save_nest)
{
	AtEOXact_GUC(true, save_nest);
	SetUserIdAndSecContext(save_userid, save_sec);
}

/* Run one DDL statement of the extension's own, as its owner. */
void
ti_internal_ddl(const char *sql)
{
	Oid			save_userid;
	int			save_sec,
				save_nest;
	bool		save_active = internal_active;

	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	internal_active = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute(sql, false, 0) < 0)
			elog(ERROR, "internal statement failed: %s", sql);
		SPI_finish();
	}
	PG_FINALLY();
	{
		internal_active = save_active;
	}
	PG_END_TRY();
	ti_end_internal(save_userid, save_sec, save_nest);
}

/*
 * Run one query as the extension's owner (ti_begin_internal) and return the
 * text of the first ncols columns of up to limit rows (0: all), as a List of
 * char ** arrays allocated in the caller's memory context; a NULL column is
 * a NULL pointer.  read_only: run under the active snapshot (else a new one
 * is taken, as for any statement).
 */
static List *
run_query(const char *sql, int nargs, Oid *argtypes, Datum *values, long limit, int ncols,
		  bool read_only)
{
	Oid			save_userid;
	int			save_sec,
				save_nest;
	int			ret;
	uint64		i;
	List	   *rows = NIL;
	MemoryContext outer = CurrentMemoryContext;

	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, read_only, limit);
	if (ret < 0)
		elog(ERROR, "internal query failed: %s", SPI_result_code_string(ret));
	for (i = 0; SPI_tuptable != NULL && i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(outer);
		char	  **row = palloc0(sizeof(char *) * ncols);
		int			c;

		for (c = 0; c < ncols; c++)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1);

			row[c] = v ? pstrdup(v) : NULL;
		}
		rows = lappend(rows, row);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	ti_end_internal(save_userid, save_sec, save_nest);
	return rows;
}

List *
ti_internal_query(const char *sql, int nargs, Oid *argtypes, Datum *values,
				  long limit, int ncols)
{
	return run_query(sql, nargs, argtypes, values, limit, ncols, false);
}

/*
 * The same, read-only, as of now: what every transaction committed so far,
 * also under REPEATABLE READ or SERIALIZABLE (whose transaction snapshot
 * would not show it).
 */
List *
ti_internal_query_latest(const char *sql, long limit, int ncols)
{
	List	   *rows;

	/* an error leaves the snapshot to the (sub)transaction abort, which pops it */
	PushActiveSnapshot(GetLatestSnapshot());
	rows = run_query(sql, 0, NULL, NULL, limit, ncols, true);
	PopActiveSnapshot();
	return rows;
}

/* Does the query, with relid as $1, return a row? */
bool
ti_internal_exists(const char *sql, Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	return ti_internal_query(sql, 1, argtypes, values, 1, 1) != NIL;
}

/* The first column of the query's rows (relid as $1, if valid) as OIDs. */
List *
ti_internal_oids(const char *sql, Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *rows = ti_internal_query(sql, OidIsValid(relid) ? 1 : 0, argtypes, values, 0, 1);
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);

		if (row[0] != NULL)
			result = lappend_oid(result, atooid(row[0]));
	}
	return result;
}
