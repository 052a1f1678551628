/*-------------------------------------------------------------------------
 * src/guard.c
 *		The DDL guard: a ProcessUtility hook that dispatches each statement
 *		family to its rule, and verifies at the end of the statement every
 *		tenant table the statement touched.
 *
 * Which tables a statement touched is learnt by object, not by statement:
 * the object access hook (objaccess.c) notes the table of every column,
 * index, constraint, policy, trigger, default or type that is created,
 * altered or dropped, whatever statement or cascade did it.  The few
 * changes PostgreSQL makes without an object access event (row level
 * security flags) are noted from the statement that names the table.  When
 * the statement ends, each noted table that still exists must pass every
 * invariant it passed before (invariants.c); otherwise the statement
 * fails and is rolled back.
 *
 * State lives in one struct per (nested) utility statement, pushed and
 * popped here, restored in PG_FINALLY.
 *
 * Invariants:
 *	- A table noted by a drop is noted with its state before the drop; a
 *	  table first noted after a change is held to every invariant.
 *	- Statement-level rules stay only where they act earlier than any object
 *	  event could, or where no object event exists: SET/RESET of the tenant,
 *	  FETCH of held cursors, EXPLAIN ANALYZE, materialized views, DROP INDEX
 *	  CONCURRENTLY, ALTER COLUMN ... TYPE ... USING, schema moves and
 *	  renames, ATTACH PARTITION / INHERIT, foreign key validation.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "tenant_iso.h"

/* A guarded table the statement touched. */
typedef struct NotedTable
{
	Oid			relid;
	bool		captured;		/* its violations before the statement are known */
	List	   *before;			/* those violations */
} NotedTable;

/* What one utility statement touched, and what to do when it ends. */
typedef struct GuardFrame
{
	MemoryContext cxt;			/* everything below lives here */
	List	   *tables;			/* NotedTable *: to verify at the end */
	List	   *index_tables;	/* tables that got new indexes, and ... */
	List	   *new_indexes;	/* ... those indexes, parallel */
	List	   *children;		/* tables attached or inheriting from a tenant table */
	List	   *detached;		/* partitions detached from a tenant table */
	Oid			altered_view;
	Oid			fk_source;		/* a table whose foreign keys must not reach tenant tables */
	Oid			fk_validated;	/* a tenant table whose foreign keys were validated */
	Oid			moved_rel;		/* a table renamed or moved: its exemption follows */
	char	   *moved_nsp;
	char	   *moved_name;
	char	   *renamed_nsp;	/* a schema renamed: its exemptions follow */
	char	   *renamed_nsp_to;
	bool		closed_for_drop;	/* unsafe DROP EXTENSION closed the tenant tables */
	bool		analyzes;		/* ANALYZE (or VACUUM ANALYZE) of ... */
	List	   *analyzed;		/* ... these tables (NIL: all) */
} GuardFrame;

/*
 * The frame of the innermost utility statement.  A frame has a memory
 * context of its own (a procedure may commit while its CALL runs, so the
 * transaction's memory cannot hold it), deleted when the statement ends.
 */
static GuardFrame *frame = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
frame_append_oid(List **list, Oid oid)
{
	MemoryContext old = MemoryContextSwitchTo(frame->cxt);

	*list = lappend_oid(*list, oid);
	MemoryContextSwitchTo(old);
}

static NotedTable *
noted(Oid relid)
{
	ListCell   *lc;

	foreach(lc, frame->tables)
		if (((NotedTable *) lfirst(lc))->relid == relid)
			return (NotedTable *) lfirst(lc);
	return NULL;
}

/*
 * Note a guarded table for verification when the statement ends; with
 * capture_before, its violations now are what the statement may keep.
 */
void
ti_guard_note_table(Oid relid, bool capture_before)
{
	NotedTable *n;
	List	   *before;
	MemoryContext old;
	ListCell   *lc;

	if (frame == NULL || !OidIsValid(relid) || noted(relid) != NULL)
		return;
	before = capture_before ? ti_invariant_violations(relid, NULL) : NIL;
	old = MemoryContextSwitchTo(frame->cxt);
	n = palloc0(sizeof(NotedTable));
	n->relid = relid;
	n->captured = capture_before;
	foreach(lc, before)
		n->before = lappend(n->before, pstrdup((char *) lfirst(lc)));
	frame->tables = lappend(frame->tables, n);
	MemoryContextSwitchTo(old);
}

