/*-------------------------------------------------------------------------
 * src/citus_ddl.c
 *		Citus's own DDL: what it creates on every node is corrected where it
 *		loses something, and verified, by object, before the transaction
 *		commits; how tenant tables may be distributed is checked the same way.
 *
 * Citus re-creates policies on shards, worker shells and reference table
 * placements from deparsed text that drops AS RESTRICTIVE, and it creates a
 * shard in many statements (table, grants, owner, row level security,
 * policies, keys, trigger) over which the shard is
 * incomplete.  Its internal connections carry markers (application_name,
 * worker_apply_shard_ddl_command in the statement, enable_ddl_propagation)
 * that any client can forge, so nothing here relaxes a rule on a marker:
 *	- CREATE POLICY tenant_isolation becomes restrictive on every node,
 *	  whoever runs it (restrictive only narrows; the invariants still require
 *	  the generated expression);
 *	- on a worker, the schema check does not set up the tables a transaction
 *	  creates, and the guard verifies them when the transaction commits
 *	  (or prepares, Citus's two-phase commit) instead of after each
 *	  statement: every such table that carries any of tenant_iso's objects
 *	  must then have its rows scoped (row level security and the restrictive
 *	  policy, see TI_CITUS_NEW_SHARD_CHECKS; a shard's trigger is named by
 *	  Citus's rules, invariants.c), and every placement of
 *	  the registry must keep its restrictive policy, and every view must be
 *	  one tenant_iso accepts (views.c); so must every table that has a
 *	  tenant table's shard name when the transaction ends (created, renamed
 *	  or moved there: the tenant's queries go to that name).  A transaction
 *	  that leaves one open does not commit, whoever ran it;
 *	- on the coordinator, when a transaction changed tenant tables or the
 *	  registry, it commits only if every distributed tenant table is
 *	  hash-distributed by organization_id and co-located with the others, and
 *	  the registry is a reference table if it is a Citus table at all (any
 *	  route: create_distributed_table, alter_distributed_table,
 *	  create_reference_table, undistribute_table, ...);
 *	- around statements, settings Citus's own work needs (see
 *	  ti_citus_statement_begin()): its look at a new, empty table and the
 *	  validation of keys it adds see no rows rather than fail with TI001
 *	  (nothing is read; the guard validates keys again as the owner).
 *
 * Invariants:
 *	- The tables to verify are remembered in static arrays, emptied at
 *	  every transaction end; checks run only in a transaction.
 *	- Under tenant_iso.unsafe_ddl (a superuser's escape hatch) a failed
 *	  check is a WARNING, as everywhere (refusal.c).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tenant_iso.h"

/*
 * What a table a worker's transaction created must pass at commit: rows
 * scoped to the tenant (the column, row level security, the restrictive
 * policy).  Citus moves a shard in steps, each its own transaction (the
 * table, its policies and rows; then its indexes, keys and trigger): the
 * other invariants hold once it is done, and the guard refuses any
 * statement that would break one that holds (guard.c); audit() reports the
 * rest of every placement.
 */
#define TI_CITUS_NEW_SHARD_CHECKS \
	"organization_id_column,organization_id_type,organization_id_not_null,row_level_security,tenant_isolation_policy"

/*
 * Relations to verify at commit: created by a worker's transaction
 * (deferred, a list in TopMemoryContext), and whose cache entry was
 * invalidated in the transaction (touched: noted by a relcache callback,
 * which must not allocate, so a fixed array; when it is full, every
 * candidate is checked).
 */
#define TI_MAX_TOUCHED	1024

static List *deferred = NIL;
static Oid	touched[TI_MAX_TOUCHED];
static int	ntouched = 0;
static bool touched_overflow = false;

/*
 * A restrictive policy of the user's own on a distributed tenant table, on
 * the coordinator: Citus re-creates it on every shard as a permissive one,
 * where it narrows nothing.  Refused rather than silently lost.
 */
static void
refuse_own_restrictive_policy(CreatePolicyStmt *stmt)
{
	Oid			relid = RangeVarGetRelid(stmt->table, NoLock, true);

	if (!OidIsValid(relid) || ti_citus_is_worker() || !ti_citus_is_table(relid) ||
		!ti_relid_is_guarded(relid))
		return;
	ti_refuse(ERRCODE_FEATURE_NOT_SUPPORTED,
			  psprintf("restrictive policy \"%s\" cannot be kept on the shards of %s",
					   stmt->policy_name, ti_qualified_name(relid)),
			  "Citus 13.2 re-creates every policy on the shards without AS RESTRICTIVE; only tenant_iso's own policy is restored.",
			  "Narrow access in the application, or with a permissive policy that replaces tenant_access.");
}

