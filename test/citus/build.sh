#!/usr/bin/env bash
# test/citus/build.sh: build Citus 13.2.2 against Debian's PostgreSQL 15 into a private copy of
# the server installation in a cache directory outside the checkout, then build tenant_iso from a
# copy of the sources and install it into the same private tree.
#
# Nothing is installed into the system's PostgreSQL directories (/usr/lib/postgresql,
# /usr/share/postgresql, /usr/include/postgresql): other sessions use them.  As in test/asan.sh,
# bindir's parent, pkglibdir and sharedir are copied into <cache>/root/<same path> (PostgreSQL
# finds its libraries and share files relative to its binaries, so the copy is relocatable).
# The server headers are COPIED, not linked, because Citus's `make install` also installs its
# own headers into includedir-server.
#
# Cache directory (TI_CITUS_CACHE overrides it):
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tenant_iso/citus-13.2.2-<first 12 hex of the tarball sha256>
#     root/            the private installation; its pg_config is
#                      root/usr/lib/postgresql/15/bin/pg_config
#     src/citus-13.2.2 the extracted (and, for PostgreSQL >= 15.20, patched) Citus tree; the line
#                      references in docs/citus-notes.md are into this tree
#     build.log        configure/make output
#     .complete        marker of a finished Citus build (tarball and patch sha256, server version);
#                      a run with a matching marker skips straight to tenant_iso
#
# The Citus part is idempotent: with a matching marker it is skipped; without one (first run,
# interrupted run, new tarball, upgraded server package) the cache directory is rebuilt from
# scratch.  tenant_iso is rebuilt and reinstalled on every run (a few seconds).
#
# Environment:
#   TI_CITUS_SRC_DIR   where citus-13.2.2.tar.gz and the patch are (default /work/shared/src,
#                      else ../shared/src next to the checkout)
#   TI_CITUS_CACHE     the cache directory (see above)
#   TI_PG_CONFIG       the system pg_config (default /usr/lib/postgresql/15/bin/pg_config)
#   TI_CITUS_EXT_SRC   tenant_iso sources to build (default: this checkout's working tree)
#   TI_CITUS_EXT_REF   if set (e.g. HEAD), build tenant_iso from `git archive <ref>` of
#                      TI_CITUS_EXT_SRC instead of its working tree
#   TI_CITUS_SKIP_EXT=1  do not build tenant_iso
# Prints the private pg_config's path as its last line of standard output.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$here/../.." && pwd)

