// How sealing and witnessing stand: the number of queued entries (from the count store)
// and the oldest one's age (from the `seal_queue_at` index: no queue scan, even in a
// backlog), the age of the oldest checkpoint still waiting for the witness, and what
// the checkpointer last recorded as keeping heads from the witness; and the break-glass
// changes nobody has reviewed yet (count, and when the oldest ran).
// Params: none. Columns: queued (int), oldestMs (int or null), pendingMs (int or null),
// witnessError (string or null), witnessErrorMs (int or null), unreviewed (int),
// unreviewedSince (canonical timestamp text or null).
CALL () {
  MATCH (q:SealQueue)
  RETURN count(q) AS queued
}
OPTIONAL CALL () {
  MATCH (q:SealQueue)
  WHERE q.at IS NOT NULL
  RETURN q.at AS oldest
  ORDER BY q.at
  LIMIT 1
}
OPTIONAL MATCH (l:CheckpointLease {id: 'checkpointer'})
RETURN queued,
       duration.inSeconds(oldest, datetime()).milliseconds AS oldestMs,
       COLLECT { MATCH (p:PendingCheckpoint)
                 RETURN duration.inSeconds(p.sealedAt, datetime()).milliseconds AS ms
                 ORDER BY ms DESC LIMIT 1 }[0] AS pendingMs,
       l.witnessError AS witnessError,
       duration.inSeconds(l.witnessErrorSince, datetime()).milliseconds AS witnessErrorMs,
       COUNT { MATCH (r:ChangeRequest {reviewState: 'UNREVIEWED'}) } AS unreviewed,
       COLLECT { MATCH (r:ChangeRequest {reviewState: 'UNREVIEWED'})
                 RETURN r.requestedAt AS at ORDER BY at LIMIT 1 }[0] AS unreviewedSince
