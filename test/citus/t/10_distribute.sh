#!/usr/bin/env bash
# test/citus/t/10_distribute.sh: the supported set-up and the one call. CREATE EXTENSION on the
# coordinator reaches the workers; tenant_iso.distribute() makes the registry a reference table and
# distributes every tenant table by organization_id, co-located, without any unsafe setting;
# every shard placement, worker shell and registry placement is set up like a single-node tenant
# table (restrictive policy, row level security, stamping trigger; no key to the registry, whose
# placements carry the registry guard trigger); new tenant tables are distributed by the schema
# check, also for a role without any privilege on the registry; what Citus cannot distribute is
# refused with the fix.
source "$(dirname "$0")/../lib.sh"
fixture t10

for node in w1 w2; do
	is "$(q "$node" postgres <<<"SELECT extversion FROM pg_extension WHERE extname = 'tenant_iso'")" "0.2.0" \
		"CREATE EXTENSION tenant_iso on the coordinator installed it on $node"
done

log_before() { for n in worker1 worker2; do wc -c <"$TIC_TMP/$n.log"; done | paste -sd ' '; }
logs_at_start=$(log_before)

out=$(q c ti_owner <<<"SHOW citus.enable_unsafe_triggers; SELECT string_agg(t::text, ',' ORDER BY t::text) FROM tenant_iso.distribute('courses') t;")
is "$out" "off
courses,enrollments,lessons" "distribute('courses') as the owner, with citus.enable_unsafe_triggers off, distributes every tenant table"

is "$(q c postgres <<'SQL'
SELECT logicalrelid::text || ':' || partmethod::text || ':' || coalesce(column_to_column_name(logicalrelid, partkey), '-')
       || ':' || repmodel::text
FROM pg_dist_partition ORDER BY 1;
SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE partmethod = 'h';
SQL
)" "courses:h:organization_id:s
enrollments:h:organization_id:s
lessons:h:organization_id:s
tenant_iso.organizations:n:-:t
1" "the registry is a reference table; the tenant tables are hash-distributed by organization_id in one co-location group"

# every placement: restrictive tenant_isolation, tenant_access, RLS enabled+forced, stamping trigger, no registry key
placement_facts="WITH r AS (SELECT '%s'::regclass AS r)
SELECT (SELECT string_agg(polname || CASE WHEN polpermissive THEN '=permissive' ELSE '=restrictive' END, ',' ORDER BY polname) FROM pg_policy, r WHERE polrelid = r.r)
  || ';rls=' || (SELECT relrowsecurity AND relforcerowsecurity FROM pg_class, r WHERE oid = r.r)
  || ';trigger=' || (SELECT count(*) FROM pg_trigger, r WHERE tgrelid = r.r AND starts_with(tgname, 'tenant_iso_stamp') AND tgenabled = 'O')
  || ';registry_keys=' || (SELECT count(*) FROM pg_constraint, r WHERE conrelid = r.r AND contype = 'f' AND starts_with(confrelid::regclass::text, 'tenant_iso.organizations'))
FROM r"
for t in courses lessons enrollments; do
	is "$(q c postgres <<<"SELECT result, count(*) FROM run_command_on_placements('$t', \$\$$placement_facts\$\$) GROUP BY 1;")" \
		"tenant_access=permissive,tenant_isolation=restrictive;rls=true;trigger=1;registry_keys=0|32" \
		"all 32 placements of $t: restrictive tenant_isolation, row level security forced, stamping trigger, no key to the registry"
	is "$(q c postgres <<<"SELECT result, count(*) FROM run_command_on_workers(\$\$SELECT string_agg(polname || ':' || polpermissive, ',' ORDER BY polname) FROM pg_policy WHERE polrelid = 'public.$t'::regclass\$\$) GROUP BY 1;")" \
		"tenant_access:true,tenant_isolation:false|2" "the worker shells of $t have the restrictive policy too"
done
is "$(q c postgres <<<"SELECT result, count(*) FROM run_command_on_placements('tenant_iso.organizations', \$\$SELECT string_agg(polname || ':' || polpermissive, ',' ORDER BY polname) FROM pg_policy WHERE polrelid = '%s'::regclass\$\$) GROUP BY 1;")" \
	"tenant_access:true,tenant_isolation:false|3" "the registry's placements (coordinator and workers) keep their restrictive policy"
