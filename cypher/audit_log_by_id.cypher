// One audit entry by id, with the display name of the actor its hashed `userId` names
// (never copied onto the entry; null once erased) and the entities it audits.
// Params: $id (string). Columns: entry (map; timestamp as RFC 3339 text), actorName
// (string or null), actorErased, audits [{type, id}].
MATCH (e:AuditLog {id: $id})
OPTIONAL MATCH (u:User {id: e.userId})
RETURN e {.*, timestamp: toString(e.timestamp)} AS entry,
       u.displayName AS actorName,
       coalesce(u.erased, false) AS actorErased,
       COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN {type: [l IN labels(x) WHERE l <> 'Governed'][0], id: x.id} } AS audits
