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

#include "access/genam.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "tenant_iso.h"

static bool ti_role_bypasses_tenant(Oid roleid);

/* uuid = uuid */
#define TI_OID_UUID_EQ_OP		2972

/* Looked up lazily, forgotten on catalog changes. */
static Oid	ti_namespace = InvalidOid;
static Oid	tenant_func = InvalidOid;
static Oid	stamp_func = InvalidOid;

static void
forget_oids(Datum arg, int cacheid, uint32 hashvalue)
{
	ti_namespace = InvalidOid;
	tenant_func = InvalidOid;
	stamp_func = InvalidOid;
}

/* The last role asked about by ti_role_bypasses_tenant() (as superuser_arg() keeps one). */
static Oid	last_role = InvalidOid;
static bool last_role_bypasses = false;

static void
forget_role(Datum arg, int cacheid, uint32 hashvalue)
{
	last_role = InvalidOid;
}

static void forget_relation(Datum arg, Oid relid);

void
ti_tenant_table_init(void)
{
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_oids, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, forget_oids, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, forget_role, (Datum) 0);
	CacheRegisterRelcacheCallback(forget_relation, (Datum) 0);
}

/*
 * The OID of the extension's schema (pg_extension.extnamespace: its
 * identity, whatever its name), or InvalidOid when the extension is not
 * installed.
 */