/*
 * Before any utility statement, on every node (also inside the extension's
 * own work: Citus creates the registry's placement on the coordinator then):
 * CREATE POLICY tenant_isolation is restrictive, and another restrictive
 * policy on a distributed tenant table is refused.  Returns the statement to
 * run (a copy when the tree may not be changed in place).
 */
PlannedStmt *
ti_citus_before_utility(PlannedStmt *pstmt, bool *readOnlyTree)
{
	CreatePolicyStmt *stmt;

	if (!IsA(pstmt->utilityStmt, CreatePolicyStmt) || !ti_citus_active())
		return pstmt;
	stmt = (CreatePolicyStmt *) pstmt->utilityStmt;
	if (strcmp(stmt->policy_name, TI_ISOLATION_POLICY) != 0)
	{
		if (!stmt->permissive)
			refuse_own_restrictive_policy(stmt);
		return pstmt;
	}
	if (!stmt->permissive)
		return pstmt;
	if (*readOnlyTree)
	{
		pstmt = copyObject(pstmt);
		*readOnlyTree = false;
	}
	((CreatePolicyStmt *) pstmt->utilityStmt)->permissive = false;
	return pstmt;
}

static void
note_touched(Oid relid)
{
	int			i;

	for (i = 0; i < ntouched; i++)
		if (touched[i] == relid)
			return;
	if (ntouched >= TI_MAX_TOUCHED)
		touched_overflow = true;
	else
		touched[ntouched++] = relid;
}

static void
note_deferred(Oid relid)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	deferred = list_append_unique_oid(deferred, relid);
	MemoryContextSwitchTo(old);
}

/* Was relid created in the current transaction? */
static bool
created_in_transaction(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		result;

	if (!RelationIsValid(rel))
		return false;
	result = rel->rd_createSubid != InvalidSubTransactionId;
	RelationClose(rel);
	return result;
}

/*
 * The schema check (setup.c) found a new table: on a worker it is a shard,
 * a shell or a placement Citus is building over several statements, so it
 * is verified at commit instead of set up now.  Returns true if deferred.
 */
bool
ti_citus_defer_setup(Oid relid)
{
	if (!ti_citus_is_worker())
		return false;
	note_deferred(relid);
	return true;
}

/*
 * The guard (guard.c) is about to verify a table after a statement.  On a
 * worker, a table this transaction created is verified at commit instead,
 * and a shard that the statement only added to (captured: false, its state
 * before is unknown) must keep its rows scoped: Citus completes a moved
 * shard (indexes, keys, trigger) in transactions of their own.  What a
 * statement drops or alters on a shard is compared with its state before,
 * as on any table.  Returns true if the guard has nothing more to do.
 */
bool
ti_citus_defer_verification(Oid relid, bool captured)
{
	if (!ti_citus_is_worker())
		return false;
	if (created_in_transaction(relid))
	{
		note_deferred(relid);
		return true;
	}
	if (captured || ti_citus_shard_of(relid, NULL) == 0)
		return false;
	ti_invariants_require(relid, TI_CITUS_NEW_SHARD_CHECKS);
	return true;
}

/*
 * Is relid, on a Citus worker, a Citus table's shell (metadata of a table
 * whose rows are in shards) or a table this transaction created (a shard
 * Citus builds)?  Queries over it are no check of its rows.
 */
bool
ti_citus_worker_shell(Oid relid)
{
	return ti_citus_is_worker() && (ti_citus_is_table(relid) || created_in_transaction(relid));
}

