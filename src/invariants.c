/*-------------------------------------------------------------------------
 * src/invariants.c
 *		The invariants of a tenant table: the one list of checks, with their
 *		names, details, hints and repairs.
 *
 * The schema check (set-up), tenant_iso.enroll(), the DDL guard and
 * tenant_iso.audit() / verify() all ask this file, so they cannot disagree:
 *	- the set-up runs the repair of every invariant that fails, then
 *	  requires them all;
 *	- the guard compares the violations before and after a statement and
 *	  refuses new ones;
 *	- the audit reports every check of every table, passed or not, through
 *	  the set-returning function tenant_iso._table_checks(oid[]).
 *
 * The facts of a table are read once, straight from the catalogs (no
 * relcache entry is built, so an audit of thousands of tables stays fast).
 * A check says what is wrong in two tenses: as it is (the audit) and as a
 * statement would make it (the guard's error).
 *
 * Invariants (of this file):
 *	- A check is a pure function of the facts; only repairs change anything,
 *	  and they run as the extension's owner (internal.c).
 *	- The generated policy is recognised by equal() to ti_tenant_qual()
 *	  (tenant_table.c), never by the shape of its expression.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/acl.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/heap.h"
#include "catalog/indexing.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "compat.h"
#include "tenant_iso.h"

/* uuid = uuid */
#define TI_OID_UUID_EQ_OP		2972
/* ROW | BEFORE | INSERT | UPDATE */
#define TI_STAMP_TGTYPE			(TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE)

/* What one table's checks need, read once. */
typedef struct TableFacts
{
	Oid			relid;
	bool		exists;
	bool		rls_enabled;
	bool		rls_forced;
	AttrNumber	orgatt;			/* 0 when there is no organization_id column */
	Oid			orgtype;
	int32		orgtypmod;
	bool		org_is_uuid;
	bool		org_notnull;
	bool		has_policy;
	bool		policy_ok;
	bool		has_index;		/* valid, no predicate, leads with organization_id */
	bool		has_trigger;
	bool		trigger_named;	/* a trigger named tenant_iso_stamp (maybe wrong) */
	StringInfoData bad_keys;	/* "idx on (cols)" of unique keys without organization_id */
	char	   *first_bad_key;	/* the first one, and its columns, for the guard */
	char	   *first_bad_key_cols;
	StringInfoData bad_exclusions;	/* exclusion keys not comparing organization_id with = */
	List	   *bad_fks;		/* "fk (to table)" of keys to tenant tables without it */
	char	   *first_bad_fk;
	char	   *first_bad_fk_target;
	StringInfoData bad_leading;	/* indexes not leading with organization_id (warning) */
	StringInfoData stats_cols;	/* expression index columns with statistics collected */
	StringInfoData bad_predicates;	/* partial indexes whose predicate compares values */
	List	   *stats_indexes;	/* those columns' indexes (OIDs) ... */
	List	   *stats_columns;	/* ... and column numbers */
	List	   *exclusion_indexes;	/* OIDs of indexes of exclusion constraints with bad ops */
} TableFacts;

static void
append_item(StringInfo list, const char *item)
{
	if (list->len > 0)
		appendStringInfoString(list, ", ");
	appendStringInfoString(list, item);
}

static void
gather_class_and_column(TableFacts *f)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(f->relid));
	Form_pg_attribute att;

	if (!HeapTupleIsValid(tup))
		return;
	f->exists = true;
	f->rls_enabled = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
	f->rls_forced = ((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);

	tup = SearchSysCacheAttName(f->relid, TI_COLUMN);
	if (!HeapTupleIsValid(tup))
		return;
	att = (Form_pg_attribute) GETSTRUCT(tup);
	f->orgatt = att->attnum;
	f->orgtype = att->atttypid;
	f->orgtypmod = att->atttypmod;
	f->org_is_uuid = getBaseType(att->atttypid) == UUIDOID;
	f->org_notnull = ti_attnotnull_valid(f->relid, att->attnum, att->attnotnull);
	ReleaseSysCache(tup);
}

/* Is a stored policy expression (pg_node_tree) the generated comparison? */
static bool
policy_expr_is_generated(Oid relid, HeapTuple tup, int attnum, TupleDesc desc)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum, desc, &isnull);

	if (isnull)
		return false;
	return ti_is_tenant_qual(relid, 1, (Node *) stringToNode(TextDatumGetCString(d)));
}

