/* sql/tenant_iso--0.1.0--0.2.0.sql: upgrade from 0.1.0 to 0.2.0 (ALTER EXTENSION tenant_iso UPDATE).
 *
 * What changes (CHANGELOG.md, 0.2.0):
 *  - the checks of tenant tables are defined once, in C: _table_violations() becomes a C
 *    function, _table_kinds() and _table_checks() are new, audit(), _invariant_checks(),
 *    enroll() and enroll_schema() ask them;
 *  - drop_organization() deletes through _delete_organization_row(), with the organization
 *    as the tenant, so that the referential actions reach its rows;
 *  - per-tenant load figures: tenant_stats, _tenant_stats(), tenant_stats_reset();
 *  - pgTAP functions for users' suites: tap_isolated(), tap_tables_isolated();
 *  - the domain tenant_id and _isolation_policy_exprs() are gone: the tenant parameter and
 *    the generated policy are recognised by identity in C;
 *  - expression columns of indexes on tenant tables stop collecting statistics, and the
 *    statistics they kept are removed (pg_stats showed their owner every tenant's values).
 *
 * Tables, their rows, exemptions, policies, keys and triggers of tenant tables are kept as
 * they are.  test/t/upgrade.sh upgrades a database with data and compares the catalog with
 * a fresh 0.2.0 install (test/upgrade/catalog.sql).
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION tenant_iso UPDATE TO '0.2.0'" to load this file. \quit


-- Rows of tenant tables are only written for registered organizations that
-- are not being dropped (src/registry.c: the stamping trigger holds the
-- organization's registry lock, this trigger takes it exclusively before a
-- registry row goes); ids never change.
CREATE FUNCTION tenant_iso.registry_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'tenant_iso_registry_guard'
LANGUAGE C;
REVOKE ALL ON FUNCTION tenant_iso.registry_guard() FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.registry_guard() IS
'Internal: BEFORE DELETE OR UPDATE OF id trigger of tenant_iso.organizations: waits for the writers of an organization before its row goes, and keeps ids unchanged.';
CREATE TRIGGER tenant_iso_registry_guard BEFORE DELETE OR UPDATE OF id ON tenant_iso.organizations
    FOR EACH ROW EXECUTE FUNCTION tenant_iso.registry_guard();

CREATE FUNCTION tenant_iso._remove_organization(id uuid)
RETURNS bigint
AS 'MODULE_PATHNAME', 'tenant_iso_remove_organization'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION tenant_iso._remove_organization(uuid) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso._remove_organization(uuid) IS
'Internal step of tenant_iso.drop_organization(): removes the registry row, then the organization''s rows of every tenant table, each deleted by the table''s owner with the organization as the tenant.';

CREATE OR REPLACE FUNCTION tenant_iso.drop_organization(id uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION 'organization id must not be NULL'
            USING ERRCODE = '22004', DETAIL = 'drop_organization removes exactly one organization.',
                  HINT = 'Pass the id returned by tenant_iso.create_organization().';
    END IF;
    -- src/organizations.c: waits for the organization's writers, deletes its
    -- rows table by table (by each table's owner, never with this function's
    -- rights), and returns how many.
    RETURN tenant_iso._remove_organization(drop_organization.id);
END
$$;
REVOKE ALL ON FUNCTION tenant_iso.drop_organization(uuid) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.drop_organization(uuid) IS
'Deletes an organization and every row it owns in every tenant table; returns the number of tenant rows removed. Not executable by PUBLIC.';

/* sql/install/40_invariants.sql: the checks of tenant tables, views and other tables, defined once in C (src/invariants.c, src/views.c, src/fk.c, src/managed.c). */

------------------------------------------------------------------------------
-- How the schema check classifies relations, and the checks of each
------------------------------------------------------------------------------
-- Executable by PUBLIC: audit() is, and these read catalog facts only (and
-- the names in tenant_iso.exemptions, which PUBLIC may read too).
CREATE FUNCTION tenant_iso._table_kinds(rels oid[])
RETURNS TABLE (relid oid, kind text)
AS 'MODULE_PATHNAME', 'tenant_iso_table_kinds'
LANGUAGE C STABLE;

COMMENT ON FUNCTION tenant_iso._table_kinds(oid[]) IS
'Internal: how the schema check classifies each relation: tenant, exempt, extension, foreign, temporary, system or not a table.';


CREATE FUNCTION tenant_iso._table_checks(rels oid[])
RETURNS TABLE (relid oid, ord int, check_name text, status text, detail text)
AS 'MODULE_PATHNAME', 'tenant_iso_table_checks'
LANGUAGE C STABLE;

COMMENT ON FUNCTION tenant_iso._table_checks(oid[]) IS
'Internal: every check of every given relation (the invariants of tenant tables, the view checks, the foreign-key rule of other tables), passed or not, for audit().';


-- The invariants one table violates, in the words of the guard's error.
CREATE OR REPLACE FUNCTION tenant_iso._table_violations(rel oid)
RETURNS TABLE (check_name text, detail text, hint text)
AS 'MODULE_PATHNAME', 'tenant_iso_table_violations'
LANGUAGE C STABLE;

