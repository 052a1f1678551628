/*-------------------------------------------------------------------------
 * src/auth.c
 *		Signed tenant context: the settings that require it and the keys
 *		that verify it, tenant_iso.authenticate() and tenant_iso.sign().
 *
 * Invariants:
 *	- When tenant_iso.require_signed_context is on, tenant.org_id only takes
 *	  effect when set by authenticate() (ti_authenticating is true exactly
 *	  while it sets the value; context.c records that with the value).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "tenant_iso.h"

bool		ti_authenticating = false;

static bool require_signed_context = false;

bool
ti_require_signed_context(void)
{
	return require_signed_context;
}

void
ti_auth_init(void)
{
	DefineCustomBoolVariable("tenant_iso.require_signed_context",
							 "Requires the tenant to be set by tenant_iso.authenticate().",
							 "Typically set per application role with ALTER ROLE app SET "
							 "tenant_iso.require_signed_context = on.",
							 &require_signed_context,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}