static void
gather_policy(TableFacts *f)
{
	Relation	rel = table_open(PolicyRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key[0], Anum_pg_policy_polrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(f->relid));
	ScanKeyInit(&key[1], Anum_pg_policy_polname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(TI_ISOLATION_POLICY));
	scan = systable_beginscan(rel, PolicyPolrelidPolnameIndexId, true, NULL, 2, key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_policy pol = (Form_pg_policy) GETSTRUCT(tup);
		bool		isnull;
		Datum		roles = heap_getattr(tup, Anum_pg_policy_polroles, RelationGetDescr(rel), &isnull);
		ArrayType  *arr = isnull ? NULL : DatumGetArrayTypeP(roles);

		f->has_policy = true;
		f->policy_ok = !pol->polpermissive && pol->polcmd == '*' &&
			arr != NULL && ARR_DIMS(arr)[0] == 1 && ((Oid *) ARR_DATA_PTR(arr))[0] == ACL_ID_PUBLIC &&
			policy_expr_is_generated(f->relid, tup, Anum_pg_policy_polqual, RelationGetDescr(rel)) &&
			policy_expr_is_generated(f->relid, tup, Anum_pg_policy_polwithcheck, RelationGetDescr(rel));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * Expression columns of an index that collect statistics or still keep some
 * (gathered before the table became a tenant table): readable by its owner.
 */
static void
gather_index_stats(TableFacts *f, Form_pg_index index)
{
	int			i;

	for (i = 0; i < index->indnatts; i++)
	{
		HeapTuple	att;

		if (index->indkey.values[i] != 0)
			continue;
		att = SearchSysCache2(ATTNUM, ObjectIdGetDatum(index->indexrelid), Int16GetDatum(i + 1));
		if (!HeapTupleIsValid(att))
			continue;
		if (ti_att_stattarget(att) != 0 ||
			SearchSysCacheExists3(STATRELATTINH, ObjectIdGetDatum(index->indexrelid),
								  Int16GetDatum(i + 1), BoolGetDatum(false)))
		{
			append_item(&f->stats_cols, psprintf("%s (column %d)", ti_qualified_name(index->indexrelid), i + 1));
			f->stats_indexes = lappend_oid(f->stats_indexes, index->indexrelid);
			f->stats_columns = lappend_int(f->stats_columns, i + 1);
		}
		ReleaseSysCache(att);
	}
}

/* The predicate of a partial index (stored with the index's own copy of pg_index). */
static bool
predicate_is_value_free(Oid indexoid)
{
	HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	bool		isnull;
	Datum		pred;
	bool		result = true;

	if (!HeapTupleIsValid(tup))
		return true;
	pred = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indpred, &isnull);
	if (!isnull)
		result = ti_predicate_is_value_free(stringToNode(TextDatumGetCString(pred)));
	ReleaseSysCache(tup);
	return result;
}

static void
gather_one_index(TableFacts *f, HeapTuple tup)
{
	Form_pg_index index = (Form_pg_index) GETSTRUCT(tup);
	bool		leads = ti_index_leads_with_tenant(index, f->orgatt);
	bool		single_uuid = ti_index_is_single_uuid(f->relid, index);
	char	   *name = pstrdup(quote_identifier(get_rel_name(index->indexrelid)));
	int			i;
	bool		has_org = false;

	if (leads && index->indisvalid && heap_attisnull(tup, Anum_pg_index_indpred, NULL))
		f->has_index = true;
	if (index->indkey.values[0] != f->orgatt && !single_uuid)
		append_item(&f->bad_leading, name);
	if (!heap_attisnull(tup, Anum_pg_index_indexprs, NULL))
		gather_index_stats(f, index);
	if (!heap_attisnull(tup, Anum_pg_index_indpred, NULL) && !predicate_is_value_free(index->indexrelid))
		append_item(&f->bad_predicates, name);
	if (!index->indisunique && !index->indisexclusion)
		return;
	for (i = 0; i < index->indnkeyatts; i++)
		if (index->indkey.values[i] == f->orgatt)
			has_org = true;
	if (has_org || (index->indisunique && single_uuid))
		return;
	{
		char	   *cols = ti_index_key_columns(f->relid, index);

		append_item(&f->bad_keys, psprintf("%s on (%s)", name, cols));
		if (f->first_bad_key == NULL)
		{
			f->first_bad_key = name;
			f->first_bad_key_cols = cols;
		}
	}
}

static int
compare_index_names(const ListCell *a, const ListCell *b)
{
	Oid			ia = ((Form_pg_index) GETSTRUCT((HeapTuple) lfirst(a)))->indexrelid;
	Oid			ib = ((Form_pg_index) GETSTRUCT((HeapTuple) lfirst(b)))->indexrelid;

	return strcmp(get_rel_name(ia), get_rel_name(ib));
}

static void
gather_indexes(TableFacts *f)
{
	Relation	rel = table_open(IndexRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *tuples = NIL;
	ListCell   *lc;

	ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(f->relid));
	scan = systable_beginscan(rel, IndexIndrelidIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		tuples = lappend(tuples, heap_copytuple(tup));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* in name order, as the audit lists them */
	list_sort(tuples, compare_index_names);
	foreach(lc, tuples)
		gather_one_index(f, (HeapTuple) lfirst(lc));
}

/* The int2 array column of a pg_constraint tuple. */
static int16 *
int2_array(HeapTuple tup, int attnum, TupleDesc desc, int *n)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum, desc, &isnull);
	ArrayType  *arr;

	*n = 0;
	if (isnull)
		return NULL;
	arr = DatumGetArrayTypeP(d);
	*n = ARR_DIMS(arr)[0];
	return (int16 *) ARR_DATA_PTR(arr);
}

