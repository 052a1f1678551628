#!/usr/bin/env bash
# test/citus/bench.sh: throughput of tenant-scoped queries on Citus that name no organization_id
# (tenant_iso adds the tenant comparison, Citus routes to the tenant's shard) against the same
# queries with an explicit "organization_id = $1" (what an application would write without
# tenant_iso's routing). Both run as the application role with the tenant set for the session, so
# both send the tenant to the worker (one remote transaction per statement).
#
# Workloads (pgbench -M prepared, one tenant per client, clients spread over TENANTS tenants):
#   select  SELECT payload FROM items WHERE n = :n                       vs  ... WHERE organization_id = :org AND n = :n
#   update  UPDATE items SET hits = hits + 1 WHERE n = :n                vs  ... WHERE organization_id = :org AND n = :n
# ROUNDS rounds, each running every workload in both forms for SECONDS seconds (the forms
# alternate, so a change in the machine's load hits both); the ratio implicit/explicit of the
# median tps is printed per workload, with the load average before and after.
#
# Settings: TI_CITUS_PORT (default 56840), BENCH_SECONDS (20), ROUNDS (3), CLIENTS (4), TENANTS (4, at most 9),
# ROWS per tenant (10000). Starts and removes its own cluster (test/citus/cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export TI_CITUS_PORT=${TI_CITUS_PORT:-56840}
export TI_CITUS_DB=bench
source test/citus/cluster.sh

seconds=${BENCH_SECONDS:-20}
rounds=${ROUNDS:-3}
clients=${CLIENTS:-4}
tenants=${TENANTS:-4}
rows=${ROWS:-10000}

tic_build
tic_start_cluster
tic_psql c -q -f test/roles.sql >/dev/null
tic_psql c -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenant_iso;
GRANT CREATE ON SCHEMA public TO ti_owner;
GRANT USAGE ON SCHEMA public TO ti_app;
SELECT tenant_iso.create_organization('Tenant ' || i, ('0000000' || i || '-0000-4000-8000-000000000000')::uuid)
FROM generate_series(1, $tenants) i;
SET ROLE ti_owner;
CREATE TABLE items (
    organization_id uuid NOT NULL,
    n               int NOT NULL,
    hits            bigint NOT NULL DEFAULT 0,
    payload         text NOT NULL,
    PRIMARY KEY (organization_id, n)
);
GRANT SELECT, UPDATE ON items TO ti_app;
SELECT count(*) FROM tenant_iso.distribute('items');
RESET ROLE;
INSERT INTO items (organization_id, n, payload)
SELECT o.id, g, md5(g::text) FROM tenant_iso.organizations o, generate_series(1, $rows) g;
ANALYZE items;
SQL

work=$TIC_TMP/bench
mkdir -p "$work"
cat >"$work/select_implicit.sql" <<EOF
\set n random(1, $rows)
SELECT payload FROM items WHERE n = :n;
EOF
cat >"$work/select_explicit.sql" <<EOF
\set n random(1, $rows)
SELECT payload FROM items WHERE organization_id = :org AND n = :n;
EOF
cat >"$work/update_implicit.sql" <<EOF
\set n random(1, $rows)
UPDATE items SET hits = hits + 1 WHERE n = :n;
EOF
cat >"$work/update_explicit.sql" <<EOF
\set n random(1, $rows)
UPDATE items SET hits = hits + 1 WHERE organization_id = :org AND n = :n;
EOF

# run SCRIPT: total tps of CLIENTS clients, client i working for tenant (i mod TENANTS) + 1
run() {
	local script=$1 i pids=() total=0 org tps
	for i in $(seq 1 "$clients"); do
		org="0000000$(( (i - 1) % tenants + 1 ))-0000-4000-8000-000000000000"
		PGOPTIONS="-c tenant.org_id=$org" "$TIC_BIN/pgbench" -n -M prepared -c 1 -j 1 -T "$seconds" \
			-h "$TIC_TMP/sock" -p "$TI_CITUS_PORT" -U ti_app -D org="$org" -f "$work/$script.sql" "$TIC_DB" \
			>"$work/$script.$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	for i in $(seq 1 "$clients"); do
		tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/$script.$i.out")
		[ -n "$tps" ] || { cat "$work/$script.$i.out" >&2; exit 1; }
		total=$(awk -v a="$total" -v b="$tps" 'BEGIN { printf "%.1f", a + b }')
	done
	echo "$total"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs); $clients clients over $tenants tenants, $rows rows each, 32 shards, $seconds s per run, $rounds rounds"
declare -A results
for r in $(seq 1 "$rounds"); do
	for w in select update; do
		for form in implicit explicit; do
			tps=$(run "${w}_$form")
			results[$w.$form]="${results[$w.$form]:-} $tps"
			printf 'round %d  %-6s %-8s %10.1f tps\n' "$r" "$w" "$form" "$tps"
		done
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for w in select update; do
	imp=$(tr ' ' '\n' <<<"${results[$w.implicit]}" | grep . | median)
	exp=$(tr ' ' '\n' <<<"${results[$w.explicit]}" | grep . | median)
	printf '%-6s  no organization_id: %8.1f tps   organization_id = $1: %8.1f tps   ratio %.2f\n' \
		"$w" "$imp" "$exp" "$(awk -v a="$imp" -v b="$exp" 'BEGIN { print a / b }')"
done
tic_psql c -At <<'SQL'
SET ROLE ti_app; SET tenant.org_id = '00000001-0000-4000-8000-000000000000';
EXPLAIN (COSTS OFF) SELECT payload FROM items WHERE n = 42;
SQL
