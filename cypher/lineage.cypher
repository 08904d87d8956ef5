// The decisions behind an entity: successful entries auditing it or, up to depth - 1
// hops away, auditing the decision-bearing entities (team approvals, constraints,
// versions, licenses, technologies) those entries touched. The braced hop count below
// is 1 or 2, from the validated depth (depth 1 reaches no further than the entity
// itself); every value is a parameter.
// Params: $id, $type (label), $depth (1..3), $max (most entries).
// Columns: entry (map), actorName and actorErased (of the User the hashed `userId` names),
// audits [{type, id, label, state}], supersedes [id], executes [{id, operation, state}]
// (the change request an entry ran), approvers [{id, displayName, erased}].
MATCH (root:Governed {id: $id})
WHERE $type IN labels(root)
OPTIONAL MATCH (root) (()<-[:AUDITS]-(:AuditLog)-[:AUDITS]->(b:Governed)
                       WHERE b:TeamApproval OR b:VersionConstraint OR b:Version OR b:License OR b:Technology){1,{hops}} (m:Governed)
WHERE $depth > 1
WITH root, collect(DISTINCT m) AS reached
UNWIND [root] + reached AS m
WITH DISTINCT m
MATCH (m)<-[:AUDITS]-(e:AuditLog)
WHERE e.outcome = 'SUCCEEDED'
WITH DISTINCT e
ORDER BY e.timestamp, e.id
LIMIT $max
OPTIONAL MATCH (u:User {id: e.userId})
RETURN e {.*, timestamp: toString(e.timestamp)} AS entry,
       u.displayName AS actorName,
       coalesce(u.erased, false) AS actorErased,
       COLLECT { MATCH (e)-[:AUDITS]->(x)
                 RETURN {type: [l IN labels(x) WHERE l <> 'Governed'][0], id: x.id,
                         label: coalesce(x.name, x.deletedName, x.spdxId, x.range, x.operation, x.id),
                         state: x.state} } AS audits,
       COLLECT { MATCH (e)-[:SUPERSEDES]->(old:AuditLog) RETURN old.id } AS supersedes,
       COLLECT { MATCH (e)-[:EXECUTES]->(cr:ChangeRequest)
                 RETURN {id: cr.id, operation: cr.operation, state: cr.state} } AS executes,
       COLLECT { MATCH (e)-[:APPROVED_BY]->(a:User)
                 RETURN {id: a.id, displayName: a.displayName, erased: coalesce(a.erased, false)}
                 ORDER BY a.id } AS approvers