/* A foreign key to another tenant table must pair organization_id on both sides. */
static void
gather_foreign_key(TableFacts *f, HeapTuple tup, TupleDesc desc)
{
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
	int			n,
				nf,
				i;
	int16	   *conkey = int2_array(tup, Anum_pg_constraint_conkey, desc, &n);
	int16	   *confkey = int2_array(tup, Anum_pg_constraint_confkey, desc, &nf);
	AttrNumber	target_org;

	if (ti_relid_is_registry(con->confrelid))
		return;					/* registry.c guards writes; a key of the user's own is harmless */
	if (!ti_relid_is_tenant_table(con->confrelid))
		return;
	target_org = get_attnum(con->confrelid, TI_COLUMN);
	for (i = 0; i < n && i < nf; i++)
		if (conkey[i] == f->orgatt && confkey[i] == target_org)
			return;
	f->bad_fks = list_append_unique(f->bad_fks,
									makeString(psprintf("%s (to %s)", quote_identifier(NameStr(con->conname)),
														ti_qualified_name(con->confrelid))));
	if (f->first_bad_fk == NULL)
	{
		f->first_bad_fk = pstrdup(quote_identifier(NameStr(con->conname)));
		f->first_bad_fk_target = ti_qualified_name(con->confrelid);
	}
}

/* An exclusion constraint that names organization_id must compare it with =. */
static void
gather_exclusion(TableFacts *f, HeapTuple tup, TupleDesc desc)
{
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
	int			n,
				i;
	int16	   *conkey = int2_array(tup, Anum_pg_constraint_conkey, desc, &n);
	bool		isnull;
	Datum		ops = heap_getattr(tup, Anum_pg_constraint_conexclop, desc, &isnull);
	Oid		   *opers = isnull ? NULL : (Oid *) ARR_DATA_PTR(DatumGetArrayTypeP(ops));
	bool		names_org = false;

	for (i = 0; i < n; i++)
	{
		if (conkey[i] != f->orgatt)
			continue;
		names_org = true;
		if (opers != NULL && opers[i] == TI_OID_UUID_EQ_OP)
			return;
	}
	if (names_org)
		append_item(&f->bad_exclusions, quote_identifier(NameStr(con->conname)));
}

