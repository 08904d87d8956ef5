// Records one applied migration. MERGE on the unique version makes two replicas that
// migrate at once converge; the caller compares the returned checksum with its own.
// Params: $version (int), $name, $checksum. Columns: checksum (of the recorded row).
MERGE (m:SchemaMigration {version: $version})
  ON CREATE SET m.name = $name, m.checksum = $checksum, m.appliedAt = datetime()
RETURN m.checksum AS checksum
