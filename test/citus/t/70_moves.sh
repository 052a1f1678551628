#!/usr/bin/env bash
# test/citus/t/70_moves.sh: Citus's own DDL in operations. A shard move (block_writes: Citus copies
# the shard as the table's owner, in several transactions) and a new node (citus_add_node: Citus
# creates the shells, the registry's placement and the extension there) leave every placement set
# up and verified, and the tenant's rows where its queries find them.
source "$(dirname "$0")/../lib.sh"
distributed_fixture t70

read -r shard node <<<"$(shard_of courses $A)"
if [ "$node" = w1 ]; then target=w2; else target=w1; fi
shardid=${shard##*_}

out=$(q c postgres <<<"SELECT citus_move_shard_placement($shardid, '127.0.0.1', $(tic_port "$node"), '127.0.0.1', $(tic_port $target), shard_transfer_mode := 'block_writes');")
is "$out" "" "A's shard of courses moves from $node to $target (block_writes)"
read -r _ now <<<"$(shard_of courses $A)"
is "$now" "$target" "... and is there now"
is "$(q c ti_app <<<"SET tenant.org_id = '$A'; SELECT count(*), min(title) FROM courses; SELECT count(*) FROM courses c JOIN lessons l ON l.course_id = c.id;")" \
	"1|A course
1" "A reads its course, and joins it with its lesson, on the new node"
is "$(q c ti_app <<<"SET tenant.org_id = '$A'; INSERT INTO courses (title) VALUES ('after the move') RETURNING organization_id;")" "$A" \
	"A's inserts are stamped on the moved shard"
is "$(q c ti_app <<<"SET tenant.org_id = '$B'; SELECT count(*) FROM courses WHERE title = 'after the move';")" "0" "B does not see them"
is "$(q c postgres <<<"SELECT count(*) FROM tenant_iso.audit() WHERE status = 'violation'; SELECT detail FROM tenant_iso.audit() WHERE relation = 'courses'::regclass AND check_name = 'shard_placements';")" \
	"0
Every one of its 34 shard placements and worker shells passes every check on its node." "audit(): the moved placement passes every check"

# a new node: a fourth server, added to the cluster
new=$TIC_TMP/worker3
port=$((TI_CITUS_PORT + 3))
rm -rf "$new"
tic_as_server "$TIC_BIN/initdb" -D "$new" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$TIC_TMP/worker3.initdb.log" 2>&1
sed -n '/^listen_addresses/,$p' "$TIC_TMP/worker1/postgresql.conf" | sed "s/^port = .*/port = $port/" >>"$new/postgresql.conf"
tic_as_server "$TIC_BIN/pg_ctl" -D "$new" -l "$TIC_TMP/worker3.log" -w -t 60 start >/dev/null
stop_new() { tic_as_server "$TIC_BIN/pg_ctl" -D "$new" -m fast -w -t 30 stop >/dev/null 2>&1; rm -rf "$new"; }
trap stop_new EXIT
"$TIC_BIN/psql" -X -q -h "$TIC_TMP/sock" -p $port -U postgres -d postgres -c "CREATE DATABASE t70" >/dev/null
"$TIC_BIN/psql" -X -q -h "$TIC_TMP/sock" -p $port -U postgres -d t70 -c "CREATE EXTENSION citus" >/dev/null
out=$(q c postgres <<<"SELECT citus_add_node('127.0.0.1', $port) > 0; SELECT replicate_reference_tables('block_writes');")
is "$out" "t" "a third worker joins the cluster (citus_add_node) and gets the reference tables (replicate_reference_tables, block_writes)"
w3() { "$TIC_BIN/psql" -X -q -At -h "$TIC_TMP/sock" -p $port -U "$1" -d t70 -f - 2>&1 | sed -E 's/^psql:[^ ]*: //'; }
is "$(w3 postgres <<<"SELECT extversion FROM pg_extension WHERE extname = 'tenant_iso';")" "0.2.0" "Citus installed tenant_iso on it"
is "$(w3 postgres <<<"SELECT string_agg(polname || ':' || polpermissive, ',' ORDER BY polname) FROM pg_policy WHERE polrelid = 'public.courses'::regclass;")" \
	"tenant_access:true,tenant_isolation:false" "the shell Citus created there has the restrictive policy"
is "$(q c postgres <<<"SELECT detail FROM tenant_iso.audit() WHERE relation = 'tenant_iso.organizations'::regclass AND check_name = 'shard_placements'; SELECT count(*) FROM tenant_iso.audit() WHERE status = 'violation';")" \
	"Every one of its 7 shard placements and worker shells passes every check on its node.
0" "audit(): the registry's new placement and every shell on the new node pass"
out=$(q c postgres <<<"SELECT citus_remove_node('127.0.0.1', $port);")
is "$out" "" "the node leaves the cluster again"

done_testing