/* Note a new index of a guarded table (its leading column and statistics are checked at the end). */
void
ti_guard_note_new_index(Oid relid, Oid indexoid)
{
	if (frame == NULL)
		return;
	frame_append_oid(&frame->index_tables, relid);
	frame_append_oid(&frame->new_indexes, indexoid);
}

static void
refuse_extension_drop(int ntables, Oid example)
{
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot drop extension tenant_iso while %d tenant tables exist", ntables),
			 errdetail("Dropping it would remove the tenant boundary of table %s and the others.",
					   ti_qualified_name(example)),
			 errhint("Drop the tenant tables first, or as a superuser SET tenant_iso.unsafe_ddl = on and DROP EXTENSION tenant_iso: the tables are then closed (no rows visible to roles that row level security applies to) before the extension goes.")));
}

/*
 * The extension went with the statement (by any route: DROP OWNED, a
 * cascade...): refuse unless no tenant table it touched remains, or a
 * superuser's unsafe DROP EXTENSION closed them first.
 */
static void
check_extension_still_there(void)
{
	List	   *remaining = NIL;
	ListCell   *lc;

	if (OidIsValid(ti_extension_owner()) || frame->closed_for_drop)
		return;
	foreach(lc, frame->tables)
		if (get_rel_name(((NotedTable *) lfirst(lc))->relid) != NULL)
			remaining = lappend_oid(remaining, ((NotedTable *) lfirst(lc))->relid);
	if (remaining != NIL)
		refuse_extension_drop(list_length(remaining), linitial_oid(remaining));
}

/* A rule on a tenant table: refused (also from the object access hook). */
void
ti_refuse_rule(Oid relid, const char *rulename)
{
	ti_refuse(ERRCODE_FEATURE_NOT_SUPPORTED,
			  psprintf("cannot create rule \"%s\" on tenant table %s", rulename, ti_qualified_name(relid)),
			  "A rule runs with its owner's rights and could read or write other tenants' rows.",
			  "Use a trigger or a view instead.");
}

/* All current tenant tables (carrying the generated policy), outside the extension's schema. */
static List *
ti_all_tenant_tables(void)
{
	if (!OidIsValid(ti_extension_owner()))
		return NIL;
	return ti_internal_oids("SELECT p.polrelid FROM pg_catalog.pg_policy p "
							" WHERE p.polname OPERATOR(pg_catalog.=) '" TI_ISOLATION_POLICY "' "
							"UNION SELECT g.tgrelid FROM pg_catalog.pg_trigger g "
							" WHERE g.tgname OPERATOR(pg_catalog.=) '" TI_STAMP_TRIGGER "' "
							"EXCEPT SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_extension e "
							" ON c.relnamespace OPERATOR(pg_catalog.=) e.extnamespace "
							" WHERE e.extname OPERATOR(pg_catalog.=) 'tenant_iso'",
							InvalidOid);
}

static Oid
relid_of_rangevar(RangeVar *rv)
{
	return rv == NULL ? InvalidOid : RangeVarGetRelid(rv, NoLock, true);
}

/* Note a table named by the statement, with its state before it runs. */
static void
note_named(Oid relid)
{
	char		relkind = OidIsValid(relid) ? get_rel_relkind(relid) : '\0';

	if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
		relid = IndexGetRelation(relid, true);
	if (OidIsValid(relid) && ti_relid_is_guarded(relid))
		ti_guard_note_table(relid, true);
}

/* DROP POLICY / TRIGGER / RULE name their table with the object. */
static void
note_named_objects(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		List	   *names = (List *) lfirst(lc);

		if (list_length(names) >= 2)
			note_named(relid_of_rangevar(makeRangeVarFromNameList(list_copy_head(names, list_length(names) - 1))));
	}
}

/*
 * DROP EXTENSION tenant_iso (or DROP SCHEMA tenant_iso) under unsafe_ddl:
 * drop the permissive tenant_access policy of every tenant table, so that
 * when the restrictive policy goes with the extension, row level security
 * (still enabled and forced) shows no rows at all instead of every row.
 */
