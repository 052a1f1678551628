/*-------------------------------------------------------------------------
 * src/context.c
 *		The tenant context: the tenant.org_id setting, the rules that decide
 *		whether its value is in effect, the tenant of statements in flight
 *		and of parallel workers, and tenant_iso.current_org_id().
 *
 * Invariants:
 *	- One function, ti_effective_tenant(), says which tenant is in effect.
 *	  current_org_id(), the executor's tenant parameter, the stamping
 *	  trigger, the missing-tenant check and SHOW all ask it.
 *	- A value is in effect only when it was set by authenticate() (if
 *	  tenant_iso.require_signed_context is on) and, under
 *	  context_scope = 'transaction', in the current transaction.  SHOW and
 *	  current_setting() display the tenant in effect, never another value.
 *	- While a statement reads or writes tenant tables the tenant is pinned
 *	  to the one it started under (inflight.c): a change by any route
 *	  (SET, set_config with any value, RESET, a role default, a function's
 *	  SET clause) cannot mix tenants inside it.  The check hook refuses the
 *	  change (TI002); routes without a check hook are caught at the next
 *	  executor boundary by ti_context_check_unchanged() (TI002), which
 *	  aborts the transaction and so undoes the change.
 *	- A parallel worker uses only the tenant its leader had in effect,
 *	  handed over in the internal setting tenant_iso.leader_tenant, which
 *	  only the leader (and the worker's restore) may set.
 *	- The value is parsed once, in the check hook; a malformed value is
 *	  refused and the previous value stays.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/uuid.h"

#include "compat.h"
#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_current_org_id);

#define TI_LEADER_SETTING	"tenant_iso.leader_tenant"

/* Parsed form of a tenant.org_id value, handed from the check to the assign hook. */
typedef struct TenantExtra
{
	bool		valid;
	bool		authenticated;	/* set by authenticate() or internally */
	LocalTransactionId lxid;	/* transaction in which it was set */
	pg_uuid_t	uuid;
} TenantExtra;

static char *org_id_string = NULL;
static TenantExtra current;		/* the setting's value now */

static char *leader_string = NULL;
static TiTenant leader_tenant;	/* in a parallel worker: the leader's tenant */

/* True only while authenticate() or the extension itself sets the value. */
static bool trusted_set = false;
/* True only while the leader hands its tenant to the workers. */
static bool setting_leader = false;

static int	context_scope = TI_SCOPE_SESSION;
static int	missing_context = TI_MISSING_ERROR;
static bool require_signed_context = false;

static const struct config_enum_entry context_scope_options[] = {
	{"session", TI_SCOPE_SESSION, false},
	{"transaction", TI_SCOPE_TRANSACTION, false},
	{NULL, 0, false}
};

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
parse_uuid(const char *src, pg_uuid_t *out)
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

/* The canonical text of a tenant ("" for none), in a static buffer. */
static const char *
tenant_text(const TiTenant *t)
{
	static char buf[UUID_LEN * 2 + 5];
	static const char digits[] = "0123456789abcdef";
	int			i,
				j = 0;

	if (!t->valid)
		return "";
	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[j++] = '-';
		buf[j++] = digits[t->uuid.data[i] >> 4];
		buf[j++] = digits[t->uuid.data[i] & 0x0F];
	}
	buf[j] = '\0';
	return buf;
}

/*
 * The tenant a value of the setting puts in effect, by the rules of the
 * file header (signed context, transaction scope).
 */
static TiTenant
effective_of(const TenantExtra *v)
{
	TiTenant	t;

	memset(&t, 0, sizeof(t));
	if (v == NULL || !v->valid)
		return t;
	if (require_signed_context && !v->authenticated)
		return t;
	if (context_scope == TI_SCOPE_TRANSACTION && v->lxid != ti_current_lxid())
		return t;
	t.valid = true;
	t.uuid = v->uuid;
	return t;
}

/* The tenant in effect by the setting alone (not the pinned one). */
static TiTenant
derived_tenant(void)
{
	if (IsParallelWorker())
		return leader_tenant;
	return effective_of(&current);
}

/*
 * The tenant in effect: in a parallel worker the leader's; while a
 * statement on tenant tables runs, the one it started under; otherwise the
 * setting's, if it is in effect.
 */
