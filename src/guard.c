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
#include "access/xact.h"
#include "catalog/heap.h"
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
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
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
	if (!OidIsValid(relid))
		return false;
	if (ti_relid_is_tenant_table(relid))
		return true;
	return ti_internal_exists("SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid OPERATOR(pg_catalog.=) $1 "
							  " AND polname OPERATOR(pg_catalog.=) 'tenant_isolation' "
							  "UNION ALL SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid OPERATOR(pg_catalog.=) $1 "
							  " AND conname OPERATOR(pg_catalog.=) 'tenant_iso_organization_fk' "
							  "UNION ALL SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid OPERATOR(pg_catalog.=) $1 "
							  " AND tgname OPERATOR(pg_catalog.=) 'tenant_iso_stamp'",
							  relid);
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
	if (!OidIsValid(ti_extension_owner()))
		return NIL;
	return ti_internal_oids("SELECT p.polrelid FROM pg_catalog.pg_policy p "
							" WHERE p.polname OPERATOR(pg_catalog.=) 'tenant_isolation' "
							"UNION SELECT k.conrelid FROM pg_catalog.pg_constraint k "
							" WHERE k.conname OPERATOR(pg_catalog.=) 'tenant_iso_organization_fk' "
							"EXCEPT SELECT c.oid FROM pg_catalog.pg_class c "
							" WHERE c.relnamespace OPERATOR(pg_catalog.=) 'tenant_iso'::pg_catalog.regnamespace",
							InvalidOid);
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
			leading = form->indnatts > 0 && form->indisvalid &&
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
		/*
		 * CONCURRENTLY commits in steps and cannot be rolled back, and a
		 * concurrent DROP of the other leading index can pass this check at
		 * the same time: refuse it for leading indexes altogether.
		 */
		if (this_leading && stmt->concurrent)
			refuse_or_warn(ERRCODE_INVALID_TABLE_DEFINITION,
						   psprintf("cannot drop an index of tenant table %s that leads with \"organization_id\" concurrently",
									ti_qualified_name(heapoid)),
						   "DROP INDEX CONCURRENTLY cannot be rolled back, so the guard could not undo it if it removed the last tenant index.",
						   "Use DROP INDEX without CONCURRENTLY.");
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

	List	   *relids = NIL;

	foreach(lc, stmt->relations)
	{
		Oid			relid = relid_of_rangevar((RangeVar *) lfirst(lc));

		if (OidIsValid(relid))
			relids = lappend_oid(relids, relid);
	}
	/* TRUNCATE ... CASCADE also empties every table that references these */
	if (stmt->behavior == DROP_CASCADE)
	{
		List	   *more = relids;

		while (more != NIL)
		{
			ListCell   *lc2;
			List	   *next = NIL;

			foreach(lc2, heap_truncate_find_FKs(more))
			{
				if (!list_member_oid(relids, lfirst_oid(lc2)))
				{
					relids = lappend_oid(relids, lfirst_oid(lc2));
					next = lappend_oid(next, lfirst_oid(lc2));
				}
			}
			more = next;
		}
	}
	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		if (ti_relid_is_tenant_table(relid) && ti_tenant_scoping_applies(InvalidOid))
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
	PG_TRY();
	{
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
	}
	PG_FINALLY();
	{
		ti_in_internal_ddl = save_internal;
	}
	PG_END_TRY();
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
	char	   *new_rel = get_rel_name(relid);

	if (new_rel == NULL)
		return;
	values[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(relid)));
	values[1] = CStringGetTextDatum(new_rel);
	values[2] = CStringGetTextDatum(old_nsp);
	values[3] = CStringGetTextDatum(old_rel);
	(void) ti_internal_query("UPDATE tenant_iso.exemptions SET schema_name = $1, table_name = $2 "
							 "WHERE schema_name OPERATOR(pg_catalog.=) $3 AND table_name OPERATOR(pg_catalog.=) $4",
							 4, argtypes, values, 0, 0);
}

