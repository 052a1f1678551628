/* sql/0.1.0/60_audit.sql: tenant_iso 0.1.0 install script, part 3: the audit, verify() and the enrolment of existing tables (docs/audit.md, docs/adoption.md). */

------------------------------------------------------------------------------
-- The per-table invariants, set-based
------------------------------------------------------------------------------
-- The expression of the generated tenant_isolation policy, as pg_get_expr()
-- prints it with search_path = pg_catalog, pg_temp, for a uuid column and for a
-- domain over uuid.  It must match what src/ddl.c creates and what
-- tenant_iso._table_violations() accepts.
CREATE FUNCTION tenant_iso._isolation_policy_exprs()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY['(organization_id = tenant_iso.current_org_id())',
                   '((organization_id)::uuid = tenant_iso.current_org_id())']::text[] $$;

-- The invariants of tenant_iso._table_violations() for many tables at once,
-- one row per table and check, passed or not (the audit needs both).  The
-- check names, their order and their hints are those of _table_violations();
-- the details are written in the present tense.  Checks that need the
-- organization_id column (type, NOT NULL, index, registry key) are omitted
-- for a table without it, as in _table_violations().
CREATE FUNCTION tenant_iso._invariant_checks(rels oid[])
RETURNS TABLE (relid oid, ord int, check_name text, passed boolean, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE
    -- uuid and every domain over it (tenant_iso._base_type() for all types at
    -- once: a call per column would cost more than the rest of the checks)
    uuidtypes AS (SELECT 'pg_catalog.uuid'::pg_catalog.regtype::oid AS oid
                  UNION
                  SELECT t.oid FROM pg_catalog.pg_type t JOIN uuidtypes u ON t.typbasetype = u.oid
                  WHERE t.typtype = 'd'),
    -- one row per table: the facts every check needs
    base AS MATERIALIZED (
        SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity,
               a.attnum, a.atttypid, a.atttypmod, a.attnotnull,
               CASE WHEN a.attnum IS NOT NULL THEN a.atttypid IN (SELECT u.oid FROM uuidtypes u) END AS is_uuid,
               -- uncorrelated IN: one hashed scan of each catalog, not a probe per table
               (c.oid, a.attnum) IN (SELECT i.indrelid, i.indkey[0] FROM pg_catalog.pg_index i
                                     WHERE i.indpred IS NULL AND i.indisvalid) AS has_index,
               (c.oid, ARRAY[a.attnum]) IN (SELECT k.conrelid, k.conkey FROM pg_catalog.pg_constraint k
                                            WHERE k.contype = 'f'
                                              AND k.confrelid = 'tenant_iso.organizations'::pg_catalog.regclass
                                              AND k.confdeltype = 'c' AND k.convalidated) AS has_fk,
               c.oid IN (SELECT g.tgrelid FROM pg_catalog.pg_trigger g
                         WHERE g.tgname = 'tenant_iso_stamp'
                           AND g.tgfoid = 'tenant_iso.stamp_organization_id()'::pg_catalog.regprocedure
                           AND g.tgenabled IN ('O', 'A')
                           AND (g.tgtype::int & 31) = 23) AS has_trigger,    -- ROW | BEFORE | INSERT | UPDATE
               p.oid IS NOT NULL AS has_policy,
               p.polqual::text AS tq, p.polwithcheck::text AS tw,
               (NOT p.polpermissive AND p.polcmd = '*' AND p.polroles = '{0}'::oid[]) AS policy_kind_ok
        FROM (SELECT DISTINCT u.x FROM pg_catalog.unnest(rels) AS u(x)) r
        JOIN pg_catalog.pg_class c ON c.oid = r.x
        LEFT JOIN pg_catalog.pg_attribute a
          ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
        LEFT JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_isolation'),
    -- Deparsing every policy with pg_get_expr() would open every table (slow
    -- in a fresh session).  Instead the stored trees are compared: blanked of
    -- locations and column numbers, each distinct tree is deparsed once, from
    -- one table, and compared with the generated expression; and each table's
    -- tree must name its own organization_id column.  Regular expressions run
    -- once per distinct tree text, not once per table.
    texts AS MATERIALIZED (
        SELECT DISTINCT x.txt
        FROM base b, LATERAL (VALUES (b.tq), (b.tw)) AS x(txt)
        WHERE x.txt IS NOT NULL),
    tmap AS MATERIALIZED (
        SELECT x.txt, y.norm, pg_catalog.dense_rank() OVER (ORDER BY y.norm) AS normid,
               pg_catalog.substring(x.txt, ':varattno (-?[0-9]+) ')::int AS attno
        FROM texts x,
             LATERAL (SELECT pg_catalog.regexp_replace(x.txt, ':(location|varattno|varattnosyn) -?[0-9]+', ':\1 ?', 'g') AS norm) y),
    shaped AS MATERIALIZED (
        SELECT b.oid, mq.normid AS nq, mw.normid AS nw,
               coalesce(b.policy_kind_ok AND mq.attno = b.attnum AND mw.attno = b.attnum, false) AS policy_shape
        FROM base b
        LEFT JOIN tmap mq ON mq.txt = b.tq
        LEFT JOIN tmap mw ON mw.txt = b.tw),
    rep AS MATERIALIZED (
        SELECT x.nq, x.nw, pg_catalog.min(x.oid) AS oid
        FROM shaped x WHERE x.policy_shape
        GROUP BY x.nq, x.nw),
    good AS MATERIALIZED (
        SELECT rep.nq, rep.nw
        FROM rep
        JOIN pg_catalog.pg_policy p ON p.polrelid = rep.oid AND p.polname = 'tenant_isolation',
             (SELECT tenant_iso._isolation_policy_exprs() AS exprs) e
        WHERE pg_catalog.pg_get_expr(p.polqual, p.polrelid) = ANY (e.exprs)
          AND pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) = ANY (e.exprs)),
    -- unique keys and exclusion constraints without organization_id (a unique
    -- key of one uuid column is fine: a random id cannot be guessed)
    uk AS (
        SELECT u.indrelid,
               pg_catalog.string_agg(pg_catalog.format('%I on (%s)', ic.relname,
                                     pg_catalog.array_to_string(ARRAY(
                                         SELECT coalesce(pg_catalog.quote_ident(a.attname), 'expression')
                                         FROM pg_catalog.unnest(u.keys) WITH ORDINALITY AS k(attnum, ord)
                                         LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = u.indrelid AND a.attnum = k.attnum
                                         ORDER BY k.ord), ', ')),
                                     ', ' ORDER BY ic.relname) AS list
        FROM (SELECT i.indrelid, i.indexrelid, i.indnkeyatts, i.indisunique, b.attnum AS orgatt,
                     (i.indkey::pg_catalog.int2[])[0:i.indnkeyatts - 1] AS keys
              FROM pg_catalog.pg_index i JOIN base b ON b.oid = i.indrelid
              WHERE (i.indisunique OR i.indisexclusion) AND b.attnum IS NOT NULL) u
        JOIN pg_catalog.pg_class ic ON ic.oid = u.indexrelid
        WHERE NOT (u.orgatt = ANY (u.keys))
          AND NOT (u.indisunique AND u.indnkeyatts = 1 AND u.keys[1] <> 0 AND EXISTS (
                   SELECT 1 FROM pg_catalog.pg_attribute a1
                   WHERE a1.attrelid = u.indrelid AND a1.attnum = u.keys[1]
                     AND a1.atttypid IN (SELECT ut.oid FROM uuidtypes ut)))
        GROUP BY u.indrelid),
    -- foreign keys to tenant tables that do not pair organization_id on both sides
    fk AS (
        SELECT k.conrelid,
               pg_catalog.string_agg(DISTINCT pg_catalog.format('%I (to %s)', k.conname, k.confrelid::pg_catalog.regclass), ', ') AS list
        FROM pg_catalog.pg_constraint k JOIN base b ON b.oid = k.conrelid
        WHERE k.contype = 'f' AND b.attnum IS NOT NULL
          AND k.confrelid <> 'tenant_iso.organizations'::pg_catalog.regclass
          AND k.confrelid IN (SELECT p.polrelid FROM pg_catalog.pg_policy p WHERE p.polname = 'tenant_isolation')
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.generate_subscripts(k.conkey, 1) s(i)
                          JOIN pg_catalog.pg_attribute pa ON pa.attrelid = k.confrelid
                           AND pa.attnum = k.confkey[s.i] AND pa.attname = 'organization_id'
                          WHERE k.conkey[s.i] = b.attnum)
        GROUP BY k.conrelid),
    facts AS (
        SELECT b.oid, b.relrowsecurity, b.relforcerowsecurity, b.attnum, b.atttypid, b.atttypmod, b.attnotnull,
               b.is_uuid, b.has_index, b.has_fk, b.has_trigger, b.has_policy,
               coalesce(x.policy_shape AND g.nq IS NOT NULL, false) AS policy_ok,
               uk.list AS bad_keys, fk.list AS bad_fks
        FROM base b
        JOIN shaped x ON x.oid = b.oid
        LEFT JOIN good g ON g.nq = x.nq AND g.nw = x.nw
        LEFT JOIN uk ON uk.indrelid = x.oid
        LEFT JOIN fk ON fk.conrelid = x.oid)
    SELECT f.oid, v.ord, v.check_name, v.passed, v.detail, v.hint
    FROM facts f,
    LATERAL (VALUES
        (1, 'organization_id_column', f.attnum IS NOT NULL,
         CASE WHEN f.attnum IS NOT NULL THEN 'Column "organization_id" is present.'
              ELSE 'The table has no "organization_id" column.' END,
         'Keep the column "organization_id uuid NOT NULL".', true),
        (2, 'organization_id_type', f.is_uuid,
         CASE WHEN f.is_uuid THEN 'Column "organization_id" is of type uuid.'
              ELSE pg_catalog.format('Column "organization_id" is of type %s, not uuid.',
                                     pg_catalog.format_type(f.atttypid, f.atttypmod)) END,
         'Keep the column of type uuid.', f.attnum IS NOT NULL),
        (3, 'organization_id_not_null', f.attnotnull,
         CASE WHEN f.attnotnull THEN 'Column "organization_id" is NOT NULL.'
              ELSE 'Column "organization_id" accepts NULL.' END,
         'Keep the column NOT NULL.', f.attnum IS NOT NULL),
        (4, 'row_level_security', f.relrowsecurity AND f.relforcerowsecurity,
         CASE WHEN f.relrowsecurity AND f.relforcerowsecurity THEN 'Row level security is enabled and forced.'
              WHEN f.relrowsecurity THEN 'Row level security is enabled but not forced: the table owner bypasses it.'
              ELSE 'Row level security is not enabled.' END,
         'Keep ENABLE ROW LEVEL SECURITY and FORCE ROW LEVEL SECURITY on tenant tables.', true),
        (5, 'tenant_isolation_policy', f.policy_ok,
         CASE WHEN f.policy_ok THEN 'Policy "tenant_isolation" is the generated one.'
              WHEN NOT f.has_policy THEN 'Policy "tenant_isolation" is missing.'
              ELSE 'Policy "tenant_isolation" is no longer the generated one (restrictive, FOR ALL, TO PUBLIC, comparing organization_id with the current tenant).' END,
         CASE WHEN NOT f.has_policy THEN 'Keep the generated policy; add your own policies beside it to narrow access.'
              ELSE 'Keep the generated policy unchanged; add your own policies beside it to narrow access.' END, true),
        (7, 'tenant_index', f.has_index,
         CASE WHEN f.has_index THEN 'An index leads with "organization_id".'
              ELSE 'No index leads with "organization_id".' END,
         'Keep at least one index whose first column is organization_id.', f.attnum IS NOT NULL),
        (8, 'registry_foreign_key', f.has_fk,
         CASE WHEN f.has_fk THEN 'A foreign key from "organization_id" to tenant_iso.organizations (id) ON DELETE CASCADE is in place.'
              ELSE 'The foreign key from "organization_id" to tenant_iso.organizations (id) ON DELETE CASCADE is missing.' END,
         'Keep the generated foreign key constraint "tenant_iso_organization_fk".', f.attnum IS NOT NULL),
        (9, 'stamping_trigger', f.has_trigger,
         CASE WHEN f.has_trigger THEN 'The stamping trigger "tenant_iso_stamp" is in place and enabled.'
              ELSE 'The stamping trigger "tenant_iso_stamp" is missing or disabled.' END,
         'Keep the generated trigger enabled.', true),
        (10, 'unique_key_without_tenant', f.bad_keys IS NULL,
         CASE WHEN f.bad_keys IS NULL THEN 'Every unique key includes "organization_id" or is a single uuid column.'
              ELSE pg_catalog.format('Unique key %s does not include "organization_id": its duplicate-key error tells one tenant that a value exists at another.', f.bad_keys) END,
         'Include organization_id in the key, e.g. UNIQUE (organization_id, email); a key of a single uuid column is fine (a random id cannot be guessed).',
         f.attnum IS NOT NULL),
        (11, 'foreign_key_without_tenant', f.bad_fks IS NULL,
         CASE WHEN f.bad_fks IS NULL THEN 'Every foreign key to a tenant table matches "organization_id" on both sides.'
              ELSE pg_catalog.format('Foreign key %s does not match "organization_id" on both sides: foreign-key checks do not see row level security, so one tenant could probe and reference another tenant''s rows.', f.bad_fks) END,
         'Reference the parent''s (organization_id, id) key: FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id).',
         f.attnum IS NOT NULL)
    ) AS v(ord, check_name, passed, detail, hint, applies)
    WHERE v.applies
