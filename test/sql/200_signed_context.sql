-- Signed tenant context (issue 5): the signing keys stay secret, every direct route to
-- tenant.org_id is closed under require_signed_context, and tenant_iso.authenticate() accepts
-- exactly the valid tokens, minted by tenant_iso.sign(), openssl or Python (the examples of
-- docs/authentication.md, run as written there).
-- Attackers: ti_app (not superuser, not BYPASSRLS, not owner), a member of pg_read_all_settings
-- (ti_other, granted inside a rolled-back transaction), ti_owner as owner of the database.
--
-- No BEGIN/ROLLBACK around the whole file: the checks of new connections (psql started from
-- backticks) need committed settings, and ALTER SYSTEM cannot run in a transaction block.
-- Per-database settings disappear with the database; the ALTER SYSTEM key is reset at the end.
-- Needs openssl on the machine running psql (python3 is optional: skipped without it).
\set key_a 'tenant-iso-test-key-A-5d0c1f6e8a7b4c2d9e3f'
\set key_b 'tenant-iso-test-key-B-7e2a9c4b1d6f8e0a3c5b'
\set org_a 0a000000-0000-4000-8000-00000000000a
\set org_b 0b000000-0000-4000-8000-00000000000b

-- the key, set the documented way (ALTER SYSTEM), in effect for this and new sessions
\o /dev/null
ALTER SYSTEM SET tenant_iso.signing_key = :'key_a';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\o
-- helpers (pg_temp: usable by every role of this session)
CREATE FUNCTION pg_temp.show(setting text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
    EXECUTE format('SHOW %I', setting) INTO v;
    RETURN v;
END $$;
-- every text of the error authenticate() raises for a token
CREATE FUNCTION pg_temp.auth_error(tok text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text; ctx text;
BEGIN
    PERFORM tenant_iso.authenticate(tok);
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
    RETURN concat_ws(' | ', st, msg, det, hnt, ctx);
END $$;
-- a function that sets the tenant in its SET clause, created while that is still allowed
CREATE FUNCTION pg_temp.as_b() RETURNS int LANGUAGE sql SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b' AS 'SELECT 1';

SELECT plan(105);

------------------------------------------------------------------------------
-- 1. The keys cannot be read
------------------------------------------------------------------------------
SELECT is(current_setting('tenant_iso.signing_key'), '********', 'the key is masked even for a superuser (current_setting)');
SELECT is(pg_temp.show('tenant_iso.signing_key'), '********', 'the key is masked even for a superuser (SHOW)');
SELECT is(current_setting('tenant_iso.signing_key_previous'), '', 'an unset previous key shows as empty');
SELECT is_empty($$SELECT 1 FROM pg_settings WHERE name LIKE 'tenant_iso.signing%'$$,
          'pg_settings has no row for the keys, even for a superuser');

SET ROLE ti_app;
SELECT throws_ok($$SHOW tenant_iso.signing_key$$, '42501', NULL, 'ti_app cannot SHOW the key');
SELECT throws_ok($$SELECT current_setting('tenant_iso.signing_key')$$, '42501', NULL, 'ti_app cannot current_setting() the key');
SELECT throws_ok($$SELECT current_setting('tenant_iso.signing_key', true)$$, '42501', NULL,
          'not even with missing_ok');
SELECT throws_ok($$SHOW tenant_iso.signing_key_previous$$, '42501', NULL, 'ti_app cannot SHOW the previous key');
SELECT is_empty($$SELECT 1 FROM pg_settings WHERE name LIKE 'tenant_iso.signing%'$$, 'ti_app: pg_settings shows no key');
SELECT is_empty($$SELECT 1 FROM pg_show_all_settings() s WHERE s.name LIKE 'tenant_iso.signing%'$$,
          'ti_app: pg_show_all_settings() shows no key');
SELECT throws_ok($$SELECT * FROM pg_file_settings$$, '42501', NULL, 'ti_app cannot read pg_file_settings');
SELECT is_empty($$SELECT 1 FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'tenant_iso.signing%'$$,
          'ti_app: pg_db_role_setting holds no key');
SELECT throws_ok($$SET tenant_iso.signing_key = 'attacker-chosen-key-0123456789abcdef'$$, '42501', NULL,
          'ti_app cannot SET the key');
SELECT throws_ok($$SELECT set_config('tenant_iso.signing_key', 'attacker-chosen-key-0123456789abcdef', false)$$, '42501', NULL,
          'ti_app cannot set_config() the key');
SELECT throws_ok($$ALTER ROLE ti_app SET tenant_iso.signing_key = 'attacker-chosen-key-0123456789abcdef'$$, '42501', NULL,
          'ti_app cannot ALTER ROLE itself SET the key');
SELECT throws_ok($$SELECT pg_read_file('postgresql.auto.conf')$$, '42501', NULL, 'ti_app cannot read postgresql.auto.conf');
RESET ROLE;

-- a member of pg_read_all_settings (rolled back: roles are cluster-wide)
BEGIN;
GRANT pg_read_all_settings TO ti_other;
SET LOCAL ROLE ti_other;
SELECT is(pg_temp.show('tenant_iso.signing_key'), '********', 'pg_read_all_settings member: SHOW prints the mask');
SELECT is(current_setting('tenant_iso.signing_key'), '********', 'pg_read_all_settings member: current_setting() prints the mask');
SELECT is_empty($$SELECT 1 FROM pg_settings WHERE name LIKE 'tenant_iso.signing%'$$,
          'pg_read_all_settings member: pg_settings shows no key');
SELECT throws_ok($$SELECT * FROM pg_file_settings$$, '42501', NULL, 'pg_read_all_settings member cannot read pg_file_settings');
SELECT is_empty($$SELECT 1 FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'tenant_iso.signing%'$$,
          'pg_read_all_settings member: pg_db_role_setting holds no key');
ROLLBACK;

-- the key cannot be stored where every role could read it, not even by a superuser
SELECT throws_ok($$ALTER ROLE ti_app SET tenant_iso.signing_key = 'stored-in-catalog-0123456789abcdef0123'$$, '42501',
          '"tenant_iso.signing_key" cannot be set with ALTER ROLE, ALTER DATABASE or a function''s SET clause',
          'superuser: ALTER ROLE ... SET of the key is refused');
SELECT throws_ok(format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.signing_key = %L', current_database(), 'stored-in-catalog-0123456789abcdef0123'),
          '42501', NULL, 'superuser: ALTER ROLE ... IN DATABASE ... SET of the key is refused');
SELECT throws_ok($$ALTER ROLE ALL SET tenant_iso.signing_key_previous = 'stored-in-catalog-0123456789abcdef0123'$$, '42501', NULL,
          'superuser: ALTER ROLE ALL SET of the previous key is refused');
SELECT throws_ok(format('ALTER DATABASE %I SET tenant_iso.signing_key = %L', current_database(), 'stored-in-catalog-0123456789abcdef0123'),
          '42501', NULL, 'superuser: ALTER DATABASE ... SET of the key is refused');
SELECT throws_ok($$CREATE FUNCTION pg_temp.k() RETURNS int LANGUAGE sql SET tenant_iso.signing_key = 'stored-in-catalog-0123456789abcdef0123' AS 'SELECT 1'$$,
          '42501', NULL, 'superuser: a function''s SET clause with the key is refused (pg_proc is readable by all)');
SELECT is_empty($$SELECT 1 FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'tenant_iso.signing%'$$,
          'nothing was stored in pg_db_role_setting');
SELECT throws_ok($$SET LOCAL tenant_iso.signing_key = 'too-short'$$, '22023', '"tenant_iso.signing_key" is too short',
          'a key shorter than 32 bytes is refused');
SELECT throws_ok($$SET LOCAL tenant_iso.signing_key_previous = '0123456789abcdef0123456789abcde'$$, '22023', NULL,
          'a 31-byte previous key is refused');
\set out `psql -X -q -At -v VERBOSITY=sqlstate -d postgres -c "ALTER SYSTEM SET tenant_iso.signing_key = 'short'" 2>&1`
SELECT is(:'out'::text, 'ERROR:  22023', 'ALTER SYSTEM refuses a short key too');

------------------------------------------------------------------------------
-- 2. Tokens: minting
------------------------------------------------------------------------------
-- the clock before and after minting bounds the expiry, however long the machine takes
SELECT floor(extract(epoch FROM clock_timestamp()))::bigint AS t_before \gset
SELECT tenant_iso.sign(:'org_a') AS tok_a, tenant_iso.sign(:'org_b', '1 hour') AS tok_b \gset
SELECT ceil(extract(epoch FROM clock_timestamp()))::bigint AS t_after \gset
SELECT left(:'tok_a', length(:'tok_a') - 65) AS tok_a_msg, split_part(:'tok_a', '.', 4) AS tok_a_mac \gset
\set ossl_mac `printf '%s' :'tok_a_msg' | openssl dgst -sha256 -hmac :'key_a' | sed 's/^.*= //'`
SELECT matches(:'tok_a'::text, '^v1\.0a000000-0000-4000-8000-00000000000a\.[1-9][0-9]{9,11}\.[0-9a-f]{64}$',
          'sign() returns v1.<uuid>.<expiry>.<64 hex>');
SELECT is(:'tok_a_mac'::text, :'ossl_mac', 'sign()''s MAC is HMAC-SHA256 over "v1.<uuid>.<expiry>" (as openssl computes it)');
SELECT ok(split_part(:'tok_a', '.', 3)::bigint - 300 BETWEEN :t_before AND :t_after,
          'sign() defaults to a 5-minute validity');
SELECT ok(split_part(:'tok_b', '.', 3)::bigint - 3600 BETWEEN :t_before AND :t_after,
          'sign() honours valid_for');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, %L)', :'org_a', '0 seconds'), '22023', 'token validity must be positive',
          'sign() refuses a zero validity');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, %L)', :'org_a', '-5 minutes'), '22023', NULL, 'sign() refuses a negative validity');
