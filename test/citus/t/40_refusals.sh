#!/usr/bin/env bash
# test/citus/t/40_refusals.sh: what is refused. Distribution by another column or in another layout
# (Citus's conversion functions called directly, also with citus.enable_unsafe_triggers, and the
# routes the planner cannot see, refused at commit); a reference to another tenant's row; DDL that
# undoes the set-up, on the coordinator and directly on a worker's shard, also with Citus's
# internal markers forged; the registry guard (its trigger on the coordinator and on a worker's
# placement, direct DELETE, TRUNCATE and id changes of the registry); a worker transaction that
# would leave a new shard open.
source "$(dirname "$0")/../lib.sh"
fixture t40

layout() { q c postgres <<<"SELECT string_agg(logicalrelid::text || ':' || partmethod::text || ':' || coalesce(column_to_column_name(logicalrelid, partkey), '-') || ':' || colocationid, ',' ORDER BY logicalrelid::text) FROM pg_dist_partition;"; }

out=$(qv c ti_owner <<<"SELECT create_distributed_table('courses', 'title');")
like "$out" "ERROR:  42P16: create_distributed_table() cannot be used on tenant table public.courses" \
	"create_distributed_table() by another column is refused ..."
like "$out" "HINT:  Use SELECT tenant_iso.distribute('<tenant table>')" "... with the one call to use"
is "$(q c ti_owner <<<"SELECT create_distributed_table('courses', 'organization_id');")" "ERROR:  42P16" \
	"... and so is a direct create_distributed_table() by organization_id: distribute() does it with the registry and the co-location"
is "$(q c postgres <<<"SET citus.enable_unsafe_triggers = on; SELECT create_distributed_table('courses', 'title');")" "ERROR:  42P16" \
	"... also for a superuser with citus.enable_unsafe_triggers on"
is "$(q c postgres <<<"SELECT create_reference_table('tenant_iso.organizations');")" "ERROR:  42P16" \
	"create_reference_table() of the registry, called directly, is refused"
is "$(q c postgres <<<"SELECT create_reference_table('courses');")" "ERROR:  42P16" "create_reference_table() of a tenant table is refused"
is "$(q c postgres <<<"SELECT citus_add_local_table_to_metadata('courses');")" "ERROR:  42P16" "citus_add_local_table_to_metadata() of a tenant table is refused"
is "$(layout)" "" "nothing was distributed by the refused calls"

q c ti_owner <<<"SELECT count(*) FROM tenant_iso.distribute('courses');" >/dev/null
before=$(layout)
like "$before" "courses:h:organization_id:" "distribute() then distributed the tables"
is "$(q c ti_owner <<<"SELECT alter_distributed_table('courses', distribution_column := 'id');")" "ERROR:  42P16" \
	"alter_distributed_table() to another distribution column is refused"
is "$(q c ti_owner <<<"SELECT undistribute_table('lessons');")" "ERROR:  42P16" "undistribute_table() of a tenant table is refused"
is "$(q c ti_owner <<<"SELECT update_distributed_table_colocation('lessons', colocate_with => 'none');")" "ERROR:  42P16" \
	"update_distributed_table_colocation() of a tenant table is refused"
out=$(qv c ti_owner <<<"SELECT update_distributed_table_colocation(t, colocate_with => 'none') FROM (VALUES ('lessons'::regclass)) v(t);")
like "$out" "ERROR:  42P16: tenant table public.lessons cannot be distributed this way" \
	"the same through a FROM clause (out of the planner's sight) is refused when the transaction commits"
out=$(q c ti_owner <<<"SELECT alter_distributed_table(t, distribution_column := 'id') FROM (VALUES ('courses'::regclass)) v(t);")
like "$out" "ERROR:  " "alter_distributed_table() through a FROM clause fails too"
is "$(layout)" "$before" "the layout is unchanged after every refused attempt"

