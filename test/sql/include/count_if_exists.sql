-- test/sql/include/count_if_exists.sql: pg_temp.count_if_exists(rel, cond) counts the rows of rel
-- (a name, resolved as the caller) that satisfy the SQL condition cond, read as the caller; 0 when
-- rel does not exist (an attack that was refused left no object behind).
-- Included by 320 and 330.
CREATE FUNCTION pg_temp.count_if_exists(rel text, cond text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    IF to_regclass(rel) IS NULL THEN RETURN 0; END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE %s', rel, cond) INTO n;
    RETURN n;
END
$$;
