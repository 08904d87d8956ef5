// Second and last statement of every governed change, in the same transaction as
// governed_read: finds the acting User by its internal id *and* the token subject it
// must still have (no row, and nothing written, if the user was erased or the subject
// mapped anew since the id was resolved), applies the planned effects, refreshes the
// actor's name and email, creates the AuditLog with AUDITS (each carrying the entity's
// id and the entry's timestamp, for the history index), PERFORMED_BY and SUPERSEDES
// edges, moves each audited entity's chain head (`auditHead`) to the new entry's hash,
// and stores the idempotency record.
// Labels and relationship types arrive as values but come only from govtrail's
// closed enums.
// A change a change request runs is performed by its requester, found by id alone
// ($actor.subject null: the requester is not the caller), links the request
// (EXECUTES) and each approver (APPROVED_BY).
// Params: $creates [{label, props}], $updates [{id, set}],
//         $relAdds [{type, from, to}], $relRemoves [{type, from, to}],
//         $actor {id, subject, displayName, email}, $entry (map; timestamp as RFC 3339
//         text), $audits [id], $supersedes [audit log id], $idem (map or null),
//         $executes (change request id or null), $approvers [user id].
// Columns: entryId, audited (number of AUDITS edges created), superseded, approved;
// no row when the actor's identity moved.
MATCH (u:User {id: $actor.id})
WHERE $actor.subject IS NULL OR u.subject = $actor.subject
CALL () {
  UNWIND $creates AS c
  CREATE (n:Governed)
  SET n = c.props, n:$(c.label)
}
CALL () {
  UNWIND $updates AS upd
  MATCH (n:Governed {id: upd.id})
  SET n += upd.set
}
CALL () {
  UNWIND $relRemoves AS r
  MATCH (:Governed {id: r.from})-[x:$(r.type)]->(:Governed {id: r.to})
  DELETE x
}
CALL () {
  UNWIND $relAdds AS r
  MATCH (a:Governed {id: r.from}), (b:Governed {id: r.to})
  MERGE (a)-[:$(r.type)]->(b)
}
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
WITH e
CALL (e) {
  UNWIND $audits AS id
  MATCH (x:Governed {id: id})
  CREATE (e)-[:AUDITS {entity: x.id, at: e.timestamp}]->(x)
  SET x.auditHead = e.hash
  RETURN count(*) AS audited
}
CALL (e) {
  UNWIND $supersedes AS id
  MATCH (old:AuditLog {id: id})
  CREATE (e)-[:SUPERSEDES]->(old)
  RETURN count(*) AS superseded
}
CALL (e) {
  UNWIND $approvers AS id
  MATCH (a:User {id: id})
  CREATE (e)-[:APPROVED_BY]->(a)
  RETURN count(*) AS approved
}
CALL (e) {
  WITH e
  WHERE $executes IS NOT NULL
  MATCH (r:ChangeRequest {id: $executes})
  CREATE (e)-[:EXECUTES]->(r)
}
CALL () {
  WITH $idem AS k
  WHERE k IS NOT NULL
  CREATE (i:IdempotencyKey)
  SET i = k, i.createdAt = datetime()
}
RETURN e.id AS entryId, audited, superseded, approved
