// Bulk seeding (benchmarks, demo data): writes one batch of entries that were hashed
// and chained by the seeder exactly as a governed change does it. Each entry AUDITS
// its entity, is PERFORMED_BY its actor and is queued for sealing; then the entities
// touched move their chain head and governed state to their newest entry.
// Params: $rows [{entity, entry (map; timestamp as RFC 3339 text)}],
//         $heads [{id, set (map)}]. Columns: updated.
CALL () {
  UNWIND $rows AS row
  MATCH (x:Governed {id: row.entity})
  MATCH (u:User {id: row.entry.userId})
  CREATE (e:AuditLog)
  SET e = row.entry, e.timestamp = datetime(row.entry.timestamp)
  CREATE (e)-[:AUDITS {entity: x.id, at: e.timestamp}]->(x)
  CREATE (e)-[:PERFORMED_BY]->(u)
  CREATE (:SealQueue {at: e.timestamp})-[:QUEUES]->(e)
}
UNWIND $heads AS h
MATCH (x:Governed {id: h.id})
SET x += h.set
RETURN count(*) AS updated
