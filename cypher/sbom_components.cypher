// One batch of an SBOM's components. Params: $sbom (id), $rows [{key, name, version,
// purl, license, hashes, references, fingerprint, baseKey, lookups}] (baseKey and
// lookups: what the component is matched to a technology by, see src/sbom/matching.rs).
MATCH (sb:Sbom {id: $sbom})
UNWIND $rows AS row
MERGE (c:Component {key: row.key})
SET c.name = row.name, c.version = row.version, c.purl = row.purl,
    c.license = row.license, c.hashes = row.hashes, c.references = row.references,
    c.fingerprint = row.fingerprint, c.baseKey = row.baseKey, c.lookups = row.lookups
CREATE (sb)-[:CONTAINS]->(c)