SELECT throws_ok($$SELECT tenant_iso.sign(NULL)$$, '22004', NULL, 'sign() refuses a NULL organization');

-- the shell (openssl) and Python examples of docs/authentication.md, extracted and run as written
\set tok_sh `key=:'key_a' org=:'org_a' sh -c "$(sed -n '/<!-- tested: mint-shell/,/^\x60\x60\x60$/p' docs/authentication.md | sed '1,2d;$d')"`
\set tok_py `if command -v python3 >/dev/null 2>&1; then K=:'key_a'; O=:'org_a'; { sed -n '/<!-- tested: mint-python/,/^\x60\x60\x60$/p' docs/authentication.md | sed '1,2d;$d'; printf 'print(mint("%s", "%s"))\n' "$K" "$O"; } | python3 -; else echo none; fi`
-- tokens crafted with openssl: expired, signed with another key, expired and altered
\set tok_expired `e=$(( $(date +%s) - 10 )); m="v1.:org_a.$e"; printf '%s.%s' "$m" "$(printf '%s' "$m" | openssl dgst -sha256 -hmac :'key_a' | sed 's/^.*= //')"`
\set tok_key_b `e=$(( $(date +%s) + 300 )); m="v1.:org_a.$e"; printf '%s.%s' "$m" "$(printf '%s' "$m" | openssl dgst -sha256 -hmac :'key_b' | sed 's/^.*= //')"`
\set tok_b_key_b `e=$(( $(date +%s) + 300 )); m="v1.:org_b.$e"; printf '%s.%s' "$m" "$(printf '%s' "$m" | openssl dgst -sha256 -hmac :'key_b' | sed 's/^.*= //')"`

