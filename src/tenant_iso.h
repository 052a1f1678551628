/*-------------------------------------------------------------------------
 * src/tenant_iso.h
 *		Declarations shared by the files of the tenant_iso module.
 *
 * Each group of prototypes names the file that defines it; functions used
 * by one file only are static there.  Files call "down" only:
 *
 *	  tenant_iso.c (init)
 *	  -> hooks:  executor.c  stats.c  planner.c  guard.c  objaccess.c  copy.c
 *	             setup.c (event trigger)  stamp.c (trigger)  audit.c
 *	  -> rules:  context.c  auth.c  organizations.c  invariants.c
 *	             indexes.c  expressions.c  views.c  fk.c  managed.c  dependencies.c
 *	             registry.c
 *	  -> leaves: tenant_table.c  inflight.c  internal.c  refusal.c
 *	             text.c  catalog.c  compat.c
 *	  Citus (optional, found at run time): the hooks call citus_route.c,
 *	  citus_ddl.c and citus_distribute.c; citus_audit.c and citus_context.c
 *	  serve SQL; citus.c is a leaf.
 *
 * docs/design.md draws the picture and says which file owns which rule.
 * Version specific API use is kept in compat.h / compat.c.
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_ISO_H
#define TENANT_ISO_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "catalog/pg_index.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "nodes/primnodes.h"
#include "nodes/params.h"
#include "tcop/cmdtag.h"
#include "utils/queryenvironment.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"
#include "utils/uuid.h"

/*
 * Every SQLSTATE of the extension's own (README.md, "SQLSTATEs").  Other
 * errors use PostgreSQL's standard codes.
 *	TI001	no tenant is in effect for a statement on tenant tables
 *	TI002	the tenant would change while tenant rows are in use
 *	TI003	a write for another organization, or a change of organization_id
 *	TI004	tenant_iso.verify() found violations (raised in SQL)
 *	28T01	an expired tenant token
 */
#define ERRCODE_TI_NO_TENANT			MAKE_SQLSTATE('T','I','0','0','1')
#define ERRCODE_TI_TENANT_SWITCH		MAKE_SQLSTATE('T','I','0','0','2')
#define ERRCODE_TI_CROSS_TENANT_WRITE	MAKE_SQLSTATE('T','I','0','0','3')
#define ERRCODE_TI_TOKEN_EXPIRED		MAKE_SQLSTATE('2','8','T','0','1')

#define TI_SCHEMA				"tenant_iso"
#define TI_COLUMN				"organization_id"
#define TI_ISOLATION_POLICY		"tenant_isolation"
#define TI_ACCESS_POLICY		"tenant_access"
#define TI_STAMP_TRIGGER		"tenant_iso_stamp"

/*
 * The generated policy's expression as SQL text: what ti_tenant_qual()
 * (tenant_table.c) builds as a tree.  The invariant tenant_isolation_policy
 * compares the stored policy with that tree, so the two cannot drift apart
 * unnoticed: a set-up whose policy did not match would fail its own check.
 */
#define TI_TENANT_QUAL_SQL		"organization_id = tenant_iso.current_org_id()"

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

/* How the schema check classifies a relation (managed.c). */
typedef enum TiTableKind
{
	TI_KIND_MANAGED,			/* must be a tenant table */
	TI_KIND_EXEMPT,
	TI_KIND_EXTENSION,
	TI_KIND_FOREIGN,
	TI_KIND_TEMPORARY,
	TI_KIND_SYSTEM,
	TI_KIND_NOT_TABLE,
	TI_KIND_MISSING
} TiTableKind;

/* One check of a relation, in the audit's and the guard's words (invariants.c, views.c, fk.c). */
typedef struct TiCheck
{
	int			ord;
	const char *name;
	bool		passed;
	const char *now;			/* the detail, present tense (audit) */
	const char *would;			/* the detail, as a statement would make it (guard) */
	const char *hint;
	const char *hint_would;		/* the guard's hint, when it differs */
	const char *message;		/* the guard's primary message (with %s for the table), if its own */
	bool		warning_only;	/* reported as a warning, never refused */
} TiCheck;

