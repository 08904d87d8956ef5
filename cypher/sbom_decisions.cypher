// The governed decisions a compliance evaluation applies, each with the successful
// entry that made it. Params: $owner (team id or null), $keys [technology natural key].
// Columns: licenses, whitelist, constraints, approvals, technologies.
CALL () {
  MATCH (l:License)
  RETURN collect({spdxId: l.spdxId, decision: l.decision,
    cite: COLLECT { MATCH (l)<-[:AUDITS]-(e:AuditLog)
                    WHERE e.entityId = l.id AND e.outcome = 'SUCCEEDED'
                      AND e.operation IN ['ALLOW_LICENSE', 'DENY_LICENSE']
                    RETURN {auditLogId: e.id, operation: e.operation}
                    ORDER BY e.timestamp DESC LIMIT 1 }[0]}) AS licenses
}
CALL () {
  OPTIONAL MATCH (p:LicensePolicy)
  RETURN {enabled: coalesce(p.whitelistEnabled, false),
    cite: COLLECT { MATCH (p)<-[:AUDITS]-(e:AuditLog)
                    WHERE e.entityId = p.id AND e.outcome = 'SUCCEEDED'
                      AND e.operation IN ['ENABLE_LICENSE_WHITELIST', 'DISABLE_LICENSE_WHITELIST']
                    RETURN {auditLogId: e.id, operation: e.operation}
                    ORDER BY e.timestamp DESC LIMIT 1 }[0]} AS whitelist
}
CALL () {
  OPTIONAL MATCH (c:VersionConstraint {status: 'ACTIVE'})-[:ENFORCED_FOR]->(:Team {id: $owner})
  WITH c WHERE c IS NOT NULL AND NOT coalesce(c.deleted, false)
  RETURN collect({id: c.id, technologyId: c.technologyId, range: c.range,
    cite: COLLECT { MATCH (c)<-[:AUDITS]-(e:AuditLog)
                    WHERE e.entityId = c.id AND e.outcome = 'SUCCEEDED' AND e.newStatus = 'ACTIVE'
                    RETURN {auditLogId: e.id, operation: e.operation}
                    ORDER BY e.timestamp DESC LIMIT 1 }[0]}) AS constraints
}
CALL () {
  OPTIONAL MATCH (:Team {id: $owner})-[:HAS_APPROVAL]->(a:TeamApproval)-[:FOR_TECHNOLOGY]->(t:Technology)
  WITH a, t WHERE a IS NOT NULL
  RETURN collect({technologyId: t.id, timeCategory: a.timeCategory, eolDate: a.eolDate,
    approvedRanges: coalesce(a.approvedRanges, []),
    migrationTarget: COLLECT { MATCH (m:Technology {id: a.migrationTargetId})
                               RETURN coalesce(m.name, m.deletedName) }[0],
    timeCite: COLLECT { MATCH (a)<-[:AUDITS]-(e:AuditLog)
                        WHERE e.entityId = a.id AND e.outcome = 'SUCCEEDED' AND e.operation = 'SET_TIME_CATEGORY'
                        RETURN {auditLogId: e.id, operation: e.operation}
                        ORDER BY e.timestamp DESC LIMIT 1 }[0],
    eolCite: COLLECT { MATCH (a)<-[:AUDITS]-(e:AuditLog)
                       WHERE e.entityId = a.id AND e.outcome = 'SUCCEEDED' AND e.operation = 'SET_EOL_DATE'
                       RETURN {auditLogId: e.id, operation: e.operation}
                       ORDER BY e.timestamp DESC LIMIT 1 }[0],
    revocations: COLLECT { MATCH (a)<-[:AUDITS]-(e:AuditLog)
                           WHERE e.entityId = a.id AND e.outcome = 'SUCCEEDED' AND e.operation = 'REVOKE_APPROVAL'
                           RETURN {auditLogId: e.id, operation: e.operation, changes: e.changes}
                           ORDER BY e.timestamp }}) AS approvals
}
CALL () {
  UNWIND $keys AS key
  MATCH (t:Technology {nameKey: key})
  RETURN collect({key: key, id: t.id, name: t.name}) AS technologies
}
RETURN licenses, whitelist, constraints, approvals, technologies