static void
set_for_statement(int *nest, const char *name, const char *value)
{
	if (*nest == 0)
		*nest = NewGUCNestLevel();
	(void) set_config_option(name, value, PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Around every utility statement (guard.c), settings for its duration
 * (restored by ti_citus_statement_end(), or by the (sub)transaction abort):
 *	- on the coordinator, once the registry is a reference table, CREATE
 *	  TABLE runs with citus.enable_local_reference_table_foreign_keys off:
 *	  Citus's own post-processing of the statement would otherwise turn a
 *	  new tenant table with a foreign key of the user's own to the registry
 *	  into a Citus local table (or drop and re-add that key after the
 *	  schema check distributed it);
 *	  and Citus's look at the new (empty) table when it distributes a new
 *	  partition as the user sees no rows instead of failing with TI001;
 *	- on a worker, the queries an ALTER TABLE runs itself (the validation of
 *	  a foreign key Citus adds to a moved shard, as the table's owner, with
 *	  no tenant) see no rows instead of failing with TI001: as under
 *	  tenant_iso.missing_context = 'empty', which any role may set, nothing
 *	  is read, and the guard validates the key again over every row as the
 *	  extension's owner when the statement ends (fk.c).
 * Returns a nest level for ti_citus_statement_end(), or 0.
 */
int
ti_citus_statement_begin(Node *parsetree)
{
	int			nest = 0;

	if (!ti_citus_active())
		return 0;
	if (IsA(parsetree, AlterTableStmt) && ti_citus_is_worker())
		set_for_statement(&nest, "tenant_iso.missing_context", "empty");
	else if (IsA(parsetree, CreateStmt) && ti_citus_registry_distributed())
	{
		set_for_statement(&nest, "citus.enable_local_reference_table_foreign_keys", "off");
		set_for_statement(&nest, "tenant_iso.missing_context", "empty");
	}
	return nest;
}

void
ti_citus_statement_end(int nest)
{
	if (nest != 0)
		AtEOXact_GUC(true, nest);
}

static void
refuse_open_registry_placement(Oid relid)
{
	ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
			  psprintf("placement %s of tenant_iso.organizations is not scoped to the tenant", ti_qualified_name(relid)),
			  "Row level security must be enabled and forced on it, with the restrictive policy \"tenant_isolation\" comparing id with the current tenant.",
			  "Keep the registry's placements as Citus creates them with tenant_iso loaded on every node.");
}

/*
 * Is a placement of the registry set up like the registry: row level
 * security enabled and forced, the restrictive policy tenant_isolation
 * FOR ALL TO PUBLIC whose expressions are the generated comparison
 * (recognised by equal(), tenant_table.c)?
 */
bool
ti_citus_registry_placement_ok(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *rows = ti_internal_query("SELECT p.polqual::pg_catalog.text, p.polwithcheck::pg_catalog.text "
										 "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_policy p "
										 "  ON p.polrelid OPERATOR(pg_catalog.=) c.oid "
										 "WHERE c.oid OPERATOR(pg_catalog.=) $1 AND c.relrowsecurity "
										 "AND c.relforcerowsecurity AND NOT p.polpermissive "
										 "AND p.polname OPERATOR(pg_catalog.=) 'tenant_isolation' "
										 "AND p.polcmd OPERATOR(pg_catalog.=) '*' "
										 "AND p.polroles OPERATOR(pg_catalog.=) '{0}'::pg_catalog.oid[]",
										 1, argtypes, values, 1, 2);
	char	  **row;

	if (rows == NIL)
		return false;
	row = (char **) linitial(rows);
	return row[0] != NULL && row[1] != NULL &&
		ti_is_tenant_qual(relid, 1, (Node *) stringToNode(row[0])) &&
		ti_is_tenant_qual(relid, 1, (Node *) stringToNode(row[1]));
}

/* Verify one table a worker's transaction created (see the file header). */
static void
verify_new_relation(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == '\0')
		return;					/* dropped again */
	if ((relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW) && !ti_unsafe_ddl())
	{
		ti_check_view(relid, false);	/* Citus brings security_invoker along */
		return;
	}
	if (ti_relid_is_registry(relid))
	{
		if (relid != ti_registry_oid() && !ti_citus_registry_placement_ok(relid))
			refuse_open_registry_placement(relid);
		return;
	}
	if (ti_relid_is_guarded(relid))
		ti_invariants_require(relid, TI_CITUS_NEW_SHARD_CHECKS);
}

/*
 * On a worker: a table whose name is a shard of a tenant table (the shard
 * id pg_dist_shard lists for a tenant table's shell here) must keep its
 * rows scoped, whatever it carries: a plain table created, renamed or
 * moved in place of a shard would otherwise get the tenant's queries.
 */
static void
verify_shard_name(Oid relid)
{
	Oid			logical;

	if (get_rel_name(relid) == NULL || list_member_oid(deferred, relid) ||
		ti_citus_shard_of(relid, &logical) == 0 || !ti_relid_is_guarded(logical))
		return;
	ti_invariants_require(relid, TI_CITUS_NEW_SHARD_CHECKS);
}

static void
verify_on_worker(void)
{
	ListCell   *lc;
	int			i;

	foreach(lc, deferred)
		verify_new_relation(lfirst_oid(lc));
	if (touched_overflow)
	{
		foreach(lc, ti_internal_oids("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind "
									 "OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog.\"char\"[]) "
									 "AND c.relname OPERATOR(pg_catalog.~) '_[0-9]+$'", InvalidOid))
			verify_shard_name(lfirst_oid(lc));
	}
	for (i = 0; !touched_overflow && i < ntouched; i++)
		verify_shard_name(touched[i]);
}

static void
refuse_distribution(Oid relid, const char *detail)
{
	ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
			  psprintf("tenant table %s cannot be distributed this way", ti_qualified_name(relid)),
			  detail,
			  "Distribute tenant tables with SELECT tenant_iso.distribute('<table>'): by organization_id, co-located, with the registry as a reference table.");
}

