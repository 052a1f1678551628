#!/usr/bin/env bash
# test/citus/lib.sh: what every file of test/citus/t/ sources: TAP output, psql against the nodes
# of the cluster test/citus/run.sh started (TIC_TMP in the environment), and the fixture.
#
#   ok STATUS DESC [DIAG]   is GOT WANT DESC   like GOT SUBSTRING DESC   unlike GOT SUBSTRING DESC
#   done_testing            prints the plan
#   q NODE ROLE [psql args]   psql -At as ROLE on node c, w1 or w2 in $DB, SQL on stdin; errors
#                           are printed as "ERROR:  <SQLSTATE>", notices not at all
#   qv NODE ROLE [psql args]  the same with "ERROR:  <SQLSTATE>: <message>", DETAIL, HINT, NOTICEs
#   fixture DB              a database with citus and tenant_iso, the README's grants, organizations
#                           A and B, tenant tables courses, lessons, enrollments with rows of both
#   shard_of TABLE ORG      the shard (relation name) and node (w1/w2) holding ORG's rows of TABLE
set -uo pipefail

TIC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cluster.sh
source "$TIC_LIB_DIR/cluster.sh"
set +e	# a test file goes on after a failed command: each result is a test
tic_attach "${TIC_TMP:?test/citus/run.sh starts the cluster}"

A=0a000000-0000-4000-8000-00000000000a
B=0b000000-0000-4000-8000-00000000000b
# one course and one lesson per organization (fixture)
CA=2a000000-0000-4000-8000-000000000001
CB=2b000000-0000-4000-8000-000000000001

tap_n=0
tap_failed=0

ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
	return 0
}

is() {
	[ "$1" = "$2" ]
	ok $? "$3" "got:  $(printf '%s' "$1" | head -c 2000)
want: $2"
}

like() {
	[[ "$1" == *"$2"* ]]
	ok $? "$3" "got:  $(printf '%s' "$1" | head -c 2000)
want: ...$2..."
}

unlike() {
	[[ "$1" != *"$2"* ]]
	ok $? "$3" "got:  $(printf '%s' "$1" | head -c 2000)
must not contain: $2"
}

# (exit status 0: prove counts the failed tests; a file that dies before its plan is a failure)
done_testing() {
	echo "1..$tap_n"
	exit 0
}

# q NODE ROLE [psql args]: SQL on stdin; notices are not shown
q() {
	local node=$1 role=$2
	shift 2
	PGOPTIONS="-c client_min_messages=warning" "$TIC_BIN/psql" -X -q -At -h "$TIC_TMP/sock" -p "$(tic_port "$node")" \
		-U "$role" -d "${DB:?}" -v VERBOSITY=sqlstate "$@" -f - 2>&1 | sed -E 's/^psql:[^ ]*: //'
}

# The same with the SQLSTATE and the message of errors (VERBOSITY verbose, first line only).
qv() {
	local node=$1 role=$2
	shift 2
	"$TIC_BIN/psql" -X -q -At -h "$TIC_TMP/sock" -p "$(tic_port "$node")" -U "$role" -d "${DB:?}" \
		-v VERBOSITY=verbose "$@" -f - 2>&1 | sed -E 's/^psql:[^ ]*: //' | grep -v -E '^(LOCATION|CONTEXT):'
}

fixture() {
	local i
	DB=$1
	for i in 0 1 2; do
		"$TIC_BIN/psql" -X -q -h "$TIC_TMP/sock" -p $((TI_CITUS_PORT + i)) -U postgres -d postgres \
			-c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
	done
	tic_create_db "$DB"
	q c postgres -v ON_ERROR_STOP=1 >/dev/null <<-SQL || { echo "Bail out! fixture of $DB failed"; exit 1; }
		SET client_min_messages = warning;
		CREATE EXTENSION tenant_iso;
		GRANT CREATE ON SCHEMA public TO ti_owner;
		GRANT USAGE ON SCHEMA public TO ti_app;
		ALTER DEFAULT PRIVILEGES FOR ROLE ti_owner IN SCHEMA public
		    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ti_app;
		GRANT SELECT ON tenant_iso.organizations TO ti_app;
		GRANT EXECUTE ON FUNCTION tenant_iso.create_organization(text, uuid) TO ti_prov;
		GRANT EXECUTE ON FUNCTION tenant_iso.drop_organization(uuid) TO ti_prov;
		SELECT tenant_iso.create_organization('Alpha Academy', '$A');
		SELECT tenant_iso.create_organization('Beta Bootcamp', '$B');
		SET ROLE ti_owner;
		CREATE TABLE courses (
		    id              uuid NOT NULL DEFAULT gen_random_uuid(),
		    organization_id uuid NOT NULL,
		    title           text NOT NULL,
		    PRIMARY KEY (organization_id, id)
		);
		CREATE TABLE lessons (
		    id              uuid NOT NULL DEFAULT gen_random_uuid(),
		    organization_id uuid NOT NULL,
		    course_id       uuid NOT NULL,
		    title           text NOT NULL,
		    PRIMARY KEY (organization_id, id),
		    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) ON DELETE CASCADE
		);
		CREATE TABLE enrollments (
		    id              uuid NOT NULL DEFAULT gen_random_uuid(),
		    organization_id uuid NOT NULL,
		    course_id       uuid NOT NULL,
		    student         text NOT NULL,
		    PRIMARY KEY (organization_id, id),
		    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) ON DELETE CASCADE
		);
		RESET ROLE;
		SET tenant.org_id = '$A';
		INSERT INTO courses (id, title) VALUES ('$CA', 'A course');
		INSERT INTO lessons (course_id, title) VALUES ('$CA', 'A lesson');
		INSERT INTO enrollments (course_id, student) VALUES ('$CA', 'A student');
		SET tenant.org_id = '$B';
		INSERT INTO courses (id, title) VALUES ('$CB', 'B course');
		INSERT INTO lessons (course_id, title) VALUES ('$CB', 'B lesson');
		INSERT INTO enrollments (course_id, student) VALUES ('$CB', 'B student');
	SQL
}

# fixture, then SELECT tenant_iso.distribute('courses') as the tables' owner.
distributed_fixture() {
	fixture "$1"
	q c ti_owner -v ON_ERROR_STOP=1 <<<"SELECT count(*) FROM tenant_iso.distribute('courses');" >/dev/null \
		|| { echo "Bail out! distribute() in $1 failed"; exit 1; }
}

# shard_of TABLE ORG: "<shard relation> <w1|w2>"
shard_of() {
	local row
	row=$(q c postgres <<-SQL
		SELECT pg_catalog.shard_name('$1'::regclass, s.shardid), p.nodeport
		FROM pg_dist_shard s JOIN pg_dist_placement pl USING (shardid)
		JOIN pg_dist_node p ON p.groupid = pl.groupid
		WHERE s.shardid = get_shard_id_for_distribution_column('$1', '$2'::uuid);
	SQL
	)
	local shard=${row%%|*} port=${row##*|}
	echo "$shard w$((port - TI_CITUS_PORT))"
}

# The tenant context of a session for one route, as SQL that opens the session (see t/20).
token() {
	q c postgres <<<"SELECT tenant_iso.sign('$1', '10 minutes');"
}
