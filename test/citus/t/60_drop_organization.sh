#!/usr/bin/env bash
# test/citus/t/60_drop_organization.sh: tenant_iso.drop_organization() on distributed tables. The
# provisioning role drops an organization whose rows are on shards of three tables: every row of it
# is gone from every placement, the other organizations keep theirs, and the registry's placements
# no longer list it. The registry guard on Citus: a row for an organization that is not registered
# (never, or no longer) is refused on the coordinator (23503); drop_organization() waits for a
# writer of the organization and removes what it committed, and a writer that comes while a drop
# runs waits for it and is refused: no row is left behind on any shard either way.
source "$(dirname "$0")/../lib.sh"
distributed_fixture t60
C=0c000000-0000-4000-8000-00000000000c
CC=2c000000-0000-4000-8000-000000000001

is "$(q c ti_prov <<<"SELECT tenant_iso.create_organization('Gamma Guild', '$C');")" "$C" "the provisioning role creates organization C"
out=$(q c ti_app <<SQL
SET tenant.org_id = '$C';
INSERT INTO courses (id, title) VALUES ('$CC', 'C course');
INSERT INTO lessons (course_id, title) VALUES ('$CC', 'C lesson 1'), ('$CC', 'C lesson 2');
INSERT INTO enrollments (course_id, student) VALUES ('$CC', 'C student');
SELECT count(*) FROM courses;
SQL
)
is "$out" "1" "C's application stores rows in three distributed tables"

rows_of() { q c postgres <<<"SELECT (SELECT count(*) FROM courses WHERE organization_id = '$1') + (SELECT count(*) FROM lessons WHERE organization_id = '$1') + (SELECT count(*) FROM enrollments WHERE organization_id = '$1');"; }
is "$(rows_of $C)|$(rows_of $A)|$(rows_of $B)" "4|3|3" "before: C has 4 rows, A and B 3 each"

is "$(q c ti_prov <<<"SELECT tenant_iso.drop_organization('$C');")" "4" "drop_organization(C) as the provisioning role returns the 4 rows it removes"
is "$(rows_of $C)|$(rows_of $A)|$(rows_of $B)" "0|3|3" "after: none of C's rows is left, A's and B's are kept"
on_placements() {
	q c postgres <<<"SELECT sum(result::int) FROM run_command_on_placements('$1', \$\$SELECT count(*) FROM %s WHERE $2 = '$C'\$\$);"
}
is "$(on_placements courses organization_id)|$(on_placements lessons organization_id)|$(on_placements enrollments organization_id)" \
	"0|0|0" "no placement of any table holds a row of C"
is "$(on_placements tenant_iso.organizations id)" "0" "no placement of the registry lists C"
is "$(q c ti_prov <<<"SELECT tenant_iso.drop_organization('$C');")" "ERROR:  P0002" "dropping it again: it does not exist"
is "$(q c ti_app <<<"SET tenant.org_id = '$A'; SELECT count(*) FROM lessons;")" "1" "A still sees its lesson"

# the registry guard on the coordinator
D=0d000000-0000-4000-8000-00000000000d
out=$(qv c ti_app <<<"SET tenant.org_id = '$D'; INSERT INTO courses (title) VALUES ('D course');")
like "$out" "ERROR:  23503: cannot write a row of table \"courses\" for an organization that is not registered" \
	"a row for an organization that was never registered is refused (23503) ..."
out=$(q c ti_app <<<"SET tenant.org_id = '$C'; INSERT INTO courses (title) VALUES ('C again'); INSERT INTO lessons (course_id, title) VALUES ('$CC', 'C again');")
is "$out" "ERROR:  23503
ERROR:  23503" "... and so is a row for the dropped organization C"
out=$(q c ti_app <<SQL
SET tenant.org_id = '$D';
WITH x AS (INSERT INTO courses (title) VALUES ('D in a CTE') RETURNING id) SELECT count(*) FROM x;
INSERT INTO courses (title) SELECT title FROM courses;
INSERT INTO courses (id, title) VALUES ('$CC', 'D upsert') ON CONFLICT DO NOTHING;
SQL
)
is "$out" "ERROR:  23503
ERROR:  23503
ERROR:  23503" "... also inserted by a data-modifying CTE, INSERT ... SELECT or INSERT ... ON CONFLICT"
is "$(on_placements courses organization_id)|$(q c postgres <<<"SELECT sum(result::int) FROM run_command_on_placements('courses', \$\$SELECT count(*) FROM %s WHERE organization_id = '$D'\$\$);")" \
	"0|0" "... and no shard holds a row of C or D"