/*
 * Would a unique (or exclusion) key on these columns of a tenant table lack
 * organization_id?  Checked before the index is built, so that a
 * duplicate-key failure of the build cannot tell anything about other
 * tenants' rows.  A key on one uuid column is fine.
 */
static void
precheck_unique_key(Oid relid, List *colnames, bool exclusion)
{
	ListCell   *lc;

	foreach(lc, colnames)
		if (lfirst(lc) != NULL && strcmp((char *) lfirst(lc), TI_COLUMN) == 0)
			return;
	if (!exclusion && list_length(colnames) == 1 && linitial(colnames) != NULL)
	{
		AttrNumber	att = get_attnum(relid, (char *) linitial(colnames));

		if (att != InvalidAttrNumber && getBaseType(get_atttype(relid, att)) == UUIDOID)
			return;
	}
	{
		StringInfoData cols;

		initStringInfo(&cols);
		foreach(lc, colnames)
			appendStringInfo(&cols, ", %s",
							 lfirst(lc) ? quote_identifier((char *) lfirst(lc)) : "(expression)");
		refuse_or_warn(ERRCODE_INVALID_TABLE_DEFINITION,
					   psprintf("statement would break tenant isolation of table %s", ti_qualified_name(relid)),
					   "A unique or exclusion key without \"organization_id\" would tell one tenant, through its conflict errors, that a value exists at another.",
					   psprintf("Include organization_id in the key, e.g. UNIQUE (organization_id%s).", cols.data));
	}
}

static List *
index_elem_names(List *params)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, params)
	{
		IndexElem  *elem = (IndexElem *) lfirst(lc);

		names = lappend(names, elem->name);	/* NULL for an expression */
	}
	return names;
}

static List *
constraint_key_names(Constraint *con)
{
	List	   *names = NIL;
	ListCell   *lc;

	if (con->contype == CONSTR_EXCLUSION)
	{
		foreach(lc, con->exclusions)
		{
			List	   *pair = (List *) lfirst(lc);

			names = lappend(names, ((IndexElem *) linitial(pair))->name);
		}
		return names;
	}
	foreach(lc, con->keys)
		names = lappend(names, strVal(lfirst(lc)));
	return names;
}

/* Pre-checks of ALTER TABLE subcommands on a tenant table. */
static void
precheck_alter_tenant_table(AlterTableStmt *stmt, Oid relid, bool *validates_fk)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_ValidateConstraint)
			*validates_fk = true;
		if (cmd->subtype == AT_AddConstraint && cmd->def != NULL && IsA(cmd->def, Constraint))
		{
			Constraint *con = (Constraint *) cmd->def;

			if ((con->contype == CONSTR_UNIQUE || con->contype == CONSTR_PRIMARY ||
				 con->contype == CONSTR_EXCLUSION) && con->indexname == NULL)
				precheck_unique_key(relid, constraint_key_names(con),
									con->contype == CONSTR_EXCLUSION);
			if (con->contype == CONSTR_FOREIGN && !con->skip_validation)
				*validates_fk = true;
		}
	}
}

/*
 * PostgreSQL validates a new (or newly VALIDATEd) foreign key with one query
 * when the role owns the tables, and with forced row level security that
 * query sees only the current tenant's rows: a key that other tenants' rows
 * violate would be marked valid.  After such a statement, check every
 * validated foreign key of the table over all rows, as the extension's
 * owner, and refuse the statement if one does not hold.
 */
