// The actor's break-glass change that nobody has reviewed yet, if any (the governed
// read of the same transaction already holds the actor's user node's lock).
// Params: $requester (user id). Columns: id.
MATCH (r:ChangeRequest {requesterId: $requester, reviewState: 'UNREVIEWED'})
RETURN r.id AS id
LIMIT 1
