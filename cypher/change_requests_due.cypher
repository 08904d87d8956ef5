// PENDING change requests past their time, oldest deadline first (index
// change_request_expiry). Timestamps are canonical text, so text order is time order.
// Params: $now (canonical timestamp), $limit. Columns: id.
MATCH (r:ChangeRequest)
WHERE r.state = 'PENDING' AND r.expiresAt <= $now
RETURN r.id AS id
ORDER BY r.expiresAt
LIMIT $limit
