/*-------------------------------------------------------------------------
 * src/tenant_iso.h
 *		Declarations shared by the files of the tenant_iso module.
 *
 * Each group of prototypes names the file that defines it.  Version
 * specific API use is kept in compat.h.
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_ISO_H
#define TENANT_ISO_H

#include "postgres.h"

#include "nodes/plannodes.h"
#include "utils/relcache.h"
#include "utils/uuid.h"

/* Our own SQLSTATEs, class "TI" (documented in README.md). */
#define ERRCODE_TI_NO_TENANT			MAKE_SQLSTATE('T','I','0','0','1')
#define ERRCODE_TI_TENANT_SWITCH		MAKE_SQLSTATE('T','I','0','0','2')
#define ERRCODE_TI_CROSS_TENANT_WRITE	MAKE_SQLSTATE('T','I','0','0','3')

#define TI_SCHEMA				"tenant_iso"
#define TI_COLUMN				"organization_id"
#define TI_ISOLATION_POLICY		"tenant_isolation"
#define TI_ACCESS_POLICY		"tenant_access"
#define TI_STAMP_TRIGGER		"tenant_iso_stamp"
#define TI_REGISTRY_FK			"tenant_iso_organization_fk"

/* missing_context values */
typedef enum TenantMissingContext
{
	TI_MISSING_ERROR,
	TI_MISSING_EMPTY
} TenantMissingContext;

typedef enum TenantContextScope
{
	TI_SCOPE_SESSION,
	TI_SCOPE_TRANSACTION
} TenantContextScope;

typedef enum TenantState
{
	TI_TENANT_OK,
	TI_TENANT_NONE,				/* no tenant set */
	TI_TENANT_UNSIGNED,			/* set directly although signed context is required */
	TI_TENANT_STALE				/* set in an earlier transaction, scope is transaction */
} TenantState;

/* context.c: the tenant.org_id setting and its cached value */
extern void ti_context_init(void);
extern TenantState ti_tenant_state(void);
extern TenantContextScope ti_context_scope(void);
extern void ti_tenant_after_commit(bool *valid, pg_uuid_t *uuid);
extern bool ti_tenant_is_set(void);
extern const pg_uuid_t *ti_current_tenant(void);
extern TenantMissingContext ti_missing_context(void);
extern bool ti_unsafe_ddl(void);
extern bool ti_strict_indexes(void);
extern bool ti_allow_explain_analyze(void);

/* auth.c: signed tenant context (tenant_iso.authenticate / sign and their keys) */
extern void ti_auth_init(void);
extern bool ti_require_signed_context(void);
extern bool ti_authenticating;	/* true only while authenticate() sets tenant.org_id */

/* executor.c: per-statement enforcement and tracking of running tenant statements */
extern void ti_executor_init(void);
extern bool ti_tenant_statement_running(void);
extern bool ti_relation_is_tenant_table(Relation rel);
extern bool ti_relid_is_tenant_table(Oid relid);
extern bool ti_rls_applies(Oid relid, Oid checkAsUser);
extern int	ti_explain_analyze_depth;
extern int	ti_matview_depth;

/* planner.c: implied leakproof conditions (LIKE prefixes) */
extern void ti_planner_init(void);
extern int	ti_tenant_param_id(PlannedStmt *stmt);

/* guard.c: ProcessUtility hook (post-DDL invariants, TRUNCATE, rules) */
extern void ti_guard_init(void);
extern bool ti_in_internal_ddl;
extern void ti_refuse_fk_into_tenant_tables(Oid relid);

/* ddl.c: the schema check event trigger and the set-up of a tenant table */
extern bool ti_relation_is_managed(Oid relid);
extern void ti_setup_tenant_table(Oid relid, bool notice);
extern void ti_enroll_table(Oid relid, const char *command_tag, bool notice);
extern void ti_check_view(Oid viewid, bool fix);
extern void ti_check_new_indexes(Oid relid, List *before);
extern bool ti_has_tenant_ancestor(Oid relid);
extern Oid	ti_non_tenant_ancestor(Oid relid);
extern void ti_check_tenant_column(Oid relid, const char *command_tag);

/* internal.c: catalog queries and set-up DDL as the extension's owner */
extern Oid	ti_extension_owner(void);
extern char *ti_qualified_name(Oid relid);
extern void ti_begin_internal(Oid *save_userid, int *save_sec, int *save_nest);
extern void ti_end_internal(Oid save_userid, int save_sec, int save_nest);
extern List *ti_internal_query(const char *sql, int nargs, Oid *argtypes, Datum *values,
							   long limit, int ncols);
extern bool ti_internal_exists(const char *sql, Oid relid);
extern List *ti_internal_oids(const char *sql, Oid relid);

/* verify.c: invariant checks of a tenant table */
extern void ti_verify_table(Oid relid, bool error_on_violation);
extern List *ti_table_violation_names(Oid relid);
extern void ti_verify_table_since(Oid relid, List *before);
extern void ti_verify_table_checks(Oid relid, bool error_on_violation, const char *only);
#define TI_KEY_CHECKS "unique_key_without_tenant,foreign_key_without_tenant"

#endif							/* TENANT_ISO_H */
