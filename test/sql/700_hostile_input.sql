-- Hostile input (issue 7): every function and setting of the extension called with NULLs, empty
-- strings, megabyte strings, malformed values, odd Unicode, quoting and injection attempts and
-- values of the wrong type.  Each gets a clear error (a specific SQLSTATE, a short message) or a
-- documented result (docs/reliability.md), and changes nothing: the registry, the exemptions,
-- the catalog of the tenant tables, their rows and the stored role settings are compared with a
-- snapshot taken at the start.  The server must not crash: the same backend of the same
-- postmaster runs the last statement.
-- Attackers: ti_app (application role) and ti_prov (provisioning role); the superuser only for
-- the settings only it may change.
-- No BEGIN around the file: some checks need committed state (the database is thrown away).
\set A '0a000000-0000-4000-8000-00000000000a'
\set B '0b000000-0000-4000-8000-00000000000b'
SET client_min_messages = warning;

-- the state that nothing below may change (read as the superuser)
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
SELECT concat_ws(E'\n',
    'orgs: ' || (SELECT string_agg(o.id || '=' || o.name, ', ' ORDER BY o.id) FROM tenant_iso.organizations o),
    'exemptions: ' || coalesce((SELECT string_agg(concat_ws('.', e.schema_name, e.table_name) || '=' || e.reason, ', '
                                                  ORDER BY e.schema_name, e.table_name) FROM tenant_iso.exemptions e), '-'),
    'schemas: ' || (SELECT string_agg(n.nspname, ', ' ORDER BY n.nspname) FROM pg_namespace n),
    'relations: ' || (SELECT string_agg(concat_ws(':', c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity), ', '
                                        ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace),
    'columns: ' || (SELECT string_agg(concat_ws(':', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull), ', '
                                      ORDER BY a.attrelid::regclass::text, a.attnum)
                    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped),
    'policies: ' || (SELECT string_agg(concat_ws(':', p.polrelid::regclass, p.polname, p.polpermissive, p.polcmd,
                                                 pg_get_expr(p.polqual, p.polrelid)), ', ' ORDER BY p.polrelid::regclass::text, p.polname)
                     FROM pg_policy p),
    'triggers: ' || (SELECT string_agg(concat_ws(':', t.tgrelid::regclass, t.tgname, t.tgenabled), ', '
                                       ORDER BY t.tgrelid::regclass::text, t.tgname) FROM pg_trigger t WHERE NOT t.tgisinternal),
    'rows: ' || concat_ws('/', (SELECT count(*) FROM users), (SELECT count(*) FROM courses), (SELECT count(*) FROM lessons),
                               (SELECT count(*) FROM enrollments), (SELECT count(*) FROM assets)),
    'row digest: ' || (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM courses c),
    'role settings: ' || coalesce((SELECT string_agg(array_to_string(s.setconfig, ';'), ', ' ORDER BY s.setrole, s.setdatabase)
                                   FROM pg_db_role_setting s), '-'))
$$;
\ir include/err.sql
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;
SELECT pg_temp.state() AS state0, pg_backend_pid() AS pid0, pg_postmaster_start_time() AS start0 \gset

SELECT plan(184);

------------------------------------------------------------------------------
-- tenant.org_id (any role may set it: every value must be parsed safely)
------------------------------------------------------------------------------
SET ROLE ti_app;
SET tenant.org_id = :'A';
SELECT throws_ok(format('SET tenant.org_id = %L', repeat('0', 1000000)), '22P02', NULL, 'tenant.org_id: a 1 MB value is refused');
SELECT cmp_ok(length(array_to_string(pg_temp.err(format('SET tenant.org_id = %L', repeat('x', 1000000))), ' ')), '<', 600,
              'tenant.org_id: the error about a 1 MB value is short (it quotes 64 characters)');
SELECT throws_ok(format('SET tenant.org_id = %L', '{' || repeat('0a', 500000) || '}'), '22P02', NULL,
                 'tenant.org_id: a 1 MB value in braces is refused');
SELECT throws_ok(format('SET tenant.org_id = %L', repeat(:'A', 1000)), '22P02', NULL, 'tenant.org_id: a valid uuid repeated 1000 times is refused');
SELECT throws_ok(format('SET tenant.org_id = %L', E'0a000000-0000-4000-8000-\u200b00000000000a'), '22P02', NULL,
                 'tenant.org_id: a zero-width space inside the uuid is refused');
SELECT throws_ok(format('SET tenant.org_id = %L', E'\u202e0a000000-0000-4000-8000-00000000000a'), '22P02', NULL,
                 'tenant.org_id: a right-to-left override before the uuid is refused');
SELECT throws_ok(format('SET tenant.org_id = %L', E'0a000000-0000-4000-8000-00000000000a\u0301'), '22P02', NULL,
                 'tenant.org_id: a combining accent after the uuid is refused');
SELECT throws_ok(format('SET tenant.org_id = %L', '0a000000-0000-4000-8000-00000000000🎓'), '22P02', NULL,
                 'tenant.org_id: an emoji in place of a hex digit is refused');
SELECT throws_ok(format('SET tenant.org_id = %L', E'0a000000-0000-4000-8000-00000000000a\n'), '22P02', NULL,
                 'tenant.org_id: a trailing newline is refused');
SELECT throws_ok(format('SET tenant.org_id = %L', :'A' || ''', current_user, ''x'), '22P02', NULL,
                 'tenant.org_id: a quote-breaking injection stays one (invalid) value');
SELECT throws_ok($$SET tenant.org_id = 42$$, '22P02', NULL, 'tenant.org_id: an integer is refused');
SELECT throws_ok($$SET tenant.org_id = true$$, '22P02', NULL, 'tenant.org_id: a boolean is refused');
SELECT throws_ok($$SET tenant.org_id = 0a000000-0000-4000-8000-00000000000a$$, '42601', NULL,
                 'tenant.org_id: an unquoted uuid is a syntax error');
SELECT throws_ok($$SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a', '0b000000-0000-4000-8000-00000000000b'$$, '22023', NULL,
                 'tenant.org_id: a list of two values is refused');
SELECT throws_ok($$SELECT set_config('tenant.org_id', '0b000000-0000-4000-8000-00000000000b'::uuid::text || chr(0), false)$$, '54000', NULL,
                 'tenant.org_id: a NUL character never reaches the setting');
SELECT is(current_setting('tenant.org_id'), :'A', 'tenant.org_id: every refusal left tenant A in place');
SELECT is(tenant_iso.current_org_id(), :'A'::uuid, 'current_org_id() still returns A');
SELECT is((SELECT count(*) FROM courses WHERE organization_id <> :'A'), 0::bigint, 'and A still sees only its own rows');
SELECT is(set_config('tenant.org_id', NULL, false), '', 'tenant.org_id: set_config(..., NULL) means no tenant (documented)');
SELECT throws_ok($$SELECT count(*) FROM courses$$, 'TI001', NULL, 'and tenant tables are closed then');
SET tenant.org_id = :'A';

------------------------------------------------------------------------------
-- current_org_id()
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tenant_iso.current_org_id('0b000000-0000-4000-8000-00000000000b')$$, '42883', NULL,
                 'current_org_id() takes no argument');
SELECT throws_ok($$SELECT tenant_iso.current_org_id(NULL)$$, '42883', NULL, 'current_org_id(NULL) does not exist either');

------------------------------------------------------------------------------
-- tenant_iso.missing_context (any role may set it)
------------------------------------------------------------------------------
SELECT throws_ok($$SET tenant_iso.missing_context = ''$$, '22023', NULL, 'missing_context: the empty string is refused');
SELECT throws_ok(format('SET tenant_iso.missing_context = %L', repeat('e', 1000000)), '22023', NULL,
                 'missing_context: a 1 MB value is refused');
SELECT throws_ok($$SET tenant_iso.missing_context = 'empty '$$, '22023', NULL, 'missing_context: a trailing space is refused');
SELECT throws_ok($$SET tenant_iso.missing_context = 'émpty'$$, '22023', NULL, 'missing_context: an accented look-alike is refused');
SELECT throws_ok($$SET tenant_iso.missing_context = 'еmpty'$$, '22023', NULL, 'missing_context: a Cyrillic look-alike is refused');
SELECT throws_ok($$SET tenant_iso.missing_context = 1$$, '22023', NULL, 'missing_context: a number is refused');
SELECT throws_ok($$SET tenant_iso.missing_context = 'empty; RESET ALL'$$, '22023', NULL, 'missing_context: an injection is one invalid value');
SELECT throws_ok($$SET tenant_iso.missing_context = error, empty$$, '22023', NULL, 'missing_context: a list is refused');
SELECT is(current_setting('tenant_iso.missing_context'), 'error', 'missing_context: still "error" after the refusals');
SET tenant_iso.missing_context = 'EMPTY';
SELECT is(current_setting('tenant_iso.missing_context'), 'empty', 'missing_context: names are case-insensitive, as for every enum setting (documented)');
SELECT is(set_config('tenant_iso.missing_context', NULL, false), 'error', 'missing_context: set_config(..., NULL) resets it to "error"');

------------------------------------------------------------------------------
-- the superuser's settings: refused for ti_app whatever the value, validated for the superuser
------------------------------------------------------------------------------
SELECT throws_ok($$SET tenant_iso.context_scope = 'transaction'$$, '42501', NULL, 'ti_app cannot set context_scope');
SELECT throws_ok($$SELECT set_config('tenant_iso.context_scope', NULL, false)$$, '42501', NULL, 'ti_app cannot reset context_scope with set_config(NULL)');
SELECT throws_ok($$SET tenant_iso.unsafe_ddl = on$$, '42501', NULL, 'ti_app cannot set unsafe_ddl');
SELECT throws_ok($$SET LOCAL tenant_iso.unsafe_ddl = 'maybe'$$, '42501', NULL, 'ti_app cannot set unsafe_ddl, even to an invalid value');
SELECT throws_ok($$SET tenant_iso.strict_indexes = off$$, '42501', NULL, 'ti_app cannot set strict_indexes');
SELECT throws_ok($$SET tenant_iso.allow_explain_analyze = on$$, '42501', NULL, 'ti_app cannot set allow_explain_analyze');
SELECT throws_ok($$SET tenant_iso.require_signed_context = off$$, '42501', NULL, 'ti_app cannot set require_signed_context');
SELECT throws_ok(format('SET tenant_iso.signing_key = %L', repeat('k', 1000000)), '42501', NULL, 'ti_app cannot set signing_key (1 MB)');
SELECT throws_ok($$SET tenant_iso.signing_key_previous = ''$$, '42501', NULL, 'ti_app cannot set signing_key_previous');
SELECT throws_ok($$ALTER ROLE ti_app SET tenant_iso.unsafe_ddl = on$$, '42501', NULL, 'ti_app cannot store unsafe_ddl for itself');
SELECT throws_ok($$SET tenant_iso.implied_quals = 'maybe'$$, '22023', NULL, 'implied_quals: a non-Boolean value is refused');
SELECT throws_ok(format('SET tenant_iso.implied_quals = %L', repeat('o', 1000000)), '22023', NULL, 'implied_quals: a 1 MB value is refused');
RESET ROLE;
SELECT throws_ok($$SET tenant_iso.context_scope = ''$$, '22023', NULL, 'superuser: context_scope refuses the empty string');
SELECT throws_ok(format('SET tenant_iso.context_scope = %L', repeat('t', 1000000)), '22023', NULL, 'superuser: context_scope refuses 1 MB');
SELECT throws_ok($$SET tenant_iso.context_scope = 'transaction '$$, '22023', NULL, 'superuser: context_scope refuses a trailing space');
SELECT throws_ok($$SET tenant_iso.unsafe_ddl = 'maybe'$$, '22023', NULL, 'superuser: unsafe_ddl refuses a non-Boolean');
SELECT throws_ok($$SET tenant_iso.unsafe_ddl = 2$$, '22023', NULL, 'superuser: unsafe_ddl refuses 2');
SELECT throws_ok($$SET tenant_iso.unsafe_ddl = ''$$, '22023', NULL, 'superuser: unsafe_ddl refuses the empty string');
SELECT throws_ok($$SET tenant_iso.strict_indexes = 'maybe'$$, '22023', NULL, 'superuser: strict_indexes refuses a non-Boolean');
SELECT throws_ok($$SET tenant_iso.allow_explain_analyze = 'maybe'$$, '22023', NULL, 'superuser: allow_explain_analyze refuses a non-Boolean');
SELECT throws_ok($$SET tenant_iso.require_signed_context = 'maybe'$$, '22023', NULL, 'superuser: require_signed_context refuses a non-Boolean');
SELECT throws_ok($$SET tenant_iso.signing_key = 'short'$$, '22023', NULL, 'superuser: a signing key under 32 bytes is refused');
SELECT throws_ok($$ALTER ROLE ti_app SET tenant_iso.missing_context = 'bogus'$$, '22023', NULL,
                 'ALTER ROLE ... SET validates missing_context');
SELECT throws_ok($$ALTER ROLE ti_app SET tenant.org_id = 'bogus'$$, '22P02', NULL, 'ALTER ROLE ... SET validates tenant.org_id');
SELECT throws_ok($$ALTER ROLE ti_app SET tenant_iso.context_scope = 'bogus'$$, '22023', NULL, 'ALTER ROLE ... SET validates context_scope');
SELECT is(current_setting('tenant_iso.context_scope') || '/' || current_setting('tenant_iso.unsafe_ddl') || '/' ||
          current_setting('tenant_iso.strict_indexes') || '/' || current_setting('tenant_iso.allow_explain_analyze') || '/' ||
          current_setting('tenant_iso.require_signed_context') || '/' || current_setting('tenant_iso.implied_quals'),
          'session/off/off/off/off/on', 'every superuser setting kept its default after the refusals');

------------------------------------------------------------------------------
-- create_organization() and drop_organization() (provisioning role ti_prov)
------------------------------------------------------------------------------
SET ROLE ti_prov;
SELECT throws_ok($$SELECT tenant_iso.create_organization(NULL)$$, '22023', 'organization name must not be empty', 'create_organization(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization('')$$, '22023', NULL, 'create_organization('''') is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization('   ')$$, '22023', NULL, 'a name of spaces is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization(E'\t\n\r')$$, '22023', NULL, 'a name of tabs and newlines is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization(repeat('x', 1000000))$$, '22001', 'organization name is too long',
                 'a 1 MB name is refused');
SELECT cmp_ok(length(array_to_string(pg_temp.err($$SELECT tenant_iso.create_organization(repeat('x', 1000000))$$), ' ')), '<', 300,
              'and the error does not repeat the name');
SELECT throws_ok($$SELECT tenant_iso.create_organization(repeat('ü', 201))$$, '22001', NULL, 'a name of 201 characters is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization(42)$$, '42883', NULL, 'create_organization(integer) does not exist');
SELECT throws_ok($$SELECT tenant_iso.create_organization('x', 42)$$, '42883', NULL, 'create_organization(text, integer) does not exist');
SELECT throws_ok($$SELECT tenant_iso.create_organization('x', 'not-a-uuid')$$, '22P02', NULL, 'a malformed id is refused by the uuid type');
SELECT throws_ok($$SELECT tenant_iso.create_organization('x', '0a000000-0000-4000-8000-00000000000a')$$, '23505', NULL,
                 'an existing id is refused');
SELECT throws_ok($$SELECT tenant_iso.create_organization('x', '0A000000-0000-4000-8000-00000000000A')$$, '23505', NULL,
                 'an existing id in upper case is refused too');
SELECT throws_ok($$SELECT tenant_iso.drop_organization(NULL)$$, '22004', NULL, 'drop_organization(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('0c000000-0000-4000-8000-00000000000c')$$, 'P0002', NULL,
                 'drop_organization() of an unknown id is refused');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('00000000-0000-0000-0000-000000000000')$$, 'P0002', NULL,
                 'drop_organization() of the nil uuid is refused');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('')$$, '22P02', NULL, 'drop_organization('''') is refused by the uuid type');
SELECT throws_ok($$SELECT tenant_iso.drop_organization(42)$$, '42883', NULL, 'drop_organization(integer) does not exist');
SELECT throws_ok($$SELECT tenant_iso.drop_organization('0a000000-0000-4000-8000-00000000000a; DROP TABLE courses')$$, '22P02', NULL,
                 'an injection in the id is refused by the uuid type');
-- odd but valid names are data, stored as given (documented); nothing in them is executed
SELECT lives_ok($$SELECT tenant_iso.create_organization('x''); DROP TABLE courses; --', '0c000000-0000-4000-8000-00000000000c')$$,
                'a name with an SQL injection is accepted as a plain name');
SELECT lives_ok($$SELECT tenant_iso.create_organization(E'Ünïcødé 学校 🎓 \u202eevil', '0d000000-0000-4000-8000-00000000000d')$$,
                'a name with non-ASCII letters, an emoji and a right-to-left override is accepted');
RESET ROLE;
SELECT is((SELECT name FROM tenant_iso.organizations WHERE id = '0c000000-0000-4000-8000-00000000000c'), 'x''); DROP TABLE courses; --',
          'the injection is stored verbatim');
SELECT is((SELECT name FROM tenant_iso.organizations WHERE id = '0d000000-0000-4000-8000-00000000000d'), E'Ünïcødé 学校 🎓 \u202eevil',
          'the Unicode name is stored verbatim');
SELECT has_table('public', 'courses', 'and table courses still exists');
SET ROLE ti_prov;
SELECT is(tenant_iso.drop_organization('0c000000-0000-4000-8000-00000000000c'), 0::bigint, 'the odd organizations drop cleanly (1)');
SELECT is(tenant_iso.drop_organization('0d000000-0000-4000-8000-00000000000d'), 0::bigint, 'the odd organizations drop cleanly (2)');
SET ROLE ti_app;
SELECT throws_ok($$SELECT tenant_iso.create_organization('x')$$, '42501', NULL, 'ti_app cannot call create_organization()');
SELECT throws_ok($$SELECT tenant_iso.drop_organization(NULL)$$, '42501', NULL, 'ti_app cannot call drop_organization(), not even with NULL');

------------------------------------------------------------------------------
-- exempt_schema() and exempt_table() (superuser or extension owner)
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tenant_iso.exempt_schema(NULL, NULL)$$, '42501', NULL, 'ti_app cannot call exempt_schema()');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('x; DROP TABLE y', 'r')$$, '42501', NULL, 'ti_app cannot call exempt_table()');
RESET ROLE;
SELECT throws_ok($$SELECT tenant_iso.exempt_schema(NULL, 'global data')$$, '3F000', NULL, 'exempt_schema(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('', 'global data')$$, '3F000', NULL, 'exempt_schema('''') is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema(repeat('s', 1000000), 'global data')$$, '3F000', NULL, 'a 1 MB schema name is refused');
SELECT cmp_ok(length(array_to_string(pg_temp.err($$SELECT tenant_iso.exempt_schema(repeat('s', 1000000), 'global data')$$), ' ')), '<', 300,
              'and the error does not repeat the name');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema(repeat('ü', 40), 'global data')$$, '3F000', NULL,
                 'a schema name of 80 bytes (40 characters) is refused: no schema can have it');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('reference', NULL)$$, '22023', NULL, 'a NULL reason is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('reference', E' \t ')$$, '22023', NULL, 'a blank reason is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('reference', repeat('r', 1000000))$$, '22001', NULL, 'a 1 MB reason is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('public', 'global data')$$, '55000', NULL, 'a schema with tenant tables is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('tenant_iso', 'global data')$$, '22023', NULL, 'the extension''s schema is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('pg_catalog', 'global data')$$, '22023', NULL, 'pg_catalog is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema('pg_toast', 'global data')$$, '22023', NULL, 'pg_toast is refused like pg_catalog');
