-- test/sql/include/err.sql: pg_temp.err(sql) runs a statement and returns NULL, or the error it
-- raised as ARRAY[sqlstate, message, detail, hint] (array_to_string(..., E'\n') for the whole text).
-- Included (\ir) by 300-380, 410, 500, 520, 530, 550, 560, 610-660, 700 and 720.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN ARRAY[st, msg, det, hnt];
END
$$;