void
ti_effective_tenant(TiTenant *tenant)
{
	if (IsParallelWorker())
	{
		*tenant = leader_tenant;
		return;
	}
	if (ti_inflight_pinned(tenant))
		return;
	*tenant = effective_of(&current);
}

/* Why no tenant is in effect (for messages), or TI_TENANT_OK. */
TenantState
ti_tenant_state(void)
{
	if (IsParallelWorker())
		return leader_tenant.valid ? TI_TENANT_OK : TI_TENANT_NONE;
	if (!current.valid)
		return TI_TENANT_NONE;
	if (require_signed_context && !current.authenticated)
		return TI_TENANT_UNSIGNED;
	if (context_scope == TI_SCOPE_TRANSACTION && current.lxid != ti_current_lxid())
		return TI_TENANT_STALE;
	return TI_TENANT_OK;
}

static void
refuse_switch(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_TI_TENANT_SWITCH),
			 errmsg("the tenant changed while a statement or cursor on tenant tables was open"),
			 errdetail("A statement or cursor that reads or writes tenant tables must see one tenant from start to end; the change is undone."),
			 errhint("Set the tenant in its own statement before the query, and close open cursors first.")));
}

/*
 * Refuse to go on when the tenant in effect differs from the tenant of
 * statements or cursors still holding tenant rows: the setting was changed
 * by a route that runs no check hook (RESET through set_config(..., NULL), a
 * role default, a PL/pgSQL assignment).  tainted: also statements that
 * consumed tenant rows through nested ones - TI_ANY_TAINTED before a
 * statement reads tenant tables, the executor itself when a cursor resumes,
 * NULL otherwise.  Called at every executor boundary and after every utility
 * statement; the error aborts the transaction, which undoes the change.
 */
void
ti_context_check_unchanged(const void *tainted)
{
	TiTenant	now = derived_tenant();

	if (ti_inflight_other_tenant_in_use(&now, tainted))
		refuse_switch();
}

/*
 * Between statements: deferred triggers queued by writes under another
 * tenant than the one in effect now would run under the wrong tenant (at
 * COMMIT or SET CONSTRAINTS): refuse to go on.
 */
void
ti_context_check_deferred(void)
{
	TiTenant	now = derived_tenant();

	if (ti_inflight_deferred_for_other_tenant(&now))
		ereport(ERROR,
				(errcode(ERRCODE_TI_TENANT_SWITCH),
				 errmsg("the tenant changed while deferred triggers of another tenant's writes are pending"),
				 errdetail("Deferred constraint checks and triggers run under the tenant in effect when they fire; the change is undone."),
				 errhint("Set the tenant before the transaction's writes, or SET CONSTRAINTS ALL IMMEDIATE before switching.")));
}