REVOKE ALL ON FUNCTION tenant_iso._table_violations(oid) FROM PUBLIC;


-- The invariant rows of _table_checks() (warnings left out), as 0.1.0 had them.
CREATE OR REPLACE FUNCTION tenant_iso._invariant_checks(rels oid[])
RETURNS TABLE (relid oid, ord int, check_name text, passed boolean, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relid, c.ord, c.check_name, c.status = 'ok', c.detail, NULL::text
    FROM tenant_iso._table_checks(rels) c
    WHERE c.status <> 'warning'
$$;

COMMENT ON FUNCTION tenant_iso._invariant_checks(oid[]) IS
'Internal: the invariants of tenant_iso._table_checks() for many tables at once, passed or not.';

/* sql/install/60_audit.sql: the compliance report audit() and verify() (docs/audit.md). */

------------------------------------------------------------------------------
-- The audit
------------------------------------------------------------------------------
-- SECURITY INVOKER and executable by PUBLIC: it reads only catalog facts every
-- role can read anyway (and tenant_iso.exemptions, readable by PUBLIC), never a
-- row of a tenant table.  The checks the schema check and the guard enforce
-- come from tenant_iso._table_checks() (C, one implementation); the checks
-- below are the audit's own (sequences, trigger functions, SECURITY DEFINER
-- functions, exemptions, roles).
CREATE OR REPLACE FUNCTION tenant_iso.audit()
RETURNS TABLE (relation regclass, check_name text, status text, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH
    -- every relation the audit covers, classified as the schema check does
    candidates AS (
        SELECT c.oid
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND c.relpersistence <> 't'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tenant_iso')
          AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'),
    kinds AS MATERIALIZED (
        SELECT k.relid, k.kind
        FROM tenant_iso._table_kinds((SELECT pg_catalog.array_agg(x.oid) FROM candidates x)) k),
    rels AS (
        SELECT c.oid, c.relname, n.nspname, c.relkind, k.kind,
               ext.extname, coalesce(xt.reason, xs.reason) AS reason, xt.table_name AS ex_table,
               coalesce(xt.exempted_by, xs.exempted_by) AS exempted_by,
               coalesce(xt.exempted_at, xs.exempted_at) AS exempted_at
        FROM kinds k
        JOIN pg_catalog.pg_class c ON c.oid = k.relid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN (SELECT DISTINCT ON (d.objid) d.objid, e.extname
                   FROM pg_catalog.pg_extension e
                   JOIN pg_catalog.pg_depend d
                     ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = e.oid
                   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0 AND d.deptype = 'e'
                   ORDER BY d.objid, e.extname) ext ON ext.objid = c.oid
        LEFT JOIN tenant_iso.exemptions xt ON xt.schema_name = n.nspname AND xt.table_name = c.relname
        LEFT JOIN tenant_iso.exemptions xs ON xs.schema_name = n.nspname AND xs.table_name IS NULL),
    -- the checks of src/: invariants of tenant tables, views, other tables' foreign keys
    checks AS MATERIALIZED (
        SELECT t.relid, t.ord, t.check_name, t.status, t.detail
        FROM tenant_iso._table_checks((SELECT pg_catalog.array_agg(k.relid) FROM kinds k)) t),
    -- tenant tables with the organization_id column: the audit's own checks apply to them
    tcol AS (SELECT c.relid AS oid, a.attnum
             FROM checks c
             JOIN pg_catalog.pg_attribute a
               ON a.attrelid = c.relid AND a.attname = 'organization_id' AND NOT a.attisdropped
             WHERE c.check_name = 'organization_id_column' AND c.status = 'ok'),
    -- what SECURITY DEFINER functions must not reach: tenant tables, and any table
    -- that carries the generated policy
    tenantish AS (SELECT r.oid, r.nspname, r.relname FROM rels r WHERE r.kind = 'tenant'
                  UNION
                  SELECT c.oid, n.nspname, c.relname
                  FROM pg_catalog.pg_policy p
                  JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE p.polname = 'tenant_isolation' AND n.nspname <> 'tenant_iso'),
    -- roles that row level security does not apply to
    bypass AS (SELECT r.oid, r.rolname, r.rolsuper, r.rolbypassrls
               FROM pg_catalog.pg_roles r WHERE r.rolsuper OR r.rolbypassrls),
    -- SECURITY DEFINER functions owned by such roles, and the tenant tables
    -- whose names their source mentions (a heuristic: a word match)
    sdf AS (SELECT p.oid, p.prosrc, b.rolname, b.rolsuper
            FROM pg_catalog.pg_proc p
            JOIN bypass b ON b.oid = p.proowner
            JOIN pg_catalog.pg_language l ON l.oid = p.prolang
            JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
            WHERE p.prosecdef AND l.lanname NOT IN ('c', 'internal')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tenant_iso')
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                              WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
                                AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e')),
    sdf_words AS (SELECT DISTINCT s.oid,
                         CASE WHEN m.w[1] IS NOT NULL THEN pg_catalog.replace(m.w[1], '""', '"')
                              ELSE pg_catalog.lower(m.w[2]) END AS word
                  FROM sdf s,
                       LATERAL pg_catalog.regexp_matches(s.prosrc, '"((?:[^"]|"")+)"|([[:alpha:]_][[:alnum:]_$]*)', 'g') AS m(w)),
    sdf_hits AS (SELECT w.oid, t.oid AS relid, t.nspname, t.relname
                 FROM sdf_words w JOIN tenantish t ON t.relname = w.word),
    -- columns that take their values from a sequence (serial, identity, nextval() defaults)
    -- sequences feeding a column (scanned once: pg_class can be large)
    seqsrc AS MATERIALIZED (-- sequences owned by a column (serial, identity)
                      SELECT d.refobjid AS relid, d.refobjsubid AS attnum, s.oid AS seqid
                      FROM pg_catalog.pg_class s
                      JOIN pg_catalog.pg_depend d
                        ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.oid
                       AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                       AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
                      WHERE s.relkind = 'S'
                      UNION ALL
                      -- defaults that call nextval() of any sequence
                      SELECT ad.adrelid, ad.adnum, s.oid
                      FROM pg_catalog.pg_class s
                      JOIN pg_catalog.pg_depend d
                        ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = s.oid
                       AND d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
                      JOIN pg_catalog.pg_attrdef ad ON ad.oid = d.objid
                      WHERE s.relkind = 'S'),
    seqcols AS MATERIALIZED (SELECT DISTINCT q.relid, a.attname, q.seqid,
                       CASE WHEN a.attidentity <> '' THEN 'identity' ELSE 'sequence' END AS how
                FROM seqsrc q
                JOIN tcol tc ON tc.oid = q.relid
                JOIN pg_catalog.pg_attribute a ON a.attrelid = q.relid AND a.attnum = q.attnum),
    report AS MATERIALIZED (
        SELECT c.relid, c.ord, c.check_name, c.status, c.detail
        FROM checks c
        UNION ALL
        -- 13: sequences reveal volume
        SELECT tc.oid, 13, 'sequence_columns',
               CASE WHEN bad.list IS NULL THEN 'ok' ELSE 'warning' END,
               coalesce('Column ' || bad.list || ': a sequence is shared by all tenants, so the values a tenant gets tell it how many rows all tenants created. Prefer uuid keys (DEFAULT gen_random_uuid()).',
                        'No column takes its values from a sequence.')
        FROM tcol tc
        LEFT JOIN (SELECT s.relid, pg_catalog.string_agg(pg_catalog.format('%I (%s, %s)', s.attname, s.how, s.seqid::pg_catalog.regclass),
                                                         ', ' ORDER BY s.attname) AS list
                   FROM seqcols s GROUP BY s.relid) bad ON bad.relid = tc.oid
        UNION ALL
        -- 16: SECURITY DEFINER functions of roles that bypass row level security
        SELECT first_.relid, 16, 'security_definer_function', 'warning',
               pg_catalog.format('Function %s is SECURITY DEFINER and owned by %I, which %s; its source mentions tenant tables %s (a match of names, so possibly a false alarm). It runs without row level security: whoever may call it can reach every tenant''s rows. Make it SECURITY INVOKER, or give it to an owner that row level security applies to (tenant tables force it on their owner too).',
                                 s.oid::pg_catalog.regprocedure, s.rolname,
                                 CASE WHEN s.rolsuper THEN 'is a superuser' ELSE 'has BYPASSRLS' END,
                                 hits.list)
        FROM sdf s
        JOIN (SELECT h.oid, pg_catalog.string_agg(pg_catalog.format('%I.%I', h.nspname, h.relname), ', '
                                                  ORDER BY h.nspname, h.relname) AS list
              FROM sdf_hits h GROUP BY h.oid) hits ON hits.oid = s.oid
        JOIN LATERAL (SELECT h.relid FROM sdf_hits h WHERE h.oid = s.oid
                      ORDER BY h.nspname, h.relname LIMIT 1) first_ ON true
        UNION ALL
        -- 17: foreign tables cannot carry row level security
        SELECT r.oid, 17, 'foreign_table', 'violation',
               'Foreign table: PostgreSQL cannot apply row level security to it, so tenant_iso cannot scope it. Isolate tenants on the remote side and record that with tenant_iso.exempt_table(), or move the data into a tenant table.'
        FROM rels r WHERE r.kind = 'foreign'
        UNION ALL
        -- 18: tables of other extensions are not managed
        SELECT r.oid, 18, 'extension_table', 'ok',
               pg_catalog.format('Table belongs to extension %I and is not managed by tenant_iso.', r.extname)
        FROM rels r WHERE r.kind = 'extension'
        UNION ALL
        -- 19: exemptions, reviewed as warnings: every exempt table ...
        SELECT r.oid, 19, 'exemption', 'warning',
               pg_catalog.format('Global table (%s): %s (exempted by %I on %s). Every role that may read it sees all its rows.',
                                 CASE WHEN r.ex_table IS NULL THEN pg_catalog.format('schema %I is exempt', r.nspname)
                                      ELSE 'exempt table' END,
                                 r.reason, r.exempted_by, pg_catalog.to_char(r.exempted_at, 'YYYY-MM-DD'))
        FROM rels r WHERE r.kind = 'exempt'
        UNION ALL
        -- ... every exempt schema, and exempt table names with no table yet
        SELECT NULL, 19, 'exemption', 'warning',
               CASE WHEN x.table_name IS NULL
                    THEN pg_catalog.format('Schema %I is exempt: %s (exempted by %I on %s). Tables created in it are global tables.',
                                           x.schema_name, x.reason, x.exempted_by, pg_catalog.to_char(x.exempted_at, 'YYYY-MM-DD'))
                    ELSE pg_catalog.format('Table %I.%I (not created yet) is exempt: %s (exempted by %I on %s).',
                                           x.schema_name, x.table_name, x.reason, x.exempted_by, pg_catalog.to_char(x.exempted_at, 'YYYY-MM-DD')) END
        FROM tenant_iso.exemptions x
        WHERE x.table_name IS NULL
           OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = x.schema_name AND c.relname = x.table_name)
        UNION ALL
        -- 21: trigger functions on tenant tables must pin their search_path: a trigger can
        -- run inside a referential action, as the table's owner, and an unqualified name
        -- would resolve through the caller's search_path (pg_temp first)
        SELECT tc.oid, 21, 'trigger_search_path',
               CASE WHEN bad.list IS NULL THEN 'ok' ELSE 'warning' END,
               coalesce('Trigger ' || bad.list || ': the function does not fix its search_path with pg_temp last, so an unqualified name in it resolves through the search_path of whoever fires it (temporary objects first) and can run that role''s code with the table owner''s rights, for example inside a cascade. Add SET search_path = pg_catalog, <your schemas>, pg_temp to the function (pg_temp last), or qualify every name.',
                        'Every trigger function fixes its search_path with pg_temp last (or is written in C).')
        FROM tcol tc
        LEFT JOIN (SELECT g.tgrelid, pg_catalog.string_agg(pg_catalog.format('%I (function %s)', g.tgname, g.tgfoid::pg_catalog.regprocedure),
                                                           ', ' ORDER BY g.tgname) AS list
                   FROM pg_catalog.pg_trigger g
                   JOIN pg_catalog.pg_proc p ON p.oid = g.tgfoid
                   JOIN pg_catalog.pg_language l ON l.oid = p.prolang
                   WHERE NOT g.tgisinternal AND l.lanname NOT IN ('c', 'internal')
                     -- search_path set, with pg_temp last (else it is searched first)
                     AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c(setting),
                                     LATERAL pg_catalog.string_to_array(pg_catalog.substr(c.setting, 13), ',') AS sp(parts)
                                     WHERE c.setting LIKE 'search\_path=%'
                                       AND pg_catalog.btrim(sp.parts[pg_catalog.array_length(sp.parts, 1)], ' "') = 'pg_temp')
                   GROUP BY g.tgrelid) bad ON bad.tgrelid = tc.oid
        UNION ALL
        -- 20: roles that bypass row level security, and roles that can become one
        SELECT NULL, 20, 'role_bypasses_rls', 'warning',
               pg_catalog.format('Role %I %s: row level security does not apply to it, so it reads and writes every tenant''s rows. Never let an application connect as it.',
                                 b.rolname, CASE WHEN b.rolsuper THEN 'is a superuser' ELSE 'has BYPASSRLS' END)
        FROM bypass b
        UNION ALL
        SELECT NULL, 20, 'role_bypasses_rls', 'warning',
               pg_catalog.format('Role %I is a member of %I, which %s: it can SET ROLE %I and then bypass row level security.',
                                 m.rolname, b.rolname, CASE WHEN b.rolsuper THEN 'is a superuser' ELSE 'has BYPASSRLS' END, b.rolname)
        FROM pg_catalog.pg_roles m
        JOIN bypass b ON b.oid <> m.oid AND pg_catalog.pg_has_role(m.oid, b.oid, 'MEMBER')
        WHERE NOT (m.rolsuper OR m.rolbypassrls) AND m.rolname !~ '^pg_'
        UNION ALL
        -- 30: on Citus, every shard placement and worker shell (src/citus_audit.c)
        SELECT p.relid, p.ord, p.check_name, p.status, p.detail
        FROM tenant_iso._placement_checks() p
    )
    -- sorted by schema and name: one sort key per relation, computed once
    SELECT rp.relid::pg_catalog.regclass, rp.check_name, rp.status, rp.detail
    FROM report rp
    LEFT JOIN (SELECT k.oid, pg_catalog.row_number() OVER (ORDER BY k.nspname, k.relname) AS pos
               FROM (SELECT DISTINCT c.oid, n.nspname, c.relname
                     FROM (SELECT DISTINCT x.relid FROM report x WHERE x.relid IS NOT NULL) r
                     JOIN pg_catalog.pg_class c ON c.oid = r.relid
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace) k) o ON o.oid = rp.relid
    ORDER BY o.pos NULLS LAST, rp.ord, rp.detail
$$;

COMMENT ON FUNCTION tenant_iso.audit() IS
'The compliance report: one row per table (or view, function, exemption, role) and check, with status ok, warning or violation. See docs/audit.md.';

/* sql/install/70_enroll.sql: bringing existing tables under tenant isolation (docs/adoption.md). */

------------------------------------------------------------------------------
-- Enrolment of existing tables (docs/adoption.md)
------------------------------------------------------------------------------
-- SECURITY DEFINER, not executable by PUBLIC: like create_organization(), the
-- EXECUTE privilege is the permission (superusers have it; an administrator may
-- grant it to a migration role).  Inside a SECURITY DEFINER function
-- current_user is the function's owner, so the caller's ownership of the table
-- cannot be checked here; a grantee may enroll any table the schema check
-- would manage, which is what the schema check does to every new table.
-- Runs as the extension's owner (a superuser), so the row counts see every row
-- of the table and of the registry.
CREATE OR REPLACE FUNCTION tenant_iso.enroll(rel regclass)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    kind text;
    ext text;
    ex record;
    was_tenant boolean;
    n_viol bigint;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'table to enroll must not be NULL'
            USING ERRCODE = '22004', DETAIL = 'tenant_iso.enroll() sets up exactly one table.',
                  HINT = 'Pass a table name, e.g. tenant_iso.enroll(''public.courses'').';
    END IF;
    SELECT cl.oid, cl.relkind, cl.relpersistence, n.nspname, cl.relname
      INTO c
      FROM pg_catalog.pg_class cl JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
     WHERE cl.oid = rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation with OID % does not exist', rel::oid
            USING ERRCODE = '42P01', DETAIL = 'The table may have been dropped.',
                  HINT = 'Pass the name of an existing table.';
    END IF;
    -- which tables can be tenant tables: as the schema check decides (src/managed.c)
    SELECT k.kind INTO kind FROM tenant_iso._table_kinds(ARRAY[rel::oid]) k;
    IF kind IN ('not a table', 'foreign') THEN
        RAISE EXCEPTION '% is not a table', rel
            USING ERRCODE = '42809',
                  DETAIL = 'Only ordinary and partitioned tables can be tenant tables.',
                  HINT = CASE c.relkind WHEN 'v' THEN 'Enroll the tables the view reads, and make it WITH (security_invoker = true).'
                                        WHEN 'm' THEN 'Replace the materialized view with a view or a tenant table.'
                                        WHEN 'f' THEN 'Row level security cannot apply to a foreign table: isolate tenants on the remote side and exempt it with tenant_iso.exempt_table().'
                                        ELSE 'Pass an ordinary or partitioned table.' END;
    END IF;
    IF kind IN ('temporary', 'system') THEN
        RAISE EXCEPTION 'table % cannot be a tenant table', rel
            USING ERRCODE = '42809',
                  DETAIL = 'Temporary tables, system tables and the tables of the tenant_iso schema are never tenant tables.',
                  HINT = 'Enroll your own tables.';
    END IF;
    IF kind = 'extension' THEN
        SELECT e.extname INTO ext
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = rel AND d.objsubid = 0
           AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
         LIMIT 1;
        RAISE EXCEPTION 'table % belongs to extension %', rel, ext
            USING ERRCODE = '42809',
                  DETAIL = 'Tables created by an extension''s script are not managed by tenant_iso.',
                  HINT = 'Enroll your own tables.';
    END IF;
    IF kind = 'exempt' THEN
        SELECT x.table_name, x.reason INTO ex
          FROM tenant_iso.exemptions x
         WHERE x.schema_name = c.nspname AND (x.table_name IS NULL OR x.table_name = c.relname)
         ORDER BY x.table_name NULLS LAST LIMIT 1;
        RAISE EXCEPTION 'table % is exempt from tenant isolation', rel
            USING ERRCODE = '55000',
                  DETAIL = pg_catalog.format('%s: %s', CASE WHEN ex.table_name IS NULL THEN pg_catalog.format('Schema %I is exempt', c.nspname)
                                                            ELSE 'The table is exempt' END, ex.reason),
                  HINT = 'Delete its row from tenant_iso.exemptions (as a superuser) if it holds tenant data.';
    END IF;

    -- No writes may slip in between the counts of the set-up and the trigger
    -- that guards later writes (this also waits for open writes to commit).
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', rel);

    was_tenant := EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = rel AND p.polname = 'tenant_isolation');
    SELECT pg_catalog.count(*) INTO n_viol FROM tenant_iso._invariant_checks(ARRAY[rel::oid]) v WHERE NOT v.passed;

    -- The set-up (src/setup.c): the column must exist and be uuid; every row,
    -- partitions and children included, must belong to a registered
    -- organization (else 23502 / 23503 with the counts and the first unknown
    -- ids); a nullable column without NULLs becomes NOT NULL; then the schema
    -- check's own set-up (index, row level security, policies, stamping
    -- trigger) and the invariants are verified.
    PERFORM tenant_iso._setup_table(rel);

    RETURN CASE WHEN NOT was_tenant THEN 'enrolled'
                WHEN n_viol > 0 THEN 'repaired'
                ELSE 'already enrolled' END;
