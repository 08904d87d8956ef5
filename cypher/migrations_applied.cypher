// Lists the schema migrations recorded as applied.
// Params: none. Columns: version (int), name (string), checksum (hex SHA-256 string).
MATCH (m:SchemaMigration)
RETURN m.version AS version, m.name AS name, m.checksum AS checksum
ORDER BY version