struct PortalData;

/* "Every statement that consumed tenant rows" (inflight.c). */
#define TI_ANY_TAINTED			((const void *) 1)

/* The extension's own work under another tenant (context.c). */
typedef struct TiInternalTenant
{
	int			nestlevel;
	void	   *saved;
} TiInternalTenant;

/* context.c: the tenant.org_id setting, the tenant in effect, current_org_id() */
extern void ti_context_init(void);
extern void ti_effective_tenant(TiTenant *tenant);
extern TenantState ti_tenant_state(void);
extern void ti_context_check_unchanged(const void *tainted);
extern void ti_context_check_deferred(void);
extern void ti_context_prepare_parallel(const TiTenant *tenant);
extern void ti_context_finish_parallel(void);
extern void ti_context_set_signed(const char *org);
extern TiInternalTenant ti_context_push_internal(const pg_uuid_t *org);
extern void ti_context_pop_internal(TiInternalTenant pushed);
extern void ti_tenant_after_commit(TiTenant *tenant);
extern void ti_context_check_set_stmt(VariableSetStmt *stmt);
extern TenantContextScope ti_context_scope(void);
extern TenantMissingContext ti_missing_context(void);
extern void ti_context_set_node(const char *org);
extern bool ti_context_signed_required(void);

/* auth.c: signed tenant context (tenant_iso.authenticate / sign and their keys) */
extern void ti_auth_init(void);
extern bool ti_auth_mac(const char *msg, size_t len, uint8 *mac);
extern bool ti_auth_mac_ok(const char *msg, size_t len, const uint8 *mac);

/* executor.c: per-statement enforcement */
extern void ti_executor_init(void);
extern void ti_executor_mark(bool explain_analyze, bool matview, int delta);

/* stats.c: per-tenant load figures */
extern void ti_stats_init(void);

/* planner.c: tenant comparison first, the tenant parameter, implied conditions */
extern void ti_planner_init(void);
extern int	ti_tenant_param_id(PlannedStmt *stmt);

/* guard.c: the ProcessUtility dispatcher and the end-of-statement verification */
extern void ti_guard_init(void);
extern void ti_guard_note_table(Oid relid, bool capture_before);
extern void ti_guard_note_new_index(Oid relid, Oid indexoid);
extern void ti_refuse_rule(Oid relid, const char *rulename);

/* copy.c: COPY FROM into tenant tables */
extern bool ti_copy_intercept(PlannedStmt *pstmt, const char *queryString, ParamListInfo params,
							  QueryEnvironment *queryEnv, QueryCompletion *qc);

/* objaccess.c: the object access hook */
extern void ti_objaccess_init(void);

/* setup.c: the schema check event trigger and the set-up of a tenant table */
extern void ti_setup_tenant_table(Oid relid, const char *command_tag, bool notice);

/* invariants.c: the invariants of a tenant table */
extern List *ti_invariant_violations(Oid relid, const char *only);
extern void ti_invariants_require(Oid relid, const char *only);
extern void ti_invariants_require_since(Oid relid, List *before);
extern void ti_invariants_repair(Oid relid, bool notice);
extern void ti_invariants_repair_statistics(Oid relid);
extern List *ti_table_checks(Oid relid);

/* indexes.c: indexes of tenant tables */
extern void ti_indexes_init(void);
extern void ti_check_new_index(Oid relid, Oid indexoid);
extern void ti_check_index_leading(Oid relid, List *indexes);
extern void ti_check_drop_index_concurrently(List *objects);

/* indexes.c (continued) */
extern bool ti_predicate_is_value_free(Node *pred);

