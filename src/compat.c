/*-------------------------------------------------------------------------
 * src/compat.c
 *		Functions that hide PostgreSQL version differences (see compat.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_constraint.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/syscache.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif

#include "compat.h"

Oid
ti_rte_check_as_user(PlannedStmt *stmt, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	if (rte->perminfoindex == 0)
		return InvalidOid;
	return getRTEPermissionInfo(stmt->permInfos, rte)->checkAsUser;
#else
	return rte->checkAsUser;
#endif
}

Oid
ti_query_rte_check_as_user(Query *query, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	if (rte->perminfoindex == 0)
		return InvalidOid;
	return getRTEPermissionInfo(query->rteperminfos, rte)->checkAsUser;
#else
	return rte->checkAsUser;
#endif
}

struct config_generic *
ti_find_guc(const char *name)
{
	struct config_generic *gconf = NULL;
#if PG_VERSION_NUM >= 160000
	gconf = find_option(name, false, true, ERROR);
#else
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	for (i = 0; i < n; i++)
	{
		if (strcmp(vars[i]->name, name) == 0)
		{
			gconf = vars[i];
			break;
		}
	}
#endif
	if (gconf == NULL)
		elog(ERROR, "setting \"%s\" is not defined", name);
	return gconf;
}

void *
ti_guc_malloc(size_t size)
{
#if PG_VERSION_NUM >= 160000
	return guc_malloc(LOG, size);
#else
	return malloc(size);
#endif
}

void
ti_guc_free(void *ptr)
{
#if PG_VERSION_NUM >= 160000
	guc_free(ptr);
#else
	free(ptr);
#endif
}

/*
 * Is the column's NOT NULL in force for every row?  From 18 on a not-null
 * constraint may exist NOT VALID (attnotnull is then true, too).
 */
bool
ti_attnotnull_valid(Oid relid, AttrNumber attnum, bool attnotnull)
{
#if PG_VERSION_NUM >= 180000
	HeapTuple	tup;
	bool		valid;

	if (!attnotnull)
		return false;
	tup = findNotNullConstraintAttnum(relid, attnum);
	if (!HeapTupleIsValid(tup))
		return true;			/* a primary key's column */
	valid = ((Form_pg_constraint) GETSTRUCT(tup))->convalidated;
	heap_freetuple(tup);
	return valid;
#else
	return attnotnull;
#endif
}

/* Is a constraint enforced?  (NOT ENFORCED exists from 18 on.) */
bool
ti_constraint_enforced(Form_pg_constraint con)
{
#if PG_VERSION_NUM >= 180000
	return con->conenforced;
#else
	return true;
#endif
}

/* A column's statistics target (-1: the default) from its pg_attribute tuple. */
int
ti_att_stattarget(HeapTuple atttup)
{
#if PG_VERSION_NUM >= 170000
	bool		isnull;
	Datum		d = SysCacheGetAttr(ATTNUM, atttup, Anum_pg_attribute_attstattarget, &isnull);

	return isnull ? -1 : DatumGetInt16(d);
#else
	return ((Form_pg_attribute) GETSTRUCT(atttup))->attstattarget;
#endif
}