static bool
check_org_id(char **newval, void **extra, GucSource source)
{
	TenantExtra parsed;
	TenantExtra *result;

	memset(&parsed, 0, sizeof(parsed));
	if (*newval != NULL && (*newval)[0] != '\0')
	{
		if (!parse_uuid(*newval, &parsed.uuid))
		{
			GUC_check_errcode(ERRCODE_INVALID_TEXT_REPRESENTATION);
			GUC_check_errmsg("invalid value for parameter \"tenant.org_id\": \"%.64s%s\"",
							 *newval, strlen(*newval) > 64 ? "..." : "");
			GUC_check_errdetail("The tenant must be an organization id in UUID form, or an empty string for no tenant.");
			GUC_check_errhint("Use a value such as '8c0d5f2e-3b7a-4c1e-9f00-2a6d1b5e7c44'.");
			return false;
		}
		parsed.valid = true;
		parsed.authenticated = trusted_set;
		parsed.lxid = ti_current_lxid();

		if (require_signed_context && !trusted_set && !InitializingParallelWorker)
		{
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("\"tenant.org_id\" can only be set by tenant_iso.authenticate() for this role");
			GUC_check_errdetail("tenant_iso.require_signed_context is on: the tenant comes from a signed token.");
			GUC_check_errhint("Call SELECT tenant_iso.authenticate('<token>') with a token from your authentication service.");
			return false;
		}
	}

	/* No tenant switch while tenant rows are in use. */
	if (!InitializingParallelWorker && ti_inflight_in_use())
	{
		TiTenant	before = effective_of(&current);
		TiTenant	after = effective_of(&parsed);

		if (!ti_tenant_equal(&before, &after))
		{
			GUC_check_errcode(ERRCODE_TI_TENANT_SWITCH);
			GUC_check_errmsg("cannot change \"tenant.org_id\" while a statement on tenant tables is running");
			GUC_check_errdetail("A statement or an open cursor that reads or writes tenant tables must see one tenant from start to end.");
			GUC_check_errhint("Set the tenant in its own statement, e.g. SELECT set_config('tenant.org_id', $1, true), before the query, and close open cursors first.");
			return false;
		}
	}

	/* Store the canonical text form. */
	if (parsed.valid)
	{
		TiTenant	t = {true, parsed.uuid};
		const char *canon = tenant_text(&t);
		char	   *copy = ti_guc_malloc(strlen(canon) + 1);

		if (copy == NULL)
			return false;
		strcpy(copy, canon);
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
	TiTenant	now;

	if (extra != NULL)
		current = *(TenantExtra *) extra;
	else
		memset(&current, 0, sizeof(current));
	/* an assign hook cannot refuse: held cursors of another tenant stop serving */
	if (!InitializingParallelWorker && !IsParallelWorker())
	{
		now = effective_of(&current);
		ti_inflight_fail_held_cursors(&now);
	}
	/* plans routed for the previous tenant are replanned (Citus) */
	ti_citus_tenant_changed();
}

/* SHOW and current_setting() display the tenant in effect, nothing else. */
static const char *
show_org_id(void)
{
	TiTenant	t;

	ti_effective_tenant(&t);
	return tenant_text(&t);
}

/* The leader's tenant: set only by the leader itself or a worker's restore. */
static bool
check_leader(char **newval, void **extra, GucSource source)
{
	TiTenant   *parsed;

	if (!setting_leader && !InitializingParallelWorker && source != PGC_S_DEFAULT)
	{
		GUC_check_errcode(ERRCODE_CANT_CHANGE_RUNTIME_PARAM);
		GUC_check_errmsg("parameter \"%s\" cannot be set", TI_LEADER_SETTING);
		GUC_check_errdetail("It carries a parallel leader's tenant to its workers and is set internally.");
		GUC_check_errhint("Set the tenant with tenant.org_id or tenant_iso.authenticate().");
		return false;
	}
	parsed = (TiTenant *) ti_guc_malloc(sizeof(TiTenant));
	if (parsed == NULL)
		return false;
	memset(parsed, 0, sizeof(TiTenant));
	if (*newval != NULL && (*newval)[0] != '\0')
	{
		if (!parse_uuid(*newval, &parsed->uuid))
		{
			ti_guc_free(parsed);
			GUC_check_errmsg("invalid value for parameter \"%s\"", TI_LEADER_SETTING);
			return false;
		}
		parsed->valid = true;
	}
	*extra = parsed;
	return true;
}

static void
assign_leader(const char *newval, void *extra)
{
	if (extra != NULL)
		leader_tenant = *(TiTenant *) extra;
	else
		memset(&leader_tenant, 0, sizeof(leader_tenant));
}

/*
 * Before a plan that may launch parallel workers starts: hand them the
 * tenant in effect.  Inside parallel mode nothing can be set; the value set
 * for the enclosing statement must then be the same tenant.
 */
void
ti_context_prepare_parallel(const TiTenant *tenant)
{
	if (IsParallelWorker())
		return;
	if (IsInParallelMode())
	{
		if (!ti_tenant_equal(&leader_tenant, tenant))
			ereport(ERROR,
					(errcode(ERRCODE_TI_TENANT_SWITCH),
					 errmsg("cannot start a parallel plan under another tenant than its enclosing statement"),
					 errdetail("Parallel workers use the tenant of the outermost parallel statement."),
					 errhint("Set the tenant before the statement.")));
		return;
	}
	if (ti_tenant_equal(&leader_tenant, tenant) && leader_string != NULL &&
		strcmp(leader_string, tenant_text(tenant)) == 0)
		return;
	setting_leader = true;
	PG_TRY();
	{
		(void) set_config_option(TI_LEADER_SETTING, tenant_text(tenant),
								 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SET,
								 true, 0, false);
	}
	PG_FINALLY();
	{
		setting_leader = false;
	}
	PG_END_TRY();
}

/*
 * After a plan that may have started parallel workers: no stale tenant is
 * left for parallel work that no plan starts (a parallel index build, whose
 * workers then have no tenant, and fail closed).
 */
void
ti_context_finish_parallel(void)
{
	TiTenant	none = {false};

	if (!IsParallelWorker() && !IsInParallelMode() && leader_tenant.valid)
		ti_context_prepare_parallel(&none);
}

static void
set_trusted(const char *org, GucAction action)
{
	trusted_set = true;
	PG_TRY();
	{
		(void) set_config_option("tenant.org_id", org,
								 superuser() ? PGC_SUSET : PGC_USERSET,
								 PGC_S_SESSION, action, true, 0, false);
	}
	PG_FINALLY();
	{
		trusted_set = false;
	}
	PG_END_TRY();
}

/*
 * Set the tenant from a verified source: authenticate()'s token (for the
 * transaction under context_scope = 'transaction', else for the session).
 */
void
ti_context_set_signed(const char *org)
{
	set_trusted(org, context_scope == TI_SCOPE_TRANSACTION ? GUC_ACTION_LOCAL : GUC_ACTION_SET);
}

/*
 * The tenant a Citus coordinator sent with a verified node token
 * (citus_context.c), or none (NULL): for the current transaction only.
 */
void
ti_context_set_node(const char *org)
{
	set_trusted(org != NULL ? org : "", GUC_ACTION_LOCAL);
}

/* Must the tenant be signed (tenant_iso.require_signed_context)? */
bool
ti_context_signed_required(void)
{
	return require_signed_context;
}

/*
 * Make org the tenant until ti_context_pop_internal(): for the extension's
 * own work on one organization's rows (drop_organization).  The statements
 * around it keep their state (inflight.c).
 */
TiInternalTenant
ti_context_push_internal(const pg_uuid_t *org)
{
	TiTenant	t = {true, *org};
	TiInternalTenant result;

	result.saved = ti_inflight_save();
	result.nestlevel = NewGUCNestLevel();
	trusted_set = true;
	PG_TRY();
	{
		(void) set_config_option("tenant.org_id", tenant_text(&t),
								 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	}
	PG_FINALLY();
	{
		trusted_set = false;
	}
	PG_END_TRY();
	return result;
}

void
ti_context_pop_internal(TiInternalTenant pushed)
{
	AtEOXact_GUC(true, pushed.nestlevel);
	ti_inflight_restore(pushed.saved);
}

/* Our entry in the GUC machinery (stable once defined). */
static struct config_generic *
org_id_gconf(void)
{
	static struct config_generic *gconf = NULL;

	if (gconf == NULL)
		gconf = ti_find_guc("tenant.org_id");
	return gconf;
}

/*
 * The setting's value once the current transaction commits, and its value
 * before the transaction: walk the setting's stack of transaction-local
 * values as AtEOXact_GUC() will (SAVE and LOCAL restore the prior value,
 * SET_LOCAL the masked SET value, SET keeps the current one).
 */
static void
values_around_commit(TenantExtra **before, TenantExtra **after)
{
	struct config_generic *gconf = org_id_gconf();
	GucStack   *stack;

	*after = (TenantExtra *) gconf->extra;
	*before = *after;
	for (stack = gconf->stack; stack != NULL; stack = stack->prev)
	{
		switch (stack->state)
		{
			case GUC_SAVE:
			case GUC_LOCAL:
				*after = (TenantExtra *) stack->prior.extra;
				break;
			case GUC_SET_LOCAL:
				*after = (TenantExtra *) stack->masked.extra;
				break;
			case GUC_SET:
				break;
		}
		*before = (TenantExtra *) stack->prior.extra;
	}
}

/* The tenant value (not its effect) that will remain after this transaction commits. */
void
ti_tenant_after_commit(TiTenant *tenant)
{
	TenantExtra *before;
	TenantExtra *after;

	values_around_commit(&before, &after);
	memset(tenant, 0, sizeof(TiTenant));
	if (after != NULL && after->valid)
	{
		tenant->valid = true;
		tenant->uuid = after->uuid;
	}
}

/*
 * At commit, under context_scope = 'transaction': a tenant may not outlive
 * its transaction, whatever set it (set_config(..., false) included).
 */
static void
check_scope_at_commit(void)
{
	TenantExtra *before;
	TenantExtra *after;

	/* a worker restores its leader's settings in a transaction of its own */
	if (IsParallelWorker() || context_scope != TI_SCOPE_TRANSACTION ||
		org_id_gconf()->stack == NULL)
		return;
	values_around_commit(&before, &after);
	if (after == NULL || !after->valid)
		return;
	if (before != NULL && before->valid && memcmp(&before->uuid, &after->uuid, sizeof(pg_uuid_t)) == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("session-level setting of \"tenant.org_id\" is not allowed"),
			 errdetail("tenant_iso.context_scope is \"transaction\": a tenant context must not outlive its transaction, so this transaction is rolled back."),
			 errhint("Use SET LOCAL tenant.org_id = ... or set_config('tenant.org_id', ..., true) inside the transaction.")));
}

static void
context_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT)
		check_scope_at_commit();
}