END
$$;
REVOKE ALL ON FUNCTION tenant_iso.enroll(regclass) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.enroll(regclass) IS
'Brings an existing table under tenant isolation after checking that every row belongs to a registered organization; returns enrolled, repaired or already enrolled. Not executable by PUBLIC.';


CREATE OR REPLACE FUNCTION tenant_iso.enroll_schema(schema_name text)
RETURNS TABLE (relation regclass, status text, detail text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp oid;
    reason text;
    t record;
    st text;
    e_msg text;
    e_detail text;
    e_hint text;
    e_state text;
BEGIN
    IF schema_name IS NULL THEN
        RAISE EXCEPTION 'schema name must not be NULL'
            USING ERRCODE = '22004', DETAIL = 'tenant_iso.enroll_schema() enrolls the tables of one schema.',
                  HINT = 'Pass a schema name, e.g. ''public''.';
    END IF;
    SELECT n.oid INTO nsp FROM pg_catalog.pg_namespace n WHERE n.nspname = enroll_schema.schema_name;
    IF nsp IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist',
            pg_catalog.left(schema_name, 63) || CASE WHEN pg_catalog.length(schema_name) > 63 THEN '...' ELSE '' END
            USING ERRCODE = '3F000', DETAIL = 'tenant_iso.enroll_schema() takes a schema name as it is stored.',
                  HINT = 'Pass the name without quotes, e.g. ''public''.';
    END IF;
    IF schema_name IN ('pg_catalog', 'information_schema', 'tenant_iso') OR schema_name ~ '^pg_' THEN
        RAISE EXCEPTION 'schema "%" never holds tenant tables', schema_name
            USING ERRCODE = '22023', DETAIL = 'System schemas and the extension''s own schema are not managed.',
                  HINT = 'Enroll your own schemas.';
    END IF;
    SELECT x.reason INTO reason FROM tenant_iso.exemptions x
     WHERE x.schema_name = enroll_schema.schema_name AND x.table_name IS NULL;
    IF FOUND THEN
        RAISE EXCEPTION 'schema "%" is exempt from tenant isolation', schema_name
            USING ERRCODE = '55000', DETAIL = pg_catalog.format('Its exemption says: %s', reason),
                  HINT = 'Delete its row from tenant_iso.exemptions (as a superuser) if its tables hold tenant data.';
    END IF;

    -- Parents before their partitions: a partition then inherits the parent's
    -- index, foreign key and trigger, and gets its own policies.
    FOR t IN
        SELECT c.oid::pg_catalog.regclass AS rel, k.kind,
               (SELECT x.reason FROM tenant_iso.exemptions x
                 WHERE x.schema_name = enroll_schema.schema_name
                   AND (x.table_name = c.relname OR x.table_name IS NULL)
                 ORDER BY x.table_name NULLS LAST LIMIT 1) AS exempt_reason,
               (SELECT e.extname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.objsubid = 0
                   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e' LIMIT 1) AS extname
        FROM pg_catalog.pg_class c
        JOIN tenant_iso._table_kinds(ARRAY(SELECT x.oid FROM pg_catalog.pg_class x WHERE x.relnamespace = nsp)) k
          ON k.relid = c.oid
        WHERE c.relnamespace = nsp AND c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't'
        ORDER BY (SELECT pg_catalog.count(*) FROM pg_catalog.pg_partition_ancestors(c.oid)), c.relname
    LOOP
        relation := t.rel;
        IF t.kind = 'extension' THEN
            status := 'skipped';
            detail := pg_catalog.format('The table belongs to extension %I.', t.extname);
        ELSIF t.kind = 'exempt' THEN
            status := 'skipped';
            detail := pg_catalog.format('The table is exempt: %s', t.exempt_reason);
        ELSIF t.kind = 'foreign' THEN
            status := 'skipped';
            detail := 'Row level security cannot apply to a foreign table: isolate tenants on the remote side and exempt it with tenant_iso.exempt_table().';
        ELSE
            BEGIN
                st := tenant_iso.enroll(t.rel);
                status := st;
                detail := CASE st WHEN 'enrolled' THEN 'Set up: tenant index, forced row level security, policies and stamping trigger.'
                                  WHEN 'repaired' THEN 'It was a tenant table that failed checks; the missing parts were added.'
                                  ELSE 'It was a tenant table already and passes every check.' END;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL,
                                        e_hint = PG_EXCEPTION_HINT, e_state = RETURNED_SQLSTATE;
                status := 'failed';
                detail := pg_catalog.concat_ws(' ', pg_catalog.format('%s (SQLSTATE %s).', e_msg, e_state),
                                               NULLIF(e_detail, ''), NULLIF(e_hint, ''));
            END;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION tenant_iso.enroll_schema(text) FROM PUBLIC;

COMMENT ON FUNCTION tenant_iso.enroll_schema(text) IS
'Enrolls every table of a schema, each in a subtransaction of its own, and reports per table: enrolled, repaired, already enrolled, skipped or failed. Not executable by PUBLIC.';

/* sql/install/80_stats.sql: per-tenant load figures (src/stats.c, docs/operations.md). */

------------------------------------------------------------------------------
-- tenant_stats: what each tenant's statements cost, since the last reset
------------------------------------------------------------------------------
-- Not for PUBLIC: the figures tell every tenant's volume.  Superusers and
-- members of pg_read_all_stats only (also checked in C).
CREATE FUNCTION tenant_iso._tenant_stats(
    OUT organization_id uuid, OUT statements bigint, OUT rows_returned bigint,
    OUT rows_inserted bigint, OUT rows_updated bigint, OUT rows_deleted bigint,
    OUT total_exec_time double precision, OUT max_exec_time double precision,
    OUT last_statement_at timestamptz, OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'tenant_iso_tenant_stats'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION tenant_iso._tenant_stats() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION tenant_iso._tenant_stats() TO pg_read_all_stats;


CREATE VIEW tenant_iso.tenant_stats AS
    SELECT * FROM tenant_iso._tenant_stats();

REVOKE ALL ON tenant_iso.tenant_stats FROM PUBLIC;

GRANT SELECT ON tenant_iso.tenant_stats TO pg_read_all_stats;

COMMENT ON VIEW tenant_iso.tenant_stats IS
'Per organization since the last reset: top-level statements on tenant tables, rows returned / inserted / updated / deleted, total and max execution time (ms), time of the last statement. Superusers and pg_read_all_stats only.';


CREATE FUNCTION tenant_iso.tenant_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'tenant_iso_tenant_stats_reset'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION tenant_iso.tenant_stats_reset() FROM PUBLIC;

COMMENT ON FUNCTION tenant_iso.tenant_stats_reset() IS
'Forgets every tenant''s figures in tenant_iso.tenant_stats (superusers only).';

/* sql/install/90_tap.sql: pgTAP tests for users' own suites (docs/testing.md). */

------------------------------------------------------------------------------
-- One line in a pgTAP suite: fail when a table is not isolated
------------------------------------------------------------------------------
-- SECURITY INVOKER (the caller's pgTAP session state); pgTAP is found through
-- its extension's schema, whatever the caller's search_path.
CREATE FUNCTION tenant_iso._pgtap_schema()
RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp name;
BEGIN
    SELECT n.nspname INTO nsp
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgtap';
    IF nsp IS NULL THEN
        RAISE EXCEPTION 'pgTAP is not installed in this database'
            USING ERRCODE = '0A000',
                  DETAIL = 'tenant_iso''s tap_ functions return pgTAP test results.',
                  HINT = 'CREATE EXTENSION pgtap; in the database your test suite runs in.';
    END IF;
    RETURN nsp;
END
$$;


-- The TAP lines for one table: ok if it passes every check of the audit,
-- else not ok with the audit's detail of each violation as diagnostics.
-- "table schema.name is isolated by tenant", whatever the search_path
CREATE FUNCTION tenant_iso._tap_description(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('table %I.%I is isolated by tenant', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = rel
$$;


CREATE FUNCTION tenant_iso.tap_isolated(rel regclass, description text DEFAULT NULL)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tap name := tenant_iso._pgtap_schema();
    problems text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL'
            USING ERRCODE = '22004', DETAIL = 'tenant_iso.tap_isolated() tests one table.',
                  HINT = 'Pass a table name, e.g. tenant_iso.tap_isolated(''public.courses'').';
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s', a.check_name, a.detail), E'\n' ORDER BY a.nr)
      INTO problems
      FROM tenant_iso.audit() WITH ORDINALITY AS a(relation, check_name, status, detail, nr)
     WHERE a.relation = rel AND a.status = 'violation';
    IF NOT EXISTS (SELECT 1 FROM tenant_iso._table_checks(ARRAY[rel::oid]) c
                   WHERE c.check_name = 'tenant_isolation_policy') THEN
        problems := pg_catalog.concat_ws(E'\n', problems, 'Not a tenant table: it has no tenant checks.');
    END IF;
    -- pgTAP's own functions call each other unqualified: its schema goes on the path (this call only)
    PERFORM pg_catalog.set_config('search_path', pg_catalog.format('%I, pg_catalog, pg_temp', tap), true);
    RETURN QUERY EXECUTE pg_catalog.format('SELECT %I.ok($1, $2)', tap)
        USING problems IS NULL, coalesce(description, tenant_iso._tap_description(rel));
    IF problems IS NOT NULL THEN
        RETURN QUERY EXECUTE pg_catalog.format('SELECT %I.diag($1)', tap) USING problems;
    END IF;
END
$$;

COMMENT ON FUNCTION tenant_iso.tap_isolated(regclass, text) IS
'pgTAP: ok when the table is a tenant table that passes every check of tenant_iso.audit(); not ok with the violations as diagnostics.';


-- One test per table that must be a tenant table (as the schema check decides).
CREATE FUNCTION tenant_iso.tap_tables_isolated()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
BEGIN
    PERFORM tenant_iso._pgtap_schema();
    FOR t IN
        SELECT k.relid::regclass
          FROM tenant_iso._table_kinds((SELECT pg_catalog.array_agg(c.oid) FROM pg_catalog.pg_class c
                                         WHERE c.relkind IN ('r', 'p'))) k
          JOIN pg_catalog.pg_class c ON c.oid = k.relid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE k.kind = 'tenant'
         ORDER BY n.nspname, c.relname
    LOOP
        RETURN QUERY SELECT * FROM tenant_iso.tap_isolated(t);
    END LOOP;
END
$$;

COMMENT ON FUNCTION tenant_iso.tap_tables_isolated() IS
'pgTAP: one test per table the schema check treats as a tenant table, ok when tenant_iso.audit() finds no violation on it.';

------------------------------------------------------------------------------
-- Gone in 0.2.0
------------------------------------------------------------------------------
DROP FUNCTION tenant_iso._isolation_policy_exprs();
DROP DOMAIN tenant_iso.tenant_id;
DROP FUNCTION tenant_iso._base_type(oid);

------------------------------------------------------------------------------
-- The registry foreign keys of tenant tables: replaced by the registry guard
------------------------------------------------------------------------------
-- (src/registry.c: writers hold the organization's registry lock, drop_organization()
-- deletes rows table by table.)  Keys cloned onto partitions go with their parent's.
DO $$
DECLARE
    k record;
BEGIN
    FOR k IN
        SELECT c.conrelid::pg_catalog.regclass AS rel, c.conname
          FROM pg_catalog.pg_constraint c
         WHERE c.contype = 'f' AND c.conname = 'tenant_iso_organization_fk'
           AND c.confrelid = 'tenant_iso.organizations'::pg_catalog.regclass
           AND c.conparentid = 0
         ORDER BY 1
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', k.rel, k.conname);
    END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Expression index columns of tenant tables: no statistics (invariant 22)
------------------------------------------------------------------------------
-- 0.1.0 let ANALYZE collect them; the repair of 0.2.0 (src/invariants.c) runs when a
-- table is set up or enrolled, so the tables set up by 0.1.0 are brought there here.
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT i.indexrelid::pg_catalog.regclass AS idx, k.n
          FROM tenant_iso._table_kinds((SELECT pg_catalog.array_agg(c.oid) FROM pg_catalog.pg_class c
                                         WHERE c.relkind IN ('r', 'p'))) t
          JOIN pg_catalog.pg_index i ON i.indrelid = t.relid
          CROSS JOIN LATERAL pg_catalog.generate_series(1, i.indnatts) AS k(n)
         WHERE t.kind = 'tenant' AND i.indkey[k.n - 1] = 0
         ORDER BY 1, 2
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX %s ALTER COLUMN %s SET STATISTICS 0', col.idx, col.n);
        DELETE FROM pg_catalog.pg_statistic s WHERE s.starelid = col.idx AND s.staattnum = col.n;
    END LOOP;
END
$$;

/* sql/install/95_citus.sql: tenant tables on Citus (docs/citus.md): distribute(), and what nodes call on each other. */

------------------------------------------------------------------------------
-- Distributing tenant tables
------------------------------------------------------------------------------
-- SECURITY INVOKER: the C function checks that the caller owns the table (or
-- is a superuser), then does the work as the extension's owner.
CREATE FUNCTION tenant_iso.distribute(rel regclass)
RETURNS SETOF regclass
AS 'MODULE_PATHNAME', 'tenant_iso_distribute'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tenant_iso.distribute(regclass) IS
'On the Citus coordinator: distributes the tenant table by organization_id, with every tenant table not distributed yet, co-located; the first call makes tenant_iso.organizations a reference table. Returns the tables distributed. See docs/citus.md.';

------------------------------------------------------------------------------
-- Between Citus nodes
------------------------------------------------------------------------------
-- Executable by PUBLIC: a coordinator calls it on the workers as the user
-- the statement runs as; it verifies a MAC made with tenant_iso.signing_key.
CREATE FUNCTION tenant_iso._node_context(token text)
RETURNS void
AS 'MODULE_PATHNAME', 'tenant_iso_node_context'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tenant_iso._node_context(text) IS
'Internal (Citus): on a worker, the tenant the coordinator sends under require_signed_context, from a node token; for the current transaction.';

-- Executable by PUBLIC, like audit(): catalog facts of one relation on this node.
CREATE FUNCTION tenant_iso._shard_violations(rel oid)
RETURNS text
AS 'MODULE_PATHNAME', 'tenant_iso_shard_violations'
LANGUAGE C STABLE;
COMMENT ON FUNCTION tenant_iso._shard_violations(oid) IS
'Internal (Citus): the checks a shard placement, worker shell or registry placement fails on this node, for audit().';

CREATE FUNCTION tenant_iso._placement_checks()
RETURNS TABLE (relid oid, ord int, check_name text, status text, detail text)
AS 'MODULE_PATHNAME', 'tenant_iso_placement_checks'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION tenant_iso._placement_checks() IS
'Internal (Citus): the audit rows of every shard placement and worker shell of every distributed tenant table and of the registry; nothing without Citus.';
