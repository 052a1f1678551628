/*-------------------------------------------------------------------------
 * src/stamp.c
 *		The stamping trigger: tenant_iso.stamp_organization_id().
 *
 * BEFORE INSERT OR UPDATE OF organization_id, FOR EACH ROW, on every tenant
 * table.  A C trigger rather than a column DEFAULT alone, because a DEFAULT
 * does not apply to an explicit NULL and cannot refuse a spoofed value.
 *
 * Invariants:
 *	- It runs only as the trigger tenant_iso_stamp of a tenant table, on its
 *	  uuid organization_id column (anything else is refused: the function
 *	  is not executable by PUBLIC, and checks its calling context anyway).
 *	- INSERT: a NULL organization_id becomes the tenant in effect; a value
 *	  other than that tenant fails (SQLSTATE TI003) for every role tenant
 *	  scoping applies to (tenant_table.c), also inside referential actions.
 *	  Superusers and BYPASSRLS roles may write any organization.
 *	- UPDATE: organization_id never changes; only a superuser with
 *	  tenant_iso.unsafe_ddl on may move a row, with a WARNING.
 *	- Every row it lets through is written for a registered organization
 *	  that is not being dropped (registry.c), whoever writes it.  On a
 *	  Citus shard it does not look at the registry: the coordinator checked
 *	  the statement's organization and holds its lock (executor.c), and the
 *	  rows Citus copies between nodes (moves, new placements) were checked
 *	  when they were first written.
 *	- The calling context is checked on every call; what it learns from the
 *	  catalogs (the table is a tenant table, the trigger its generated one,
 *	  the tenant column) is kept for the last table until its relcache entry
 *	  is invalidated.
 *	- The error never says whether the other organization exists.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_stamp_organization_id);

static bool
uuid_equal(Datum a, const pg_uuid_t *b)
{
	return memcmp(DatumGetUUIDP(a), b, sizeof(pg_uuid_t)) == 0;
}

/*
 * The function is executable by the extension only (not PUBLIC), and only
 * ever runs as the generated trigger of a tenant table, on its uuid tenant
 * column: anything else is refused before a byte is written.
 */
static void
check_trigger_event(FunctionCallInfo fcinfo)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.stamp_organization_id() must be called as a trigger"),
				 errdetail("It is the stamping trigger of tenant tables."),
				 errhint("Do not call it directly.")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.stamp_organization_id() must be fired BEFORE INSERT OR UPDATE, FOR EACH ROW"),
				 errdetail("It stamps each new row before it is stored."),
				 errhint("Use it only as the schema check creates it.")));
}

/* The trigger's table: a tenant table, the trigger its generated one; returns the tenant column. */
static int
check_trigger_table(Relation rel, Trigger *trigger)
{
	AttrNumber	attnum = ti_tenant_column(RelationGetRelid(rel));

	if (!ti_is_stamp_trigger_name(trigger->tgname) ||
		!ti_relation_is_tenant_table(rel) || attnum <= 0 ||
		getBaseType(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid) != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.stamp_organization_id() can only be the trigger \"%s\" of a tenant table",
						TI_STAMP_TRIGGER),
				 errdetail("Table \"%s\" is not a tenant table with an \"organization_id\" column of type uuid.",
						   RelationGetRelationName(rel)),
				 errhint("Let the schema check set up tenant tables; do not use this function in your own triggers.")));
	return attnum;
}

/*
 * The verified trigger, kept for the session: the last table and trigger
 * verified, until the table's relcache entry is invalidated (any change of
 * its columns, policies, row level security or triggers sends that).
 */
typedef struct StampContext
{
	Oid			relid;
	Oid			tgoid;
	int			attnum;
	bool		guard_registry;	/* not a Citus shard (guarded on the coordinator) */
} StampContext;

static StampContext verified = {InvalidOid, InvalidOid, 0, false};

static void
forget_verified(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == verified.relid)
		verified.relid = InvalidOid;
}

