// Entries waiting for a checkpoint, with when they were written.
// Params: none. Columns: entryId, at (text).
MATCH (q:SealQueue)-[:QUEUES]->(e:AuditLog)
RETURN e.id AS entryId, toString(q.at) AS at
