/*-------------------------------------------------------------------------
 * src/verify.c
 *		Invariant checks of one tenant table, shared by the schema check and
 *		the DDL guard.
 *
 * The checks themselves live in SQL (tenant_iso._table_violations(), also
 * behind tenant_iso.audit()), so the guard and the audit can never disagree.
 * This file turns the first violation into an error (or, under
 * tenant_iso.unsafe_ddl, a warning).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"

#include "tenant_iso.h"

void
ti_verify_table(Oid relid, bool error_on_violation)
{
	ti_verify_table_checks(relid, error_on_violation, NULL);
}

/*
 * As ti_verify_table(), restricted to the checks named in only (a
 * comma-separated list) when it is not NULL.  Used before a new table is set
 * up, when only its key definitions can be judged.
 */
void
ti_verify_table_checks(Oid relid, bool error_on_violation, const char *only)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(relid), CStringGetTextDatum(only ? only : "")};
	Oid			save_userid;
	int			save_sec,
				save_nest;
	char	   *check = NULL;
	char	   *detail = NULL;
	char	   *hint = NULL;
	char	   *qual = ti_qualified_name(relid);
	MemoryContext outer = CurrentMemoryContext;

	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT check_name, detail, hint FROM tenant_iso._table_violations($1) "
							  "WHERE $2 OPERATOR(pg_catalog.=) '' "
							  "OR check_name OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array($2, ','))",
							  2, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not run tenant_iso._table_violations()");
	if (SPI_processed > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(outer);

		check = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		detail = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
		hint = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	ti_end_internal(save_userid, save_sec, save_nest);

	if (check == NULL)
		return;
	if (ti_unsafe_ddl() || !error_on_violation)
		ereport(WARNING,
				(errmsg("tenant_iso.unsafe_ddl is on: table %s no longer passes check \"%s\"", qual, check),
				 errdetail("%s", detail),
				 errhint("tenant_iso.audit() reports it until it is fixed.")));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 only ? errmsg("table %s would break tenant isolation", qual) :
				 errmsg("statement would break tenant isolation of table %s", qual),
				 errdetail("%s", detail),
				 errhint("%s", hint)));
}
