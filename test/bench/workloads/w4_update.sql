-- W4: update one row by id in the medium tenant (k = 2); views is not indexed (HOT update).
\set s random(1, :mrows)
UPDATE @T@ SET views = views + 1
WHERE id = (lpad(:k::text, 8, '0') || '-0000-4000-8000-' || lpad(:s::text, 12, '0'))::uuid@AND_ORG@;
