-- test/sql/include/seen.sql: pg_temp.seen() reads and resets the two counters a test's spy functions
-- advance, the sequences public.seen_own (values of the current tenant) and public.seen_other
-- (values of another tenant), which the including file creates; returns 'own=N other=M'.
-- Included by 540, 550 and 720.
CREATE FUNCTION pg_temp.seen() RETURNS text LANGUAGE plpgsql AS $$
DECLARE own bigint; other bigint;
BEGIN
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO own FROM public.seen_own;
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO other FROM public.seen_other;
    PERFORM setval('public.seen_own', 1, false);
    PERFORM setval('public.seen_other', 1, false);
    RETURN format('own=%s other=%s', own, other);
END $$;
