// The oldest queued entries (up to $max) and the newest checkpoint, for sealing.
// Params: $max. Columns: items [{entryId, hash}], seq (int or null), hash (or null).
CALL () {
  MATCH (q:SealQueue)
  WITH q ORDER BY q.at, q.entryId LIMIT $max
  RETURN collect(q {.entryId, .hash}) AS items
}
OPTIONAL MATCH (c:Checkpoint)
WITH items, c ORDER BY c.seq DESC LIMIT 1
RETURN items, c.seq AS seq, c.hash AS hash
