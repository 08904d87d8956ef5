// One change request with its transitions (every entry that audits it, oldest first).
// Params: $id. Columns: request (map), transitions [{id, operation, userId, timestamp,
// newStatus}]. No row if there is no such request.
MATCH (r:ChangeRequest {id: $id})
RETURN r {.*} AS request,
       COLLECT {
         MATCH (e:AuditLog)-[:AUDITS]->(r)
         WITH e ORDER BY e.timestamp, e.id
         RETURN e {.id, .operation, .userId, .newStatus, .approverIds,
                   timestamp: toString(e.timestamp)}
       } AS transitions