static const StampContext *
check_calling_context(FunctionCallInfo fcinfo)
{
	TriggerData *trigdata;
	Oid			relid;

	check_trigger_event(fcinfo);
	trigdata = (TriggerData *) fcinfo->context;
	relid = RelationGetRelid(trigdata->tg_relation);
	if (OidIsValid(verified.relid) && verified.relid == relid &&
		verified.tgoid == trigdata->tg_trigger->tgoid)
		return &verified;
	verified.relid = InvalidOid;
	verified.attnum = check_trigger_table(trigdata->tg_relation, trigdata->tg_trigger);
	verified.tgoid = trigdata->tg_trigger->tgoid;
	verified.guard_registry = ti_citus_shard_of(relid, NULL) == 0;
	verified.relid = relid;
	return &verified;
}

void
ti_stamp_init(void)
{
	CacheRegisterRelcacheCallback(forget_verified, (Datum) 0);
}

static void
refuse_insert(Relation rel, const TiTenant *tenant)
{
	ereport(ERROR,
			(errcode(ERRCODE_TI_CROSS_TENANT_WRITE),
			 errmsg("cannot insert a row for another organization into table \"%s\"",
					RelationGetRelationName(rel)),
			 !tenant->valid ?
			 errdetail("No tenant is set, so no organization_id may be written.") :
			 errdetail("The row's organization_id differs from the current tenant (tenant.org_id)."),
			 !tenant->valid ?
			 errhint("Set the tenant with SET tenant.org_id first, and omit organization_id.") :
			 errhint("Omit organization_id: tenant_iso stamps the current tenant.")));
}

static Datum
stamp_insert(Relation rel, HeapTuple newtuple, int attnum, bool guard_registry)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	TiTenant	tenant;
	bool		isnull;
	Datum		value = heap_getattr(newtuple, attnum, tupdesc, &isnull);

	ti_effective_tenant(&tenant);
	if (isnull)
	{
		Datum		stamped;
		bool		nullflag = false;

		if (!tenant.valid)
			return PointerGetDatum(newtuple);	/* NOT NULL refuses it */
		if (guard_registry)
			ti_registry_protect(RelationGetRelationName(rel), &tenant.uuid);
		stamped = UUIDPGetDatum(&tenant.uuid);
		return PointerGetDatum(heap_modify_tuple_by_cols(newtuple, tupdesc, 1,
														 &attnum, &stamped, &nullflag));
	}
	if ((!tenant.valid || !uuid_equal(value, &tenant.uuid)) &&
		ti_tenant_scoping_applies(InvalidOid))
		refuse_insert(rel, &tenant);
	if (guard_registry)
		ti_registry_protect(RelationGetRelationName(rel), DatumGetUUIDP(value));
	return PointerGetDatum(newtuple);
}

static Datum
stamp_update(Relation rel, HeapTuple oldtuple, HeapTuple newtuple, int attnum, bool guard_registry)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	bool		isnull;
	bool		oldnull;
	Datum		value = heap_getattr(newtuple, attnum, tupdesc, &isnull);
	Datum		oldvalue = heap_getattr(oldtuple, attnum, tupdesc, &oldnull);

	if (isnull == oldnull &&
		(isnull || memcmp(DatumGetUUIDP(value), DatumGetUUIDP(oldvalue), sizeof(pg_uuid_t)) == 0))
		return PointerGetDatum(newtuple);
	if (superuser() && ti_unsafe_ddl())
	{
		ereport(WARNING,
				(errmsg("tenant_iso.unsafe_ddl is on: moving a row of table \"%s\" to another organization",
						RelationGetRelationName(rel))));
		if (!isnull && guard_registry)
			ti_registry_protect(RelationGetRelationName(rel), DatumGetUUIDP(value));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_TI_CROSS_TENANT_WRITE),
				 errmsg("cannot change organization_id of a row in table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("A row belongs to one organization for its whole life."),
				 errhint("Insert a new row for the other organization instead.")));
	return PointerGetDatum(newtuple);
}

Datum
tenant_iso_stamp_organization_id(PG_FUNCTION_ARGS)
{
	const StampContext *c = check_calling_context(fcinfo);
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		return stamp_insert(trigdata->tg_relation, trigdata->tg_trigtuple, c->attnum, c->guard_registry);
	return stamp_update(trigdata->tg_relation, trigdata->tg_trigtuple,
						trigdata->tg_newtuple, c->attnum, c->guard_registry);
}
