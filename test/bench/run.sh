#!/usr/bin/env bash
# test/bench/run.sh: `make bench`. What tenant_iso's isolation costs, against hand-written
# WHERE organization_id = $1 (V0) and = '<uuid>' (V0L) and hand-rolled row level security
# (docs/benchmark.md).
#
# Installs what is missing (plus gnuplot-nox), builds tenant_iso into a private copy of the server
# installation (test/cluster.sh; PG=16 make bench for a built server), starts a throwaway cluster
# tuned for benchmarking (port 55440 by default), loads the data set (test/bench/setup.sql), runs the
# pgbench scripts of test/bench/workloads/ for every variant, interleaved, and writes
# docs/bench-results.md and docs/bench.png. Stops and removes the cluster, also on failure.
#
# Settings (environment):
#   BENCH_SCALE=smoke|full   smoke (default): 1/100 of the data, fixed transaction counts, a few
#                            minutes; full: 2,000,000 courses over 1,000 organizations
#   BENCH_SECONDS=N          time-based runs of N seconds (full: 10); smoke counts transactions
#   BENCH_REPEATS=N          measured runs per workload and variant (3)
#   BENCH_CLIENTS=N          pgbench clients and threads (2)
#   BENCH_WORKLOADS="W1p W5b"  run only these workloads (default: all; "COPY": the COPY FROM STDIN loads)
#   BENCH_COPY_ROWS=N        rows of each COPY FROM STDIN load (1,000,000)
#   BENCH_COPY_REPEATS=N     COPY loads per variant (smoke 1, full 3)
#   BENCH_DDL_TABLES=N       tables created for the schema check's cost (smoke 200, full 2,000)
#   BENCH_MEM_STATEMENTS=N   statements of the backend-memory test (smoke 20,000, full 100,000)
#   BENCH_SHARED_BUFFERS     shared_buffers (smoke 256MB, full 4GB)
#   BENCH_OUT=dir            where the results go (docs)
#   TI_PORT                  the cluster's port (55440)
set -euo pipefail
cd "$(dirname "$0")/../.."
TI_ROOT_DIR=$(pwd)
BENCH_DIR=$TI_ROOT_DIR/test/bench

BENCH_SCALE=${BENCH_SCALE:-smoke}
case "$BENCH_SCALE" in
	smoke)
		NORGS=${BENCH_ORGS:-1000} BIG=${BENCH_BIG:-2000} MROWS=${BENCH_MEDIUM:-18}
		DDL_TABLES=${BENCH_DDL_TABLES:-200} MEM_STATEMENTS=${BENCH_MEM_STATEMENTS:-20000}
		SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-256MB}
		SECONDS_PER_RUN=${BENCH_SECONDS:-}
		;;
	full)
		NORGS=${BENCH_ORGS:-1000} BIG=${BENCH_BIG:-200000} MROWS=${BENCH_MEDIUM:-1800}
		DDL_TABLES=${BENCH_DDL_TABLES:-2000} MEM_STATEMENTS=${BENCH_MEM_STATEMENTS:-100000}
		SHARED_BUFFERS=${BENCH_SHARED_BUFFERS:-4GB}
		SECONDS_PER_RUN=${BENCH_SECONDS:-10}
		;;
	*)
		echo "BENCH_SCALE must be smoke or full, not \"$BENCH_SCALE\"" >&2
		exit 2
		;;
esac
REPEATS=${BENCH_REPEATS:-3}
CLIENTS=${BENCH_CLIENTS:-2}
OUT=${BENCH_OUT:-$TI_ROOT_DIR/docs}
[ "$MROWS" -ge 1 ] && [ "$BIG" -ge "$MROWS" ] && [ "$NORGS" -ge 3 ] \
	|| { echo "need BENCH_ORGS >= 3 and BENCH_BIG >= BENCH_MEDIUM >= 1" >&2; exit 2; }

TI_PORT=${TI_PORT:-55440}
TI_DB=${TI_DB:-tenant_iso_bench}
TI_EXTRA_PACKAGES="${TI_EXTRA_PACKAGES:-} gnuplot-nox"
TI_EXTRA_CONF="
shared_buffers = $SHARED_BUFFERS
synchronous_commit = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
checkpoint_timeout = 30min
max_parallel_workers_per_gather = 0
jit = off
autovacuum = off
${TI_EXTRA_CONF:-}"
source "$TI_ROOT_DIR/test/cluster.sh"

org_uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
BIG_ORG=$(org_uuid 1)      # the big tenant
MEDIUM_ORG=$(org_uuid 2)   # "the medium tenant": as many rows as every other organization
WRITER_ORG=$(org_uuid 3)   # receives the inserts of W3, W3m and the COPY loads