is "$(q c postgres <<<"SELECT result, count(*) FROM run_command_on_placements('tenant_iso.organizations', \$\$SELECT string_agg(tgname || ':' || tgenabled::text, ',') FROM pg_trigger WHERE tgrelid = '%s'::regclass AND NOT tgisinternal\$\$) GROUP BY 1 ORDER BY 1;" | sed -E 's/_[0-9]+:/_N:/')" \
	"tenant_iso_registry_guard_N:O|3" "... and the registry guard trigger, enabled (it takes an organization's lock on each node drop_organization()'s DELETE reaches)"

is "$(q c ti_owner <<<"SELECT count(*) FROM tenant_iso.distribute('lessons');")" "0" "distribute() of a distributed table distributes nothing more"

is "$(q c postgres <<<"SELECT count(*) FILTER (WHERE status = 'violation'), count(*) FILTER (WHERE check_name = 'shard_placements' AND status = 'ok') FROM tenant_iso.audit();")" \
	"0|4" "audit(): no violation, and a shard_placements ok row for each distributed table and the registry"

out=$(q c ti_owner <<'SQL'
BEGIN;
CREATE TABLE modules (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    course_id       uuid NOT NULL,
    name            text NOT NULL,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id)
);
ALTER TABLE modules ADD COLUMN position int NOT NULL DEFAULT 1;
CREATE INDEX ON modules (organization_id, name);
COMMIT;
SELECT partmethod::text || ':' || column_to_column_name(logicalrelid, partkey) || ':'
       || (colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'courses'::regclass))
FROM pg_dist_partition WHERE logicalrelid = 'modules'::regclass;
SQL
)
like "$out" "h:organization_id:true" "a new tenant table (CREATE TABLE, ALTER, CREATE INDEX in one transaction) is distributed by the schema check, co-located"
is "$(q c postgres <<<"SELECT result, count(*) FROM run_command_on_placements('modules', \$\$$placement_facts\$\$) GROUP BY 1;")" \
	"tenant_access=permissive,tenant_isolation=restrictive;rls=true;trigger=1;registry_keys=0|32" \
	"... and each of its placements is set up"

out=$(qv c ti_owner <<<"CREATE TABLE quizzes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), organization_id uuid NOT NULL);")
like "$out" "ERROR:  42P16: cannot distribute table public.quizzes: unique key \"quizzes_pkey\" does not include organization_id" \
	"a new tenant table with a primary key on id alone is refused (Citus cannot enforce it) ..."
like "$out" "Include organization_id: PRIMARY KEY (organization_id, id) in CREATE TABLE" "... with the declaration that fixes it"
is "$(q c postgres <<<"SELECT count(*) FROM pg_class WHERE relname = 'quizzes';")" "0" "... and nothing is created"

out=$(qv c ti_app <<<"SELECT tenant_iso.distribute('courses');")
like "$out" "ERROR:  42501: must be owner of table public.courses" "distribute() by a role that does not own the table is refused"
q c postgres <<<"SELECT tenant_iso.exempt_table('public.countries', 'global list'); CREATE TABLE countries (code text PRIMARY KEY);" >/dev/null
out=$(qv c postgres <<<"SELECT tenant_iso.distribute('countries');")
like "$out" "ERROR:  42809: public.countries is not a tenant table" "distribute() of a global table is refused"
out=$(qv w1 ti_owner <<<"SELECT tenant_iso.distribute('courses');")
like "$out" "ERROR:  55000: tenant tables are distributed on the Citus coordinator" "distribute() on a worker is refused"
out=$(qv c ti_owner <<<"SELECT tenant_iso.distribute(NULL);")
like "$out" "ERROR:  22004: table must not be NULL" "distribute(NULL) is refused"

