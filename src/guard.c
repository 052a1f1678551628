/*-------------------------------------------------------------------------
 * src/guard.c
 *		The DDL guard: a ProcessUtility hook that keeps tenant tables tenant
 *		tables after they were set up.
 *
 * Before a utility statement runs, the guard notes which existing tenant
 * tables it may touch (ALTER TABLE, DROP INDEX / POLICY / TRIGGER / RULE,
 * RENAME, ALTER POLICY, and every tenant table for a DROP ... CASCADE of
 * anything else).  After it ran, each noted table must still pass every
 * invariant (verify.c); otherwise the statement fails and is rolled back.
 * Post-checking the resulting catalog state, rather than parsing every
 * subcommand, covers multi-subcommand ALTER TABLE and cascades alike.
 *
 * It also refuses, before they run: TRUNCATE of a tenant table by a role
 * that row level security applies to, CREATE RULE on a tenant table,
 * DROP INDEX of the last index leading with organization_id (also in
 * CONCURRENTLY form, which cannot be rolled back afterwards), and DROP
 * EXTENSION tenant_iso while tenant tables exist.
 *
 * A superuser's SET tenant_iso.unsafe_ddl = on turns refusals into WARNINGs.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/index.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static bool ti_relid_is_guarded(Oid relid);
static void refuse_or_warn(int sqlstate, const char *msg, const char *detail, const char *hint);

/*
 * Is relid a table the guard protects?  A table that carries any of the
 * generated artifacts (the tenant_isolation policy, the registry foreign key,
 * the stamping trigger) - whatever the state of its row level security, so
 * that one deliberate unsafe_ddl step cannot switch the guard off for the
 * steps that follow.
 */
static bool
ti_relid_is_guarded(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	Oid			save_userid;
	int			save_sec,
				save_nest;
	bool		result;

	if (!OidIsValid(relid))
		return false;
	if (ti_relid_is_tenant_table(relid))
		return true;
	values[0] = ObjectIdGetDatum(relid);
	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid OPERATOR(pg_catalog.=) $1 "
							  " AND polname OPERATOR(pg_catalog.=) 'tenant_isolation' "
							  "UNION ALL SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid OPERATOR(pg_catalog.=) $1 "
							  " AND conname OPERATOR(pg_catalog.=) 'tenant_iso_organization_fk' "
							  "UNION ALL SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid OPERATOR(pg_catalog.=) $1 "
							  " AND tgname OPERATOR(pg_catalog.=) 'tenant_iso_stamp'",
							  1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up tenant table artifacts");
	result = SPI_processed > 0;
	SPI_finish();
	ti_end_internal(save_userid, save_sec, save_nest);
	return result;
}

/* Add relid to *list when it is currently a (possibly damaged) tenant table. */
static void
note_table(List **list, Oid relid)
{
	if (OidIsValid(relid) && ti_relid_is_guarded(relid))
		*list = list_append_unique_oid(*list, relid);
}

static Oid
relid_of_rangevar(RangeVar *rv)
{
	return RangeVarGetRelid(rv, NoLock, true);
}

/* For DROP POLICY/TRIGGER/RULE: the name list is table name + object name. */
static Oid
relid_of_object_names(List *names)
{
	List	   *relname;

	if (list_length(names) < 2)
		return InvalidOid;
	relname = list_copy_head(names, list_length(names) - 1);
	return relid_of_rangevar(makeRangeVarFromNameList(relname));
}

