-- test/fuzz/data.sql: one organization's rows in the fuzz tables (test/fuzz/schema.sql).
--
-- Run twice by test/t/fuzz.sh, as the superuser, with psql variables:
--   org   the organization id
--   pfx   the text every text, varchar, jsonb (keys and values) and array element starts with:
--         an ordinary word for tenant A, the canary marker for tenant B
--   num   the integral part of every numeric / double value (a plain range for A, a range
--         that fuzz.sh recognises in output for B); every such value ends in the decimals frac
--   frac  decimals added to every numeric / double value
--   ints  the base of every int[] element (a recognisable negative range for B)
--   n     rows per table (customers, products; more for orders, events and the ledger)
-- The rows are written by the migration role with the tenant set, so they are stamped and
-- checked as an application's would be.  The markers live only in the data: statements are
-- not stored in any catalog.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT set_config('tenant.org_id', :'org', false);
SET ROLE ti_owner;

INSERT INTO fz_customers (id, name, email, tags, scores, profile, balance, rating, created_at, active, avatar)
SELECT i,
       :'pfx' || ' customer ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE lower(:'pfx') || '.' || i || '@example.test' END,
       ARRAY[:'pfx' || '_tag', :'pfx' || '_' || (i % 5), :'pfx' || ' ' || i],
       CASE WHEN i % 6 = 0 THEN NULL ELSE ARRAY[:ints - i, :ints - i * 10, :ints - 999] END,
       jsonb_build_object(:'pfx' || '_key', :'pfx' || '_value ' || i,
                          'n', i,
                          'nested', jsonb_build_object('deep', :'pfx' || '_deep', :'pfx' || '_k2', ARRAY[:'pfx' || '_x']),
                          'list', jsonb_build_array(:'pfx' || '_elem', :num + i + :frac, i % 2 = 0)),
       :num + i + :frac,
       (:num + i + :frac)::double precision,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 day 1 hour',
       i % 3 <> 0,
       CASE WHEN i % 4 = 0 THEN NULL ELSE convert_to(:'pfx' || ' avatar ' || i, 'UTF8') END
  FROM generate_series(1, :n) i;

INSERT INTO fz_products (id, sku, title, price, attributes, keywords)
SELECT (lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || substr(replace(:'org', '-', ''), 21, 12))::uuid,
       :'pfx' || '-sku-' || i,
       :'pfx' || ' product ' || i,
       :num + i + :frac,
       CASE WHEN i % 5 = 0 THEN NULL
            ELSE jsonb_build_object('color', :'pfx' || '_colour_' || (i % 3), 'size', i, :'pfx' || '_attr', true) END,
       ARRAY[:'pfx' || '_kw', :'pfx' || '_kw' || i]
  FROM generate_series(1, :n) i;

INSERT INTO fz_orders (id, customer_id, product_id, note, status, quantities, items, amount, placed_at, shipped_on)
SELECT i,
       1 + i % :n,
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE (lpad(to_hex(1 + i % :n), 8, '0') || '-0000-4000-8000-' || substr(replace(:'org', '-', ''), 21, 12))::uuid END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE :'pfx' || ' note ' || i END,
       (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + i % 4] || CASE WHEN i % 2 = 0 THEN '' ELSE '_' || :'pfx' END,
       ARRAY[:ints - i, :ints - 2 * i],
       jsonb_build_array(jsonb_build_object('sku', :'pfx' || '-sku-' || (1 + i % :n), 'qty', 1 + i % 3,
                                            'price', :num + i + :frac),
                         :'pfx' || '_item'),
       :num + i + :frac,
       timestamptz '2024-02-01 00:00:00+00' + i * interval '7 hours',
       CASE WHEN i % 3 = 0 THEN NULL ELSE date '2024-02-01' + i END
  FROM generate_series(1, 3 * :n) i;

INSERT INTO fz_events (id, kind, order_id, payload, labels, value, happened_at)
SELECT i,
       (ARRAY['click', 'view', 'scroll', 'purchase', :'pfx' || '_kind'])[1 + i % 5],
       CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % (3 * :n) END,
       CASE WHEN i % 8 = 0 THEN NULL
            ELSE jsonb_build_object('page', '/' || :'pfx' || '/' || i, :'pfx' || '_flag', i % 2 = 0,
                                    'path', jsonb_build_array(:'pfx' || '_a', :'pfx' || '_b')) END,
       ARRAY[:'pfx' || '_label', :'pfx' || '_' || (i % 10)],
       :num + (i % 1000) + :frac,
       timestamptz '2024-03-01 00:00:00+00' + i * interval '13 minutes'
  FROM generate_series(1, 8 * :n) i;

INSERT INTO fz_ledger (id, customer_id, memo, amount, meta, booked_at)
SELECT i,
       1 + i % :n,
       :'pfx' || ' memo ' || i,
       CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END * (:num + (i % 1000) + :frac),
       CASE WHEN i % 6 = 0 THEN NULL ELSE jsonb_build_object('ref', :'pfx' || '_ref_' || i, 'tags', ARRAY[:'pfx' || '_t']) END,
       timestamptz '2024-04-01 00:00:00+00' + i * interval '5 hours'
  FROM generate_series(1, 5 * :n) i;
-- the columns of the extension's types (schema.sql): those over uuid get the organization id
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT a.attname, a.atttypid::regtype AS typ
               FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
              WHERE a.attrelid = 'fz_orders'::regclass AND a.attname LIKE 'ext\_%' AND NOT a.attisdropped
                AND t.typbasetype = 'uuid'::regtype
    LOOP
        EXECUTE format('UPDATE fz_orders SET %I = organization_id::text::%s WHERE id %% 2 = 0', r.attname, r.typ);
    END LOOP;
END
$$;
RESET ROLE;
RESET tenant.org_id;