# Workloads: id | short label (chart) | label | script | protocol | tenant k (or "pool") |
#            extra PGOPTIONS | variants | transactions per client at smoke scale |
#            target for V3's ratio to V0 | target for V3's ratio to V0L (empty: none) |
#            "vacuum": vacuum the variant's table before each run (the script rolls back its rows)
# Baselines: V0 = the plain table, the tenant a bind parameter (WHERE organization_id = $1);
# V0L = the same table, the tenant a literal in the query text (WHERE organization_id = '<uuid>').
# Besides V0..V3: V0fk = V0 plus a foreign key to the registry (what such a key costs an insert),
# V3nq = tenant_iso with tenant_iso.implied_quals = off (what its implied LIKE ranges bring),
# V3nt = tenant_iso with tenant_iso.track_tenant_stats = off (what per-tenant statistics cost).
# W6 has no V0L: its tenant changes with every transaction (docs/benchmark.md).
SEQ_OPTS="-c enable_indexscan=off -c enable_indexonlyscan=off -c enable_bitmapscan=off"
WORKLOADS=(
	"W1p|W1 point, prepared|W1 point select by id, prepared (-M prepared)|w1_point|prepared|2||V0 V0L V1 V2 V3 V3nt|600|0.97|0.97|"
	"W1s|W1 point, simple|W1 point select by id, simple protocol (planned each time)|w1_point|simple|2||V0 V0L V1 V2 V3|400|0.95|0.97|"
	"W2i|W2 count, index|W2 count + max over the big tenant, index plan|w2_agg|prepared|1||V0 V0L V1 V2 V3|150|0.97|0.97|"
	"W2s|W2 count, seq scan|W2 count + max over the big tenant, sequential scan (generic plans)|w2_agg|prepared|1|$SEQ_OPTS|V0 V0L V1 V2 V3|15|0.97|0.97|"
	"W2c|W2 seq scan, custom|W2 count + max over the big tenant, sequential scan, custom plans (plan_cache_mode = force_custom_plan)|w2_agg|prepared|1|$SEQ_OPTS -c plan_cache_mode=force_custom_plan|V0 V0L V3|15|0.97|0.97|"
	"W4|W4 update|W4 update one row by id|w4_update|prepared|2||V0 V0L V1 V2 V3|300|0.95|0.97|"
	"W5m|W5 LIKE, medium|W5 title LIKE 'ab%' in the medium tenant|w5_like|prepared|2||V0 V0L V1 V2 V3 V3nq|600|0.90||"
	"W5b|W5 LIKE, big|W5 title LIKE 'ab%' in the big tenant|w5_like|prepared|1||V0 V0L V1 V2 V3 V3nq|100|0.90||"
	"W5j|W5 jsonb @>, big|W5 tags @> '[\"t7\"]' (jsonb, GIN) in the big tenant|w5_jsonb|prepared|1||V0 V0L V1 V2 V3|100|0.90||"
	"W6|W6 pooled tx|W6 pooled transaction: set_config(..., true) + point select|w6_pooled|prepared|pool||V0 V1 V2 V3|300|0.97||"
	"W3|W3 insert|W3 insert one row (stamped)|w3_insert|prepared|3||V0 V0L V0fk V1 V2 V3|300|0.95|0.95|"
	"W3m|W3m insert 10,000|W3m insert 10,000 rows in one INSERT ... SELECT (stamped; rolled back)|w3m_insert|prepared|3||V0 V0L V0fk V3|5|0.95|0.95|vacuum"
)

table_of() {
	case "$1" in
		V0 | V0L) echo bench_plain.courses_v0 ;;
		V0fk) echo bench_plain.courses_v0fk ;;
		V1) echo bench_plain.courses_v1 ;;
		V2) echo bench_plain.courses_v2 ;;
		V3 | V3nq | V3nt) echo bench.courses ;;
	esac
}
# settings of a variant beyond the workload's (V3nq: tenant_iso without its implied LIKE ranges)
options_of() {
	case "$1" in
		V3nq) echo "-c tenant_iso.implied_quals=off" ;;
	esac
}

vacuum_of() { ti_psql -q -d "$TI_DB" -c "VACUUM $(table_of "$1")" >/dev/null; }	# vacuum_of VARIANT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
blog() { ti_log "[$(elapsed "${T_START:-$(now)}" "$(now)") s] $*"; }

ti_install_packages
ti_build_install
ti_start_cluster
T_START=$(now)
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
SCRATCH=$TI_TMP/bench
mkdir -p "$SCRATCH"
chmod 755 "$SCRATCH"

blog "loading the data set ($BENCH_SCALE: $NORGS organizations, big tenant $BIG rows, others $MROWS rows each)"
t0=$(now)
ti_psql -q -d "$TI_DB" -v norgs="$NORGS" -v big="$BIG" -v mrows="$MROWS" -f "$BENCH_DIR/setup.sql" >"$SCRATCH/setup.log" 2>&1 \
	|| { cat "$SCRATCH/setup.log" >&2; exit 1; }
ti_psql -q -At -d "$TI_DB" -c "SELECT count(pg_prewarm(c.oid)) FROM pg_class c
	WHERE c.relnamespace IN ('bench'::regnamespace, 'bench_plain'::regnamespace, 'tenant_iso'::regnamespace)
	  AND c.relkind IN ('r', 'i')" >/dev/null
LOAD_SECONDS=$(elapsed "$t0" "$(now)")
NOT_ALL_VISIBLE=$(ti_psql -At -d "$TI_DB" -c "SELECT string_agg(c.oid::regclass::text, ', ') FROM pg_class c
	WHERE c.relkind = 'r' AND c.relnamespace IN ('bench'::regnamespace, 'bench_plain'::regnamespace)
	  AND c.relallvisible < c.relpages")
[ -z "$NOT_ALL_VISIBLE" ] || echo "WARNING: not all-visible after VACUUM (index-only scans will differ): $NOT_ALL_VISIBLE" >&2
TOTAL_ROWS=$(ti_psql -At -d "$TI_DB" -c "SELECT count(*) FROM bench_plain.courses_v0")
DATA_SIZE=$(ti_psql -At -d "$TI_DB" -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid)))
	FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace IN ('bench'::regnamespace, 'bench_plain'::regnamespace)")
