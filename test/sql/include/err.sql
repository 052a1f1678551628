-- test/sql/include/err.sql: pg_temp.err(sql) runs a statement and returns NULL, or the error it
-- raised as ARRAY[sqlstate, message, detail, hint]. Included by the attack suite (\ir).
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
