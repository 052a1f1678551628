#!/usr/bin/env bash
# test/demo.sh: `make demo` (and `make demo PG=16`). Installs what is missing, builds tenant_iso
# from a copy of the work tree into a private copy of the server installation (test/cluster.sh),
# starts a throwaway cluster, runs the walk-through test/demo.sql (a learning platform with two
# organizations), stops and removes the cluster and the private installation (also on failure).
#
# The walk-through checks every promise it shows: it exits non-zero as soon as one is broken
# (a tenant sees another tenant's row, a spoofed write is accepted, a refused statement runs).
# The demo uses port 55433 by default so that it does not collide with `make test` (55432):
# override with TI_PORT=... make demo.
set -euo pipefail
cd "$(dirname "$0")/.."
TI_PORT=${TI_PORT:-55433}
TI_DB=${TI_DB:-tenant_iso_demo}
source test/cluster.sh

ti_install_packages
ti_build_install
ti_start_cluster

ti_log "running the walk-through (test/demo.sql) in database $TI_DB"
# Messages of the walk-through go to stdout in order with the query results.
set +e
ti_psql -d "$TI_DB" -f test/demo.sql 2>&1
status=$?
set -e
echo
if [ "$status" -eq 0 ]; then
	echo "demo finished: every promise shown held."
else
	echo "demo FAILED (psql exit status $status): see the last statement above." >&2
fi
exit "$status"