blog "loaded $TOTAL_ROWS rows per variant in ${LOAD_SECONDS}s ($DATA_SIZE for all variants)"

# ---------------------------------------------------------------------------------------------
# Plans and estimates (before the runs, whose inserts and updates change the tables)
# ---------------------------------------------------------------------------------------------
blog "plans and row estimates"
ti_psql -q -d "$TI_DB" -v big="$BIG_ORG" -v medium="$MEDIUM_ORG" -f "$BENCH_DIR/explain.sql" >"$SCRATCH/explain.md" 2>"$SCRATCH/explain.err" \
	|| { cat "$SCRATCH/explain.err" >&2; exit 1; }
ti_psql -q -d "$TI_DB" -v big="$BIG_ORG" -v medium="$MEDIUM_ORG" -f "$BENCH_DIR/estimates.sql" >"$SCRATCH/estimates.txt" 2>"$SCRATCH/estimates.err" \
	|| { cat "$SCRATCH/estimates.err" >&2; exit 1; }
BIG_ACTUAL=$(ti_psql -At -d "$TI_DB" -c "SELECT count(*) FROM bench.courses WHERE organization_id = '$BIG_ORG'")
MEDIUM_ACTUAL=$(ti_psql -At -d "$TI_DB" -c "SELECT count(*) FROM bench.courses WHERE organization_id = '$MEDIUM_ORG'")

# ---------------------------------------------------------------------------------------------
# The pgbench runs
# ---------------------------------------------------------------------------------------------
RUNS=$SCRATCH/runs.tsv
WORKLOAD_META=$SCRATCH/workloads.tsv
: >"$RUNS"
: >"$WORKLOAD_META"

# make_script TEMPLATE VARIANT TENANT -> path of the script for this variant. V0 and V0fk name
# the tenant by the pgbench variable :org (a bind parameter under -M prepared), V0L by the
# literal uuid of organization TENANT; the other variants do not name it.
make_script() {
	local tpl=$1 variant=$2 tenant=$3 out="$SCRATCH/$1.$2.$3.sql" org="" and_org_k=""
	case "$variant" in
		V0 | V0fk)
			org=":org"
			and_org_k=" AND organization_id = ('00000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid"
			;;
		V0L)
			[ "$tenant" != pool ] || { echo "V0L needs a fixed tenant (script $tpl)" >&2; return 1; }
			org="'$(org_uuid "$tenant")'"
			;;
	esac
	sed -e "s#@T@#$(table_of "$variant")#g" \
		-e "s#@AND_ORG@#${org:+ AND organization_id = $org}#g" -e "s#@WHERE_ORG@#${org:+ WHERE organization_id = $org}#g" \
		-e "s#@ORG_COL@#${org:+organization_id, }#g" -e "s#@ORG_VAL@#${org:+$org, }#g" \
		-e "s#@AND_ORG_K@#$and_org_k#g" \
		"$BENCH_DIR/workloads/$tpl.sql" >"$out"
	echo "$out"
}

# run_pgbench WORKLOAD VARIANT TEMPLATE PROTOCOL TENANT OPTIONS RESET DURATION-ARGS... -> prints TPS
# (RESET "vacuum": vacuum the variant's table first)
run_pgbench() {
	local wl=$1 variant=$2 tpl=$3 proto=$4 tenant=$5 opts=$6 reset=$7
	shift 7
	local script role=bench_app pgopts="" org="" k=$tenant log
	[ "$variant" = V3nt ] && role=bench_app_nt	# its default: tenant_iso.track_tenant_stats = off
	script=$(make_script "$tpl" "$variant" "$tenant")
	[ "$reset" != vacuum ] || vacuum_of "$variant"
	if [ "$tenant" = pool ]; then
		role=bench_pool
		k=2
	else
		org=$(org_uuid "$tenant")
		pgopts="-c tenant.org_id=$org"
	fi
	# the simple protocol substitutes variables as text: quote the uuid literal there
	[ "$proto" = simple ] && [ -n "$org" ] && org="'$org'"
	log="$SCRATCH/pgbench.$wl.$variant.log"
	if ! PGOPTIONS="$pgopts $opts $(options_of "$variant")" "$TI_BIN/pgbench" -n -M "$proto" -c "$CLIENTS" -j "$CLIENTS" "$@" \
		-D k="$k" -D mrows="$MROWS" -D norgs="$NORGS" -D org="${org:-none}" \
		-U "$role" -d "$TI_DB" -f "$script" >"$log" 2>&1; then
		echo "pgbench failed: $wl $variant ($script)" >&2
		cat "$log" >&2
		return 1
	fi
	if grep -qE '^number of failed transactions: [1-9]' "$log"; then
		echo "pgbench reported failed transactions: $wl $variant" >&2
		cat "$log" >&2
		return 1
	fi
	sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)$/\1/p' "$log"
}

