// Every checkpoint in sequence order, for verification.
// Params: none. Columns: checkpoint (map; sealedAt as text).
MATCH (c:Checkpoint)
RETURN c {.*, sealedAt: toString(c.sealedAt)} AS checkpoint
ORDER BY c.seq
