// Every audit entry in id order, a batch at a time, with the entities it AUDITS:
// what `govtrail verify` recomputes and chains.
// Params: $after (id to continue after, '' to start), $limit.
// Columns: entry (map; timestamp as text), audits [id].
MATCH (e:AuditLog)
WHERE e.id > $after
WITH e ORDER BY e.id LIMIT $limit
RETURN e {.*, timestamp: toString(e.timestamp)} AS entry,
       COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN x.id } AS audits
