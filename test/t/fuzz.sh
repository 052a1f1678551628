#!/usr/bin/env bash
# test/t/fuzz.sh: SQLsmith fuzzing as the application role (issue 10).
#
# In a fresh copy of ti_template (database t_fuzz) the migration role ti_owner adds the tenant
# tables of test/fuzz/schema.sql: text, varchar, jsonb, text[] and int[], numeric, double,
# timestamptz, bytea, a LIST-partitioned and a HASH-partitioned table, composite foreign keys,
# two views (security_invoker, set by the schema check).  test/fuzz/data.sql fills them for
# tenant A with ordinary values and for tenant B with markers: "CanaryB7f3a" in every text,
# jsonb (keys and values) and array value, numbers 31337ddd.73 and -1733137ddd, B's uuids.
#
# SQLsmith (Debian package sqlsmith) connects as ti_app with tenant A set, reads the schema as
# ti_app sees it (catalogs included) and prints random queries (--dry-run, fixed --seed) into
# test/fuzz/replay.c, which runs them while they are generated, as ti_app with tenant A, with
# TI_FUZZ_CLIENTS connections: each query in its own transaction, rolled back (BEGIN; query;
# ROLLBACK), with statement_timeout TI_FUZZ_TIMEOUT_MS.  It searches every returned value, error
# field and notice for B's markers, and checks after each ROLLBACK that the session's tenant is
# A again.  A lost connection is recorded with the query in flight and the backend's pid; the
# client waits for the server to recover and goes on.
#
# Asserts:
#   1. the detector works: probes of B's rows (every marked column, some functions, an error and
#      a notice), run by the superuser, are all hits; the same probes of A's rows are none;
#   2. the server never crashed: pg_postmaster_start_time() unchanged, no backend terminated by a
#      signal or exception, no PANIC or TRAP in the server log (a crash's query is printed: the
#      one the crashed backend was running, found by its pid);
#   3. no query's rows, errors or notices showed tenant B's markers (the query is printed);
#   4. every session worked for tenant A again after each rolled back query;
#   5. no query outlived its statement_timeout by far (20 s: a hang);
#   6. at least TI_FUZZ_MIN_QUERIES queries ran.
# A query printed in a diagnostic is generated query N of the seed: TI_FUZZ_KEEP=1 keeps them all.
# and prints "# N queries generated, M succeeded, K errors (...), crashes C, canary hits H".
#
# Environment (set by test/run.sh): PGHOST/PGPORT/PGUSER (superuser), TI_TMP, TI_BIN, TI_DATA.
# Options: TI_FUZZ_SECONDS (replay time; unset, as in `make test`: 10,000 queries, every one of
# which must run, in at most 300 s; `make fuzz` uses 900), TI_FUZZ_QUERIES (queries generated;
# with TI_FUZZ_SECONDS, default more than fit in the time), TI_FUZZ_SEED (default 4242),
# TI_FUZZ_CLIENTS (default 2), TI_FUZZ_TIMEOUT_MS (default 300), TI_FUZZ_MIN_QUERIES (default
# all of them in `make test`, else 12 per second of TI_FUZZ_SECONDS, at most TI_FUZZ_QUERIES;
# 1 per second under valgrind),
# TI_FUZZ_CATALOG=0 (no queries over the system catalogs), TI_FUZZ_JIT=1 (JIT compilation on: it
# cannot be interrupted, see below), TI_FUZZ_KEEP=1 (keep t_fuzz and every generated query in
# $TI_TMP/fuzz/queries).
# The server is running when this script exits (later test files need it).
set -uo pipefail
bin=${TI_BIN:-$(pg_config --bindir)}
here=$(cd "$(dirname "$0")/.." && pwd)
work="${TI_TMP:?TI_TMP is not set}/fuzz"
db=t_fuzz
A=0a000000-0000-4000-8000-00000000000a
B=0b000000-0000-4000-8000-00000000000b
# make test: 10,000 generated queries, all of which must run, within at most 300 s;
# make fuzz (TI_FUZZ_SECONDS=900): as many as fit in the time
if [ -z "${TI_FUZZ_SECONDS:-}" ]; then
	seconds=300	# a ceiling, not the pace: 10,000 queries took 68 s on the 2-core test machine
	queries=${TI_FUZZ_QUERIES:-10000}
else
	seconds=$TI_FUZZ_SECONDS
	queries=${TI_FUZZ_QUERIES:-$((seconds * 1000))}
