/*-------------------------------------------------------------------------
 * src/compat.h
 *		The one place for PostgreSQL version differences (PG_VERSION_NUM).
 *
 * tenant_iso supports PostgreSQL 15, 16, 17 and 18.  Every difference in
 * the server's API that the other files meet is wrapped here (macros and
 * inline wrappers) or in compat.c (functions), so that no other file tests
 * PG_VERSION_NUM.
 *
 * 15, 16 and 18 are compiled and tested (make test-all).  PostgreSQL 17 has
 * no source on our machines: its branches follow 17's documented API, which
 * 16 and 18 bracket, and are not compiled here.  Where 17 takes a branch
 * that 16 and 18 do not both take:
 *	- 17 like 18: ti_current_lxid() (MyProc->vxid, 17), ti_att_stattarget()
 *	  (attstattarget nullable, read with SysCacheGetAttr, 17),
 *	  ti_at_sets_expression() (AT_SetExpression, 17), COPY's ON_ERROR in
 *	  ti_copy_row_skipped() / ti_copy_report_skipped() (17);
 *	- 17 like 16: the ExecutorRun hook keeps execute_once
 *	  (TI_EXECUTOR_RUN_PARAMS, ti_executor_run_all(): dropped in 18),
 *	  ti_attnotnull_valid() (NOT NULL constraints became catalog objects in
 *	  18; 17's development had them and reverted them),
 *	  COPY's REJECT_LIMIT and LOG_VERBOSITY silent (18).
 * The branches for 16 and later (permission info, the GUC machinery's
 * memory and lookup, relfilelocator) cover 17 as they cover 18.
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_ISO_COMPAT_H
#define TENANT_ISO_COMPAT_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "access/htup.h"
#include "catalog/pg_constraint.h"
#include "storage/proc.h"

#if PG_VERSION_NUM < 150000
#error "tenant_iso supports PostgreSQL 15 and later"
#endif

struct config_generic;

/* The role whose privileges (and row level security) apply to a range table entry. */
extern Oid	ti_rte_check_as_user(PlannedStmt *stmt, RangeTblEntry *rte);
extern Oid	ti_query_rte_check_as_user(Query *query, RangeTblEntry *rte);

/* The privileges a range table entry of a plan requires (ACL_DELETE for a DELETE's target). */
extern AclMode ti_rte_required_perms(PlannedStmt *stmt, RangeTblEntry *rte);

/* A custom or built-in setting's entry in the GUC machinery, or an error. */
extern struct config_generic *ti_find_guc(const char *name);

/*
 * Memory handed to the GUC machinery (check-hook extra, replaced values):
 * malloc() up to 15, the GUC memory context from 16 on.
 */
extern void *ti_guc_malloc(size_t size);
extern void ti_guc_free(void *ptr);

/* Catalog fields whose form changed: NOT NULL, NOT ENFORCED, attstattarget. */
extern bool ti_attnotnull_valid(Oid relid, AttrNumber attnum, bool attnotnull);
extern int	ti_att_stattarget(HeapTuple atttup);

/* ALTER TABLE ... ALTER COLUMN ... SET EXPRESSION AS (17 and later). */
#if PG_VERSION_NUM >= 170000
#define ti_at_sets_expression(cmd)	((cmd)->subtype == AT_SetExpression)
#else
#define ti_at_sets_expression(cmd)	((void) (cmd), false)
#endif

/*
 * The ExecutorRun hook's parameters: 18 dropped execute_once.  A hook is
 * written as  f(TI_EXECUTOR_RUN_PARAMS)  and passes on  (TI_EXECUTOR_RUN_ARGS);
 * the parameters are named queryDesc, direction and count.
 */
#if PG_VERSION_NUM >= 180000
#define TI_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define TI_EXECUTOR_RUN_ARGS	queryDesc, direction, count
#else
#define TI_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define TI_EXECUTOR_RUN_ARGS	queryDesc, direction, count, execute_once
#endif

/* A relation's primary key index (18 added the deferrable_ok argument). */
#if PG_VERSION_NUM >= 180000
#define ti_primary_key_index(rel)	RelationGetPrimaryKeyIndex((rel), false)
#else
#define ti_primary_key_index(rel)	RelationGetPrimaryKeyIndex(rel)
#endif

/* This backend's local transaction id. */
#if PG_VERSION_NUM >= 170000
#define ti_current_lxid()		(MyProc->vxid.lxid)
#else
#define ti_current_lxid()		(MyProc->lxid)
#endif

/*
 * COPY FROM into tenant tables (copy.c): running its INSERT to the end (18
 * dropped execute_once), ON_ERROR (17 and later; 18 added REJECT_LIMIT and
 * LOG_VERBOSITY silent), and whether a relation got its storage in this
 * subtransaction (FREEZE; 16 renamed the field).
 */
struct QueryDesc;
struct CopyFromStateData;
struct RelationData;
extern void ti_executor_run_all(struct QueryDesc *queryDesc);
extern bool ti_copy_row_skipped(struct CopyFromStateData *cstate);
extern void ti_copy_report_skipped(struct CopyFromStateData *cstate);
extern bool ti_rel_storage_new_in_subxact(struct RelationData *rel);

#endif							/* TENANT_ISO_COMPAT_H */