static void
before_drop_extension(DropStmt *stmt)
{
	ListCell   *lc;
	bool		ours = false;
	List	   *tables;

	foreach(lc, stmt->objects)
		if (IsA(lfirst(lc), String) && strcmp(strVal(lfirst(lc)), TI_SCHEMA) == 0)
			ours = true;
	if (!ours || (tables = ti_all_tenant_tables()) == NIL)
		return;
	if (!ti_unsafe_ddl())
		refuse_extension_drop(list_length(tables), linitial_oid(tables));
	ereport(WARNING,
			(errmsg("tenant_iso.unsafe_ddl is on: closing %d tenant tables before dropping extension tenant_iso",
					list_length(tables)),
			 errdetail("Their row level security stays forced with no policy, so no rows are visible until new policies are created.")));
	foreach(lc, tables)
		ti_internal_ddl(psprintf("DROP POLICY IF EXISTS " TI_ACCESS_POLICY " ON %s",
								 ti_qualified_name(lfirst_oid(lc))));
	frame->closed_for_drop = true;
}

static void
before_drop(DropStmt *stmt)
{
	switch (stmt->removeType)
	{
		case OBJECT_INDEX:
			if (stmt->concurrent)
				ti_check_drop_index_concurrently(stmt->objects);
			break;
		case OBJECT_POLICY:
		case OBJECT_TRIGGER:
		case OBJECT_RULE:
			note_named_objects(stmt->objects);
			break;
		case OBJECT_EXTENSION:
		case OBJECT_SCHEMA:
			before_drop_extension(stmt);
			break;
		default:
			break;
	}
}

/* ALTER TABLE parent ATTACH PARTITION child / ALTER TABLE child INHERIT parent. */
static void
note_new_children(AlterTableStmt *stmt, Oid relid)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		Oid			parent = InvalidOid;
		Oid			child = InvalidOid;

		if (cmd->subtype == AT_AttachPartition && IsA(cmd->def, PartitionCmd))
		{
			parent = relid;
			child = relid_of_rangevar(((PartitionCmd *) cmd->def)->name);
		}
		else if (cmd->subtype == AT_AddInherit && IsA(cmd->def, RangeVar))
		{
			parent = relid_of_rangevar((RangeVar *) cmd->def);
			child = relid;
		}
		if (cmd->subtype == AT_DetachPartition && IsA(cmd->def, PartitionCmd) &&
			ti_relid_is_guarded(relid))
			frame_append_oid(&frame->detached, relid_of_rangevar(((PartitionCmd *) cmd->def)->name));
		if (!OidIsValid(parent) || !OidIsValid(child))
			continue;
		if (ti_relid_is_tenant_table(parent))
			frame_append_oid(&frame->children, child);
		else if (ti_relid_is_guarded(child))
			ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
					  psprintf("tenant table %s cannot become a partition or child of %s, which is not a tenant table",
							   ti_qualified_name(child), ti_qualified_name(parent)),
					  "Rows read through a parent are filtered by the parent's policies only, so every tenant's rows would be visible through it.",
					  "Make the parent a tenant table too, or keep the tables apart.");
	}
}

/* Does an ALTER TABLE validate a foreign key (ADD ... FOREIGN KEY, VALIDATE CONSTRAINT)? */
static bool
validates_foreign_key(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_ValidateConstraint)
			return true;
		if (cmd->subtype == AT_AddConstraint && cmd->def != NULL && IsA(cmd->def, Constraint) &&
			((Constraint *) cmd->def)->contype == CONSTR_FOREIGN &&
			!((Constraint *) cmd->def)->skip_validation)
			return true;
	}
	return false;
}

static void
before_alter_table(AlterTableStmt *stmt, ProcessUtilityContext context)
{
	Oid			relid = relid_of_rangevar(stmt->relation);
	char		relkind = OidIsValid(relid) ? get_rel_relkind(relid) : '\0';

	if (relkind == RELKIND_VIEW)
		frame->altered_view = relid;
	note_named(relid);
	if (OidIsValid(relid) && ti_relid_is_guarded(relid))
	{
		ti_check_column_rewrites(relid, stmt);
		if (validates_foreign_key(stmt))
			frame->fk_validated = relid;
	}
	else if (OidIsValid(relid) && relkind != RELKIND_VIEW && context != PROCESS_UTILITY_SUBCOMMAND)
		frame->fk_source = relid;	/* CREATE TABLE's own keys: see setup.c */
	note_new_children(stmt, relid);
}

/* A table renamed or moved: remember its old name for its exemption. */
static void
remember_move(Oid relid)
{
	MemoryContext old;

	if (!OidIsValid(relid))
		return;
	old = MemoryContextSwitchTo(frame->cxt);
	frame->moved_rel = relid;
	frame->moved_nsp = get_namespace_name(get_rel_namespace(relid));
	frame->moved_name = get_rel_name(relid);
	MemoryContextSwitchTo(old);
}

