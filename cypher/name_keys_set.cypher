// Sets the natural key of existing names (start-up backfill of `nameKey`).
// Params: $rows [{id, key}]. Columns: updated.
UNWIND $rows AS row
MATCH (n:Governed {id: row.id})
SET n.nameKey = row.key
RETURN count(n) AS updated
