# test/cluster.sh: shared set-up for `make demo`, `make test`, `make bench`, `make test-ubsan-valgrind`,
# `make test-all` and test/pg/build.sh.
#
# Sourced, not run.  Every run is private: it builds tenant_iso from a copy of the work tree in
# its own temporary directory and installs it into its own copy of the server installation.  The
# work tree and the system's PostgreSQL directories are never written, so several runs at once
# (several developers on one machine, each with its own TI_PORT) do not disturb each other.
#
# Provides:
#   ti_apt_install PKG...   install the Debian packages of the list that are missing
#   ti_install_packages     the packages the project needs; for TI_PG other than 15 also the
#                           PostgreSQL build of test/pg/build.sh (reused when it is cached);
#                           sets TI_PG_CONFIG (the server installation to test against) and TI_BIN
#   ti_pg_tarball V, ti_pg_cache_dir V   where the source and the cached build of version V are
#   ti_workdir              create this run's temporary directory $TI_TMP (/tmp/tenant_iso.XXXXXX)
#                           and install the clean-up traps (EXIT, INT, TERM)
#   ti_private_install DEST copy the server installation of $TI_PG_CONFIG into DEST; points
#                           TI_BIN, TI_PRIV_PGC (and PATH, LD_LIBRARY_PATH) at the copy
#   ti_build_extension DIR [MAKE ARGS...]  copy the sources to DIR, build them there and install
#                           the extension into the private copy
#   ti_build_install        the three above, in $TI_TMP/pg and $TI_TMP/build
#   ti_start_cluster        initdb + start a private cluster in $TI_TMP, listening on 127.0.0.1
#                           and its own unix socket only, with tenant_iso preloaded
#   ti_stop_cluster         stop it (by its data directory) and remove $TI_TMP (cluster, private
#                           installation, build); the EXIT trap, so it also runs on failure/Ctrl-C
#   ti_psql                 psql as the cluster's superuser against $TI_DB
#   ti_prepare_template     roles (test/roles.sql) and the template database ti_template
#   ti_run_suite            prove over the test files; sets TI_STATUS, TI_PASSED, TI_FAILED
#   ti_result_line          print "N passed, N failed"; returns TI_STATUS
#
# Settings (environment):
#   TI_PG      PostgreSQL major version: 15 (default) = Debian's packages; 16, 18 = built from
#              ../shared/src by test/pg/build.sh into ${TI_CACHE:-~/.cache/tenant_iso}
#   TI_PORT    the cluster's port (55432; demo.sh and bench/run.sh set their own defaults)
#   TI_DB, TI_MAKE_FLAGS (extra make arguments), TI_EXTRA_PACKAGES, TI_EXTRA_CONF (postgresql.conf)
#   TI_PG_SOURCES  the directory of the PostgreSQL and pgTAP tarballs (default ../shared/src)
#
# Invariants: we only ever stop the server we started (pg_ctl -D on our own data directory, then
# the pid from postmaster.pid if it is still alive); nothing listens beyond 127.0.0.1.

set -o pipefail

TI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TI_PG=${TI_PG:-${TI_PGVER:-15}}
TI_PORT=${TI_PORT:-55432}
TI_DB=${TI_DB:-tenant_iso_test}
TI_PG_SOURCES=${TI_PG_SOURCES:-$(cd "$TI_ROOT/.." && pwd)/shared/src}
TI_CACHE=${TI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant_iso}
if [ "$TI_PG" = 15 ]; then
	TI_PACKAGES=${TI_PACKAGES:-"postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl pgbouncer make gcc"}
else
	# the server, its headers, the isolation tester and pgTAP come from test/pg/build.sh
	TI_PACKAGES=${TI_PACKAGES:-"libtap-parser-sourcehandler-pgtap-perl pgbouncer make gcc"}
fi

ti_log() { printf '\n==> %s\n' "$*" >&2; }

ti_sudo() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ti_apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		ti_log "installing missing packages: ${missing[*]}"
		ti_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		ti_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# ti_pg_tarball V: the source tarball of PostgreSQL V (the newest V.x in $TI_PG_SOURCES)
ti_pg_tarball() {
	local t
	t=$(ls "$TI_PG_SOURCES"/postgresql-"$1".*.tar.gz 2>/dev/null | sort -V | tail -1)
	[ -n "$t" ] || { echo "no PostgreSQL $1 source tarball (postgresql-$1.*.tar.gz) in $TI_PG_SOURCES (set TI_PG_SOURCES)" >&2; return 1; }
	echo "$t"
}