/*
 * SET / RESET of tenant.org_id as a statement.  RESET runs no check hook:
 * refuse it while tenant rows are in use.  Session-level SET under
 * context_scope = 'transaction' is refused before it runs.
 */
void
ti_context_check_set_stmt(VariableSetStmt *stmt)
{
	bool		ours = stmt->name != NULL && strcmp(stmt->name, "tenant.org_id") == 0;

	if ((stmt->kind == VAR_RESET_ALL ||
		 ((stmt->kind == VAR_RESET || stmt->kind == VAR_SET_DEFAULT) && ours)) &&
		ti_inflight_in_use())
		ereport(ERROR,
				(errcode(ERRCODE_TI_TENANT_SWITCH),
				 errmsg("cannot reset \"tenant.org_id\" while a statement or cursor on tenant tables is open"),
				 errdetail("A cursor that reads or writes tenant tables must see one tenant from start to end."),
				 errhint("Close open cursors first.")));

	if (stmt->kind == VAR_SET_VALUE && !stmt->is_local && ours &&
		context_scope == TI_SCOPE_TRANSACTION)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("session-level SET of \"tenant.org_id\" is not allowed"),
				 errdetail("tenant_iso.context_scope is \"transaction\": a tenant context must not outlive its transaction."),
				 errhint("Use SET LOCAL tenant.org_id = ... or set_config('tenant.org_id', ..., true) inside the transaction.")));
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

