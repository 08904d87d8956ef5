// A system's current SBOM and its components, for evaluation. Params: $system.
// Columns: found (bool), owner (team id or null), sbom (map or null),
// components [{key, name, version, purl, license}].
OPTIONAL MATCH (sys:System {id: $system})
WHERE NOT coalesce(sys.deleted, false)
OPTIONAL MATCH (sb:Sbom {current: true})-[:DESCRIBES]->(sys)
RETURN sys IS NOT NULL AS found,
       [(t:Team)-[:OWNS]->(sys) | t.id][0] AS owner,
       sb {.id, .digest, .format, .specVersion, .serialNumber, .ingestedBy,
           ingestedAt: toString(sb.ingestedAt)} AS sbom,
       COLLECT { MATCH (sb)-[:CONTAINS]->(c:Component)
                 RETURN c {.key, .name, .version, .purl, .license} AS c ORDER BY c.key } AS components
