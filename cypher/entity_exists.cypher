// Whether a governed entity (tombstones included) exists: asked only when a read came
// back empty, to tell "nothing recorded" from "no such entity".
// Params: $id, $type (label). Columns: found (a row only if it exists).
MATCH (n:Governed {id: $id})
WHERE $type IN labels(n)
RETURN true AS found
LIMIT 1
