// The checkpoint that sealed an entry, with the hashes of every entry it sealed in
// leaf order, for an inclusion proof.
// Params: $id. Columns: entryHash, leaf, checkpoint (map; sealedAt as text),
// hashes [string].
MATCH (e:AuditLog {id: $id})<-[s:SEALS]-(c:Checkpoint)
WITH e, s, c ORDER BY c.seq LIMIT 1
RETURN e.hash AS entryHash,
       s.leaf AS leaf,
       c {.*, sealedAt: toString(c.sealedAt)} AS checkpoint,
       [id IN c.entryIds | COLLECT { MATCH (x:AuditLog {id: id}) RETURN x.hash }[0]] AS hashes