/* All current tenant tables, for commands whose cascade reach we do not compute. */
static List *
all_tenant_tables(void)
{
	List	   *result = NIL;
	Oid			save_userid;
	int			save_sec,
				save_nest;
	uint64		i;
	MemoryContext outer = CurrentMemoryContext;

	if (!OidIsValid(ti_extension_owner()))
		return NIL;
	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT p.polrelid FROM pg_catalog.pg_policy p "
					" WHERE p.polname OPERATOR(pg_catalog.=) 'tenant_isolation' "
					"UNION SELECT k.conrelid FROM pg_catalog.pg_constraint k "
					" WHERE k.conname OPERATOR(pg_catalog.=) 'tenant_iso_organization_fk' "
					"EXCEPT SELECT c.oid FROM pg_catalog.pg_class c "
					" WHERE c.relnamespace OPERATOR(pg_catalog.=) 'tenant_iso'::pg_catalog.regnamespace",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list tenant tables");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext old = MemoryContextSwitchTo(outer);

		result = lappend_oid(result, relid);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	ti_end_internal(save_userid, save_sec, save_nest);
	return result;
}

static void
refuse_or_warn(int sqlstate, const char *msg, const char *detail, const char *hint)
{
	if (ti_unsafe_ddl() && superuser())
		ereport(WARNING,
				(errmsg("tenant_iso.unsafe_ddl is on: %s", msg),
				 errdetail("%s", detail)));
	else
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s", msg),
				 errdetail("%s", detail),
				 errhint("%s", hint)));
}

/* Would dropping these indexes leave a tenant table without an organization_id-leading index? */
static void
check_drop_indexes(DropStmt *stmt, List **recheck)
{
	ListCell   *lc;
	List	   *dropped = NIL;

	foreach(lc, stmt->objects)
	{
		Oid			indexoid = relid_of_rangevar(makeRangeVarFromNameList((List *) lfirst(lc)));

		if (OidIsValid(indexoid) && get_rel_relkind(indexoid) != RELKIND_RELATION)
			dropped = lappend_oid(dropped, indexoid);
	}
	foreach(lc, dropped)
	{
		Oid			heapoid = IndexGetRelation(lfirst_oid(lc), true);
		List	   *indexes;
		ListCell   *lc2;
		bool		other_leading = false;
		bool		this_leading = false;
		Relation	rel;

		if (!OidIsValid(heapoid) || !ti_relid_is_guarded(heapoid))
			continue;
		note_table(recheck, heapoid);
		rel = RelationIdGetRelation(heapoid);
		indexes = RelationGetIndexList(rel);
		foreach(lc2, indexes)
		{
			Oid			idx = lfirst_oid(lc2);
			HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
			Form_pg_index form;
			bool		leading;

			if (!HeapTupleIsValid(tup))
				continue;
			form = (Form_pg_index) GETSTRUCT(tup);
			leading = form->indnatts > 0 &&
				form->indkey.values[0] == get_attnum(heapoid, TI_COLUMN) &&
				heap_attisnull(tup, Anum_pg_index_indpred, NULL);
			ReleaseSysCache(tup);
			if (!leading)
				continue;
			if (list_member_oid(dropped, idx))
				this_leading = true;
			else
				other_leading = true;
		}
		RelationClose(rel);
		if (this_leading && !other_leading)
			refuse_or_warn(ERRCODE_INVALID_TABLE_DEFINITION,
						   psprintf("cannot drop the last index of tenant table %s that leads with \"organization_id\"",
									ti_qualified_name(heapoid)),
						   "Tenant-scoped scans and the tenant boundary's cost depend on it.",
						   "Create another index that leads with organization_id first.");
	}
}

static void
refuse_truncate(TruncateStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->relations)
	{
		Oid			relid = relid_of_rangevar((RangeVar *) lfirst(lc));

		if (OidIsValid(relid) && ti_relid_is_tenant_table(relid) &&
			ti_rls_applies(relid, InvalidOid))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("cannot truncate tenant table %s", ti_qualified_name(relid)),
					 errdetail("TRUNCATE ignores row level security and would empty the table for every organization."),
					 errhint("Use DELETE FROM %s to remove the current tenant's rows.", ti_qualified_name(relid))));
	}
}

/*
 * DROP EXTENSION under unsafe_ddl: drop the permissive tenant_access policy
 * of every tenant table, so that when the restrictive tenant_isolation policy
 * goes with the extension, row level security (still enabled and forced)
 * shows no rows at all instead of every tenant's rows.
 */
