// The oldest queued entries (up to $max), with the primary entity each names, for the
// next checkpoint. The IS NOT NULL predicate lets the planner read the queue in
// `seal_queue_at` order, never sorting it.
// Params: $max. Columns: items [{entryId, hash, entity ('' when the entry names none)}].
MATCH (q:SealQueue)
WHERE q.at IS NOT NULL
WITH q ORDER BY q.at, q.entryId LIMIT $max
OPTIONAL MATCH (e:AuditLog {id: q.entryId})
RETURN collect({entryId: q.entryId, hash: q.hash, entity: coalesce(e.entityId, '')}) AS items
