#!/usr/bin/env bash
# test/t/dump_restore.sh: pg_dump of a tenant database, restored into a fresh database
# with the documented procedure (docs/adoption.md, "Backups: dump and restore"):
#
#   PGOPTIONS='-c tenant_iso.unsafe_ddl=on' pg_restore -d newdb dump     (custom format)
#   PGOPTIONS='-c tenant_iso.unsafe_ddl=on' psql -d newdb -f dump.sql    (plain format)
#
# run by a superuser.  The schema check steps aside under unsafe_ddl because the dump
# brings its own keys, policies and triggers.  Afterwards tenant_iso.verify() passes,
# every tenant keeps exactly its rows, and the application role is isolated again.
# Also: a restore without the option fails instead of producing a half-set-up database.
#
# Prints TAP.  Needs PGHOST/PGPORT/PGUSER (superuser), TI_TMP and TI_BIN (test/run.sh).
set -uo pipefail

A=0a000000-0000-4000-8000-00000000000a
B=0b000000-0000-4000-8000-00000000000b
PSQL=("$TI_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1)
n=0

echo "1..22"

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
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
q() {	# q DB SQL...: run as the superuser, print the result
	local db=$1
	shift
	"${PSQL[@]}" -d "$db" "$@" 2>>"$TI_TMP/dump_restore.err"
}
app() {	# app DB ORG SQL: run as the application role working for ORG
	"${PSQL[@]}" -d "$1" -c "SET tenant.org_id = '$2'" -c "SET ROLE ti_app" -c "$3" 2>>"$TI_TMP/dump_restore.err"
}
# every tenant table's rows per organization, and the global table, as one line each
census() {
	q "$1" -c "SELECT string_agg(format('%s:%s:%s', t, o, c), ' ' ORDER BY t, o) FROM (
	             SELECT 'users' t, organization_id o, count(*) c FROM users GROUP BY 2 UNION ALL
	             SELECT 'courses', organization_id, count(*) FROM courses GROUP BY 2 UNION ALL
	             SELECT 'lessons', organization_id, count(*) FROM lessons GROUP BY 2 UNION ALL
	             SELECT 'enrollments', organization_id, count(*) FROM enrollments GROUP BY 2 UNION ALL
	             SELECT 'assets', organization_id, count(*) FROM assets GROUP BY 2 UNION ALL
	             SELECT 'notes', organization_id, count(*) FROM notes GROUP BY 2 UNION ALL
	             SELECT 'plans', NULL, count(*) FROM plans) x"
}
cleanup() {
	for db in ti_dr_src ti_dr_custom ti_dr_plain ti_dr_unsafe; do
		"$TI_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
	done
}
trap cleanup EXIT
cleanup

# ---------------------------------------------------------------------------
# The source: the fixture database, a table of its own, a global table, more rows
# ---------------------------------------------------------------------------
q postgres -c "CREATE DATABASE ti_dr_src TEMPLATE ti_template"
q ti_dr_src -c "SET client_min_messages = warning" \
	-c "SELECT tenant_iso.exempt_table('public.plans', 'plans are the same for every organization')" \
	-c "CREATE TABLE plans (code text PRIMARY KEY, price numeric NOT NULL)" \
	-c "INSERT INTO plans VALUES ('basic', 10), ('pro', 20)" \
	-c "GRANT SELECT ON plans TO ti_app" \
	-c "SET ROLE ti_owner" \
	-c "CREATE TABLE notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL,
	        user_id uuid NOT NULL, body text NOT NULL,
	        FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id))" >/dev/null
app ti_dr_src $A "INSERT INTO courses (title) VALUES ('Anatomy'); INSERT INTO notes (user_id, body) VALUES ('1a000000-0000-4000-8000-000000000001', 'a note of A')" >/dev/null
app ti_dr_src $B "INSERT INTO users (email, name) VALUES ('bo@beta.test', 'Bo'); INSERT INTO notes (user_id, body) VALUES ('1b000000-0000-4000-8000-000000000001', 'a note of B'), ('1b000000-0000-4000-8000-000000000002', 'another of B')" >/dev/null
src_census=$(census ti_dr_src)
is "$(app ti_dr_src $A "SELECT count(*) FROM courses")" "3" "the source: tenant A has 3 courses"

"$TI_BIN/pg_dump" -Fc -f "$TI_TMP/dr.dump" ti_dr_src 2>>"$TI_TMP/dump_restore.err"
ok $? "pg_dump -Fc of the tenant database, as the superuser"
"$TI_BIN/pg_dump" -Fp -f "$TI_TMP/dr.sql" ti_dr_src 2>>"$TI_TMP/dump_restore.err"
ok $? "pg_dump -Fp (plain SQL)"
"$TI_BIN/pg_dump" -U ti_owner -t public.courses -Fc -f "$TI_TMP/dr_owner.dump" ti_dr_src 2>"$TI_TMP/dr_owner.err"
is "$(grep -c 'query would be affected by row-level security policy for table "courses"' "$TI_TMP/dr_owner.err")" "1" \
	"pg_dump as the table owner (bound by row level security) stops with an error instead of dumping one tenant"

