// The new SBOM becomes the system's current one. Params: $system, $sbom (map).
MATCH (sys:System {id: $system})
OPTIONAL MATCH (old:Sbom {current: true})-[:DESCRIBES]->(sys)
SET old.current = false
WITH DISTINCT sys
CREATE (sb:Sbom)-[:DESCRIBES]->(sys)
SET sb = $sbom, sb.ingestedAt = datetime($sbom.ingestedAt), sb.current = true
