-- Transaction-scoped tenant context (issue 5): under tenant_iso.context_scope = 'transaction' a
-- tenant context never outlives the transaction that set it; RESET ALL and DISCARD ALL (what
-- session poolers run between clients) clear the context, signed or not.
-- Attacker: ti_app (not superuser, not BYPASSRLS, not owner).
--
-- No BEGIN/ROLLBACK around the file: the tests are about transaction boundaries (and DISCARD ALL
-- cannot run in a transaction block). The database is thrown away afterwards; nothing here is
-- cluster-wide except per-database role settings, which go with the database.
\set key 'tenant-iso-test-key-S-3b8e1d0c6a9f4e2b7d5c'
\set org_a 0a000000-0000-4000-8000-00000000000a
\set org_b 0b000000-0000-4000-8000-00000000000b

-- DISCARD ALL drops temporary tables, pgTAP's among them: run it before plan() and keep the
-- results in psql variables.
SET tenant.org_id = :'org_a';
SET ROLE ti_app;
DISCARD ALL;
SELECT coalesce(tenant_iso.current_org_id()::text, 'none') AS discard_plain,
       current_setting('tenant.org_id') AS discard_plain_setting,
       current_user AS discard_user \gset
SET tenant_iso.signing_key = :'key';
SET tenant_iso.require_signed_context = on;
SELECT tenant_iso.sign(:'org_a') AS tok_a, tenant_iso.sign(:'org_b') AS tok_b \gset
SET ROLE ti_app;
SELECT tenant_iso.authenticate(:'tok_a') AS discard_auth_before \gset
DISCARD ALL;
SELECT coalesce(tenant_iso.current_org_id()::text, 'none') AS discard_signed,
       current_setting('tenant.org_id') AS discard_signed_setting \gset

SELECT plan(48);

SELECT is(:'discard_plain'::text, 'none', 'DISCARD ALL clears a tenant set with SET');
SELECT is(:'discard_plain_setting'::text, '', 'DISCARD ALL resets tenant.org_id to empty');
SELECT is(:'discard_user'::text, 'postgres', 'DISCARD ALL also ended SET ROLE (RESET SESSION AUTHORIZATION)');
SELECT is(:'discard_auth_before'::text, :'org_a', 'authenticate() had set A');
SELECT is(:'discard_signed'::text, 'none', 'DISCARD ALL clears an authenticated tenant');
SELECT is(:'discard_signed_setting'::text, '', 'and its value');

------------------------------------------------------------------------------
-- RESET ALL (session scope)
------------------------------------------------------------------------------
SET ROLE ti_app;
SET tenant.org_id = :'org_a';
SELECT is(tenant_iso.current_org_id(), :'org_a'::uuid, 'session scope: SET sets the tenant for the session');
RESET ALL;
SELECT is(tenant_iso.current_org_id(), NULL, 'RESET ALL clears a tenant set with SET');
SELECT is(current_user::text, 'ti_app', 'RESET ALL keeps SET ROLE');
RESET ROLE;
SET tenant_iso.signing_key = :'key';
SET tenant_iso.require_signed_context = on;
SET ROLE ti_app;
SELECT is(tenant_iso.authenticate(:'tok_b'), :'org_b'::uuid, 'authenticate() sets B for the session');
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'B''s courses are visible');
RESET ALL;
SELECT is(tenant_iso.current_org_id(), NULL, 'RESET ALL clears an authenticated tenant');
SELECT is(current_setting('tenant.org_id'), '', 'and its value');
RESET ROLE;
RESET ALL;

------------------------------------------------------------------------------
-- context_scope = 'transaction'
------------------------------------------------------------------------------
SET tenant_iso.context_scope = 'transaction';
SET ROLE ti_app;
SELECT is(current_setting('tenant_iso.context_scope'), 'transaction', 'ti_app works under context_scope = transaction');
SELECT throws_ok(format('SET tenant.org_id = %L', :'org_a'), '42501', 'session-level SET of "tenant.org_id" is not allowed',
          'a session-level SET is refused');
SELECT throws_ok(format('SET SESSION tenant.org_id = %L', :'org_a'), '42501', NULL, 'SET SESSION is refused');
SELECT throws_ok($$SELECT count(*) FROM courses$$, 'TI001', NULL, 'no tenant after the refused SET');

-- SET LOCAL works, for its transaction only
BEGIN;
SET LOCAL tenant.org_id = :'org_a';
SELECT is(tenant_iso.current_org_id(), :'org_a'::uuid, 'SET LOCAL sets the tenant in the transaction');
SELECT results_eq($$SELECT title FROM courses ORDER BY title$$, ARRAY['Algebra', 'Astronomy'], 'and A''s rows are visible');
COMMIT;
SELECT is(tenant_iso.current_org_id(), NULL, 'the next transaction has no tenant');
SELECT is(current_setting('tenant.org_id'), '', 'the SET LOCAL value is gone');
SELECT throws_ok($$SELECT count(*) FROM courses$$, 'TI001', NULL, 'tenant tables are closed in the next transaction');

-- set_config(..., true) too
BEGIN;
SELECT is(set_config('tenant.org_id', :'org_b', true), :'org_b', 'set_config(..., true) in a transaction');
SELECT is((SELECT count(*) FROM courses WHERE title IN ('Biology', 'Botany')), 2::bigint, 'works in that transaction');
COMMIT;
SELECT is(tenant_iso.current_org_id(), NULL, 'and is gone afterwards');