static void
define_org_id(void)
{
	DefineCustomStringVariable("tenant.org_id",
							   "The organization (tenant) this session works for.",
							   "A UUID from tenant_iso.organizations, or an empty string for no tenant. "
							   "Every read and write on tenant tables is scoped to it. SHOW displays "
							   "the tenant in effect only.",
							   &org_id_string, "", PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   check_org_id, assign_org_id, show_org_id);
	DefineCustomStringVariable(TI_LEADER_SETTING,
							   "Internal: the tenant a parallel leader hands to its workers.",
							   NULL,
							   &leader_string, "", PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_NO_RESET_ALL |
							   GUC_DISALLOW_IN_FILE | GUC_DISALLOW_IN_AUTO_FILE,
							   check_leader, assign_leader, NULL);
}

void
ti_context_init(void)
{
	define_org_id();
	DefineCustomEnumVariable("tenant_iso.missing_context",
							 "What a statement on tenant tables does without a tenant.",
							 "\"error\" (the default) raises SQLSTATE TI001; \"empty\" shows zero rows.",
							 &missing_context, TI_MISSING_ERROR, missing_context_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("tenant_iso.context_scope",
							 "How long a tenant context lives.",
							 "\"session\" (the default): until changed. \"transaction\": only in the transaction "
							 "that set it (SET LOCAL, set_config(..., true)); a session-level setting is refused. "
							 "Use it behind transaction-pooling poolers.",
							 &context_scope, TI_SCOPE_SESSION, context_scope_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("tenant_iso.require_signed_context",
							 "Requires the tenant to be set by tenant_iso.authenticate().",
							 "Typically set per application role with ALTER ROLE app SET "
							 "tenant_iso.require_signed_context = on.",
							 &require_signed_context, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	RegisterXactCallback(context_xact_callback, NULL);
}

/*
 * tenant_iso.current_org_id() RETURNS uuid
 *		The tenant in effect, or NULL when none is.  No parsing: the value was
 *		parsed when the setting changed.
 */
Datum
tenant_iso_current_org_id(PG_FUNCTION_ARGS)
{
	TiTenant	t;
	pg_uuid_t  *result;

	ti_effective_tenant(&t);
	if (!t.valid)
		PG_RETURN_NULL();
	result = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	*result = t.uuid;
	PG_RETURN_UUID_P(result);
}
