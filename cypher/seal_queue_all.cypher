// Entries waiting for a checkpoint, with when they were written.
// Params: none. Columns: entryId, at (text).
MATCH (q:SealQueue)
RETURN q.entryId AS entryId, toString(q.at) AS at
