// Keeps a system's newest $keep SBOMs; deletes older ones and the components no SBOM
// lists any more. Params: $system, $keep. Columns: deleted (SBOMs removed).
MATCH (sb:Sbom)-[:DESCRIBES]->(:System {id: $system})
WITH sb ORDER BY sb.ingestedAt DESC, sb.id DESC
SKIP $keep
OPTIONAL MATCH (sb)-[:CONTAINS]->(c:Component)
WITH collect(DISTINCT sb) AS gone, collect(DISTINCT c) AS parts
FOREACH (s IN gone | DETACH DELETE s)
WITH gone, parts
CALL (parts) {
  UNWIND parts AS c
  WITH c WHERE NOT EXISTS { (:Sbom)-[:CONTAINS]->(c) }
  DETACH DELETE c
  RETURN count(*) AS orphans
}
RETURN size(gone) AS deleted
