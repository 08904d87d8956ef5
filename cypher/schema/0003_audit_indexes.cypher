// Indexes behind the audit feed and history reads: by time, by entity, by actor,
// by operation, by correlation id.
CREATE RANGE INDEX audit_log_timestamp IF NOT EXISTS FOR (n:AuditLog) ON (n.timestamp);
CREATE RANGE INDEX audit_log_entity IF NOT EXISTS FOR (n:AuditLog) ON (n.entityType, n.entityId);
CREATE RANGE INDEX audit_log_user IF NOT EXISTS FOR (n:AuditLog) ON (n.userId);
CREATE RANGE INDEX audit_log_operation IF NOT EXISTS FOR (n:AuditLog) ON (n.operation);
CREATE RANGE INDEX audit_log_correlation IF NOT EXISTS FOR (n:AuditLog) ON (n.correlationId);
