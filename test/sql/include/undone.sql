-- test/sql/include/undone.sql: pg_temp.undone(sql) runs a statement as the caller and undoes it
-- (a subtransaction rolled back), returning how many rows it processed ('0' for DDL), or
-- 'ERROR <sqlstate>' when it failed: a test sees what a write would do without keeping it (what a
-- spy counted in a sequence meanwhile stays counted: sequences are not rolled back).
-- Included by 550, 640 and 720.
CREATE FUNCTION pg_temp.undone(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    BEGIN
        EXECUTE sql;
        GET DIAGNOSTICS n = ROW_COUNT;
        RAISE SQLSTATE 'ZZ001';
    EXCEPTION
        WHEN SQLSTATE 'ZZ001' THEN RETURN n::text;
        WHEN OTHERS THEN RETURN 'ERROR ' || SQLSTATE;
    END;
END $$;
