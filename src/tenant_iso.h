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
#include "nodes/primnodes.h"
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

/* A tenant, or none (valid = false). */
typedef struct TiTenant
{
	bool		valid;
	pg_uuid_t	uuid;
} TiTenant;

struct VariableSetStmt;
struct PortalData;

/* context.c: the tenant.org_id setting, the tenant in effect, current_org_id() */
extern void ti_context_init(void);
extern void ti_effective_tenant(TiTenant *tenant);
extern TenantState ti_tenant_state(void);
extern void ti_context_check_unchanged(const void *self);
extern void ti_context_prepare_parallel(const TiTenant *tenant);
extern void ti_context_set_signed(const char *org);
extern int	ti_context_push_internal(const pg_uuid_t *org);
extern void ti_context_pop_internal(int nestlevel);
extern void ti_tenant_after_commit(TiTenant *tenant);
extern void ti_context_check_set_stmt(struct VariableSetStmt *stmt);
extern TenantContextScope ti_context_scope(void);
extern TenantMissingContext ti_missing_context(void);

/* inflight.c: statements and cursors in flight over tenant rows */
extern void ti_inflight_init(void);
extern bool ti_tenant_equal(const TiTenant *a, const TiTenant *b);
extern void ti_inflight_start(const void *queryDesc, bool direct, const TiTenant *tenant);
extern bool ti_inflight_tenant_of(const void *queryDesc, TiTenant *tenant);
extern void ti_inflight_run_begin(const void *queryDesc);
extern void ti_inflight_run_end(const void *queryDesc);
extern bool ti_inflight_end(const void *queryDesc, TiTenant *tenant);
extern bool ti_inflight_pinned(TiTenant *tenant);
extern bool ti_inflight_in_use(void);
extern bool ti_inflight_other_tenant_in_use(const TiTenant *now, const void *self);
extern void ti_inflight_note_held_cursor(const TiTenant *tenant);
extern bool ti_inflight_held_cursor_tenant(const char *name, TiTenant *tenant);
extern bool ti_inflight_next_unchecked_held(const char **name, TiTenant *tenant,
											struct PortalData **portal);

/* tenant_table.c: what a tenant table is, whom scoping applies to, the tenant comparison */
extern void ti_tenant_table_init(void);
extern Oid	ti_schema_oid(void);
extern Oid	ti_tenant_func_oid(void);
extern bool ti_relation_is_tenant_table(Relation rel);
extern bool ti_relid_is_tenant_table(Oid relid);
extern bool ti_relid_is_registry(Oid relid);
extern AttrNumber ti_tenant_column(Oid relid);
extern bool ti_role_bypasses_tenant(Oid roleid);
extern bool ti_tenant_scoping_applies(Oid checkAsUser);
extern Expr *ti_tenant_qual(Oid relid, Index varno);
extern bool ti_is_tenant_qual(Oid relid, Index varno, Node *expr);

/* guard.c defines tenant_iso.unsafe_ddl, which several files obey */
extern bool ti_unsafe_ddl(void);

/* auth.c: signed tenant context (tenant_iso.authenticate / sign and their keys) */
extern void ti_auth_init(void);

/* executor.c: per-statement enforcement */
extern void ti_executor_init(void);
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
extern void ti_ddl_init(void);
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