step_start=0
total_start=$(date +%s)
step() {
	local now
	now=$(date +%s)
	if [ "$step_start" -ne 0 ]; then
		printf '    (%d s)\n' $((now - step_start)) >&2
	fi
	step_start=$now
	[ $# -gt 0 ] && printf '==> %s\n' "$*" >&2
	return 0
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- inputs -------------------------------------------------------------------------------
srcdir=${TI_CITUS_SRC_DIR:-}
if [ -z "$srcdir" ]; then
	for d in /work/shared/src "$checkout/../shared/src"; do
		[ -f "$d/citus-13.2.2.tar.gz" ] && { srcdir=$(cd "$d" && pwd); break; }
	done
fi
tarball="$srcdir/citus-13.2.2.tar.gz"
patchfile="$srcdir/citus-13.2.2-pg15.20-createdb.patch"
[ -f "$tarball" ] || { echo "build.sh: citus-13.2.2.tar.gz not found (set TI_CITUS_SRC_DIR)" >&2; exit 1; }
sys_pgc=${TI_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

# ---- build dependencies (only the missing ones) ------------------------------------------
step "checking build dependencies"
deps="postgresql-15 postgresql-server-dev-15 libpq-dev make gcc autoconf flex bison pkg-config
      liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev libpam0g-dev libssl-dev libxml2-dev
      libxslt1-dev libreadline-dev zlib1g-dev patch"
missing=()
for p in $deps; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "    installing: ${missing[*]}" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -x "$sys_pgc" ] || { echo "build.sh: $sys_pgc not found" >&2; exit 1; }

tar_sha=$(sha256sum "$tarball" | cut -c1-64)
patch_sha=$( [ -f "$patchfile" ] && sha256sum "$patchfile" | cut -c1-64 || echo none)
pg_version=$("$sys_pgc" --version)
cache=${TI_CITUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant_iso/citus-13.2.2-${tar_sha:0:12}}
root="$cache/root"
marker="$cache/.complete"
want_marker="tarball=$tar_sha patch=$patch_sha server=$pg_version"

bindir=$("$sys_pgc" --bindir)
pkglibdir=$("$sys_pgc" --pkglibdir)
sharedir=$("$sys_pgc" --sharedir)
incdir=$("$sys_pgc" --includedir)
incserver=$("$sys_pgc" --includedir-server)
priv_pgc="$root$bindir/pg_config"

# refuse to ever touch the system tree
case "$root" in /|/usr|/usr/*) echo "build.sh: refusing cache directory $cache" >&2; exit 1 ;; esac

mkdir -p "$cache"
exec 9>"$cache.lock"
flock 9	# one build at a time per cache directory

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want_marker" ] && [ -x "$priv_pgc" ] \
	&& [ -f "$root$pkglibdir/citus.so" ]; then
	step "Citus 13.2.2 already built in $cache"
else
	# ---- 1. fresh private copy of the server installation --------------------------------
	step "copying the PostgreSQL 15 installation to $root"
	rm -rf "$root" "$cache/src" "$marker"
	for d in "$(dirname "$bindir")" "$pkglibdir" "$sharedir" "$incdir"; do
		mkdir -p "$root$(dirname "$d")"
		[ -e "$root$d" ] || cp -a "$d" "$root$d"
	done
	# headers are copied, so the relocated includedir-server must be inside the copy
	[ "$("$priv_pgc" --includedir-server)" = "$root$incserver" ] \
		&& [ "$("$priv_pgc" --pkglibdir)" = "$root$pkglibdir" ] \
		&& [ "$("$priv_pgc" --sharedir)" = "$root$sharedir" ] \
		|| { echo "build.sh: the copied installation is not relocatable" >&2; exit 1; }

	# ---- 2. sources -----------------------------------------------------------------------
	step "extracting $(basename "$tarball")"
	mkdir -p "$cache/src"
	tar -C "$cache/src" -xzf "$tarball"
	csrc="$cache/src/citus-13.2.2"
	if grep -q 'have_createdb_privilege' "$incserver/commands/dbcommands.h" 2>/dev/null; then
		echo "    the server headers declare have_createdb_privilege(): applying $(basename "$patchfile")" >&2
		(cd "$csrc" && patch -p1 -s <"$patchfile")
	else
		echo "    the server headers do not declare have_createdb_privilege(): no patch" >&2
	fi

	# ---- 3. configure, make, install (into the private tree only) -------------------------
	step "configuring Citus (--without-libcurl)"
	(cd "$csrc" && PG_CONFIG="$priv_pgc" ./configure --without-libcurl) >"$cache/build.log" 2>&1 \
		|| { tail -40 "$cache/build.log" >&2; exit 1; }
	step "compiling Citus (make -j2)"
	make -C "$csrc" -j2 >>"$cache/build.log" 2>&1 || { tail -60 "$cache/build.log" >&2; exit 1; }
	step "installing Citus into the private tree"
	make -C "$csrc" install >>"$cache/build.log" 2>&1 || { tail -40 "$cache/build.log" >&2; exit 1; }
	[ -f "$root$pkglibdir/citus.so" ] && [ -f "$root$sharedir/extension/citus.control" ] \
		|| { echo "build.sh: citus.so or citus.control missing from the private tree" >&2; exit 1; }
	[ ! -e "$pkglibdir/citus.so" ] || echo "    note: the system tree has a citus.so of its own (not ours)" >&2
	printf '%s' "$want_marker" >"$marker"
fi

# ---- 4. tenant_iso, from a copy of the sources -------------------------------------------
if [ "${TI_CITUS_SKIP_EXT:-0}" != 1 ]; then
	ext_src=${TI_CITUS_EXT_SRC:-$checkout}
	step "building tenant_iso from ${TI_CITUS_EXT_REF:+$TI_CITUS_EXT_REF of }$ext_src"
	work=$(mktemp -d /tmp/tenant_iso_citus_build.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	if [ -n "${TI_CITUS_EXT_REF:-}" ]; then
		git -C "$ext_src" archive "$TI_CITUS_EXT_REF" | tar -C "$work" -xf -
	else
		tar -C "$ext_src" --exclude=./.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . \
			| tar -C "$work" -xf -
	fi
	make -C "$work" -s clean >/dev/null 2>&1 || true
	make -C "$work" -s PG_CONFIG="$priv_pgc" >"$cache/tenant_iso-build.log" 2>&1 \
		|| { cat "$cache/tenant_iso-build.log" >&2; exit 1; }
	make -C "$work" -s PG_CONFIG="$priv_pgc" install >>"$cache/tenant_iso-build.log" 2>&1 \
		|| { cat "$cache/tenant_iso-build.log" >&2; exit 1; }
	[ -f "$root$pkglibdir/tenant_iso.so" ] || { echo "build.sh: tenant_iso.so not installed" >&2; exit 1; }
fi

step
printf '==> done in %d s; private pg_config:\n' $(( $(date +%s) - total_start )) >&2
echo "$priv_pgc"
