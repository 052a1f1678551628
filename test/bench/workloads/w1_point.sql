-- W1: point select by primary key id, in the medium tenant (k = 2).
\set s random(1, :mrows)
SELECT id, title, created_at, views FROM @T@
WHERE id = (lpad(:k::text, 8, '0') || '-0000-4000-8000-' || lpad(:s::text, 12, '0'))::uuid@AND_ORG@;
