// The oldest queued entries (up to $max) and the newest checkpoint, for sealing. The
// IS NOT NULL predicates let the planner read the queue in `seal_queue_at` order and
// the newest checkpoint from the `checkpoint_seq` index, never scanning either.
// Params: $max. Columns: items [{entryId, hash}], seq (int or null), hash (or null).
CALL () {
  MATCH (q:SealQueue)
  WHERE q.at IS NOT NULL
  WITH q ORDER BY q.at, q.entryId LIMIT $max
  RETURN collect(q {.entryId, .hash}) AS items
}
OPTIONAL MATCH (c:Checkpoint)
WHERE c.seq IS NOT NULL
WITH items, c ORDER BY c.seq DESC LIMIT 1
RETURN items, c.seq AS seq, c.hash AS hash
