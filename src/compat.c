/*-------------------------------------------------------------------------
 * src/compat.c
 *		Functions that hide PostgreSQL version differences (see compat.h).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"
#include "utils/guc_tables.h"
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
