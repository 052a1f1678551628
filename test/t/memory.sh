#!/usr/bin/env bash
# test/t/memory.sh: no memory growth over 100,000 tenant switches and statements in one backend (issue 7).
#
# Part 1: one psql session (ti_app) alternates SET tenant.org_id between A and B and runs a
#         statement on tenant tables after each switch: index lookups and joins (most), an
#         UPDATE, an INSERT + DELETE of an asset (stamping trigger,
#         foreign keys), a cursor in a transaction.
# Part 2: the same kind of loop in one DO block: set_config() + static and dynamic SQL, i.e.
#         100,000 switches inside one transaction (each switch between two finished statements).
# At 1/10 of the iterations and at the end the backend reports its memory: the sum of
# total_bytes of pg_backend_memory_contexts, and RssAnon from /proc/self/status (private
# memory: also shows malloc()ed memory outside memory contexts, e.g. GUC values and their
# check-hook "extra" data).  The growth between the two points must stay below
# TI_MEMORY_BOUND_KB (default 1024) kB.  TI_MEMORY_ITERATIONS (default 100000) sets the count;
# TI_MEMORY_RSS_BOUND_KB (default: the same bound) bounds the RssAnon growth alone
# (test/ubsan_valgrind.sh raises it: under valgrind the process's memory includes valgrind's own).
set -uo pipefail
bin=${TI_BIN:-$(pg_config --bindir)}
db=t_memory
iters=${TI_MEMORY_ITERATIONS:-100000}
first=$((iters / 10))
bound_kb=${TI_MEMORY_BOUND_KB:-1024}
rss_bound_kb=${TI_MEMORY_RSS_BOUND_KB:-$bound_kb}
A=0a000000-0000-4000-8000-00000000000a
B=0b000000-0000-4000-8000-00000000000b
work="${TI_TMP:-/tmp}/memory"
rm -rf "$work"; mkdir -p "$work"

PGOPTIONS="-c client_min_messages=warning" "$bin/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" \
	-c "CREATE DATABASE $db TEMPLATE ti_template" >/dev/null || { echo "Bail out! cannot create $db"; exit 1; }
trap '"$bin/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT

echo "1..6"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }

# The measurement: a SECURITY DEFINER function of the superuser, so that ti_app can call it
# (pg_backend_memory_contexts and pg_read_file are for superusers; /proc/self is the backend).
"$bin/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL' || { echo "Bail out! cannot create ti_mem_now()"; exit 1; }
CREATE FUNCTION public.ti_mem_now(OUT ctx bigint, OUT rss_kb bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
	SELECT (SELECT sum(total_bytes) FROM pg_backend_memory_contexts)::bigint,
	       ((regexp_match(pg_read_file('/proc/self/status'), 'RssAnon:\s+(\d+)'))[1])::bigint
$$;
GRANT EXECUTE ON FUNCTION public.ti_mem_now() TO ti_app;
SQL

report() {	# report PART FILE: print the two measurements, assert the growth
	local part=$1 i1 ctx1 rss1 pid1 i2 ctx2 rss2 pid2
	read -r _ i1 ctx1 rss1 pid1 < <(grep '^mem ' "$2" | sed -n 1p)
	read -r _ i2 ctx2 rss2 pid2 < <(grep '^mem ' "$2" | sed -n 2p)
	echo "# $part, backend ${pid1:-?}: after ${i1:-?} iterations: memory contexts ${ctx1:-?} bytes, RssAnon ${rss1:-?} kB;" \
		"after ${i2:-?}: ${ctx2:-?} bytes, ${rss2:-?} kB"
	if [ -n "${ctx2:-}" ] && [ "$pid1" = "$pid2" ] && [ $(( (ctx2 - ctx1) / 1024 )) -lt "$bound_kb" ]; then
		ok "$part: memory contexts grew by $((ctx2 - ctx1)) bytes from $i1 to $i2 iterations (bound $bound_kb kB)"
	else
		nok "$part: memory contexts grew by less than $bound_kb kB from $first to $iters iterations"
	fi
	if [ -n "${rss2:-}" ] && [ "$pid1" = "$pid2" ] && [ $((rss2 - rss1)) -lt "$rss_bound_kb" ]; then
		ok "$part: private memory (RssAnon) grew by $((rss2 - rss1)) kB from $i1 to $i2 iterations (bound $rss_bound_kb kB)"
	else
		nok "$part: private memory (RssAnon) grew by less than $rss_bound_kb kB from $first to $iters iterations"
	fi
}

# Part 1: statements from a client, a tenant switch before each
t0=$(date +%s)
awk -v iters="$iters" -v first="$first" -v A="$A" -v B="$B" 'BEGIN {
	q = sprintf("%c", 39);
	print "SET ROLE ti_app;";
	for (i = 1; i <= iters; i++) {
		t = (i % 2) ? "a" : "b";	# the tenant letter in the fixtures ids
		org = (i % 2) ? A : B;
		c1 = q "2" t "000000-0000-4000-8000-000000000001" q;
		c2 = q "2" t "000000-0000-4000-8000-000000000002" q;
		l1 = q "3" t "000000-0000-4000-8000-000000000001" q;
		printf "SET tenant.org_id = %s%s%s;\n", q, org, q;
		k = i % 10;
		if (k == 0)      printf "UPDATE courses SET title = title WHERE id = %s;\n", c2;
		else if (k == 1) printf "WITH n AS (INSERT INTO assets (lesson_id, url) VALUES (%s, %stmp%s) RETURNING id) DELETE FROM assets a USING n WHERE a.id = n.id;\n", l1, q, q;
		else if (k == 2) printf "BEGIN; DECLARE c CURSOR FOR SELECT title FROM lessons WHERE course_id = %s; FETCH 1 FROM c; CLOSE c; COMMIT;\n", c1;
		else if (k < 6)  printf "SELECT title FROM courses WHERE id = %s;\n", c1;
		else if (k < 8)  printf "SELECT l.title FROM lessons l JOIN courses c ON c.organization_id = l.organization_id AND c.id = l.course_id WHERE c.id = %s;\n", c2;
		else             printf "SELECT u.name FROM users u JOIN enrollments e ON e.organization_id = u.organization_id AND e.user_id = u.id WHERE e.course_id = %s;\n", c1;
		if (i == first || i == iters)
			printf "SELECT %smem%s, %d, ctx, rss_kb, pg_backend_pid() FROM ti_mem_now();\n", q, q, i;
	}
}' >"$work/loop.sql"
"$bin/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$db" -f "$work/loop.sql" >"$work/part1.out" 2>"$work/part1.err"
rc=$?
t1=$(date +%s)
if [ $rc -eq 0 ]; then
	ok "part 1 ran: $iters tenant switches + statements in one psql session ($((t1 - t0)) s)"
