// Stores a signed checkpoint as pending: committed before its head goes to the witness,
// sealing nothing and dequeuing nothing until it is finalized. The unique `seq` of
// pending checkpoints keeps two writers from forking.
// Params: $checkpoint (map; sealedAt as RFC 3339 text). Columns: seq.
CREATE (p:PendingCheckpoint)
SET p = $checkpoint, p.sealedAt = datetime($checkpoint.sealedAt)
RETURN p.seq AS seq
