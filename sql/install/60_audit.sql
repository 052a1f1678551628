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
CREATE FUNCTION tenant_iso.audit()
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

------------------------------------------------------------------------------
-- verify(): one line for migration pipelines
------------------------------------------------------------------------------
CREATE FUNCTION tenant_iso.verify()
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    lines text;
BEGIN
    SELECT pg_catalog.count(*),
           pg_catalog.string_agg(pg_catalog.format('%s: %s: %s', coalesce(a.relation::text, '-'), a.check_name, a.detail),
                                 E'\n' ORDER BY a.nr)
      INTO n, lines
      FROM tenant_iso.audit() WITH ORDINALITY AS a(relation, check_name, status, detail, nr)
     WHERE a.status = 'violation';
    IF n > 0 THEN
        RAISE EXCEPTION 'tenant isolation audit found % violation%', n, CASE WHEN n = 1 THEN '' ELSE 's' END
            USING ERRCODE = 'TI004',
                  DETAIL = lines,
                  HINT = 'SELECT * FROM tenant_iso.audit() WHERE status <> ''ok'' shows the full report; docs/audit.md says how to fix each check.';
    END IF;
END
$$;
COMMENT ON FUNCTION tenant_iso.verify() IS
'Raises an error (SQLSTATE TI004) listing every violation tenant_iso.audit() finds, or returns quietly. For migration pipelines.';

