// One audit entry by id, with the actor's display name resolved through PERFORMED_BY
// (never copied onto the entry) and the entities it audits.
// Params: $id (string). Columns: entry (map; timestamp as RFC 3339 text), actorName
// (string or null), audits [{type, id}].
MATCH (e:AuditLog {id: $id})
OPTIONAL MATCH (e)-[:PERFORMED_BY]->(u:User)
RETURN e {.*, timestamp: toString(e.timestamp)} AS entry,
       u.displayName AS actorName,
       COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN {type: [l IN labels(x) WHERE l <> 'Governed'][0], id: x.id} } AS audits