static void
before_rename(RenameStmt *stmt)
{
	if (stmt->renameType == OBJECT_TABLE)
		remember_move(relid_of_rangevar(stmt->relation));
	else if (stmt->renameType == OBJECT_SCHEMA)
	{
		MemoryContext old = MemoryContextSwitchTo(frame->cxt);

		frame->renamed_nsp = pstrdup(stmt->subname);
		frame->renamed_nsp_to = pstrdup(stmt->newname);
		MemoryContextSwitchTo(old);
	}
	else if (stmt->relation != NULL)
		note_named(relid_of_rangevar(stmt->relation));
}

static bool
explain_has_analyze(ExplainStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = (DefElem *) lfirst(lc);

		if (strcmp(opt->defname, "analyze") == 0)
			return defGetBoolean(opt);
	}
	return false;
}

/* ANALYZE: remember which tables, to clean up after it (see after_statement). */
static void
before_vacuum(VacuumStmt *stmt)
{
	ListCell   *lc;

	frame->analyzes = !stmt->is_vacuumcmd;
	foreach(lc, stmt->options)
		if (strcmp(((DefElem *) lfirst(lc))->defname, "analyze") == 0 && defGetBoolean((DefElem *) lfirst(lc)))
			frame->analyzes = true;
	foreach(lc, stmt->rels)
	{
		VacuumRelation *vrel = (VacuumRelation *) lfirst(lc);

		if (vrel->relation != NULL)
			frame_append_oid(&frame->analyzed, relid_of_rangevar(vrel->relation));
	}
}

/*
 * After ANALYZE: expression index columns of tenant tables keep no
 * statistics.  Their statistics target is 0, but an index created in the
 * same transaction still carries its old target in the relation cache, and
 * ANALYZE reads it from there.
 */
static void
clean_analyzed(void)
{
	ListCell   *lc;

	if (!frame->analyzes || ti_unsafe_ddl())
		return;
	foreach(lc, frame->analyzed != NIL ? frame->analyzed : ti_all_tenant_tables())
		if (ti_relid_is_guarded(lfirst_oid(lc)))
			ti_invariants_repair_statistics(lfirst_oid(lc));
}

/* Dispatch the statement to the rules that act before it runs. */
static void
before_statement(Node *parsetree, ProcessUtilityContext context)
{
	if (ti_in_foreign_referential_action())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot run utility statements inside a referential action"),
				 errdetail("Referential actions run with the table owner's rights on behalf of another role."),
				 errhint("Do not run DDL or other utility statements from triggers that cascades fire.")));
	switch (nodeTag(parsetree))
	{
		case T_VariableSetStmt:
			ti_context_check_set_stmt((VariableSetStmt *) parsetree);
			break;
		case T_FetchStmt:
			/* a held cursor serves stored rows without an executor: check here */
			ti_context_check_unchanged(NULL);
			break;
		case T_VacuumStmt:
			before_vacuum((VacuumStmt *) parsetree);
			break;
		case T_AlterTableStmt:
			before_alter_table((AlterTableStmt *) parsetree, context);
			break;
		case T_DropStmt:
			before_drop((DropStmt *) parsetree);
			break;
		case T_RenameStmt:
			before_rename((RenameStmt *) parsetree);
			break;
		case T_AlterObjectSchemaStmt:
			if (((AlterObjectSchemaStmt *) parsetree)->objectType == OBJECT_TABLE)
				remember_move(relid_of_rangevar(((AlterObjectSchemaStmt *) parsetree)->relation));
			break;
		case T_AlterPolicyStmt:
			note_named(relid_of_rangevar(((AlterPolicyStmt *) parsetree)->table));
			break;
		case T_RuleStmt:
			{
				RuleStmt   *stmt = (RuleStmt *) parsetree;
				Oid			relid = relid_of_rangevar(stmt->relation);

				/* before PostgreSQL's own checks, for the clearer message */
				if (OidIsValid(relid) && ti_relid_is_guarded(relid))
					ti_refuse_rule(relid, stmt->rulename);
				break;
			}
		default:
			break;
	}
}

