// One audit entry by id, with the actor's display name resolved through PERFORMED_BY
// (never copied onto the entry).
// Params: $id (string). Columns: entry (map of the entry's properties, timestamp as
// RFC 3339 text), actorName (string or null).
MATCH (e:AuditLog {id: $id})
OPTIONAL MATCH (e)-[:PERFORMED_BY]->(u:User)
RETURN e {.*, timestamp: toString(e.timestamp)} AS entry, u.displayName AS actorName
