// What the checkpointer must know before sealing: the newest final checkpoint, and any
// pending one (committed, not yet witnessed, sealing nothing yet).
// Params: none. Columns: seq (int or null), hash (or null), pending [map; sealedAt as text].
OPTIONAL MATCH (c:Checkpoint)
WHERE c.seq IS NOT NULL
WITH c ORDER BY c.seq DESC LIMIT 1
RETURN c.seq AS seq, c.hash AS hash,
       COLLECT { MATCH (p:PendingCheckpoint) RETURN p {.*, sealedAt: toString(p.sealedAt)} } AS pending
