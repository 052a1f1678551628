-- test/sql/include/explain_lines.sql: pg_temp.explain_lines(sql) returns the lines of
-- EXPLAIN (COSTS OFF) of a statement as rows, planned as the caller (for results_eq / bag tests
-- on plan nodes).
-- Included by 350 and 360.
CREATE FUNCTION pg_temp.explain_lines(sql text) RETURNS SETOF text LANGUAGE plpgsql AS
    $$BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || sql; END$$;
