// Records an entry that changes no entity — an attempt refused for lack of a role
// (outcome DENIED) or an export — in a transaction of its own. No AUDITS edge: no
// entity's history moves; the entry names its subject in entityType/entityId, links
// its actor, and is queued for the next checkpoint like every entry.
// The actor is found by its internal id and the token subject it must still have.
// Params: $actor {id, subject, displayName, email}, $entry (map; timestamp as RFC 3339
// text). Columns: entryId; no row (nothing written) when the actor's identity moved.
MATCH (u:User {id: $actor.id})
WHERE u.subject = $actor.subject
// Write name and email only when they changed: a SET takes the actor's write lock
// until commit, which would serialize every concurrent change by the same caller.
CALL (u) {
  WITH u
  WHERE coalesce(u.displayName, '') <> coalesce($actor.displayName, u.displayName, '')
     OR coalesce(u.email, '') <> coalesce($actor.email, u.email, '')
  SET u.displayName = coalesce($actor.displayName, u.displayName),
      u.email = coalesce($actor.email, u.email)
}
CREATE (e:AuditLog)
SET e = $entry, e.timestamp = datetime($entry.timestamp)
// Queued for the next signed checkpoint (the queue item, not the entry, is what the
// checkpointer deletes).
CREATE (:SealQueue {at: e.timestamp})-[:QUEUES]->(e)
CREATE (e)-[:PERFORMED_BY]->(u)
RETURN e.id AS entryId