/* expressions.c: expressions DDL evaluates over every row */
extern void ti_check_expression(Oid relid, Node *expr, const char *what);
extern char *ti_unsafe_table_expression(Oid relid, Snapshot snapshot);
extern List *ti_row_expressions(Oid relid);
extern void ti_check_column_rewrites(Oid relid, AlterTableStmt *stmt);

/* views.c: views and materialized views over tenant tables */
extern void ti_check_view(Oid viewid, bool fix);
extern List *ti_view_checks(Oid viewid);

/* fk.c: foreign keys and tenant tables */
extern void ti_refuse_fk_into_tenant_tables(Oid relid);
extern List *ti_fk_checks(Oid relid);
extern void ti_revalidate_foreign_keys(Oid relid);

/* registry.c: rows are written only for registered organizations not being dropped */
extern void ti_registry_init(void);
extern void ti_registry_protect(const char *relname, const pg_uuid_t *org);
extern void ti_registry_lock_for_drop(const pg_uuid_t *org);
extern void ti_registry_removing(bool on);
extern void ti_registry_check_write(CmdType operation);
extern void ti_registry_require_rows(Oid relid, const char *action, const char *again);
extern char *ti_registry_orphans(Oid relid);

/* dependencies.c: what tenant tables depend on (pg_depend, both directions) */
extern List *ti_tables_depending_on(Oid classId, Oid objectId);
extern char *ti_temporary_dependency(Oid relid);

/* managed.c: which tables must be tenant tables, exemptions, ancestors */
extern List *ti_load_exemptions(void);
extern TiTableKind ti_table_kind_with(Oid relid, List *exemptions);
extern bool ti_relation_is_managed(Oid relid);
extern Oid	ti_non_tenant_ancestor(Oid relid);
extern bool ti_has_tenant_ancestor(Oid relid);
extern void ti_follow_table_exemption(Oid relid, const char *old_nsp, const char *old_rel);
extern void ti_follow_schema_exemption(const char *old_nsp, const char *new_nsp);

/* tenant_table.c: what a tenant table is, whom scoping applies to, the tenant comparison */
extern void ti_tenant_table_init(void);
extern void ti_stamp_init(void);
extern Oid	ti_schema_oid(void);
extern Oid	ti_tenant_func_oid(void);
extern Oid	ti_stamp_func_oid(void);
extern bool ti_relation_is_tenant_table(Relation rel);
extern bool ti_relid_is_tenant_table(Oid relid);
extern bool ti_relid_has_policy(Oid relid, const char *name);
extern bool ti_relid_has_isolation_policy(Oid relid);
extern bool ti_relid_is_guarded(Oid relid);
extern bool ti_relid_is_registry(Oid relid);
extern Oid	ti_registry_oid(void);
extern bool ti_is_stamp_trigger_name(const char *tgname);
extern char *ti_stamp_trigger_shard_name(Oid relid);
extern AttrNumber ti_tenant_column(Oid relid);
extern bool ti_tenant_scoping_applies(Oid checkAsUser);
extern bool ti_in_foreign_referential_action(void);
extern Expr *ti_tenant_qual(Oid relid, Index varno);
extern bool ti_is_tenant_qual(Oid relid, Index varno, Node *expr);
extern bool ti_index_leads_with_tenant(Form_pg_index index, AttrNumber tenantatt);
extern bool ti_index_is_single_uuid(Oid relid, Form_pg_index index);

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
extern bool ti_inflight_other_tenant_in_use(const TiTenant *now, const void *tainted);
extern bool ti_inflight_deferred_for_other_tenant(const TiTenant *now);
extern bool ti_inflight_only(const void *queryDesc);
extern void ti_inflight_fail_held_cursors(const TiTenant *now);
extern void ti_inflight_note_written(Oid relid, const TiTenant *tenant);
extern void *ti_inflight_save(void);
extern void ti_inflight_restore(void *saved);
extern void ti_inflight_note_held_cursor(const TiTenant *tenant);
extern bool ti_inflight_next_unchecked_held(const char **name, TiTenant *tenant,
											struct PortalData **portal);

