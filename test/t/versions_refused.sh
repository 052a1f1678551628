#!/usr/bin/env bash
# test/t/versions_refused.sh: building against a PostgreSQL tenant_iso does not support (14 or
# older) stops at once with a message naming the version found and the versions supported,
# before anything is compiled; a supported version passes the same check.
#
# A stand-in pg_config answers --version with an old version and passes every other question to
# the real pg_config (TI_BIN), so the Makefile's own check is what runs (make -n: nothing built).
# Prints TAP.  Needs TI_BIN and TI_TMP (test/run.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."

work="${TI_TMP:?TI_TMP is not set}/versions_refused"
mkdir -p "$work"
real="$TI_BIN/pg_config"
[ -x "$real" ] || real=$(command -v pg_config)
n=0
ok() {	# ok STATUS DESCRIPTION [DIAGNOSTICS]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'; fi
}

# fake_pg_config VERSION -> path of a pg_config that reports "PostgreSQL VERSION"
fake_pg_config() {
	local f="$work/pg_config_$1"
	cat >"$f" <<EOF
#!/bin/sh
[ "\$1" = --version ] && { echo "PostgreSQL $1"; exit 0; }
exec "$real" "\$@"
EOF
	chmod +x "$f"
	echo "$f"
}

echo "1..5"
for v in 14.13 13.16; do
	out=$(make -n -C . PG_CONFIG="$(fake_pg_config "$v")" 2>&1)
	rc=$?
	ok "$([ $rc -ne 0 ] && echo 0 || echo 1)" "make against PostgreSQL $v stops (exit $rc)" "$out"
	ok "$(echo "$out" | grep -q "tenant_iso does not support PostgreSQL $v .*it supports PostgreSQL 15, 16, 17 and 18" && echo 0 || echo 1)" \
		"... saying which version it found and which it supports" "$out"
done
# the control: the real server's pg_config passes the same check
out=$(make -n -C . PG_CONFIG="$real" 2>&1)
rc=$?
ok "$([ $rc -eq 0 ] && ! echo "$out" | grep -q "does not support" && echo 0 || echo 1)" \
	"make against the server under test ($("$real" --version)) passes the check" "$out"
