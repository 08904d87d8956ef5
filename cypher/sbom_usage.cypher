// Which systems' current SBOMs list components that may be the technology $technology:
// those whose baseKey is its natural key (an index seek), and, when alias-table keys
// point at it ($aliases [{key, target}], target a natural key), those with one of
// those keys among their lookups. The caller applies the full matching rule to each.
// Params: $technology, $aliases. Columns: found (bool), name, key, uses
// [{systemId, systemName, ownerTeamId, sbomId, ingestedAt, key, name, version, purl}].
OPTIONAL MATCH (t:Technology {id: $technology})
WHERE NOT coalesce(t.deleted, false)
WITH t, [a IN $aliases WHERE a.target = t.nameKey | a.key] AS lookups
RETURN t IS NOT NULL AS found, t.name AS name, t.nameKey AS key,
  COLLECT {
    CALL (t, lookups) {
      MATCH (c:Component {baseKey: t.nameKey})
      RETURN c
      UNION
      MATCH (c:Component)
      WHERE size(lookups) > 0 AND any(k IN c.lookups WHERE k IN lookups)
      RETURN c
    }
    MATCH (sys:System)<-[:DESCRIBES]-(sb:Sbom {current: true})-[:CONTAINS]->(c)
    WHERE NOT coalesce(sys.deleted, false)
    RETURN {systemId: sys.id, systemName: sys.name,
            ownerTeamId: COLLECT { MATCH (o:Team)-[:OWNS]->(sys) RETURN o.id }[0],
            sbomId: sb.id, ingestedAt: toString(sb.ingestedAt),
            key: c.key, name: c.name, version: c.version, purl: c.purl} AS use
    ORDER BY use.systemId, use.key
  } AS uses
