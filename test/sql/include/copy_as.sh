#!/bin/sh
# test/sql/include/copy_as.sh ROLE TENANT COMMAND...: run the COMMANDs (SQL or psql's \copy, one
# each) in a session of their own, which commits, as ROLE ("-": the superuser) with
# tenant.org_id = TENANT ("-": no tenant), stopping at the first error (SQL commands end with
# a semicolon).  Prints "ok", or the first error as "SQLSTATE: message" followed by its CONTEXT
# line, if any.  DBNAME names the database (the caller passes :DBNAME).
#
# A session of its own because psql 15 sets neither ERROR nor LAST_ERROR_SQLSTATE when a COPY
# fails, and because COPY FROM STDIN cannot run inside a function (throws_ok).  Used by
# test/sql/730_copy_from.sql.
role=$1
org=$2
shift 2
cmds=""
for c in "$@"; do
	cmds="$cmds$c
"
done
if [ "$org" = - ]; then
	tenant=""
else
	tenant="SET tenant.org_id = '$org';"
fi
if [ "$role" = - ]; then
	setrole=""
else
	setrole="SET ROLE $role;"
fi
printf '%s\n%s\n%s' "$tenant" "$setrole" "$cmds" |
	psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DBNAME" -f - 2>&1 |
	awk '/^(psql:[^ ]* )?ERROR:/ && e == "" { sub(/^(psql:[^ ]* )?ERROR:  /, ""); e = $0 }
	     /^CONTEXT:/ && e != "" && c == "" { sub(/^CONTEXT:  /, ""); c = $0 }
	     END { if (e == "") print "ok"; else { print e; if (c != "") print c } }'
