// Everything a lineage packet says about one entity's history: the entity, every entry
// that AUDITS it (every stored field, timestamps as text), the checkpoint that sealed
// each entry and its leaf index, and the display name (as it is now) of the User each
// entry's hashed `userId` names.
// Params: $id, $type (label). Columns: entity (map), entries [{entry, checkpoint, leaf,
// actorName, actorErased}]. No row if the entity does not exist.
MATCH (n:Governed {id: $id})
WHERE $type IN labels(n)
RETURN n {.*} AS entity,
       COLLECT {
         MATCH (n)<-[:AUDITS]-(e:AuditLog)
         OPTIONAL CALL (e) {
           MATCH (e)<-[s:SEALS]-(c:Checkpoint)
           RETURN c.seq AS checkpoint, s.leaf AS leaf
           ORDER BY c.seq
           LIMIT 1
         }
         OPTIONAL MATCH (u:User {id: e.userId})
         WITH e, checkpoint, leaf, u
         ORDER BY e.timestamp, e.id
         RETURN {entry: e {.*, timestamp: toString(e.timestamp)}, checkpoint: checkpoint,
                 leaf: leaf, actorName: u.displayName,
                 actorErased: coalesce(u.erased, false)}
       } AS entries
