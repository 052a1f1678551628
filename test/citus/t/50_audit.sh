#!/usr/bin/env bash
# test/citus/t/50_audit.sh: audit() and verify() over shard placements. A superuser changes a
# shard by hand on a worker (with tenant_iso.unsafe_ddl: without it the worker refuses, see t/40):
# verify() on the coordinator names the shard, its node and the check, and passes again once the
# shard is repaired. The same for the stamping trigger and for a placement of the registry, and
# for a row of an organization that is not registered, written by hand into a shard on a worker
# (the shards' stamping triggers leave the registry to the coordinator): orphan_rows.
source "$(dirname "$0")/../lib.sh"
distributed_fixture t50

read -r shard node <<<"$(shard_of courses $A)"
id=${shard##*_}
port=$(tic_port "$node")

is "$(q c ti_app <<<"SELECT relation::text || ': ' || detail FROM tenant_iso.audit() WHERE check_name = 'shard_placements' ORDER BY 1;")" \
	"courses: Every one of its 34 shard placements and worker shells passes every check on its node.
enrollments: Every one of its 34 shard placements and worker shells passes every check on its node.
lessons: Every one of its 34 shard placements and worker shells passes every check on its node.
tenant_iso.organizations: Every one of its 5 shard placements and worker shells passes every check on its node." \
	"audit() (as the application role) checks every placement and worker shell of every distributed table and of the registry"
is "$(q c ti_app <<<"SELECT tenant_iso.verify();")" "" "verify() passes"

out=$(qv "$node" postgres <<<"SET tenant_iso.unsafe_ddl = on; DROP POLICY tenant_isolation ON $shard;")
like "$out" "WARNING:  01000: tenant_iso.unsafe_ddl is on: table public.$shard no longer passes check \"tenant_isolation_policy\"" \
	"a superuser with unsafe_ddl drops a shard's restrictive policy on worker $node (with a warning)"
out=$(qv c ti_app <<<"SELECT tenant_iso.verify();")
like "$out" "ERROR:  TI004: tenant isolation audit found 1 violation" "verify() on the coordinator catches it ..."
like "$out" "public.courses: tenant_isolation_policy: shard placement $shard on 127.0.0.1:$port: Policy \"tenant_isolation\" is missing." \
	"... naming the table, the check, the shard and its node"
is "$(q c postgres <<<"SELECT status FROM tenant_iso.audit() WHERE relation = 'courses'::regclass AND check_name = 'shard_placements' OR check_name = 'tenant_isolation_policy' AND status = 'violation';")" \
	"violation" "audit() reports the placement as a violation and no shard_placements ok row for the table"

q "$node" postgres <<<"CREATE POLICY tenant_isolation ON $shard USING (organization_id = tenant_iso.current_org_id()) WITH CHECK (organization_id = tenant_iso.current_org_id());" >/dev/null
is "$(q c ti_app <<<"SELECT tenant_iso.verify();")" "" "re-created (Citus's way, without AS RESTRICTIVE: it comes out restrictive), verify() passes again"

q "$node" postgres <<<"SET tenant_iso.unsafe_ddl = on; ALTER TABLE $shard DISABLE TRIGGER tenant_iso_stamp_$id;" >/dev/null
out=$(qv c ti_app <<<"SELECT tenant_iso.verify();")
like "$out" "public.courses: stamping_trigger: shard placement $shard on 127.0.0.1:$port: The stamping trigger \"tenant_iso_stamp\" is missing or disabled." \
	"a shard's stamping trigger disabled by hand: verify() names it"
q "$node" postgres <<<"ALTER TABLE $shard ENABLE TRIGGER tenant_iso_stamp_$id;" >/dev/null
is "$(q c ti_app <<<"SELECT tenant_iso.verify();")" "" "enabled again, verify() passes"

reg=$(q c postgres <<<"SELECT shard_name('tenant_iso.organizations', shardid) FROM pg_dist_shard WHERE logicalrelid = 'tenant_iso.organizations'::regclass;")
q w2 postgres <<<"DROP POLICY tenant_isolation ON $reg;" >/dev/null
out=$(qv c ti_app <<<"SELECT tenant_iso.verify();")
like "$out" "tenant_iso.organizations: tenant_isolation_policy: shard placement $reg on 127.0.0.1:$(tic_port w2):" \
	"the registry's placement on a worker without its policy: verify() names it"
q w2 postgres <<<"CREATE POLICY tenant_isolation ON $reg USING (id = tenant_iso.current_org_id()) WITH CHECK (id = tenant_iso.current_org_id());" >/dev/null
is "$(q c ti_app <<<"SELECT tenant_iso.verify();")" "" "re-created, verify() passes"

D=0d000000-0000-4000-8000-00000000000d
q "$node" postgres <<<"INSERT INTO $shard (organization_id, title) VALUES ('$D', 'left behind');" >/dev/null
out=$(qv c ti_app <<<"SELECT tenant_iso.verify();")
like "$out" "public.courses: orphan_rows: Rows belong to organizations that are not registered (1 id: $D)." \
	"a row of an unregistered organization put into a shard by hand on a worker: verify() on the coordinator names it (orphan_rows over every shard)"
q "$node" postgres <<<"DELETE FROM $shard WHERE organization_id = '$D';" >/dev/null
is "$(q c ti_app <<<"SELECT tenant_iso.verify();")" "" "deleted, verify() passes"

done_testing
