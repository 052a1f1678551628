#!/usr/bin/env bash
# test/run_one.sh FILE: run one test file and print its TAP stream (called by prove).
#   *.sql  pgTAP file, run as superuser psql in a fresh copy of the template database
#          (the file switches to ti_app / ti_owner itself)
#   *.sh   a script that prints TAP itself; it gets TI_* and PG* in its environment
set -uo pipefail
f=$1
case "$f" in
*.sql)
	db="t_$(basename "$f" .sql | tr -c 'a-zA-Z0-9_\n' '_')"
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE ti_template" >/dev/null || exit 1
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -f "$f" 2>"$TI_TMP/$(basename "$f").stderr"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "# psql exited with $rc; stderr:"
		sed 's/^/# /' "$TI_TMP/$(basename "$f").stderr" | tail -20
	fi
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
	exit $rc
	;;
*.sh)
	exec bash "$f"
	;;
*)
	echo "1..0 # SKIP unknown test file type: $f"
	;;
esac
