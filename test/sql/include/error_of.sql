-- test/sql/include/error_of.sql: pg_temp.error_of(q) runs a statement and returns the error it raised
-- as one line 'sqlstate | message | detail | hint' (for matches() on its detail and hint), or
-- 'no error'. (include/err.sql returns the same four parts as an array.)
-- Included by 040, 050 and 080.
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN st || ' | ' || msg || ' | ' || det || ' | ' || hnt;
END $$;
