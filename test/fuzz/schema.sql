-- test/fuzz/schema.sql: the tenant tables SQLsmith fuzzes (test/t/fuzz.sh), on top of the
-- template's users / courses / lessons / enrollments / assets.
--
-- Run as the superuser in a fresh copy of ti_template; the tables are created by the migration
-- role ti_owner, so the template's default privileges give ti_app exactly the README's grants
-- (SELECT, INSERT, UPDATE, DELETE on tables, USAGE on sequences).
--
-- Nothing here may contain the canary markers of tenant B (test/fuzz/data.sql): the application
-- role can read the catalogs (view definitions, defaults, constraints, comments), so a marker in
-- DDL would show up in a fuzz query's output without any isolation failure.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- GIN indexes that lead with organization_id (as tenant_iso.strict_indexes wants)
CREATE EXTENSION IF NOT EXISTS btree_gin;
SET ROLE ti_owner;

-- varied column types; composite keys lead with organization_id
CREATE TABLE fz_customers (
    id              int NOT NULL,
    organization_id uuid NOT NULL,
    name            text NOT NULL,
    email           varchar(200),
    tags            text[] NOT NULL DEFAULT '{}',
    scores          int[],
    profile         jsonb NOT NULL DEFAULT '{}',
    balance         numeric(14,4) NOT NULL DEFAULT 0,
    rating          double precision,
    created_at      timestamptz NOT NULL DEFAULT now(),
    active          boolean NOT NULL DEFAULT true,
    avatar          bytea,
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, email)
);
CREATE INDEX fz_customers_tags ON fz_customers USING gin (organization_id, tags);
CREATE INDEX fz_customers_profile ON fz_customers USING gin (organization_id, profile jsonb_path_ops);

CREATE TABLE fz_products (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    sku             text NOT NULL,
    title           text NOT NULL,
    price           numeric(12,2) NOT NULL,
    attributes      jsonb,
    keywords        text[],
    UNIQUE (organization_id, sku)
);

CREATE TABLE fz_orders (
    id              int NOT NULL,
    organization_id uuid NOT NULL,
    customer_id     int NOT NULL,
    product_id      uuid,
    note            text,
    status          text NOT NULL DEFAULT 'new',
    quantities      int[] NOT NULL DEFAULT '{}',
    items           jsonb NOT NULL DEFAULT '[]',
    amount          numeric(14,4) NOT NULL,
    placed_at       timestamptz NOT NULL,
    shipped_on      date,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, customer_id) REFERENCES fz_customers (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, product_id) REFERENCES fz_products (organization_id, id)
);
CREATE INDEX fz_orders_customer ON fz_orders (organization_id, customer_id);
CREATE INDEX fz_orders_placed ON fz_orders (organization_id, placed_at);

-- partitioned by LIST (kind), with a default partition; a foreign key from a partitioned table
CREATE TABLE fz_events (
    id              bigint NOT NULL,
    organization_id uuid NOT NULL,
    kind            text NOT NULL,
    order_id        int,
    payload         jsonb,
    labels          text[],
    value           numeric,
    happened_at     timestamptz NOT NULL,
    PRIMARY KEY (organization_id, kind, id),
    FOREIGN KEY (organization_id, order_id) REFERENCES fz_orders (organization_id, id) ON DELETE SET NULL (order_id)
) PARTITION BY LIST (kind);
CREATE TABLE fz_events_click PARTITION OF fz_events FOR VALUES IN ('click');
CREATE TABLE fz_events_view PARTITION OF fz_events FOR VALUES IN ('view', 'scroll');
CREATE TABLE fz_events_other PARTITION OF fz_events DEFAULT;

-- partitioned by HASH (id), sub-partitioned by RANGE for one of them
CREATE TABLE fz_ledger (
    id              bigint NOT NULL,
    organization_id uuid NOT NULL,
    customer_id     int NOT NULL,
    memo            text NOT NULL,
    amount          numeric(14,4) NOT NULL,
    meta            jsonb,
    booked_at       timestamptz NOT NULL,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, customer_id) REFERENCES fz_customers (organization_id, id) ON DELETE CASCADE
) PARTITION BY HASH (id);
CREATE TABLE fz_ledger_p0 PARTITION OF fz_ledger FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE fz_ledger_p1 PARTITION OF fz_ledger FOR VALUES WITH (MODULUS 2, REMAINDER 1);

-- a column of every scalar type of the extension's schema that the migration role may use (in
-- 0.1.0 the domain tenant_iso.tenant_id, which marked the executor's tenant parameter: the fuzz
-- crashed the server with it): fuzz queries then produce and compare values of those types.  A
-- type the extension refuses here is skipped (WARNING).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.oid::regtype AS typ, t.typname
               FROM pg_type t
              WHERE t.typnamespace = to_regnamespace('tenant_iso') AND t.typtype IN ('b', 'd', 'e', 'r')
                AND t.typelem = 0 AND has_type_privilege(t.oid, 'USAGE')
              ORDER BY t.typname
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE fz_orders ADD COLUMN %I %s', 'ext_' || r.typname, r.typ);
        EXCEPTION WHEN others THEN
            RAISE WARNING 'fuzz: no column of type %: %', r.typ, SQLERRM;
        END;
    END LOOP;
END
$$;

-- views over tenant tables (the schema check makes them security_invoker)
CREATE VIEW fz_order_summary AS
    SELECT o.organization_id, o.id AS order_id, c.name AS customer, c.email, o.note, o.status,
           o.amount, o.items, o.quantities, c.tags, o.placed_at
      FROM fz_orders o
      JOIN fz_customers c ON c.organization_id = o.organization_id AND c.id = o.customer_id;
CREATE VIEW fz_customer_activity AS
    SELECT c.organization_id, c.id, c.name, c.profile, count(e.id) AS events,
           sum(l.amount) AS ledger_total, array_agg(DISTINCT e.kind) AS kinds
      FROM fz_customers c
      LEFT JOIN fz_orders o ON o.organization_id = c.organization_id AND o.customer_id = c.id
      LEFT JOIN fz_events e ON e.organization_id = o.organization_id AND e.order_id = o.id
      LEFT JOIN fz_ledger l ON l.organization_id = c.organization_id AND l.customer_id = c.id
     GROUP BY c.organization_id, c.id, c.name, c.profile;
RESET ROLE;
