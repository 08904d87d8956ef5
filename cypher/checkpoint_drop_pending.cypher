// Removes a pending checkpoint the witness never received and no live checkpointer
// owns (its maker died, or it was forged): it sealed nothing, its entries are still
// queued, and the next round seals them anew.
// Params: $seq. Columns: dropped.
MATCH (p:PendingCheckpoint {seq: $seq})
DELETE p
RETURN count(p) AS dropped