/*
 * How a tenant table is in Citus's metadata on the coordinator: refused
 * unless hash-distributed by organization_id in the one co-location group
 * of tenant tables.  (Not in the metadata: a local table, fine.)
 */
static void
check_tenant_distribution(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *rows = ti_internal_query("SELECT p.partmethod::pg_catalog.text, "
										 "  pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), "
										 "  (SELECT pg_catalog.count(DISTINCT o.colocationid) FROM pg_catalog.pg_dist_partition o "
										 "    WHERE o.partmethod OPERATOR(pg_catalog.=) 'h' AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy y "
										 "      WHERE y.polrelid OPERATOR(pg_catalog.=) o.logicalrelid "
										 "      AND y.polname OPERATOR(pg_catalog.=) 'tenant_isolation'))::pg_catalog.text "
										 "FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1",
										 1, argtypes, values, 1, 3);
	char	  **row;

	if (rows == NIL)
		return;
	row = (char **) linitial(rows);
	if (strcmp(row[0], "h") != 0)
		refuse_distribution(relid, "Tenant tables are hash-distributed by organization_id; a reference table or Citus local table would keep every tenant's rows on every node, outside the tenant's shard.");
	else if (row[1] == NULL || strcmp(row[1], TI_COLUMN) != 0)
		refuse_distribution(relid, psprintf("It would be distributed by column \"%s\": tenant tables are distributed by \"organization_id\", so that each tenant's rows are on one shard and every query of a tenant runs on that shard only.",
											row[1] ? row[1] : "?"));
	else if (strcmp(row[2], "1") != 0)
		refuse_distribution(relid, "Tenant tables are co-located with each other (one co-location group), so that a tenant's rows of every table are on the same node and joins and keys between them stay on one shard.");
}

/* The registry, if a Citus table, is a reference table (a copy on every node). */
static void
check_registry_distribution(void)
{
	if (!ti_internal_exists("SELECT 1 FROM pg_catalog.pg_dist_partition p "
							"WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1 "
							"AND (p.partmethod OPERATOR(pg_catalog.<>) 'n' OR p.repmodel OPERATOR(pg_catalog.<>) 't')",
							ti_registry_oid()))
		return;
	ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
			  "tenant_iso.organizations can only be a reference table",
			  "Every node needs the whole registry: the registry guard reads the coordinator's copy before rows are inserted, and the tenant's queries read the copy on its shard's node.",
			  "Let SELECT tenant_iso.distribute('<table>') make it a reference table.");
}

/* On the coordinator: the tables this transaction touched are distributed as tenant tables must be. */
static void
verify_distribution(void)
{
	List	   *tables = NIL;
	ListCell   *lc;
	int			i;

	if (touched_overflow)
		tables = ti_internal_oids("SELECT p.logicalrelid::pg_catalog.oid FROM pg_catalog.pg_dist_partition p", InvalidOid);
	for (i = 0; !touched_overflow && i < ntouched; i++)
		tables = lappend_oid(tables, touched[i]);
	foreach(lc, tables)
		if (get_rel_name(lfirst_oid(lc)) != NULL && ti_relid_is_guarded(lfirst_oid(lc)))
			check_tenant_distribution(lfirst_oid(lc));
	check_registry_distribution();
}

static void
forget_noted(void)
{
	list_free(deferred);
	deferred = NIL;
	ntouched = 0;
	touched_overflow = false;
}

/* Before commit or PREPARE TRANSACTION (Citus's two-phase commit). */
static void
citus_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if ((deferred != NIL || ntouched > 0 || touched_overflow) &&
				OidIsValid(ti_schema_oid()) && ti_citus_active())
			{
				/* an error aborts the transaction, which pops the snapshot */
				PushActiveSnapshot(GetTransactionSnapshot());
				if (ti_citus_is_worker())
					verify_on_worker();
				else
					verify_distribution();
				PopActiveSnapshot();
			}
			forget_noted();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			forget_noted();
			break;
		default:
			break;
	}
}

/*
 * A relation's cache entry was invalidated: Citus does that for every table
 * whose pg_dist_partition row changes.  Remembered (no catalog access is
 * allowed here) and checked before commit.
 */
static void
citus_relcache_callback(Datum arg, Oid relid)
{
	if (!IsTransactionState())
		return;
	if (!OidIsValid(relid))
		touched_overflow = true;
	else
		note_touched(relid);
}

void
ti_citus_ddl_init(void)
{
	if (!ti_citus_loaded())
		return;
	RegisterXactCallback(citus_xact_callback, NULL);
	CacheRegisterRelcacheCallback(citus_relcache_callback, (Datum) 0);
}
