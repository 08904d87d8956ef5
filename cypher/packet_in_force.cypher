// What is in force now for one entity: the ACTIVE version constraints on the
// technologies it concerns (itself, its technology, the technologies its team approvals
// cover, the technology a constraint constrains) or enforced for it, every license
// decision, and whether the license whitelist is on.
// Params: $id, $type (label). Columns: constraints [map], licenses [map],
// whitelistEnabled (bool or null). No row if the entity does not exist.
MATCH (n:Governed {id: $id})
WHERE $type IN labels(n)
RETURN COLLECT {
         MATCH (c:VersionConstraint)-[:CONSTRAINS]->(t:Technology)
         WHERE c.status = 'ACTIVE'
           AND (t = n
                OR EXISTS { (t)-[:HAS_VERSION]->(n) }
                OR EXISTS { (n)-[:FOR_TECHNOLOGY|CONSTRAINS]->(t) }
                OR EXISTS { (n)-[:HAS_APPROVAL]->(:TeamApproval)-[:FOR_TECHNOLOGY]->(t) }
                OR EXISTS { (c)-[:ENFORCED_FOR]->(n) })
         WITH c, t ORDER BY c.id
         RETURN c {.id, .range, .status, .version, technologyId: t.id, technology: t.name,
                   enforcedFor: COLLECT { MATCH (c)-[:ENFORCED_FOR]->(team:Team) RETURN team.id ORDER BY team.id }}
       } AS constraints,
       COLLECT {
         MATCH (l:License)
         WHERE l.decision IN ['ALLOWED', 'DENIED']
         WITH l ORDER BY l.spdxId
         RETURN l {.id, .spdxId, .decision, .version}
       } AS licenses,
       COLLECT { MATCH (p:LicensePolicy) RETURN p.whitelistEnabled }[0] AS whitelistEnabled
