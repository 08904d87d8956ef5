// Every audit entry in id order, a batch at a time, with the entities it AUDITS:
// what `govtrail verify` recomputes and chains. Targets without an id (a node another
// tool linked) come back as null, for verification to report.
// Params: $after (id to continue after, '' to start), $limit.
// Columns: id, entry (map; timestamp as text), audits [id or null].
MATCH (e:AuditLog)
WHERE e.id > $after
WITH e ORDER BY e.id LIMIT $limit
RETURN e.id AS id,
       e {.*, timestamp: toString(e.timestamp)} AS entry,
       COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN x.id } AS audits