------------------------------------------------------------------------------
-- 3. Every direct route to tenant.org_id is closed for ti_app
------------------------------------------------------------------------------
SET tenant_iso.require_signed_context = on;
SET ROLE ti_app;
SELECT throws_ok(format('SET tenant.org_id = %L', :'org_a'), '42501',
          '"tenant.org_id" can only be set by tenant_iso.authenticate() for this role', 'SET is refused');
SELECT throws_ok(format('SET LOCAL tenant.org_id = %L', :'org_a'), '42501', NULL, 'SET LOCAL is refused');
SELECT throws_ok(format('SET SESSION tenant.org_id = %L', :'org_a'), '42501', NULL, 'SET SESSION is refused');
SELECT throws_ok(format('SELECT set_config(%L, %L, false)', 'tenant.org_id', :'org_a'), '42501', NULL, 'set_config(..., false) is refused');
SELECT throws_ok(format('SELECT set_config(%L, %L, true)', 'tenant.org_id', :'org_a'), '42501', NULL, 'set_config(..., true) is refused');
SELECT throws_ok($$SELECT pg_temp.as_b()$$, '42501', NULL, 'a function''s SET tenant.org_id clause is refused when it runs');
SELECT throws_ok(format('CREATE FUNCTION pg_temp.as_a() RETURNS int LANGUAGE sql SET tenant.org_id = %L AS %L', :'org_a', 'SELECT 1'),
          '42501', NULL, 'creating a function with a SET tenant.org_id clause is refused');
