// The entry of an entity with the given hash, as it is now: what verification asks when
// an entity's head (read after the entries) names an entry its read did not include,
// because the entry was written while it ran.
// Params: $entity, $hash. Columns: id, prevHashes, timestamp (text); no row if none.
MATCH (:Governed {id: $entity})<-[:AUDITS]-(e:AuditLog)
WHERE e.hash = $hash
RETURN e.id AS id, e.prevHashes AS prevHashes, toString(e.timestamp) AS timestamp
LIMIT 1
