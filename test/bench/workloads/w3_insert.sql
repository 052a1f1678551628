-- W3: insert one row into the writer tenant (k = 3). V0 names the organization; V1 and V2
-- stamp it with a column DEFAULT; tenant_iso (V3) with its stamping trigger.
INSERT INTO @T@ (id, @ORG_COL@title) VALUES (gen_random_uuid(), @ORG_VAL@'A new course');
