// The stored hash of each given entry that exists: what verification asks of entries a
// checkpoint seals but its read of the log did not include (written while it ran, or
// deleted).
// Params: $ids (list of entry ids). Columns: id, hash.
MATCH (e:AuditLog)
WHERE e.id IN $ids
RETURN e.id AS id, e.hash AS hash