fi
seed=${TI_FUZZ_SEED:-4242}
clients=${TI_FUZZ_CLIENTS:-2}
timeout_ms=${TI_FUZZ_TIMEOUT_MS:-300}
per_second=12
[ -e "$bin/postgres.real" ] && per_second=1	# test/ubsan_valgrind.sh runs the server under valgrind
min=${TI_FUZZ_MIN_QUERIES:-$([ -z "${TI_FUZZ_SECONDS:-}" ] && [ "$per_second" -gt 1 ] && echo "$queries" \
	|| echo $((seconds * per_second < queries ? seconds * per_second : queries)))}
rm -rf "$work"; mkdir -p "$work"

as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
su_psql() { PGOPTIONS="-c client_min_messages=warning" "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
wait_up() {
	local i
	for i in $(seq 1 "${1:-60}"); do
		"$bin/psql" -X -q -At -d postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}
# whatever happens, leave the server running for the next test files
ensure_running() {
	if ! as_server "$bin/pg_ctl" -D "$TI_DATA" status >/dev/null 2>&1; then
		as_server "$bin/pg_ctl" -D "$TI_DATA" -l "$TI_TMP/server.log" -w -t 60 start >/dev/null 2>&1
	fi
	wait_up 120 >/dev/null
}
cleanup() {
	ensure_running
	[ -n "${TI_FUZZ_KEEP:-}" ] || su_psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
}
trap cleanup EXIT

n=0
ok() {	# ok PASSED(0/1) DESCRIPTION [DIAGNOSTICS]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
	[ "$1" -ne 0 ] && [ -n "${3:-}" ] && printf '%s\n' "${3%$'\n'}" | sed 's/^/#   /'
	return 0
}
bail() { echo "Bail out! $*"; exit 1; }

echo "1..6"

# ---- tools: sqlsmith (Debian package), the replay client (libpq)
if ! command -v sqlsmith >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sqlsmith >/dev/null 2>&1 ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1;
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sqlsmith >/dev/null 2>&1; }
	else
		sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sqlsmith >/dev/null 2>&1
	fi