q c postgres <<<"CREATE ROLE ti_newcomer LOGIN; GRANT CREATE, USAGE ON SCHEMA public TO ti_newcomer;" >/dev/null
out=$(q c ti_newcomer <<'SQL'
SELECT has_column_privilege('tenant_iso.organizations', 'id', 'REFERENCES');
CREATE TABLE badges (id uuid NOT NULL, organization_id uuid NOT NULL, PRIMARY KEY (organization_id, id));
SELECT partmethod::text FROM pg_dist_partition WHERE logicalrelid = 'badges'::regclass;
SQL
)
is "$out" "f
h" "a role without any privilege on the registry (no key to it: none is needed) creates a tenant table, distributed at CREATE TABLE"
is "$(q c postgres <<<"SELECT result, count(*) FROM run_command_on_placements('badges', \$\$$placement_facts\$\$) GROUP BY 1;")" \
	"tenant_access=permissive,tenant_isolation=restrictive;rls=true;trigger=1;registry_keys=0|32" \
	"... and each of its placements is set up"
q c postgres <<<"DROP TABLE badges; REVOKE ALL ON SCHEMA public FROM ti_newcomer; DROP ROLE ti_newcomer;" >/dev/null

# enroll() of an existing table with rows of both tenants: set up, distributed, rows on the shards
out=$(q c postgres <<SQL
SET tenant_iso.unsafe_ddl = on;
CREATE TABLE legacy (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, note text NOT NULL,
                     PRIMARY KEY (organization_id, id));
INSERT INTO legacy (organization_id, note) VALUES ('$A', 'a1'), ('$A', 'a2'), ('$B', 'b1');
RESET tenant_iso.unsafe_ddl;
ALTER TABLE legacy OWNER TO ti_owner;
GRANT SELECT ON legacy TO ti_app;
SELECT tenant_iso.enroll('legacy') IS NOT NULL;
SELECT partmethod::text FROM pg_dist_partition WHERE logicalrelid = 'legacy'::regclass;
SELECT count(*) FROM ONLY legacy;
SQL
)
is "$(tail -2 <<<"$out")" "h
3" "enroll() of a table with rows distributes it and moves every row to the shards"
is "$(q c ti_app <<<"SET tenant.org_id = '$A'; SELECT string_agg(note, ',' ORDER BY note) FROM legacy;")" "a1,a2" "... where A finds its own rows only"
is "$(q c postgres <<<"SELECT result, count(*) FROM run_command_on_placements('legacy', \$\$$placement_facts\$\$) GROUP BY 1;")" \
	"tenant_access=permissive,tenant_isolation=restrictive;rls=true;trigger=1;registry_keys=0|32" \
	"... and its placements are set up"

# a partitioned tenant table and a new partition: Citus distributes the partition with its parent
out=$(q c ti_owner <<SQL
CREATE TABLE events (id uuid NOT NULL DEFAULT gen_random_uuid(), organization_id uuid NOT NULL, at date NOT NULL,
                     PRIMARY KEY (organization_id, id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
GRANT SELECT, INSERT ON events TO ti_app;
SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ',' ORDER BY logicalrelid::text)
FROM pg_dist_partition WHERE logicalrelid::text LIKE 'events%';
SQL
)
is "$out" "events:h,events_2026:h" "a partitioned tenant table and its new partition are distributed"
is "$(q c ti_app <<<"SET tenant.org_id = '$A'; INSERT INTO events (at) VALUES ('2026-05-05') RETURNING organization_id; SET tenant.org_id = '$B'; SELECT count(*) FROM events;")" \
	"$A
0" "A's row is stamped on the partition's shard; B does not see it"
is "$(q c postgres <<<"SELECT string_agg(relation::text || '=' || status, ',' ORDER BY relation::text) FROM tenant_iso.audit() WHERE relation::text LIKE 'events%' AND (check_name = 'shard_placements' OR status = 'violation');")" \
	"events=ok,events_2026=ok" "audit(): every placement of the table and of its partition passes (the partition's shards keep their parent shard's trigger)"

# the schema check and the guard stay silent on Citus's own DDL on the workers
warnings=$(for n in worker1 worker2; do
	start=$(echo "$logs_at_start" | cut -d' ' -f$([ $n = worker1 ] && echo 1 || echo 2))
	tail -c +$((start + 1)) "$TIC_TMP/$n.log"
done | grep -E 'WARNING|ERROR' | grep -v -E 'ti_newcomer|quizzes|countries|must be owner|distributed on the Citus coordinator|table must not be NULL' || true)
is "$warnings" "" "the workers logged no warning or error while every table was distributed, set up and moved into place"

done_testing
