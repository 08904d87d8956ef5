// The newest checkpoints, final or waiting for the witness, newest first, for the
// console's integrity page. Params: $limit. Columns: seq, sealedAt (text), entries,
// keyId, pending (bool).
MATCH (c)
WHERE c:Checkpoint OR c:PendingCheckpoint
WITH c ORDER BY c.seq DESC LIMIT $limit
RETURN c.seq AS seq, toString(c.sealedAt) AS sealedAt, size(c.entryIds) AS entries,
       c.keyId AS keyId, c:PendingCheckpoint AS pending