fi
command -v sqlsmith >/dev/null 2>&1 || bail "sqlsmith is not installed and could not be installed (apt-get install sqlsmith)"
# libpq's header: Debian's libpq-dev (a dependency of postgresql-server-dev-15), else the one of
# the server installation under test (a PostgreSQL built by test/pg/build.sh has it)
libpq_dirs() {
	local pgc i
	for pgc in /usr/bin/pg_config "$bin/pg_config"; do
		[ -x "$pgc" ] || continue
		i=$("$pgc" --includedir 2>/dev/null) && [ -f "$i/libpq-fe.h" ] && { inc=$i; libdir=$("$pgc" --libdir); return 0; }
	done
	return 1
}
if ! libpq_dirs && [ "$(id -u)" -eq 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpq-dev >/dev/null 2>&1
	libpq_dirs
fi
[ -n "${inc:-}" ] || bail "libpq-fe.h not found (apt-get install libpq-dev)"
gcc -O2 -Wall -pthread -I"$inc" -o "$work/replay" "$here/fuzz/replay.c" -L"$libdir" -Wl,-rpath,"$libdir" -lpq >"$work/build.log" 2>&1 \
	|| { sed 's/^/# /' "$work/build.log"; bail "cannot build test/fuzz/replay.c (gcc, libpq-dev)"; }

# ---- the database
su_psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db TEMPLATE ti_template" >/dev/null \
	|| bail "cannot create $db from ti_template"
su_psql -d "$db" -f "$here/fuzz/schema.sql" >"$work/setup.log" 2>&1 || { sed 's/^/# /' "$work/setup.log"; bail "test/fuzz/schema.sql failed"; }
su_psql -d "$db" -v org=$A -v pfx=alpha -v num=100 -v frac=0.25 -v ints=1 -v n=40 \
	-f "$here/fuzz/data.sql" >>"$work/setup.log" 2>&1 || { sed 's/^/# /' "$work/setup.log"; bail "test/fuzz/data.sql failed for A"; }
su_psql -d "$db" -v org=$B -v pfx=CanaryB7f3a -v num=31337000 -v frac=0.73 -v ints=-1733137000 -v n=40 \
	-f "$here/fuzz/data.sql" >>"$work/setup.log" 2>&1 || { sed 's/^/# /' "$work/setup.log"; bail "test/fuzz/data.sql failed for B"; }
# statistics for the planner (ti_app cannot read them: pg_stats hides tables with row level
# security); the fuzz database logs only FATAL and worse, or every failed query would be logged
su_psql -d "$db" -c "ANALYZE" \
	-c "ALTER DATABASE $db SET log_min_messages = fatal" -c "ALTER DATABASE $db SET log_min_error_statement = panic" >/dev/null \
	|| bail "cannot analyze $db"
# the markers must be there for B and nowhere in A's rows, else the run proves nothing
check=$(su_psql -d "$db" -c "SELECT count(*) FILTER (WHERE organization_id = '$B' AND c::text LIKE '%CanaryB7f3a%')
                                 || '/' || count(*) FILTER (WHERE organization_id = '$A' AND c::text ILIKE '%canaryb%')
                             FROM fz_customers c" 2>&1)
[ "$check" = "40/0" ] || bail "the canary rows are not as expected (B with marker / A with marker: $check)"

# ---- the detector: B's rows read by the superuser (row level security does not bind it), one
# probe per column that holds a marker, and some functions the fuzz may apply, must all be hits
su_psql -d "$db" >"$work/probes.sql" 2>&1 <<SQL || { sed 's/^/# /' "$work/probes.sql"; bail "cannot list the probes"; }
SELECT format('SELECT %I FROM %I WHERE organization_id = %L;', a.attname, c.relname, '$B')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relname IN ('fz_customers', 'fz_products', 'fz_orders', 'fz_events', 'fz_ledger')
   AND a.attnum > 0 AND NOT a.attisdropped
   AND (a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'jsonb'::regtype, 'text[]'::regtype, 'int[]'::regtype,
                       'numeric'::regtype, 'float8'::regtype, 'bytea'::regtype, 'uuid'::regtype)
        OR (SELECT typbasetype FROM pg_type WHERE oid = a.atttypid) = 'uuid'::regtype)
 ORDER BY c.relname, a.attnum;
SQL
cat >>"$work/probes.sql" <<SQL
SELECT upper(name), lower(email) FROM fz_customers WHERE organization_id = '$B';
SELECT reverse(name) FROM fz_customers WHERE organization_id = '$B';
SELECT to_tsvector('english', name) FROM fz_customers WHERE organization_id = '$B';
SELECT encode(avatar, 'hex'), encode(convert_to(name, 'UTF8'), 'hex') FROM fz_customers WHERE organization_id = '$B';
SELECT jsonb_object_keys(profile) FROM fz_customers WHERE organization_id = '$B';
SELECT array_to_string(tags, ','), scores[1], balance::float4::text FROM fz_customers WHERE organization_id = '$B';
SELECT row_to_json(c) FROM fz_customers c WHERE organization_id = '$B';
SELECT * FROM fz_order_summary WHERE organization_id = '$B';
SELECT * FROM fz_customer_activity WHERE organization_id = '$B';
SELECT name, email, title FROM users, courses WHERE users.organization_id = '$B' AND courses.organization_id = '$B';
SELECT name FROM tenant_iso.organizations WHERE id = '$B';
SELECT name::int FROM fz_customers WHERE organization_id = '$B';
DO \$\$ BEGIN RAISE NOTICE '%', (SELECT max(memo) FROM fz_ledger WHERE organization_id = '$B'); END \$\$;
SQL
nprobes=$(grep -c ';$' "$work/probes.sql")
mkdir -p "$work/probes"
"$work/replay" -d "host=$PGHOST port=$PGPORT dbname=$db user=postgres application_name=ti_fuzz_probe" \
	-o "$work/probes" -j 1 -s 60 <"$work/probes.sql"
missed=$(awk -v n="$nprobes" '/^@@ HIT / { sub(/^@@ HIT query=/, ""); sub(/ .*/, ""); hit[$0] = 1 }
	END { for (i = 1; i <= n; i++) if (!(i in hit)) print i }' "$work/probes/events" 2>/dev/null)
probe_hits=$(sed -n 's/^hits=//p' "$work/probes/summary" 2>/dev/null)
# the same probes over A's rows must find nothing (no false positives)
mkdir -p "$work/probes_a"
sed "s/$B/$A/g" "$work/probes.sql" | "$work/replay" -d "host=$PGHOST port=$PGPORT dbname=$db user=postgres application_name=ti_fuzz_probe" \
	-o "$work/probes_a" -j 1 -s 60
probe_a_hits=$(sed -n 's/^hits=//p' "$work/probes_a/summary" 2>/dev/null)
detail=
for i in $missed; do
	detail+="no marker found by probe $i: $(awk -v i="$i" 'BEGIN { RS = ";\n" } NR == i { gsub(/\n/, " "); print; exit }' "$work/probes.sql")"$'\n'
done
[ "${probe_a_hits:-1}" = 0 ] || detail+="$(grep '^@@ HIT' "$work/probes_a/events" | head -5)"
ok "$([ "${probe_hits:-0}" -eq "$nprobes" ] && [ -z "$missed" ] && [ "${probe_a_hits:-1}" = 0 ] && echo 0 || echo 1)" \
	"the detector recognises tenant B's data in every column type, function and message probed (${probe_hits:-0} of $nprobes probes of B's rows as the superuser; ${probe_a_hits:-?} in A's)" "$detail"

# ---- the run
start_time=$(su_psql -d postgres -c "SELECT pg_postmaster_start_time()")
log_start=$(stat -c %s "$TI_TMP/server.log" 2>/dev/null || echo 0)
# search_path: SQLsmith names types without their schema (a type of tenant_iso, such as the
# former domain tenant_iso.tenant_id, as tenant_id)
opts="-c tenant.org_id=$A -c search_path=public,tenant_iso"
target="host=$PGHOST port=$PGPORT dbname=$db user=ti_app application_name=ti_fuzz_sqlsmith options='$opts'"
# jit: PostgreSQL does not interrupt a JIT compilation; SQLsmith's plans over the information_schema
# views cost enough to be compiled with every optimization, which takes seconds (13 s seen on a
# loaded machine) past statement_timeout.  That is PostgreSQL's, not tenant_iso's: TI_FUZZ_JIT=1
# keeps it on.
jit=off
[ -n "${TI_FUZZ_JIT:-}" ] && jit=on
conn="host=$PGHOST port=$PGPORT dbname=$db user=ti_app application_name=ti_fuzz options='$opts -c statement_timeout=$timeout_ms -c lock_timeout=$timeout_ms -c jit=$jit'"
catalog=--exclude-catalog
[ "${TI_FUZZ_CATALOG:-1}" != 0 ] && catalog=
echo "# sqlsmith --seed=$seed --max-queries=$queries ${catalog:+$catalog }--dry-run as ti_app (tenant A), replayed by $clients clients for at most $seconds s, statement_timeout $timeout_ms ms, jit $jit"
t0=$(date +%s)
# (timeout: the replay client stops at the time limit, and the generator with it on its next
# write, unless it never writes at all)
timeout -k 10 $((seconds + 120)) sqlsmith --target="$target" --seed="$seed" --max-queries="$queries" --dry-run $catalog 2>"$work/sqlsmith.log" \
	| "$work/replay" -d "$conn" -o "$work" -j "$clients" -s "$seconds" -e "$A" ${TI_FUZZ_KEEP:+-a} 2>"$work/replay.log"
t1=$(date +%s)
wait_up 120 >/dev/null || ensure_running

# ---- the figures
[ -f "$work/summary" ] || { tail -5 "$work/sqlsmith.log" | sed 's/^/# sqlsmith: /'; bail "the replay client wrote no summary"; }
get() { sed -n "s/^$1=//p" "$work/summary"; }
generated=$(get generated); ran=$(get ran); succeeded=$(get ok); errors=$(get errors); lost=$(get lost)
hits=$(get hits); drift=$(get drift); hangs=$(get hangs); gave_up=$(get gave_up); secs=$(get seconds)
classes=$(sed -n 's/^class\.\(..\)=\(.*\)/\2 \1/p' "$work/summary" | sort -rn | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}')
top=$(sed -n 's/^state\.\([0-9A-Z]\{5\}\)=\(.*\)/\2 \1/p' "$work/summary" | grep -v ' 00000$' | sort -rn | head -8 |
	awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}')

# crashes: backends that died of a signal or an exception, since the start of the run
tail -c +"$((log_start + 1))" "$TI_TMP/server.log" >"$work/server.log" 2>/dev/null
grep -E 'server process \(PID [0-9]+\) was terminated by (signal|exception)' "$work/server.log" >"$work/crashes" || true
crashes=$(wc -l <"$work/crashes")
# the query each crashed backend ran: the LOST event of that pid (else the log's DETAIL line)
crash_report=
while read -r line; do
	pid=$(echo "$line" | sed -E 's/.*server process \(PID ([0-9]+)\).*/\1/')
	what=$(echo "$line" | sed -E 's/.*(terminated by .*)/\1/')
	q=$(awk -v pid="$pid" '/^@@ LOST / && $0 ~ (" pid=" pid ":") { on = 1; print; next } on && /^@@ END/ { on = 0; exit } on' "$work/events")
	if [ -n "$q" ]; then
		qn=$(echo "$q" | head -1 | sed -E 's/^@@ LOST query=([0-9]+) worker=([0-9]+).*/query \1 (client \2)/')
		crash_report+="crash: backend $pid $what, running generated $qn:"$'\n'"$(echo "$q" | sed 1d | head -60)"$'\n'
	else
		crash_report+="crash: backend $pid $what; not one of the fuzz clients' (log: $(grep -A1 -F "(PID $pid)" "$work/server.log" | sed -n 's/.*Failed process was running: //p' | head -1 | cut -c1-300))"$'\n'
	fi
done <"$work/crashes"
other_bad=$(grep -E 'PANIC|TRAP:|failed assertion|terminated by signal|was terminated by exception' "$work/server.log" |
	grep -vE 'server process \(PID [0-9]+\) was terminated by (signal|exception)' | head -5)
end_time=$(su_psql -d postgres -c "SELECT pg_postmaster_start_time()" 2>&1)

echo "# $generated queries generated, $succeeded succeeded, $errors errors (by SQLSTATE class: ${classes:-none}), crashes $crashes, canary hits $hits"
echo "# $ran queries ran in $secs s ($(awk -v r="$ran" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? r / s : 0) }') per second, $clients clients); most frequent errors: ${top:-none}"
echo "# connections lost: $lost (crashed backends $crashes; the others were reset after a crash or terminated by a fuzz query); generation and replay took $((t1 - t0)) s"
internal=$(grep -c '^@@ INTERNAL ' "$work/events" || true)
if [ "$internal" -gt 0 ]; then
	echo "# internal errors (SQLSTATE class XX, not failures): $(sed -n 's/^class\.XX=//p' "$work/summary"); first ones:"
	grep '^@@ INTERNAL ' "$work/events" | sed -E 's/^@@ INTERNAL (query=[0-9]+) [^:]*: /\1: /' | sort -t: -k2 -u | head -5 | cut -c1-200 | sed 's/^/#   /'
fi

# ---- the assertions
detail=
[ "$start_time" = "$end_time" ] || detail+="pg_postmaster_start_time() was $start_time, is $end_time"$'\n'
detail+=$crash_report
[ -n "$other_bad" ] && detail+="server log: $other_bad"$'\n'
grep -q '^@@ GONE ' "$work/events" && detail+="$(grep '^@@ GONE ' "$work/events" | head -2)"$'\n'
ok "$([ -z "$detail" ] && echo 0 || echo 1)" "the server never crashed ($ran queries as ti_app: postmaster start time, server log)" "$detail"

detail=$(awk '/^@@ HIT / { k++; if (k > 10) exit; on = 1; lines = 0; print; next }
              on && /^@@ END/ { on = 0; next }
              on && lines++ < 40' "$work/events")
ok "$([ "${hits:-1}" = 0 ] && echo 0 || echo 1)" "no query's rows, errors or notices showed tenant B's data (canary hits: $hits)" "$detail"

detail=$(awk '/^@@ DRIFT / { k++; if (k > 5) exit; on = 1; lines = 0; print; next }
              on && /^@@ END/ { on = 0; next }
              on && lines++ < 40' "$work/events")
ok "$([ "${drift:-1}" = 0 ] && echo 0 || echo 1)" "after every rolled back query the session works for tenant A again" "$detail"

detail=$(awk '/^@@ HANG / { k++; if (k > 5) exit; on = 1; lines = 0; print; next }
              on && /^@@ END/ { on = 0; next }
              on && lines++ < 40' "$work/events")
ok "$([ "${hangs:-1}" = 0 ] && [ "${gave_up:-1}" = 0 ] && echo 0 || echo 1)" "no query outlived its statement_timeout ($timeout_ms ms) by 20 s or more" "$detail"

ok "$([ "${ran:-0}" -ge "$min" ] && echo 0 || echo 1)" "at least $min generated queries ran ($ran)" \
	"$(tail -5 "$work/sqlsmith.log" | sed 's/^/sqlsmith: /')"
exit 0
