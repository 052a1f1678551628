#!/usr/bin/env bash
# test/pg/build.sh VERSION: the PostgreSQL server the test harness runs against, built once.
#
#   15      Debian's packages (postgresql-15, postgresql-server-dev-15, postgresql-15-pgtap, which
#           is pgTAP 1.2.0): installs what is missing, nothing is built.
#   16, 18  (any major version with a postgresql-V.x.tar.gz in ../shared/src, see its README.md):
#           builds PostgreSQL from that tarball into a cache directory outside the checkout,
#             ${TI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant_iso}/pg-V-<first 12 hex of the
#             tarball's sha256>/install
#           configure --without-icu, make -j2, make install, the isolation tester
#           (make -C src/test/isolation install: pg_isolation_regress, isolationtester), contrib
#           (the suite uses amcheck, btree_gin, btree_gist, citext, pg_prewarm), and pgTAP 1.3.4
#           from ../shared/src/pgtap-1.3.4.tar.gz built against that pg_config and installed
#           into it.  Installs the Debian build dependencies that are missing.
#
# The tarballs are checked against ../shared/src/SHA256SUMS.  A completed build is marked by
# .complete, written last (it records the tarballs' checksums and the configure options); a
# second run reuses it; a half-finished one (no .complete, or one that does not match) is
# removed and rebuilt.  Concurrent runs for one version wait for each other (flock).  Prints
# how long each step took; the build logs stay in <cache>/logs.  Nothing is written in the
# checkout or in the system's directories (apart from the Debian packages).
#
# Settings (environment): TI_CACHE (the cache root), TI_PG_SOURCES (the tarballs' directory),
# TI_BUILD_JOBS (make -j, 2), TI_PG_CONFIGURE_FLAGS (more configure options, e.g.
# --enable-cassert; part of the build's identity), TI_PG_KEEP_SOURCE=1 (keep the built source
# trees in <cache>/src; removed by default, about 0.5 GB).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 VERSION   (15 = Debian's packages; 16, 18 = built from ../shared/src)" >&2; exit 2; }
TI_PG=$1
source "$(dirname "$0")/../cluster.sh"

if [ "$TI_PG" = 15 ]; then
	ti_install_packages
	echo "PostgreSQL 15 from Debian's packages: $TI_PG_CONFIG ($("$TI_PG_CONFIG" --version))"
	exit 0
fi
case "$TI_PG" in
[1-9][0-9]) [ "$TI_PG" -ge 15 ] || { echo "PostgreSQL $TI_PG is not supported (15, 16, 17, 18)" >&2; exit 2; } ;;
*) echo "VERSION must be a major version such as 16 or 18, not \"$TI_PG\"" >&2; exit 2 ;;
esac

PGTAP_VERSION=${TI_PGTAP_VERSION:-1.3.4}
JOBS=${TI_BUILD_JOBS:-2}
CONFIGURE_FLAGS="--without-icu ${TI_PG_CONFIGURE_FLAGS:-}"
BUILD_PACKAGES="bison flex libreadline-dev zlib1g-dev pkg-config make gcc libc6-dev perl patch"

pg_tarball=$(ti_pg_tarball "$TI_PG")
pgtap_tarball="$TI_PG_SOURCES/pgtap-$PGTAP_VERSION.tar.gz"
[ -f "$pgtap_tarball" ] || { echo "no $pgtap_tarball" >&2; exit 1; }
dir=$(ti_pg_cache_dir "$TI_PG")
prefix="$dir/install"

# checksum FILE: its sha256, checked against SHA256SUMS when that lists it
checksum() {
	local sum listed
	sum=$(sha256sum "$1" | cut -d' ' -f1)
	listed=$(awk -v f="$(basename "$1")" '$2 == f || $2 == "*" f { print $1 }' "$TI_PG_SOURCES/SHA256SUMS" 2>/dev/null || true)
	if [ -n "$listed" ] && [ "$listed" != "$sum" ]; then
		echo "$1: sha256 $sum does not match SHA256SUMS ($listed)" >&2
		return 1
	fi
	echo "$sum"
}
stamp="postgresql $(basename "$pg_tarball") $(checksum "$pg_tarball")
pgtap $(basename "$pgtap_tarball") $(checksum "$pgtap_tarball")
configure $CONFIGURE_FLAGS"