SELECT throws_ok($$SELECT tenant_iso.exempt_schema(1, 2)$$, '42883', NULL, 'exempt_schema(integer, integer) does not exist');
SELECT throws_ok($$SELECT tenant_iso.exempt_table(NULL, 'global data')$$, '42602', NULL, 'exempt_table(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('', 'global data')$$, '42602', NULL, 'exempt_table('''') is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('x; DROP TABLE courses', 'global data')$$, '42602', NULL,
                 'exempt_table(''x; DROP TABLE courses'') is refused as an invalid name');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('plans"; DROP TABLE courses; --', 'global data')$$, '42602', NULL,
                 'an injection after a quote is refused as an invalid name');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('a.b.c', 'global data')$$, '42602', NULL, 'a three-part name is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('.plans', 'global data')$$, '42602', NULL, 'an empty schema part is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('"unterminated', 'global data')$$, '42602', NULL, 'an unterminated quote is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table(repeat('t', 1000000), 'global data')$$, '42602', NULL, 'a 1 MB table name is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table(repeat('ü', 60), 'global data')$$, '42602', NULL,
                 'a table name of 120 bytes (60 characters) is refused: no table can have it');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('courses', 'global data')$$, '55000', NULL, 'a tenant table is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('PUBLIC.COURSES', 'global data')$$, '55000', NULL,
                 'unquoted names fold to lower case: PUBLIC.COURSES is the tenant table courses');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('tenant_iso.organizations', 'global data')$$, '55000', NULL,
                 'the registry (a table of the extension''s schema) is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('pg_catalog.pg_class', 'global data')$$, '22023', NULL, 'a system table is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table('plans', repeat('r', 1001))$$, '22001', NULL, 'a reason over 1000 characters is refused');
SELECT throws_ok($$SELECT tenant_iso.exempt_table(42, 'x')$$, '42883', NULL, 'exempt_table(integer, text) does not exist');
-- an exemption names a schema that need not exist yet: an injection is only an odd name (documented)
SELECT lives_ok($$SELECT tenant_iso.exempt_schema('x; DROP TABLE courses', 'global data')$$,
                'exempt_schema(''x; DROP TABLE courses'') records that odd schema name, nothing more');
SELECT has_table('public', 'courses', 'table courses still exists');
-- (the final state check covers the refused calls; remove what an accepted one may have recorded)
DELETE FROM tenant_iso.exemptions;
-- a quoted name with quotes, a dot and Unicode inside is one identifier (documented): it is
-- recorded as exactly that name and exempts exactly that table
SELECT lives_ok($$SELECT tenant_iso.exempt_table('public."Weird ""Näme"".x"', 'global data')$$,
                'a quoted name with quotes, a dot and Unicode inside is accepted');
SELECT is((SELECT string_agg(schema_name || ' / ' || table_name, ', ') FROM tenant_iso.exemptions), 'public / Weird "Näme".x',
          'and recorded as that one name');
SET ROLE ti_owner;
SELECT lives_ok($$CREATE TABLE "Weird ""Näme"".x" (code text PRIMARY KEY)$$, 'the table of that name is then exempt (global)');
RESET ROLE;
DROP TABLE "Weird ""Näme"".x";
DELETE FROM tenant_iso.exemptions;

------------------------------------------------------------------------------
-- authenticate() (PUBLIC) and sign() (superuser)
------------------------------------------------------------------------------
SET ROLE ti_app;
SET tenant.org_id = :'A';
SELECT throws_ok($$SELECT tenant_iso.authenticate(NULL)$$, '22004', NULL, 'authenticate(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso.authenticate('')$$, '22P02', NULL, 'authenticate('''') is refused');
SELECT throws_ok($$SELECT tenant_iso.authenticate(repeat('v1.', 400000))$$, '22P02', NULL, 'a 1 MB token is refused');
SELECT cmp_ok(length(array_to_string(pg_temp.err($$SELECT tenant_iso.authenticate(repeat('v1.', 400000))$$), ' ')), '<', 600,
              'and the error does not repeat the token');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', E'v1.\u200b0a000000-0000-4000-8000-00000000000a.9999999999.' || repeat('0', 64)),
                 '22P02', NULL, 'a token with a zero-width space is refused');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', 'v1.0a000000-0000-4000-8000-00000000000a.9999999999.' || repeat('ü', 64)),
                 '22P02', NULL, 'a token with a non-ASCII signature is refused');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', 'v1.0a000000-0000-4000-8000-00000000000a.99999999999999999999999.' || repeat('0', 64)),
                 '22P02', NULL, 'a token with an expiry beyond 64 bits is refused');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', 'v1.0a000000-0000-4000-8000-00000000000a.-1.' || repeat('0', 64)),
                 '22P02', NULL, 'a token with a negative expiry is refused');
