/*-------------------------------------------------------------------------
 * src/registry.c
 *		The registry guard: a row of a tenant table is only ever written for
 *		an organization of tenant_iso.organizations that is not being
 *		dropped.  It replaces a foreign key to the registry, whose check
 *		cost every inserted row an SPI query and a lock on the registry row.
 *
 *		The protocol, per organization O:
 *		- A writer (the stamping trigger, for every row it lets through)
 *		  holds a share lock on O's registry lock for the rest of its
 *		  transaction, taken once per transaction, and then makes sure O is
 *		  registered.
 *		- drop_organization(O) takes that lock exclusively: it waits for
 *		  every transaction that wrote for O, and no new one can write for O
 *		  until it has committed; then it deletes O's rows and registry row.
 *		  It also advances the registry epoch, so that writers that knew O
 *		  registered look again.
 *		- Other deletions from the registry, and changes of its ids, are
 *		  refused (executor.c, objaccess.c): only drop_organization() removes
 *		  an organization.
 *
 *		On Citus the registry is a reference table: its relation on a node
 *		holds no rows, the node's placement does (registered() reads that).
 *		Rows of distributed tenant tables are written on the workers, whose
 *		shards' stamping triggers do not look at the registry (stamp.c): the
 *		coordinator takes the lock and checks O before a statement inserts
 *		into them (executor.c), where drop_organization() takes it too.
 *
 *		Whether O is registered is remembered per backend with the epoch it
 *		was seen at: while no organization was dropped since, the registry is
 *		not read again.  A writer that waited for a drop sees the new epoch
 *		(the drop advanced it before it committed and released the lock).
 *
 *		The lock is an advisory-class lock with a key class of its own, keyed
 *		by a hash of O salted with a secret chosen at server start, so
 *		pg_locks does not say which organization a session writes for.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/shmem.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/relcache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "compat.h"
#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_registry_guard);

/* The key class of the registry lock (advisory locks of users use 1 and 2). */
#define TI_REGISTRY_LOCK_CLASS 0x5449

typedef struct RegistryShared
{
	pg_atomic_uint64 epoch;		/* advanced by every drop_organization() */
	uint64		salt;			/* secret, chosen at server start */
} RegistryShared;

/* An organization this transaction holds the registry lock of. */
typedef struct HeldOrganization
{
	pg_uuid_t	org;
	SubTransactionId subxid;	/* the (sub)transaction that owns the lock */
} HeldOrganization;

/* An organization seen registered, and the epoch it was seen at. */
typedef struct KnownOrganization
{
	pg_uuid_t	org;
	uint64		epoch;
} KnownOrganization;

#define TI_KNOWN_ORGANIZATIONS 64

static RegistryShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

static bool removing = false;	/* _remove_organization() deletes a registry row */
static List *held = NIL;		/* HeldOrganization *, in TopTransactionContext */
static KnownOrganization known[TI_KNOWN_ORGANIZATIONS];
static int	nknown = 0;

static void
registry_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(MAXALIGN(sizeof(RegistryShared)));
}

static void
registry_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("tenant_iso_registry", sizeof(RegistryShared), &found);
	if (!found)
	{
		pg_atomic_init_u64(&shared->epoch, 1);
		if (!pg_strong_random(&shared->salt, sizeof(shared->salt)))
			shared->salt = (uint64) MyStartTimestamp ^ (uint64) MyProcPid;
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
lock_tag(LOCKTAG *tag, const pg_uuid_t *org)
{
	uint64		h = hash_bytes_extended(org->data, UUID_LEN, shared->salt);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h, TI_REGISTRY_LOCK_CLASS);
}

static void
refuse_no_local_copy(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("tenant_iso.organizations has no placement on this node"),
			 errdetail("The registry is a Citus reference table; the registry guard reads this node's copy of it before rows of tenant tables are written."),
			 errhint("Add the coordinator to the cluster's metadata (SELECT citus_set_coordinator_host('<host>', <port>)), then SELECT replicate_reference_tables().")));
}

/*
 * The relation that holds this node's rows of the registry: the registry
 * itself, or, once it is a Citus reference table (whose own relation then
 * holds no rows), its placement on this node.
 */
static Oid
registry_rows(void)
{
	Oid			registry = ti_registry_oid();
	List	   *placement;

	if (!OidIsValid(registry) || !ti_citus_is_table(registry))
		return registry;
	placement = ti_internal_oids("SELECT pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid))::pg_catalog.oid "
								 "FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1",
								 registry);
	if (placement == NIL)
		refuse_no_local_copy();
	return linitial_oid(placement);
}

