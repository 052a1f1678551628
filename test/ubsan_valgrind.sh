#!/usr/bin/env bash
# test/ubsan_valgrind.sh: the whole suite against a sanitizer build of tenant_iso (`make test-ubsan-valgrind`).
#
# What runs (docs/reliability.md, "Memory errors and undefined behaviour"):
#   - tenant_iso.so built with -fsanitize=undefined (UndefinedBehaviorSanitizer, every check,
#     -g -O1, no frame pointer omission); its runtime is a dependency of the module;
#   - every server process run under valgrind memcheck (TI_SANITIZE_VALGRIND=0 turns it off),
#     because AddressSanitizer cannot run here: PostgreSQL's server binary is not instrumented,
#     and with the ASan runtime preloaded (LD_PRELOAD, GCC 12 or clang 14) the Debian server
#     hangs in its first bindtextdomain() call, before it reads any option.
# Nothing is built or installed in the work tree or in the system's PostgreSQL directories:
# like every run (test/cluster.sh: ti_private_install, ti_build_extension), the sources are
# copied to a temporary directory, the server installation is copied to a private tree, and the
# sanitizer build is installed there; here the private tree lives in $work (kept with
# TI_SANITIZE_KEEP) and its postgres binary is wrapped.  The test files are those of `make test`.
#
# At the end the valgrind logs and the server log are searched for reports that involve
# tenant_iso's code (valgrind reports inside PostgreSQL itself, e.g. uninitialised padding
# written to disk, are counted but not ours) and for UBSan "runtime error" lines; any of ours
# fails the run.  Prints the usual "N passed, N failed" line and the elapsed time.
#
# Options (environment): TESTS (a subset, as for make test), TI_PORT, TI_SANITIZE_VALGRIND=0,
# TI_SANITIZE_KEEP=1 (keep the private tree, logs and server log; then
# TI_SANITIZE_REPORT_ONLY=<that directory> bash test/ubsan_valgrind.sh counts its reports again).
# Under valgrind, memory.sh runs 20,000 iterations and skips its RSS assertions, crash.sh
# writes for 5 s per round.  Takes about 15-20 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/cluster.sh