ORD=0
for spec in "${WORKLOADS[@]}"; do
	IFS='|' read -r wl short label tpl proto tenant opts variants smoke_tx target target_l reset <<<"$spec"
	ORD=$((ORD + 1))
	if [ -n "${BENCH_WORKLOADS:-}" ] && [[ " $BENCH_WORKLOADS " != *" $wl "* ]]; then
		continue
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ORD" "$wl" "$short" "$label" "$target" "${target_l:-\\N}" >>"$WORKLOAD_META"
	if [ -n "$SECONDS_PER_RUN" ]; then
		dur=(-T "$SECONDS_PER_RUN")
		warm=(-T "$(( SECONDS_PER_RUN > 4 ? 2 : 1 ))")
	else
		dur=(-t "$smoke_tx")
		warm=()
	fi
	blog "$wl: $label"
	# warm-up (time-based runs only): one unrecorded run per variant; the data was prewarmed
	if [ -n "$SECONDS_PER_RUN" ]; then
		for v in $variants; do
			run_pgbench "$wl" "$v" "$tpl" "$proto" "$tenant" "$opts" "$reset" "${warm[@]}" >/dev/null
		done
	fi
	for rep in $(seq 1 "$REPEATS"); do
		line="   repeat $rep:"
		for v in $variants; do
			tps=$(run_pgbench "$wl" "$v" "$tpl" "$proto" "$tenant" "$opts" "$reset" "${dur[@]}")
			[ -n "$tps" ] || { echo "no TPS in the output of pgbench: $wl $v" >&2; exit 1; }
			printf '%s\t%s\t%s\t%s\n' "$wl" "$v" "$rep" "$tps" >>"$RUNS"
			line="$line $v $(printf '%.0f' "$tps")"
		done
		echo "$line" >&2
	done
	# no dead rows left for what follows
	if [ "$reset" = vacuum ]; then
		for v in $variants; do vacuum_of "$v"; done
	fi