SELECT throws_ok(format('ALTER ROLE ti_app SET tenant.org_id = %L', :'org_b'), '42501', NULL,
          'ALTER ROLE ti_app SET tenant.org_id by ti_app itself is refused');
SELECT throws_ok(format('ALTER ROLE ti_app IN DATABASE %I SET tenant.org_id = %L', current_database(), :'org_b'), '42501', NULL,
          'ALTER ROLE ti_app IN DATABASE ... SET tenant.org_id by ti_app itself is refused');
SELECT throws_ok(format('ALTER DATABASE %I SET tenant.org_id = %L', current_database(), :'org_b'), '42501', NULL,
          'ALTER DATABASE ... SET tenant.org_id is refused for ti_app');
SELECT is_empty($$SELECT 1 FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'tenant.org_id%'$$,
          'no tenant.org_id was stored in pg_db_role_setting');
SELECT is(tenant_iso.current_org_id(), NULL, 'after all attempts: no tenant');
SELECT throws_ok($$SELECT count(*) FROM courses$$, 'TI001', NULL, 'and tenant tables are closed');
SELECT lives_ok($$RESET tenant.org_id$$, 'RESET tenant.org_id (no tenant) stays allowed');
SELECT lives_ok($$SET tenant.org_id = ''$$, 'setting it to empty (no tenant) stays allowed');
RESET ROLE;

-- a value set before require_signed_context came on is not in effect
SET tenant_iso.require_signed_context = off;
SET tenant.org_id = :'org_b';
SET tenant_iso.require_signed_context = on;
SET ROLE ti_app;
SELECT is(current_setting('tenant.org_id'), '', 'a value set directly before signed context was required is not shown (SHOW displays the tenant in effect only)');
SELECT is(tenant_iso.current_org_id(), NULL, 'but it is not in effect');
SELECT throws_ok($$SELECT count(*) FROM courses$$, 'TI001', 'the tenant context was not set by tenant_iso.authenticate()',
          'statements on tenant tables fail');
RESET ROLE;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- 4. authenticate(): valid tokens
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT is(tenant_iso.authenticate(:'tok_a'), :'org_a'::uuid, 'a valid token (sign()) is accepted and returns its organization');
SELECT is(tenant_iso.current_org_id(), :'org_a'::uuid, 'the tenant is set, for the session (context_scope = session)');
SELECT results_eq($$SELECT title FROM courses ORDER BY title$$, ARRAY['Algebra', 'Astronomy'], 'ti_app sees A''s courses');
SELECT is(tenant_iso.authenticate(:'tok_b'), :'org_b'::uuid, 'another valid token switches the tenant');
SELECT results_eq($$SELECT title FROM courses ORDER BY title$$, ARRAY['Biology', 'Botany'], 'ti_app now sees B''s courses');
SELECT is(tenant_iso.authenticate(:'tok_sh'), :'org_a'::uuid, 'a token minted with the documented openssl shell example is accepted');
SELECT CASE WHEN :'tok_py' = 'none'
            THEN skip('python3 is not installed')
            ELSE is(tenant_iso.authenticate(:'tok_py'), :'org_a'::uuid, 'a token minted with the documented Python example is accepted') END;
