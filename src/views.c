/*-------------------------------------------------------------------------
 * src/views.c
 *		Views and materialized views over tenant tables.
 *
 * Invariants:
 *	- A view that reads tenant tables (directly or through other views)
 *	  runs with its caller's rights: security_invoker is set when the view
 *	  does not say, and a view that asks for security_invoker = false is
 *	  refused.
 *	- A materialized view over tenant tables is refused: its contents are
 *	  computed once, by one role, and shown to all.
 *	- "Reads tenant tables" is decided once, by ti_view_tenant_reads(), for
 *	  the schema check, the guard and the audit.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

static List *ti_view_tenant_reads(Oid viewid);

/*
 * The tables a view reads that are tenant tables (or must become ones),
 * directly or through other views, as "schema.table" names in name order.
 */
static List *
ti_view_tenant_reads(Oid viewid)
{
	List	   *exemptions = ti_load_exemptions();
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, ti_internal_oids("WITH RECURSIVE deps(relid) AS ("
								 " SELECT d.refobjid FROM pg_catalog.pg_rewrite r"
								 " JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
								 "  AND d.objid OPERATOR(pg_catalog.=) r.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
								 " WHERE r.ev_class OPERATOR(pg_catalog.=) $1 AND d.refobjid OPERATOR(pg_catalog.<>) $1"
								 " UNION"
								 " SELECT d.refobjid FROM deps JOIN pg_catalog.pg_rewrite r ON r.ev_class OPERATOR(pg_catalog.=) deps.relid"
								 " JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
								 "  AND d.objid OPERATOR(pg_catalog.=) r.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
								 " WHERE d.refobjid OPERATOR(pg_catalog.<>) deps.relid)"
								 " SELECT DISTINCT relid FROM deps",
								 viewid))
	{
		Oid			relid = lfirst_oid(lc);

		if (relid == viewid)
			continue;
		if (ti_relid_has_isolation_policy(relid) ||
			(ti_table_kind_with(relid, exemptions) == TI_KIND_MANAGED))
			names = lappend(names, makeString(ti_qualified_name(relid)));
	}
	return ti_sorted_strings(names);
}

/* The view's security_invoker option: -1 unset, 0 false, 1 true. */
static int
security_invoker_option(Oid viewid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(viewid));
	bool		isnull;
	Datum		options;
	ListCell   *lc;
	int			result = -1;

	if (!HeapTupleIsValid(tup))
		return -1;
	options = SysCacheGetAttr(RELOID, tup, Anum_pg_class_reloptions, &isnull);
	if (!isnull)
	{
		foreach(lc, untransformRelOptions(options))
		{
			DefElem    *opt = (DefElem *) lfirst(lc);

			if (strcmp(opt->defname, "security_invoker") == 0)
				result = defGetBoolean(opt) ? 1 : 0;
		}
	}
	ReleaseSysCache(tup);
	return result;
}

static void
refuse_matview(const char *qual)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("materialized view %s cannot read tenant tables", qual),
			 errdetail("Its contents would be computed once, by one role, and shown to every tenant."),
			 errhint("Use a view, or a tenant table filled by your application.")));
}

/*
 * Check a view or materialized view (see the file header); with fix, a view
 * that does not set security_invoker gets it.
 */
void
ti_check_view(Oid viewid, bool fix)
{
	char		relkind = get_rel_relkind(viewid);
	char	   *qual;
	int			invoker;

	if (ti_view_tenant_reads(viewid) == NIL)
		return;
	qual = ti_qualified_name(viewid);
	if (relkind == RELKIND_MATVIEW)
		refuse_matview(qual);
	invoker = security_invoker_option(viewid);
	if (invoker == -1 && fix)
	{
		ti_internal_ddl(psprintf("ALTER VIEW %s SET (security_invoker = true)", qual));
		ereport(NOTICE,
				(errmsg("tenant_iso set security_invoker on view %s", qual),
				 errdetail("The view reads tenant tables, so it runs with the rights of the role that queries it.")));
		invoker = 1;
	}
	if (invoker != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("view %s reads tenant tables and must have security_invoker = true", qual),
				 errdetail("A view that runs with its owner's rights would show every tenant what its owner may see."),
				 errhint("Create it WITH (security_invoker = true), or leave the option out: tenant_iso sets it.")));
}

/* The audit's checks of a view or materialized view (none when it reads no tenant table). */
List *
ti_view_checks(Oid viewid)
{
	List	   *reads = ti_view_tenant_reads(viewid);
	char	   *list;
	TiCheck    *c;

	if (reads == NIL)
		return NIL;
	list = ti_join_strings(reads);
	c = palloc0(sizeof(TiCheck));
	if (get_rel_relkind(viewid) == RELKIND_MATVIEW)
	{
		c->ord = 15;
		c->name = "materialized_view";
		c->now = psprintf("Materialized view stores rows of tenant tables (%s) computed once, by one role, and shows them to every role that may read it.", list);
		c->hint = "Use a view (WITH (security_invoker = true)) or a tenant table instead.";
		return list_make1(c);
	}
	c->ord = 14;
	c->name = "view_security_invoker";
	c->passed = security_invoker_option(viewid) == 1;
	c->now = c->passed ?
		psprintf("View reads tenant tables (%s) with the rights of its caller (security_invoker).", list) :
		psprintf("View reads tenant tables (%s) with the rights of its owner %s, not of its caller.",
				 list, quote_identifier(GetUserNameFromId(ti_relation_owner(viewid), false)));
	c->hint = psprintf("Set ALTER VIEW %s SET (security_invoker = true).", ti_qualified_name(viewid));
	return list_make1(c);
}
