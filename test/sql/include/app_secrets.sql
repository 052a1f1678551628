-- test/sql/include/app_secrets.sql: pg_temp.app_secrets(rel) reads the column secret of a table as
-- ti_app under the current tenant.org_id: the values it sees, sorted and joined by ',' ('' when
-- none), 'error <sqlstate>' when ti_app cannot read it, 'gone' when the table does not exist. The
-- caller's role is restored before it returns.
-- Included by 610 and 650.
CREATE FUNCTION pg_temp.app_secrets(rel text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; caller text := current_user;
BEGIN
    IF to_regclass(rel) IS NULL THEN RETURN 'gone'; END IF;
    SET LOCAL ROLE ti_app;
    BEGIN
        EXECUTE format('SELECT coalesce(string_agg(secret, '','' ORDER BY secret), '''') FROM %s', rel) INTO r;
    EXCEPTION WHEN OTHERS THEN r := 'error ' || SQLSTATE;
    END;
    IF caller = session_user THEN
        RESET ROLE;
    ELSE
        EXECUTE format('SET LOCAL ROLE %I', caller);
    END IF;
    RETURN r;
END $$;