/*
 * Is org in tenant_iso.organizations, as of now (not as of the transaction's
 * snapshot)?  *committed says whether its row was committed by another
 * transaction (not this one's own insert, which a rollback may undo).
 */
static bool
registered(const pg_uuid_t *org, bool *committed)
{
	Oid			registry = registry_rows();
	Oid			index;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tup;
	bool		found;

	*committed = false;
	if (!OidIsValid(registry))
		return false;
	rel = table_open(registry, AccessShareLock);
	index = ti_primary_key_index(rel);
	if (!OidIsValid(index))
	{
		table_close(rel, AccessShareLock);
		return false;
	}
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(org));
	scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	*committed = found && !TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/* Was org seen registered since the last drop_organization()? */
static bool
known_registered(const pg_uuid_t *org, uint64 epoch)
{
	int			i;

	for (i = 0; i < nknown; i++)
		if (known[i].epoch == epoch && memcmp(&known[i].org, org, sizeof(pg_uuid_t)) == 0)
			return true;
	return false;
}

static void
remember_registered(const pg_uuid_t *org, uint64 epoch)
{
	int			i = nknown < TI_KNOWN_ORGANIZATIONS ? nknown++ : (int) (epoch % TI_KNOWN_ORGANIZATIONS);

	known[i].org = *org;
	known[i].epoch = epoch;
}

static bool
holding(const pg_uuid_t *org)
{
	ListCell   *lc;

	foreach(lc, held)
		if (memcmp(&((HeldOrganization *) lfirst(lc))->org, org, sizeof(pg_uuid_t)) == 0)
			return true;
	return false;
}

static void
note_held(const pg_uuid_t *org)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	HeldOrganization *h = palloc(sizeof(HeldOrganization));

	h->org = *org;
	h->subxid = GetCurrentSubTransactionId();
	held = lappend(held, h);
	MemoryContextSwitchTo(old);
}

static void
refuse_unregistered(const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("cannot write a row of table \"%s\" for an organization that is not registered",
					relname),
			 errdetail("Rows of tenant tables belong to organizations of tenant_iso.organizations; this one does not exist, or is being dropped."),
			 errhint("Register it with tenant_iso.create_organization(name, id), or set the tenant to a registered organization.")));
}

/*
 * A row of table relname is about to be written for org: hold org's registry
 * lock for the rest of the transaction, and make sure org is registered.
 */
void
ti_registry_protect(const char *relname, const pg_uuid_t *org)
{
	LOCKTAG		tag;
	uint64		epoch;
	bool		committed;

	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant_iso must be loaded via shared_preload_libraries")));
	if (holding(org))
		return;
	lock_tag(&tag, org);
	(void) LockAcquire(&tag, ShareLock, false, false);
	note_held(org);
	epoch = pg_atomic_read_u64(&shared->epoch);
	if (known_registered(org, epoch))
		return;
	if (!registered(org, &committed))
		refuse_unregistered(relname);
	if (committed)				/* this transaction's own new organization: not yet */
		remember_registered(org, epoch);
}

/*
 * drop_organization(org): wait for every transaction that wrote for org, keep
 * new writers out until this transaction ends, and make every backend look at
 * the registry again.
 */
void
ti_registry_lock_for_drop(const pg_uuid_t *org)
{
	LOCKTAG		tag;

	ListCell   *lc;

	lock_tag(&tag, org);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	pg_atomic_fetch_add_u64(&shared->epoch, 1);
	/* this transaction's own later writes for org look at the registry again */
	foreach(lc, held)
		if (memcmp(&((HeldOrganization *) lfirst(lc))->org, org, sizeof(pg_uuid_t)) == 0)
			held = foreach_delete_current(held, lc);
}

/*
 * Every row of relid (its partitions and children included) belongs to a
 * registered organization, or the statement fails with the counts and the
 * first unknown ids: action says what was attempted ("enroll table x"),
 * again how to retry.  For tables that become tenant tables with rows in them;
 * the registry is then locked against drop_organization() (its DELETE) until
 * the transaction ends.
 */