# ---------------------------------------------------------------------------
# Custom format, pg_restore with the option
# ---------------------------------------------------------------------------
q postgres -c "CREATE DATABASE ti_dr_custom TEMPLATE template0"
PGOPTIONS='-c tenant_iso.unsafe_ddl=on -c client_min_messages=error' \
	"$TI_BIN/pg_restore" --exit-on-error -d ti_dr_custom "$TI_TMP/dr.dump" 2>>"$TI_TMP/dump_restore.err"
ok $? "PGOPTIONS='-c tenant_iso.unsafe_ddl=on' pg_restore into a fresh database succeeds"
"${PSQL[@]}" -d ti_dr_custom -c "SELECT tenant_iso.verify()" >/dev/null 2>>"$TI_TMP/dump_restore.err"
ok $? "tenant_iso.verify() passes on the restored database"
is "$(q ti_dr_custom -c "SELECT count(*) FROM tenant_iso.audit() WHERE status = 'violation'")" "0" "the audit finds no violation"
is "$(census ti_dr_custom)" "$src_census" "every table has the same rows per organization as the source"
is "$(q ti_dr_custom -c "SELECT string_agg(name, ',' ORDER BY name) FROM tenant_iso.organizations")" "Alpha Academy,Beta Bootcamp" \
	"the registry is restored"
is "$(q ti_dr_custom -c "SELECT reason FROM tenant_iso.exemptions WHERE table_name = 'plans'")" "plans are the same for every organization" \
	"the exemptions are restored"
is "$(app ti_dr_custom $A "SELECT count(*), count(*) FILTER (WHERE organization_id <> '$A') FROM courses")" "3|0" \
	"ti_app working for A sees A's 3 courses and nothing else"
is "$(app ti_dr_custom $A "SELECT string_agg(body, ',') FROM notes")" "a note of A" "and only A's note"
is "$(app ti_dr_custom $B "SELECT string_agg(name, ',' ORDER BY name) FROM users")" "Another Ada,Bea,Bo" "ti_app working for B sees B's users only"
is "$(app ti_dr_custom $B "SELECT count(*) FROM plans")" "2" "the global table is readable by every tenant"
app ti_dr_custom $A "INSERT INTO courses (title) VALUES ('Acoustics')" >/dev/null
is "$(q ti_dr_custom -c "SELECT organization_id FROM courses WHERE title = 'Acoustics'")" "$A" "inserts are stamped again"
"${PSQL[@]}" -d ti_dr_custom -c "SET tenant.org_id = '$A'" -c "SET ROLE ti_app" \
	-c "INSERT INTO courses (organization_id, title) VALUES ('$B', 'x')" >/dev/null 2>"$TI_TMP/dr_ti003.err"
is "$(grep -c 'cannot insert a row for another organization' "$TI_TMP/dr_ti003.err")" "1" "a row for another organization is refused"
is "$("${PSQL[@]}" -d ti_dr_custom -c "CREATE TABLE nocol (id int)" 2>&1 >/dev/null | grep -c 'has no "organization_id" column')" "1" \
	"the schema check is back in force for new tables"

# ---------------------------------------------------------------------------
# Plain format, psql with the option
# ---------------------------------------------------------------------------
q postgres -c "CREATE DATABASE ti_dr_plain TEMPLATE template0"
PGOPTIONS='-c tenant_iso.unsafe_ddl=on -c client_min_messages=error' \
	"${PSQL[@]}" -d ti_dr_plain -f "$TI_TMP/dr.sql" >/dev/null 2>>"$TI_TMP/dump_restore.err"
ok $? "PGOPTIONS='-c tenant_iso.unsafe_ddl=on' psql -f dump.sql succeeds"
"${PSQL[@]}" -d ti_dr_plain -c "SELECT tenant_iso.verify()" >/dev/null 2>>"$TI_TMP/dump_restore.err"
ok $? "tenant_iso.verify() passes on it"
is "$(census ti_dr_plain)" "$src_census" "with the same rows per organization"
is "$(app ti_dr_plain $B "SELECT count(*), count(*) FILTER (WHERE organization_id <> '$B') FROM users")" "3|0" \
	"and ti_app working for B sees B's 3 users only"

# ---------------------------------------------------------------------------
# Without the option the restore fails: the schema check runs on each table as it is
# created, before the dump's exemptions (data of tenant_iso.exemptions) are loaded, and
# it would set up tables whose keys, policies and triggers the dump creates again
# ---------------------------------------------------------------------------
q postgres -c "CREATE DATABASE ti_dr_unsafe TEMPLATE template0"
PGOPTIONS='-c client_min_messages=error' \
	"$TI_BIN/pg_restore" --exit-on-error -d ti_dr_unsafe "$TI_TMP/dr.dump" >/dev/null 2>"$TI_TMP/dr_noopt.err"
rc=$?
is "$([ $rc -ne 0 ] && echo failed || echo succeeded)" "failed" "pg_restore without tenant_iso.unsafe_ddl fails"
sed 's/^/# /' "$TI_TMP/dr_noopt.err" | head -3
