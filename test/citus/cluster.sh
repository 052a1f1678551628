#!/usr/bin/env bash
# test/citus/cluster.sh: a throwaway Citus cluster (one coordinator, two workers) on 127.0.0.1,
# running the private PostgreSQL 15 + Citus 13.2.2 + tenant_iso tree built by
# test/citus/build.sh.
#
# Sourced, it provides:
#   tic_build            run build.sh (idempotent; also (re)installs tenant_iso) and set TIC_BIN
#   tic_start_cluster    initdb three data directories in a new temporary directory
#                        (/tmp/tenant_iso_citus.XXXXXX: coord/, worker1/, worker2/, sock/, *.log;
#                        plus root/, a copy of the private tree, when the postgres user cannot
#                        read the build cache, e.g. under root's private $HOME),
#                        start them on TI_CITUS_PORT, +1, +2 (default 56810, 56811, 56812), create
#                        TIC_DB with the citus extension on every node and register the nodes
#                        (citus_set_coordinator_host, citus_add_node).  Installs tic_stop_cluster
#                        as the EXIT trap (TIC_NO_TRAP=1: don't, e.g. for `cluster.sh start`).
#   tic_stop_cluster [RC] stop the three servers by data directory (pg_ctl -D ... stop, then the pid
#                        of that directory's postmaster.pid if it is still alive) and remove the
#                        temporary directory (TI_CITUS_KEEP=1 keeps it)
#   tic_create_db NAME   one more database set up like TIC_DB (citus on every node, nodes added)
#   tic_psql NODE ARGS   psql as postgres on node c|coord|0, w1|1, w2|2 in TIC_DB
#   tic_port NODE        the node's port
# Run as a script:
#   cluster.sh start              start a cluster, leave it running, print its directory
#   cluster.sh stop DIR           stop the cluster in DIR (and remove DIR)
#   cluster.sh psql DIR NODE ...  psql against a node of the cluster in DIR (TIC_DB_OVERRIDE=name: another db)
#   cluster.sh createdb DIR NAME  tic_create_db in the cluster in DIR
#
# Settings (environment):
#   TI_CITUS_PORT      the coordinator's port (default 56810); workers use +1 and +2.  Only
#                      56800-56899 are accepted.
#   TI_CITUS_PRELOAD   shared_preload_libraries (default 'citus,tenant_iso')
#   TI_CITUS_DB        database name (default tenant_iso_citus)
#   TI_CITUS_EXTRA_CONF  extra postgresql.conf lines for every node
#   TIC_BIN            the private bindir (default: from build.sh)
# Invariants: nothing listens beyond 127.0.0.1; we only ever stop servers whose data directory
# is inside our own temporary directory; when run as root the servers run as postgres.
set -euo pipefail

TIC_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TI_CITUS_PORT=${TI_CITUS_PORT:-56810}
TI_CITUS_PRELOAD=${TI_CITUS_PRELOAD:-citus,tenant_iso}
TIC_DB=${TI_CITUS_DB:-tenant_iso_citus}
TIC_NODES=(coord worker1 worker2)

tic_log() { printf '==> %s\n' "$*" >&2; }

tic_as_server() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

tic_build() {
	local pgc
	pgc=$(bash "$TIC_HERE/build.sh" | tail -1)
	TIC_BIN=$("$pgc" --bindir)
	export TIC_BIN
}

tic_node_index() {
	case "$1" in
		c|coord|coordinator|0) echo 0 ;;
		w1|worker1|1) echo 1 ;;
		w2|worker2|2) echo 2 ;;
		*) echo "cluster.sh: unknown node $1" >&2; return 1 ;;
	esac
}

tic_port() {
	local i
	i=$(tic_node_index "$1")
	echo $((TI_CITUS_PORT + i))
}

# psql as the cluster's superuser; NODE first, then psql arguments.  PGUSER etc. may be
# overridden by the caller (e.g. tic_psql c -U lms_app ...).
tic_psql() {
	local node=$1
	shift
	"$TIC_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$TIC_TMP/sock" -p "$(tic_port "$node")" -U postgres -d "$TIC_DB" "$@"
}

tic_check_ports() {
	if ! [[ "$TI_CITUS_PORT" =~ ^[0-9]+$ ]] || [ "$TI_CITUS_PORT" -lt 56800 ] || [ $((TI_CITUS_PORT + 2)) -gt 56899 ]; then
		echo "cluster.sh: TI_CITUS_PORT must be in 56800-56897 (got $TI_CITUS_PORT)" >&2
		return 1
	fi
	local i p
	for i in 0 1 2; do
		p=$((TI_CITUS_PORT + i))
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "cluster.sh: port $p is in use" >&2
			return 1
		fi
	done
}

