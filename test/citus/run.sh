#!/usr/bin/env bash
# test/citus/run.sh: `make test-citus`. Builds Citus 13.2.2 (once, cached outside the checkout:
# test/citus/build.sh) and tenant_iso from this work tree into a private PostgreSQL 15
# installation, starts a coordinator and two workers on 127.0.0.1 (test/citus/cluster.sh, ports
# TI_CITUS_PORT = 56810 by default, +1, +2; unix sockets in the cluster's own directory), gives
# every node the same tenant_iso.signing_key and the test roles (test/roles.sql, propagated by
# Citus), runs the TAP files test/citus/t/*.sh under prove (each in a database of its own), stops
# the servers and removes their directory - also on failure or Ctrl-C - and ends with the line
# "N passed, N failed".
#
# A subset: TESTS="test/citus/t/20_isolation.sh" make test-citus.  TI_CITUS_KEEP=1 keeps the
# cluster's directory (logs) after the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
source test/citus/cluster.sh

tic_log "building Citus 13.2.2 (cached) and tenant_iso from $root"
tic_build
tic_start_cluster		# EXIT trap: tic_stop_cluster

key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
for node in c w1 w2; do
	TIC_DB=postgres tic_psql "$node" -q -c "ALTER SYSTEM SET tenant_iso.signing_key = '$key'" \
		-c "SELECT pg_reload_conf()" >/dev/null
done
tic_psql c -q -f test/roles.sql >/dev/null
# the reload is asynchronous: wait until new sessions of every node have the key
for node in c w1 w2; do
	for _ in $(seq 1 50); do
		[ "$(TIC_DB=postgres tic_psql "$node" -At -c 'SHOW tenant_iso.signing_key')" = "********" ] && break
		sleep 0.1
	done
done

tests=${TESTS:-$(ls test/citus/t/*.sh)}
tic_log "running $(echo "$tests" | wc -w) test files against Citus $(tic_psql c -At -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'")"
status=0
(TIC_TMP=$TIC_TMP TIC_DB=$TIC_DB TI_CITUS_PORT=$TI_CITUS_PORT prove -v --timer --exec bash $tests) 2>&1 \
	| tee "$TIC_TMP/prove.log" || status=$?
passed=$(grep -cE '^ok [0-9]+' "$TIC_TMP/prove.log" || true)
failed=$(grep -cE '^not ok [0-9]+' "$TIC_TMP/prove.log" || true)
# files of prove's summary report that died, exited non-zero or missed their plan (once each)
broken=$(awk '/^Test Summary Report/ { s = 1 }
	s && /^[^ ].*\(Wstat: / { f = $1; b[f] = 0 }
	s && f != "" && /(Wstat: [1-9]|Non-zero exit status|Parse errors)/ { b[f] = 1 }
	END { n = 0; for (k in b) n += b[k]; print n }' "$TIC_TMP/prove.log")
failed=$((failed + broken))
[ $status -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
