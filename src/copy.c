/*-------------------------------------------------------------------------
 * src/copy.c
 *		COPY ... FROM into tenant tables by roles that row level security
 *		applies to (which PostgreSQL refuses).
 *
 * (Being written: issue 15.)  ti_copy_intercept() returns whether it ran
 * the statement itself; until then it never does.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tenant_iso.h"

bool
ti_copy_intercept(PlannedStmt *pstmt, const char *queryString, ParamListInfo params,
				  QueryEnvironment *queryEnv, QueryCompletion *qc)
{
	return false;
}
