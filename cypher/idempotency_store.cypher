// Remembers the answer to a keyed request that changed nothing (a keyed change stores
// its record in governed_write instead), and removes the lock markers governed_read
// set, since this transaction commits. Runs in the request's transaction.
// Params: $idem {id, requestHash, status, body, etag}, $unlock [id]. Columns: none.
CALL () {
  UNWIND $unlock AS id
  MATCH (n:Governed {id: id})
  REMOVE n._lock
}
CREATE (i:IdempotencyKey)
SET i = $idem, i.createdAt = datetime()