# a writer of E holds E's registry lock until it commits: drop_organization(E) waits, then removes its row
E=0e000000-0000-4000-8000-00000000000e
q c ti_prov <<<"SELECT tenant_iso.create_organization('Epsilon', '$E');" >/dev/null
q c ti_app >"$TIC_TMP/t60_writer.out" <<SQL &
BEGIN;
SET LOCAL tenant.org_id = '$E';
INSERT INTO courses (title) VALUES ('E course');
SELECT pg_sleep(2);
COMMIT;
SQL
writer=$!
sleep 1
started=$(date +%s.%N)
out=$(q c ti_prov <<<"SELECT tenant_iso.drop_organization('$E');")
waited=$(echo "$(date +%s.%N) - $started > 0.5" | bc)
wait $writer
is "$out|$waited" "1|1" "drop_organization(E) waits for E's writer (on the coordinator) and removes the row it committed"
C_save=$C; C=$E
is "$(on_placements courses organization_id)" "0" "... no shard holds a row of E"
C=$C_save

# a drop of F holds F's lock exclusively until it commits: a writer of F waits, then is refused
F=0f000000-0000-4000-8000-00000000000f
q c ti_prov <<<"SELECT tenant_iso.create_organization('Phi', '$F');" >/dev/null
q c ti_prov >"$TIC_TMP/t60_drop.out" <<SQL &
BEGIN;
SELECT tenant_iso.drop_organization('$F');
SELECT pg_sleep(2);
COMMIT;
SQL
dropper=$!
sleep 1
out=$(q c ti_app <<<"SET tenant.org_id = '$F'; INSERT INTO courses (title) VALUES ('F course');")
wait $dropper
is "$out|$(cat "$TIC_TMP/t60_drop.out")" "ERROR:  23503|0" "a writer of F that comes while drop_organization(F) runs waits for it and is refused (23503)"
C_save=$C; C=$F
is "$(on_placements courses organization_id)" "0" "... no shard holds a row of F"
C=$C_save

# tenant tables of two owners: Citus would refuse the second owner's DELETE on co-located placements
G=0a0a0000-0000-4000-8000-00000000000a
q c postgres <<SQL >/dev/null
GRANT CREATE, USAGE ON SCHEMA public TO ti_other;
SET ROLE ti_other;
CREATE TABLE notes (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, body text NOT NULL,
                    PRIMARY KEY (organization_id, id));
GRANT SELECT, INSERT ON notes TO ti_app;
RESET ROLE;
SELECT tenant_iso.create_organization('Gimel', '$G');
SQL
q c ti_app <<<"SET tenant.org_id = '$G'; INSERT INTO courses (title) VALUES ('G course'); INSERT INTO notes (body) VALUES ('G note');" >/dev/null
out=$(qv c ti_prov <<<"SELECT tenant_iso.drop_organization('$G');")
like "$out" "ERROR:  0A000: cannot drop an organization on Citus: distributed tenant tables" \
	"tenant tables of two owners: drop_organization() is refused before it deletes anything ..."
like "$out" "HINT:  Give every tenant table one owner" "... with the fix"
is "$(q c postgres <<<"SELECT count(*) FROM tenant_iso.organizations WHERE id = '$G'; SELECT (SELECT count(*) FROM courses WHERE organization_id = '$G') + (SELECT count(*) FROM notes WHERE organization_id = '$G');")" \
	"1
2" "... G and its rows are still there"
q c postgres <<<"ALTER TABLE notes OWNER TO ti_owner;" >/dev/null
is "$(q c ti_prov <<<"SELECT tenant_iso.drop_organization('$G');")" "2" "with one owner again, drop_organization(G) removes its 2 rows"

done_testing