SELECT is(tenant_iso.current_org_id(), :'org_a'::uuid, 'current tenant is A');

------------------------------------------------------------------------------
-- 5. authenticate(): invalid tokens fail with distinct errors and change nothing
------------------------------------------------------------------------------
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', :'tok_expired'), '28T01', 'tenant token has expired',
          'an expired token is refused (28T01)');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', replace(:'tok_a', :'org_a', :'org_b')), '28000',
          'invalid tenant token signature', 'a token whose organization was altered is refused (28000)');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)',
                        concat_ws('.', 'v1', :'org_a', split_part(:'tok_a', '.', 3)::bigint + 86400, split_part(:'tok_a', '.', 4))),
          '28000', NULL, 'a token whose expiry was extended is refused as badly signed');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)',
                        concat_ws('.', 'v1', :'org_a', 1000000000, split_part(:'tok_a', '.', 4))),
          '28000', NULL, 'an altered token with an expiry in the past is reported as badly signed, not as expired');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)',
                        left(:'tok_a', -1) || CASE WHEN right(:'tok_a', 1) = '0' THEN '1' ELSE '0' END),
          '28000', NULL, 'a token with one signature digit changed is refused');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', :'tok_key_b'), '28000', NULL,
          'a token signed with another key is refused');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', left(:'tok_a', -64) || upper(right(:'tok_a', 64))), '22P02',
          'malformed tenant token', 'an upper-case signature is malformed (22P02)');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', replace(:'tok_a', :'org_a', upper(:'org_a'))), '22P02', NULL,
          'an upper-case organization id is malformed');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', :'tok_a' || '.x'), '22P02', NULL, 'a fifth part is malformed');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', concat_ws('.', 'v1', :'org_a', '0' || split_part(:'tok_a', '.', 3), split_part(:'tok_a', '.', 4))),
          '22P02', NULL, 'an expiry with a leading zero is malformed');
SELECT throws_ok($$SELECT tenant_iso.authenticate('not a token')$$, '22P02', NULL, 'garbage is malformed');
SELECT throws_ok($$SELECT tenant_iso.authenticate('')$$, '22P02', NULL, 'an empty token is malformed');
SELECT throws_ok($$SELECT tenant_iso.authenticate('v1...')$$, '22P02', NULL, 'empty parts are malformed');
SELECT throws_ok($$SELECT tenant_iso.authenticate(NULL)$$, '22004', 'tenant token must not be NULL', 'a NULL token fails (22004)');
SELECT throws_ok($$SELECT tenant_iso.authenticate('v1.' || repeat('a', 1048576))$$, '22P02', NULL, 'a 1 MB token is malformed');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', 'v2' || substr(:'tok_a', 3)), '0A000',
          'unsupported tenant token version "v2"', 'an unknown version is refused (0A000)');
SELECT is(tenant_iso.current_org_id(), :'org_a'::uuid, 'after all the failed attempts the tenant is still A');
SELECT results_eq($$SELECT title FROM courses ORDER BY title$$, ARRAY['Algebra', 'Astronomy'], 'and ti_app still sees only A''s courses');

-- the errors reveal nothing: no key, no signature, no token
SELECT is_empty(format($$
    SELECT t FROM unnest(ARRAY[%L, %L, %L, %L, %L, %L, %L]) AS t
    WHERE pg_temp.auth_error(t) ~ '[0-9a-f]{64}|tenant-iso-test-key'
       OR position(t IN pg_temp.auth_error(t)) > 0
       OR pg_temp.auth_error(t) = 'no error'$$,
    :'tok_expired', :'tok_key_b', replace(:'tok_a', :'org_a', :'org_b'), left(:'tok_a', -1) || CASE WHEN right(:'tok_a', 1) = '0' THEN '1' ELSE '0' END,
    left(:'tok_a', -64) || upper(right(:'tok_a', 64)), 'v2' || substr(:'tok_a', 3), 'garbage'),
    'no error message contains a key, a signature or the token');