done
LOAD_AFTER_RUNS=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# COPY FROM STDIN of BENCH_COPY_ROWS rows (docs/copy.md): psql's \copy of one file of the writer
# tenant's rows into V0 by its owner (PostgreSQL's own COPY: batched inserts, no triggers), into
# V0fk by its owner (the same plus a foreign key's check per row) and into the tenant table
# (V3) as the application role, which tenant_iso runs as an INSERT (stamping trigger, policies,
# registry guard). Each load runs in a transaction that is rolled back; the table is vacuumed
# before each load; variants interleaved. BENCH_WORKLOADS selects it as "COPY".
# ---------------------------------------------------------------------------------------------
COPY_ROWS=${BENCH_COPY_ROWS:-1000000}
if [ "$BENCH_SCALE" = full ]; then COPY_REPEATS=${BENCH_COPY_REPEATS:-3}; else COPY_REPEATS=${BENCH_COPY_REPEATS:-1}; fi
COPY_VARIANTS="V0 V0fk V3"
COPY_RUNS=$SCRATCH/copy_runs.tsv
: >"$COPY_RUNS"
# copy_once VARIANT FILE -> "seconds<TAB>cpu seconds": the time the \copy took (psql's \timing)
# and the CPU time its backend used meanwhile (user + system, /proc/PID/stat)
copy_once() {
	local v=$1 file=$2 role=bench_owner out secs ticks
	[ "$v" = V3 ] && role=bench_app
	out=$(PGOPTIONS="-c client_min_messages=warning" "$TI_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U "$role" -d "$TI_DB" \
		-v is_v3="$([ "$v" = V3 ] && echo 1 || echo 0)" -v org="$WRITER_ORG" \
		-v copy_cmd="\\copy $(table_of "$v") (id, organization_id, title, created_at, views, tags) FROM '$file'" 2>&1 <<'SQL'
BEGIN;
\if :is_v3
SET LOCAL tenant.org_id = :'org';
\endif
SELECT pg_backend_pid() AS pid \gset
\set cpu0 `awk '{ print $14 + $15 }' /proc/:pid/stat`
\timing on
:copy_cmd
\timing off
\set cpu1 `awk '{ print $14 + $15 }' /proc/:pid/stat`
\echo cpu :cpu0 :cpu1
ROLLBACK;
SQL
) || { echo "COPY into $v failed: $out" >&2; return 1; }
	secs=$(echo "$out" | sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' | tail -1 | awk '{ printf "%.3f", $1 / 1000 }')
	ticks=$(getconf CLK_TCK)
	echo "$out" | awk -v s="$secs" -v hz="$ticks" '/^cpu / { printf "%s\t%.2f", s, ($3 - $2) / hz }'
}
if [ -z "${BENCH_WORKLOADS:-}" ] || [[ " $BENCH_WORKLOADS " == *" COPY "* ]]; then
	COPY_FILE=$SCRATCH/copy_rows.txt
	blog "COPY FROM STDIN: $COPY_ROWS rows into $COPY_VARIANTS ($COPY_REPEATS repeats)"
	ti_psql -q -d "$TI_DB" -c "\\copy (SELECT bench_plain.course_uuid(3, 1000000 + g), bench_plain.org_uuid(3), translate(md5('copy:' || g), '0123456789', 'ghijklmnop'), timestamptz '2021-01-01 00:00+00' + ((g % 1576800) * interval '1 minute'), 0, jsonb_build_array('t' || (abs(hashtext(g || '#c')::bigint) % 1000), 't' || (abs(hashtext('c#' || g)::bigint) % 1000)) FROM generate_series(1, $COPY_ROWS) g) TO '$COPY_FILE'" >/dev/null
	for rep in $(seq 1 "$COPY_REPEATS"); do
		line="   repeat $rep:"
		for v in $COPY_VARIANTS; do
			vacuum_of "$v"
			res=$(copy_once "$v" "$COPY_FILE")
			[ -n "$res" ] || { echo "no time for the COPY into $v" >&2; exit 1; }
			printf '%s\t%s\t%s\n' "$v" "$rep" "$res" >>"$COPY_RUNS"
			line="$line $v $(echo "$res" | awk -F'\t' '{ printf "%ss (CPU %ss)", $1, $2 }')"
		done
		echo "$line" >&2
	done
	rm -f "$COPY_FILE"
	for v in $COPY_VARIANTS; do
		ti_psql -q -d "$TI_DB" -c "VACUUM $(table_of "$v")" >/dev/null
	done
fi
LOAD_AFTER_COPY=$(cut -d' ' -f1-3 /proc/loadavg)
# copy_section: the Markdown section of the COPY loads (nothing when they were left out)
copy_section() {
	[ -s "$COPY_RUNS" ] || return 0
	cat <<EOF
## COPY FROM STDIN

$COPY_ROWS rows of the writer tenant, loaded from one file by psql's \`\\copy\` (COPY ... FROM STDIN)
in a transaction that is rolled back; the table is vacuumed before each load; $COPY_REPEATS repeat(s),
variants interleaved; load average $LOAD_AFTER_COPY afterwards. V0 and V0fk are loaded by their owner
(PostgreSQL's own COPY); V3 by the application role, which tenant_iso runs as an INSERT
([copy.md](copy.md)): stamping trigger, row level security checks and the registry guard. V0fk has
a foreign key to the registry, checked for every row. Ratio: V0's time / the variant's time (medians), i.e. throughput relative to V0;
target for V3: >= 0.70. The backend's CPU time (user + system, from /proc) is shown too: on a
machine that runs other work it varies much less than the elapsed time.

| variant | loaded by | seconds (median) | rows/s | ratio to V0 | backend CPU seconds (median) | CPU ratio to V0 |
|---|---|--:|--:|--:|--:|--:|
EOF
	awk -F'\t' -v rows="$COPY_ROWS" '
		{ n[$1]++; t[$1, n[$1]] = $3; c[$1, n[$1]] = $4 }
		function median(x, v,   i, j, k, a, m) {
			m = n[v]
			for (i = 1; i <= m; i++) a[i] = (x == "t") ? t[v, i] : c[v, i]
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { k = a[i]; a[i] = a[j]; a[j] = k }
			return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		}
		END {
			split("V0 V0fk V3", order, " ")
			who["V0"] = "owner, plain table"
			who["V0fk"] = "owner, plain table + foreign key to the registry"
			who["V3"] = "application role, tenant table"
			base = median("t", "V0")
			cbase = median("c", "V0")
			for (i = 1; i <= 3; i++) {
				v = order[i]
				if (!(v in n)) continue
				m = median("t", v)
				cm = median("c", v)
				printf "| %s | %s | %.2f | %.0f | %.2f | %.2f | %.2f |\n", v, who[v], m, rows / m, base / m, cm, cbase / cm
			}
		}' "$COPY_RUNS"
	echo
}

# ---------------------------------------------------------------------------------------------
# Backend memory after many statements
# ---------------------------------------------------------------------------------------------
blog "backend memory after $MEM_STATEMENTS statements (V3, then V0)"
ti_psql -q -d "$TI_DB" -c "GRANT pg_read_all_stats TO bench_app" >/dev/null
mem_test() {	# mem_test TABLE EXPLICIT -> "before|after|seconds|top contexts"
	local tbl=$1 explicit=$2 file="$SCRATCH/mem.$2.sql" t0 t1
	{
		echo '\set ON_ERROR_STOP 1'
		echo '\o /dev/null'
		awk -v n=200 -v norgs="$NORGS" -v mrows="$MROWS" -v tbl="$tbl" -v explicit="$explicit" -v seed=7 -f "$BENCH_DIR/memload.awk"
		echo 'SELECT sum(total_bytes) AS before_bytes FROM pg_backend_memory_contexts \gset'
		awk -v n="$MEM_STATEMENTS" -v norgs="$NORGS" -v mrows="$MROWS" -v tbl="$tbl" -v explicit="$explicit" -v seed=11 -f "$BENCH_DIR/memload.awk"
		echo 'SELECT sum(total_bytes) AS after_bytes FROM pg_backend_memory_contexts \gset'
		echo '\o'
		echo '\echo mem|:before_bytes|:after_bytes'
		echo "SELECT 'ctx', name, coalesce(ident, ''), total_bytes FROM pg_backend_memory_contexts ORDER BY total_bytes DESC LIMIT 5;"
	} >"$file"
	t0=$(now)
	PGOPTIONS="-c client_min_messages=warning" "$TI_BIN/psql" -X -q -At -F'|' -U bench_app -d "$TI_DB" -f "$file" >"$file.out" 2>&1 \
		|| { cat "$file.out" >&2; return 1; }
	t1=$(now)
	echo "$(grep '^mem|' "$file.out" | cut -d'|' -f2-3)|$(elapsed "$t0" "$t1")"
	grep '^ctx|' "$file.out" | cut -d'|' -f2- >"$file.ctx"
}
MEM_V3=$(mem_test bench.courses 0)
MEM_V0=$(mem_test bench_plain.courses_v0 1)

# ---------------------------------------------------------------------------------------------
# The schema check's cost per CREATE TABLE, and tenant_iso.audit() over many tables
# ---------------------------------------------------------------------------------------------
blog "creating $DDL_TABLES tables three ways (schema check's cost)"
ti_psql -q -d "$TI_DB" >/dev/null <<SQL
CREATE SCHEMA bench_ddl AUTHORIZATION bench_owner;
CREATE SCHEMA bench_ddl_plain AUTHORIZATION bench_owner;
SELECT tenant_iso.exempt_schema('bench_ddl_plain', 'benchmark: plain tables for the schema check''s cost');
CREATE DATABASE ${TI_DB}_noext;
SQL
ti_psql -q -d "${TI_DB}_noext" -c "CREATE SCHEMA bench_ddl_plain AUTHORIZATION bench_owner" >/dev/null
ddl_file() {	# ddl_file SCHEMA FIRST LAST -> a file of CREATE TABLE statements, tables FIRST..LAST
	local f="$SCRATCH/ddl.$1.$2.sql"
	awk -v first="$2" -v last="$3" -v nsp="$1" 'BEGIN {
		print "\\set ON_ERROR_STOP 1"
		for (i = first; i <= last; i++)
			printf "CREATE TABLE %s.t%05d (id uuid PRIMARY KEY, organization_id uuid NOT NULL, title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n", nsp, i
	}' >"$f"
	echo "$f"
}
ddl_time() {	# ddl_time DATABASE SCHEMA -> "seconds for the first half|seconds for the second half"
	local f t0 t1 half=$(( DDL_TABLES / 2 )) result=""
	for range in "1 $half" "$(( half + 1 )) $DDL_TABLES"; do
		f=$(ddl_file "$2" $range)
		t0=$(now)
		PGOPTIONS="-c client_min_messages=warning" "$TI_BIN/psql" -X -q -U bench_owner -d "$1" -f "$f" >"$f.out" 2>&1 \
			|| { cat "$f.out" >&2; return 1; }
		t1=$(now)
		result="$result${result:+|}$(elapsed "$t0" "$t1")"
	done
	echo "$result"
}
DDL_NOEXT=$(ddl_time "${TI_DB}_noext" bench_ddl_plain)
DDL_EXEMPT=$(ddl_time "$TI_DB" bench_ddl_plain)
DDL_TENANT=$(ddl_time "$TI_DB" bench_ddl)
N_TENANT_TABLES=$(ti_psql -At -d "$TI_DB" -c "SELECT count(DISTINCT polrelid) FROM pg_policy WHERE polname = 'tenant_isolation'
	AND polrelid::regclass::text NOT LIKE 'tenant_iso.%'")

AUDIT_LINE="tenant_iso.audit() does not exist in this build: not measured."
AUDIT_SIG=$(ti_psql -At -d "$TI_DB" -c "SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p
	WHERE p.proname = 'audit' AND p.pronamespace = 'tenant_iso'::regnamespace")
if [ -n "$AUDIT_SIG" ]; then
	blog "tenant_iso.audit() over $N_TENANT_TABLES tenant tables"
	if out=$(ti_psql -q -At -d "$TI_DB" 2>&1 <<'SQL'
\timing on
SELECT count(*) FROM tenant_iso.audit();
\timing on
SELECT count(*) FROM tenant_iso.audit();
SQL
	); then
		rows=$(echo "$out" | grep -vE '^(Time|Timing)' | head -1)
		ms1=$(echo "$out" | sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' | sed -n 1p)
		ms2=$(echo "$out" | sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' | sed -n 2p)
		AUDIT_LINE="\`SELECT count(*) FROM tenant_iso.audit()\` over $N_TENANT_TABLES tenant tables: **${ms1} ms** (again: ${ms2} ms), $rows rows."
	else
		AUDIT_LINE="tenant_iso.audit() exists ($AUDIT_SIG) but \`SELECT count(*) FROM tenant_iso.audit()\` failed: $(echo "$out" | head -3 | tr '\n' ' ')"
	fi
fi
TOTAL_SECONDS=$(elapsed "$T_START" "$(now)")

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
blog "writing $OUT/bench-results.md and $OUT/bench.png"
mkdir -p "$OUT"
CHART_DATA=$SCRATCH/chart.dat
ti_psql -q -d "$TI_DB" -v runs="$RUNS" -v workloads="$WORKLOAD_META" -v chart="$CHART_DATA" \
	-f "$BENCH_DIR/report.sql" >"$SCRATCH/report.md"

PG_VERSION=$(ti_psql -At -d "$TI_DB" -c "SELECT version()")
CPU_MODEL=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM_TOTAL=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
GIT_REV=$(git -C "$TI_ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$TI_ROOT_DIR" diff --quiet HEAD -- src sql 2>/dev/null || GIT_REV="$GIT_REV (with uncommitted changes to src/ or sql/)"
WARM_DESC=""
if [ -n "$SECONDS_PER_RUN" ]; then
	WARM_DESC=", after one unrecorded warm-up run of each"
	RUN_DESC="$SECONDS_PER_RUN s per run (pgbench -T)"
else
	RUN_DESC="a fixed number of transactions per client and run (pgbench -t, 5 to 600 per client depending on the workload; a fraction of a second each)"
fi

estimate_rows() {	# markdown rows of the estimate table
	grep '^estimate|' "$SCRATCH/estimates.txt" | while IFS='|' read -r _ v plan node est act; do
		local verdict
		verdict=$(awk -v e="$est" -v a="$act" 'BEGIN { r = (e > a ? e / a : a / e); printf "%s%.1fx", (r <= 2 ? "" : ""), r }')
		local within
		within=$(awk -v e="$est" -v a="$act" 'BEGIN { print ((e <= 2 * a && a <= 2 * e) ? "yes" : "**no**") }')
		echo "| $v | $plan | $node | $est | $act | $verdict | $within |"
	done
}
V3_EST=$(grep '^estimate|V3|default|' "$SCRATCH/estimates.txt" | cut -d'|' -f5)
V3_ACT=$(grep '^estimate|V3|default|' "$SCRATCH/estimates.txt" | cut -d'|' -f6)
EST_VERDICT=$(awk -v e="$V3_EST" -v a="$V3_ACT" 'BEGIN { print ((e <= 2 * a && a <= 2 * e) ? "met" : "**MISSED**") }')
GENERIC=$(grep '^generic|' "$SCRATCH/estimates.txt")
IFS='|' read -r _ g_big g_medium g_again <<<"$GENERIC"
if [ "$g_big" = "$BIG_ACTUAL" ] && [ "$g_medium" = "$MEDIUM_ACTUAL" ] && [ "$g_again" = "$BIG_ACTUAL" ]; then
	GENERIC_VERDICT="met: a prepared \`SELECT count(*) FROM bench.courses\` under \`plan_cache_mode = force_generic_plan\` counted $g_big rows for the big tenant, $g_medium for the medium one and $g_again for the big one again"
else
	GENERIC_VERDICT="**MISSED**: the generic plan counted $g_big / $g_medium / $g_again rows for big / medium / big (expected $BIG_ACTUAL / $MEDIUM_ACTUAL / $BIG_ACTUAL)"
fi

mem_row() {	# mem_row LABEL "before|after|seconds"
	local before after secs
	IFS='|' read -r before after secs <<<"$2"
	awk -v l="$1" -v b="$before" -v a="$after" -v s="$secs" -v n="$MEM_STATEMENTS" 'BEGIN {
		printf "| %s | %d | %.0f KiB | %.0f KiB | %+.0f KiB | %.1f s |\n", l, n, b / 1024, a / 1024, (a - b) / 1024, s }'
}
ctx_rows() {	# largest memory contexts after the V3 run
	while IFS='|' read -r name ident bytes; do
		awk -v n="$name" -v i="$ident" -v b="$bytes" 'BEGIN { printf "| %s | %s | %.0f KiB |\n", n, i, b / 1024 }'
	done <"$SCRATCH/mem.0.sql.ctx"
}
ddl_row() {	# ddl_row LABEL "first-half seconds|second-half seconds"
	local a b
	IFS='|' read -r a b <<<"$2"
	awk -v l="$1" -v a="$a" -v b="$b" -v n="$DDL_TABLES" 'BEGIN {
		h = int(n / 2)
		printf "| %s | %.2f s | %.1f ms | %.1f ms | %.1f ms |\n", l, a + b, 1000 * (a + b) / n, 1000 * a / h, 1000 * b / (n - h) }'
}

{
	cat <<EOF
# tenant_iso benchmark results

Written by \`make bench\` (test/bench/run.sh); how to read it: [benchmark.md](benchmark.md).

| | |
|---|---|
| date | $(date -u '+%Y-%m-%d %H:%M UTC') |
| scale | **$BENCH_SCALE**: $TOTAL_ROWS courses per variant over $NORGS organizations; big tenant $BIG rows, medium tenant (and every other) $MROWS rows; $DATA_SIZE for all five tables with indexes |
| runs | pgbench, $CLIENTS clients, $CLIENTS threads, $RUN_DESC; $REPEATS measured repeats per variant, variants interleaved$WARM_DESC |
| machine | $(nproc) CPUs ($CPU_MODEL), $MEM_TOTAL RAM; load average $LOAD_AT_START at the start, $LOAD_AFTER_RUNS after the runs |
| server | $PG_VERSION; shared_buffers $SHARED_BUFFERS, fsync off, synchronous_commit off, no parallel query, jit off, autovacuum off |
| tenant_iso | commit $GIT_REV |
| time | load ${LOAD_SECONDS} s, everything after the build ${TOTAL_SECONDS} s |

EOF
	if [ "$BENCH_SCALE" = smoke ]; then
		cat <<EOF
> **Smoke scale.** The data set is 1/100 of the issue's and each run lasts a fraction of a second,
> so the figures only show that the benchmark works and roughly where each variant stands.
> The "medium" tenant has only $MROWS rows here, so W5 in the medium tenant shows little.
> The figures are noisy, especially on a machine that runs other work. Run \`BENCH_SCALE=full make bench\`
> on a quiet machine for the figures to quote.

EOF
	fi
	cat <<EOF
## Throughput relative to the two baselines

Two baselines, both the plain table without row level security, the organization named in the query:
V0 with a bind parameter, \`WHERE organization_id = \$1\` (inserts: \`VALUES (\$1, ...)\`), and
V0L with the literal, \`WHERE organization_id = '<uuid>'\` (inserts: \`VALUES ('<uuid>', ...)\`).
"V0 / V0L" is what PostgreSQL itself pays for the parameter. Under the simple protocol (W1 simple)
pgbench writes V0's parameter into the text, so V0 and V0L send the same query there. W6 has no
V0L: its organization changes with every transaction, and a prepared statement cannot carry a
different literal each time; its baseline is V0 (the organization computed in the query from a
bind parameter). The inserts' baselines have no foreign key (V0fk has one).
V1: hand-rolled policy \`organization_id = current_setting('tenant.org_id')::uuid\`.
V2: the same wrapped in an initplan, \`(SELECT current_setting('tenant.org_id')::uuid)\`.
V3: a tenant_iso tenant table as shipped. Ratios are of median TPS, each to the baseline's median in the same run.
Generic and custom plans: the statements of the other variants have no parameter, but V0's has one.
With the default plan_cache_mode (W2 sequential scan) PostgreSQL plans V0's first five executions
with the organization's value and may then keep a generic plan with \$1 in the filter; W2 sequential
scan, custom plans, forces custom plans (\`plan_cache_mode = force_custom_plan\`).

![ratio to both baselines per workload and variant](bench.png)

EOF
	cat "$SCRATCH/report.md"
	copy_section
	cat <<EOF
## Row estimates for the big tenant

The planner's estimate of the scan over the whole big tenant (\`SELECT count(*), max(created_at)\`)
against the actual row count ($BIG_ACTUAL rows), by \`EXPLAIN (ANALYZE)\` as the application role.

| variant | plan | scan node | estimated rows | actual rows | off by | within 2x |
|---|---|---|--:|--:|--:|---|
$(estimate_rows)

- Target "the big tenant's row estimate within 2x of actual" for tenant_iso (V3, default plan): $EST_VERDICT.
- Target "cached generic plans follow a tenant switch": $GENERIC_VERDICT.

## Schema check: cost per CREATE TABLE

$DDL_TABLES tables of four columns (\`id uuid PRIMARY KEY, organization_id uuid NOT NULL, title, created_at\`),
one \`CREATE TABLE\` per statement and transaction, by psql over the unix socket, as the table owner.

| tables | total | per table | per table, first half | per table, second half |
|---|--:|--:|--:|--:|
$(ddl_row "plain, in a database without tenant_iso" "$DDL_NOEXT")
$(ddl_row "plain, in a schema exempted from the schema check" "$DDL_EXEMPT")
$(ddl_row "tenant tables (checked and set up: twin unique key, index, row level security, two policies, stamping trigger)" "$DDL_TENANT")

The halves show whether the cost grows with the number of tables already there.

## tenant_iso.audit()

$AUDIT_LINE

## Backend memory

One session of the application role runs the statements (half pooled transactions with
\`set_config('tenant.org_id', ..., true)\`, half session \`SET tenant.org_id\`, each with a point
select of a random tenant's row; test/bench/memload.awk). Memory is the sum of
\`total_bytes\` over \`pg_backend_memory_contexts\`, after the first 200 statements and at the end.

| table | statements | after 200 | at the end | growth | time |
|---|--:|--:|--:|--:|--:|
$(mem_row "V3 bench.courses (tenant_iso)" "$MEM_V3")
$(mem_row "V0 bench_plain.courses_v0 (explicit WHERE)" "$MEM_V0")

Largest memory contexts at the end of the V3 session:

| context | ident | total |
|---|---|--:|
$(ctx_rows)

## Plans

Right after the load, as the application role (costs on, timing off).

$(cat "$SCRATCH/explain.md")

<details><summary>Every run (TPS)</summary>

| workload | variant | repeat | TPS |
|---|---|--:|--:|
$(awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$RUNS")

</details>
EOF
} >"$SCRATCH/bench-results.md"
cp "$SCRATCH/bench-results.md" "$OUT/bench-results.md"

# (no chart when only the COPY loads ran: BENCH_WORKLOADS=COPY)
if [ -s "$RUNS" ]; then
gnuplot -e "datafile='$CHART_DATA'; outfile='$OUT/bench.png'; subtitle='$BENCH_SCALE scale, $(nproc) CPUs, PostgreSQL $(ti_psql -At -d "$TI_DB" -c 'SHOW server_version'), $(date -u +%Y-%m-%d)'" \
	"$BENCH_DIR/chart.gp"
fi

echo
sed -n '/^## Throughput/,/^## Row estimates/p' "$OUT/bench-results.md" | grep '^|' || true
echo
echo "bench finished ($BENCH_SCALE scale, ${TOTAL_SECONDS} s after the build): $OUT/bench-results.md, $OUT/bench.png"
