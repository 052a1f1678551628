/*-------------------------------------------------------------------------
 * src/stats.c
 *		Per-tenant load figures: tenant_iso.tenant_stats and
 *		tenant_iso.tenant_stats_reset().
 *
 * For every top-level statement that reads or writes tenant tables (as
 * executor.c decides: inflight.c knows), the tenant it ran for gets: one
 * statement, its rows (returned, inserted, updated, deleted), its execution
 * time (total and max) and the time of its last statement.  Kept in shared
 * memory, in a hash table of tenant_iso.stats_max_tenants entries; when it
 * is full the least recently active tenants are evicted (a twentieth at a
 * time, as pg_stat_statements does).
 *
 * Invariants:
 *	- The figures tell one tenant's volume to whoever reads them: only
 *	  superusers and members of pg_read_all_stats may (checked here, and the
 *	  SQL objects are not granted to PUBLIC).  Resetting is for superusers.
 *	- Locking: the hash table is protected by one LWLock (shared to find an
 *	  entry, exclusive to add or evict); each entry's counters by its own
 *	  spinlock, so concurrent statements of different tenants never wait.
 *	- tenant_iso.track_tenant_stats = off costs nothing but one test per
 *	  statement; without shared_preload_libraries nothing is tracked (the
 *	  module refuses to load that way anyway).
 *	- MERGE's rows count as updated (PostgreSQL reports one total).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_tenant_stats);
PG_FUNCTION_INFO_V1(tenant_iso_tenant_stats_reset);

/* One tenant's figures. */
typedef struct TenantStatsEntry
{
	pg_uuid_t	tenant;			/* hash key: must be first */
	slock_t		mutex;			/* protects the counters below */
	int64		statements;
	int64		rows_returned;
	int64		rows_inserted;
	int64		rows_updated;
	int64		rows_deleted;
	double		total_time;		/* milliseconds */
	double		max_time;
	TimestampTz last_statement;
} TenantStatsEntry;

/* The shared state: the lock of the hash table and the time of the last reset. */
typedef struct TenantStatsShared
{
	LWLock	   *lock;
	TimestampTz reset_at;
} TenantStatsShared;

static bool track_tenant_stats = true;
static int	stats_max_tenants = 1000;

static TenantStatsShared *shared = NULL;
static HTAB *stats_hash = NULL;

static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

static Size
stats_memsize(void)
{
	return add_size(MAXALIGN(sizeof(TenantStatsShared)),
					hash_estimate_size(stats_max_tenants, sizeof(TenantStatsEntry)));
}

static void
stats_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(stats_memsize());
	RequestNamedLWLockTranche("tenant_iso_stats", 1);
}

static void
stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("tenant_iso_stats", sizeof(TenantStatsShared), &found);
	if (!found)
	{
		shared->lock = &(GetNamedLWLockTranche("tenant_iso_stats"))->lock;
		shared->reset_at = GetCurrentTimestamp();
	}
	info.keysize = sizeof(pg_uuid_t);
	info.entrysize = sizeof(TenantStatsEntry);
	stats_hash = ShmemInitHash("tenant_iso_stats hash", stats_max_tenants, stats_max_tenants,
							   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

static int
compare_last_statement(const void *a, const void *b)
{
	TimestampTz ta = (*(TenantStatsEntry *const *) a)->last_statement;
	TimestampTz tb = (*(TenantStatsEntry *const *) b)->last_statement;

	return ta < tb ? -1 : ta > tb ? 1 : 0;
}

/* Make room: evict the least recently active twentieth (caller holds the lock exclusively). */
static void
evict_least_recent(void)
{
	HASH_SEQ_STATUS status;
	TenantStatsEntry **entries = palloc(sizeof(TenantStatsEntry *) * hash_get_num_entries(stats_hash));
	TenantStatsEntry *e;
	int			n = 0,
				i;

	hash_seq_init(&status, stats_hash);
	while ((e = hash_seq_search(&status)) != NULL)
		entries[n++] = e;
	qsort(entries, n, sizeof(TenantStatsEntry *), compare_last_statement);
	for (i = 0; i < Max(1, n / 20); i++)
		hash_search(stats_hash, &entries[i]->tenant, HASH_REMOVE, NULL);
	pfree(entries);
}

/* Add a tenant's entry (caller holds no lock); evicts when the table is full. */
static void
add_entry(const pg_uuid_t *tenant)
{
	TenantStatsEntry *e;
	bool		found;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (hash_search(stats_hash, tenant, HASH_FIND, NULL) == NULL &&
		hash_get_num_entries(stats_hash) >= stats_max_tenants)
		evict_least_recent();
	e = hash_search(stats_hash, tenant, HASH_ENTER, &found);
	if (!found)
	{
		memset((char *) e + offsetof(TenantStatsEntry, mutex), 0,
			   sizeof(TenantStatsEntry) - offsetof(TenantStatsEntry, mutex));
		SpinLockInit(&e->mutex);
	}
	LWLockRelease(shared->lock);
}

/* Count a finished statement for its tenant. */
static void
count_statement(const pg_uuid_t *tenant, CmdType cmd, uint64 rows, double ms)
{
	TenantStatsEntry *e;

	LWLockAcquire(shared->lock, LW_SHARED);
	e = hash_search(stats_hash, tenant, HASH_FIND, NULL);
	if (e == NULL)
	{
		LWLockRelease(shared->lock);
		add_entry(tenant);
		LWLockAcquire(shared->lock, LW_SHARED);
		e = hash_search(stats_hash, tenant, HASH_FIND, NULL);
	}
	if (e != NULL)				/* (evicted again in between: not counted) */
	{
		SpinLockAcquire(&e->mutex);
		e->statements++;
		if (cmd == CMD_SELECT)
			e->rows_returned += rows;
		else if (cmd == CMD_INSERT)
			e->rows_inserted += rows;
		else if (cmd == CMD_DELETE)
			e->rows_deleted += rows;
		else
			e->rows_updated += rows;
		e->total_time += ms;
		if (ms > e->max_time)
			e->max_time = ms;
		e->last_statement = GetCurrentStatementStartTimestamp();	/* no clock read */
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(shared->lock);
}

static bool
tracking(void)
{
	return track_tenant_stats && stats_hash != NULL && !IsParallelWorker();
}

static void
stats_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	TiTenant	tenant;

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	/*
	 * Time top-level statements run with a tenant: they count if they read
	 * tenant tables themselves or through nested statements (known at end).
	 */
	if (tracking() && queryDesc->totaltime == NULL && ti_inflight_only(queryDesc) &&
		(ti_effective_tenant(&tenant), tenant.valid))
	{
		MemoryContext old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);

		queryDesc->totaltime = InstrAlloc(1, INSTRUMENT_TIMER, false);
		MemoryContextSwitchTo(old);
	}
}