else
	nok "part 1 ran: $iters tenant switches + statements in one psql session"
	tail -5 "$work/part1.err" | sed 's/^/# /'
fi
report "part 1 (psql)" "$work/part1.out"

# Part 2: the same inside one DO block
"$bin/psql" -X -q -d "$db" -c "VACUUM" >/dev/null 2>&1
t0=$(date +%s)
"$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/part2.out" 2>"$work/part2.err" <<SQL
SET ROLE ti_app;
DO \$\$
DECLARE
	i int;
	n bigint;
	orgs uuid[] := ARRAY['$A', '$B'];
	courses_ uuid[] := ARRAY['2a000000-0000-4000-8000-000000000001', '2b000000-0000-4000-8000-000000000001'];
	r record;
BEGIN
	FOR i IN 1..$iters LOOP
		PERFORM set_config('tenant.org_id', orgs[1 + i % 2]::text, false);
		CASE i % 4
		WHEN 0 THEN EXECUTE 'SELECT count(*) FROM courses WHERE id = \$1' INTO n USING courses_[1 + i % 2];
		WHEN 1 THEN SELECT count(*) INTO n FROM lessons l JOIN courses c ON c.organization_id = l.organization_id AND c.id = l.course_id
		             WHERE c.id = courses_[1 + i % 2];
		WHEN 2 THEN FOR r IN SELECT title FROM lessons WHERE course_id = courses_[1 + i % 2] LOOP END LOOP;
		ELSE SELECT count(*) INTO n FROM users WHERE email = 'ada@alpha.test';
		END CASE;
		IF i IN ($first, $iters) THEN
			SELECT * INTO r FROM ti_mem_now();
			RAISE NOTICE 'mem % % % %', i, r.ctx, r.rss_kb, pg_backend_pid();
		END IF;
	END LOOP;
END
\$\$;
SQL
rc=$?
t1=$(date +%s)
if [ $rc -eq 0 ]; then
	ok "part 2 ran: $iters tenant switches + statements in one DO block ($((t1 - t0)) s)"
else
	nok "part 2 ran: $iters tenant switches + statements in one DO block"
	tail -5 "$work/part2.err" | sed 's/^/# /'
fi
sed -n 's/^NOTICE:  mem /mem /p' "$work/part2.err" >"$work/part2.mem"
report "part 2 (DO block)" "$work/part2.mem"
exit 0