# another tenant's row: its id in a key, its organization in a row
out=$(q c ti_app <<<"SET tenant.org_id = '$A'; INSERT INTO lessons (course_id, title) VALUES ('$CB', 'into B''s course');")
is "$out" "ERROR:  23503" "a lesson of A cannot reference B's course (the key pairs organization_id)"
out=$(q c ti_app <<<"SET tenant.org_id = '$A'; INSERT INTO lessons (organization_id, course_id, title) VALUES ('$B', '$CB', 'as B');")
is "$out" "ERROR:  TI003" "a row with B's organization_id is refused for A"

# DDL that undoes the set-up, on the coordinator (the table owner)
for ddl in "DROP POLICY tenant_isolation ON courses" \
	"ALTER POLICY tenant_isolation ON courses USING (true)" \
	"ALTER TABLE courses NO FORCE ROW LEVEL SECURITY" \
	"ALTER TABLE courses DISABLE ROW LEVEL SECURITY" \
	"ALTER TABLE courses DISABLE TRIGGER tenant_iso_stamp"; do
	is "$(q c ti_owner <<<"SET citus.enable_unsafe_triggers = on; $ddl;")" "ERROR:  42P16" "coordinator, as the owner: $ddl -> refused"
done
is "$(q c ti_owner <<<"SET citus.enable_unsafe_triggers = on; DROP TRIGGER tenant_iso_stamp ON courses;")" "ERROR:  42P16" \
	"coordinator, as the owner: DROP TRIGGER tenant_iso_stamp (with citus.enable_unsafe_triggers on) -> refused"
out=$(qv c ti_owner <<<"CREATE POLICY only_short ON courses AS RESTRICTIVE USING (length(title) < 100);")
like "$out" "ERROR:  0A000: restrictive policy \"only_short\" cannot be kept on the shards of public.courses" \
	"a restrictive policy of the owner's own on a distributed table is refused (Citus would make it permissive on the shards)"
is "$(q c ti_owner <<<"CREATE POLICY read_all ON courses FOR SELECT USING (true); DROP POLICY read_all ON courses;")" "" \
	"a permissive policy of the owner's own is accepted"
is "$(q c ti_owner <<<"ALTER TABLE courses RENAME TO courses2; ALTER TABLE courses2 RENAME TO courses;")" "" \
	"harmless DDL on a distributed tenant table goes through (a rename back and forth)"

# the registry guard: the tables' owner cannot remove its trigger (on the coordinator or a worker's
# placement); direct DELETE and TRUNCATE of the registry are refused, also for a superuser, and
# ids do not change (the trigger on each placement)
for ddl in "DROP TRIGGER tenant_iso_registry_guard ON tenant_iso.organizations" \
	"ALTER TABLE tenant_iso.organizations DISABLE TRIGGER tenant_iso_registry_guard"; do
	is "$(q c ti_owner <<<"SET citus.enable_unsafe_triggers = on; $ddl;")" "ERROR:  42501" "coordinator, as the owner: $ddl -> refused"
done
rid=$(q c postgres <<<"SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'tenant_iso.organizations'::regclass;")
for node in w1 w2; do
	is "$(q "$node" ti_owner <<<"DROP TRIGGER tenant_iso_registry_guard_$rid ON tenant_iso.organizations_$rid;")" "ERROR:  42501" \
		"on worker $node, as the owner: DROP TRIGGER tenant_iso_registry_guard_$rid on the registry's placement -> refused"
done
out=$(qv c postgres <<<"DELETE FROM tenant_iso.organizations WHERE id = '$B';")
like "$out" "ERROR:  42501: cannot delete rows of tenant_iso.organizations directly" \
	"a superuser's direct DELETE from the registry (a reference table: Citus's plan) is refused"
