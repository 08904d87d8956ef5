// Stores a signed checkpoint, links it to every entry it seals (`SEALS {leaf}`: the
// entry's leaf index in the Merkle tree, so a proof needs no scan), and removes those
// entries from the queue. The unique `seq` makes a second writer of the same
// checkpoint fail instead of forking. Only relationships are added to entries.
// Params: $checkpoint (map; sealedAt as RFC 3339 text). Columns: dequeued.
CREATE (c:Checkpoint)
SET c = $checkpoint, c.sealedAt = datetime($checkpoint.sealedAt)
WITH c
CALL (c) {
  UNWIND range(0, size(c.entryIds) - 1) AS leaf
  MATCH (e:AuditLog {id: c.entryIds[leaf]})
  CREATE (c)-[:SEALS {leaf: leaf}]->(e)
}
WITH c
UNWIND c.entryIds AS id
MATCH (q:SealQueue {entryId: id})
DELETE q
RETURN count(*) AS dequeued
