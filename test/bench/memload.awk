# test/bench/memload.awk: the statements of the backend-memory test of `make bench`.
# Prints about n statements on table tbl, alternating two ways an application sets the tenant:
#   a pooled transaction  BEGIN; SELECT set_config('tenant.org_id', <org>, true); SELECT ...; COMMIT;
#   a session             SET tenant.org_id = '<org>'; SELECT ...;
# with a random organization (1..norgs) and row (1..mrows) each time. explicit=1 adds
# "AND organization_id = ..." (the V0 baseline). seed makes the sequence reproducible.
function org(k) { return sprintf("00000000-0000-4000-8000-%012d", k) }
function course(k, s) { return sprintf("%08d-0000-4000-8000-%012d", k, s) }
BEGIN {
	srand(seed)
	done = 0
	while (done < n) {
		k = int(rand() * norgs) + 1
		s = int(rand() * mrows) + 1
		cond = explicit ? sprintf(" AND organization_id = '%s'", org(k)) : ""
		sel = sprintf("SELECT id, title, views FROM %s WHERE id = '%s'%s;", tbl, course(k, s), cond)
		if (int(done / 6) % 2 == 0) {
			printf "BEGIN;\nSELECT set_config('tenant.org_id', '%s', true);\n%s\nCOMMIT;\n", org(k), sel
			done += 4
		} else {
			printf "SET tenant.org_id = '%s';\n%s\n", org(k), sel
			done += 2
		}
	}
}
