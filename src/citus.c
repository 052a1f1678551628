/*-------------------------------------------------------------------------
 * src/citus.c
 *		Citus, found at run time: whether it is loaded and installed, which
 *		node this is, which relations are its tables and shards, and the few
 *		Citus functions the other citus_*.c files call.  A leaf.
 *
 * tenant_iso never links against Citus: it builds and runs without its
 * headers or library.  When citus is in shared_preload_libraries (before
 * tenant_iso: Citus refuses to load after other hooks, and tenant_iso
 * refuses the other order itself, with its own message), its exported
 * functions are resolved by name from the loaded library, once, and only
 * used when the citus extension exists in the database and is version 13.2
 * (the internal functions below are not a stable API: another version is
 * refused, it is never guessed at).
 *
 * Invariants:
 *	- Without citus in shared_preload_libraries nothing here costs more
 *	  than a static flag test, and nothing changes tenant_iso's behaviour.
 *	- A shard is recognised by the catalog, not by its name alone: its name
 *	  ends with a shard id that pg_dist_shard lists for a table of the same
 *	  schema.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "tenant_iso.h"

#define TI_CITUS_LIBRARY	"$libdir/citus"
#define TI_CITUS_VERSION	"13.2"

/*
 * The key of the plan invalidation item that ties a plan to the tenant it
 * was routed for: a function OID no catalog row needs to have.  A real
 * function with this OID would only cause extra replanning.
 */
#define TI_CITUS_TENANT_INVAL_KEY	0x54490002

typedef struct CitusApi
{
	bool		(*has_been_loaded) (void);
	int32		(*local_group_id) (void);
	bool		(*is_citus_table) (Oid relid);
	uint64		(*shard_id_from_name) (const char *name, bool missingOk);
	Oid			(*shard_relation) (int64 shardid, bool missingOk);
	void		(*append_shard_id) (char **name, uint64 shardid);
	void		(*use_coordinated_transaction) (void);
	void		(*propagate_set) (VariableSetStmt *stmt, const char *command);
	StringInfo *active_set_stmts;
} CitusApi;

static bool citus_preloaded = false;
static int	api_state = 0;			/* 0 unresolved, 1 resolved, -1 missing */
static CitusApi api;
static int	version_state = 0;		/* 0 unchecked, 1 supported, -1 not */

/* The name of a library entry without directory and ".so". */
static char *
library_basename(const char *entry)
{
	const char *slash = strrchr(entry, '/');
	char	   *name = pstrdup(slash ? slash + 1 : entry);
	size_t		len = strlen(name);

	if (len > 3 && strcmp(name + len - 3, ".so") == 0)
		name[len - 3] = '\0';
	return name;
}

/*
 * At _PG_init, while shared_preload_libraries is processed: is citus listed,
 * and before us?  Citus refuses to load after another library's hooks, so
 * the other order never starts a server; we refuse it first, in our words.
 */
void
ti_citus_init(void)
{
	char	   *raw = pstrdup(GetConfigOption("shared_preload_libraries", false, false));
	List	   *entries = NIL;
	ListCell   *lc;
	int			pos = 0,
				citus_pos = -1,
				our_pos = -1;

	if (!SplitDirectoriesString(raw, ',', &entries))
		return;
	foreach(lc, entries)
	{
		char	   *name = library_basename((char *) lfirst(lc));

		if (strcmp(name, "citus") == 0 && citus_pos < 0)
			citus_pos = pos;
		if (strcmp(name, "tenant_iso") == 0 && our_pos < 0)
			our_pos = pos;
		pos++;
	}
	if (citus_pos >= 0 && our_pos >= 0 && citus_pos > our_pos)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant_iso must follow citus in shared_preload_libraries"),
				 errdetail("Citus only loads first, and tenant_iso's hooks must see each query and statement before Citus plans, runs or distributes it."),
				 errhint("Set shared_preload_libraries = 'citus,tenant_iso' and restart the server.")));
	citus_preloaded = citus_pos >= 0;
}

/* Is citus loaded in this server (before tenant_iso)? */
bool
ti_citus_loaded(void)
{
	return citus_preloaded;
}

static void *
citus_symbol(const char *name)
{
	return load_external_function(TI_CITUS_LIBRARY, name, false, NULL);
}

/* Resolve the Citus functions we call, once; false if one is missing. */
static bool
resolve_api(void)
{
	if (api_state != 0)
		return api_state > 0;
	api.has_been_loaded = citus_symbol("CitusHasBeenLoaded");
	api.local_group_id = citus_symbol("GetLocalGroupId");
	api.is_citus_table = citus_symbol("IsCitusTable");
	api.shard_id_from_name = citus_symbol("ExtractShardIdFromTableName");
	api.shard_relation = citus_symbol("LookupShardRelationFromCatalog");
	api.append_shard_id = citus_symbol("AppendShardIdToName");
	api.use_coordinated_transaction = citus_symbol("UseCoordinatedTransaction");
	api.propagate_set = citus_symbol("PostprocessVariableSetStmt");
	api.active_set_stmts = citus_symbol("activeSetStmts");
	api_state = (api.has_been_loaded && api.local_group_id && api.is_citus_table &&
				 api.shard_id_from_name && api.shard_relation && api.append_shard_id &&
				 api.use_coordinated_transaction && api.propagate_set &&
				 api.active_set_stmts) ? 1 : -1;
	return api_state > 0;
}

