#!/usr/bin/env bash
# test/t/crash.sh: committed tenant rows survive crashes; uncommitted ones never appear (issue 7).
#
# In a fresh copy of ti_template, several writer clients (application role ti_app, several
# organizations, two clients for one of them) insert a course and a lesson per transaction
# and log each title only after COMMIT returned.  Two more clients hold open transactions
# with marker rows.  Mid-run we crash the server twice:
#   round 1: SIGKILL of one writer's backend (the postmaster resets every backend and
#            recovers by itself);
#   round 2: an immediate shutdown (pg_ctl -m immediate stop), then pg_ctl start.
# After each round: every logged row is there with its writer's organization_id, its lesson
# too, no marker row is visible, at most one committed-but-unlogged transaction per writer
# (the one in flight).  At the end also: tenant_iso.verify() (when it exists), the invariant
# checks of every tenant table, isolation for ti_app, amcheck of the tenant tables' indexes,
# and no PANIC or failed assertion in the server log.
#
# Bounded: each round writes for TI_CRASH_SECONDS (default 3) seconds.  The server is
# running again when this script exits (later test files need it).
set -uo pipefail
bin=${TI_BIN:-$(pg_config --bindir)}
work="${TI_TMP:?TI_TMP is not set}/crash"
db=t_crash
seconds=${TI_CRASH_SECONDS:-3}
A=0a000000-0000-4000-8000-00000000000a
B=0b000000-0000-4000-8000-00000000000b
C=0c000000-0000-4000-8000-00000000000c
rm -rf "$work"; mkdir -p "$work"
chmod 755 "$work"

