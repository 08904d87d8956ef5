// What retiring a technology ends, read before the change runs (the change then
// locks these nodes and checks the technology still has exactly these).
// Params: $id (technology id). Columns: constraints [string], approvals [string]
// (each sorted; empty when the technology does not exist).
OPTIONAL MATCH (t:Technology {id: $id})
RETURN COLLECT {
         MATCH (c:VersionConstraint)-[:CONSTRAINS]->(t) RETURN c.id ORDER BY c.id
       } AS constraints,
       COLLECT {
         MATCH (a:TeamApproval)-[:FOR_TECHNOLOGY]->(t) RETURN a.id ORDER BY a.id
       } AS approvals
