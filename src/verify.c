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
#include "utils/memutils.h"

#include "tenant_iso.h"

static void report_violation(Oid relid, const char *check, const char *detail,
							 const char *hint, bool error_on_violation, const char *only);

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
/*
 * The names of the checks relid fails now (for the guard's before/after
 * comparison).
 */
List *
ti_table_violation_names(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, ti_internal_query("SELECT check_name || E'\\x1f' || detail || E'\\x1f' || hint "
								  "FROM tenant_iso._table_violations($1)",
								  1, argtypes, values, 0, 1))
		result = lappend(result, ((char **) lfirst(lc))[0]);
	return result;
}

/*
 * After a statement: refuse it when relid fails a check it did not fail
 * before (before: from ti_table_violation_names()).  A table already
 * damaged (under unsafe_ddl) can thus be repaired step by step, and changed
 * harmlessly, but not damaged further.
 */
void
ti_verify_table_since(Oid relid, List *before)
{
	List	   *after = ti_table_violation_names(relid);
	ListCell   *lc;

	foreach(lc, after)
	{
		char	   *v = (char *) lfirst(lc);
		ListCell   *lc2;
		bool		found = false;
		char	   *check;
		char	   *detail;
		char	   *hint;

		foreach(lc2, before)
		{
			if (strcmp(v, (char *) lfirst(lc2)) == 0)
			{
				found = true;
				break;
			}
		}
		if (found)
			continue;
		check = pstrdup(v);
		detail = strchr(check, '\x1f');
		*detail++ = '\0';
		hint = strchr(detail, '\x1f');
		*hint++ = '\0';
		report_violation(relid, check, detail, hint, true, NULL);
	}
}

void
ti_verify_table_checks(Oid relid, bool error_on_violation, const char *only)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(relid), CStringGetTextDatum(only ? only : "")};
	List	   *rows;
	char	  **row;

	rows = ti_internal_query("SELECT check_name, detail, hint FROM tenant_iso._table_violations($1) "
							 "WHERE $2 OPERATOR(pg_catalog.=) '' "
							 "OR check_name OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array($2, ','))",
							 2, argtypes, values, 1, 3);
	if (rows == NIL)
		return;
	row = (char **) linitial(rows);
	report_violation(relid, row[0], row[1], row[2], error_on_violation, only);
}

static void
report_violation(Oid relid, const char *check, const char *detail, const char *hint,
				 bool error_on_violation, const char *only)
{
	char	   *qual = ti_qualified_name(relid);

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