# ti_pg_cache_dir V: the build cache of PostgreSQL V, keyed on the tarball's checksum
ti_pg_cache_dir() {
	local t sum
	t=$(ti_pg_tarball "$1") || return 1
	sum=$(sha256sum "$t" | cut -c1-12)
	echo "$TI_CACHE/pg-$1-$sum"
}

ti_install_packages() {
	# shellcheck disable=SC2086
	ti_apt_install $TI_PACKAGES ${TI_EXTRA_PACKAGES:-}
	case "$TI_PG" in
	15)
		TI_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
		;;
	[0-9]*)
		[ "$TI_PG" -ge 15 ] 2>/dev/null || { echo "PostgreSQL $TI_PG is not supported (15, 16, 17, 18)" >&2; return 1; }
		bash "$TI_ROOT/test/pg/build.sh" "$TI_PG" || return 1
		TI_PG_CONFIG="$(ti_pg_cache_dir "$TI_PG")/install/bin/pg_config"
		;;
	*)
		echo "TI_PG (make ... PG=) must be a major version such as 15, 16 or 18, not \"$TI_PG\"" >&2
		return 1
		;;
	esac
	[ -x "$TI_PG_CONFIG" ] || { echo "no pg_config at $TI_PG_CONFIG" >&2; return 1; }
	TI_BIN=$("$TI_PG_CONFIG" --bindir)
	export TI_PG TI_PG_CONFIG TI_BIN PATH="$TI_BIN:$PATH"
}

# The server refuses to run as root: when we are root we run it as the postgres user.
ti_as_server() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# (a TI_TMP inherited from a calling run is not ours: we never reuse or remove it)
ti_workdir() {
	[ -n "${TI_TMP:-}" ] && [ "$TI_TMP" = "${ti_tmp_mine:-}" ] && [ -d "$TI_TMP" ] && return 0
	unset TI_DATA
	TI_TMP=$(mktemp -d /tmp/tenant_iso.XXXXXX)
	ti_tmp_mine=$TI_TMP
	chmod 755 "$TI_TMP"
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$TI_TMP"; fi
	export TI_TMP
	trap ti_stop_cluster EXIT
	trap 'exit 130' INT TERM
}

# ti_private_install DEST: DEST + the original absolute paths (DEST/usr/lib/postgresql/15/...).
# Copies bindir's parent (binaries, libraries, and pkglibdir when it lies below), pkglibdir and
# sharedir; the server headers are only read, so they are linked when they are not inside the
# copy already; tenant_iso's own files are removed from the copy.  PostgreSQL finds its directories relative to its binaries, so the copy's
# pg_config reports the copy's directories; we check that it does.  A built server's libpq is in
# its own libdir (the binaries' rpath points at the cache, which the server user may not read):
# LD_LIBRARY_PATH makes the copy's binaries use the copy's libpq.
ti_private_install() {
	local dest=$1 pgc=${TI_PG_CONFIG:?ti_install_packages first} bindir pkglibdir sharedir incdir d priv_inc libdir
	bindir=$("$pgc" --bindir)
	pkglibdir=$("$pgc" --pkglibdir)
	sharedir=$("$pgc" --sharedir)
	incdir=$("$pgc" --includedir-server)
	for d in "$(dirname "$bindir")" "$pkglibdir" "$sharedir"; do
		mkdir -p "$dest$(dirname "$d")"
		[ -e "$dest$d" ] || cp -a "$d" "$dest$d"
	done
	# whatever tenant_iso an earlier `make install` left in the original is not this run's
	rm -f "$dest$pkglibdir"/tenant_iso.so "$dest$sharedir"/extension/tenant_iso.control "$dest$sharedir"/extension/tenant_iso--*.sql
	rm -rf "$dest$pkglibdir"/bitcode/tenant_iso "$dest$pkglibdir"/bitcode/tenant_iso.index.bc
	TI_PRIV_PGC="$dest$bindir/pg_config"
	priv_inc=$("$TI_PRIV_PGC" --includedir-server)
	mkdir -p "$(dirname "$priv_inc")"
	[ -e "$priv_inc" ] || ln -s "$incdir" "$priv_inc"
	if [ "$("$TI_PRIV_PGC" --pkglibdir)" != "$dest$pkglibdir" ] || [ "$("$TI_PRIV_PGC" --sharedir)" != "$dest$sharedir" ]; then
		echo "the copy of the PostgreSQL installation in $dest is not relocatable" >&2
		return 1
	fi
	libdir=$("$TI_PRIV_PGC" --libdir)
	if [ -e "$libdir/libpq.so.5" ]; then
		export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	fi
	TI_BIN="$dest$bindir"
	export TI_PRIV_PGC TI_BIN PATH="$TI_BIN:$PATH"
}

