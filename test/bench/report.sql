-- test/bench/report.sql: the tables of docs/bench-results.md from the runs of `make bench`.
-- psql variables: runs (TSV workload, variant, repeat, tps), workloads (TSV order, id, short
-- label, label, target of V3's ratio to V0, target of V3's ratio to V0L or \N), chart (data file
-- for gnuplot). Prints Markdown. Baselines: V0 (the tenant a bind parameter) and V0L (a literal).
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
SET client_min_messages = warning;
CREATE TEMP TABLE runs (workload text, variant text, rep int, tps float8);
-- \copy does not interpolate variables: build the command in a variable
\set copy_runs '\\copy runs FROM ' :'runs'
:copy_runs
CREATE TEMP TABLE workloads (ord int, workload text, short text, label text, target float8, target_l float8);
\set copy_workloads '\\copy workloads FROM ' :'workloads'
:copy_workloads
CREATE TEMP TABLE stats AS
SELECT r.workload, r.variant,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.tps) AS med,
       min(r.tps) AS lo, max(r.tps) AS hi, count(*) AS n
FROM runs r GROUP BY 1, 2;
-- each variant's median relative to V0's (ratio) and to V0L's (ratio_l; NULL without V0L)
CREATE TEMP TABLE ratios AS
SELECT s.workload, s.variant, s.med / b.med AS ratio, s.med / l.med AS ratio_l
FROM stats s JOIN stats b ON b.workload = s.workload AND b.variant = 'V0'
LEFT JOIN stats l ON l.workload = s.workload AND l.variant = 'V0L';
CREATE TEMP TABLE summary AS
SELECT w.ord, w.workload, w.short, w.label, w.target, w.target_l,
       (SELECT med FROM stats s WHERE s.workload = w.workload AND s.variant = 'V0') AS v0_tps,
       -- what PostgreSQL itself pays for the parameter: V0's median / V0L's
       (SELECT ratio_l FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V0') AS v0_l,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V1') AS v1,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V2') AS v2,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V3') AS v3,
       (SELECT ratio_l FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V3') AS v3_l,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V0fk') AS v0fk,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V3nq') AS v3nq,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V3nt') AS v3nt,
       (SELECT hi FROM stats s WHERE s.workload = w.workload AND s.variant = 'V3') AS v3_hi,
       -- the lowest TPS of the better of V1 and V2 (by median)
       (SELECT lo FROM stats s WHERE s.workload = w.workload AND s.variant IN ('V1', 'V2')
        ORDER BY s.med DESC LIMIT 1) AS best_lo
FROM workloads w;

CREATE FUNCTION pg_temp.r(x float8) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN x IS NULL THEN '-' WHEN x < 0.1 THEN to_char(x, 'FM0.000') ELSE to_char(x, 'FM0.00') END $$;
CREATE FUNCTION pg_temp.t(x float8) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN x IS NULL THEN '-' WHEN x >= 100 THEN to_char(round(x), 'FM999999990') ELSE to_char(x, 'FM990.0') END $$;

CREATE FUNCTION pg_temp.b(x float8) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN x IS NULL THEN '-' ELSE '**' || pg_temp.r(x) || '**' END $$;
-- verdict of a ratio against its target: "-" without a target
CREATE FUNCTION pg_temp.v(x float8, target float8) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN target IS NULL THEN '-' WHEN x IS NULL THEN 'not run'
                      ELSE format('>= %s: %s', to_char(target, 'FM0.00'),
                                  CASE WHEN x >= target THEN 'met' ELSE '**MISSED**' END) END $$;

