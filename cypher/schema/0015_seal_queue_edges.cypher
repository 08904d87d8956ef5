// A queue item points at its entry with a QUEUES edge instead of copying the entry's
// id and hash: the item keeps only `at` (the `seal_queue_at` index orders the queue),
// and the unique constraint on `entryId`, an index entry with a uniqueness check on
// every change, goes. The entry itself is not touched. Items queued the old way get
// their edge here; an item whose entry is gone (deleted behind govtrail's back) keeps
// its `entryId`, for the operator to see.
MATCH (q:SealQueue)
WHERE q.entryId IS NOT NULL
CALL (q) {
  MATCH (e:AuditLog {id: q.entryId})
  CREATE (q)-[:QUEUES]->(e)
  REMOVE q.entryId, q.hash
} IN TRANSACTIONS OF 1000 ROWS;
DROP CONSTRAINT seal_queue_entry IF EXISTS;
