// Stores a signed checkpoint and removes the entries it seals from the queue. The
// unique `seq` makes a second writer of the same checkpoint fail instead of forking.
// Params: $checkpoint (map; sealedAt as RFC 3339 text). Columns: dequeued.
CREATE (c:Checkpoint)
SET c = $checkpoint, c.sealedAt = datetime($checkpoint.sealedAt)
WITH c
UNWIND c.entryIds AS id
MATCH (q:SealQueue {entryId: id})
DELETE q
RETURN count(*) AS dequeued
