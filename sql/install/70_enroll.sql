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
CREATE FUNCTION tenant_iso.enroll(rel regclass)
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