SELECT throws_ok(format('SELECT tenant_iso.authenticate(%L)', 'v1.0a000000-0000-4000-8000-00000000000a.9999999999.' || repeat('0', 64) || '''; RESET ROLE; --'),
                 '22P02', NULL, 'a token with an injection after it is refused');
SELECT throws_ok($$SELECT tenant_iso.authenticate(42)$$, '42883', NULL, 'authenticate(integer) does not exist');
SELECT is(tenant_iso.current_org_id(), :'A'::uuid, 'the refused tokens left the tenant as it was');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L)', :'A'), '42501', NULL, 'ti_app cannot call sign()');
RESET ROLE;
SET tenant_iso.signing_key = 'k0123456789abcdef0123456789abcdef';
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, NULL)', :'A'), '22004', NULL, 'sign() refuses a NULL validity');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, %L)', :'A', '1000000 years'), '22008', NULL, 'sign() refuses a validity beyond the timestamp range');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, %L)', :'A', '1 month -30 days'), '22023', NULL,
                 'sign() refuses a validity that is not positive as a whole (1 month -30 days)');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, %L)', :'A', '1 day -1 second'), '22023', NULL,
                 'sign() refuses a validity with a negative component (1 day -1 second), whatever the date and the time zone');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, %L)', :'A', '-1 month +31 days'), '22023', NULL,
                 'sign() refuses a negative component even when the whole is positive on every date (-1 month +31 days)');
SELECT lives_ok(format('SELECT tenant_iso.sign(%L, %L)', :'A', '1 month'), 'sign() accepts 1 month (positive on every date)');
SELECT throws_ok(format('SELECT tenant_iso.sign(%L, %L)', :'A', 'forever'), '22007', NULL, 'sign() refuses a malformed interval');
SELECT throws_ok($$SELECT tenant_iso.sign('not-a-uuid')$$, '22P02', NULL, 'sign() refuses a malformed organization id');
SELECT lives_ok(format('SET tenant_iso.signing_key = %L', repeat('k', 1000000)), 'a 1 MB signing key is accepted (documented)');
SELECT is(tenant_iso.authenticate(tenant_iso.sign(:'A')), :'A'::uuid, 'and tokens signed with it verify');
RESET tenant_iso.signing_key;
RESET tenant.org_id;

------------------------------------------------------------------------------
-- enroll(), enroll_schema(), audit(), verify() and the internal functions
------------------------------------------------------------------------------
SET ROLE ti_app;
SELECT throws_ok($$SELECT tenant_iso.enroll('courses')$$, '42501', NULL, 'ti_app cannot call enroll()');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema(NULL)$$, '42501', NULL, 'ti_app cannot call enroll_schema()');
SELECT throws_ok($$SELECT tenant_iso._setup_table('courses')$$, '42501', NULL, 'ti_app cannot call _setup_table()');
SELECT throws_ok($$SELECT * FROM tenant_iso._table_violations(0)$$, '42501', NULL, 'ti_app cannot call _table_violations()');
SELECT throws_ok($$SELECT tenant_iso._exempt_table('x', 'y', 'public')$$, '42501', NULL, 'ti_app cannot call _exempt_table()');
SELECT throws_ok($$SELECT tenant_iso._require_admin(NULL)$$, '42501', NULL, 'ti_app cannot call _require_admin()');
SELECT throws_ok($$SELECT tenant_iso.ddl_command_end()$$, '42501', NULL, 'ti_app cannot call the event trigger function');
SELECT throws_ok($$SELECT tenant_iso.stamp_organization_id()$$, '39P01', NULL, 'the stamping trigger function refuses a direct call (39P01)');
SELECT lives_ok($$SELECT count(*) FROM tenant_iso._invariant_checks(NULL)$$, '_invariant_checks(NULL) returns nothing');
SELECT lives_ok($$SELECT count(*) FROM tenant_iso._invariant_checks(ARRAY[NULL, 0, 1, 4294967295]::oid[])$$,
                '_invariant_checks() of NULL and non-existent oids returns without error');
SELECT lives_ok($$SELECT count(*) FROM tenant_iso._invariant_checks(array(SELECT g::oid FROM generate_series(1, 100000) g))$$,
                '_invariant_checks() of 100,000 oids returns without error');
SELECT throws_ok($$SELECT tenant_iso._remove_organization(NULL)$$, '42501', NULL, '_remove_organization() is not executable by the application role');
SELECT throws_ok($$SELECT tenant_iso.registry_guard()$$, '42501', NULL, 'registry_guard() is not executable by the application role');
SELECT throws_ok($$SELECT tenant_iso._check_reason(NULL)$$, '22023', NULL, '_check_reason(NULL) refuses');
RESET ROLE;
SELECT throws_ok($$SELECT tenant_iso.enroll(NULL)$$, '22004', NULL, 'enroll(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll(0)$$, '42P01', NULL, 'enroll(0) is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll(4294967295)$$, '42P01', NULL, 'enroll() of a non-existent oid is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll('')$$, '42602', NULL, 'enroll('''') is refused by regclass');
SELECT throws_ok($$SELECT tenant_iso.enroll('courses; DROP TABLE users')$$, '42602', NULL, 'an injection in the table name is refused by regclass');
SELECT throws_ok($$SELECT tenant_iso.enroll('"courses; DROP TABLE users"')$$, '42P01', NULL, 'a quoted injection names no table');
SELECT throws_ok(format('SELECT tenant_iso.enroll(%L)', repeat('t', 1000000)), '42P01', NULL, 'a 1 MB table name names no table');
SELECT throws_ok($$SELECT tenant_iso.enroll('pg_class')$$, '42809', NULL, 'a system table is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll('tenant_iso.organizations')$$, '42809', NULL, 'the registry is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll('courses_pkey')$$, '42809', NULL, 'an index is refused');
SELECT is(tenant_iso.enroll('courses'), 'already enrolled', 'enroll() of a tenant table is a no-op (documented)');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema(NULL)$$, '22004', NULL, 'enroll_schema(NULL) is refused as NULL');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema('')$$, '3F000', NULL, 'enroll_schema('''') is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema(repeat('s', 1000000))$$, '3F000', NULL, 'a 1 MB schema name is refused');
SELECT cmp_ok(length(array_to_string(pg_temp.err($$SELECT tenant_iso.enroll_schema(repeat('s', 1000000))$$), ' ')), '<', 600,
              'and the error does not repeat the 1 MB name');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema('x; DROP TABLE courses')$$, '3F000', NULL, 'an injection names no schema');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema('pg_toast')$$, '22023', NULL, 'a system schema is refused');
SELECT throws_ok($$SELECT tenant_iso.enroll_schema('tenant_iso')$$, '22023', NULL, 'the extension''s schema is refused');
SELECT throws_ok($$SELECT tenant_iso._setup_table(NULL)$$, '22004', NULL, '_setup_table(NULL) is refused');
SELECT throws_ok($$SELECT tenant_iso._setup_table(0)$$, '42P01', NULL, '_setup_table(0) is refused');
SELECT throws_ok($$SELECT tenant_iso._setup_table('pg_class')$$, '42809', NULL, '_setup_table() of a system table is refused');
SELECT throws_ok($$SELECT tenant_iso.ddl_command_end()$$, '39P03', NULL, 'the event trigger function refuses a direct call by the superuser (39P03)');
SELECT lives_ok($$SELECT tenant_iso.verify()$$, 'verify() passes after all the hostile calls');

------------------------------------------------------------------------------
-- nothing changed, nothing crashed
------------------------------------------------------------------------------
RESET ROLE;
RESET ALL;
SELECT is(pg_temp.state(), :'state0', 'registry, exemptions, catalog, rows and role settings are as before');
SELECT is(pg_backend_pid(), :pid0, 'the same backend ran the whole file (no crash)');
SELECT is(pg_postmaster_start_time(), :'start0'::timestamptz, 'the postmaster did not restart');
SELECT is(current_user::text, 'postgres', 'the next statement works');

SELECT * FROM finish();
