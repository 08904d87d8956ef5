// Test seam only (Faults::fail_after_write): violates the AuditLog id uniqueness
// constraint after the entry was written, so the whole transaction must roll back.
// Params: $entryId. Columns: none.
CREATE (:AuditLog {id: $entryId})