\qecho '| workload | V0 median TPS | V0 / V0L: parameter vs literal | V1 bare `current_setting()` | V2 `(SELECT current_setting())` | V3 / V0 | target vs V0 | V3 / V0L | target vs V0L | V3 >= max(V1, V2) |'
\qecho '|---|--:|--:|--:|--:|--:|---|--:|---|---|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |',
              label, pg_temp.t(v0_tps), pg_temp.r(v0_l), pg_temp.r(v1), pg_temp.r(v2),
              pg_temp.b(v3), pg_temp.v(v3, target), pg_temp.b(v3_l), pg_temp.v(v3_l, target_l),
              CASE WHEN v1 IS NULL AND v2 IS NULL THEN '- (not run)'
                   WHEN v3 >= greatest(v1, v2) THEN 'yes'
                   ELSE format('**MISSED** (%s < %s%s)', pg_temp.r(v3), pg_temp.r(greatest(v1, v2)),
                               CASE WHEN v3_hi >= best_lo THEN '; the TPS ranges overlap' ELSE '' END) END)
FROM summary ORDER BY ord;
\qecho
SELECT format('Targets met: %s of %s (V3 / V0: %s of %s; V3 / V0L: %s of %s); V3 >= max(V1, V2) on %s of the %s workloads that ran V1 and V2.',
              count(*) FILTER (WHERE v3 >= target) + count(*) FILTER (WHERE v3_l >= target_l),
              count(target) + count(target_l),
              count(*) FILTER (WHERE v3 >= target), count(target),
              count(*) FILTER (WHERE v3_l >= target_l), count(target_l),
              count(*) FILTER (WHERE v3 >= greatest(v1, v2)), count(greatest(v1, v2)))
FROM summary;
\qecho
SELECT format('- A parameter instead of the literal (%s): on the plain table, V0 (bind parameter) runs at **%s** of V0L (literal): PostgreSQL''s own cost, without tenant_iso.',
              workload, pg_temp.r(v0_l))
FROM summary WHERE v0_l < 0.97 ORDER BY ord;
SELECT format('- Foreign key to the registry (%s): V0 plus `REFERENCES tenant_iso.organizations (id)` (variant V0fk) runs at **%s** of V0''s throughput; tenant_iso (V3) at %s.',
              workload, pg_temp.r(v0fk), pg_temp.r(v3))
FROM summary WHERE v0fk IS NOT NULL ORDER BY ord;
SELECT format('- Implied LIKE ranges (%s): tenant_iso with `tenant_iso.implied_quals = off` (variant V3nq) runs at **%s** of V0; with them (V3) at %s.',
              label, pg_temp.r(v3nq), pg_temp.r(v3))
FROM summary WHERE v3nq IS NOT NULL ORDER BY ord;
SELECT format('- Per-tenant statistics (%s): tenant_iso with `tenant_iso.track_tenant_stats = on` (V3, the default) runs at **%s** of tenant_iso with it off (variant V3nt; target >= 0.97: %s).',
              label, pg_temp.r(v3 / v3nt), CASE WHEN v3 / v3nt >= 0.97 THEN 'met' ELSE '**MISSED**' END)
FROM summary WHERE v3nt IS NOT NULL ORDER BY ord;
\qecho
\qecho '#### Every variant: median and range of TPS over the repeats'
\qecho
\qecho '| workload | variant | median TPS | min - max TPS | ratio of medians to V0 | to V0L |'
\qecho '|---|---|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s - %s | %s | %s |', w.label, s.variant, pg_temp.t(s.med), pg_temp.t(s.lo), pg_temp.t(s.hi),
              pg_temp.r(r.ratio), pg_temp.r(r.ratio_l))
FROM stats s JOIN workloads w USING (workload) JOIN ratios r USING (workload, variant)
ORDER BY w.ord, CASE s.variant WHEN 'V0' THEN 0 WHEN 'V0L' THEN 1 WHEN 'V0fk' THEN 2 WHEN 'V1' THEN 3 WHEN 'V2' THEN 4 WHEN 'V3' THEN 5 WHEN 'V3nq' THEN 6 ELSE 7 END;
\qecho

\o :chart
-- NaN: not run (gnuplot draws no bar)
SELECT format('"%s" %s %s %s %s', short, coalesce(v1, 'NaN'), coalesce(v2, 'NaN'), coalesce(v3, 'NaN'), coalesce(v3_l, 'NaN'))
FROM summary ORDER BY ord;
\o