void
ti_registry_require_rows(Oid relid, const char *action, const char *again)
{
	char	   *qual = ti_qualified_name(relid);
	char	  **counts;
	int64		nulls;
	int64		unknown;
	StringInfoData detail;

	if (ti_internal_query(psprintf("SELECT 1 FROM %s LIMIT 1", qual), 0, NULL, NULL, 1, 1) == NIL)
		return;					/* no rows (a new table) */
	/* no organization may be dropped until this transaction ends */
	LockRelationOid(ti_registry_oid(), ShareLock);
	/* as of now: an organization dropped after this transaction's snapshot is gone */
	counts = linitial(ti_internal_query_latest(psprintf(
		"SELECT pg_catalog.count(*) FILTER (WHERE t.organization_id IS NULL), "
		"       pg_catalog.count(*) FILTER (WHERE t.organization_id IS NOT NULL AND o.id IS NULL) "
		"FROM %s t LEFT JOIN tenant_iso.organizations o ON o.id OPERATOR(pg_catalog.=) t.organization_id", qual),
		1, 2));
	nulls = pg_strtoint64(counts[0]);
	unknown = pg_strtoint64(counts[1]);
	if (nulls == 0 && unknown == 0)
		return;
	initStringInfo(&detail);
	if (nulls > 0)
		appendStringInfo(&detail, INT64_FORMAT " %s organization_id NULL.", nulls,
						 nulls == 1 ? "row has" : "rows have");
	if (unknown > 0)
	{
		char	  **ids = linitial(ti_internal_query_latest(psprintf(
			"SELECT pg_catalog.count(*), pg_catalog.string_agg(u.id::text, ', ' ORDER BY u.id) FILTER (WHERE u.n OPERATOR(pg_catalog.<=) 5) "
			"FROM (SELECT d.id, pg_catalog.row_number() OVER (ORDER BY d.id) AS n FROM ("
			"  SELECT DISTINCT t.organization_id::pg_catalog.uuid AS id FROM %s t"
			"  WHERE t.organization_id IS NOT NULL"
			"    AND NOT EXISTS (SELECT 1 FROM tenant_iso.organizations o WHERE o.id OPERATOR(pg_catalog.=) t.organization_id)) d) u",
			qual), 1, 2));
		int64		nids = pg_strtoint64(ids[0]);

		appendStringInfo(&detail, "%s" INT64_FORMAT " %s an organization_id that is not in tenant_iso.organizations (%s%s).",
						 detail.len > 0 ? " " : "", unknown, unknown == 1 ? "row has" : "rows have",
						 nids > 5 ? psprintf(INT64_FORMAT " ids, among them ", nids) : "", ids[1]);
	}
	ereport(ERROR,
			(errcode(nulls > 0 ? ERRCODE_NOT_NULL_VIOLATION : ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("cannot %s: " INT64_FORMAT " of its rows belong to no registered organization",
					action, nulls + unknown),
			 errdetail_internal("%s", detail.data),
			 errhint("Set organization_id on the rows that lack one (or delete them), register the missing organizations with tenant_iso.create_organization(name, id), then %s.",
					 again)));
}

/*
 * The same for a distributed table (Citus runs no recursive CTE over one):
 * Citus groups each shard's rows by organization_id on its node and checks
 * them against that node's copy of the registry.
 */
static char *
distributed_orphans(const char *qual)
{
	List	   *rows = ti_internal_query(psprintf(
		"SELECT t.organization_id::pg_catalog.uuid::pg_catalog.text FROM %s t "
		"WHERE t.organization_id IS NOT NULL "
		"AND NOT EXISTS (SELECT 1 FROM tenant_iso.organizations o WHERE o.id OPERATOR(pg_catalog.=) t.organization_id) "
		"GROUP BY t.organization_id ORDER BY 1", qual), 0, NULL, NULL, 0, 1);
	StringInfoData ids;
	ListCell   *lc;

	if (rows == NIL)
		return NULL;
	initStringInfo(&ids);
	foreach(lc, rows)
		appendStringInfo(&ids, "%s%s", ids.len > 0 ? ", " : "", ((char **) lfirst(lc))[0]);
	return psprintf("%d %s: %s", list_length(rows), list_length(rows) == 1 ? "id" : "ids", ids.data);
}

/*
 * The organization ids of relid's own rows (ONLY) that are not registered,
 * for the audit: "n ids: a, b, ...", or NULL.  One index probe per
 * organization the table holds (a skip scan).
 */
char *
ti_registry_orphans(Oid relid)
{
	char	   *qual = ti_qualified_name(relid);
	List	   *rows;
	char	  **row;

	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		return NULL;			/* its rows are its partitions' */
	if (ti_citus_is_table(relid))
		return distributed_orphans(qual);
	rows = ti_internal_query(psprintf(
		"WITH RECURSIVE d(id) AS ("
		"  (SELECT t.organization_id::pg_catalog.uuid FROM ONLY %s t WHERE t.organization_id IS NOT NULL ORDER BY 1 LIMIT 1)"
		"  UNION ALL"
		"  SELECT (SELECT t.organization_id::pg_catalog.uuid FROM ONLY %s t"
		"          WHERE t.organization_id OPERATOR(pg_catalog.>) d.id ORDER BY 1 LIMIT 1)"
		"  FROM d WHERE d.id IS NOT NULL) "
		"SELECT pg_catalog.count(*), pg_catalog.array_to_string((pg_catalog.array_agg(x.id::text))[1:5], ', ') "
		"FROM (SELECT d.id FROM d WHERE d.id IS NOT NULL"
		"      AND NOT EXISTS (SELECT 1 FROM tenant_iso.organizations o WHERE o.id OPERATOR(pg_catalog.=) d.id)"
		"      ORDER BY d.id) x", qual, qual), 0, NULL, NULL, 1, 2);
	row = linitial(rows);

	if (strcmp(row[0], "0") == 0)
		return NULL;
	return psprintf("%s %s: %s%s", row[0], strcmp(row[0], "1") == 0 ? "id" : "ids", row[1],
					atol(row[0]) > 5 ? ", ..." : "");
}

/*
 * tenant_iso.registry_guard(): BEFORE DELETE OR UPDATE OF id, FOR EACH ROW,
 * on tenant_iso.organizations (on every node holding a copy of it, under
 * Citus).  Removing an organization takes its registry lock exclusively
 * first; ids never change.
 */
Datum
tenant_iso_registry_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function tenant_iso.registry_guard() must be fired BEFORE DELETE OR UPDATE, FOR EACH ROW"),
				 errdetail("It guards the rows of tenant_iso.organizations."),
				 errhint("Do not use it in your own triggers.")));
	id = heap_getattr(trigdata->tg_trigtuple, 1, RelationGetDescr(trigdata->tg_relation), &isnull);
	if (isnull)
		return PointerGetDatum(trigdata->tg_trigtuple);
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		/* whatever the statement (a writable CTE, a view, MERGE): only drop_organization() */
		if (RelationGetRelid(trigdata->tg_relation) == ti_registry_oid())
			ti_registry_check_write(CMD_DELETE);
		ti_registry_lock_for_drop(DatumGetUUIDP(id));
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	if (memcmp(DatumGetUUIDP(id), DatumGetUUIDP(heap_getattr(trigdata->tg_newtuple, 1,
																RelationGetDescr(trigdata->tg_relation), &isnull)),
			   sizeof(pg_uuid_t)) != 0 || isnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the id of an organization cannot change"),
				 errdetail("Rows of tenant tables name their organization by this id."),
				 errhint("Create a new organization and move the data with INSERT ... SELECT under each tenant.")));
	return PointerGetDatum(trigdata->tg_newtuple);
}

