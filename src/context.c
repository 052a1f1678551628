/*-------------------------------------------------------------------------
 * src/context.c
 *		The tenant context: the tenant.org_id setting, its parsed and cached
 *		value, tenant_iso.current_org_id(), and the extension's other settings.
 *
 * Invariants:
 *	- The setting is parsed once, in its check hook; the assign hook copies
 *	  the parsed value into static storage, so current_org_id() never parses.
 *	- A malformed value is refused by the check hook, so the previous value
 *	  stays in place (this also covers values given before the library was
 *	  loaded: define_custom_variable() re-checks placeholders).
 *	- The value cannot change while a statement that reads or writes tenant
 *	  tables is running (executor.c tracks those); otherwise a volatile
 *	  set_config() in a WHERE clause could switch tenants mid-scan.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "access/parallel.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/uuid.h"

#include "compat.h"
#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_current_org_id);

/* Parsed form handed from the check hook to the assign hook. */
typedef struct TenantExtra
{
	bool		valid;
	bool		authenticated;	/* set by tenant_iso.authenticate() */
	LocalTransactionId lxid;	/* transaction in which it was set */
	pg_uuid_t	uuid;
} TenantExtra;

static char *org_id_string = NULL;
static bool org_id_valid = false;
static bool org_id_authenticated = false;
static LocalTransactionId org_id_lxid = InvalidLocalTransactionId;
static pg_uuid_t org_id_value;

static int	context_scope = TI_SCOPE_SESSION;

static const struct config_enum_entry context_scope_options[] = {
	{"session", TI_SCOPE_SESSION, false},
	{"transaction", TI_SCOPE_TRANSACTION, false},
	{NULL, 0, false}
};

static int	missing_context = TI_MISSING_ERROR;
static bool unsafe_ddl = false;
static bool strict_indexes = false;
static bool allow_explain_analyze = false;

static const struct config_enum_entry missing_context_options[] = {
	{"error", TI_MISSING_ERROR, false},
	{"empty", TI_MISSING_EMPTY, false},
	{NULL, 0, false}
};

/*
 * Parse a UUID exactly as the uuid type's input function does (optional
 * braces, an optional hyphen after any group of four hex digits), without
 * throwing: check hooks must report failure by returning false.
 */
static bool
ti_parse_uuid(const char *src, pg_uuid_t *out)
{
	bool		braces = false;
	int			i;

	if (src[0] == '{')
	{
		src++;
		braces = true;
	}
	for (i = 0; i < UUID_LEN; i++)
	{
		char		buf[3];

		if (src[0] == '\0' || src[1] == '\0')
			return false;
		if (!isxdigit((unsigned char) src[0]) || !isxdigit((unsigned char) src[1]))
			return false;
		buf[0] = src[0];
		buf[1] = src[1];
		buf[2] = '\0';
		out->data[i] = (unsigned char) strtoul(buf, NULL, 16);
		src += 2;
		if (src[0] == '-' && (i % 2) == 1 && i < UUID_LEN - 1)
			src++;
	}
	if (braces)
	{
		if (*src != '}')
			return false;
		src++;
	}
	return *src == '\0';
}

