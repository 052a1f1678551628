-- W5 (jsonb): containment within the big tenant (k = 1), with the tenant-leading GIN index
-- (organization_id, tags) of btree_gin.
SELECT id, title FROM @T@ WHERE tags @> '["t7"]'@AND_ORG@;
