// Every governed entity, in id order, a batch at a time (check-replay walks them all).
// Params: $after (id to continue after, '' to start), $limit.
// Columns: id, type (the entity's label other than Governed).
MATCH (n:Governed)
WHERE n.id > $after
WITH n ORDER BY n.id LIMIT $limit
RETURN n.id AS id, [l IN labels(n) WHERE l <> 'Governed'][0] AS type
