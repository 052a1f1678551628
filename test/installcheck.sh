#!/usr/bin/env bash
# test/installcheck.sh: `make installcheck`, the packagers' path: the suite against a server that
# is already running, with tenant_iso already installed (`make install`) and preloaded.
# Installs nothing, starts nothing, needs no apt-get and no sudo.
#
#   make install                       (as whoever may write the server's directories)
#   PGHOST=/var/run/postgresql PGPORT=5432 PGUSER=postgres make installcheck
#
# Use a scratch server: the suite creates the cluster-wide roles of test/roles.sql (refused if
# they exist already) and drops them at the end, creates and drops its databases (ti_template,
# t_*), and some files set and reset tenant_iso.signing_key with ALTER SYSTEM.  The server needs
# pgTAP and contrib (amcheck, btree_gin, btree_gist, citext, pg_prewarm) installed, and the
# client needs prove (libtap-parser-sourcehandler-pgtap-perl on Debian).
#
# What runs: test/sql/*.sql and the TAP scripts that need no control of the server
# (isolation specs, upgrade, dump/restore, memory, docs).  Crash recovery (it restarts the
# server), the PgBouncer run and the fuzzer need `make test`.  TESTS selects a subset.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/cluster.sh

PG_CONFIG=${PG_CONFIG:-pg_config}
TI_BIN=$("$PG_CONFIG" --bindir)
PATH="$TI_BIN:$PATH"
export TI_BIN PATH PGHOST=${PGHOST:-/var/run/postgresql} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
TI_TMP=$(mktemp -d /tmp/tenant_iso.installcheck.XXXXXX)
chmod 755 "$TI_TMP"
export TI_TMP
roles_created=0

cleanup() {
	ti_psql -q -d postgres -c "DROP DATABASE IF EXISTS ti_template" >/dev/null 2>&1 || true
	if [ "$roles_created" = 1 ]; then
		ti_psql -q -d postgres -c "DROP ROLE IF EXISTS ti_owner, ti_app, ti_prov, ti_other" >/dev/null 2>&1 || true
	fi
	rm -rf "$TI_TMP"
}
trap cleanup EXIT

fail() { echo "installcheck: $*" >&2; exit 1; }
q() { ti_psql -q -A -t -d postgres -c "$1"; }

q "SELECT 1" >/dev/null || fail "cannot connect to the server (PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER)"
[ "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" = t ] ||
	fail "PGUSER=$PGUSER is not a superuser: the suite creates roles and databases"
[ "$(q "SELECT 'tenant_iso' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))")" = t ] ||
	fail "tenant_iso is not in shared_preload_libraries of this server: add it and restart"
want=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" tenant_iso.control)
have=$(q "SELECT default_version FROM pg_available_extensions WHERE name = 'tenant_iso'")
[ "$have" = "$want" ] || fail "the server offers tenant_iso '${have:-none}', this tree is '$want': run make install first"
[ "$(q "SELECT count(*) FROM pg_roles WHERE rolname IN ('ti_owner', 'ti_app', 'ti_prov', 'ti_other')")" = 0 ] ||
	fail "the test roles (test/roles.sql) exist already: use a scratch server"
[ "$(q "SELECT count(*) FROM pg_database WHERE datname = 'ti_template'")" = 0 ] ||
	fail "database ti_template exists already: use a scratch server"

roles_created=1
ti_prepare_template
TESTS=${TESTS:-$(ls test/sql/*.sql test/t/isolation.sh test/t/upgrade.sh test/t/dump_restore.sh \
	test/t/memory.sh test/t/docs_links.sh 2>/dev/null || true)}
ti_run_suite "against the running server $PGHOST:$PGPORT ($("$PG_CONFIG" --version))"
ti_result_line
