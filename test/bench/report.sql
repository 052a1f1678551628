-- test/bench/report.sql: the tables of docs/bench-results.md from the runs of `make bench`.
-- psql variables: runs (TSV workload, variant, repeat, tps), workloads (TSV order, id, short
-- label, label, target ratio), chart (data file for gnuplot). Prints Markdown.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
SET client_min_messages = warning;
CREATE TEMP TABLE runs (workload text, variant text, rep int, tps float8);
-- \copy does not interpolate variables: build the command in a variable
\set copy_runs '\\copy runs FROM ' :'runs'
:copy_runs
CREATE TEMP TABLE workloads (ord int, workload text, short text, label text, target float8);
\set copy_workloads '\\copy workloads FROM ' :'workloads'
:copy_workloads
CREATE TEMP TABLE stats AS
SELECT r.workload, r.variant,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.tps) AS med,
       min(r.tps) AS lo, max(r.tps) AS hi, count(*) AS n
FROM runs r GROUP BY 1, 2;
CREATE TEMP TABLE ratios AS
SELECT s.workload, s.variant, s.med / b.med AS ratio
FROM stats s JOIN stats b ON b.workload = s.workload AND b.variant = 'V0';
CREATE TEMP TABLE summary AS
SELECT w.ord, w.workload, w.short, w.label, w.target,
       (SELECT med FROM stats s WHERE s.workload = w.workload AND s.variant = 'V0') AS v0_tps,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V1') AS v1,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V2') AS v2,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V3') AS v3,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V0fk') AS v0fk,
       (SELECT ratio FROM ratios r WHERE r.workload = w.workload AND r.variant = 'V3nq') AS v3nq,
       (SELECT hi FROM stats s WHERE s.workload = w.workload AND s.variant = 'V3') AS v3_hi,
       -- the lowest TPS of the better of V1 and V2 (by median)
       (SELECT lo FROM stats s WHERE s.workload = w.workload AND s.variant IN ('V1', 'V2')
        ORDER BY s.med DESC LIMIT 1) AS best_lo
FROM workloads w;

CREATE FUNCTION pg_temp.r(x float8) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN x IS NULL THEN '-' WHEN x < 0.1 THEN to_char(x, 'FM0.000') ELSE to_char(x, 'FM0.00') END $$;
CREATE FUNCTION pg_temp.t(x float8) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN x IS NULL THEN '-' WHEN x >= 100 THEN to_char(round(x), 'FM999999990') ELSE to_char(x, 'FM990.0') END $$;

\qecho '| workload | V0 median TPS | V1 bare `current_setting()` | V2 `(SELECT current_setting())` | V3 tenant_iso | target for V3 | target | V3 >= max(V1, V2) |'
\qecho '|---|--:|--:|--:|--:|--:|---|---|'
SELECT format('| %s | %s | %s | %s | **%s** | >= %s | %s | %s |',
              label, pg_temp.t(v0_tps), pg_temp.r(v1), pg_temp.r(v2), pg_temp.r(v3),
              to_char(target, 'FM0.00'),
              CASE WHEN v3 >= target THEN 'met' ELSE '**MISSED**' END,
              CASE WHEN v3 >= greatest(v1, v2) THEN 'yes'
                   ELSE format('**MISSED** (%s < %s%s)', pg_temp.r(v3), pg_temp.r(greatest(v1, v2)),
                               CASE WHEN v3_hi >= best_lo THEN '; the TPS ranges overlap' ELSE '' END) END)
FROM summary ORDER BY ord;
\qecho
SELECT format('Targets met: %s of %s; V3 >= max(V1, V2) on %s of %s workloads.',
              count(*) FILTER (WHERE v3 >= target), count(*),
              count(*) FILTER (WHERE v3 >= greatest(v1, v2)), count(*))
FROM summary;
\qecho
SELECT format('- Registry foreign key (%s): V0 plus the registry key `REFERENCES tenant_iso.organizations (id)` (variant V0fk) runs at **%s** of V0''s inserts per second; tenant_iso (V3) at %s.',
              workload, pg_temp.r(v0fk), pg_temp.r(v3))
FROM summary WHERE v0fk IS NOT NULL ORDER BY ord;
SELECT format('- Implied LIKE ranges (%s): tenant_iso with `tenant_iso.implied_quals = off` (variant V3nq) runs at **%s** of V0; with them (V3) at %s.',
              label, pg_temp.r(v3nq), pg_temp.r(v3))
FROM summary WHERE v3nq IS NOT NULL ORDER BY ord;
\qecho
\qecho '#### Every variant: median and range of TPS over the repeats'
\qecho
\qecho '| workload | variant | median TPS | min - max TPS | ratio of medians to V0 |'
\qecho '|---|---|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s - %s | %s |', w.label, s.variant, pg_temp.t(s.med), pg_temp.t(s.lo), pg_temp.t(s.hi),
              pg_temp.r(r.ratio))
FROM stats s JOIN workloads w USING (workload) JOIN ratios r USING (workload, variant)
ORDER BY w.ord, CASE s.variant WHEN 'V0' THEN 0 WHEN 'V0fk' THEN 1 WHEN 'V1' THEN 2 WHEN 'V2' THEN 3 WHEN 'V3' THEN 4 ELSE 5 END;
\qecho

\o :chart
SELECT format('"%s" %s %s %s', short, coalesce(v1, 0), coalesce(v2, 0), coalesce(v3, 0)) FROM summary ORDER BY ord;
\o
