-- test/sql/include/spied.sql: the counter of a spy function that a test plants in an expression:
-- the including file creates the sequence public.spy_other and advances it each time the spy sees a
-- value of another tenant. pg_temp.spied() returns how many it saw (0 when none), pg_temp.reset_spy()
-- sets it back to 0.
-- Included by 620 and 640.
CREATE FUNCTION pg_temp.spied() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.spy_other);
END $$;
CREATE FUNCTION pg_temp.reset_spy() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM setval('public.spy_other', 1, false);
END $$;
