// The checkpoint that sealed an entry (sealed at or after the entry was written), with
// the hashes of every entry it sealed, in sealing order, for an inclusion proof.
// Params: $id. Columns: entryHash, checkpoint (map; sealedAt as text), hashes [string].
MATCH (e:AuditLog {id: $id})
MATCH (c:Checkpoint)
WHERE c.sealedAt >= e.timestamp AND $id IN c.entryIds
WITH e, c ORDER BY c.seq LIMIT 1
RETURN e.hash AS entryHash,
       c {.*, sealedAt: toString(c.sealedAt)} AS checkpoint,
       [id IN c.entryIds | COLLECT { MATCH (x:AuditLog {id: id}) RETURN x.hash }[0]] AS hashes
