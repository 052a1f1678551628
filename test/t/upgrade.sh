#!/usr/bin/env bash
# test/t/upgrade.sh: ALTER EXTENSION tenant_iso UPDATE from the released 0.1.0 (issue 15).
#
# A database is set up with 0.1.0 as a user would have it: organizations, tenant tables
# with rows of two tenants (composite keys, an expression index whose statistics 0.1.0
# let ANALYZE collect), a global exempt table, the signed-context settings.  Then
# ALTER EXTENSION tenant_iso UPDATE, and afterwards: isolation as the application role,
# stamping and refusal of writes for another tenant, verify() and the audit, the
# statistics gone, the signed context, the new features (tenant_stats, the pgTAP
# functions, drop_organization through cascades), and a dump/restore of the upgraded
# database.  Last, the catalog of the upgraded extension (test/upgrade/catalog.sql:
# objects, definitions, owners, grants, comments) is compared with a fresh 0.2.0 install,
# for the database with data and for an empty one.
#
# Prints TAP.  Needs PGHOST/PGPORT/PGUSER (superuser), TI_TMP and TI_BIN (test/run.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."

A=0a000000-0000-4000-8000-00000000000a
B=0b000000-0000-4000-8000-00000000000b
PSQL=("$TI_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1)
ERR="$TI_TMP/upgrade.err"
n=0

echo "1..33"

is() {	# is GOT WANT DESCRIPTION
	n=$((n + 1))
	if [ "$1" == "$2" ]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		printf '#   got: %s\n#  want: %s\n' "$1" "$2" | sed '2,$s/^\([^#]\)/#        \1/'
	fi
}
ok() {	# ok STATUS DESCRIPTION (STATUS 0 = pass)
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; sed 's/^/# /' "$ERR" | tail -5; fi
}
q() {	# q DB SQL...: run as the superuser, print the result
	local db=$1
	shift
	"${PSQL[@]}" -d "$db" "$@" 2>>"$ERR"
}
app() {	# app DB ORG SQL: run as the application role working for ORG
	"${PSQL[@]}" -d "$1" -c "SET tenant.org_id = '$2'" -c "SET ROLE ti_app" -c "$3" 2>>"$ERR"
}
census() {	# every tenant table's rows per organization, and the global table
	q "$1" -c "SELECT string_agg(format('%s:%s:%s', t, o, c), ' ' ORDER BY t, o) FROM (
	             SELECT 'members' t, organization_id::text o, count(*) c FROM members GROUP BY 2 UNION ALL
	             SELECT 'lessons', organization_id::text, count(*) FROM lessons GROUP BY 2 UNION ALL
	             SELECT 'plans', '-', count(*) FROM plans) x"
}
catalog() {	# the extension's catalog facts
	q "$1" -f test/upgrade/catalog.sql
}
DBS="ti_up_data ti_up_empty ti_up_fresh ti_up_restored"
cleanup() {
	"$TI_BIN/psql" -X -q -d postgres -c "ALTER SYSTEM RESET tenant_iso.signing_key" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
	"$TI_BIN/psql" -X -q -d postgres -c "ALTER ROLE ti_app IN DATABASE ti_up_data RESET ALL" >/dev/null 2>&1
	for db in $DBS; do
		"$TI_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
	done
}
trap cleanup EXIT
cleanup
: >"$ERR"

# ---------------------------------------------------------------------------
# 0.1.0, with data
# ---------------------------------------------------------------------------
q postgres -c "CREATE DATABASE ti_up_data TEMPLATE template0" -c "CREATE DATABASE ti_up_empty TEMPLATE template0" \
	-c "CREATE DATABASE ti_up_fresh TEMPLATE template0"
q ti_up_data -c "CREATE EXTENSION tenant_iso VERSION '0.1.0'"
ok $? "CREATE EXTENSION tenant_iso VERSION '0.1.0' installs the released script"
q ti_up_data -c "SET client_min_messages = warning" \
	-c "GRANT USAGE, CREATE ON SCHEMA public TO ti_owner" \
	-c "SELECT tenant_iso.create_organization('Alpha Academy', '$A')" \
	-c "SELECT tenant_iso.create_organization('Beta Bootcamp', '$B')" \
	-c "SELECT tenant_iso.exempt_table('public.plans', 'plans are the same for every organization')" \
	-c "CREATE TABLE plans (code text PRIMARY KEY, price numeric NOT NULL)" \
	-c "INSERT INTO plans VALUES ('basic', 10), ('pro', 20)" \
	-c "GRANT SELECT ON plans TO ti_app" \
	-c "SET ROLE ti_owner" \
	-c "CREATE TABLE members (id uuid DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, email text NOT NULL,
	        PRIMARY KEY (organization_id, id), UNIQUE (organization_id, email))" \
	-c "CREATE INDEX members_lower_email ON members (organization_id, lower(email))" \
	-c "CREATE TABLE lessons (id bigint GENERATED ALWAYS AS IDENTITY, organization_id uuid NOT NULL, member_id uuid NOT NULL,
	        title text NOT NULL, PRIMARY KEY (organization_id, id),
	        FOREIGN KEY (organization_id, member_id) REFERENCES members (organization_id, id))" \
	-c "GRANT SELECT, INSERT, UPDATE, DELETE ON members, lessons TO ti_app" >/dev/null