$$;
COMMENT ON FUNCTION tenant_iso._invariant_checks(oid[]) IS
'Internal: the invariants of tenant_iso._table_violations() for many tables at once, passed or not.';

------------------------------------------------------------------------------
-- The audit
------------------------------------------------------------------------------
-- SECURITY INVOKER and executable by PUBLIC: it reads only catalog facts every
-- role can read anyway (and tenant_iso.exemptions, readable by PUBLIC), never a
-- row of a tenant table.  Each kind of check is one query over all tables.
CREATE FUNCTION tenant_iso.audit()
RETURNS TABLE (relation regclass, check_name text, status text, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE
    -- uuid and every domain over it
    uuidtypes AS (SELECT 'pg_catalog.uuid'::pg_catalog.regtype::oid AS oid
                  UNION
                  SELECT t.oid FROM pg_catalog.pg_type t JOIN uuidtypes u ON t.typbasetype = u.oid
                  WHERE t.typtype = 'd'),
    -- every table the audit covers, classified like the schema check does
    -- (src/ddl.c, ti_relation_is_managed): extension member, exempt, foreign,
    -- or tenant table (all others, whether set up or not)
    rels AS (
        SELECT c.oid, c.relname, n.nspname, c.relkind,
               ext.extname, coalesce(xt.reason, xs.reason) AS reason, xt.table_name AS ex_table,
               coalesce(xt.exempted_by, xs.exempted_by) AS exempted_by,
               coalesce(xt.exempted_at, xs.exempted_at) AS exempted_at,
               CASE WHEN ext.extname IS NOT NULL THEN 'extension'
                    WHEN coalesce(xt.reason, xs.reason) IS NOT NULL THEN 'exempt'
                    WHEN c.relkind = 'f' THEN 'foreign'
                    ELSE 'tenant' END AS kind
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN (SELECT DISTINCT ON (d.objid) d.objid, e.extname
                   FROM pg_catalog.pg_extension e
                   JOIN pg_catalog.pg_depend d
                     ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = e.oid
                   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0 AND d.deptype = 'e'
                   ORDER BY d.objid, e.extname) ext ON ext.objid = c.oid
        LEFT JOIN tenant_iso.exemptions xt ON xt.schema_name = n.nspname AND xt.table_name = c.relname
        LEFT JOIN tenant_iso.exemptions xs ON xs.schema_name = n.nspname AND xs.table_name IS NULL
        WHERE c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tenant_iso')
          AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    ),
    tenant AS (SELECT r.oid, r.nspname, r.relname FROM rels r WHERE r.kind = 'tenant'),
    -- what views, functions and foreign keys must not reach into: the tables
    -- above, and any table that carries the generated policy
    tenantish AS (SELECT t.oid, t.nspname, t.relname FROM tenant t
                  UNION
                  SELECT c.oid, n.nspname, c.relname
                  FROM pg_catalog.pg_policy p
                  JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE p.polname = 'tenant_isolation' AND n.nspname <> 'tenant_iso'),
    -- tenant tables with the organization_id column: the checks beyond the
    -- invariants apply to them
    tcol AS (SELECT t.oid, a.attnum
             FROM tenant t JOIN pg_catalog.pg_attribute a
               ON a.attrelid = t.oid AND a.attname = 'organization_id' AND NOT a.attisdropped),
    -- indexes of those tables that neither lead with organization_id nor are
    -- on a single uuid column
    idx AS (SELECT tc.oid AS relid, ic.relname AS indname
            FROM tcol tc
            JOIN pg_catalog.pg_index i ON i.indrelid = tc.oid
            JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
            WHERE i.indkey[0] <> tc.attnum
              AND NOT (i.indnkeyatts = 1 AND i.indkey[0] <> 0
                       AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = tc.oid AND a.attnum = i.indkey[0]
                                     AND a.atttypid IN (SELECT ut.oid FROM uuidtypes ut)))),
    -- views and materialized views that read tenant tables, directly or through other views
    vdeps AS (SELECT DISTINCT w.ev_class AS viewid, d.refobjid AS reads
              FROM pg_catalog.pg_rewrite w
              JOIN pg_catalog.pg_depend d
                ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid
               AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid <> w.ev_class
              WHERE w.rulename = '_RETURN'),
    reach AS (SELECT v.viewid, v.reads AS tenant_rel
              FROM vdeps v JOIN tenantish t ON t.oid = v.reads
              UNION
              SELECT v.viewid, r.tenant_rel
              FROM vdeps v JOIN reach r ON r.viewid = v.reads),
    views AS (SELECT c.oid, c.relkind, c.relowner, c.reloptions,
                     pg_catalog.string_agg(r.tenant_rel::pg_catalog.regclass::text, ', '
                                           ORDER BY r.tenant_rel::pg_catalog.regclass::text) AS reads
              FROM (SELECT DISTINCT viewid, tenant_rel FROM reach) r
              JOIN pg_catalog.pg_class c ON c.oid = r.viewid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('v', 'm')
                AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tenant_iso')
              GROUP BY c.oid, c.relkind, c.relowner, c.reloptions),
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
    inv AS (SELECT * FROM tenant_iso._invariant_checks((SELECT pg_catalog.array_agg(t.oid) FROM tenant t))),
    report AS MATERIALIZED (
        -- 1-9: the invariants of every tenant table
        SELECT i.relid, i.ord, i.check_name,
               CASE WHEN i.passed THEN 'ok' ELSE 'violation' END AS status,
               CASE WHEN i.passed THEN i.detail ELSE i.detail || ' ' || i.hint END AS detail
        FROM inv i
        UNION ALL
        -- 11: a table that is not a tenant table must not reference one
        SELECT r.oid, 11, 'foreign_key_into_tenant_table', 'violation',
               pg_catalog.format('Foreign key %s references a tenant table from a table that is not one: every tenant can write this table, and its foreign-key checks tell whether another tenant''s row exists. Make the table a tenant table, or drop the foreign key.', bad.list)
        FROM rels r
        JOIN (SELECT k.conrelid, pg_catalog.string_agg(DISTINCT pg_catalog.format('%I (to %s)', k.conname, k.confrelid::pg_catalog.regclass), ', ') AS list
              FROM pg_catalog.pg_constraint k JOIN tenantish t ON t.oid = k.confrelid
              WHERE k.contype = 'f'
              GROUP BY k.conrelid) bad ON bad.conrelid = r.oid
        WHERE r.kind <> 'tenant'
        UNION ALL
        -- 12: indexes should lead with organization_id (or be a single uuid column)
        SELECT tc.oid, 12, 'index_leading_column',
               CASE WHEN bad.list IS NULL THEN 'ok' ELSE 'warning' END,
               coalesce('Index ' || bad.list || ' does not lead with "organization_id": its index condition runs before the tenant filter, so EXPLAIN ANALYZE row counts can reveal whether another tenant has a matching row. Put organization_id first (btree_gin or btree_gist make that possible for GIN and GiST).',
                        'Every index leads with "organization_id" or is on a single uuid column.')
        FROM tcol tc
        LEFT JOIN (SELECT x.relid, pg_catalog.string_agg(pg_catalog.quote_ident(x.indname), ', ' ORDER BY x.indname) AS list
                   FROM idx x
                   GROUP BY x.relid) bad ON bad.relid = tc.oid
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
        -- 14: views over tenant tables run with the caller's rights
        SELECT v.oid, 14, 'view_security_invoker',
               CASE WHEN si.on_ THEN 'ok' ELSE 'violation' END,
               CASE WHEN si.on_ THEN pg_catalog.format('View reads tenant tables (%s) with the rights of its caller (security_invoker).', v.reads)
                    ELSE pg_catalog.format('View reads tenant tables (%s) with the rights of its owner %I, not of its caller. Set ALTER VIEW %s SET (security_invoker = true).',
                                           v.reads, pg_catalog.pg_get_userbyid(v.relowner), v.oid::pg_catalog.regclass) END
        FROM views v
        LEFT JOIN LATERAL (SELECT coalesce(pg_catalog.bool_or(o.option_value::boolean), false) AS on_
                           FROM pg_catalog.pg_options_to_table(v.reloptions) o
                           WHERE o.option_name = 'security_invoker') si ON true
        WHERE v.relkind = 'v'
        UNION ALL
        -- 15: materialized views over tenant tables
        SELECT v.oid, 15, 'materialized_view', 'violation',
               pg_catalog.format('Materialized view stores rows of tenant tables (%s) computed once, by one role, and shows them to every role that may read it. Use a view (WITH (security_invoker = true)) or a tenant table instead.', v.reads)
        FROM views v WHERE v.relkind = 'm'
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
CREATE FUNCTION tenant_iso.enroll(rel regclass)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    col record;
    ext text;
    ex record;
    was_tenant boolean;
    n_viol bigint;
    has_fk boolean;
    nulls bigint := 0;
    unknown bigint := 0;
    samples text;
    n_ids bigint := 0;
    msgs text[] := '{}';
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
    -- which tables can be tenant tables: as the schema check decides (src/ddl.c)
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', rel
            USING ERRCODE = '42809',
                  DETAIL = 'Only ordinary and partitioned tables can be tenant tables.',
                  HINT = CASE c.relkind WHEN 'v' THEN 'Enroll the tables the view reads, and make it WITH (security_invoker = true).'
                                        WHEN 'm' THEN 'Replace the materialized view with a view or a tenant table.'
                                        WHEN 'f' THEN 'Row level security cannot apply to a foreign table: isolate tenants on the remote side and exempt it with tenant_iso.exempt_table().'
                                        ELSE 'Pass an ordinary or partitioned table.' END;
    END IF;
    IF c.relpersistence = 't' OR c.nspname IN ('pg_catalog', 'information_schema', 'tenant_iso')
       OR c.nspname ~ '^pg_(toast|temp_|toast_temp_)' THEN
        RAISE EXCEPTION 'table % cannot be a tenant table', rel
            USING ERRCODE = '42809',
                  DETAIL = 'Temporary tables, system tables and the tables of the tenant_iso schema are never tenant tables.',
                  HINT = 'Enroll your own tables.';
    END IF;
    SELECT e.extname INTO ext
      FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = rel AND d.objsubid = 0
       AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
     LIMIT 1;
    IF ext IS NOT NULL THEN
        RAISE EXCEPTION 'table % belongs to extension %', rel, ext
            USING ERRCODE = '42809',
                  DETAIL = 'Tables created by an extension''s script are not managed by tenant_iso.',
                  HINT = 'Enroll your own tables.';
    END IF;
    SELECT x.table_name, x.reason INTO ex
      FROM tenant_iso.exemptions x
     WHERE x.schema_name = c.nspname AND (x.table_name IS NULL OR x.table_name = c.relname)
     ORDER BY x.table_name NULLS LAST LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table % is exempt from tenant isolation', rel
            USING ERRCODE = '55000',
                  DETAIL = pg_catalog.format('%s: %s', CASE WHEN ex.table_name IS NULL THEN pg_catalog.format('Schema %I is exempt', c.nspname)
                                                            ELSE 'The table is exempt' END, ex.reason),
                  HINT = 'Delete its row from tenant_iso.exemptions (as a superuser) if it holds tenant data.';
    END IF;

    -- No writes may slip in between the counts below and the constraints
    -- that enforce them (this also waits for open writes to commit).
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', rel);

    was_tenant := EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = rel AND p.polname = 'tenant_isolation');
    SELECT pg_catalog.count(*) INTO n_viol FROM tenant_iso._invariant_checks(ARRAY[rel::oid]) v WHERE NOT v.passed;

    SELECT a.attnum, a.atttypid, a.attnotnull INTO col
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = rel AND a.attname = 'organization_id' AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no "organization_id" column', rel
            USING ERRCODE = '42P16',
                  DETAIL = 'Every row of a tenant table must name the organization that owns it.',
                  HINT = pg_catalog.format('Add it with ALTER TABLE %s ADD COLUMN organization_id uuid, fill it for every row, then enroll the table again; or exempt a global table with tenant_iso.exempt_table().', rel);
    END IF;
    IF col.atttypid <> 'pg_catalog.uuid'::pg_catalog.regtype
       AND tenant_iso._base_type(col.atttypid) <> 'pg_catalog.uuid'::pg_catalog.regtype THEN
        RAISE EXCEPTION 'column "organization_id" of table % must be of type uuid', rel
            USING ERRCODE = '42P16',
                  DETAIL = pg_catalog.format('It is of type %s.', pg_catalog.format_type(col.atttypid, NULL)),
                  HINT = pg_catalog.format('Convert it with ALTER TABLE %s ALTER COLUMN organization_id TYPE uuid USING organization_id::uuid, then enroll the table again.', rel);
    END IF;

    -- Every row must belong to a registered organization.  Counted over the
    -- table and its partitions or inheritance children (SET NOT NULL reaches
    -- them all); skipped where the constraints already guarantee it.
    has_fk := EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                      WHERE k.conrelid = rel AND k.contype = 'f'
                        AND k.confrelid = 'tenant_iso.organizations'::pg_catalog.regclass
                        AND k.conkey = ARRAY[col.attnum] AND k.convalidated);
    IF NOT col.attnotnull OR NOT has_fk THEN
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*) FILTER (WHERE t.organization_id IS NULL), '
            '       pg_catalog.count(*) FILTER (WHERE t.organization_id IS NOT NULL AND o.id IS NULL) '
            'FROM %s t LEFT JOIN tenant_iso.organizations o ON o.id OPERATOR(pg_catalog.=) t.organization_id', rel)
            INTO nulls, unknown;
    END IF;
    IF unknown > 0 THEN
        -- the number of distinct unknown ids, and the first five of them
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*), pg_catalog.string_agg(u.id::text, '', '' ORDER BY u.id) FILTER (WHERE u.n OPERATOR(pg_catalog.<=) 5) '
            'FROM (SELECT d.id, pg_catalog.row_number() OVER (ORDER BY d.id) AS n FROM ('
            '  SELECT DISTINCT t.organization_id::pg_catalog.uuid AS id FROM %s t'
            '  WHERE t.organization_id IS NOT NULL'
            '    AND NOT EXISTS (SELECT 1 FROM tenant_iso.organizations o WHERE o.id OPERATOR(pg_catalog.=) t.organization_id)) d) u', rel)
            INTO n_ids, samples;
    END IF;
    IF nulls > 0 OR unknown > 0 THEN
        IF nulls > 0 THEN
            msgs := msgs || pg_catalog.format('%s %s organization_id NULL.', nulls,
                                              CASE WHEN nulls = 1 THEN 'row has' ELSE 'rows have' END);
        END IF;
        IF unknown > 0 THEN
            msgs := msgs || pg_catalog.format('%s %s an organization_id that is not in tenant_iso.organizations (%s%s).', unknown,
                                              CASE WHEN unknown = 1 THEN 'row has' ELSE 'rows have' END,
                                              CASE WHEN n_ids > 5 THEN pg_catalog.format('%s ids, among them ', n_ids) ELSE '' END, samples);
        END IF;
        RAISE EXCEPTION 'cannot enroll table %: % of its rows belong to no registered organization', rel, nulls + unknown
            USING ERRCODE = CASE WHEN nulls > 0 THEN '23502' ELSE '23503' END,
                  DETAIL = pg_catalog.array_to_string(msgs, ' '),
                  HINT = 'Set organization_id on the rows that lack one (or delete them), register the missing organizations with tenant_iso.create_organization(name, id), then enroll the table again.';
    END IF;

    IF NOT col.attnotnull THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN organization_id SET NOT NULL', rel);
        RAISE NOTICE 'tenant_iso set column "organization_id" of table % NOT NULL', rel
            USING DETAIL = 'No row had a NULL organization_id.';
    END IF;

    -- The schema check's own set-up: index, registry key, row level
    -- security, policies, stamping trigger; then the invariants are verified.
    PERFORM tenant_iso._setup_table(rel);

    RETURN CASE WHEN NOT was_tenant THEN 'enrolled'
                WHEN n_viol > 0 THEN 'repaired'
                ELSE 'already enrolled' END;
