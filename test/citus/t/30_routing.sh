#!/usr/bin/env bash
# test/citus/t/30_routing.sh: stamping and routing. A tenant-scoped query without organization_id
# in its text runs on exactly one shard, the tenant's (Task Count: 1 in EXPLAIN): select, update
# and delete by id, an aggregate, joins of co-located tables, subqueries; so do generic plans of
# prepared statements across a switch of tenant, which never return the previous tenant's rows.
# Without a tenant: TI001, on the coordinator and on a worker.
source "$(dirname "$0")/../lib.sh"
distributed_fixture t30

read -r shard_a node_a <<<"$(shard_of courses $A)"
read -r shard_b node_b <<<"$(shard_of courses $B)"
read -r lshard_a _ <<<"$(shard_of lessons $A)"

# task TENANT SQL: "<Task Count>:<shards named in the plan>" of EXPLAIN SQL as ti_app for TENANT
task() {
	local plan
	plan=$(q c ti_app <<<"SET tenant.org_id = '$1'; EXPLAIN (COSTS OFF) $2")
	printf '%s:%s' "$(sed -n 's/.*Task Count: \([0-9]*\).*/\1/p' <<<"$plan" | paste -sd+)" \
		"$(grep -oE '(courses|lessons)_[0-9]+' <<<"$plan" | sort -u | paste -sd,)"
}

is "$(task $A "SELECT title FROM courses WHERE id = '$CA'")" "1:$shard_a" "select by id: Task Count 1, on A's shard"
is "$(task $B "SELECT title FROM courses WHERE id = '$CA'")" "1:$shard_b" "the same query under B: Task Count 1, on B's shard"
is "$(task $A "UPDATE courses SET title = title WHERE id = '$CA'")" "1:$shard_a" "update by id: Task Count 1"
is "$(task $A "DELETE FROM courses WHERE id = '2f000000-0000-4000-8000-00000000000f'")" "1:$shard_a" "delete by id: Task Count 1"
is "$(task $A "SELECT count(*), max(title) FROM courses")" "1:$shard_a" "an aggregate over the tenant's rows: Task Count 1"
is "$(task $A "SELECT c.title, l.title FROM courses c JOIN lessons l ON l.course_id = c.id AND l.organization_id = c.organization_id WHERE c.id = '$CA'")" \
	"1:$shard_a,$lshard_a" "a join of two co-located tenant tables: Task Count 1"
is "$(task $A "SELECT c.title, count(l.id) FROM courses c LEFT JOIN lessons l ON l.course_id = c.id GROUP BY c.title")" \
	"1:$shard_a,$lshard_a" "a LEFT JOIN without organization_id in its text: Task Count 1"
is "$(task $A "SELECT title FROM courses WHERE id IN (SELECT course_id FROM lessons)")" \
	"1:$shard_a,$lshard_a" "a subquery: Task Count 1"
is "$(task $A "SELECT title FROM courses WHERE organization_id = '$A' AND id = '$CA'")" "1:$shard_a" \
	"a query that names the tenant itself keeps Citus's fast path: Task Count 1"
plan=$(q c postgres <<<"EXPLAIN (COSTS OFF) SELECT title FROM courses WHERE id = '$CA';")
like "$plan" "Task Count: 32" "for contrast: the superuser, without a tenant and outside tenant scoping, gets all 32 shards"

# results of the routed queries
out=$(q c ti_app <<SQL
SET tenant.org_id = '$A';
SELECT title FROM courses WHERE id = '$CA';
SELECT count(*) FROM courses WHERE id = '$CB';
SELECT c.title || '/' || l.title FROM courses c LEFT JOIN lessons l ON l.course_id = c.id;
SQL
)
is "$out" "A course
0
A course/A lesson" "the routed queries return the tenant's rows, and nothing of B's"