is "$(q c postgres <<<"TRUNCATE tenant_iso.organizations;")" "ERROR:  42501" "... and so is TRUNCATE"
out=$(qv c postgres <<<"UPDATE tenant_iso.organizations SET id = '0d000000-0000-4000-8000-00000000000d' WHERE id = '$B';")
like "$out" "ERROR:  0A000: the id of an organization cannot change" "... and a change of an organization's id (refused on the placements)"
is "$(q c postgres <<<"SELECT string_agg(result, ',') FROM run_command_on_placements('tenant_iso.organizations', \$\$SELECT count(*) FROM %s WHERE id IN ('$A', '$B')\$\$);")" \
	"2,2,2" "... every placement of the registry still lists A and B"

# directly on a worker, on A's shard of courses
read -r shard node <<<"$(shard_of courses $A)"
id=${shard##*_}
for ddl in "DROP POLICY tenant_isolation ON $shard" \
	"ALTER POLICY tenant_isolation ON $shard USING (true)" \
	"ALTER TABLE $shard NO FORCE ROW LEVEL SECURITY" \
	"ALTER TABLE $shard DISABLE ROW LEVEL SECURITY" \
	"DROP TRIGGER tenant_iso_stamp_$id ON $shard" \
	"ALTER TABLE $shard DISABLE TRIGGER tenant_iso_stamp_$id"; do
	is "$(q "$node" ti_owner <<<"$ddl;")" "ERROR:  42P16" "on worker $node, as the owner: $ddl -> refused"
done
out=$(q "$node" ti_owner <<SQL
SET application_name = 'citus_internal gpid=10000000001';
SET citus.enable_ddl_propagation = off;
SET citus.enable_manual_changes_to_shards = on;
DROP POLICY tenant_isolation ON $shard;
SELECT worker_apply_shard_ddl_command($id, 'public', 'DROP POLICY tenant_isolation ON public.courses');
SQL
)
is "$out" "ERROR:  42P16
ERROR:  42P16" "on the worker, with Citus's internal markers forged (application_name, ddl propagation off, manual changes to shards, worker_apply_shard_ddl_command): still refused"
like "$(q "$node" ti_owner <<<"ALTER TABLE courses DISABLE ROW LEVEL SECURITY;")" "ERROR:  " \
	"on the worker, DDL on the shell of a distributed table is refused"

# a plain table in a shard's place: dropped and created again, or renamed into its name
out=$(q "$node" ti_owner <<SQL
SET citus.enable_manual_changes_to_shards = on;
BEGIN;
DROP TABLE $shard CASCADE;
CREATE TABLE $shard (id uuid NOT NULL, organization_id uuid NOT NULL, title text NOT NULL);
COMMIT;
ALTER TABLE $shard RENAME TO ${shard}_old;
SQL
)
is "$out" "ERROR:  42P16
ERROR:  42P16" "on the worker, a plain table put in a shard's place is refused at commit, and so is renaming the shard away"
is "$(q c ti_app <<<"SET tenant.org_id = '$A'; SELECT count(*) FROM courses;")" "1" "... and A's rows are still where its queries go"

# a worker transaction that would leave a new table with tenant_iso's objects open does not commit,
# even for a superuser; a CREATE POLICY tenant_isolation comes out restrictive whoever writes it
out=$(q "$node" postgres <<SQL
BEGIN;
CREATE TABLE courses_990001 (id uuid NOT NULL, organization_id uuid NOT NULL, title text);
CREATE POLICY tenant_isolation ON courses_990001 USING (organization_id = tenant_iso.current_org_id())
    WITH CHECK (organization_id = tenant_iso.current_org_id());
SELECT polpermissive FROM pg_policy WHERE polrelid = 'courses_990001'::regclass;
COMMIT;
SELECT count(*) FROM pg_class WHERE relname = 'courses_990001';
SQL
)
is "$out" "f
ERROR:  42P16
0" "on a worker: a permissive CREATE POLICY tenant_isolation is made restrictive, and a new table without row level security is refused at commit (also for a superuser)"

is "$(q c postgres <<<"SELECT count(*) FROM tenant_iso.audit() WHERE status = 'violation';")" "0" \
	"after every refused attempt audit() finds no violation on any placement"

done_testing