/* drop_organization() is deleting a registry row (the only way one goes). */
void
ti_registry_removing(bool on)
{
	removing = on;
}

/*
 * A statement that deletes registry rows, or changes their ids, outside
 * drop_organization(): refused, because the rows of tenant tables would stay.
 */
void
ti_registry_check_write(CmdType operation)
{
	if (removing || ti_internal_active() || (operation != CMD_DELETE && operation != CMD_MERGE))
		return;
	ti_refuse(ERRCODE_INSUFFICIENT_PRIVILEGE,
			  "cannot delete rows of tenant_iso.organizations directly",
			  "The rows of the organization's tenant tables would stay behind without an organization.",
			  "Use tenant_iso.drop_organization(id); the name of an organization may be changed with UPDATE ... SET name.");
}

/* Locks go with the (sub)transaction that took them: so does the list. */
static void
registry_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		held = NIL;
}

static void
registry_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	foreach(lc, held)
	{
		HeldOrganization *h = (HeldOrganization *) lfirst(lc);

		if (h->subxid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			h->subxid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
			held = foreach_delete_current(held, lc);
	}
}

void
ti_registry_init(void)
{
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = registry_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = registry_shmem_startup;
	RegisterXactCallback(registry_xact_callback, NULL);
	RegisterSubXactCallback(registry_subxact_callback, NULL);
}
