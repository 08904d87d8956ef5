// First statement of an SBOM ingest: takes the system's ingest lock (its SbomLock
// node, written so concurrent ingests of one system queue) and reads the system, its
// owning team and its current SBOM. Params: $system. Columns: found (bool), owner
// (team id or null), current (map or null).
OPTIONAL MATCH (sys:System {id: $system})
WHERE NOT coalesce(sys.deleted, false)
CALL (sys) {
  WITH sys WHERE sys IS NOT NULL
  MERGE (l:SbomLock {systemId: sys.id})
  SET l.at = datetime()
  RETURN count(l) AS locked
}
OPTIONAL MATCH (cur:Sbom {current: true})-[:DESCRIBES]->(sys)
RETURN sys IS NOT NULL AS found,
       COLLECT { MATCH (t:Team)-[:OWNS]->(sys) RETURN t.id }[0] AS owner,
       cur {.id, .digest, .format, .specVersion, .serialNumber, .ingestedBy,
            ingestedAt: toString(cur.ingestedAt), .components} AS current
