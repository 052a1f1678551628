/*-------------------------------------------------------------------------
 * src/tenant_table.c
 *		What a tenant table is, whom tenant scoping applies to, and the
 *		tenant comparison the extension generates.  A leaf: every other file
 *		asks here, nothing here asks them.
 *
 * Invariants:
 *	- A tenant table is a table with row level security enabled and a
 *	  policy named tenant_isolation (read from the relcache, no catalog
 *	  scan).  Its tenant column is organization_id; for the registry
 *	  tenant_iso.organizations it is id.
 *	- Tenant scoping applies to every role but superusers and BYPASSRLS
 *	  roles (PostgreSQL's rule), whatever the table's owner and whether
 *	  FORCE ROW LEVEL SECURITY is switched off for the moment: inside a
 *	  referential action PostgreSQL runs as the table's owner without forced
 *	  row level security, and scoping still applies there unless the role
 *	  that started the work bypasses row level security.
 *	- The tenant comparison is "<tenant column> = tenant_iso.current_org_id()"
 *	  exactly as PostgreSQL parses the generated policy; ti_tenant_qual()
 *	  builds it, and equal() to it is how the generated policy is recognised
 *	  (never by the shape of an expression).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

/* uuid = uuid */
#define TI_OID_UUID_EQ_OP		2972

/* Looked up lazily, forgotten on catalog changes. */
static Oid	ti_namespace = InvalidOid;
static Oid	tenant_func = InvalidOid;

static void
forget_oids(Datum arg, int cacheid, uint32 hashvalue)
{
	ti_namespace = InvalidOid;
	tenant_func = InvalidOid;
}

void
ti_tenant_table_init(void)
{
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_oids, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, forget_oids, (Datum) 0);
}

/* The OID of schema tenant_iso, or InvalidOid. */
Oid
ti_schema_oid(void)
{
	if (!OidIsValid(ti_namespace))
		ti_namespace = get_namespace_oid(TI_SCHEMA, true);
	return ti_namespace;
}

/* The OID of tenant_iso.current_org_id(), or InvalidOid. */
Oid
ti_tenant_func_oid(void)
{
	if (!OidIsValid(tenant_func) && OidIsValid(ti_schema_oid()))
		tenant_func = LookupFuncName(list_make2(makeString(TI_SCHEMA), makeString("current_org_id")),
									 0, NULL, true);
	return tenant_func;
}

bool
ti_relation_is_tenant_table(Relation rel)
{
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity || rel->rd_rsdesc == NULL)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *policy = (RowSecurityPolicy *) lfirst(lc);

		if (strcmp(policy->policy_name, TI_ISOLATION_POLICY) == 0)
			return true;
	}
	return false;
}

bool
ti_relid_is_tenant_table(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		result;

	if (!RelationIsValid(rel))
		return false;
	result = ti_relation_is_tenant_table(rel);
	RelationClose(rel);
	return result;
}

/* Is relid the registry tenant_iso.organizations? */
bool
ti_relid_is_registry(Oid relid)
{
	char	   *name;

	if (get_rel_namespace(relid) != ti_schema_oid() || !OidIsValid(ti_namespace))
		return false;
	name = get_rel_name(relid);
	return name != NULL && strcmp(name, "organizations") == 0;
}

/* The tenant column of a tenant table (InvalidAttrNumber if it has none). */
AttrNumber
ti_tenant_column(Oid relid)
{
	return get_attnum(relid, ti_relid_is_registry(relid) ? "id" : TI_COLUMN);
}

/* Superusers and BYPASSRLS roles are outside tenant scoping. */
bool
ti_role_bypasses_tenant(Oid roleid)
{
	return superuser_arg(roleid) || has_bypassrls_privilege(roleid);
}

/*
 * Does tenant scoping apply to a statement run with checkAsUser's rights
 * (InvalidOid: the current user)?  See the file header.
 */
bool
ti_tenant_scoping_applies(Oid checkAsUser)
{
	Oid			user = OidIsValid(checkAsUser) ? checkAsUser : GetUserId();

	if (ti_role_bypasses_tenant(user))
		return false;
	if (InNoForceRLSOperation() && ti_role_bypasses_tenant(GetOuterUserId()))
		return false;
	return true;
}

/*
 * The tenant comparison of a tenant table, for range table index varno:
 * "<tenant column> = tenant_iso.current_org_id()", built as PostgreSQL
 * parses it (a tenant column of a domain over uuid is relabelled to uuid).
 * NULL when the table has no tenant column or the extension is missing.
 */
Expr *
ti_tenant_qual(Oid relid, Index varno)
{
	AttrNumber	att = ti_tenant_column(relid);
	Oid			atttype;
	int32		atttypmod;
	Oid			attcoll;
	Expr	   *left;
	FuncExpr   *call;

	if (att == InvalidAttrNumber || !OidIsValid(ti_tenant_func_oid()))
		return NULL;
	get_atttypetypmodcoll(relid, att, &atttype, &atttypmod, &attcoll);
	left = (Expr *) makeVar(varno, att, atttype, atttypmod, attcoll, 0);
	if (atttype != UUIDOID)
	{
		if (getBaseType(atttype) != UUIDOID)
			return NULL;
		left = (Expr *) makeRelabelType(left, UUIDOID, -1, InvalidOid, COERCE_IMPLICIT_CAST);
	}
	call = makeFuncExpr(tenant_func, UUIDOID, NIL, InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	return make_opclause(TI_OID_UUID_EQ_OP, BOOLOID, false, left, (Expr *) call,
						 InvalidOid, InvalidOid);
}

/* Is expr, for range table index varno of relid, the generated tenant comparison? */
bool
ti_is_tenant_qual(Oid relid, Index varno, Node *expr)
{
	Expr	   *mine = ti_tenant_qual(relid, varno);

	/* equal() ignores locations, cast forms and an opfuncid not yet filled in */
	return mine != NULL && expr != NULL && equal(mine, expr);
}