static void
close_tenant_tables(List *tables)
{
	ListCell   *lc;
	Oid			save_userid;
	int			save_sec,
				save_nest;
	bool		save_internal = ti_in_internal_ddl;

	ereport(WARNING,
			(errmsg("tenant_iso.unsafe_ddl is on: closing %d tenant tables before dropping extension tenant_iso",
					list_length(tables)),
			 errdetail("Their row level security stays forced with no policy, so no rows are visible until new policies are created.")));
	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	ti_in_internal_ddl = true;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, tables)
	{
		char	   *sql = psprintf("DROP POLICY IF EXISTS " TI_ACCESS_POLICY " ON %s",
								   ti_qualified_name(lfirst_oid(lc)));

		if (SPI_execute(sql, false, 0) < 0)
			elog(ERROR, "could not drop policy tenant_access");
	}
	SPI_finish();
	ti_in_internal_ddl = save_internal;
	ti_end_internal(save_userid, save_sec, save_nest);
}

static void
refuse_drop_extension(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		Node	   *obj = (Node *) lfirst(lc);

		if (IsA(obj, String) && strcmp(strVal(obj), "tenant_iso") == 0)
		{
			List	   *tables = all_tenant_tables();

			if (tables == NIL)
				continue;
			if (!(ti_unsafe_ddl() && superuser()))
				ereport(ERROR,
						(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
						 errmsg("cannot drop extension tenant_iso while %d tenant tables exist",
								list_length(tables)),
						 errdetail("Dropping it would remove the tenant boundary of table %s and the others.",
								   ti_qualified_name(linitial_oid(tables))),
						 errhint("Drop the tenant tables first, or as a superuser SET tenant_iso.unsafe_ddl = on: the tables are then closed (no rows visible to roles that row level security applies to) before the extension goes.")));
			close_tenant_tables(tables);
		}
	}
}

/* The current index list of a table (to spot the indexes a statement adds). */
static List *
index_list_of(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	List	   *result;

	if (!RelationIsValid(rel))
		return NIL;
	result = RelationGetIndexList(rel);
	RelationClose(rel);
	return result;
}

/*
 * ALTER TABLE parent ATTACH PARTITION child / ALTER TABLE child INHERIT
 * parent: when the parent is a tenant table, the child must become one (it
 * is set up after the statement) or the statement is refused.
 */
static void
note_new_children(AlterTableStmt *stmt, Oid relid, List **children)
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
		if (!OidIsValid(parent) || !OidIsValid(child))
			continue;
		if (ti_relid_is_tenant_table(parent))
			*children = list_append_unique_oid(*children, child);
		else if (ti_relid_is_guarded(child))
			refuse_or_warn(ERRCODE_INVALID_TABLE_DEFINITION,
						   psprintf("tenant table %s cannot become a partition or child of %s, which is not a tenant table",
									ti_qualified_name(child), ti_qualified_name(parent)),
						   "Rows read through a parent are filtered by the parent's policies only, so every tenant's rows would be visible through it.",
						   "Make the parent a tenant table too, or keep the tables apart.");
	}
}

static void
enroll_children(List *children)
{
	ListCell   *lc;

	foreach(lc, children)
	{
		Oid			child = lfirst_oid(lc);

		if (ti_relid_is_tenant_table(child))
			continue;
		if (ti_unsafe_ddl() && superuser())
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
		ti_enroll_table(child, NULL, true);
	}
}

/*
 * A table exemption is recorded by name (so that it can precede the table and
 * survive pg_dump); when an exempt table is renamed or moved, the record
 * follows it.
 */
