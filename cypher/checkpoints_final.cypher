// Every final checkpoint in sequence order (for a witness adopting the chain).
// Params: none. Columns: checkpoint (map; sealedAt as text).
MATCH (c:Checkpoint)
WHERE c.seq IS NOT NULL
RETURN c {.*, sealedAt: toString(c.sealedAt)} AS checkpoint
ORDER BY c.seq
