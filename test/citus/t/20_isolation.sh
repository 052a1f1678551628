#!/usr/bin/env bash
# test/citus/t/20_isolation.sh: isolation by read, write, id lookup and join on distributed tables
# for two tenants, on every route of setting the tenant: SET, SET LOCAL, set_config() for the
# session and for the transaction, authenticate() under require_signed_context (the workers get
# node tokens), and SET LOCAL under context_scope = 'transaction'. As the application role,
# through the coordinator; the other tenant's rows are on other shards and nodes.
source "$(dirname "$0")/../lib.sh"
distributed_fixture t20

# session SQL for route $1, tenant $2: what opens the context, and what closes it
open_context() {
	case $1 in
		set) echo "SET tenant.org_id = '$2';" ;;
		set_local) echo "BEGIN; SET LOCAL tenant.org_id = '$2';" ;;
		set_config_session) echo "SELECT 'ctx', set_config('tenant.org_id', '$2', false);" ;;
		set_config_local) echo "BEGIN; SELECT 'ctx', set_config('tenant.org_id', '$2', true);" ;;
		authenticate) echo "SELECT 'ctx', tenant_iso.authenticate('$(token "$2")');" ;;
		scope_transaction) echo "BEGIN; SET LOCAL tenant.org_id = '$2';" ;;
	esac
}
close_context() {
	case $1 in
		set_local | set_config_local | scope_transaction) echo "COMMIT;" ;;
	esac
}

# checks for tenant $1 (course $2), the other tenant $3 (course $4), route $5
checks() {
	cat <<-SQL
		SELECT 'read', string_agg(DISTINCT organization_id::text, ','), count(*) FROM courses;
		SELECT 'id own', count(*) FROM courses WHERE id = '$2';
		SELECT 'id other', count(*) FROM courses WHERE id = '$4';
		SELECT 'join', string_agg(DISTINCT c.organization_id::text || '/' || l.organization_id::text, ','), count(*)
		FROM courses c JOIN lessons l ON l.organization_id = c.organization_id AND l.course_id = c.id;
		SELECT 'join by id', count(*) FROM courses c JOIN lessons l ON l.course_id = c.id;
		SELECT 'lookup other', count(*) FROM lessons WHERE course_id = '$4';
		WITH u AS (UPDATE courses SET title = title || ' (changed by $1)' WHERE id = '$4' RETURNING 1) SELECT 'update other', count(*) FROM u;
		WITH u AS (UPDATE courses SET title = title WHERE id = '$2' RETURNING 1) SELECT 'update own', count(*) FROM u;
		WITH d AS (DELETE FROM lessons WHERE course_id = '$4' RETURNING 1) SELECT 'delete other', count(*) FROM d;
		INSERT INTO enrollments (course_id, student) VALUES ('$2', 'route $5') RETURNING 'insert', organization_id;
		SELECT 'registry', string_agg(id::text, ',') FROM tenant_iso.organizations;
		SAVEPOINT spoof;
		INSERT INTO enrollments (organization_id, course_id, student) VALUES ('$3', '$4', 'spoof');
		ROLLBACK TO SAVEPOINT spoof;
	SQL
}

expected() {
	cat <<-OUT
		read|$1|1
		id own|1
		id other|0
		join|$1/$1|1
		join by id|1
		lookup other|0
		update other|0
		update own|1
		delete other|0
		insert|$1
		registry|$1
		ERROR:  TI003
	OUT
}

route_setup() {
	case $1 in
		authenticate) q c postgres <<<"ALTER ROLE ti_app IN DATABASE t20 SET tenant_iso.require_signed_context = on;" >/dev/null ;;
		scope_transaction) q c postgres <<<"ALTER DATABASE t20 SET tenant_iso.context_scope = 'transaction';" >/dev/null ;;
	esac
}
route_teardown() {
	case $1 in
		authenticate) q c postgres <<<"ALTER ROLE ti_app IN DATABASE t20 RESET tenant_iso.require_signed_context;" >/dev/null ;;
		scope_transaction) q c postgres <<<"ALTER DATABASE t20 RESET tenant_iso.context_scope;" >/dev/null ;;
	esac
}

