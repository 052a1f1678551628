/*-------------------------------------------------------------------------
 * src/compat.h
 *		The one place for PostgreSQL version differences (PG_VERSION_NUM).
 *
 * tenant_iso targets PostgreSQL 15 and later; 15 is what CI tests.
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_ISO_COMPAT_H
#define TENANT_ISO_COMPAT_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif

/* The role whose privileges (and row level security) apply to a range table entry. */
static inline Oid
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

/*
 * Memory handed to the GUC machinery (check-hook extra, replaced values):
 * malloc() up to 15, the GUC memory context from 16 on.
 */
#if PG_VERSION_NUM >= 160000
#include "utils/guc.h"
#define ti_guc_malloc(size)		guc_malloc(LOG, (size))
#define ti_guc_free(ptr)		guc_free(ptr)
#else
#define ti_guc_malloc(size)		malloc(size)
#define ti_guc_free(ptr)		free(ptr)
#endif

/* This backend's local transaction id. */
#include "storage/proc.h"
#if PG_VERSION_NUM >= 170000
#define ti_current_lxid()		(MyProc->vxid.lxid)
#else
#define ti_current_lxid()		(MyProc->lxid)
#endif

#endif							/* TENANT_ISO_COMPAT_H */