mkdir -p "$TI_CACHE"
exec 9>"$dir.lock"
if ! flock -n 9; then
	echo "another build of PostgreSQL $TI_PG is running ($dir); waiting for it" >&2
	flock 9
fi
if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$stamp" ] && [ -x "$prefix/bin/pg_config" ]; then
	echo "PostgreSQL $TI_PG: reusing the build in $dir ($("$prefix/bin/pg_config" --version))"
	exit 0
fi
[ -e "$dir" ] && echo "PostgreSQL $TI_PG: removing an unfinished or outdated build in $dir" >&2
rm -rf "$dir"
mkdir -p "$dir/src" "$dir/logs"
total_start=$(date +%s)

# step NAME COMMAND...: run COMMAND with its output in logs/NAME.log, print how long it took;
# on failure the end of the log
step() {
	local name=$1 t0 rc=0
	shift
	t0=$(date +%s)
	"$@" >"$dir/logs/$name.log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		echo "  $name: FAILED after $(( $(date +%s) - t0 )) s (exit $rc); end of $dir/logs/$name.log:" >&2
		tail -n 40 "$dir/logs/$name.log" >&2
		exit 1
	fi
	printf '  %-12s %4d s\n' "$name" $(( $(date +%s) - t0 ))
}

ti_log "building PostgreSQL $TI_PG from $(basename "$pg_tarball") into $dir (make -j$JOBS)"
t0=$(date +%s)
ti_apt_install $BUILD_PACKAGES
printf '  %-12s %4d s\n' "packages" $(( $(date +%s) - t0 ))

step unpack tar -C "$dir/src" -xzf "$pg_tarball"
pgsrc=$(find "$dir/src" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-*' | head -1)
step configure bash -c 'cd "$1" && shift && ./configure "$@"' _ "$pgsrc" --prefix="$prefix" $CONFIGURE_FLAGS
step make make -C "$pgsrc" -j"$JOBS"
step install make -C "$pgsrc" install
step isolation bash -c 'make -C "$1/src/test/isolation" -j"$2" && make -C "$1/src/test/isolation" install' _ "$pgsrc" "$JOBS"
step contrib bash -c 'make -C "$1/contrib" -j"$2" && make -C "$1/contrib" install' _ "$pgsrc" "$JOBS"
step pgtap-unpack tar -C "$dir/src" -xzf "$pgtap_tarball"
step pgtap bash -c 'make -C "$1" PG_CONFIG="$2" && make -C "$1" PG_CONFIG="$2" install' _ "$dir/src/pgtap-$PGTAP_VERSION" "$prefix/bin/pg_config"

# what the harness needs is there
for f in "$prefix/bin/postgres" "$prefix/bin/psql" "$prefix/bin/pg_dump" "$prefix/bin/pgbench" \
	"$("$prefix/bin/pg_config" --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress" \
	"$("$prefix/bin/pg_config" --pkglibdir)/pgxs/src/test/isolation/isolationtester" \
	"$("$prefix/bin/pg_config" --sharedir)/extension/pgtap.control" \
	"$("$prefix/bin/pg_config" --sharedir)/extension/amcheck.control"; do
	[ -e "$f" ] || { echo "the build is missing $f" >&2; exit 1; }
done
[ -n "${TI_PG_KEEP_SOURCE:-}" ] || rm -rf "$dir/src"
echo "$stamp" >"$dir/.complete"
echo "PostgreSQL $TI_PG: built $("$prefix/bin/pg_config" --version) with pgTAP $PGTAP_VERSION in $(( $(date +%s) - total_start )) s: $prefix"
