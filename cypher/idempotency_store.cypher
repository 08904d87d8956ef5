// Remembers the answer to a keyed request that changed nothing (a keyed change stores
// its record in governed_write instead). Runs in the request's transaction.
// Params: $idem {id, requestHash, status, body, etag}. Columns: none.
CREATE (i:IdempotencyKey)
SET i = $idem, i.createdAt = datetime()
