// Makes a witnessed pending checkpoint final: it becomes a Checkpoint (whose unique
// `seq` refuses a fork), links to every entry it seals (`SEALS {leaf}`: the entry's
// leaf index, so a proof needs no scan) and dequeues them (deletes their queue items).
// The entries' properties and labels are not touched: each gains its SEALS edge and
// loses its queue item's QUEUES edge.
// Params: $seq, $hash. Columns: seq, dequeued; no row if no such pending checkpoint.
MATCH (p:PendingCheckpoint {seq: $seq})
WHERE p.hash = $hash
REMOVE p:PendingCheckpoint
SET p:Checkpoint
WITH p
CALL (p) {
  UNWIND range(0, size(p.entryIds) - 1) AS leaf
  MATCH (e:AuditLog {id: p.entryIds[leaf]})
  CREATE (p)-[:SEALS {leaf: leaf}]->(e)
  WITH e
  MATCH (q:SealQueue)-[k:QUEUES]->(e)
  DELETE k, q
  RETURN count(q) AS dequeued
}
RETURN p.seq AS seq, dequeued
