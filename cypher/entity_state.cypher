// The live governed state of one entity: its properties and governed relationships.
// Params: $id, $type (label). Columns: props, members, owners, stewards, enforcedFor,
// teams, stewardOf (lists of ids). No row if the entity does not exist.
MATCH (n:Governed {id: $id})
WHERE $type IN labels(n)
RETURN n {.*} AS props,
       COLLECT { MATCH (u:User)-[:MEMBER_OF]->(n) RETURN u.id } AS members,
       COLLECT { MATCH (t:Team)-[:OWNS]->(n) RETURN t.id } AS owners,
       COLLECT { MATCH (u:User)-[:STEWARD_OF]->(n) RETURN u.id } AS stewards,
       COLLECT { MATCH (n)-[:ENFORCED_FOR]->(t:Team) RETURN t.id } AS enforcedFor,
       COLLECT { MATCH (n)-[:MEMBER_OF]->(t:Team) RETURN t.id } AS teams,
       COLLECT { MATCH (n)-[:STEWARD_OF]->(x:Technology) RETURN x.id } AS stewardOf
