/*-------------------------------------------------------------------------
 * src/stamp.c
 *		The stamping trigger: tenant_iso.stamp_organization_id().
 *
 * BEFORE INSERT OR UPDATE OF organization_id, FOR EACH ROW, on every tenant
 * table.  A C trigger rather than a column DEFAULT alone, because a DEFAULT
 * does not apply to an explicit NULL and cannot refuse a spoofed value.
 *
 * Invariants:
 *	- INSERT: a NULL organization_id becomes the current tenant; a value
 *	  other than the current tenant fails (SQLSTATE TI003) for every role
 *	  that row level security applies to.  Superusers and BYPASSRLS roles may
 *	  write any organization (they bypass row level security anyway).
 *	- UPDATE: organization_id never changes; only a superuser with
 *	  tenant_iso.unsafe_ddl on may move a row, with a WARNING.
 *	- The error never says whether the other organization exists.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_stamp_organization_id);

static bool
uuid_equal(Datum a, const pg_uuid_t *b)
{
	return memcmp(DatumGetUUIDP(a), b, sizeof(pg_uuid_t)) == 0;
}

Datum
tenant_iso_stamp_organization_id(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	int			attnum;
	HeapTuple	newtuple;
	Datum		value;
	bool		isnull;
	const pg_uuid_t *tenant = ti_current_tenant();

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.stamp_organization_id() must be called as a trigger"),
				 errdetail("It is the stamping trigger of tenant tables."),
				 errhint("Do not call it directly.")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.stamp_organization_id() must be fired BEFORE, FOR EACH ROW"),
				 errdetail("It stamps each new row before it is stored."),
				 errhint("Use it only as the schema check creates it.")));

	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);
	attnum = SPI_fnumber(tupdesc, TI_COLUMN);
	if (attnum <= 0)
		elog(ERROR, "stamp_organization_id: table \"%s\" has no organization_id column",
			 RelationGetRelationName(rel));

	newtuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	value = heap_getattr(newtuple, attnum, tupdesc, &isnull);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		if (isnull)
		{
			Datum		stamped;
			bool		nullflag = false;

			if (tenant == NULL)
				return PointerGetDatum(newtuple);	/* NOT NULL refuses it */
			stamped = UUIDPGetDatum(tenant);
			return PointerGetDatum(heap_modify_tuple_by_cols(newtuple, tupdesc, 1,
															 &attnum, &stamped, &nullflag));
		}
		if ((tenant == NULL || !uuid_equal(value, tenant)) &&
			ti_rls_applies(RelationGetRelid(rel), InvalidOid))
			ereport(ERROR,
					(errcode(ERRCODE_TI_CROSS_TENANT_WRITE),
					 errmsg("cannot insert a row for another organization into table \"%s\"",
							RelationGetRelationName(rel)),
					 tenant == NULL ?
					 errdetail("No tenant is set, so no organization_id may be written.") :
					 errdetail("The row's organization_id differs from the current tenant (tenant.org_id)."),
					 tenant == NULL ?
					 errhint("Set the tenant with SET tenant.org_id first, and omit organization_id.") :
					 errhint("Omit organization_id: tenant_iso stamps the current tenant.")));
		return PointerGetDatum(newtuple);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		oldnull;
		Datum		oldvalue = heap_getattr(trigdata->tg_trigtuple, attnum, tupdesc, &oldnull);

		if (isnull != oldnull ||
			(!isnull && memcmp(DatumGetUUIDP(value), DatumGetUUIDP(oldvalue), sizeof(pg_uuid_t)) != 0))
		{
			if (superuser() && ti_unsafe_ddl())
				ereport(WARNING,
						(errmsg("tenant_iso.unsafe_ddl is on: moving a row of table \"%s\" to another organization",
								RelationGetRelationName(rel))));
			else
				ereport(ERROR,
						(errcode(ERRCODE_TI_CROSS_TENANT_WRITE),
						 errmsg("cannot change organization_id of a row in table \"%s\"",
								RelationGetRelationName(rel)),
						 errdetail("A row belongs to one organization for its whole life."),
						 errhint("Insert a new row for the other organization instead.")));
		}
		return PointerGetDatum(newtuple);
	}
	elog(ERROR, "stamp_organization_id: must be fired for INSERT or UPDATE");
	PG_RETURN_NULL();			/* keep compiler quiet */
}