Oid
ti_schema_oid(void)
{
	if (!OidIsValid(ti_namespace))
		ti_namespace = ti_extension_schema();
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

/* The OID of tenant_iso.stamp_organization_id(), or InvalidOid. */
Oid
ti_stamp_func_oid(void)
{
	if (!OidIsValid(stamp_func) && OidIsValid(ti_schema_oid()))
		stamp_func = LookupFuncName(list_make2(makeString(TI_SCHEMA), makeString("stamp_organization_id")),
									0, NULL, true);
	return stamp_func;
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

/*
 * The last answers of ti_relid_is_tenant_table(), by relation, each kept
 * until the relation's relcache entry is invalidated (as the answer read
 * from it would be: row level security and policies live there).
 */
#define TI_KIND_CACHE 16
typedef struct KnownRelation
{
	Oid			relid;
	bool		tenant;
} KnownRelation;
static KnownRelation known_relations[TI_KIND_CACHE];
static int	next_known = 0;

static void
forget_relation(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < TI_KIND_CACHE; i++)
		if (!OidIsValid(relid) || known_relations[i].relid == relid)
			known_relations[i].relid = InvalidOid;
}

bool
ti_relid_is_tenant_table(Oid relid)
{
	Relation	rel;
	bool		result;
	int			i;

	for (i = 0; i < TI_KIND_CACHE; i++)
		if (OidIsValid(relid) && known_relations[i].relid == relid)
			return known_relations[i].tenant;
	rel = RelationIdGetRelation(relid);
	if (!RelationIsValid(rel))
		return false;
	result = ti_relation_is_tenant_table(rel);
	RelationClose(rel);
	known_relations[next_known].relid = relid;
	known_relations[next_known].tenant = result;
	next_known = (next_known + 1) % TI_KIND_CACHE;
	return result;
}

/* Does a catalog scan by an index on (relid, name) find a row? */
static bool
catalog_has(Oid catalog, Oid index, AttrNumber relatt, AttrNumber nameatt, Oid relid, const char *name)
{
	Relation	rel = table_open(catalog, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&key[0], relatt, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], nameatt, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum(name));
	scan = systable_beginscan(rel, index, true, NULL, 2, key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* Does relid have a policy of this name? */
bool
ti_relid_has_policy(Oid relid, const char *name)
{
	return catalog_has(PolicyRelationId, PolicyPolrelidPolnameIndexId, Anum_pg_policy_polrelid,
					   Anum_pg_policy_polname, relid, name);
}

/* Does relid carry the generated policy (by name; whatever its state)? */
bool
ti_relid_has_isolation_policy(Oid relid)
{
	return ti_relid_has_policy(relid, TI_ISOLATION_POLICY);
}

/*
 * Is relid a table the guard protects?  A tenant table, or a table that
 * carries any of the generated objects (the tenant_isolation policy, the
 * stamping trigger) whatever the state of its row
 * level security, so that one deliberate unsafe_ddl step cannot switch the
 * guard off for the steps that follow.  Temporary tables are never tenant
 * tables (a session's own objects named like ours are not guarded).
 */
bool
ti_relid_is_guarded(Oid relid)
{
	HeapTuple	tup;
	bool		temporary;

	if (!OidIsValid(relid) || ti_relid_is_registry(relid))
		return false;
	/* a relation the current command creates is not in the caches yet: not guarded */
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return false;
	temporary = ((Form_pg_class) GETSTRUCT(tup))->relpersistence == RELPERSISTENCE_TEMP;
	ReleaseSysCache(tup);
	if (temporary)
		return false;
	if (ti_relid_is_tenant_table(relid) || ti_relid_has_isolation_policy(relid))
		return true;
	return catalog_has(TriggerRelationId, TriggerRelidNameIndexId, Anum_pg_trigger_tgrelid,
					   Anum_pg_trigger_tgname, relid, TI_STAMP_TRIGGER);
}

/*
 * Is relid the registry tenant_iso.organizations, or on Citus one of its
 * placements (tenant_iso.organizations_<shard id>: only superusers create
 * relations in the extension's schema)?
 */
bool
ti_relid_is_registry(Oid relid)
{
	char	   *name;

	if (get_rel_namespace(relid) != ti_schema_oid() || !OidIsValid(ti_namespace))
		return false;
	name = get_rel_name(relid);
	return name != NULL &&
		(strcmp(name, "organizations") == 0 || ti_citus_is_shard_name(name, "organizations"));
}

/* The OID of the registry tenant_iso.organizations, or InvalidOid. */
Oid
ti_registry_oid(void)
{
	return OidIsValid(ti_schema_oid()) ? get_relname_relid("organizations", ti_schema_oid()) : InvalidOid;
}

/*
 * Is tgname a name of the stamping trigger: tenant_iso_stamp, or on Citus
 * the name Citus gives it on a shard (tenant_iso_stamp_<shard id>; a
 * partition's shard has its parent shard's)?
 */
bool
ti_is_stamp_trigger_name(const char *tgname)
{
	return strcmp(tgname, TI_STAMP_TRIGGER) == 0 || ti_citus_is_shard_name(tgname, TI_STAMP_TRIGGER);
}

/*
 * If relid is a Citus shard placement: the name its stamping trigger has
 * there (see ti_is_stamp_trigger_name()), if it has one; else NULL.
 */
char *
ti_stamp_trigger_shard_name(Oid relid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *result = NULL;

	if (ti_citus_shard_of(relid, NULL) == 0)
		return NULL;
	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (result == NULL && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		char	   *name = NameStr(((Form_pg_trigger) GETSTRUCT(tup))->tgname);

		if (ti_is_stamp_trigger_name(name))
			result = pstrdup(name);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* The tenant column of a tenant table (InvalidAttrNumber if it has none). */
AttrNumber
ti_tenant_column(Oid relid)
{
	return get_attnum(relid, ti_relid_is_registry(relid) ? "id" : TI_COLUMN);
}

/*
 * Superusers and BYPASSRLS roles are outside tenant scoping.  The answer for
 * the last role asked about is kept until pg_authid changes (ALTER ROLE
 * ... NOSUPERUSER / NOBYPASSRLS sends the invalidation before it commits).
 */
static bool
ti_role_bypasses_tenant(Oid roleid)
{
	if (roleid != last_role || !OidIsValid(last_role))
	{
		last_role_bypasses = superuser_arg(roleid) || has_bypassrls_privilege(roleid);
		last_role = roleid;
	}
	return last_role_bypasses;
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
 * Is a referential action running as a table's owner on behalf of another
 * role (one that tenant scoping applies to)?  PostgreSQL switches to the
 * owner without a security-restricted context: a trigger fired there (the
 * owner's, resolving an unqualified name through the caller's search_path)
 * could run the caller's code with the owner's rights.  Temporary objects
 * and utility statements are refused there (executor.c, guard.c).
 */
bool
ti_in_foreign_referential_action(void)
{
	return InNoForceRLSOperation() && GetUserId() != GetOuterUserId() &&
		!ti_role_bypasses_tenant(GetOuterUserId());
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

/*
 * Does an index lead with the tenant column (first key column)?  The tenant
 * index invariant also wants it valid and without predicate.
 */
bool
ti_index_leads_with_tenant(Form_pg_index index, AttrNumber tenantatt)
{
	return index->indnkeyatts > 0 && tenantatt > 0 && index->indkey.values[0] == tenantatt;
}

/*
 * Is an index on exactly one column of type uuid (or a domain over it)?
 * Such a key cannot serve as a value oracle: a random id cannot be guessed.
 */
bool
ti_index_is_single_uuid(Oid relid, Form_pg_index index)
{
	return index->indnkeyatts == 1 && index->indkey.values[0] > 0 &&
		getBaseType(get_atttype(relid, index->indkey.values[0])) == UUIDOID;
}

/* Is expr, for range table index varno of relid, the generated tenant comparison? */
bool
ti_is_tenant_qual(Oid relid, Index varno, Node *expr)
{
	Expr	   *mine = ti_tenant_qual(relid, varno);

	/* equal() ignores locations, cast forms and an opfuncid not yet filled in */
	return mine != NULL && expr != NULL && equal(mine, expr);
}
