#!/usr/bin/env bash
# test/t/isolation.sh: the isolation specs (test/specs/*.spec, expected output in expected/*.out),
# run by PostgreSQL's isolation tester against the running test cluster, one fresh copy of
# ti_template per spec.  Prints TAP: one test per spec; on failure the regression diffs as
# comments.
#
# Needs PGHOST/PGPORT (set by test/run.sh), TI_TMP and TI_BIN.  Run one spec with
#   TI_SPECS="ddl_race" TI_PORT=... TESTS="test/t/isolation.sh" make test
# Accept new output (after reading it!) with TI_ISOLATION_ACCEPT=1: results are copied to expected/.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TI_BIN:-$(pg_config --bindir)}
pgc="$bin/pg_config"
[ -x "$pgc" ] || pgc=pg_config
regress="$("$pgc" --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress"
psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -d postgres)

if [ ! -x "$regress" ]; then
	echo "1..1"
	echo "not ok 1 - pg_isolation_regress not found at $regress (package postgresql-server-dev-*)"
	exit 0
fi

specs=()
if [ -n "${TI_SPECS:-}" ]; then
	for s in $TI_SPECS; do specs+=("$root/test/specs/$s.spec"); done
else
	for s in "$root"/test/specs/*.spec; do [ -e "$s" ] && specs+=("$s"); done
fi
if [ ${#specs[@]} -eq 0 ]; then
	echo "1..1"
	echo "not ok 1 - no specs in test/specs"
	exit 0
fi

work="${TI_TMP:-/tmp}/isolation"
rm -rf "$work"
mkdir -p "$work/in"
ln -s "$root/test/specs" "$work/in/specs"
ln -s "$root/expected" "$work/in/expected"

echo "1..${#specs[@]}"
i=0
for spec in "${specs[@]}"; do
	i=$((i + 1))
	name=$(basename "$spec" .spec)
	db="iso_$(echo "$name" | tr -c 'a-zA-Z0-9_\n' '_')"
	out="$work/out/$name"
	mkdir -p "$out"
	if [ ! -f "$root/expected/$name.out" ] && [ -z "${TI_ISOLATION_ACCEPT:-}" ]; then
		echo "not ok $i - spec $name"
		echo "# expected/$name.out is missing: run with TI_ISOLATION_ACCEPT=1, read the output, keep it only if it is right"
		continue
	fi
	if ! PGOPTIONS="-c client_min_messages=warning" "${psql[@]}" -c "DROP DATABASE IF EXISTS $db" \
		-c "CREATE DATABASE $db TEMPLATE ti_template" >"$out/createdb.log" 2>&1; then
		echo "not ok $i - spec $name"
		sed 's/^/# /' "$out/createdb.log"
		continue
	fi
	# --use-existing: pg_regress neither creates nor drops the database; we do.
	timeout "${TI_ISOLATION_TIMEOUT:-300}" "$regress" --use-existing --bindir="$bin" \
		--host="${PGHOST:-localhost}" --port="${PGPORT:-5432}" --user=postgres \
		--dbname="$db" --inputdir="$work/in" --outputdir="$out" "$name" >"$out/run.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok $i - spec $name"
	else
		echo "not ok $i - spec $name"
		[ $rc -eq 124 ] && echo "# timed out after ${TI_ISOLATION_TIMEOUT:-300} s"
		if [ -s "$out/regression.diffs" ]; then
			sed 's/^/# /' "$out/regression.diffs"
		else
			sed 's/^/# /' "$out/run.log"
		fi
	fi
	if [ -n "${TI_ISOLATION_ACCEPT:-}" ] && [ -f "$out/results/$name.out" ]; then
		cp "$out/results/$name.out" "$root/expected/$name.out"
		echo "# accepted $out/results/$name.out as expected/$name.out"
	fi
	"${psql[@]}" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
done
# failures are reported as "not ok" lines; the exit status stays 0 like the other TAP scripts
exit 0
