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
// The entry's edges are read in one expand (one list of [type, target id, misfiled]),
// then split by type: with five separate subqueries the same read streamed at
// 25.5-28.5k entries/s, against 29-32.5k/s (docs/performance.md).
MATCH (e:AuditLog)
WHERE e.id > $after
WITH e ORDER BY e.id LIMIT $limit
WITH e, [(e)-[r:AUDITS|PERFORMED_BY|APPROVED_BY|EXECUTES]->(x) |
         [type(r), x.id,
          type(r) = 'AUDITS' AND NOT coalesce(r.entity = x.id AND r.at = e.timestamp, false)]]
        AS edges
RETURN e.id AS id,
       e {.*, timestamp: toString(e.timestamp)} AS entry,
       [x IN edges WHERE x[0] = 'AUDITS' | x[1]] AS audits,
       [x IN edges WHERE x[0] = 'PERFORMED_BY' | x[1]] AS performers,
       [x IN edges WHERE x[0] = 'APPROVED_BY' | x[1]] AS approvers,
       [x IN edges WHERE x[0] = 'EXECUTES' | x[1]] AS executes,
       [x IN edges WHERE x[2] | x[1]] AS misfiled
