-- test/sql/include/b_rows.sql: pg_temp.b_rows(tables) fingerprints tenant B's rows (organization_id
-- 0b000000-0000-4000-8000-00000000000b) in the given tables (default: the five fixture tables), read
-- as the caller: one entry '<table> <row>' per row, the row with every stored column (a virtual
-- generated column is left out: it is computed from the others), sorted, joined by ' | '; NULL when
-- B has no row. A test takes it before its attempts and compares it after: B's data is intact.
-- Included by 020, 300, 310, 320, 340, 360, 370, 380, 540, 640 (over its table dossiers), 720, 730.
CREATE FUNCTION pg_temp.b_rows(tables text[] DEFAULT ARRAY['users', 'courses', 'lessons', 'enrollments', 'assets'])
RETURNS text LANGUAGE plpgsql AS $$
DECLARE t text; cols text; part text[]; all_rows text[] := '{}';
BEGIN
    FOREACH t IN ARRAY tables LOOP
        SELECT string_agg(format('x.%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_attribute a
         WHERE a.attrelid = t::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> 'v';
        EXECUTE format('SELECT array_agg(%L || '' '' || ROW(%s)::text) FROM %s x WHERE x.organization_id = %L',
                       t, cols, t::regclass, '0b000000-0000-4000-8000-00000000000b') INTO part;
        all_rows := all_rows || coalesce(part, '{}');
    END LOOP;
    RETURN (SELECT string_agg(r, ' | ' ORDER BY r) FROM unnest(all_rows) r);
END $$;
