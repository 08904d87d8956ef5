// The stored fingerprints of components an ingest lists. Params: $keys [string].
// Columns: key, fingerprint (null for a new component).
UNWIND $keys AS key
OPTIONAL MATCH (c:Component {key: key})
RETURN key, c.fingerprint AS fingerprint