/* Children that joined a tenant table must become tenant tables (or the statement fails). */
static void
setup_children(void)
{
	ListCell   *lc;

	foreach(lc, frame->children)
	{
		Oid			child = lfirst_oid(lc);

		if (ti_relid_is_tenant_table(child))
			continue;
		if (ti_unsafe_ddl())
		{
			ereport(WARNING,
					(errmsg("tenant_iso.unsafe_ddl is on: table %s joined a tenant table without being set up",
							ti_qualified_name(child))));
			continue;
		}
		if (!ti_relation_is_managed(child))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					 errmsg("table %s cannot be a partition or child of a tenant table", ti_qualified_name(child)),
					 errdetail("It is exempt or outside the managed schemas, so queries against it directly would not be scoped to a tenant."),
					 errhint("Attach only tables of a managed schema that have \"organization_id uuid NOT NULL\".")));
		ti_setup_tenant_table(child, NULL, true);
	}
}

/* A table that moved schema: into an exempt schema (refused) or into a managed one (set up). */
static void
check_moved_table(void)
{
	Oid			relid = frame->moved_rel;

	if (!OidIsValid(relid) || get_rel_name(relid) == NULL)
		return;
	if (!ti_relid_is_guarded(relid))
		ti_follow_table_exemption(relid, frame->moved_nsp, frame->moved_name);	/* an exempt table's */
	if (get_rel_namespace(relid) == get_namespace_oid(frame->moved_nsp, true))
		return;					/* a rename, not a move */
	if (ti_relid_is_guarded(relid))
	{
		if (!ti_relation_is_managed(relid))
			ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
					  psprintf("tenant table %s cannot move into a schema that is exempt or not managed",
							   ti_qualified_name(relid)),
					  "Tables there are global: new tables beside it would not be set up, and the audit would not count it as a tenant table.",
					  "Keep tenant tables in managed schemas.");
	}
	else if (ti_relation_is_managed(relid) && !ti_unsafe_ddl())
		ti_setup_tenant_table(relid, NULL, true);
}

/* A renamed schema: its exemptions follow; a schema with tenant tables may not become exempt. */
static void
check_renamed_schema(void)
{
	ListCell   *lc;
	Oid			nsp;

	if (frame->renamed_nsp == NULL)
		return;
	ti_follow_schema_exemption(frame->renamed_nsp, frame->renamed_nsp_to);
	nsp = get_namespace_oid(frame->renamed_nsp_to, true);
	foreach(lc, ti_all_tenant_tables())
	{
		if (get_rel_namespace(lfirst_oid(lc)) == nsp && !ti_relation_is_managed(lfirst_oid(lc)))
			ti_refuse(ERRCODE_INVALID_TABLE_DEFINITION,
					  psprintf("schema \"%s\" holds tenant tables and cannot take a name that is exempt",
							   frame->renamed_nsp_to),
					  "Tables in an exempt schema are global tables.",
					  "Choose another name, or remove the exemption first.");
	}
}

/*
 * The noted tables: detached partitions get back what they inherited (the
 * stamping trigger), new expression indexes lose their statistics, then
 * every invariant is required, then new indexes are warned about.
 */
static void
verify_noted_tables(void)
{
	ListCell   *lc1,
			   *lc2;

	foreach(lc1, frame->detached)
		if (get_rel_name(lfirst_oid(lc1)) != NULL && !ti_unsafe_ddl())
			ti_invariants_repair(lfirst_oid(lc1), true);
	foreach(lc1, frame->index_tables)
		if (get_rel_name(lfirst_oid(lc1)) != NULL)
			ti_invariants_repair_statistics(lfirst_oid(lc1));
	foreach(lc1, frame->tables)
	{
		NotedTable *n = (NotedTable *) lfirst(lc1);

		if (get_rel_name(n->relid) == NULL)
			continue;			/* dropped by the statement */
		if (ti_citus_defer_verification(n->relid, n->captured))
			continue;			/* a shard Citus builds on a worker (citus_ddl.c) */
		ti_invariants_require_since(n->relid, n->before);
	}
	forboth(lc1, frame->index_tables, lc2, frame->new_indexes)
		if (get_rel_name(lfirst_oid(lc1)) != NULL && get_rel_name(lfirst_oid(lc2)) != NULL)
			ti_check_index_leading(lfirst_oid(lc1), list_make1_oid(lfirst_oid(lc2)));
}

