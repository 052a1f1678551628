# test/cluster.sh: shared set-up for `make demo`, `make test` and `make bench`.
#
# Sourced, not run. Provides:
#   ti_install_packages   install the Debian packages the project needs (only the missing ones)
#   ti_build_install      build the extension and install it into the server's directories
#   ti_start_cluster      initdb + start a private cluster in a temporary directory, listening on
#                         127.0.0.1 and its own unix socket only, with tenant_iso preloaded
#   ti_stop_cluster       stop it (by its data directory) and remove the directory; installed as an
#                         EXIT trap by ti_start_cluster so it also runs on failure
#   ti_psql               psql as the cluster's superuser against $TI_DB
#
# Invariants: we only ever stop the server we started (pg_ctl -D on our own data directory, then
# the pid from postmaster.pid if it is still alive); nothing listens beyond 127.0.0.1.

set -o pipefail

TI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TI_PGVER=${TI_PGVER:-15}
TI_PORT=${TI_PORT:-55432}
TI_DB=${TI_DB:-tenant_iso_test}
TI_PACKAGES=${TI_PACKAGES:-"postgresql-$TI_PGVER postgresql-server-dev-$TI_PGVER postgresql-$TI_PGVER-pgtap libtap-parser-sourcehandler-pgtap-perl pgbouncer make gcc"}

ti_log() { printf '\n==> %s\n' "$*" >&2; }

ti_sudo() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ti_install_packages() {
	local missing=() p
	for p in $TI_PACKAGES ${TI_EXTRA_PACKAGES:-}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		ti_log "installing missing packages: ${missing[*]}"
		ti_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		ti_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	TI_BIN=$(/usr/bin/pg_config --bindir 2>/dev/null || echo "/usr/lib/postgresql/$TI_PGVER/bin")
	[ -x "/usr/lib/postgresql/$TI_PGVER/bin/pg_ctl" ] && TI_BIN="/usr/lib/postgresql/$TI_PGVER/bin"
	export TI_BIN PATH="$TI_BIN:$PATH"
}

ti_build_install() {
	ti_log "building and installing tenant_iso"
	local pgc="$TI_BIN/pg_config"
	[ -x "$pgc" ] || pgc=/usr/bin/pg_config
	make -C "$TI_ROOT" -s PG_CONFIG="$pgc" ${TI_MAKE_FLAGS:-} >/dev/null
	ti_sudo make -C "$TI_ROOT" -s PG_CONFIG="$pgc" ${TI_MAKE_FLAGS:-} install >/dev/null
}

# The server refuses to run as root: when we are root we run it as the postgres user.
ti_as_server() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ti_start_cluster() {
	TI_TMP=$(mktemp -d /tmp/tenant_iso.XXXXXX)
	chmod 755 "$TI_TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$TI_TMP"
	export TI_TMP TI_DATA="$TI_TMP/data" TI_SOCK="$TI_TMP"
	trap ti_stop_cluster EXIT
	trap 'exit 130' INT TERM
	ti_log "starting a throwaway cluster in $TI_TMP (127.0.0.1:$TI_PORT)"
	ti_as_server "$TI_BIN/initdb" -D "$TI_DATA" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$TI_TMP/initdb.log" 2>&1 \
		|| { cat "$TI_TMP/initdb.log" >&2; return 1; }
	cat >>"$TI_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $TI_PORT
unix_socket_directories = '$TI_SOCK'
shared_preload_libraries = 'tenant_iso'
fsync = off
max_connections = 120
max_worker_processes = 8
max_parallel_workers_per_gather = 2
log_min_messages = warning
logging_collector = off
${TI_EXTRA_CONF:-}
EOF
	ti_as_server "$TI_BIN/pg_ctl" -D "$TI_DATA" -l "$TI_TMP/server.log" -w -t 60 start >/dev/null \
		|| { cat "$TI_TMP/server.log" >&2; return 1; }
	export PGHOST="$TI_SOCK" PGPORT="$TI_PORT" PGUSER=postgres
	"$TI_BIN/psql" -X -q -d postgres -c "CREATE DATABASE $TI_DB" >/dev/null
	export PGDATABASE="$TI_DB"
}

ti_stop_cluster() {
	local rc=$?
	if [ -n "${TI_DATA:-}" ] && [ -f "$TI_DATA/postmaster.pid" ]; then
		ti_as_server "$TI_BIN/pg_ctl" -D "$TI_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || {
			local pid
			pid=$(head -1 "$TI_DATA/postmaster.pid" 2>/dev/null)
			[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
		}
	fi
	if [ -n "${TI_TMP:-}" ] && [ -d "$TI_TMP" ]; then
		if [ "$rc" -ne 0 ] && [ -f "$TI_TMP/server.log" ]; then
			echo "---- last lines of the server log ----" >&2
			tail -n 40 "$TI_TMP/server.log" >&2
		fi
		rm -rf "$TI_TMP"
	fi
	TI_TMP=
	return $rc
}

ti_psql() { "$TI_BIN/psql" -X -v ON_ERROR_STOP=1 "$@"; }
