-- test/sql/include/plan_of.sql: pg_temp.plan_of(q, seq_scan_only) returns EXPLAIN (COSTS OFF) of a
-- query as one text, a line per plan line, planned as the caller. With seq_scan_only => true index,
-- bitmap and index-only scans are off while it plans (every condition shows as a filter, in the
-- order they run); the settings are restored before it returns.
-- Included by 040, 070, 500, 520, 600 and 620.
CREATE FUNCTION pg_temp.plan_of(q text, seq_scan_only boolean DEFAULT false) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; r text := ''; knobs text[] := ARRAY['enable_indexscan', 'enable_bitmapscan', 'enable_indexonlyscan'];
        saved text[]; i int;
BEGIN
    IF seq_scan_only THEN
        saved := ARRAY(SELECT current_setting(k) FROM unnest(knobs) k);
        PERFORM set_config(k, 'off', true) FROM unnest(knobs) k;
    END IF;
    FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP r := r || l || E'\n'; END LOOP;
    IF seq_scan_only THEN
        FOR i IN 1 .. array_length(knobs, 1) LOOP PERFORM set_config(knobs[i], saved[i], true); END LOOP;
    END IF;
    RETURN r;
END $$;
