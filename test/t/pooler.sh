#!/usr/bin/env bash
# test/t/pooler.sh: tenant contexts through a transaction-pooling connection pooler.
#
# Starts PgBouncer (pool_mode = transaction, 3 server connections per role) on 127.0.0.1 in front of
# the test cluster, in a database of its own (ti_pool, a copy of ti_template) with
# tenant_iso.context_scope = 'transaction', and runs concurrent clients through it:
#   - 4 clients as ti_app (require_signed_context = on), one per organization, each transaction
#     starting with tenant_iso.authenticate(<token of its organization>);
#   - 4 clients as ti_other, one per organization, each transaction starting with SET LOCAL;
#   - 2 "poisoners" (one per role) that keep trying to leave organization 1's context behind on
#     the shared server connections (set_config(..., false), authenticate() outside a transaction).
# Every transaction first checks that no tenant is in effect, sets its tenant, inserts a row tagged
# with its client, and reads back all rows it can see. Asserts: no transaction starts with a tenant
# in effect, no client reads a row of another tenant, every client sees exactly its own committed
# rows, the superuser finds exactly the committed rows with the right organization each, a
# session-level SET through the pooler is refused, and so is (at its commit) every session-level
# set_config(..., false) of a poisoner; no client is ever shown a value left behind (SHOW and
# current_setting() display only the tenant in effect). Prints TAP and the figures as comments.
#
# Environment (set by test/run.sh): PGHOST/PGPORT/PGUSER (superuser), TI_TMP, TI_BIN.
# Optional: TI_POOLER_PORT (default PGPORT+7), TI_POOLER_TXNS (per client, default 500),
# TI_POOLER_SCOPE (default transaction; 'session' shows that the test catches leaking contexts).
# Stops PgBouncer (by its pid file), drops its database and resets the signing key on exit.
set -uo pipefail

bin=${TI_BIN:-$(pg_config --bindir)}
psql_bin="$bin/psql"
port=${TI_POOLER_PORT:-$((PGPORT + 7))}
txns=${TI_POOLER_TXNS:-500}
scope=${TI_POOLER_SCOPE:-transaction}
db=ti_pool
work="${TI_TMP:-/tmp}/pooler.$$"
norgs=4
pgbouncer_bin=$(command -v pgbouncer || true)
[ -z "$pgbouncer_bin" ] && [ -x /usr/sbin/pgbouncer ] && pgbouncer_bin=/usr/sbin/pgbouncer

if [ -z "$pgbouncer_bin" ]; then
	echo "1..1"
	echo "not ok 1 - pgbouncer is not installed (test/cluster.sh installs it)"
	exit 0
fi