END
$$;
REVOKE ALL ON FUNCTION tenant_iso.enroll(regclass) FROM PUBLIC;
COMMENT ON FUNCTION tenant_iso.enroll(regclass) IS
'Brings an existing table under tenant isolation after checking that every row belongs to a registered organization; returns enrolled, repaired or already enrolled. Not executable by PUBLIC.';

CREATE FUNCTION tenant_iso.enroll_schema(schema_name text)
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
        SELECT c.oid::pg_catalog.regclass AS rel, c.relkind,
               (SELECT x.reason FROM tenant_iso.exemptions x
                 WHERE x.schema_name = enroll_schema.schema_name AND x.table_name = c.relname) AS exempt_reason,
               (SELECT e.extname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.objsubid = 0
                   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e' LIMIT 1) AS extname
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace = nsp AND c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't'
        ORDER BY (SELECT pg_catalog.count(*) FROM pg_catalog.pg_partition_ancestors(c.oid)), c.relname
    LOOP
        relation := t.rel;
        IF t.extname IS NOT NULL THEN
            status := 'skipped';
            detail := pg_catalog.format('The table belongs to extension %I.', t.extname);
        ELSIF t.exempt_reason IS NOT NULL THEN
            status := 'skipped';
            detail := pg_catalog.format('The table is exempt: %s', t.exempt_reason);
        ELSIF t.relkind = 'f' THEN
            status := 'skipped';
            detail := 'Row level security cannot apply to a foreign table: isolate tenants on the remote side and exempt it with tenant_iso.exempt_table().';
        ELSE
            BEGIN
                st := tenant_iso.enroll(t.rel);
                status := st;
                detail := CASE st WHEN 'enrolled' THEN 'Set up: tenant index, registry foreign key, forced row level security, policies and stamping trigger.'
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
