// AuditLog nodes verification cannot page through by id: no id, or an id that is not
// text (written by another tool sharing the database). Reported, never skipped.
// Params: none. Columns: node (element id), id (the id as text, or null).
MATCH (e:AuditLog)
WHERE e.id IS NULL OR NOT valueType(e.id) STARTS WITH 'STRING'
RETURN elementId(e) AS node, toString(e.id) AS id