# report WORKDIR: count the sanitizer reports of a run; prints a summary, sets $ours_total.
# A valgrind report is ours when the innermost frame outside valgrind and the C library (or
# another system library with debug information) is a function of tenant_iso.so (its symbols,
# from nm) or in tenant_iso.so; reports inside PostgreSQL itself are counted but not ours.
report() {
	local w=$1 so f symbols vg_total=0 vg_ours=0 ubsan=0 n
	so=$(find "$w/root" -name tenant_iso.so 2>/dev/null | head -1)
	symbols="$w/symbols.txt"
	nm "$so" 2>/dev/null | awk '$2 ~ /^[tT]$/ { print $3 }' | sort -u >"$symbols"
	: >"$w/ours.txt"
	for f in "$w"/logs/valgrind.*.log; do
		[ -s "$f" ] || continue
		n=$(grep -cE '^==[0-9]+== [A-Z]' "$f" || true)
		vg_total=$((vg_total + n))
		awk -v symfile="$symbols" '
			BEGIN { while ((getline s < symfile) > 0) ours[s] = 1 }
			/^==[0-9]+== [A-Z]/ { inrep = 1; decided = 0; hit = 0; buf = "" }
			inrep { buf = buf $0 "\n" }
			inrep && !decided && /^==[0-9]+==    (at|by) 0x/ {
				frame = $0; sub(/^==[0-9]+==    (at|by) 0x[0-9A-Fa-f]+: /, "", frame)
				fn = frame; sub(/ .*/, "", fn)
				if (frame ~ /\(in .*(vgpreload|libc\.so|libc-|ld-linux)/) { }
				else if (frame ~ /\(in /) { decided = 1; hit = (frame ~ /tenant_iso\.so/) }
				else if (fn in ours) { decided = 1; hit = 1 }
			}
			/^==[0-9]+== $/ && inrep { if (hit) printf "%s", buf; inrep = 0 }
			END { if (inrep && hit) printf "%s", buf }' "$f" >>"$w/ours.txt"
	done
	vg_ours=$(grep -cE '^==[0-9]+== [A-Z]' "$w/ours.txt" || true)
	if [ -f "$w/server.log" ]; then
		ubsan=$(grep -c 'runtime error:' "$w/server.log" || true)
		grep -B2 -A12 'runtime error:' "$w/server.log" >"$w/ubsan.txt" || true
	fi
	echo "  UBSan runtime errors in the server log: ${ubsan:-0}"
	if [ -d "$w/logs" ] && ls "$w"/logs/valgrind.*.log >/dev/null 2>&1; then
		echo "  valgrind reports: $vg_total in all, $vg_ours of them in tenant_iso's code (the others are inside PostgreSQL)"
	fi
	[ -s "$w/ours.txt" ] && { echo "---- valgrind reports in tenant_iso ----"; head -200 "$w/ours.txt"; }
	[ -s "$w/ubsan.txt" ] && { echo "---- UBSan reports ----"; head -200 "$w/ubsan.txt"; }
	ours_total=$(( ${ubsan:-0} + ${vg_ours:-0} ))
}

# TI_SANITIZE_REPORT_ONLY=<kept directory>: only count the reports of an earlier run
if [ -n "${TI_SANITIZE_REPORT_ONLY:-}" ]; then
	report "$TI_SANITIZE_REPORT_ONLY"
	exit $(( ours_total > 0 ))
fi

start_time=$(date +%s)
ti_install_packages
TI_EXTRA_PACKAGES="valgrind" ti_install_packages >/dev/null 2>&1 || true
command -v valgrind >/dev/null || TI_SANITIZE_VALGRIND=0

work=$(mktemp -d /tmp/tenant_iso_sanitize.XXXXXX)
chmod 755 "$work"
finish() {
	local rc=$?
	ti_stop_cluster || true
	if [ -n "${TI_SANITIZE_KEEP:-}" ]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
	return $rc
}
trap finish EXIT

# 1. a private copy of the server installation (test/cluster.sh) in $work/root
ti_log "copying the PostgreSQL installation to $work/root"
ti_private_install "$work/root"
pkglibdir=$("$TI_PRIV_PGC" --pkglibdir)

# 2. the sanitizer variant, built from a copy of the sources, installed into the private tree
ti_log "building tenant_iso with -fsanitize=undefined in $work/src"
ti_build_extension "$work/src" "COPT=-fsanitize=undefined -fno-omit-frame-pointer -g -O1"
ldd "$pkglibdir/tenant_iso.so" | grep -q libubsan || { echo "the build is not instrumented" >&2; exit 1; }

# 3. the server under valgrind: a wrapper in place of the postgres binary.  The real binary
#    stays in the same directory (so it still finds the private libraries); initdb's bootstrap
#    and version checks run it directly.
logs="$work/logs"
mkdir -p "$logs"
chmod 777 "$logs"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:report_error_type=1"
if [ "${TI_SANITIZE_VALGRIND:-1}" != 0 ]; then
	mv "$TI_BIN/postgres" "$TI_BIN/postgres.real"
	cat >"$TI_BIN/postgres" <<EOF
#!/bin/sh
case "\$1" in
--boot|--single|-V|--version|-C|--describe-config|--check) exec "$TI_BIN/postgres.real" "\$@" ;;
esac
exec valgrind --quiet --tool=memcheck --trace-children=no --track-origins=no --leak-check=no \\
	--read-var-info=no --num-callers=30 --error-limit=no --log-file="$logs/valgrind.%p.log" \\
	"$TI_BIN/postgres.real" "\$@"
EOF
	chmod 755 "$TI_BIN/postgres"
fi

# 4. the suite, as test/run.sh runs it
ti_start_cluster
trap finish EXIT	# ti_start_cluster installed ti_stop_cluster; finish calls it and cleans up
ti_prepare_template
export TI_MEMORY_ITERATIONS=${TI_MEMORY_ITERATIONS:-20000} TI_CRASH_SECONDS=${TI_CRASH_SECONDS:-5} \
	TI_ISOLATION_TIMEOUT=${TI_ISOLATION_TIMEOUT:-1800}
# under valgrind the process's private memory includes valgrind's own bookkeeping
[ "${TI_SANITIZE_VALGRIND:-1}" != 0 ] && export TI_MEMORY_RSS_BOUND_KB=${TI_MEMORY_RSS_BOUND_KB:-16384}
ti_run_suite "under the sanitizers"

# 5. the reports
cp "$TI_TMP/server.log" "$work/server.log" 2>/dev/null || true
elapsed=$(( $(date +%s) - start_time ))
echo
echo "sanitizer run: $((elapsed / 60)) min $((elapsed % 60)) s"
report "$work"
if [ "$ours_total" -gt 0 ]; then
	TI_FAILED=$((TI_FAILED + 1))
	[ "$TI_STATUS" -eq 0 ] && TI_STATUS=1
fi
ti_result_line
