/*-------------------------------------------------------------------------
 * src/internal.c
 *		Running catalog queries and set-up DDL as the extension's owner.
 *
 * Invariants:
 *	- Everything here runs with the extension owner's rights and with
 *	  search_path pinned to pg_catalog, pg_temp, so neither the calling role's
 *	  privileges nor its temporary or shadowing objects affect it; callers
 *	  quote every name they put into SQL text and pass values as parameters.
 *	- An error unwinds the user and the setting through transaction abort.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

Oid
ti_extension_owner(void)
{
	Oid			nspid;
	HeapTuple	tup;
	Oid			owner;

	/* the schema outlives DROP EXTENSION: ask for the extension itself */
	if (!OidIsValid(get_extension_oid("tenant_iso", true)))
		return InvalidOid;
	nspid = get_namespace_oid(TI_SCHEMA, true);
	if (!OidIsValid(nspid))
		return InvalidOid;
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspid));
	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
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
void
ti_begin_internal(Oid *save_userid, int *save_sec, int *save_nest)
{
	Oid			owner = ti_extension_owner();

	if (!OidIsValid(owner))
		elog(ERROR, "schema \"%s\" of extension tenant_iso is missing", TI_SCHEMA);
	GetUserIdAndSecContext(save_userid, save_sec);
	SetUserIdAndSecContext(owner, *save_sec | SECURITY_LOCAL_USERID_CHANGE);
	*save_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
ti_end_internal(Oid save_userid, int save_sec, int save_nest)
{
	AtEOXact_GUC(true, save_nest);
	SetUserIdAndSecContext(save_userid, save_sec);
}


/*
 * Run one query as the extension's owner (ti_begin_internal) and return the
 * text of the first ncols columns of up to limit rows (0: all), as a List of
 * char ** arrays allocated in the caller's memory context; a NULL column is
 * a NULL pointer.  Used for the catalog look-ups of the schema check, the
 * guard and the verifier.
 */
List *
ti_internal_query(const char *sql, int nargs, Oid *argtypes, Datum *values,
				  long limit, int ncols)
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
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, limit);
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

/* Does the query, with relid as $1, return a row? */
bool
ti_internal_exists(const char *sql, Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	return ti_internal_query(sql, 1, argtypes, values, 1, 1) != NIL;
}

/* The first column of the query's rows (relid as $1) as OIDs. */
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