-- a rolled-back transaction leaves nothing either
BEGIN;
SET LOCAL tenant.org_id = :'org_a';
ROLLBACK;
SELECT is(tenant_iso.current_org_id(), NULL, 'nothing survives a rolled-back transaction');

-- set_config(..., false) is a function call, so it cannot be refused before it runs; its value is
-- in effect in its own transaction, but that transaction cannot commit it (42501, rolled back)
BEGIN;
SELECT is(set_config('tenant.org_id', :'org_a', false), :'org_a', 'set_config(..., false) runs');
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'its value is in effect in the transaction that set it');
\set ON_ERROR_STOP 0
COMMIT;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42501', 'COMMIT of a transaction that set the tenant for the session is refused (42501)');
SELECT is(current_setting('tenant.org_id'), '', 'the refused transaction left no value behind');
SELECT is(tenant_iso.current_org_id(), NULL, 'and no tenant');
SELECT throws_ok($$SELECT count(*) FROM courses$$, 'TI001', NULL, 'tenant tables stay closed');
-- in autocommit mode, each statement is its own transaction: the statement fails at its commit
\set ON_ERROR_STOP 0
SELECT set_config('tenant.org_id', :'org_b', false);
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42501', 'set_config(..., false) as a statement of its own is refused at its commit (42501)');
SELECT is(tenant_iso.current_org_id(), NULL, 'and has no effect on the next statement');
SELECT is(current_setting('tenant.org_id'), '', 'nor is anything shown');
-- a session-level value reaching the session another way (a role default, a startup option) is
-- never in effect and never shown; SET LOCAL on top of it works
RESET ROLE;
DO $$ BEGIN EXECUTE format('ALTER ROLE ti_app IN DATABASE %I SET tenant.org_id = %L', current_database(), '0b000000-0000-4000-8000-00000000000b'); END $$;
SET ROLE ti_app;
BEGIN;
SET LOCAL tenant.org_id = :'org_a';
SELECT is((SELECT count(*) FROM courses WHERE title = 'Algebra'), 1::bigint, 'SET LOCAL works');
COMMIT;
SELECT is(tenant_iso.current_org_id(), NULL, 'after it, no tenant is in effect');
RESET tenant.org_id;
SELECT is(tenant_iso.current_org_id(), NULL, 'RESET to a role default (applies at the next login) leaves no tenant in effect');
RESET ROLE;
DO $$ BEGIN EXECUTE format('ALTER ROLE ti_app IN DATABASE %I RESET tenant.org_id', current_database()); END $$;
SET ROLE ti_app;

-- parallel query with a transaction-scoped tenant
RESET ROLE;
-- force_parallel_mode was renamed debug_parallel_query in PostgreSQL 16
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS fpm \gset
SET :fpm = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET ROLE ti_app;
BEGIN;
SET LOCAL tenant.org_id = :'org_a';
\set ON_ERROR_STOP 0
\set par_count 'error'
SELECT count(*) AS par_count FROM courses \gset
\set ON_ERROR_STOP 1
COMMIT;
SELECT is(:'par_count'::text, '2', 'a parallel query sees the tenant set in its transaction (not an error in the worker)');
RESET ROLE;
RESET :fpm;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

------------------------------------------------------------------------------
-- context_scope = 'transaction' with signed context
------------------------------------------------------------------------------
SET tenant_iso.signing_key = :'key';
SET tenant_iso.require_signed_context = on;
SET ROLE ti_app;
BEGIN;
SELECT throws_ok(format('SET LOCAL tenant.org_id = %L', :'org_a'), '42501', NULL, 'SET LOCAL is refused under signed context');
SELECT is(tenant_iso.authenticate(:'tok_a'), :'org_a'::uuid, 'authenticate() inside the transaction');
SELECT is((SELECT count(*) FROM courses), 2::bigint, 'sets the tenant for the transaction');
SELECT is(current_setting('tenant.org_id'), :'org_a', 'as a transaction-local value');
COMMIT;
SELECT is(current_setting('tenant.org_id'), '', 'authenticate() under transaction scope leaves no value behind');
SELECT is(tenant_iso.current_org_id(), NULL, 'and no tenant');
SELECT tenant_iso.authenticate(:'tok_b') AS auth_alone \gset
SELECT is(tenant_iso.current_org_id(), NULL, 'authenticate() as a statement of its own sets the tenant for that statement only');
RESET ROLE;
RESET tenant_iso.require_signed_context;

------------------------------------------------------------------------------
-- values from connection start-up are stale in every transaction
------------------------------------------------------------------------------
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.context_scope = %L', current_database(), 'transaction') \gexec
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant.org_id = %L', current_database(), :'org_a') \gexec
\o
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT current_setting('tenant.org_id') || ' ' || coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT is(:'out'::text, E' none\nERROR:  TI001',
          'a tenant from ALTER ROLE ... SET is never in effect (nor shown) under transaction scope');
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET tenant.org_id', current_database()) \gexec
\o
\set out `PGOPTIONS='-c tenant.org_id=:org_b' psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT current_setting('tenant.org_id') || ' ' || coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT is(:'out'::text, E' none\nERROR:  TI001',
          'a tenant from PGOPTIONS at connection start is never in effect (nor shown) under transaction scope');
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET ALL', current_database()) \gexec
\o

SELECT * FROM finish();