static void
follow_exemption(Oid relid, const char *old_nsp, const char *old_rel)
{
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	Oid			save_userid;
	int			save_sec,
				save_nest;
	char	   *new_rel = get_rel_name(relid);

	if (new_rel == NULL)
		return;
	values[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(relid)));
	values[1] = CStringGetTextDatum(new_rel);
	values[2] = CStringGetTextDatum(old_nsp);
	values[3] = CStringGetTextDatum(old_rel);
	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("UPDATE tenant_iso.exemptions SET schema_name = $1, table_name = $2 "
							  "WHERE schema_name OPERATOR(pg_catalog.=) $3 AND table_name OPERATOR(pg_catalog.=) $4",
							  4, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update tenant_iso.exemptions");
	SPI_finish();
	ti_end_internal(save_userid, save_sec, save_nest);
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

/* The next ProcessUtility in the chain; EXPLAIN ANALYZE is flagged for executor.c. */
static void
call_next_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params,
				  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc,
				  bool explain_analyze)
{
	if (explain_analyze)
		ti_explain_analyze_depth++;
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
		if (explain_analyze)
			ti_explain_analyze_depth--;
	}
	PG_END_TRY();
}

static void
ti_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params,
				  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	List	   *recheck = NIL;
	List	   *recheck_before = NIL;	/* violations of each, before */
	List	   *index_table = NIL;	/* table whose new indexes get checked */
	List	   *index_before = NIL;
	List	   *children = NIL;
	Oid			altered_view = InvalidOid;
	bool		explain_analyze = false;
	Oid			moved_rel = InvalidOid;
	char	   *moved_nsp = NULL;
	char	   *moved_name = NULL;
	bool		active = IsTransactionState() && !ti_in_internal_ddl && !creating_extension &&
		OidIsValid(ti_extension_owner());

	if (active)
	{
		switch (nodeTag(parsetree))
		{
			case T_VariableSetStmt:
				{
					VariableSetStmt *stmt = (VariableSetStmt *) parsetree;

					if (stmt->kind == VAR_SET_VALUE && !stmt->is_local &&
						stmt->name != NULL && strcmp(stmt->name, "tenant.org_id") == 0 &&
						ti_context_scope() == TI_SCOPE_TRANSACTION)
						ereport(ERROR,
								(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
								 errmsg("session-level SET of \"tenant.org_id\" is not allowed"),
								 errdetail("tenant_iso.context_scope is \"transaction\": a tenant context must not outlive its transaction."),
								 errhint("Use SET LOCAL tenant.org_id = ... or set_config('tenant.org_id', ..., true) inside the transaction.")));
					break;
				}
			case T_TruncateStmt:
				refuse_truncate((TruncateStmt *) parsetree);
				break;
			case T_AlterTableStmt:
				{
					AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
					Oid			relid = relid_of_rangevar(stmt->relation);
					char		relkind = OidIsValid(relid) ? get_rel_relkind(relid) : '\0';

					if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
						relid = IndexGetRelation(relid, true);
					if (relkind == RELKIND_VIEW)
						altered_view = relid;
					note_table(&recheck, relid);
					if (list_member_oid(recheck, relid))
					{
						index_table = list_make1_oid(relid);
						index_before = index_list_of(relid);
					}
					note_new_children(stmt, relid, &children);
					break;
				}
			case T_IndexStmt:
				{
					IndexStmt  *stmt = (IndexStmt *) parsetree;
					Oid			relid = relid_of_rangevar(stmt->relation);

					note_table(&recheck, relid);
					if (list_member_oid(recheck, relid))
					{
						index_table = list_make1_oid(relid);
						index_before = index_list_of(relid);
					}
					break;
				}
			case T_ExplainStmt:
				explain_analyze = explain_has_analyze((ExplainStmt *) parsetree);
				break;
			case T_DropStmt:
				{
					DropStmt   *stmt = (DropStmt *) parsetree;
					ListCell   *lc;

					switch (stmt->removeType)
					{
						case OBJECT_INDEX:
							check_drop_indexes(stmt, &recheck);
							break;
						case OBJECT_POLICY:
						case OBJECT_TRIGGER:
						case OBJECT_RULE:
							foreach(lc, stmt->objects)
								note_table(&recheck, relid_of_object_names((List *) lfirst(lc)));
							break;
						case OBJECT_EXTENSION:
							refuse_drop_extension(stmt);
							break;
						case OBJECT_TABLE:
						case OBJECT_VIEW:
						case OBJECT_MATVIEW:
						case OBJECT_SEQUENCE:
							break;
						default:
							if (stmt->behavior == DROP_CASCADE)
								recheck = all_tenant_tables();
							break;
					}
					break;
				}
			case T_RenameStmt:
				{
					RenameStmt *stmt = (RenameStmt *) parsetree;

					if (stmt->relation != NULL && stmt->renameType == OBJECT_TABLE)
					{
						moved_rel = relid_of_rangevar(stmt->relation);
						if (OidIsValid(moved_rel))
						{
							moved_nsp = get_namespace_name(get_rel_namespace(moved_rel));
							moved_name = get_rel_name(moved_rel);
						}
					}
					if (stmt->relation != NULL &&
						(stmt->renameType == OBJECT_COLUMN ||
						 stmt->renameType == OBJECT_POLICY ||
						 stmt->renameType == OBJECT_TRIGGER ||
						 stmt->renameType == OBJECT_TABCONSTRAINT))
						note_table(&recheck, relid_of_rangevar(stmt->relation));
					break;
				}
			case T_AlterObjectSchemaStmt:
				{
					AlterObjectSchemaStmt *stmt = (AlterObjectSchemaStmt *) parsetree;

					if (stmt->objectType == OBJECT_TABLE && stmt->relation != NULL)
					{
						moved_rel = relid_of_rangevar(stmt->relation);
						if (OidIsValid(moved_rel))
						{
							moved_nsp = get_namespace_name(get_rel_namespace(moved_rel));
							moved_name = get_rel_name(moved_rel);
						}
					}
					break;
				}
			case T_AlterPolicyStmt:
				note_table(&recheck, relid_of_rangevar(((AlterPolicyStmt *) parsetree)->table));
				break;
			case T_RuleStmt:
				{
					RuleStmt   *stmt = (RuleStmt *) parsetree;
					Oid			relid = relid_of_rangevar(stmt->relation);

					if (OidIsValid(relid) && ti_relid_is_guarded(relid))
						refuse_or_warn(ERRCODE_FEATURE_NOT_SUPPORTED,
									   psprintf("cannot create rule \"%s\" on tenant table %s",
												stmt->rulename, ti_qualified_name(relid)),
									   "A rule runs with its owner's rights and could read or write other tenants' rows.",
									   "Use a trigger or a view instead.");
					break;
				}
			default:
				break;
		}
	}

	if (recheck != NIL)
	{
		ListCell   *lc;

		foreach(lc, recheck)
			recheck_before = lappend(recheck_before, ti_table_violation_names(lfirst_oid(lc)));
	}

	call_next_utility(pstmt, queryString, readOnlyTree, context, params,
					  queryEnv, dest, qc, explain_analyze);

	if (OidIsValid(moved_rel) && moved_name != NULL && IsTransactionState())
		follow_exemption(moved_rel, moved_nsp, moved_name);
	if (children != NIL && IsTransactionState())
		enroll_children(children);
	if (OidIsValid(altered_view) && IsTransactionState() && !ti_unsafe_ddl() &&
		get_rel_relkind(altered_view) == RELKIND_VIEW)
		ti_check_view(altered_view, false);

	if (recheck != NIL && IsTransactionState())
	{
		ListCell   *lc1,
				   *lc2;

		forboth(lc1, recheck, lc2, recheck_before)
		{
			Oid			relid = lfirst_oid(lc1);

			if (get_rel_name(relid) == NULL)
				continue;		/* dropped by the statement */
			ti_verify_table_since(relid, (List *) lfirst(lc2));
		}
	}
	if (index_table != NIL && IsTransactionState() && get_rel_name(linitial_oid(index_table)) != NULL)
		ti_check_new_indexes(linitial_oid(index_table), index_before);
}

void
ti_guard_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ti_ProcessUtility;
}