static void
gather_constraints(TableFacts *f)
{
	Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(f->relid));
	scan = systable_beginscan(rel, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		if (con->contype == CONSTRAINT_FOREIGN)
			gather_foreign_key(f, tup, RelationGetDescr(rel));
		else if (con->contype == CONSTRAINT_EXCLUSION)
			gather_exclusion(f, tup, RelationGetDescr(rel));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* The stamping trigger named name, if relid has one. */
static bool
gather_trigger_named(TableFacts *f, const char *name)
{
	Relation	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			stamp = ti_stamp_func_oid();

	ScanKeyInit(&key[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(f->relid));
	ScanKeyInit(&key[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(name));
	scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 2, key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);

		f->trigger_named = true;
		f->has_trigger = OidIsValid(stamp) && trig->tgfoid == stamp &&
			(trig->tgenabled == TRIGGER_FIRES_ON_ORIGIN || trig->tgenabled == TRIGGER_FIRES_ALWAYS) &&
			(trig->tgtype & 31) == TI_STAMP_TGTYPE;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return f->trigger_named;
}

/* The stamping trigger: tenant_iso_stamp, or on a Citus shard the name Citus gives it. */
static void
gather_trigger(TableFacts *f)
{
	char	   *shard_name;

	if (!gather_trigger_named(f, TI_STAMP_TRIGGER) &&
		(shard_name = ti_stamp_trigger_shard_name(f->relid)) != NULL)
		(void) gather_trigger_named(f, shard_name);
}

static TableFacts *
gather_facts(Oid relid)
{
	TableFacts *f = palloc0(sizeof(TableFacts));

	f->relid = relid;
	initStringInfo(&f->bad_keys);
	initStringInfo(&f->bad_exclusions);
	initStringInfo(&f->bad_leading);
	initStringInfo(&f->stats_cols);
	initStringInfo(&f->bad_predicates);
	gather_class_and_column(f);
	if (!f->exists)
		return f;
	gather_policy(f);
	gather_trigger(f);
	if (f->orgatt == 0)
		return f;
	gather_indexes(f);
	gather_constraints(f);
	return f;
}

static TiCheck *
new_check(List **checks, int ord, const char *name, bool passed)
{
	TiCheck    *c = palloc0(sizeof(TiCheck));

	c->ord = ord;
	c->name = name;
	c->passed = passed;
	*checks = lappend(*checks, c);
	return c;
}

/* Checks 1-4: the column and row level security. */
static void
check_column_and_rls(TableFacts *f, List **checks)
{
	TiCheck    *c;

	c = new_check(checks, 1, "organization_id_column", f->orgatt != 0);
	c->now = c->passed ? "Column \"organization_id\" is present." : "The table has no \"organization_id\" column.";
	c->would = "The table would have no \"organization_id\" column.";
	c->hint = "Keep the column \"organization_id uuid NOT NULL\".";
	if (f->orgatt != 0)
	{
		char	   *type = format_type_with_typemod(f->orgtype, f->orgtypmod);

		c = new_check(checks, 2, "organization_id_type", f->org_is_uuid);
		c->now = c->passed ? "Column \"organization_id\" is of type uuid." :
			psprintf("Column \"organization_id\" is of type %s, not uuid.", type);
		c->would = psprintf("Column \"organization_id\" would be of type %s, not uuid.", type);
		c->hint = "Keep the column of type uuid.";
		c = new_check(checks, 3, "organization_id_not_null", f->org_notnull);
		c->now = c->passed ? "Column \"organization_id\" is NOT NULL." : "Column \"organization_id\" accepts NULL.";
		c->would = "Column \"organization_id\" would accept NULL.";
		c->hint = "Keep the column NOT NULL.";
	}
	c = new_check(checks, 4, "row_level_security", f->rls_enabled && f->rls_forced);
	c->now = c->passed ? "Row level security is enabled and forced." :
		f->rls_enabled ? "Row level security is enabled but not forced: the table owner bypasses it." :
		"Row level security is not enabled.";
	c->would = "Row level security would not be enabled and forced.";
	c->hint = "Keep ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY on tenant tables.";
}

/* Checks 5 and 9: the generated policy and the stamping trigger. */
static void
check_policy_and_trigger(TableFacts *f, List **checks)
{
	TiCheck    *c = new_check(checks, 5, "tenant_isolation_policy", f->has_policy && f->policy_ok);

	c->now = c->passed ? "Policy \"tenant_isolation\" is the generated one." :
		!f->has_policy ? "Policy \"tenant_isolation\" is missing." :
		"Policy \"tenant_isolation\" is no longer the generated one (restrictive, FOR ALL, TO PUBLIC, comparing organization_id with the current tenant).";
	c->would = !f->has_policy ? "Policy \"tenant_isolation\" would be missing." :
		"Policy \"tenant_isolation\" would no longer be the generated one (restrictive, FOR ALL, TO PUBLIC, comparing organization_id with the current tenant).";
	c->hint = !f->has_policy ? "Keep the generated policy; add your own policies beside it to narrow access." :
		"Keep the generated policy unchanged; add your own policies beside it to narrow access.";

	c = new_check(checks, 9, "stamping_trigger", f->has_trigger);
	c->now = c->passed ? "The stamping trigger \"tenant_iso_stamp\" is in place and enabled." :
		"The stamping trigger \"tenant_iso_stamp\" is missing or disabled.";
	c->would = "The stamping trigger \"tenant_iso_stamp\" would be missing or disabled.";
	c->hint = "Keep the generated trigger enabled.";
}

/* Check 7: the tenant index (8, a registry foreign key, is gone: registry.c guards writes). */
static void
check_index(TableFacts *f, List **checks)
{
	TiCheck    *c = new_check(checks, 7, "tenant_index", f->has_index);

	c->now = c->passed ? "An index leads with \"organization_id\"." : "No index leads with \"organization_id\".";
	c->would = "No index leading with \"organization_id\" would remain.";
	c->message = "cannot drop the last index of tenant table %s that leads with \"organization_id\"";
	c->hint = "Keep at least one index whose first column is organization_id.";
}

/* Checks 10 and 11: keys that would make conflict errors or reference checks an oracle. */
static void
check_keys(TableFacts *f, List **checks)
{
	TiCheck    *c = new_check(checks, 10, "unique_key_without_tenant", f->bad_keys.len == 0);

	c->now = c->passed ? "Every unique key includes \"organization_id\" or is a single uuid column." :
		psprintf("Unique key %s does not include \"organization_id\": its duplicate-key error tells one tenant that a value exists at another.",
				 f->bad_keys.data);
	c->hint = "Include organization_id in the key, e.g. UNIQUE (organization_id, email); a key of a single uuid column is fine (a random id cannot be guessed).";
	if (!c->passed)
	{
		c->would = psprintf("Unique key %s on (%s) does not include \"organization_id\": its duplicate-key error would tell one tenant that a value exists at another.",
							f->first_bad_key, f->first_bad_key_cols);
		c->hint_would = psprintf("Include organization_id in the key, e.g. UNIQUE (organization_id, %s).",
								 f->first_bad_key_cols);
	}

	c = new_check(checks, 24, "exclusion_without_tenant_equality", f->bad_exclusions.len == 0);
	c->now = c->passed ? "Every exclusion constraint compares \"organization_id\" with =." :
		psprintf("Exclusion constraint %s does not compare \"organization_id\" with =: its conflict error tells one tenant that another tenant holds a value.",
				 f->bad_exclusions.data);
	c->would = psprintf("Exclusion constraint %s would not compare \"organization_id\" with =: its conflict error would tell one tenant that another tenant holds a value.",
						f->bad_exclusions.data);
	c->hint = "Compare the tenant with equality: EXCLUDE USING gist (organization_id WITH =, ...) (btree_gist).";

	c = new_check(checks, 11, "foreign_key_without_tenant", f->bad_fks == NIL);
	c->now = c->passed ? "Every foreign key to a tenant table matches \"organization_id\" on both sides." :
		psprintf("Foreign key %s does not match \"organization_id\" on both sides: foreign-key checks do not see row level security, so one tenant could probe and reference another tenant's rows.",
				 ti_join_strings(ti_sorted_strings(f->bad_fks)));
	c->hint = "Reference the parent's (organization_id, id) key: FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id).";
	if (!c->passed)
	{
		c->would = psprintf("Foreign key %s references tenant table %s without matching \"organization_id\" on both sides: it would let one tenant probe and reference another tenant's rows.",
							f->first_bad_fk, f->first_bad_fk_target);
		c->hint_would = psprintf("Reference the parent's (organization_id, id) key: FOREIGN KEY (organization_id, ...) REFERENCES %s (organization_id, ...).",
								 f->first_bad_fk_target);
	}
}

/* Check 22: statistics of expression indexes (their owner could read other tenants' values). */
static void
check_index_statistics(TableFacts *f, List **checks)
{
	TiCheck    *c = new_check(checks, 22, "expression_index_statistics", f->stats_cols.len == 0);

	c->now = c->passed ? "No expression index column collects or keeps statistics." :
		psprintf("Expression index column %s collects or keeps statistics: pg_stats shows its owner values of every tenant.",
				 f->stats_cols.data);
	c->would = psprintf("Expression index column %s would collect statistics: pg_stats would show its owner values of every tenant.",
						f->stats_cols.data);
	c->hint = "Keep SET STATISTICS 0 on expression columns of indexes on tenant tables; SELECT tenant_iso.enroll(table) sets it and removes the statistics kept.";
}

/* Check 28: partial indexes count the rows their predicate matches, every tenant's. */
static void
check_partial_indexes(TableFacts *f, List **checks)
{
	TiCheck    *c = new_check(checks, 28, "partial_index_predicate", f->bad_predicates.len == 0);

	c->now = c->passed ? "No partial index compares a column with a value in its predicate." :
		psprintf("Partial index %s compares a column with a value in its predicate: its size and row count (pg_class.reltuples) tell how many rows of every tenant match.",
				 f->bad_predicates.data);
	c->would = psprintf("Partial index %s would compare a column with a value in its predicate: its size and row count (pg_class.reltuples) would tell how many rows of every tenant match.",
						f->bad_predicates.data);
	c->hint = "Use predicates of IS NULL / IS NOT NULL tests and boolean columns only, e.g. WHERE deleted_at IS NULL, or an index without WHERE.";
}

/* Check 23: expressions DDL evaluates over every tenant's rows (expressions.c). */
static void
check_expressions(TableFacts *f, List **checks)
{
	char	   *unsafe = ti_unsafe_table_expression(f->relid, NULL);
	TiCheck    *c = new_check(checks, 23, "unsafe_expression", unsafe == NULL);

	c->now = c->passed ? "No index expression or predicate, CHECK constraint or generated column calls a function that may leak rows." :
		psprintf("The %s, which is neither leakproof nor a built-in immutable function: building, validating or rewriting runs it over every tenant's rows.", unsafe);
	c->would = psprintf("The %s, which is neither leakproof nor a built-in immutable function: building, validating or rewriting would run it over every tenant's rows.",
						unsafe ? unsafe : "");
	c->hint = "Use leakproof or built-in immutable functions only, or have a superuser review the function and mark it LEAKPROOF.";
}

/*
 * Check 30, a warning: what DDL evaluates over every tenant's rows.  The
 * functions are safe (check 23), but an error raised there (a failed cast,
 * a division by zero) quotes or reveals one stored value to whoever ran the
 * DDL: the owner is trusted with that (docs/threat-model.md).
 */
static void
check_row_expressions(TableFacts *f, List **checks)
{
	List	   *exprs = ti_row_expressions(f->relid);
	TiCheck    *c = new_check(checks, 30, "row_expressions", exprs == NIL);

	c->warning_only = true;
	c->now = c->passed ? "No index expression or predicate, CHECK constraint, generated column or domain is evaluated over the table's rows." :
		psprintf("%s %s evaluated over every organization's rows when created, validated or rewritten: an error raised there (a failed cast, for example) can show one stored value to the role running that DDL.",
				 ti_join_strings(exprs), list_length(exprs) == 1 ? "is" : "are");
	c->would = c->now;
	c->hint = "";
}

/* The names of the rewrite rules of relid (a table has none unless someone added one). */
static List *
rule_names(Oid relid)
{
	Relation	rel = table_open(RewriteRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *names = NIL;

	ScanKeyInit(&key, Anum_pg_rewrite_ev_class, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, RewriteRelRulenameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		names = lappend(names, makeString(pstrdup(quote_identifier(NameStr(((Form_pg_rewrite) GETSTRUCT(tup))->rulename)))));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return names;
}

/* The partitions and inheritance children of relid that are not tenant tables. */
static List *
children_not_tenant(Oid relid)
{
	Relation	rel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *names = NIL;

	ScanKeyInit(&key, Anum_pg_inherits_inhparent, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InheritsParentIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Oid			child = ((Form_pg_inherits) GETSTRUCT(tup))->inhrelid;
		char		kind = get_rel_relkind(child);

		if ((kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE) && !ti_relid_is_tenant_table(child))
			names = lappend(names, makeString(ti_qualified_name(child)));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return names;
}

/*
 * Checks 25-27: what could undo the set-up from outside (objects in temporary
 * schemas, dropped at COMMIT or session end with CASCADE), run with the
 * owner's rights on every tenant's rows (rules), or read around it (children
 * that are not tenant tables).
 */
static void
check_surroundings(TableFacts *f, List **checks)
{
	char	   *temp = ti_temporary_dependency(f->relid);
	List	   *rules = rule_names(f->relid);
	List	   *children = children_not_tenant(f->relid);
	TiCheck    *c = new_check(checks, 25, "temporary_dependency", temp == NULL);

	c->now = c->passed ? "Nothing the table depends on is a temporary object." :
		psprintf("The table depends on %s: when it is dropped, at the end of its transaction or session, the cascade reaches the table outside any statement the guard sees.", temp);
	c->would = psprintf("The table would depend on %s: when it is dropped, at the end of its transaction or session, the cascade would reach the table outside any statement the guard sees.",
						temp ? temp : "");
	c->hint = "Do not use temporary types, tables or functions in tenant tables, their column types, defaults, constraints or indexes.";

	c = new_check(checks, 26, "rule", rules == NIL);
	c->now = c->passed ? "The table has no rules." :
		psprintf("Rule %s runs with its owner's rights on every tenant's rows.", ti_join_strings(rules));
	c->would = psprintf("Rule %s would run with its owner's rights on every tenant's rows.", ti_join_strings(rules));
	c->hint = "Drop the rule; use a trigger, or a view with security_invoker.";

	c = new_check(checks, 27, "child_not_tenant_table", children == NIL);
	c->now = c->passed ? "Every partition and child of the table is a tenant table." :
		psprintf("Partition or child %s is not a tenant table: queried directly, its rows are not scoped to a tenant.",
				 ti_join_strings(children));
	c->would = psprintf("Partition or child %s would not be a tenant table: queried directly, its rows would not be scoped to a tenant.",
						ti_join_strings(children));
	c->hint = "Keep the partitions and children of tenant tables in managed schemas, where they are set up as tenant tables.";
}

/* Check 12, a warning: indexes that do not lead with organization_id. */
static void
check_leading_columns(TableFacts *f, List **checks)
{
	TiCheck    *c = new_check(checks, 12, "index_leading_column", f->bad_leading.len == 0);

	c->warning_only = true;
	c->now = c->passed ? "Every index leads with \"organization_id\" or is on a single uuid column." :
		psprintf("Index %s does not lead with \"organization_id\": its index condition runs before the tenant filter, so EXPLAIN ANALYZE row counts can reveal whether another tenant has a matching row. Put organization_id first (btree_gin or btree_gist make that possible for GIN and GiST).",
				 f->bad_leading.data);
	c->would = c->now;
	c->hint = "";
}

static int
compare_ords(const ListCell *a, const ListCell *b)
{
	return ((TiCheck *) lfirst(a))->ord - ((TiCheck *) lfirst(b))->ord;
}

/* Every check of a table, in order. */
static List *
table_checks(Oid relid)
{
	TableFacts *f = gather_facts(relid);
	List	   *checks = NIL;

	if (!f->exists)
		return NIL;
	check_column_and_rls(f, &checks);
	check_policy_and_trigger(f, &checks);
	if (f->orgatt != 0)
	{
		check_index(f, &checks);
		check_keys(f, &checks);
		check_leading_columns(f, &checks);
		check_index_statistics(f, &checks);
		check_expressions(f, &checks);
		check_row_expressions(f, &checks);
		check_surroundings(f, &checks);
		check_partial_indexes(f, &checks);
	}
	list_sort(checks, compare_ords);
	return checks;
}

/*
 * The invariants relid violates now, each as "name\x1fdetail\x1fhint" in
 * the guard's tense: for comparing before and after a statement, and for
 * reporting.  only: a comma-separated list of check names, or NULL for all.
 */
List *
ti_invariant_violations(Oid relid, const char *only)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, table_checks(relid))
	{
		TiCheck    *c = (TiCheck *) lfirst(lc);

		if (c->passed || c->warning_only)
			continue;
		if (only != NULL && !ti_name_in_list(c->name, only))
			continue;
		result = lappend(result, psprintf("%s\x1f%s\x1f%s\x1f%s", c->name, c->would,
										  c->hint_would ? c->hint_would : c->hint,
										  c->message ? c->message : ""));
	}
	return result;
}

static void
report_violation(Oid relid, const char *violation, const char *message)
{
	char	   *check = pstrdup(violation);
	char	   *detail = strchr(check, '\x1f');
	char	   *hint;
	char	   *own;

	*detail++ = '\0';
	hint = strchr(detail, '\x1f');
	*hint++ = '\0';
	own = strchr(hint, '\x1f');
	*own++ = '\0';
	if (*own != '\0' && strstr(message, "statement") == message)
		message = own;			/* the check's own wording of the refusal */
	if (ti_unsafe_ddl())
		ereport(WARNING,
				(errmsg("tenant_iso.unsafe_ddl is on: table %s no longer passes check \"%s\"",
						ti_qualified_name(relid), check),
				 errdetail("%s", detail),
				 errhint("tenant_iso.audit() reports it until it is fixed.")));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg(message, ti_qualified_name(relid)),
				 errdetail("%s", detail),
				 errhint("%s", hint)));
}

/*
 * Require every invariant (or those named in only) of relid: the first
 * violation is an error (a warning under tenant_iso.unsafe_ddl).
 */
void
ti_invariants_require(Oid relid, const char *only)
{
	List	   *violations = ti_invariant_violations(relid, only);

	if (violations != NIL)
		report_violation(relid, (char *) linitial(violations),
						 only ? "table %s would break tenant isolation" :
						 "statement would break tenant isolation of table %s");
}

/*
 * After a statement: refuse it when relid violates an invariant it did not
 * violate before (before: from ti_invariant_violations()).  A damaged table
 * can thus be repaired step by step, and changed harmlessly, but not
 * damaged further.
 */
void
ti_invariants_require_since(Oid relid, List *before)
{
	ListCell   *lc;

	foreach(lc, ti_invariant_violations(relid, NULL))
	{
		char	   *v = (char *) lfirst(lc);
		ListCell   *lc2;
		bool		found = false;

		foreach(lc2, before)
			if (strcmp(v, (char *) lfirst(lc2)) == 0)
				found = true;
		if (!found)
			report_violation(relid, v, "statement would break tenant isolation of table %s");
	}
}

/* Expression index columns stop collecting statistics and lose those kept. */
static void
repair_statistics(TableFacts *f)
{
	ListCell   *lc1,
			   *lc2;

	forboth(lc1, f->stats_indexes, lc2, f->stats_columns)
	{
		ti_internal_ddl(psprintf("ALTER INDEX %s ALTER COLUMN %d SET STATISTICS 0",
								 ti_qualified_name(lfirst_oid(lc1)), lfirst_int(lc2)));
		RemoveStatistics(lfirst_oid(lc1), (AttrNumber) lfirst_int(lc2));
	}
	CommandCounterIncrement();
}

/*
 * Run the repair of every failing invariant that has one, as the extension's
 * owner.  What cannot be repaired (a wrong column, an altered policy, keys
 * without organization_id) is left for ti_invariants_require().
 */
void
ti_invariants_repair(Oid relid, bool notice)
{
	TableFacts *f = gather_facts(relid);
	char	   *qual = ti_qualified_name(relid);

	if (!f->exists || f->orgatt == 0 || !f->org_is_uuid)
		return;
	if (!f->has_index)
	{
		ti_internal_ddl(psprintf("CREATE INDEX ON %s (" TI_COLUMN ")", qual));
		if (notice)
			ereport(NOTICE,
					(errmsg("tenant_iso created an index on (organization_id) of table %s", qual),
					 errdetail("Tenant tables need an index that leads with organization_id.")));
	}
	if (!(f->rls_enabled && f->rls_forced))
		ti_internal_ddl(psprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY", qual));
	if (!f->has_policy)
		ti_internal_ddl(psprintf("CREATE POLICY " TI_ISOLATION_POLICY " ON %s AS RESTRICTIVE FOR ALL TO PUBLIC "
								 "USING (" TI_TENANT_QUAL_SQL ") WITH CHECK (" TI_TENANT_QUAL_SQL ")", qual));
	if (!f->trigger_named)
		ti_internal_ddl(psprintf("CREATE TRIGGER " TI_STAMP_TRIGGER " BEFORE INSERT OR UPDATE OF " TI_COLUMN
								 " ON %s FOR EACH ROW EXECUTE FUNCTION tenant_iso.stamp_organization_id()", qual));
	repair_statistics(f);
}

/* Expression index columns of relid collect no statistics (run after indexes are created). */
void
ti_invariants_repair_statistics(Oid relid)
{
	repair_statistics(gather_facts(relid));
}

/* Every check of a table for the audit (see tenant_iso._table_checks()). */
List *
ti_table_checks(Oid relid)
{
	return table_checks(relid);
}
