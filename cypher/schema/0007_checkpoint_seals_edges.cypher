// Checkpoints link to the entries they seal: (:Checkpoint)-[:SEALS {leaf}]->(:AuditLog),
// `leaf` being the entry's index in the checkpoint's Merkle tree. Checkpoints written
// before this migration get their links here, in batches.
MATCH (c:Checkpoint)
WHERE NOT (c)-[:SEALS]->(:AuditLog)
CALL (c) {
  UNWIND range(0, size(c.entryIds) - 1) AS leaf
  MATCH (e:AuditLog {id: c.entryIds[leaf]})
  MERGE (c)-[:SEALS {leaf: leaf}]->(e)
} IN TRANSACTIONS OF 100 ROWS;
