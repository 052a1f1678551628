#!/usr/bin/env bash
# test/run.sh: `make test` (and `make test PG=16`). Installs what is missing, builds tenant_iso
# from a copy of the work tree into a private copy of the server installation (test/cluster.sh),
# starts a throwaway cluster, runs the whole suite under prove, stops the cluster and removes it
# with the private installation (also on failure or Ctrl-C), and ends with the line
# "N passed, N failed".
#
# The suite: test/sql/*.sql (pgTAP, one fresh database each, cloned from a template built by
# test/fixtures.sql) and test/t/*.sh (TAP-emitting scripts: isolation specs, pooler, crash).
# Run a subset with: TESTS="test/sql/010_context.sql" make test
# Another server: TI_PG=16 (make test PG=16), built once by test/pg/build.sh; another port: TI_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/cluster.sh

ti_install_packages
ti_build_install
ti_start_cluster
ti_prepare_template
ti_run_suite "against PostgreSQL $("$TI_PG_CONFIG" --version | awk '{print $2}')"
ti_result_line
