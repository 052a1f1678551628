#!/usr/bin/env bash
# test/run.sh: `make test`. Installs what is missing, builds, installs, starts a throwaway
# cluster, runs the whole suite under prove, stops and removes the cluster (also on failure),
# and ends with the line "N passed, N failed".
#
# The suite: test/sql/*.sql (pgTAP, one fresh database each, cloned from a template built by
# test/fixtures.sql) and test/t/*.sh (TAP-emitting scripts: isolation specs, pooler, crash).
# Run a subset with: TESTS="test/sql/010_context.sql" make test
set -euo pipefail
cd "$(dirname "$0")/.."
source test/cluster.sh

ti_install_packages
ti_build_install
ti_start_cluster

ti_log "preparing the template database"
ti_psql -q -d postgres -f test/roles.sql >/dev/null
ti_psql -q -d postgres -c "CREATE DATABASE ti_template" >/dev/null
ti_psql -q -d ti_template -f test/fixtures.sql >"$TI_TMP/fixtures.log" 2>&1 \
	|| { cat "$TI_TMP/fixtures.log" >&2; exit 1; }

tests=${TESTS:-$(ls test/sql/*.sql test/t/*.sh 2>/dev/null || true)}
ti_log "running $(echo "$tests" | wc -w) test files"
set +e
prove -v --timer --exec 'bash test/run_one.sh' $tests 2>&1 | tee "$TI_TMP/prove.log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^ok [0-9]+' "$TI_TMP/prove.log" || true)
failed=$(grep -cE '^not ok [0-9]+' "$TI_TMP/prove.log" || true)
# a file that died or missed its plan counts as one more failure
broken=$(grep -cE '(Bad plan|Parse errors|Non-zero exit status|Wstat: [1-9])' "$TI_TMP/prove.log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && [ "$broken" -eq 0 ]; then broken=1; fi
echo
echo "$passed passed, $((failed + broken)) failed"
exit "$status"