su_psql() { PGOPTIONS="-c client_min_messages=warning" "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
as_pgbouncer_user() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

n=0
failed=0
ok() { # ok CONDITION-EXIT-STATUS DESCRIPTION [DIAGNOSTICS]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
}

client_pids=()
cleanup() {
	local p
	for p in "${client_pids[@]}"; do kill "$p" 2>/dev/null; done
	if [ -f "$work/pgbouncer.pid" ]; then
		p=$(cat "$work/pgbouncer.pid" 2>/dev/null)
		if [ -n "$p" ]; then
			kill "$p" 2>/dev/null
			for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$p" 2>/dev/null
		fi
	fi
	su_psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	su_psql -d postgres -c "ALTER SYSTEM RESET tenant_iso.signing_key" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "1..18"

# ---------------------------------------------------------------------------------------------
# The database, the key, the organizations, the table
# ---------------------------------------------------------------------------------------------
mkdir -p "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
key=$(openssl rand -hex 32 2>/dev/null || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

setup_err=$(
	{
		su_psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db TEMPLATE ti_template" &&
		su_psql -d postgres -c "ALTER SYSTEM SET tenant_iso.signing_key = '$key'" -c "SELECT pg_reload_conf()" >/dev/null &&
		su_psql -d "$db" <<-EOF
			SET client_min_messages = warning;
			ALTER DATABASE $db SET tenant_iso.context_scope = '$scope';
			ALTER ROLE ti_app IN DATABASE $db SET tenant_iso.require_signed_context = on;
			SET ROLE ti_owner;
			CREATE TABLE pool_rows (
			    id              bigserial,
			    organization_id uuid NOT NULL,
			    tag             text NOT NULL,
			    seq             int NOT NULL,
			    PRIMARY KEY (organization_id, id)
			);
			RESET ROLE;
			GRANT USAGE ON SCHEMA public TO ti_other;
			GRANT SELECT, INSERT ON pool_rows TO ti_other;
			GRANT USAGE ON SEQUENCE pool_rows_id_seq TO ti_other;
			SELECT tenant_iso.exempt_table('public.pool_orgs', 'test bookkeeping: the organizations of the pooler test');
			CREATE TABLE pool_orgs (name text PRIMARY KEY, id uuid NOT NULL);
			INSERT INTO pool_orgs
			    SELECT 'o' || i, tenant_iso.create_organization('Pool organization ' || i) FROM generate_series(1, $norgs) i;
		EOF
	} 2>&1
)
# wait until new sessions have the key (the reload is asynchronous)
for _ in $(seq 1 50); do
	[ "$(su_psql -d "$db" -c "SHOW tenant_iso.signing_key" 2>/dev/null)" = "********" ] && break
	sleep 0.1
done

declare -A org_id=() token=()
while IFS='|' read -r name id tok; do
	org_id[$name]=$id
	token[$name]=$tok
done < <(su_psql -d "$db" -F '|' -c "SELECT name, id, tenant_iso.sign(id, '10 minutes') FROM pool_orgs ORDER BY name" 2>>"$work/setup.err")

if [ ${#org_id[@]} -ne $norgs ]; then
	ok 1 "set-up: database, signing key, $norgs organizations" "$setup_err$(cat "$work/setup.err" 2>/dev/null)"
	for i in $(seq 2 17); do echo "not ok $i - skipped: set-up failed"; done
	exit 1
fi

# ---------------------------------------------------------------------------------------------
# PgBouncer, transaction pooling
# ---------------------------------------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in 1 2 3 4 5; do port_free "$port" && break; port=$((port + 100)); done

cat >"$work/userlist.txt" <<EOF
"ti_app" ""
"ti_other" ""
"postgres" ""
EOF
cat >"$work/pgbouncer.ini" <<EOF
[databases]
$db = host=$PGHOST port=$PGPORT dbname=$db

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 3
reserve_pool_size = 0
max_client_conn = 100
server_reset_query = DISCARD ALL
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
admin_users = postgres
EOF
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$work"

as_pgbouncer_user "$pgbouncer_bin" -d -q "$work/pgbouncer.ini" >"$work/start.log" 2>&1
pool_psql() { "$psql_bin" -X -q -At -h 127.0.0.1 -p "$port" -d "$db" "$@"; }
admin_psql() { "$psql_bin" -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d pgbouncer "$@"; }
started=1
for _ in $(seq 1 50); do
	if [ "$(pool_psql -U ti_other -c "SELECT 'up'" 2>/dev/null)" = "up" ]; then started=0; break; fi
	sleep 0.1
done
mode=$(admin_psql -c "SHOW CONFIG" 2>/dev/null | awk -F'|' '$1 == "pool_mode" { print $2 }')
[ "$mode" = "transaction" ] || started=1
ok $started "pgbouncer runs on 127.0.0.1:$port in front of the test cluster (pool_mode = ${mode:-?})" \
	"$(cat "$work/start.log" "$work/pgbouncer.log" 2>/dev/null | tail -5)"
if [ $started -ne 0 ]; then
	for i in $(seq 2 17); do echo "not ok $i - skipped: pgbouncer did not start"; done
	exit 1
fi

# ---------------------------------------------------------------------------------------------
# Session-level SET through the pooler
# ---------------------------------------------------------------------------------------------
out=$(pool_psql -U ti_other -c "SET tenant.org_id = '${org_id[o1]}'" 2>&1)
[[ "$out" == *'ERROR:  session-level SET of "tenant.org_id" is not allowed'* ]]  # no pipe: grep -q under pipefail can fail by SIGPIPE
ok $? "a session-level SET tenant.org_id through the pooler is refused (context_scope = transaction)" "$out"
out=$(pool_psql -U ti_app -v VERBOSITY=sqlstate -c "SET tenant.org_id = '${org_id[o1]}'" 2>&1)
[ "$out" = "ERROR:  42501" ]
ok $? "and for the signed-context role too (42501)" "$out"

# ---------------------------------------------------------------------------------------------
# The clients
# ---------------------------------------------------------------------------------------------
# client i: orgs o1..o4 for i = 1..4 (ti_app, authenticate) and i = 5..8 (ti_other, SET LOCAL)
gen_client() { # gen_client CLIENT ORG KIND
	local c=$1 o=$2 kind=$3 j set_ctx
	if [ "$kind" = signed ]; then
		set_ctx="SELECT 'auth', tenant_iso.authenticate('${token[$o]}');"
	else
		set_ctx="SET LOCAL tenant.org_id = '${org_id[$o]}';"
	fi
	for ((j = 1; j <= txns; j++)); do
		printf '%s\n' \
			"BEGIN;" \
			"SELECT 'pre', coalesce(tenant_iso.current_org_id()::text, '-'), current_setting('tenant.org_id');" \
			"$set_ctx" \
			"INSERT INTO pool_rows (tag, seq) VALUES ('$o:c$c', $j);" \
			"SELECT 'read', $j, count(*), count(*) FILTER (WHERE split_part(tag, ':', 1) <> '$o'), count(*) FILTER (WHERE tag = '$o:c$c'), coalesce(tenant_iso.current_org_id()::text, '-'), pg_backend_pid() FROM pool_rows;" \
			"COMMIT;"
	done
}
gen_poisoner() { # gen_poisoner KIND: leave organization o1's context behind, then look
	local kind=$1 j
	for ((j = 1; j <= txns / 2; j++)); do
		if [ "$kind" = signed ]; then
			printf '%s\n' "SELECT 'auth', tenant_iso.authenticate('${token[o1]}');"
		else
			printf '%s\n' "SELECT 'set', set_config('tenant.org_id', '${org_id[o1]}', false);" \
				"BEGIN;" "SELECT 'set', set_config('tenant.org_id', '${org_id[o1]}', false);" "COMMIT;"
		fi
		printf '%s\n' "SELECT 'poison', coalesce(tenant_iso.current_org_id()::text, '-');"
	done
}

declare -A client_org=() client_role=()
for c in $(seq 1 8); do
	o="o$(( (c - 1) % norgs + 1 ))"
	client_org[$c]=$o
	if [ "$c" -le 4 ]; then client_role[$c]=ti_app; kind=signed; else client_role[$c]=ti_other; kind=local; fi
	gen_client "$c" "$o" "$kind" >"$work/client$c.sql"
done
gen_poisoner signed >"$work/poison_app.sql"
gen_poisoner local >"$work/poison_other.sql"

start=$(date +%s.%N)
for c in $(seq 1 8); do
	pool_psql -U "${client_role[$c]}" -F '|' -v ON_ERROR_STOP=1 -f "$work/client$c.sql" >"$work/client$c.out" 2>"$work/client$c.err" &
	client_pids+=($!)
	echo "$c $!" >>"$work/pids"
done
pool_psql -U ti_app -F '|' -v ON_ERROR_STOP=1 -f "$work/poison_app.sql" >"$work/poison_app.out" 2>"$work/poison_app.err" &
client_pids+=($!)
# set_config(..., false) is refused at commit under context_scope = transaction: go on after it
pool_psql -U ti_other -F '|' -v ON_ERROR_STOP=0 -f "$work/poison_other.sql" >"$work/poison_other.out" 2>"$work/poison_other.err" &
client_pids+=($!)

errors=0
for p in "${client_pids[@]}"; do wait "$p" || errors=$((errors + 1)); done
client_pids=()
end=$(date +%s.%N)
duration=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')

ok $errors "all 10 clients ran to the end without an error" "$(tail -n 3 "$work"/*.err 2>/dev/null)"

# ---------------------------------------------------------------------------------------------
# What the clients saw
# ---------------------------------------------------------------------------------------------
total_reads=0 leaked=0 cross=0 wrong_org=0 lost=0 stale_values=0
for c in $(seq 1 8); do
	o=${client_org[$c]}
	read -r reads l x w m s < <(awk -F'|' -v org="${org_id[$o]}" '
		$1 == "pre"  { if ($2 != "-") leaked++; if ($3 != "") stale++ }
		$1 == "read" { reads++; cross += $4; if ($6 != org) wrong++; if ($5 != $2) lost++ }
		END { printf "%d %d %d %d %d %d\n", reads, leaked, cross, wrong, lost, stale }' "$work/client$c.out")
	total_reads=$((total_reads + reads)); leaked=$((leaked + l)); cross=$((cross + x))
	wrong_org=$((wrong_org + w)); lost=$((lost + m)); stale_values=$((stale_values + s))
done
committed=$((8 * txns))
[ "$total_reads" -eq "$committed" ]
ok $? "every transaction ran: $total_reads of $committed"
[ "$leaked" -eq 0 ]
ok $? "no transaction started with a tenant in effect (leaked contexts: $leaked)"
[ "$cross" -eq 0 ]
ok $? "no client read a row of another tenant (cross-tenant rows seen: $cross)"
[ "$wrong_org" -eq 0 ]
ok $? "every read ran as the client's own organization ($wrong_org reads as another)"
[ "$lost" -eq 0 ]
ok $? "every client saw exactly its own committed rows in every transaction ($lost mismatches)"
poison_total=$(cat "$work"/poison_*.out | grep -c '^poison|')
poison_live=$(cat "$work"/poison_*.out | grep '^poison|' | grep -vc '^poison|-$')
[ "$poison_total" -eq $((2 * (txns / 2))) ] && [ "$poison_live" -eq 0 ]
ok $? "contexts left behind by the poisoners were never in effect ($poison_live of $poison_total checks)"
refused=$(grep -c 'session-level setting of "tenant.org_id" is not allowed' "$work/poison_other.err")
attempts=$(grep -c "^set|" "$work/poison_other.out")
[ "$refused" -eq $((2 * (txns / 2))) ]
ok $? "every session-level set_config(..., false) of the poisoner was refused at its commit ($refused of $((2 * (txns / 2))); $attempts returned before the refusal)"

pids_seen=$(cat "$work"/client*.out | awk -F'|' '$1 == "read" { print $7 }' | sort -u | wc -l)
[ "$pids_seen" -ge 2 ] && [ "$pids_seen" -le 6 ]
ok $? "clients shared server connections: 8 clients on $pids_seen server backends (at most 3 per role)"

# ---------------------------------------------------------------------------------------------
# What the superuser finds
# ---------------------------------------------------------------------------------------------
rows=$(su_psql -d "$db" -c "SELECT count(*) FROM pool_rows")
[ "$rows" = "$committed" ]
ok $? "the table holds exactly the $committed committed rows (found $rows)"

expected=$(for c in $(seq 1 8); do echo "${client_org[$c]}:c$c|$txns|1|$txns"; done | sort)
found=$(su_psql -d "$db" -F '|' -c "SELECT tag, count(*), min(seq), count(DISTINCT seq) FROM pool_rows GROUP BY tag ORDER BY tag")
[ "$found" = "$expected" ]
ok $? "per client: exactly $txns rows, sequence 1..$txns, none lost or duplicated" "$(diff <(echo "$expected") <(echo "$found"))"

misplaced=$(su_psql -d "$db" -c "SELECT count(*) FROM pool_rows r JOIN pool_orgs o ON o.name = split_part(r.tag, ':', 1) WHERE r.organization_id <> o.id")
[ "$misplaced" = "0" ]
ok $? "every row belongs to its client's organization (rows in another tenant: $misplaced)"

per_org=$(su_psql -d "$db" -F '|' -c "SELECT o.name, count(r.*) FROM pool_orgs o LEFT JOIN pool_rows r ON r.organization_id = o.id GROUP BY o.name ORDER BY o.name")
expected_org=$(for i in $(seq 1 $norgs); do echo "o$i|$((2 * txns))"; done)
[ "$per_org" = "$expected_org" ]
ok $? "per organization: exactly $((2 * txns)) rows each" "$(diff <(echo "$expected_org") <(echo "$per_org"))"

[ "$stale_values" -eq 0 ]
ok $? "no client was shown a tenant left behind at transaction start ($stale_values values)"

if [ -f "${TI_TMP:-}/server.log" ]; then
	hits=$(grep -c -F "$key" "$TI_TMP/server.log")
	[ "$hits" -eq 0 ]
	ok $? "the signing key set with ALTER SYSTEM + reload appears nowhere in the server log ($hits lines)"
else
	false
	ok $? "the server log at \$TI_TMP/server.log exists (to look for the signing key in it)"
fi

tps=$(awk -v t="$committed" -v d="$duration" 'BEGIN { if (d > 0) printf "%.0f", t / d; else print "n/a" }')
echo "# pooler: pgbouncer $("$pgbouncer_bin" --version 2>/dev/null | head -1 | awk '{print $2}'), pool_mode=transaction, default_pool_size=3"
echo "# clients: 8 (4 authenticate() as ti_app, 4 SET LOCAL as ti_other) + 2 poisoners; organizations: $norgs"
echo "# transactions: $committed committed by the clients ($txns each) + $poison_total poisoner checks; server backends used: $pids_seen"
echo "# duration: ${duration}s ($tps client transactions/s)"
echo "# cross-tenant rows seen: $cross; contexts in effect at transaction start: $leaked; lost writes: $lost; misplaced rows: $misplaced"
echo "# stale values met at transaction start (left on a shared connection, never in effect): $stale_values"
[ "$failed" -eq 0 ]