/* internal.c: the extension's own work, as its owner */
extern bool ti_internal_active(void);
extern Oid	ti_extension_owner(void);
extern Oid	ti_extension_schema(void);
extern char *ti_qualified_name(Oid relid);
extern void ti_internal_ddl(const char *sql);
extern List *ti_internal_query(const char *sql, int nargs, Oid *argtypes, Datum *values,
							   long limit, int ncols);
extern List *ti_internal_query_latest(const char *sql, long limit, int ncols);
extern bool ti_internal_exists(const char *sql, Oid relid);
extern List *ti_internal_oids(const char *sql, Oid relid);

/* refusal.c: how rules refuse, and the escape hatch tenant_iso.unsafe_ddl */
extern void ti_refusal_init(void);
extern bool ti_unsafe_ddl(void);
extern void ti_refuse(int sqlstate, const char *msg, const char *detail, const char *hint);

/* text.c: lists of names for messages */
extern List *ti_sorted_strings(List *items);
extern char *ti_join_strings(List *items);
extern bool ti_name_in_list(const char *name, const char *list);

/* catalog.c: catalog rows as the running command sees them, named for messages */
extern HeapTuple ti_catalog_row(Oid catalog, Oid oidindex, AttrNumber oidatt, Oid objectId,
								TupleDesc *desc);
extern char *ti_index_key_columns(Oid relid, Form_pg_index index);
extern Oid	ti_relation_owner(Oid relid);

/* citus.c: Citus, found at run time (a leaf) */
extern void ti_citus_init(void);
extern bool ti_citus_loaded(void);
extern bool ti_citus_active(void);
extern bool ti_citus_is_worker(void);
extern bool ti_citus_is_table(Oid relid);
extern char *ti_citus_shard_name(const char *name, uint64 shardid);
extern uint64 ti_citus_name_shard_id(const char *relname);
extern bool ti_citus_is_shard_name(const char *name, const char *base);
extern uint64 ti_citus_shard_of(Oid relid, Oid *logical);
extern void ti_citus_use_coordinated_transaction(void);
extern void ti_citus_send_local_setting(const char *command);
extern PlanInvalItem *ti_citus_tenant_inval_item(void);
extern void ti_citus_tenant_changed(void);

/* citus_route.c: tenant-scoped queries routed to one shard, the tenant sent to every node */
extern bool ti_citus_route_query(Query *parse);
extern void ti_citus_route_plan(PlannedStmt *stmt, bool routed);
extern void ti_citus_executor_start(PlannedStmt *stmt, const TiTenant *tenant);
extern void ti_citus_check_copy(CopyStmt *stmt);

/* citus_context.c: what the coordinator sends, node tokens */
extern const char *ti_citus_context_command(const TiTenant *tenant);

/* citus_ddl.c: Citus's DDL corrected and verified by object */
extern void ti_citus_ddl_init(void);
extern PlannedStmt *ti_citus_before_utility(PlannedStmt *pstmt, bool *readOnlyTree);
extern bool ti_citus_defer_setup(Oid relid);
extern bool ti_citus_defer_verification(Oid relid, bool captured);
extern bool ti_citus_worker_shell(Oid relid);
extern bool ti_citus_registry_placement_ok(Oid relid);
extern int	ti_citus_statement_begin(Node *parsetree);
extern void ti_citus_statement_end(int nest);

/* citus_distribute.c: tenant_iso.distribute() and distribution at set-up */
extern bool ti_citus_registry_distributed(void);
extern int	ti_citus_setup_begin(Oid relid);
extern void ti_citus_setup_end(Oid relid, int nest);
extern int	ti_citus_statement_begin(Node *parsetree);
extern void ti_citus_check_conversions(Query *parse);
extern void ti_citus_statement_end(int nest);

#endif							/* TENANT_ISO_H */
