// The oldest queued entries (up to $max), with the primary entity each names, for the
// next checkpoint. The IS NOT NULL predicate lets the planner read the queue in
// `seal_queue_at` order, never sorting it; each item's QUEUES edge leads to its entry.
// Params: $max. Columns: items [{entryId, hash, entity ('' when the entry names none)}].
MATCH (q:SealQueue)
WHERE q.at IS NOT NULL
WITH q ORDER BY q.at LIMIT $max
MATCH (q)-[:QUEUES]->(e:AuditLog)
RETURN collect({entryId: e.id, hash: e.hash, entity: coalesce(e.entityId, '')}) AS items