-- the function that mints is not for ti_app
SELECT throws_ok(format('SELECT tenant_iso.sign(%L)', :'org_b'), '42501', NULL, 'ti_app cannot call sign()');
RESET ROLE;
BEGIN;
GRANT EXECUTE ON FUNCTION tenant_iso.sign(uuid, interval) TO ti_app;
SET LOCAL ROLE ti_app;
SELECT throws_ok(format('SELECT tenant_iso.sign(%L)', :'org_b'), '42501', 'permission denied for function tenant_iso.sign',
          'sign() checks for a superuser itself: a grant does not open it');
ROLLBACK;

------------------------------------------------------------------------------
-- 6. Key rotation and a missing key
------------------------------------------------------------------------------
SET tenant_iso.signing_key = :'key_b';
SET tenant_iso.signing_key_previous = :'key_a';
SELECT tenant_iso.sign(:'org_b') AS tok_rot \gset
SET ROLE ti_app;
SELECT is(tenant_iso.authenticate(:'tok_a'), :'org_a'::uuid, 'rotation: a token signed with the previous key is accepted');
SELECT is(tenant_iso.authenticate(:'tok_b_key_b'), :'org_b'::uuid, 'rotation: a token signed with the new key is accepted');
SELECT is(tenant_iso.authenticate(:'tok_rot'), :'org_b'::uuid, 'rotation: sign() uses the new key');
RESET ROLE;
RESET tenant_iso.signing_key_previous;
SET ROLE ti_app;
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', :'tok_a'), '28000', NULL,
          'after the rotation window, tokens signed with the old key are refused');
SELECT is(tenant_iso.authenticate(:'tok_key_b'), :'org_a'::uuid, 'and tokens signed with the new key still work');
RESET ROLE;
SET tenant_iso.signing_key = '';
SET ROLE ti_app;
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', :'tok_a'), '55000', 'no tenant token signing key is configured',
          'without a key nothing verifies (55000)');
RESET ROLE;
SELECT throws_ok(format('SELECT tenant_iso.sign(%L)', :'org_a'), '55000', NULL, 'without a key sign() fails (55000)');
RESET tenant_iso.signing_key;
SELECT is(tenant_iso.current_org_id(), :'org_a'::uuid, 'the failures left the tenant as it was');

