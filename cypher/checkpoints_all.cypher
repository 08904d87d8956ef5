// Every checkpoint, final or pending, in sequence order, for verification.
// Params: none. Columns: checkpoint (map; sealedAt as text), pending (bool).
MATCH (c)
WHERE c:Checkpoint OR c:PendingCheckpoint
RETURN c {.*, sealedAt: toString(c.sealedAt)} AS checkpoint, c:PendingCheckpoint AS pending
ORDER BY c.seq