static bool
check_org_id(char **newval, void **extra, GucSource source)
{
	TenantExtra parsed;
	TenantExtra *result;

	memset(&parsed, 0, sizeof(parsed));
	if (*newval != NULL && (*newval)[0] != '\0')
	{
		if (!ti_parse_uuid(*newval, &parsed.uuid))
		{
			GUC_check_errcode(ERRCODE_INVALID_TEXT_REPRESENTATION);
			GUC_check_errmsg("invalid value for parameter \"tenant.org_id\": \"%.64s%s\"",
							 *newval, strlen(*newval) > 64 ? "..." : "");
			GUC_check_errdetail("The tenant must be an organization id in UUID form, or an empty string for no tenant.");
			GUC_check_errhint("Use a value such as '8c0d5f2e-3b7a-4c1e-9f00-2a6d1b5e7c44'.");
			return false;
		}
		parsed.valid = true;
		parsed.authenticated = ti_authenticating;
		parsed.lxid = ti_current_lxid();

		if (ti_require_signed_context() && !ti_authenticating && !InitializingParallelWorker)
		{
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("\"tenant.org_id\" can only be set by tenant_iso.authenticate() for this role");
			GUC_check_errdetail("tenant_iso.require_signed_context is on: the tenant comes from a signed token.");
			GUC_check_errhint("Call SELECT tenant_iso.authenticate('<token>') with a token from your authentication service.");
			return false;
		}
	}

	/* No tenant switch while a tenant statement (or cursor) is running. */
	if (ti_tenant_statement_running() &&
		(parsed.valid != org_id_valid ||
		 (parsed.valid && memcmp(&parsed.uuid, &org_id_value, sizeof(pg_uuid_t)) != 0)))
	{
		GUC_check_errcode(ERRCODE_TI_TENANT_SWITCH);
		GUC_check_errmsg("cannot change \"tenant.org_id\" while a statement on tenant tables is running");
		GUC_check_errdetail("A statement or an open cursor that reads or writes tenant tables must see one tenant from start to end.");
		GUC_check_errhint("Set the tenant in its own statement, e.g. SELECT set_config('tenant.org_id', $1, true), before the query, and close open cursors first.");
		return false;
	}

	/* Store the canonical text form, so SHOW and current_setting agree. */
	if (parsed.valid)
	{
		char	   *canon = DatumGetCString(DirectFunctionCall1(uuid_out,
																  UUIDPGetDatum(&parsed.uuid)));
		char	   *copy = ti_guc_malloc(strlen(canon) + 1);

		if (copy == NULL)
			return false;
		strcpy(copy, canon);
		pfree(canon);
		ti_guc_free(*newval);
		*newval = copy;
	}

	result = (TenantExtra *) ti_guc_malloc(sizeof(TenantExtra));
	if (result == NULL)
		return false;
	*result = parsed;
	*extra = result;
	return true;
}

static void
assign_org_id(const char *newval, void *extra)
{
	TenantExtra *parsed = (TenantExtra *) extra;

	if (parsed != NULL && parsed->valid)
	{
		org_id_value = parsed->uuid;
		org_id_valid = true;
		org_id_authenticated = parsed->authenticated;
		org_id_lxid = parsed->lxid;
	}
	else
		org_id_valid = false;
}