/* The rules that act after the statement ran. */
static void
after_statement(void)
{
	if (!IsTransactionState())
		return;
	/* DO, CALL: PL/pgSQL assignments change settings without an executor */
	ti_context_check_unchanged(NULL);
	ti_context_check_deferred();
	check_moved_table();
	check_renamed_schema();
	setup_children();
	if (OidIsValid(frame->altered_view) && !ti_unsafe_ddl() &&
		get_rel_relkind(frame->altered_view) == RELKIND_VIEW)
		ti_check_view(frame->altered_view, false);
	check_extension_still_there();
	if (OidIsValid(ti_extension_owner()))
	{
		clean_analyzed();
		verify_noted_tables();
	}
	if (OidIsValid(frame->fk_validated) && get_rel_name(frame->fk_validated) != NULL &&
		ti_tenant_scoping_applies(InvalidOid) && !ti_citus_worker_shell(frame->fk_validated))
		ti_revalidate_foreign_keys(frame->fk_validated);
	if (OidIsValid(frame->fk_source) && !ti_unsafe_ddl())
		ti_refuse_fk_into_tenant_tables(frame->fk_source);
}

/* Utility statements that may start parallel workers of their own (index builds). */
static bool
may_start_parallel_workers(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_IndexStmt:
		case T_ReindexStmt:
		case T_AlterTableStmt:
		case T_ClusterStmt:
		case T_VacuumStmt:
			return true;
		default:
			return false;
	}
}

/* The next ProcessUtility in the chain, with the executor marks set around it. */
static void
run_marked(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
		   ProcessUtilityContext context, ParamListInfo params,
		   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc,
		   bool analyze, bool matview)
{
	ti_executor_mark(analyze, matview, 1);
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		ti_executor_mark(analyze, matview, -1);
	}
	PG_END_TRY();
}

/*
 * The next ProcessUtility in the chain.  The executor is told about EXPLAIN
 * ANALYZE and materialized views; statements that build indexes start
 * parallel workers outside the executor, so they hand them the tenant too.
 */
static void
call_next(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
		  ProcessUtilityContext context, ParamListInfo params,
		  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc,
		  bool guard_active)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		analyze = IsA(parsetree, ExplainStmt) && explain_has_analyze((ExplainStmt *) parsetree);
	bool		matview = guard_active && !ti_unsafe_ddl() &&
		(IsA(parsetree, RefreshMatViewStmt) ||
		 (IsA(parsetree, CreateTableAsStmt) && ((CreateTableAsStmt *) parsetree)->objtype == OBJECT_MATVIEW));
	bool		parallel = guard_active && may_start_parallel_workers(parsetree);
	TiTenant	tenant;
	int			citus;

	if (parallel)
	{
		ti_effective_tenant(&tenant);
		ti_context_prepare_parallel(&tenant);
	}
	/* Citus re-creates the generated policy without AS RESTRICTIVE: restore it */
	pstmt = ti_citus_before_utility(pstmt, &readOnlyTree);
	citus = ti_citus_statement_begin(parsetree);
	run_marked(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc,
			   analyze, matview);
	ti_citus_statement_end(citus);
	if (parallel && IsTransactionState())
		ti_context_finish_parallel();
}

static void
ti_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params,
				  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		active = IsTransactionState() && !ti_internal_active() && !creating_extension &&
		OidIsValid(ti_schema_oid());
	GuardFrame *outer = frame;
	GuardFrame *mine = NULL;

	if (active)
	{
		MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "tenant_iso guard",
												  ALLOCSET_SMALL_SIZES);

		mine = MemoryContextAllocZero(cxt, sizeof(GuardFrame));
		mine->cxt = cxt;
		frame = mine;
	}
	PG_TRY();
	{
		if (active)
			before_statement(pstmt->utilityStmt, context);
		/* COPY FROM into a tenant table runs as INSERT does (copy.c); not on Citus */
		if (active && IsA(pstmt->utilityStmt, CopyStmt))
			ti_citus_check_copy((CopyStmt *) pstmt->utilityStmt);
		if (!(active && IsA(pstmt->utilityStmt, CopyStmt) &&
			  ti_copy_intercept(pstmt, queryString, params, queryEnv, qc)))
			call_next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc, active);
		if (active)
			after_statement();
	}
	PG_FINALLY();
	{
		frame = outer;
		if (mine != NULL)
			MemoryContextDelete(mine->cxt);
	}
	PG_END_TRY();
}

void
ti_guard_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ti_ProcessUtility;
}
