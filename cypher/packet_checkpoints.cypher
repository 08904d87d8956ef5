// The signed checkpoints a lineage packet refers to, each with the hashes of every
// entry it sealed in leaf order (to build inclusion proofs).
// Params: $seqs [int]. Columns: checkpoint (map; sealedAt as text), hashes [string].
MATCH (c:Checkpoint)
WHERE c.seq IN $seqs
RETURN c {.*, sealedAt: toString(c.sealedAt)} AS checkpoint,
       [id IN c.entryIds | COLLECT { MATCH (x:AuditLog {id: id}) RETURN x.hash }[0]] AS hashes
ORDER BY c.seq
