// How far sealing lags: the number of queued entries (from the count store) and the
// oldest one's age (from the `seal_queue_at` index: no queue scan, even in a backlog).
// Params: none. Columns: queued (int), oldestMs (int or null).
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
RETURN queued, duration.inSeconds(oldest, datetime()).milliseconds AS oldestMs