static void
revalidate_foreign_keys(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	Oid			save_userid;
	int			save_sec,
				save_nest;
	uint64		i;
	List	   *checks = NIL;
	List	   *names = NIL;
	ListCell   *lc1,
			   *lc2;
	MemoryContext outer = CurrentMemoryContext;

	ti_begin_internal(&save_userid, &save_sec, &save_nest);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* one "does a violating row exist" query per validated foreign key */
	if (SPI_execute_with_args("SELECT k.conname::text, pg_catalog.format("
							  "'SELECT 1 FROM %s %s f WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s) LIMIT 1', "
							  " CASE WHEN (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) k.conrelid) "
							  "   OPERATOR(pg_catalog.=) 'p' THEN '' ELSE 'ONLY' END, "
							  " k.conrelid::pg_catalog.regclass, "
							  " pg_catalog.string_agg(pg_catalog.format('f.%I IS NOT NULL', fa.attname), ' AND ' ORDER BY s.i), "
							  " k.confrelid::pg_catalog.regclass, "
							  " pg_catalog.string_agg(pg_catalog.format('p.%I OPERATOR(pg_catalog.=) f.%I', pa.attname, fa.attname), ' AND ' ORDER BY s.i)) "
							  "FROM pg_catalog.pg_constraint k "
							  "CROSS JOIN LATERAL pg_catalog.generate_subscripts(k.conkey, 1) s(i) "
							  "JOIN pg_catalog.pg_attribute fa ON fa.attrelid OPERATOR(pg_catalog.=) k.conrelid AND fa.attnum OPERATOR(pg_catalog.=) k.conkey[s.i] "
							  "JOIN pg_catalog.pg_attribute pa ON pa.attrelid OPERATOR(pg_catalog.=) k.confrelid AND pa.attnum OPERATOR(pg_catalog.=) k.confkey[s.i] "
							  "WHERE k.conrelid OPERATOR(pg_catalog.=) $1 AND k.contype OPERATOR(pg_catalog.=) 'f' AND k.convalidated "
							  "AND k.confrelid OPERATOR(pg_catalog.<>) 'tenant_iso.organizations'::pg_catalog.regclass "
							  "GROUP BY k.oid, k.conname, k.conrelid, k.confrelid",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list foreign keys");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *sql = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		MemoryContext old = MemoryContextSwitchTo(outer);

		names = lappend(names, pstrdup(name));
		checks = lappend(checks, pstrdup(sql));
		MemoryContextSwitchTo(old);
	}
	forboth(lc1, names, lc2, checks)
	{
		if (SPI_execute((char *) lfirst(lc2), true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not check foreign key");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("foreign key constraint \"%s\" of tenant table %s is violated",
							(char *) lfirst(lc1), ti_qualified_name(relid)),
					 errdetail("Rows of the table, possibly of other tenants, reference missing rows; PostgreSQL's own check saw only the current tenant's rows."),
					 errhint("Fix the data as a role that sees every tenant, or add the key NOT VALID.")));
	}
	SPI_finish();
	ti_end_internal(save_userid, save_sec, save_nest);
}

/*
 * A foreign key from a table that is not a tenant table (an exempt, global
 * table) into a tenant table is an existence oracle for every tenant's rows:
 * refuse it.
 */