tic_start_cluster() {
	[ -n "${TIC_BIN:-}" ] || tic_build
	tic_check_ports
	TIC_TMP=$(mktemp -d /tmp/tenant_iso_citus.XXXXXX)
	export TIC_TMP
	chmod 755 "$TIC_TMP"
	mkdir -p "$TIC_TMP/sock"
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$TIC_TMP"
	[ "${TIC_NO_TRAP:-0}" = 1 ] || { trap tic_stop_cluster EXIT; trap 'exit 130' INT TERM; }
	# The server runs as postgres, which may not reach the build cache (root's $HOME is
	# private): then it runs from a copy of the private tree inside our temporary directory.
	if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$TIC_BIN/postgres"; then
		local prefix=${TIC_BIN%/usr/lib/postgresql/*/bin}
		[ "$prefix" != "$TIC_BIN" ] || { echo "cluster.sh: cannot relocate $TIC_BIN" >&2; return 1; }
		mkdir -p "$TIC_TMP/root/usr"
		cp -a "$prefix/usr/lib" "$prefix/usr/share" "$TIC_TMP/root/usr/"
		TIC_BIN="$TIC_TMP/root${TIC_BIN#"$prefix"}"
		export TIC_BIN
	fi
	tic_log "starting coordinator and two workers in $TIC_TMP (127.0.0.1:$TI_CITUS_PORT-$((TI_CITUS_PORT + 2)), shared_preload_libraries = '$TI_CITUS_PRELOAD')"
	local i n port
	for i in 0 1 2; do
		n=${TIC_NODES[$i]}
		port=$((TI_CITUS_PORT + i))
		tic_as_server "$TIC_BIN/initdb" -D "$TIC_TMP/$n" -U postgres -A trust --no-sync -E UTF8 --locale=C \
			>"$TIC_TMP/$n.initdb.log" 2>&1 || { cat "$TIC_TMP/$n.initdb.log" >&2; return 1; }
		cat >>"$TIC_TMP/$n/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$TIC_TMP/sock'
shared_preload_libraries = '$TI_CITUS_PRELOAD'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 150
max_prepared_transactions = 150
max_worker_processes = 16
shared_buffers = 64MB
log_min_messages = warning
logging_collector = off
log_line_prefix = '%m [%p] %q%a %u@%d '
citus.node_conninfo = 'sslmode=disable'
${TI_CITUS_EXTRA_CONF:-}
EOF
		if ! tic_as_server "$TIC_BIN/pg_ctl" -D "$TIC_TMP/$n" -l "$TIC_TMP/$n.log" -w -t 60 start >/dev/null; then
			tail -20 "$TIC_TMP/$n.log" >&2
			return 1
		fi
	done
	tic_create_db "$TIC_DB"
	printf '%s\n' "$TIC_BIN" >"$TIC_TMP/bin"
	printf '%s\n' "$TI_CITUS_PORT" >"$TIC_TMP/port"
	printf '%s\n' "$TIC_DB" >"$TIC_TMP/db"
}

# tic_create_db NAME: a database with the citus extension on all three nodes, and the
# coordinator and workers registered in it (Citus's node metadata is per database).
tic_create_db() {
	local db=$1 i
	for i in 0 1 2; do
		"$TIC_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TIC_TMP/sock" -p $((TI_CITUS_PORT + i)) -U postgres -d postgres \
			-c "CREATE DATABASE \"$db\"" >/dev/null
		TIC_DB=$db tic_psql "$i" -q -c "CREATE EXTENSION citus" >/dev/null
	done
	TIC_DB=$db tic_psql c -q -c "SELECT citus_set_coordinator_host('127.0.0.1', $TI_CITUS_PORT)" \
		-c "SELECT citus_add_node('127.0.0.1', $((TI_CITUS_PORT + 1)))" \
		-c "SELECT citus_add_node('127.0.0.1', $((TI_CITUS_PORT + 2)))" >/dev/null
}

# Stop only what lives in our own temporary directory.
tic_stop_cluster() {
	local rc=${1:-$?} n pid
	if [ -n "${TIC_TMP:-}" ] && [ -d "$TIC_TMP" ]; then
		for n in "${TIC_NODES[@]}"; do
			[ -f "$TIC_TMP/$n/postmaster.pid" ] || continue
			tic_as_server "$TIC_BIN/pg_ctl" -D "$TIC_TMP/$n" -m fast -w -t 30 stop >/dev/null 2>&1 || {
				pid=$(head -1 "$TIC_TMP/$n/postmaster.pid" 2>/dev/null || true)
				# only a postmaster whose command line names our data directory
				if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$TIC_TMP/$n"; then
					kill -9 "$pid" 2>/dev/null || true
				fi
			}
		done
		if [ "$rc" -ne 0 ]; then
			for n in "${TIC_NODES[@]}"; do
				[ -f "$TIC_TMP/$n.log" ] || continue
				echo "---- last lines of $n.log ----" >&2
				tail -n 20 "$TIC_TMP/$n.log" >&2
			done
		fi
		if [ "${TI_CITUS_KEEP:-0}" = 1 ]; then
			echo "kept $TIC_TMP" >&2
		else
			rm -rf "$TIC_TMP"
		fi
	fi
	TIC_TMP=
	return "$rc"
}

# Point the functions at a cluster started earlier by `cluster.sh start`.
tic_attach() {
	TIC_TMP=$1
	case "$TIC_TMP" in /tmp/tenant_iso_citus.*) ;; *) echo "cluster.sh: $TIC_TMP is not one of ours" >&2; return 1 ;; esac
	[ -f "$TIC_TMP/bin" ] || { echo "cluster.sh: $TIC_TMP has no cluster" >&2; return 1; }
	TIC_BIN=$(cat "$TIC_TMP/bin")
	TI_CITUS_PORT=$(cat "$TIC_TMP/port")
	TIC_DB=${TIC_DB_OVERRIDE:-$(cat "$TIC_TMP/db")}
	export TIC_TMP TIC_BIN TI_CITUS_PORT TIC_DB
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	case "$cmd" in
		start)
			TIC_NO_TRAP=1
			trap 'rc=$?; if [ $rc -ne 0 ]; then tic_stop_cluster $rc; fi; exit $rc' EXIT
			tic_start_cluster
			trap - EXIT
			echo "$TIC_TMP"
			;;
		stop)
			tic_attach "${2:?cluster directory}"
			tic_stop_cluster 0
			;;
		createdb)
			tic_attach "${2:?cluster directory}"
			tic_create_db "${3:?database name}"
			;;
		psql)
			tic_attach "${2:?cluster directory}"
			node=${3:?node}
			shift 3
			tic_psql "$node" "$@"
			;;
		*)
			echo "usage: $0 start | stop DIR | psql DIR NODE [psql args]" >&2
			exit 2
			;;
	esac
fi