/* The installed version of the citus extension ("" if none). */
static char *
citus_extension_version(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *version = "";

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("citus"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = TextDatumGetCString(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

static void
refuse_version(const char *version)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("tenant_iso does not support Citus %s", version),
			 errdetail("tenant_iso calls internal functions of Citus " TI_CITUS_VERSION " to keep the tenant boundary on every node; other versions are not checked."),
			 errhint("Use Citus " TI_CITUS_VERSION ", or remove citus from shared_preload_libraries.")));
}

/*
 * Is Citus in use in this database: preloaded, installed, version 13.2?
 * Another version fails closed (an error) rather than working half.
 */
bool
ti_citus_active(void)
{
	if (!citus_preloaded || !IsTransactionState())
		return false;
	if (!resolve_api())
		refuse_version("without the expected functions");
	if (!api.has_been_loaded())
		return false;
	if (version_state == 0)
	{
		char	   *version = citus_extension_version();

		version_state = (strncmp(version, TI_CITUS_VERSION, strlen(TI_CITUS_VERSION)) == 0 &&
						 (version[strlen(TI_CITUS_VERSION)] == '-' ||
						  version[strlen(TI_CITUS_VERSION)] == '.' ||
						  version[strlen(TI_CITUS_VERSION)] == '\0')) ? 1 : -1;
		if (version_state < 0)
			refuse_version(version);
	}
	else if (version_state < 0)
		refuse_version(citus_extension_version());
	return true;
}

/* Is this node a Citus worker (any node but the coordinator, group 0)? */
bool
ti_citus_is_worker(void)
{
	return ti_citus_active() && api.local_group_id() != 0;
}

/* Is relid a Citus table (distributed, reference or Citus local) on this node? */
bool
ti_citus_is_table(Oid relid)
{
	return ti_citus_active() && api.is_citus_table(relid);
}

/*
 * Citus's name for the shard shardid of an object named name (what it
 * gives shards, their indexes, constraints and triggers), palloc'd.
 */
char *
ti_citus_shard_name(const char *name, uint64 shardid)
{
	char	   *extended = pstrdup(name);

	if (!resolve_api())
		return extended;
	api.append_shard_id(&extended, shardid);
	return extended;
}

/*
 * The shard id a relation name carries as Citus's suffix ("_<digits>"), or 0.
 * Text only: no catalog is read (it runs per row in the stamping trigger).
 */
uint64
ti_citus_name_shard_id(const char *relname)
{
	if (!citus_preloaded || !resolve_api() || relname == NULL)
		return 0;
	return api.shard_id_from_name(relname, true);
}

/*
 * If relid is a shard placement on this node, its shard id (and its
 * logical table in *logical); else 0.  A table whose name ends with a shard
 * id that pg_dist_shard lists for another table of the same schema.  (Not the whole
 * name: while Citus renames a table, its shards and shells are renamed one
 * by one.)
 */
uint64
ti_citus_shard_of(Oid relid, Oid *logical)
{
	uint64		shardid = ti_citus_name_shard_id(get_rel_name(relid));
	char		relkind = get_rel_relkind(relid);
	Oid			table;

	if (shardid == 0 || (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) ||
		!ti_citus_active())
		return 0;
	table = api.shard_relation((int64) shardid, true);
	if (!OidIsValid(table) || table == relid ||
		get_rel_namespace(table) != get_rel_namespace(relid))
		return 0;
	if (logical != NULL)
		*logical = table;
	return shardid;
}

/*
 * Make Citus open remote transaction blocks for the current statement,
 * also in autocommit, so that the SET LOCALs below reach every node.
 */
void
ti_citus_use_coordinated_transaction(void)
{
	if (ti_citus_active())
		api.use_coordinated_transaction();
}

/*
 * Send command (a SET LOCAL or SELECT, ending with ";") to every remote
 * transaction in progress and to every one Citus begins later in this
 * transaction: Citus's own SET LOCAL propagation.  Not sent again when it
 * was the last one sent.
 */
void
ti_citus_send_local_setting(const char *command)
{
	StringInfo	sent;
	VariableSetStmt *stmt;

	if (!ti_citus_active())
		return;
	sent = *api.active_set_stmts;
	if (sent != NULL && sent->len >= (int) strlen(command) &&
		strcmp(sent->data + sent->len - strlen(command), command) == 0)
		return;
	stmt = makeNode(VariableSetStmt);
	stmt->kind = VAR_SET_VALUE;
	stmt->name = "tenant.org_id";
	stmt->is_local = true;
	api.propagate_set(stmt, command);
}

/* The hash of the invalidation item, once computed by a planner (0: no plan has one). */
static uint32 tenant_inval_hash = 0;

/* The plan invalidation item of a plan routed for the tenant in effect. */
PlanInvalItem *
ti_citus_tenant_inval_item(void)
{
	PlanInvalItem *item = makeNode(PlanInvalItem);

	if (tenant_inval_hash == 0)
		tenant_inval_hash = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum((Oid) TI_CITUS_TENANT_INVAL_KEY));
	item->cacheId = PROCOID;
	item->hashValue = tenant_inval_hash;
	return item;
}

/*
 * The tenant setting changed (any route: SET, SET LOCAL, set_config, RESET,
 * the end of a transaction): cached plans routed for a tenant are replanned
 * before their next use.  Only this backend's plans; nothing but a mark is
 * set, so it is safe outside a transaction too.
 */
void
ti_citus_tenant_changed(void)
{
	if (tenant_inval_hash != 0)
		CallSyscacheCallbacks(PROCOID, tenant_inval_hash);
}

/* Is name Citus's name for a shard of an object named base (base_<shard id>)? */
bool
ti_citus_is_shard_name(const char *name, const char *base)
{
	uint64		shardid = ti_citus_name_shard_id(name);

	return shardid != 0 && strcmp(ti_citus_shard_name(base, shardid), name) == 0;
}
