/*-------------------------------------------------------------------------
 * src/citus_audit.c
 *		tenant_iso.audit() over Citus: every shard placement and worker shell
 *		of every distributed tenant table, and every placement of the
 *		registry, checked on its node by the same invariants (invariants.c).
 *
 * tenant_iso._shard_violations(rel) runs on a node and reports what a
 * relation there violates: the invariants of a tenant table (shards get
 * Citus's name for their trigger, invariants.c), or for
 * a placement of the registry its restrictive policy (citus_ddl.c).
 * tenant_iso._placement_checks() runs on the coordinator: it asks every
 * placement through Citus (run_command_on_placements, run_command_on_workers
 * for the shells) and returns audit rows: one "ok" row per table whose
 * placements all pass, one violation row per failed check of a placement,
 * naming the shard and its node.
 *
 * Invariants:
 *	- No check is written here: both functions report the invariants.
 *	- Without Citus (or on a worker) _placement_checks() returns nothing.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_shard_violations);
PG_FUNCTION_INFO_V1(tenant_iso_placement_checks);

/* Separators of the text _shard_violations() returns: records and fields. */
#define TI_RECORD_SEP	"\x1e"
#define TI_FIELD_SEP	"\x1f"

/*
 * tenant_iso._shard_violations(rel oid) RETURNS text
 *		The checks relation rel fails on this node, as records
 *		"ord<US>check<US>detail" separated by <RS>; '' when it passes all.
 */
Datum
tenant_iso_shard_violations(PG_FUNCTION_ARGS)
{
	Oid			relid;
	StringInfoData out;
	ListCell   *lc;

	if (PG_ARGISNULL(0) || get_rel_name(PG_GETARG_OID(0)) == NULL)
		PG_RETURN_NULL();
	relid = PG_GETARG_OID(0);
	initStringInfo(&out);
	if (ti_relid_is_registry(relid))
	{
		if (!ti_citus_registry_placement_ok(relid))
			appendStringInfoString(&out, "5" TI_FIELD_SEP "tenant_isolation_policy" TI_FIELD_SEP
								   "The registry's row level security or its restrictive policy \"tenant_isolation\" (id = tenant_iso.current_org_id()) is missing or altered.");
		PG_RETURN_TEXT_P(cstring_to_text(out.data));
	}
	foreach(lc, ti_table_checks(relid))
	{
		TiCheck    *c = (TiCheck *) lfirst(lc);

		if (c->passed || c->warning_only)
			continue;
		appendStringInfo(&out, "%s%d" TI_FIELD_SEP "%s" TI_FIELD_SEP "%s %s",
						 out.len > 0 ? TI_RECORD_SEP : "", c->ord, c->name, c->now, c->hint);
	}
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}

static void
put_row(ReturnSetInfo *rsinfo, Oid relid, int ord, const char *check, const char *status,
		const char *detail)
{
	Datum		values[5];
	bool		isnull[5] = {false, false, false, false, false};

	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int32GetDatum(ord);
	values[2] = CStringGetTextDatum(check);
	values[3] = CStringGetTextDatum(status);
	values[4] = CStringGetTextDatum(detail);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
}

/* One placement's answer (where: "shard placement X on host:port"); returns its violations. */
static int
put_answer(ReturnSetInfo *rsinfo, Oid relid, const char *where, bool success, const char *result)
{
	char	   *records;
	char	   *record;
	char	   *save = NULL;
	int			n = 0;

	if (!success || result == NULL)
	{
		put_row(rsinfo, relid, 30, "shard_placements", "violation",
				psprintf("%s could not be checked: %s", where, result ? result : "no answer"));
		return 1;
	}
	records = pstrdup(result);
	for (record = strtok_r(records, TI_RECORD_SEP, &save); record != NULL;
		 record = strtok_r(NULL, TI_RECORD_SEP, &save))
	{
		char	   *check = strchr(record, TI_FIELD_SEP[0]);
		char	   *detail = check ? strchr(check + 1, TI_FIELD_SEP[0]) : NULL;

		if (detail == NULL)
			continue;
		*check++ = '\0';
		*detail++ = '\0';
		put_row(rsinfo, relid, atoi(record), check, "violation", psprintf("%s: %s", where, detail));
		n++;
	}
	return n;
}

/* Ask every placement and worker shell of relid; report what fails, or one ok row. */
static void
check_table(ReturnSetInfo *rsinfo, Oid relid)
{
	char	   *rel = quote_literal_cstr(ti_qualified_name(relid));
	int			bad = 0,
				asked = 0;
	ListCell   *lc;

	foreach(lc, ti_internal_query(psprintf("SELECT 'shard placement ' OPERATOR(pg_catalog.||) pg_catalog.shard_name(s.logicalrelid, s.shardid) "
										   "  OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) r.nodename OPERATOR(pg_catalog.||) ':' "
										   "  OPERATOR(pg_catalog.||) r.nodeport, r.success::pg_catalog.text, r.result "
										   "FROM pg_catalog.run_command_on_placements(%s, "
										   "  $$SELECT tenant_iso._shard_violations('%%s'::pg_catalog.regclass)$$) r "
										   "JOIN pg_catalog.pg_dist_shard s ON s.shardid OPERATOR(pg_catalog.=) r.shardid "
										   "UNION ALL SELECT 'worker shell ' OPERATOR(pg_catalog.||) %s OPERATOR(pg_catalog.||) ' on ' "
										   "  OPERATOR(pg_catalog.||) w.nodename OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) w.nodeport, "
										   "  w.success::pg_catalog.text, w.result "
										   "FROM pg_catalog.run_command_on_workers(%s) w ORDER BY 1",
										   rel, rel,
										   quote_literal_cstr(psprintf("SELECT tenant_iso._shard_violations(%s::pg_catalog.regclass)", rel))),
								  0, NULL, NULL, 0, 3))
	{
		char	  **row = (char **) lfirst(lc);

		bad += put_answer(rsinfo, relid, row[0], strcmp(row[1], "true") == 0, row[2]);
		asked++;
	}
	if (bad == 0)
		put_row(rsinfo, relid, 30, "shard_placements", "ok",
				psprintf("Every one of its %d shard placements and worker shells passes every check on its node.", asked));
}

/*
 * tenant_iso._placement_checks() RETURNS TABLE (relid oid, ord int,
 *		check_name text, status text, detail text)
 *		On the Citus coordinator: the audit rows of every placement of every
 *		distributed tenant table and of the registry.  Nothing elsewhere.
 */
Datum
tenant_iso_placement_checks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	if (!ti_citus_active() || ti_citus_is_worker() || !OidIsValid(ti_schema_oid()))
		return (Datum) 0;
	foreach(lc, ti_internal_oids("SELECT p.logicalrelid::pg_catalog.oid FROM pg_catalog.pg_dist_partition p "
								 "WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1 OR EXISTS (SELECT 1 "
								 "  FROM pg_catalog.pg_policy y WHERE y.polrelid OPERATOR(pg_catalog.=) p.logicalrelid "
								 "  AND y.polname OPERATOR(pg_catalog.=) 'tenant_isolation') "
								 "ORDER BY p.logicalrelid", ti_registry_oid()))
		check_table(rsinfo, lfirst_oid(lc));
	return (Datum) 0;
}