# ti_build_extension DIR [MAKE ARGS...]: build tenant_iso from a copy of the work tree (without
# .git and build products) in DIR, install it into the private copy ($TI_PRIV_PGC).  Compiler
# warnings are shown; on failure the whole build log (make -k: the errors of every file).
ti_build_extension() {
	local dir=$1
	shift
	mkdir -p "$dir"
	tar -C "$TI_ROOT" --exclude=./.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		--exclude=./results --exclude=./output_iso --exclude=./tmp_check --exclude=./log \
		--exclude='regression.diffs' --exclude='regression.out' -cf - . | tar -C "$dir" -xf -
	{
		make -C "$dir" -s PG_CONFIG="$TI_PRIV_PGC" clean &&
			make -C "$dir" -s -k -j"${TI_BUILD_JOBS:-$(nproc)}" PG_CONFIG="$TI_PRIV_PGC" "$@" &&
			make -C "$dir" -s PG_CONFIG="$TI_PRIV_PGC" "$@" install
	} >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
	if [ -s "$dir/build.log" ]; then cat "$dir/build.log" >&2; fi
}

ti_build_install() {
	ti_workdir
	ti_log "building tenant_iso for PostgreSQL $("$TI_PG_CONFIG" --version | awk '{print $2}') in $TI_TMP (private installation)"
	ti_private_install "$TI_TMP/pg"
	# shellcheck disable=SC2086
	ti_build_extension "$TI_TMP/build" ${TI_MAKE_FLAGS:-}
}

ti_start_cluster() {
	ti_workdir
	export TI_DATA="$TI_TMP/data" TI_SOCK="$TI_TMP"
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

ti_prepare_template() {
	ti_log "preparing the template database"
	ti_psql -q -d postgres -f "$TI_ROOT/test/roles.sql" >/dev/null
	ti_psql -q -d postgres -c "CREATE DATABASE ti_template" >/dev/null
	ti_psql -q -d ti_template -f "$TI_ROOT/test/fixtures.sql" >"$TI_TMP/fixtures.log" 2>&1 \
		|| { cat "$TI_TMP/fixtures.log" >&2; return 1; }
}

# ti_run_suite [WORDS]: prove over $TESTS (default: test/sql/*.sql and test/t/*.sh), each file
# run by test/run_one.sh; WORDS are added to the "running N test files" line.  Sets TI_STATUS
# (prove's exit status), TI_PASSED, TI_FAILED (failed assertions, plus one for each file that
# died or missed its plan); the output is also in $TI_TMP/prove.log.
ti_run_suite() {
	local tests broken
	tests=${TESTS:-$(cd "$TI_ROOT" && ls test/sql/*.sql test/t/*.sh 2>/dev/null || true)}
	ti_log "running $(echo "$tests" | wc -w) test files${1:+ $1}"
	TI_STATUS=0
	# shellcheck disable=SC2086
	(cd "$TI_ROOT" && prove -v --timer --exec 'bash test/run_one.sh' $tests) 2>&1 | tee "$TI_TMP/prove.log" || TI_STATUS=$?
	TI_PASSED=$(grep -cE '^ok [0-9]+' "$TI_TMP/prove.log" || true)
	TI_FAILED=$(grep -cE '^not ok [0-9]+' "$TI_TMP/prove.log" || true)
	# files of prove's summary report that died, exited non-zero or missed their plan (once each)
	broken=$(awk '/^Test Summary Report/ { s = 1 }
		s && /^[^ ].*\(Wstat: / { f = $1; b[f] = 0 }
		s && f != "" && /(Wstat: [1-9]|Non-zero exit status|Parse errors)/ { b[f] = 1 }
		END { n = 0; for (k in b) n += b[k]; print n }' "$TI_TMP/prove.log")
	TI_FAILED=$((TI_FAILED + broken))
}

ti_result_line() {
	# a failed run without a failed assertion (prove itself failed) still counts as one failure
	if [ "$TI_STATUS" -ne 0 ] && [ "$TI_FAILED" -eq 0 ]; then TI_FAILED=1; fi
	echo
	echo "$TI_PASSED passed, $TI_FAILED failed"
	return "$TI_STATUS"
}
