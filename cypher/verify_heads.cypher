// Each governed entity's chain head (the hash of its newest entry).
// Params: none. Columns: id, head (string or null for entities never audited).
MATCH (x:Governed)
WHERE x.auditHead IS NOT NULL OR EXISTS { (x)<-[:AUDITS]-(:AuditLog) }
RETURN x.id AS id, x.auditHead AS head