void
ti_context_init(void)
{
	DefineCustomStringVariable("tenant.org_id",
							   "The organization (tenant) this session works for.",
							   "A UUID from tenant_iso.organizations, or an empty string for no tenant. "
							   "Every read and write on tenant tables is scoped to it.",
							   &org_id_string,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE,
							   check_org_id,
							   assign_org_id,
							   NULL);

	DefineCustomEnumVariable("tenant_iso.missing_context",
							 "What a statement on tenant tables does without a tenant.",
							 "\"error\" (the default) raises SQLSTATE TI001; \"empty\" shows zero rows.",
							 &missing_context,
							 TI_MISSING_ERROR,
							 missing_context_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("tenant_iso.context_scope",
							 "How long a tenant context lives.",
							 "\"session\" (the default): until changed. \"transaction\": only in the transaction "
							 "that set it (SET LOCAL, set_config(..., true)); session-level SET is refused. "
							 "Use it behind transaction-pooling poolers.",
							 &context_scope,
							 TI_SCOPE_SESSION,
							 context_scope_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("tenant_iso.strict_indexes",
							 "Refuses indexes on tenant tables that do not lead with organization_id.",
							 "Off (the default): such an index gets a WARNING. An index condition that runs before "
							 "the tenant filter lets EXPLAIN ANALYZE act as a value oracle. Indexes on a single uuid "
							 "column are exempt.",
							 &strict_indexes,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("tenant_iso.allow_explain_analyze",
							 "Allows EXPLAIN ANALYZE on tenant tables for roles that row level security applies to.",
							 "Off (the default): refused, because its row counts (\"Rows Removed by Filter\") "
							 "count other tenants' rows. Grant it to trusted roles with ALTER ROLE ... SET.",
							 &allow_explain_analyze,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("tenant_iso.unsafe_ddl",
							 "Lets a superuser make schema changes that break tenant isolation.",
							 "A deliberate escape hatch for one session; every use is reported with a WARNING.",
							 &unsafe_ddl,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/*
 * The state of the tenant context.  A value is only in effect when it was
 * authenticated (if the role requires signed context) and, under
 * context_scope = 'transaction', set in the current transaction.
 */
TenantState
ti_tenant_state(void)
{
	if (!org_id_valid)
		return TI_TENANT_NONE;
	/*
	 * A parallel worker restores the leader's settings in a transaction of
	 * its own and without authenticate(): the leader checked the context.
	 */
	if (IsParallelWorker())
		return TI_TENANT_OK;
	if (ti_require_signed_context() && !org_id_authenticated)
		return TI_TENANT_UNSIGNED;
	if (context_scope == TI_SCOPE_TRANSACTION && org_id_lxid != ti_current_lxid())
		return TI_TENANT_STALE;
	return TI_TENANT_OK;
}

bool
ti_tenant_is_set(void)
{
	return ti_tenant_state() == TI_TENANT_OK;
}

const pg_uuid_t *
ti_current_tenant(void)
{
	return ti_tenant_is_set() ? &org_id_value : NULL;
}

/* Our entry in the GUC machinery (stable once defined). */
static struct config_generic *
org_id_gconf(void)
{
	static struct config_generic *gconf = NULL;

	if (gconf == NULL)
	{
#if PG_VERSION_NUM >= 160000
		gconf = find_option("tenant.org_id", false, true, ERROR);
#else
		struct config_generic **vars = get_guc_variables();
		int			n = GetNumConfigOptions();
		int			i;

		for (i = 0; i < n; i++)
		{
			if (strcmp(vars[i]->name, "tenant.org_id") == 0)
			{
				gconf = vars[i];
				break;
			}
		}
#endif
		if (gconf == NULL)
			elog(ERROR, "setting \"tenant.org_id\" is not defined");
	}
	return gconf;
}

/*
 * The tenant that will be in effect once the current transaction commits:
 * walk the setting's stack of transaction-local values as AtEOXact_GUC()
 * will (SAVE and LOCAL restore the prior value, SET_LOCAL the masked SET
 * value, SET keeps the current one).
 */
void
ti_tenant_after_commit(bool *valid, pg_uuid_t *uuid)
{
	struct config_generic *gconf = org_id_gconf();
	TenantExtra *extra = (TenantExtra *) gconf->extra;
	GucStack   *stack;

	for (stack = gconf->stack; stack != NULL; stack = stack->prev)
	{
		switch (stack->state)
		{
			case GUC_SAVE:
			case GUC_LOCAL:
				extra = (TenantExtra *) stack->prior.extra;
				break;
			case GUC_SET_LOCAL:
				extra = (TenantExtra *) stack->masked.extra;
				break;
			case GUC_SET:
				break;
		}
	}
	*valid = extra != NULL && extra->valid;
	if (*valid)
		*uuid = extra->uuid;
}

TenantContextScope
ti_context_scope(void)
{
	return (TenantContextScope) context_scope;
}

TenantMissingContext
ti_missing_context(void)
{
	return (TenantMissingContext) missing_context;
}

/* The escape hatch only ever opens for a superuser (not after SET ROLE to another role). */
bool
ti_unsafe_ddl(void)
{
	return unsafe_ddl && superuser();
}

bool
ti_strict_indexes(void)
{
	return strict_indexes;
}

bool
ti_allow_explain_analyze(void)
{
	return allow_explain_analyze;
}

/*
 * tenant_iso.current_org_id() RETURNS uuid
 *		The current tenant, or NULL when none is set.  No parsing: the value
 *		was parsed when the setting changed.
 */
Datum
tenant_iso_current_org_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *result;

	if (!ti_tenant_is_set())
		PG_RETURN_NULL();
	result = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	*result = org_id_value;
	PG_RETURN_UUID_P(result);
}
