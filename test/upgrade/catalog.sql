-- test/upgrade/catalog.sql: one line per fact of the tenant_iso extension's objects, for
-- comparing a fresh install with an upgraded one (test/t/upgrade.sh).  Covers the
-- extension row, its members with their definitions, owners, privileges and comments,
-- the schema, the event trigger, the columns, constraints, indexes, policies and triggers
-- of its tables.  Object identities are by name, never by oid.
WITH ext AS (SELECT e.oid, e.extname, e.extnamespace, e.extrelocatable, e.extversion,
                    e.extconfig, e.extcondition FROM pg_extension e WHERE e.extname = 'tenant_iso'),
members AS (
    SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
ext_tables AS (SELECT m.objid AS relid FROM members m WHERE m.classid = 'pg_class'::regclass)
SELECT fact FROM (
    SELECT format('extension %s schema=%s relocatable=%s config=%s conditions=%s',
                  extname, extnamespace::regnamespace, extrelocatable,
                  (SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM unnest(extconfig) c), extcondition) AS fact
    FROM ext
    UNION ALL
    SELECT format('member %s', pg_describe_object(classid, objid, objsubid)) FROM members
    UNION ALL
    SELECT format('function %s: %s acl=%s owner=%s comment=%s', p.oid::regprocedure, pg_get_functiondef(p.oid),
                  p.proacl, p.proowner::regrole, obj_description(p.oid, 'pg_proc'))
    FROM members m JOIN pg_proc p ON p.oid = m.objid WHERE m.classid = 'pg_proc'::regclass AND p.prokind <> 'a'
    UNION ALL
    SELECT format('relation %s kind=%s acl=%s owner=%s rls=%s/%s comment=%s view=%s',
                  c.oid::regclass, c.relkind, c.relacl, c.relowner::regrole, c.relrowsecurity, c.relforcerowsecurity,
                  obj_description(c.oid, 'pg_class'),
                  CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END)
    FROM ext_tables t JOIN pg_class c ON c.oid = t.relid
    UNION ALL
    SELECT format('column %s.%s %s notnull=%s default=%s acl=%s comment=%s', a.attrelid::regclass, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attacl,
                  col_description(a.attrelid, a.attnum))
    FROM ext_tables t JOIN pg_attribute a ON a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s on %s: %s', k.conname, k.conrelid::regclass, pg_get_constraintdef(k.oid))
    FROM ext_tables t JOIN pg_constraint k ON k.conrelid = t.relid
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM ext_tables t JOIN pg_index i ON i.indrelid = t.relid
    UNION ALL
    SELECT format('policy %s on %s: %s %s roles=%s using=%s check=%s', p.polname, p.polrelid::regclass,
                  p.polpermissive, p.polcmd, (SELECT array_agg(r::regrole::text ORDER BY r::regrole::text) FROM unnest(p.polroles) r),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    FROM ext_tables t JOIN pg_policy p ON p.polrelid = t.relid
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(tg.oid))
    FROM ext_tables t JOIN pg_trigger tg ON tg.tgrelid = t.relid AND NOT tg.tgisinternal
    UNION ALL
    SELECT format('event trigger %s on %s enabled=%s tags=%s function=%s owner=%s', e.evtname, e.evtevent,
                  e.evtenabled, e.evttags, e.evtfoid::regproc, e.evtowner::regrole)
    FROM members m JOIN pg_event_trigger e ON e.oid = m.objid WHERE m.classid = 'pg_event_trigger'::regclass
    UNION ALL
    SELECT format('type %s kind=%s', t.oid::regtype, t.typtype)
    FROM members m JOIN pg_type t ON t.oid = m.objid WHERE m.classid = 'pg_type'::regclass
    UNION ALL
    SELECT format('schema %s owner=%s acl=%s comment=%s', n.nspname, n.nspowner::regrole, n.nspacl,
                  obj_description(n.oid, 'pg_namespace'))
    FROM ext JOIN pg_namespace n ON n.oid = ext.extnamespace
) f
ORDER BY fact COLLATE "C";
