// One batch of an SBOM's components. Params: $sbom (id), $rows [{key, name, version,
// purl, license, hashes, references, fingerprint}].
MATCH (sb:Sbom {id: $sbom})
UNWIND $rows AS row
MERGE (c:Component {key: row.key})
SET c.name = row.name, c.version = row.version, c.purl = row.purl,
    c.license = row.license, c.hashes = row.hashes, c.references = row.references,
    c.fingerprint = row.fingerprint
CREATE (sb)-[:CONTAINS]->(c)