------------------------------------------------------------------------------
-- 7. Parallel query keeps working with an authenticated tenant
------------------------------------------------------------------------------
-- force_parallel_mode was renamed debug_parallel_query in PostgreSQL 16
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS fpm \gset
SET :fpm = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET ROLE ti_app;
SELECT lives_ok(format('SELECT tenant_iso.authenticate(%L)', :'tok_a'), 'authenticate() before a parallel query');
-- top-level queries (pgTAP's own calls are not parallel safe); an error must not stop the file
\set ON_ERROR_STOP 0
\set par_count 'error'
\set par_count_fn 'error'
SELECT count(*) AS par_count FROM courses \gset
SELECT count(*) AS par_count_fn FROM courses WHERE organization_id = tenant_iso.current_org_id() \gset
\set ON_ERROR_STOP 1
SELECT is(:'par_count'::text, '2', 'a parallel query under signed context counts A''s 2 courses (not an error in the worker)');
SELECT is(:'par_count_fn'::text, '2', 'current_org_id() in a parallel worker is the authenticated tenant');
RESET ROLE;
RESET :fpm;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET tenant_iso.require_signed_context;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- 8. New connections: role and database settings, start-up options
------------------------------------------------------------------------------
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.require_signed_context = on', current_database()) \gexec
\o
-- positive control: a new ti_app session gets the key from ALTER SYSTEM and the signed route works
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT current_setting('tenant_iso.require_signed_context')" -c "SELECT tenant_iso.authenticate(':tok_a')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT is(:'out'::text, E'on\n0a000000-0000-4000-8000-00000000000a\n2', 'new ti_app session: signed context required, authenticate() works');

\set out `PGOPTIONS='-c tenant.org_id=:org_b' psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT ok(:'out' = E'none\nERROR:  TI001' OR (:'out' LIKE '%FATAL%' AND :'out' NOT LIKE '%none%'),
          'PGOPTIONS=-c tenant.org_id=... at connection start is refused or without effect: ' || replace(:'out', E'\n', ' / '));

\set out `PGOPTIONS='-c tenant_iso.require_signed_context=off' psql -X -q -At -U ti_app -d :'DBNAME' -c "SELECT 'connected'" 2>&1`
SELECT ok(:'out' LIKE '%permission denied to set parameter "tenant_iso.require_signed_context"%' AND :'out' NOT LIKE '%connected%',
          'ti_app cannot switch signed context off at connection start');

-- a tenant stored for the role (after require_signed_context in the same entry) ...
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant.org_id = %L', current_database(), :'org_b') \gexec
\o
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT ok(:'out' ~ E'(^|\n)none\nERROR:  TI001$', 'ALTER ROLE ... SET tenant.org_id (stored after require) is without effect: ' || replace(:'out', E'\n', ' / '));
-- ... and before it
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET ALL', current_database()) \gexec
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant.org_id = %L', current_database(), :'org_b') \gexec
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.require_signed_context = on', current_database()) \gexec
\o
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT ok(:'out' ~ E'(^|\n)none\nERROR:  TI001$', 'ALTER ROLE ... SET tenant.org_id (stored before require) is without effect: ' || replace(:'out', E'\n', ' / '));
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET tenant.org_id', current_database()) \gexec
\o

-- the database's owner stores a tenant for the whole database
\o /dev/null
SELECT format('ALTER DATABASE %I OWNER TO ti_owner', current_database()) \gexec
\o
SET ROLE ti_owner;
SELECT lives_ok(format('ALTER DATABASE %I SET tenant.org_id = %L', current_database(), :'org_b'),
          'the database owner (no signed context for it) may store a tenant for the database');
RESET ROLE;
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT ok(:'out' ~ E'(^|\n)none\nERROR:  TI001$', 'but for ti_app it is without effect: ' || replace(:'out', E'\n', ' / '));
\o /dev/null
SELECT format('ALTER DATABASE %I RESET tenant.org_id', current_database()) \gexec
\o

-- the same through ALTER ROLE ti_app SET issued by ti_app in a session without signed context
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET ALL', current_database()) \gexec
\o
SET ROLE ti_app;
SELECT lives_ok(format('ALTER ROLE ti_app IN DATABASE %I SET tenant.org_id = %L', current_database(), :'org_b'),
          'without signed context ti_app may store its own tenant');
RESET ROLE;
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I SET tenant_iso.require_signed_context = on', current_database()) \gexec
\o
\set out `psql -X -q -At -v VERBOSITY=sqlstate -U ti_app -d :'DBNAME' -c "SELECT coalesce(CAST(tenant_iso.current_org_id() AS text), 'none')" -c "SELECT count(*) FROM courses" -c "SELECT tenant_iso.authenticate(':tok_a')" -c "SELECT count(*) FROM courses" 2>&1`
SELECT ok(:'out' ~ E'(^|\n)none\nERROR:  TI001\n0a000000-0000-4000-8000-00000000000a\n2$',
          'once signed context is required, that stored tenant is without effect and only a token opens: ' || replace(:'out', E'\n', ' / '));
\o /dev/null
SELECT format('ALTER ROLE ti_app IN DATABASE %I RESET ALL', current_database()) \gexec
\o

------------------------------------------------------------------------------
-- 9. The server log never received a key (PostgreSQL logs 'parameter "..." changed to "<value>"'
--    on reload for ordinary settings; the postmaster's log goes to $TI_TMP/server.log in make test)
------------------------------------------------------------------------------
\set log_hits `{ grep -c -F -e :'key_a' -e :'key_b' "$TI_TMP/server.log" || true; } 2>/dev/null`
SELECT CASE WHEN :'log_hits' = ''
            THEN skip('no server log at $TI_TMP/server.log')
            ELSE is(:'log_hits'::text, '0', 'the server log does not contain the keys (ALTER SYSTEM + reload, SET, rotation)') END;

SELECT * FROM finish();

-- undo the cluster-wide key
\o /dev/null
ALTER SYSTEM RESET tenant_iso.signing_key;
SELECT pg_reload_conf();
\o