# prepared statements: generic plans across a switch of tenant
out=$(q c ti_app <<SQL
SET tenant.org_id = '$A';
PREPARE by_id(uuid) AS SELECT organization_id, title FROM courses WHERE id = \$1;
PREPARE counted AS SELECT count(*), min(organization_id::text) FROM courses;
EXECUTE by_id('$CA'); EXECUTE by_id('$CA'); EXECUTE by_id('$CA'); EXECUTE by_id('$CA');
EXECUTE by_id('$CA'); EXECUTE by_id('$CA'); EXECUTE by_id('$CA');
EXECUTE counted; EXECUTE counted;
SELECT 'generic', generic_plans > 0 FROM pg_prepared_statements WHERE name = 'by_id';
SET tenant.org_id = '$B';
EXECUTE by_id('$CA');
EXECUTE by_id('$CB');
EXECUTE counted;
SELECT set_config('tenant.org_id', '$A', false) IS NOT NULL;
EXECUTE counted;
EXECUTE by_id('$CB');
SQL
)
is "$out" "$A|A course
$A|A course
$A|A course
$A|A course
$A|A course
$A|A course
$A|A course
1|$A
1|$A
generic|t
$B|B course
1|$B
t
1|$A" "prepared statements run as generic plans under A, then under B (SET) and A again (set_config): never the previous tenant's rows"

plan=$(q c ti_app <<SQL
SET tenant.org_id = '$A';
PREPARE by_id(uuid) AS SELECT title FROM courses WHERE id = \$1;
EXECUTE by_id('$CA'); EXECUTE by_id('$CA'); EXECUTE by_id('$CA'); EXECUTE by_id('$CA');
EXECUTE by_id('$CA'); EXECUTE by_id('$CA'); EXECUTE by_id('$CA');
SET tenant.org_id = '$B';
EXPLAIN (COSTS OFF) EXECUTE by_id('$CB');
SQL
)
like "$plan" "Task Count: 1" "EXPLAIN EXECUTE of the generic plan after the switch: Task Count 1 ..."
like "$plan" "$shard_b" "... on B's shard"
unlike "$plan" "$shard_a" "... not on A's"

# stamping: a row without organization_id gets the tenant, and lands on the tenant's shard
out=$(q c ti_app <<<"SET tenant.org_id = '$A'; INSERT INTO courses (title) VALUES ('stamped') RETURNING organization_id;")
is "$out" "$A" "INSERT without organization_id is stamped with the tenant"
is "$(q c postgres <<<"SELECT pg_catalog.shard_name('courses', get_shard_id_for_distribution_column('courses', organization_id)) FROM courses WHERE title = 'stamped';")" \
	"$shard_a" "... and stored on the tenant's shard"
out=$(q c ti_app <<<"SET tenant.org_id = '$A'; INSERT INTO courses (organization_id, title) VALUES ('$B', 'spoofed');")
is "$out" "ERROR:  TI003" "INSERT with another organization's id is refused on the shard (TI003)"
out=$(q c ti_app <<<"SET tenant.org_id = '$A'; UPDATE courses SET organization_id = '$B' WHERE id = '$CA';")
like "$out" "ERROR:  " "UPDATE of organization_id to another organization is refused"
is "$(q c postgres <<<"SELECT organization_id FROM courses WHERE id = '$CA';")" "$A" "... and the row stays the tenant's"

out=$(q c ti_app <<SQL
SET tenant.org_id = '$A';
COPY courses (title) FROM STDIN;
copied
\\.
INSERT INTO courses (title) VALUES ('batch 1'), ('batch 2') RETURNING organization_id;
SQL
)
is "$out" "ERROR:  0A000
$A
$A" "COPY FROM into a distributed tenant table is refused (0A000); a multi-row INSERT is stamped"

# fail closed: no tenant, on the coordinator and directly on the worker
is "$(q c ti_app <<<"SELECT count(*) FROM courses WHERE id = '$CA';")" "ERROR:  TI001" \
	"without a tenant the coordinator refuses the query (TI001)"
is "$(q c ti_app <<<"INSERT INTO courses (title) VALUES ('no tenant');")" "ERROR:  TI001" \
	"... and an INSERT without organization_id (TI001)"
is "$(q "$node_a" ti_app <<<"SELECT count(*) FROM $shard_a;")" "ERROR:  TI001" \
	"a statement on a shard without the tenant fails on the worker (TI001)"
is "$(q "$node_a" ti_app <<<"SET tenant.org_id = '$B'; SELECT count(*) FROM $shard_a WHERE organization_id <> '$B';")" "0" \
	"on the worker, under another tenant, the shard shows none of A's rows"
is "$(q "$node_a" ti_app <<<"SET tenant.org_id = '$A'; INSERT INTO $shard_a (organization_id, title) VALUES ('$B', 'direct');")" \
	"ERROR:  TI003" "writing another organization's row into a shard directly on the worker is refused (TI003)"

done_testing