as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
sql() { "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
server_up() { "$bin/pg_isready" -q -t 1 -d postgres >/dev/null 2>&1; }
wait_up() {
	local i
	for i in $(seq 1 ${1:-60}); do
		server_up && "$bin/psql" -X -q -At -d postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}
# whatever happens, leave the server running for the next test files
ensure_running() {
	if ! as_server "$bin/pg_ctl" -D "$TI_DATA" status >/dev/null 2>&1; then
		as_server "$bin/pg_ctl" -D "$TI_DATA" -l "$TI_TMP/server.log" -w -t 60 start >/dev/null 2>&1
	fi
	wait_up 60 >/dev/null
	"$bin/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
}
writer_pids=()
cleanup() {
	local p
	for p in "${writer_pids[@]}"; do kill "$p" 2>/dev/null; done
	ensure_running
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() {	# check "description" test-expression-result(t/f)
	local desc=$1 got=$2
	if [ "$got" = "t" ]; then ok "$desc"; else nok "$desc"; echo "#   got: $got"; fi
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d' $((ms / 1000)) $(((ms % 1000) / 100)); }	# seconds, one decimal
t_start=$(now_ms)
at() { [ -n "${TI_CRASH_DEBUG:-}" ] && echo "# $(since "$t_start") s: $*"; return 0; }
log_start=$(stat -c %s "$TI_TMP/server.log" 2>/dev/null || echo 0)
echo "1..20"

PGOPTIONS="-c client_min_messages=warning" "$bin/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" \
	-c "CREATE DATABASE $db TEMPLATE ti_template" >/dev/null || { echo "Bail out! cannot create $db"; exit 1; }
sql -c "SELECT tenant_iso.create_organization('Gamma Guild', '$C')" >/dev/null
sql -c "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null 2>&1 || echo "# amcheck not available"

# writer W ORG ROUND: psql fed by an endless generator of small transactions; it echoes each
# title after its COMMIT returned (the generator dies of SIGPIPE when psql has gone)
start_writer() {
	local w=$1 org=$2 round=$3
	awk -v p="$round$w" -v org="$org" 'BEGIN {
		printf "SET tenant.org_id = %c%s%c;\n", 39, org, 39;
		for (i = 1; i <= 100000000; i++) {
			printf "BEGIN;\nWITH c AS (INSERT INTO courses (title) VALUES (%c%s-%d%c) RETURNING id)\n", 39, p, i, 39;
			printf "  INSERT INTO lessons (course_id, title) SELECT id, %c%s-%d-l%c FROM c;\nCOMMIT;\n\\echo %s-%d\n", 39, p, i, 39, p, i;
		}
	}' 2>/dev/null | PGAPPNAME="ti_crash_$round$w" "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -U ti_app -d "$db" \
		-f - >"$work/$round$w.log" 2>"$work/$round$w.err" &
	writer_pids+=($!)
	echo "$round$w $org" >>"$work/writers"
}
# marker M ORG ROUND: an open transaction with marker rows, sleeping at crash time
start_marker() {
	local m=$1 org=$2 round=$3
	PGAPPNAME="ti_crash_$round$m" "$bin/psql" -X -q -At -U ti_app -d "$db" >"$work/$round$m.log" 2>&1 <<-SQL &
	SET tenant.org_id = '$org';
	BEGIN;
	INSERT INTO courses (title) SELECT 'uncommitted-$round$m-' || g FROM generate_series(1, 2000) g;
	INSERT INTO lessons (course_id, title) SELECT id, 'uncommitted-l' FROM courses WHERE title LIKE 'uncommitted-%';
	SELECT 'marker ready', pg_sleep(600);
	COMMIT;
	SQL
	writer_pids+=($!)
}
wait_markers() {	# until both markers sleep inside their transaction
	local i
	for i in $(seq 1 100); do
		[ "$("$bin/psql" -X -q -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ti_crash_$1m%' AND query LIKE '%pg_sleep%' AND state = 'active'")" = 2 ] && return 0
		sleep 0.1
	done
	return 1
}
wait_writers() {	# the clients end by themselves when the server goes away
	local p
	for p in "${writer_pids[@]}"; do
		timeout 30 tail --pid="$p" -f /dev/null 2>/dev/null
		wait "$p" 2>/dev/null
	done
	writer_pids=()
}
load_logs() {	# the committed titles, with the organization each writer worked for
	local w org
	sql -c "DROP TABLE IF EXISTS pg_temp.dummy" >/dev/null 2>&1
	: >"$work/committed.csv"
	while read -r w org; do
		sed -n "s/^\($w-[0-9]*\)\$/\1,$org,$w/p" "$work/$w.log" >>"$work/committed.csv"
	done <"$work/writers"
}

# check_round ROUND: the assertions after a crash; the temp table lives in one psql session
check_round() {
	local round=$1 out
	load_logs
	out=$(sql <<-SQL
	CREATE TEMP TABLE committed (title text, org uuid, writer text);
	\copy committed FROM '$work/committed.csv' WITH (FORMAT csv)
	ANALYZE committed; ANALYZE courses; ANALYZE lessons;
	SELECT 'logged', count(*) FROM committed WHERE writer LIKE '$round%';
	SELECT 'missing', count(*) FROM committed l
	  WHERE NOT EXISTS (SELECT 1 FROM courses c WHERE c.title = l.title AND c.organization_id = l.org);
	SELECT 'wrong_org', count(*) FROM committed l JOIN courses c ON c.title = l.title WHERE c.organization_id <> l.org;
	SELECT 'lesson_missing', count(*) FROM committed l
	  LEFT JOIN (SELECT c.title, c.organization_id FROM courses c
	               JOIN lessons s ON s.course_id = c.id AND s.organization_id = c.organization_id AND s.title = c.title || '-l') ok
	    ON ok.title = l.title AND ok.organization_id = l.org
	  WHERE ok.title IS NULL;
	SELECT 'uncommitted', (SELECT count(*) FROM courses WHERE title LIKE 'uncommitted-%')
	                    + (SELECT count(*) FROM lessons WHERE title LIKE 'uncommitted-%');
	SELECT 'in_flight', coalesce(max(n), 0) FROM (
	  SELECT count(*) AS n FROM courses c
	   WHERE c.title ~ '^r[0-9]w[0-9]+-[0-9]+\$' AND split_part(c.title, '-', 1) LIKE '$round%'
	     AND NOT EXISTS (SELECT 1 FROM committed l WHERE l.title = c.title)
	   GROUP BY split_part(c.title, '-', 1)) s;
	SQL
	)
	echo "$out" | sed 's/^/# /; s/|/ = /'
	get() { echo "$out" | sed -n "s/^$1|//p"; }
	check "$round: writers committed and logged transactions before the crash" "$([ "$(get logged)" -gt 0 ] 2>/dev/null && echo t || echo "$(get logged)")"
	check "$round: every logged committed course is present with its writer's organization_id" "$([ "$(get missing)" = 0 ] && [ "$(get wrong_org)" = 0 ] && echo t || echo "missing $(get missing), wrong organization $(get wrong_org)")"
	check "$round: every logged committed lesson is present with its course" "$([ "$(get lesson_missing)" = 0 ] && echo t || echo "$(get lesson_missing) missing")"
	check "$round: no row of the open (uncommitted) transactions is visible" "$([ "$(get uncommitted)" = 0 ] && echo t || echo "$(get uncommitted) rows")"
	check "$round: at most one committed but unlogged transaction per writer (the one in flight)" "$([ "$(get in_flight)" -le 1 ] 2>/dev/null && echo t || echo "$(get in_flight)")"
}

at "round 1: writers start"
######## round 1: SIGKILL of one backend
: >"$work/writers"
start_writer w1 $A r1; start_writer w2 $A r1; start_writer w3 $B r1; start_writer w4 $C r1
start_marker m1 $A r1; start_marker m2 $B r1
at "round 1: markers"
wait_markers r1 || echo "# markers were not ready in time"
sleep "$seconds"
at "round 1: SIGKILL"
victim=$("$bin/psql" -X -q -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ti_crash_r1w3'")
echo "# round 1: SIGKILL to backend $victim (writer r1w3)"
t0=$(now_ms)
[ -n "$victim" ] && kill -9 "$victim"
at "round 1: waiting for the clients"
wait_writers
if wait_up 60; then ok "r1: the server recovered by itself after SIGKILL of a backend ($(since "$t0") s)"
else nok "r1: the server recovered by itself after SIGKILL of a backend"; fi
at "round 1: checks"
check_round r1

at "round 2: writers start"
######## round 2: immediate shutdown, restart
start_writer w1 $A r2; start_writer w2 $A r2; start_writer w3 $B r2; start_writer w4 $C r2
start_marker m1 $C r2; start_marker m2 $A r2
at "round 2: markers"
wait_markers r2 || echo "# markers were not ready in time"
sleep "$seconds"
echo "# round 2: pg_ctl -m immediate stop"
at "round 2: immediate shutdown"
as_server "$bin/pg_ctl" -D "$TI_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1
wait_writers
t0=$(now_ms)
as_server "$bin/pg_ctl" -D "$TI_DATA" -l "$TI_TMP/server.log" -w -t 60 start >/dev/null 2>&1
if wait_up 60; then ok "r2: the server restarted after an immediate shutdown ($(since "$t0") s)"
else nok "r2: the server restarted after an immediate shutdown"; fi
at "round 2: checks"
check_round r2
echo "# all rounds: $(wc -l <"$work/committed.csv") logged commits in total"

at "whole database checks"
######## the database as a whole after both crashes
if v=$(sql -c "SELECT tenant_iso.verify()" 2>&1); then ok "tenant_iso.verify() passes after the crashes"
else nok "tenant_iso.verify() passes after the crashes"; echo "$v" | sed 's/^/#   /'; fi
v=$(sql -c "SELECT c.oid::regclass || ': ' || v.check_name FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_isolation',
            LATERAL tenant_iso._table_violations(c.oid) v WHERE c.relnamespace <> 'tenant_iso'::regnamespace" 2>&1)
check "every tenant table passes the invariant checks" "$([ -z "$v" ] && echo t || echo "$v")"

at "isolation checks"
counts=$(sql -c "SELECT organization_id, count(*) FROM courses GROUP BY 1 ORDER BY 1")
echo "$counts" | sed 's/^/# courses per organization: /'
for org in $A $C; do
	want=$(echo "$counts" | sed -n "s/^$org|//p")
	got=$("$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -U ti_app -d "$db" -c "SET tenant.org_id = '$org'" \
		-c "SELECT count(*) || '/' || count(*) FILTER (WHERE organization_id <> '$org') FROM courses" 2>&1)
	check "ti_app working for $org sees exactly its $want courses and no other organization's" "$([ "$got" = "$want/0" ] && echo t || echo "$got")"
done
got=$("$bin/psql" -X -q -At -U ti_app -d "$db" -c "SELECT count(*) FROM courses" 2>&1)
check "ti_app without a tenant is refused (TI001)" "$([[ "$got" == *'no tenant is set'* ]] && echo t || echo "$got")"
got=$("$bin/psql" -X -q -At -U ti_app -d "$db" -c "SET tenant.org_id = '$B'" \
	-c "INSERT INTO courses (organization_id, title) VALUES ('$A', 'after-crash-spoof')" 2>&1)
check "ti_app still cannot write another organization's row (TI003)" "$([[ "$got" == *'another organization'* ]] && echo t || echo "$got")"

v=$(sql -c "SELECT count(bt_index_check(i.indexrelid, true)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	            JOIN pg_am a ON a.oid = c.relam AND a.amname = 'btree'
	            WHERE i.indrelid IN ('courses'::regclass, 'lessons'::regclass, 'tenant_iso.organizations'::regclass)" 2>&1)
check "amcheck: the btree indexes of courses, lessons and the registry are consistent ($v checked)" "$([[ "$v" =~ ^[0-9]+$ ]] && echo t || echo "$v")"

at "server log check"
bad=$(tail -c +"$((log_start + 1))" "$TI_TMP/server.log" | grep -E 'PANIC|TRAP:|failed assertion|terminated by signal (6|11|7|4)|was terminated by exception' | head -5)
check "the server log shows no PANIC, assertion failure or crash other than the two we caused" "$([ -z "$bad" ] && echo t || echo "$bad")"
exit 0