for route in set set_local set_config_session set_config_local authenticate scope_transaction; do
	route_setup $route
	for t in A B; do
		if [ $t = A ]; then me=$A; mine=$CA; other=$B; theirs=$CB; else me=$B; mine=$CB; other=$A; theirs=$CA; fi
		# SAVEPOINT needs a transaction: the autocommit routes get one around the checks
		case $route in set | set_config_session | authenticate) wrap_open="BEGIN;" wrap_close="COMMIT;" ;; *) wrap_open="" wrap_close="" ;; esac
		out=$( { open_context $route $me; echo "$wrap_open"; checks $me $mine $other $theirs $route; echo "$wrap_close"; close_context $route; } \
			| q c ti_app | grep -v -E '^ctx\|')
		is "$out" "$(expected $me)" "route $route, tenant $t: reads, id lookups, joins, writes and the registry are the tenant's own; another organization's row is refused (TI003)"
	done
	route_teardown $route
done

# what each route left behind: one stamped row per route and tenant, nothing changed at the other tenant
is "$(q c postgres <<'SQL'
SELECT string_agg(student || '=' || CASE organization_id WHEN '0a000000-0000-4000-8000-00000000000a' THEN 'A' ELSE 'B' END, ',' ORDER BY student, organization_id)
FROM enrollments WHERE student LIKE 'route %' OR student = 'spoof';
SELECT count(*) FROM courses WHERE title LIKE '%changed by%';
SELECT count(*) FROM lessons;
SQL
)" "route authenticate=A,route authenticate=B,route scope_transaction=A,route scope_transaction=B,route set=A,route set=B,route set_config_local=A,route set_config_local=B,route set_config_session=A,route set_config_session=B,route set_local=A,route set_local=B
0
2" "as the superuser: each route stamped its rows with its tenant, no spoofed row exists, no tenant changed or deleted another's rows"

# signed context: a plain SET is refused on the coordinator, and nothing reaches the workers unsigned
route_setup authenticate
out=$(q c ti_app <<<"SET tenant.org_id = '$A'; SELECT count(*) FROM courses;")
is "$out" "ERROR:  42501
ERROR:  TI001" "under require_signed_context a plain SET is refused and the query fails with TI001"
out=$(q w1 ti_app <<<"SELECT tenant_iso._node_context('n1.$A.9999999999.$(printf '0%.0s' $(seq 1 64))');")
is "$out" "ERROR:  28000" "a node token that does not verify is refused on a worker"
out=$(q w1 ti_app <<<"SELECT tenant_iso.authenticate('n1.$A.9999999999.$(printf '0%.0s' $(seq 1 64))');")
is "$out" "ERROR:  22P02" "authenticate() does not accept node tokens"
out=$(q w2 ti_app <<<"SHOW tenant_iso.require_signed_context; SET tenant.org_id = '$A';")
is "$out" "on
ERROR:  42501" "the workers require signed context for the role too (Citus propagated it): the routed statements above reached them with node tokens"
route_teardown authenticate

# context_scope = 'transaction': a session-level SET is refused, a tenant does not outlive its transaction
route_setup scope_transaction
out=$(q c ti_app <<<"SET tenant.org_id = '$A'; BEGIN; SET LOCAL tenant.org_id = '$A'; COMMIT; SELECT count(*) FROM courses;")
is "$out" "ERROR:  42501
ERROR:  TI001" "under context_scope = 'transaction' a session SET is refused, and after the transaction there is no tenant (TI001)"
is "$(q w1 ti_app <<<"SHOW tenant_iso.context_scope;")" "transaction" "the workers have context_scope = 'transaction' too"

route_teardown scope_transaction

# a switch of tenant inside a transaction reaches the workers that are already in it
out=$(q c ti_app <<SQL
BEGIN;
SELECT set_config('tenant.org_id', '$A', true) IS NOT NULL;
SELECT string_agg(DISTINCT organization_id::text, ','), count(*) FROM courses;
SELECT set_config('tenant.org_id', '$B', true) IS NOT NULL;
SELECT string_agg(DISTINCT organization_id::text, ','), count(*) FROM courses;
SELECT count(*) FROM courses WHERE organization_id = '$A';
SET LOCAL tenant.org_id = '$A';
SELECT string_agg(DISTINCT organization_id::text, ','), count(*) FROM courses;
COMMIT;
SQL
)
is "$out" "t
$A|1
t
$B|1
0
$A|1" "switching tenant with set_config(..., true) and SET LOCAL inside a transaction: each query sees the tenant in effect, never the previous one"

out=$(q c ti_app <<<"SELECT count(*) FROM courses;")
is "$out" "ERROR:  TI001" "without a tenant a query on a distributed tenant table fails with TI001 on the coordinator"

done_testing