void
ti_refuse_fk_into_tenant_tables(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *targets;

	if (get_rel_name(relid) == NULL || ti_relid_is_guarded(relid))
		return;
	targets = ti_internal_query("SELECT k.confrelid::pg_catalog.regclass::text FROM pg_catalog.pg_constraint k "
								"JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) k.confrelid "
								" AND p.polname OPERATOR(pg_catalog.=) 'tenant_isolation' "
								"WHERE k.conrelid OPERATOR(pg_catalog.=) $1 AND k.contype OPERATOR(pg_catalog.=) 'f' "
								"AND k.confrelid OPERATOR(pg_catalog.<>) 'tenant_iso.organizations'::pg_catalog.regclass",
								1, argtypes, values, 1, 1);
	if (targets != NIL)
		refuse_or_warn(ERRCODE_INVALID_TABLE_DEFINITION,
					   psprintf("table %s, which is not a tenant table, cannot reference tenant table %s",
								ti_qualified_name(relid), ((char **) linitial(targets))[0]),
					   "Foreign-key checks do not see row level security: inserts into it would tell any tenant which rows other tenants have.",
					   "Make the referencing table a tenant table with a composite key (organization_id, ...), or drop the reference.");
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
				  bool explain_analyze, bool matview)
{
	if (explain_analyze)
		ti_explain_analyze_depth++;
	if (matview)
		ti_matview_depth++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		if (explain_analyze)
			ti_explain_analyze_depth--;
		if (matview)
			ti_matview_depth--;
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (explain_analyze)
		ti_explain_analyze_depth--;
	if (matview)
		ti_matview_depth--;
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
	bool		validates_fk = false;
	Oid			fk_source = InvalidOid;
	char	   *moved_nsp = NULL;
	char	   *moved_name = NULL;
	bool		active = IsTransactionState() && !ti_in_internal_ddl && !creating_extension &&
		OidIsValid(ti_extension_owner());

	if (active)
	{
		switch (nodeTag(parsetree))
		{
			case T_VariableSetStmt:
				ti_context_check_set_stmt((VariableSetStmt *) parsetree);
				break;
			case T_FetchStmt:
				/* a held cursor serves stored rows without an executor: check here */
				ti_context_check_unchanged(NULL);
				break;
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
						precheck_alter_tenant_table(stmt, relid, &validates_fk);
					}
					else if (OidIsValid(relid) && relkind != RELKIND_VIEW &&
							 context != PROCESS_UTILITY_SUBCOMMAND)
						fk_source = relid;	/* CREATE TABLE's own keys: see ddl.c */
					note_new_children(stmt, relid, &children);
					break;
				}
			case T_IndexStmt:
				{
					IndexStmt  *stmt = (IndexStmt *) parsetree;
					Oid			relid = relid_of_rangevar(stmt->relation);

					note_table(&recheck, relid);
					if (list_member_oid(recheck, relid) && (stmt->unique || stmt->excludeOpNames != NIL))
						precheck_unique_key(relid, index_elem_names(stmt->indexParams),
											stmt->excludeOpNames != NIL);
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
						case OBJECT_SCHEMA:
							foreach(lc, stmt->objects)
							{
								Node	   *obj = (Node *) lfirst(lc);

								/* dropping our schema drops the extension */
								if (IsA(obj, String) && strcmp(strVal(obj), TI_SCHEMA) == 0)
								{
									DropStmt	fake = *stmt;

									fake.objects = list_make1(makeString(TI_SCHEMA));
									refuse_drop_extension(&fake);
								}
							}
							if (stmt->behavior == DROP_CASCADE)
								recheck = all_tenant_tables();
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
					  queryEnv, dest, qc, explain_analyze,
					  active && !ti_unsafe_ddl() &&
					  (IsA(parsetree, RefreshMatViewStmt) ||
					   (IsA(parsetree, CreateTableAsStmt) &&
						((CreateTableAsStmt *) parsetree)->objtype == OBJECT_MATVIEW)));

	if (OidIsValid(moved_rel) && moved_name != NULL && IsTransactionState())
		follow_exemption(moved_rel, moved_nsp, moved_name);
	if (children != NIL && IsTransactionState())
		enroll_children(children);
	if (OidIsValid(altered_view) && IsTransactionState() && !ti_unsafe_ddl() &&
		get_rel_relkind(altered_view) == RELKIND_VIEW)
		ti_check_view(altered_view, false);

	if (recheck != NIL && IsTransactionState() && OidIsValid(ti_extension_owner()))
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
	{
		Oid			relid = linitial_oid(index_table);

		ti_check_new_indexes(relid, index_before);
		if (validates_fk && ti_tenant_scoping_applies(InvalidOid))
			revalidate_foreign_keys(relid);
	}
	if (OidIsValid(fk_source) && IsTransactionState())
		ti_refuse_fk_into_tenant_tables(fk_source);
}

static bool unsafe_ddl = false;

/* The escape hatch only ever opens for a superuser (not after SET ROLE to another role). */
bool
ti_unsafe_ddl(void)
{
	return unsafe_ddl && superuser();
}

static void
guard_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT)
		ti_in_internal_ddl = false;
}

void
ti_guard_init(void)
{
	DefineCustomBoolVariable("tenant_iso.unsafe_ddl",
							 "Lets a superuser make schema changes that break tenant isolation.",
							 "A deliberate escape hatch for one session; every use is reported with a WARNING.",
							 &unsafe_ddl, false, PGC_SUSET, 0, NULL, NULL, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ti_ProcessUtility;
	RegisterXactCallback(guard_xact_callback, NULL);
}