ok $? "0.1.0: organizations, an exempt global table, two tenant tables with composite keys and an expression index"
for org in $A $B; do
	app ti_up_data $org "INSERT INTO members (email) SELECT 'm' || g || '@' || left('$org', 2) || '.test' FROM generate_series(1, 50) g;
	                     INSERT INTO lessons (member_id, title) SELECT id, 'lesson of ' || email FROM members" >/dev/null
done
is "$(app ti_up_data $A "SELECT count(*), count(*) FILTER (WHERE organization_id <> '$A') FROM lessons")" "50|0" \
	"before the update (0.1.0 objects, the new library): ti_app working for A sees A's 50 lessons only"
# The statistics 0.1.0 let ANALYZE collect on expression index columns (0.2.0's guard
# would refuse this SET STATISTICS; a 0.1.0 server did it by default)
q ti_up_data -c "SET tenant_iso.unsafe_ddl = on" -c "ALTER INDEX members_lower_email ALTER COLUMN 2 SET STATISTICS 100" \
	-c "ANALYZE members"
is "$(q ti_up_data -c "SELECT count(*) FROM pg_statistic WHERE starelid = 'members_lower_email'::regclass")" "1" \
	"0.1.0: ANALYZE kept statistics of the expression lower(email), every tenant's values"
q ti_up_data -c "ALTER SYSTEM SET tenant_iso.signing_key = 'upgrade-test-key-0123456789abcdef'" -c "SELECT pg_reload_conf()" \
	-c "ALTER ROLE ti_app IN DATABASE ti_up_data SET tenant_iso.require_signed_context = on"
before=$(census ti_up_data)
is "$before" "lessons:$A:50 lessons:$B:50 members:$A:50 members:$B:50 plans:-:2" "0.1.0: 50 members and 50 lessons per tenant"
q ti_up_empty -c "CREATE EXTENSION tenant_iso VERSION '0.1.0'"

# ---------------------------------------------------------------------------
# The upgrade
# ---------------------------------------------------------------------------
q ti_up_data -c "ALTER EXTENSION tenant_iso UPDATE"
ok $? "ALTER EXTENSION tenant_iso UPDATE succeeds on the database with data"
is "$(q ti_up_data -c "SELECT extversion FROM pg_extension WHERE extname = 'tenant_iso'")" "0.2.0" "the extension is at 0.2.0"
q ti_up_empty -c "ALTER EXTENSION tenant_iso UPDATE TO '0.2.0'"
ok $? "ALTER EXTENSION tenant_iso UPDATE TO '0.2.0' succeeds on an empty database"
is "$(census ti_up_data)" "$before" "every row is kept"

# ---------------------------------------------------------------------------
# Isolation afterwards (signed context required for ti_app in this database)
# ---------------------------------------------------------------------------
signed() {	# signed ORG SQL: ti_app authenticated with a token for ORG
	local token
	token=$(q ti_up_data -c "SELECT tenant_iso.sign('$1')")
	"${PSQL[@]}" -U ti_app -d ti_up_data -c "DO \$\$BEGIN PERFORM tenant_iso.authenticate('$token'); END\$\$" \
		-c "$2" 2>>"$ERR"
}
refused() {	# refused ORG SQL: the SQLSTATE of SQL run by ti_app authenticated for ORG
	local token
	token=$(q ti_up_data -c "SELECT tenant_iso.sign('$1')")
	"${PSQL[@]}" -v VERBOSITY=verbose -U ti_app -d ti_up_data \
		-c "DO \$\$BEGIN PERFORM tenant_iso.authenticate('$token'); END\$\$" -c "$2" 2>&1 >/dev/null |
		sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p'
}
is "$(signed $A "SELECT count(*), count(*) FILTER (WHERE organization_id <> '$A') FROM members")" "50|0" "ti_app authenticated for A sees A's 50 members and nothing else"
is "$(signed $B "SELECT count(*) FROM lessons l JOIN members m USING (organization_id)")" "2500" "B's join sees B's rows only (50 x 50)"
is "$("${PSQL[@]}" -v VERBOSITY=verbose -U ti_app -d ti_up_data -c "SET tenant.org_id = '$A'" 2>&1 | grep -c '^ERROR:  42501')" "1" \
	"require_signed_context still holds for ti_app: SET tenant.org_id is refused (42501)"
signed $A "INSERT INTO members (email) VALUES ('new@a.test')" >/dev/null
is "$(q ti_up_data -c "SELECT organization_id FROM members WHERE email = 'new@a.test'")" "$A" "inserts are stamped"
is "$(refused $A "INSERT INTO members (organization_id, email) VALUES ('$B', 'x@b.test')")" "TI003" \
	"a row for another organization is refused"
is "$(refused $A "UPDATE members SET organization_id = '$B' WHERE email = 'new@a.test'")" "TI003" \
	"moving a row to another organization is refused"