static void
stats_ExecutorEnd(QueryDesc *queryDesc)
{
	TiTenant	tenant;

	if (tracking() && queryDesc->totaltime != NULL && ti_inflight_only(queryDesc) &&
		ti_inflight_tenant_of(queryDesc, &tenant) && tenant.valid)
	{
		InstrEndLoop(queryDesc->totaltime);
		count_statement(&tenant.uuid, queryDesc->operation,
						queryDesc->estate->es_processed,
						queryDesc->totaltime->total * 1000.0);
	}
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static void
require_stats_reader(void)
{
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for tenant_iso.tenant_stats"),
				 errdetail("The figures tell each tenant's volume of work; only superusers and members of pg_read_all_stats may read them."),
				 errhint("Ask a superuser to GRANT pg_read_all_stats to a monitoring role.")));
	if (stats_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant statistics are not available"),
				 errhint("Load tenant_iso through shared_preload_libraries.")));
}

/*
 * tenant_iso._tenant_stats() RETURNS SETOF record
 *		The figures of every tracked tenant (behind the view tenant_stats).
 */
Datum
tenant_iso_tenant_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	TenantStatsEntry *e;

	require_stats_reader();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(shared->lock, LW_SHARED);
	hash_seq_init(&status, stats_hash);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		Datum		values[10];
		bool		nulls[10] = {false};
		pg_uuid_t  *key = palloc(sizeof(pg_uuid_t));
		TenantStatsEntry copy;

		SpinLockAcquire(&e->mutex);
		copy = *e;
		SpinLockRelease(&e->mutex);
		*key = copy.tenant;
		values[0] = UUIDPGetDatum(key);
		values[1] = Int64GetDatum(copy.statements);
		values[2] = Int64GetDatum(copy.rows_returned);
		values[3] = Int64GetDatum(copy.rows_inserted);
		values[4] = Int64GetDatum(copy.rows_updated);
		values[5] = Int64GetDatum(copy.rows_deleted);
		values[6] = Float8GetDatum(copy.total_time);
		values[7] = Float8GetDatum(copy.max_time);
		values[8] = TimestampTzGetDatum(copy.last_statement);
		values[9] = TimestampTzGetDatum(shared->reset_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(shared->lock);
	return (Datum) 0;
}

/*
 * tenant_iso.tenant_stats_reset() RETURNS void
 *		Forget every tenant's figures (superusers; not granted to PUBLIC).
 */
Datum
tenant_iso_tenant_stats_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS status;
	TenantStatsEntry *e;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function tenant_iso.tenant_stats_reset"),
				 errdetail("Resetting the figures affects every tenant's monitoring."),
				 errhint("Ask a superuser to run it.")));
	require_stats_reader();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, stats_hash);
	while ((e = hash_seq_search(&status)) != NULL)
		hash_search(stats_hash, &e->tenant, HASH_REMOVE, NULL);
	shared->reset_at = GetCurrentTimestamp();
	LWLockRelease(shared->lock);
	PG_RETURN_VOID();
}

void
ti_stats_init(void)
{
	DefineCustomBoolVariable("tenant_iso.track_tenant_stats",
							 "Collects per-tenant load figures (tenant_iso.tenant_stats).",
							 NULL,
							 &track_tenant_stats, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tenant_iso.stats_max_tenants",
							"How many tenants tenant_iso.tenant_stats keeps figures for.",
							"When full, the least recently active tenants are evicted.",
							&stats_max_tenants, 1000, 10, 1000000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = stats_ExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = stats_ExecutorEnd;
}
