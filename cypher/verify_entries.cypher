// Every audit entry in id order, a batch at a time, with the entities it AUDITS, the
// users it is PERFORMED_BY and APPROVED_BY and the change request it EXECUTES: what
// `govtrail verify` recomputes, chains and matches against the entry's own content;
// and the AUDITS edges whose copy of the target's id and the entry's timestamp (the
// history index's keys) disagree with them. Targets without an id (a node another tool linked)
// come back as null, for verification to report.
// Params: $after (id to continue after, '' to start), $limit.
// Columns: id, entry (map; timestamp as text), audits [id or null], performers [id or
// null], approvers [id or null] (APPROVED_BY), executes [id or null] (EXECUTES),
// misfiled [id or null] (AUDITS targets whose edge disagrees).
MATCH (e:AuditLog)
WHERE e.id > $after
WITH e ORDER BY e.id LIMIT $limit
RETURN e.id AS id,
       e {.*, timestamp: toString(e.timestamp)} AS entry,
       COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN x.id } AS audits,
       COLLECT { MATCH (e)-[:PERFORMED_BY]->(u) RETURN u.id } AS performers,
       COLLECT { MATCH (e)-[:APPROVED_BY]->(u) RETURN u.id } AS approvers,
       COLLECT { MATCH (e)-[:EXECUTES]->(r) RETURN r.id } AS executes,
       COLLECT { MATCH (e)-[a:AUDITS]->(x)
                 WHERE NOT coalesce(a.entity = x.id AND a.at = e.timestamp, false)
                 RETURN x.id } AS misfiled
