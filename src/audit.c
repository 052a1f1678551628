/*-------------------------------------------------------------------------
 * src/audit.c
 *		The per-relation checks of tenant_iso.audit(), by the rules that the
 *		schema check and the guard enforce (no second implementation):
 *		tenant tables get their invariants (invariants.c), views their view
 *		checks (views.c), other tables the foreign-key rule (fk.c).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_table_checks);
PG_FUNCTION_INFO_V1(tenant_iso_table_kinds);
PG_FUNCTION_INFO_V1(tenant_iso_table_violations);

/*
 * Check 29 (the audit's only, it reads rows): every row's organization is
 * registered.  registry.c makes orphans impossible; this finds any that a
 * superuser's unsafe steps left.
 */
static TiCheck *
orphan_check(Oid relid)
{
	AttrNumber	att = ti_tenant_column(relid);
	char	   *orphans;
	TiCheck    *c;

	if (att <= 0 || getBaseType(get_atttype(relid, att)) != UUIDOID)
		return NULL;			/* the column checks say what is wrong */
	orphans = ti_registry_orphans(relid);
	c = palloc0(sizeof(TiCheck));

	c->ord = 29;
	c->name = "orphan_rows";
	c->passed = orphans == NULL;
	c->now = c->passed ? "Every row belongs to a registered organization." :
		psprintf("Rows belong to organizations that are not registered (%s).", orphans);
	c->hint = "Delete those rows, or register the organizations with tenant_iso.create_organization(name, id).";
	return c;
}

/* The checks of one relation, by its kind. */
static List *
relation_checks(Oid relid, List *exemptions)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW)
		return ti_view_checks(relid);
	switch (ti_table_kind_with(relid, exemptions))
	{
		case TI_KIND_MANAGED:
			{
				List	   *checks = ti_table_checks(relid);
				TiCheck    *orphans = orphan_check(relid);

				return orphans != NULL ? lappend(checks, orphans) : checks;
			}
		case TI_KIND_EXEMPT:
		case TI_KIND_EXTENSION:
		case TI_KIND_FOREIGN:
			return ti_fk_checks(relid);
		default:
			return NIL;
	}
}

static void
put_check(ReturnSetInfo *rsinfo, Datum relid, TiCheck *c)
{
	Datum		values[5];
	bool		isnull[5] = {false, false, false, false, false};

	values[0] = relid;
	values[1] = Int32GetDatum(c->ord);
	values[2] = CStringGetTextDatum(c->name);
	values[3] = CStringGetTextDatum(c->passed ? "ok" : c->warning_only ? "warning" : "violation");
	values[4] = CStringGetTextDatum(c->passed || c->warning_only ? c->now :
									psprintf("%s %s", c->now, c->hint));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
}

typedef void (*RelationEmitter) (ReturnSetInfo *rsinfo, Oid relid, List *exemptions);

/*
 * Materialize an SRF over its oid[] argument: emit() for each relation that
 * exists, in order (NULLs and unknown OIDs are skipped).
 */
static Datum
emit_for_relations(FunctionCallInfo fcinfo, RelationEmitter emit)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *exemptions;
	Datum	   *oids;
	bool	   *nulls;
	int			n,
				i;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	exemptions = ti_load_exemptions();
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), OIDOID, sizeof(Oid), true, TYPALIGN_INT,
					  &oids, &nulls, &n);
	for (i = 0; i < n; i++)
		if (!nulls[i] && get_rel_relkind(DatumGetObjectId(oids[i])) != '\0')
			emit(rsinfo, DatumGetObjectId(oids[i]), exemptions);
	return (Datum) 0;
}

static void
emit_checks(ReturnSetInfo *rsinfo, Oid relid, List *exemptions)
{
	ListCell   *lc;

	foreach(lc, relation_checks(relid, exemptions))
		put_check(rsinfo, ObjectIdGetDatum(relid), (TiCheck *) lfirst(lc));
}

/*
 * tenant_iso._table_checks(rels oid[]) RETURNS TABLE (relid oid, ord int,
 *		check_name text, status text, detail text)
 *		Every check of every given relation, passed or not: status ok,
 *		warning or violation; a violation's detail ends with how to fix it.
 *		Unknown OIDs and NULLs are skipped.
 */
Datum
tenant_iso_table_checks(PG_FUNCTION_ARGS)
{
	return emit_for_relations(fcinfo, emit_checks);
}

static const char *
kind_name(TiTableKind kind)
{
	switch (kind)
	{
		case TI_KIND_MANAGED:
			return "tenant";
		case TI_KIND_EXEMPT:
			return "exempt";
		case TI_KIND_EXTENSION:
			return "extension";
		case TI_KIND_FOREIGN:
			return "foreign";
		case TI_KIND_TEMPORARY:
			return "temporary";
		case TI_KIND_SYSTEM:
			return "system";
		case TI_KIND_NOT_TABLE:
			return "not a table";
		case TI_KIND_MISSING:
			break;
	}
	return "missing";
}

static void
emit_kind(ReturnSetInfo *rsinfo, Oid relid, List *exemptions)
{
	Datum		values[2];
	bool		isnull[2] = {false, false};

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(kind_name(ti_table_kind_with(relid, exemptions)));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
}

/*
 * tenant_iso._table_kinds(rels oid[]) RETURNS TABLE (relid oid, kind text)
 *		How the schema check classifies each relation: tenant (managed),
 *		exempt, extension, foreign, temporary, system or "not a table".
 *		Unknown OIDs and NULLs are skipped.
 */
Datum
tenant_iso_table_kinds(PG_FUNCTION_ARGS)
{
	return emit_for_relations(fcinfo, emit_kind);
}

/*
 * tenant_iso._table_violations(rel oid) RETURNS TABLE (check_name text,
 *		detail text, hint text)
 *		The invariants a table violates, in the guard's words (what the guard
 *		would refuse a statement for).  Not executable by PUBLIC.
 */
Datum
tenant_iso_table_violations(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;
	char		relkind;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	relkind = get_rel_relkind(PG_GETARG_OID(0));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		return (Datum) 0;
	foreach(lc, ti_invariant_violations(PG_GETARG_OID(0), NULL))
	{
		char	   *check = pstrdup((char *) lfirst(lc));
		char	   *detail = strchr(check, '\x1f');
		char	   *hint;
		Datum		values[3];
		bool		isnull[3] = {false, false, false};

		*detail++ = '\0';
		hint = strchr(detail, '\x1f');
		*hint++ = '\0';
		if (strchr(hint, '\x1f') != NULL)
			*strchr(hint, '\x1f') = '\0';
		values[0] = CStringGetTextDatum(check);
		values[1] = CStringGetTextDatum(detail);
		values[2] = CStringGetTextDatum(hint);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}
