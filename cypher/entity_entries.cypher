// The successful entries that AUDITS one entity, oldest first, up to an instant:
// what replay folds into the entity's state.
// Params: $id, $type (label), $at (RFC 3339 or null for all).
// Columns: entry {id, entityId, operation, changes, timestamp}.
MATCH (x:Governed {id: $id})<-[:AUDITS]-(e:AuditLog)
WHERE $type IN labels(x)
  AND e.outcome = 'SUCCEEDED'
  AND ($at IS NULL OR e.timestamp <= datetime($at))
WITH e
ORDER BY e.timestamp, e.id
RETURN e {.id, .entityId, .operation, .changes, timestamp: toString(e.timestamp)} AS entry
