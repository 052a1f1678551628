#!/usr/bin/env bash
# test/citus/t/60_drop_organization.sh: tenant_iso.drop_organization() on distributed tables. The
# provisioning role drops an organization whose rows are on shards of three tables: the registry
# keys cascade on every node, every row of it is gone from every placement, the other
# organizations keep theirs, and the registry's placements no longer list it.
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

done_testing
