#!/usr/bin/env bash
# test/pg/test_all.sh: `make test-all` (what CI runs, .ci/run). The whole suite against every
# PostgreSQL version the project tests, in sequence, each on its own throwaway cluster with its
# own private installation (test/run.sh with TI_PG=V):
#   15  Debian's packages;  16, 18  built once by test/pg/build.sh from ../shared/src, cached.
# For each version: the build step (for 15: the Debian packages; a cached build is reused), then
# the suite; prints its "N passed, N failed" line and how long the build and the test took. At
# the end a summary table. Exits non-zero if any version failed or could not be built; a failed
# build does not stop the other versions. Then the Citus suite (make test-citus), its own row.
#
# Settings (environment): TI_TEST_ALL_VERSIONS (default "15 16 18"), TI_PORT (one port for all,
# the runs are sequential), TESTS (a subset, as for make test), TI_CACHE (test/pg/build.sh),
# TI_TEST_ALL_CITUS=0 (no Citus run), TI_CITUS_PORT (test/citus/cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/cluster.sh

versions=${TI_TEST_ALL_VERSIONS:-15 16 18}
logs=$(mktemp -d /tmp/tenant_iso_all.XXXXXX)
trap 'rm -rf "$logs"' EXIT
trap 'exit 130' INT TERM

rows=()	# version | build s | test s | result | status
failures=0
all_start=$(date +%s)

# run_version V: build (or reuse), then the suite; adds a row to the summary
run_version() {
	local v=$1 t0 build_s test_s=- result rc=0 server
	ti_log "PostgreSQL $v: build"
	t0=$(date +%s)
	bash test/pg/build.sh "$v" 2>&1 | tee "$logs/build-$v.log" || rc=$?
	build_s=$(( $(date +%s) - t0 ))
	if [ $rc -ne 0 ]; then
		rows+=("$v|$build_s|-|build failed (exit $rc)|FAILED")
		failures=$((failures + 1))
		echo "PostgreSQL $v: build FAILED after $build_s s"
		return
	fi
	ti_log "PostgreSQL $v: the suite"
	t0=$(date +%s)
	TI_PG=$v bash test/run.sh 2>&1 | tee "$logs/test-$v.log" || rc=$?
	test_s=$(( $(date +%s) - t0 ))
	result=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/test-$v.log" | tail -1 || true)
	if [ -z "$result" ]; then
		if grep -q '^==> running [0-9]* test files' "$logs/test-$v.log"; then
			result="no result line (exit $rc)"
		else
			result="set-up failed, no test ran (exit $rc)"
		fi
	fi
	server=$(sed -n 's/^==> building tenant_iso for PostgreSQL \([0-9.a-z]*\) in .*/\1/p' "$logs/test-$v.log" | tail -1)
	if [ $rc -eq 0 ]; then
		rows+=("${server:-$v}|$build_s|$test_s|$result|ok")
	else
		rows+=("${server:-$v}|$build_s|$test_s|$result|FAILED")
		failures=$((failures + 1))
	fi
	echo "PostgreSQL ${server:-$v}: $result (build $build_s s, test $test_s s)"
}

for v in $versions; do
	run_version "$v"
done

# ============================================================================================
# CITUS STEP: Citus 13.2 on PostgreSQL 15 (make test-citus, docs/citus.md): Citus built once into
# its cache (test/citus/build.sh), then the suite on its own coordinator and two workers
# (test/citus/run.sh, ports TI_CITUS_PORT..+2, default 56810). Its row in the summary; a failed
# build or suite counts as a failure. TI_TEST_ALL_CITUS=0 leaves it out.
# ============================================================================================
run_citus() {
	local t0 build_s test_s=- result rc=0
	ti_log "Citus 13.2 on PostgreSQL 15: build"
	t0=$(date +%s)
	bash test/citus/build.sh 2>&1 | tee "$logs/build-citus.log" >/dev/null || rc=$?
	build_s=$(( $(date +%s) - t0 ))
	if [ $rc -ne 0 ]; then
		tail -20 "$logs/build-citus.log"
		rows+=("citus 13.2|$build_s|-|build failed (exit $rc)|FAILED")
		failures=$((failures + 1))
		return
	fi
	ti_log "Citus 13.2 on PostgreSQL 15: the suite"
	t0=$(date +%s)
	env -u TESTS bash test/citus/run.sh 2>&1 | tee "$logs/test-citus.log" || rc=$?
	test_s=$(( $(date +%s) - t0 ))
	result=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/test-citus.log" | tail -1 || true)
	[ -n "$result" ] || result="set-up failed, no test ran (exit $rc)"
	if [ $rc -eq 0 ]; then
		rows+=("citus 13.2|$build_s|$test_s|$result|ok")
	else
		rows+=("citus 13.2|$build_s|$test_s|$result|FAILED")
		failures=$((failures + 1))
	fi
	echo "Citus 13.2 on PostgreSQL 15: $result (build $build_s s, test $test_s s)"
}
if [ "${TI_TEST_ALL_CITUS:-1}" != 0 ]; then
	run_citus
fi

echo
echo "make test-all: summary ($(( ($(date +%s) - all_start) / 60 )) min $(( ($(date +%s) - all_start) % 60 )) s in all)"
printf '%-12s %9s %9s  %-36s %s\n' "PostgreSQL" "build s" "test s" "result" "status"
for r in "${rows[@]}"; do
	IFS='|' read -r v b t res st <<<"$r"
	printf '%-12s %9s %9s  %-36s %s\n' "$v" "$b" "$t" "$res" "$st"
done
if [ $failures -ne 0 ]; then
	echo "make test-all: $failures of ${#rows[@]} runs FAILED"
	exit 1
fi
echo "make test-all: every version passed"
