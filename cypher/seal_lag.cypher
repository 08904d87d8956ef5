// How far sealing lags: the number of queued entries and the oldest one's age.
// Params: none. Columns: queued (int), oldestMs (int or null).
MATCH (q:SealQueue)
RETURN count(q) AS queued,
       duration.inSeconds(min(q.at), datetime()).milliseconds AS oldestMs
