/*-------------------------------------------------------------------------
 * src/refusal.c
 *		How a rule refuses: an ERROR with the rule's SQLSTATE, or - when a
 *		superuser has opened the escape hatch tenant_iso.unsafe_ddl for the
 *		session - a WARNING that says what would have been refused.
 *
 * A leaf.  Every rule that refuses DDL reports through ti_refuse(), so the
 * escape hatch behaves the same everywhere and is defined once.
 *
 * Invariants:
 *	- The escape hatch only opens for a superuser: after SET ROLE to an
 *	  ordinary role, or for any other role, refusals are errors.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "tenant_iso.h"

static bool unsafe_ddl = false;

void
ti_refusal_init(void)
{
	DefineCustomBoolVariable("tenant_iso.unsafe_ddl",
							 "Lets a superuser make schema changes that break tenant isolation.",
							 "A deliberate escape hatch for one session; every use is reported with a WARNING.",
							 &unsafe_ddl, false, PGC_SUSET, 0, NULL, NULL, NULL);
}

/* Is the escape hatch open (only ever for a superuser)? */
bool
ti_unsafe_ddl(void)
{
	return unsafe_ddl && superuser();
}

/*
 * Refuse with sqlstate (ERROR), or, under the escape hatch, warn.  The
 * message follows PostgreSQL's style; detail and hint are sentences.
 */
void
ti_refuse(int sqlstate, const char *msg, const char *detail, const char *hint)
{
	if (ti_unsafe_ddl())
		ereport(WARNING,
				(errmsg("tenant_iso.unsafe_ddl is on: %s", msg),
				 errdetail("%s", detail)));
	else
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s", msg),
				 errdetail("%s", detail),
				 errhint("%s", hint)));
}