is "$(signed $B "DELETE FROM members WHERE email = 'new@a.test' RETURNING 1")" "" "B cannot delete A's row"

# ---------------------------------------------------------------------------
# The checks of 0.2.0
# ---------------------------------------------------------------------------
q ti_up_data -c "SELECT tenant_iso.verify()" >/dev/null
ok $? "tenant_iso.verify() passes after the upgrade"
is "$(q ti_up_data -c "SELECT count(*) FROM tenant_iso.audit() WHERE status = 'violation'")" "0" "the audit finds no violation"
is "$(q ti_up_data -c "SELECT count(*) FROM pg_statistic WHERE starelid = 'members_lower_email'::regclass")|$(q ti_up_data \
	-c "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'members_lower_email'::regclass AND attnum = 2")" "0|0" \
	"the upgrade removed the expression's statistics and stopped their collection"
is "$(q ti_up_data -c "SELECT status FROM tenant_iso.audit() WHERE relation = 'members'::regclass AND check_name = 'expression_index_statistics'")" "ok" \
	"the audit's expression_index_statistics check passes"
is "$(q ti_up_data -c "SELECT count(*) FROM pg_type WHERE typname = 'tenant_id'")|$(q ti_up_data -c "SELECT count(*) FROM pg_proc WHERE proname = '_isolation_policy_exprs'")" "0|0" \
	"the domain tenant_id and _isolation_policy_exprs() are gone"

# ---------------------------------------------------------------------------
# The new features
# ---------------------------------------------------------------------------
q ti_up_data -c "SELECT tenant_iso.tenant_stats_reset()" >/dev/null
signed $A "SELECT count(*) FROM members" >/dev/null
is "$(q ti_up_data -c "SELECT statements, rows_returned FROM tenant_iso.tenant_stats WHERE organization_id = '$A'")" "1|1" \
	"tenant_stats counts A's statement"
is "$("${PSQL[@]}" -d ti_up_data -c "SET ROLE ti_app" -c "SELECT * FROM tenant_iso.tenant_stats" 2>&1 | grep -c 'permission denied')" "1" \
	"the application role may not read tenant_stats"
q ti_up_data -c "CREATE EXTENSION IF NOT EXISTS pgtap" >/dev/null
is "$(q ti_up_data -c "SELECT no_plan()" -c "SELECT * FROM tenant_iso.tap_tables_isolated()" | grep -c '^ok')" "2" \
	"tap_tables_isolated() gives one ok per tenant table"
is "$(q ti_up_data -c "SELECT tenant_iso.drop_organization('$B')")" "100" "drop_organization(B) removes B's 50 members and 50 lessons"
is "$(q ti_up_data -c "SELECT count(*) FROM lessons WHERE organization_id = '$B'")|$(q ti_up_data -c "SELECT count(*) FROM lessons")" "0|50" \
	"B's rows are gone, A's are kept"

# ---------------------------------------------------------------------------
# Dump and restore of the upgraded database (docs/adoption.md)
# ---------------------------------------------------------------------------
"$TI_BIN/pg_dump" -Fc -f "$TI_TMP/up.dump" ti_up_data 2>>"$ERR"
ok $? "pg_dump of the upgraded database"
q postgres -c "CREATE DATABASE ti_up_restored TEMPLATE template0"
PGOPTIONS='-c tenant_iso.unsafe_ddl=on -c client_min_messages=error' \
	"$TI_BIN/pg_restore" --exit-on-error -d ti_up_restored "$TI_TMP/up.dump" 2>>"$ERR"
ok $? "pg_restore with tenant_iso.unsafe_ddl=on"
is "$(census ti_up_restored)" "$(census ti_up_data)" "the restored database has the same rows per organization"
is "$(q ti_up_restored -c "SELECT tenant_iso.verify()" >/dev/null && echo passes)|$(app ti_up_restored $A "SELECT count(*) FROM members")" "passes|51" \
	"verify() passes on it, and ti_app working for A sees A's 51 members"

# ---------------------------------------------------------------------------
# Same catalog as a fresh 0.2.0
# ---------------------------------------------------------------------------
q ti_up_fresh -c "CREATE EXTENSION tenant_iso"
catalog ti_up_fresh >"$TI_TMP/cat_fresh.txt"
catalog ti_up_data >"$TI_TMP/cat_data.txt"
catalog ti_up_empty >"$TI_TMP/cat_empty.txt"
is "$(grep -c . "$TI_TMP/cat_fresh.txt" | awk '$1 > 100 {print "many"}')" "many" "the catalog listing of a fresh install has its facts"
diff "$TI_TMP/cat_fresh.txt" "$TI_TMP/cat_data.txt" >"$TI_TMP/cat_data.diff"
ok $? "the upgraded database with data has the catalog of a fresh 0.2.0 (objects, definitions, owners, grants, comments)"
sed 's/^/# /' "$TI_TMP/cat_data.diff" | head -20
diff "$TI_TMP/cat_fresh.txt" "$TI_TMP/cat_empty.txt" >"$TI_TMP/cat_empty.diff"
ok $? "so has the upgraded empty database"
sed 's/^/# /' "$TI_TMP/cat_empty.diff" | head -20
