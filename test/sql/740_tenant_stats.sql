-- Per-tenant load figures (issue 15): tenant_iso.tenant_stats counts each tenant's top-level
-- statements on tenant tables, rows and time; only superusers and pg_read_all_stats may read it
-- (it tells every tenant's volume); the application role gets permission denied.
-- No BEGIN around the file: the figures are kept in shared memory across transactions.
\set A 0a000000-0000-4000-8000-00000000000a
\set B 0b000000-0000-4000-8000-00000000000b
SELECT tenant_iso.tenant_stats_reset();
SELECT plan(24);

-- a known workload: A reads 3 times and writes; B reads once
\o /dev/null
SET tenant.org_id = :'A';
SET ROLE ti_app;
SELECT count(*) FROM courses;
SELECT title FROM courses ORDER BY title;
SELECT count(*) FROM lessons;
INSERT INTO courses (title) VALUES ('Stats 1'), ('Stats 2');
UPDATE courses SET title = title || '!' WHERE title LIKE 'Stats%';
DELETE FROM courses WHERE title LIKE 'Stats%';
SELECT 1 AS not_a_tenant_statement;
RESET ROLE;
\o
SET tenant.org_id = :'B';
SET ROLE ti_app;
SELECT count(*) FROM courses \gset
RESET ROLE;
RESET tenant.org_id;

SELECT is((SELECT statements FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 6::bigint,
          'A: six top-level statements on tenant tables (SELECT 1 without tenant tables does not count)');
SELECT is((SELECT rows_returned FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 4::bigint,
          'A: rows returned (1 count + 2 titles + 1 count)');
SELECT is((SELECT rows_inserted FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 2::bigint, 'A: 2 rows inserted');
SELECT is((SELECT rows_updated FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 2::bigint, 'A: 2 rows updated');
SELECT is((SELECT rows_deleted FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 2::bigint, 'A: 2 rows deleted');
SELECT ok((SELECT total_exec_time > 0 AND max_exec_time > 0 AND max_exec_time <= total_exec_time
           FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 'A: total and max execution time');
SELECT ok((SELECT last_statement_at IS NOT NULL AND last_statement_at >= stats_reset
           FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 'A: the time of the last statement, after the reset');
SELECT is((SELECT statements FROM tenant_iso.tenant_stats WHERE organization_id = :'B'), 1::bigint, 'B: one statement');
SELECT is((SELECT count(*) FROM tenant_iso.tenant_stats), 2::bigint, 'two tenants tracked');

-- nested statements are not counted twice: a function reading courses counts once (the outer statement)
SET tenant.org_id = :'A';
CREATE FUNCTION pg_temp.n_courses() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.courses $$;
SET ROLE ti_app;
SELECT pg_temp.n_courses(), pg_temp.n_courses() \gset
RESET ROLE;
SELECT is((SELECT statements FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 7::bigint,
          'a statement whose functions read tenant tables counts once');

-- tracking off: nothing counted
SET tenant_iso.track_tenant_stats = off;
SET ROLE ti_app;
SELECT count(*) FROM courses \gset
RESET ROLE;
RESET tenant_iso.track_tenant_stats;
SELECT is((SELECT statements FROM tenant_iso.tenant_stats WHERE organization_id = :'A'), 7::bigint,
          'tenant_iso.track_tenant_stats = off: not counted');
SET ROLE ti_app;
SELECT throws_ok($$SET tenant_iso.track_tenant_stats = off$$, '42501', NULL, 'ti_app cannot switch tracking off');
RESET ROLE;

-- who may read
SET ROLE ti_app;
SELECT throws_ok($$SELECT * FROM tenant_iso.tenant_stats$$, '42501', NULL, 'ti_app: permission denied for the view');
SELECT throws_ok($$SELECT * FROM tenant_iso._tenant_stats()$$, '42501', NULL, 'ti_app: permission denied for the function behind it');
SELECT throws_ok($$SELECT tenant_iso.tenant_stats_reset()$$, '42501', NULL, 'ti_app cannot reset');
RESET ROLE;
SET ROLE ti_owner;
SELECT throws_ok($$SELECT * FROM tenant_iso.tenant_stats$$, '42501', NULL, 'the table owner cannot read it either');
RESET ROLE;
CREATE ROLE ti_monitor_740 NOLOGIN;
GRANT pg_read_all_stats TO ti_monitor_740;
SET ROLE ti_monitor_740;
SELECT is((SELECT count(*) FROM tenant_iso.tenant_stats), 2::bigint, 'a member of pg_read_all_stats reads it');
SELECT throws_ok($$SELECT tenant_iso.tenant_stats_reset()$$, '42501', NULL, 'but cannot reset it (superusers only)');
RESET ROLE;
DROP ROLE ti_monitor_740;

-- parallel workers do not count their own statements
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query'
            ELSE 'force_parallel_mode' END AS par_setting \gset
SET tenant.org_id = :'B';
SET :par_setting = on;
SET ROLE ti_app;
SELECT count(*) FROM courses \gset
RESET ROLE;
RESET :par_setting;
RESET tenant.org_id;
SELECT is((SELECT statements FROM tenant_iso.tenant_stats WHERE organization_id = :'B'), 2::bigint,
          'a parallel statement counts once');

-- eviction: more tenants than tenant_iso.stats_max_tenants keeps the table bounded, least recent out
SELECT current_setting('tenant_iso.stats_max_tenants')::int AS max_tenants \gset
SET ROLE ti_app;
DO $$
DECLARE i int; n int := current_setting('tenant_iso.stats_max_tenants')::int + 10;
BEGIN
    FOR i IN 1..n LOOP
        PERFORM set_config('tenant.org_id', pg_catalog.format('0e000000-0000-4000-8000-%s', lpad(i::text, 12, '0')), false);
        PERFORM count(*) FROM public.courses;
    END LOOP;
END $$;
RESET ROLE;
RESET tenant.org_id;
SELECT cmp_ok((SELECT count(*) FROM tenant_iso.tenant_stats), '<=', :max_tenants::bigint,
              'the table never holds more than tenant_iso.stats_max_tenants tenants');
SELECT ok((SELECT count(*) FROM tenant_iso.tenant_stats WHERE organization_id = :'A') = 0,
          'the least recently active tenant (A) was evicted');
SELECT ok((SELECT count(*) FROM tenant_iso.tenant_stats
           WHERE organization_id = format('0e000000-0000-4000-8000-%s', lpad((:max_tenants + 10)::text, 12, '0'))::uuid) = 1,
          'the most recent one is there');

-- reset
SELECT lives_ok($$SELECT tenant_iso.tenant_stats_reset()$$, 'the superuser resets');
SELECT is((SELECT count(*) FROM tenant_iso.tenant_stats), 0::bigint, 'and every figure is gone');

SELECT * FROM finish();
