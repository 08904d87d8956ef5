// Which of the given checkpoint sequence numbers exist now, final or pending: what
// verification asks of witness lines newer than the checkpoints it read (sealed while it
// ran, or deleted).
// Params: $seqs (list of integers). Columns: seq.
MATCH (c:Checkpoint)
WHERE c.seq IN $seqs
RETURN c.seq AS seq
UNION
MATCH (c:PendingCheckpoint)
WHERE c.seq IN $seqs
RETURN c.seq AS seq
