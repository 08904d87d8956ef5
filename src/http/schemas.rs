//! JSON Schemas (2020-12, as `OpenAPI` 3.1 uses them) of what govtrail answers: every
//! route's success body and the problem document. They describe the bodies the
//! handlers build; `tests/openapi.rs` and the schema-driven fuzzer in `dev/test`
//! check responses against them.

use serde_json::{Value, json};

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

/// A reference to a component schema.
#[must_use]
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// RFC 9457 problem details; `errors` lists invalid fields, `checks` says what a
/// readiness probe found.
#[must_use]
pub fn problem() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
                }
            },
            "checks": {"type": "object"}
        }
    })
}

/// What a governed change answers (200, or 201 when it created the entity).
#[must_use]
pub fn change_answer() -> Value {
    json!({
        "type": "object",
        "required": ["changed", "operation", "entity"],
        "properties": {
            "changed": {"type": "boolean", "description": "false: nothing to change, nothing written"},
            "operation": reference("Operation"),
            "auditLogId": {"type": "string", "format": "uuid", "description": "the entry written (absent when nothing changed)"},
            "entity": {
                "type": "object",
                "required": ["type", "id", "label", "version"],
                "properties": {
                    "type": reference("EntityType"),
                    "id": {"type": "string"},
                    "label": {"type": "string"},
                    "version": {"type": "integer"}
                }
            },
            "previousStatus": nullable("string"),
            "newStatus": nullable("string"),
            "changedFields": {"type": "array", "items": {"type": "string"}},
            "changes": {"type": "object", "description": "field → {old, new} or {added, removed}"},
            "detail": {"type": "string", "description": "why nothing changed"}
        }
    })
}

/// One audit entry as the read API shows it.
#[must_use]
pub fn entry() -> Value {
    json!({
        "type": "object",
        "required": ["id", "timestamp", "operation", "outcome", "userId", "hash", "actor", "audits"],
        "properties": {
            "id": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "operation": {"type": "string"},
            "outcome": {"type": "string"},
            "entityType": {"type": "string"},
            "entityId": {"type": "string"},
            "entityLabel": {"type": "string"},
            "entityVersion": {"type": "integer"},
            "route": {"type": "string"},
            "previousStatus": {"type": "string"},
            "newStatus": {"type": "string"},
            "changedFields": {"type": "array", "items": {"type": "string"}},
            "changes": {"description": "field → {old, new} or {added, removed}"},
            "reason": {"type": "string"},
            "source": {"type": "string"},
            "userId": {"type": "string", "description": "the actor's internal user id"},
            "correlationId": {"type": "string"},
            "policyVersion": {"type": "string"},
            "actorRoles": {"type": "array", "items": {"type": "string"}},
            "authMethod": {"type": "string"},
            "category": {"type": "string"},
            "severity": {"type": "string"},
            "relatedEntities": {"type": "array", "items": {"type": "string"}},
            "prevHashes": {"type": "array", "items": {"type": "string"}},
            "hash": {"type": "string"},
            "sealed": {"type": "boolean", "description": "sealed by a signed checkpoint (on feed, history and activity pages)"},
            "actor": {
                "type": "object",
                "required": ["userId", "displayName", "erased"],
                "properties": {
                    "userId": nullable("string"),
                    "displayName": nullable("string"),
                    "erased": {"type": "boolean"}
                }
            },
            "audits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"type": nullable("string"), "id": nullable("string")}
                }
            }
        }
    })
}

/// A page of entries with the cursor of the next one.
#[must_use]
pub fn page() -> Value {
    json!({
        "type": "object",
        "required": ["entries", "nextCursor"],
        "properties": {
            "entries": {"type": "array", "items": reference("AuditEntry")},
            "nextCursor": nullable("string")
        }
    })
}

/// Replayed state as of an instant, or replay beside the live graph.
#[must_use]
pub fn state() -> Value {
    json!({
        "type": "object",
        "required": ["entityType", "entityId", "entries"],
        "properties": {
            "entityType": reference("EntityType"),
            "entityId": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "state": {"type": "object"},
            "lastEntryId": nullable("string"),
            "replayed": {"type": "object"},
            "live": {"type": ["object", "null"]},
            "consistent": {"type": "boolean"},
            "differingFields": {"type": "array", "items": {"type": "string"}},
            "entries": {"type": "integer"}
        }
    })
}

/// The approval lineage graph.
#[must_use]
pub fn lineage() -> Value {
    json!({
        "type": "object",
        "required": ["nodes", "edges", "mermaid"],
        "properties": {
            "nodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "kind"],
                    "properties": {"id": {"type": "string"}, "kind": {"enum": ["decision", "entity", "actor"]}}
                }
            },
            "edges": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["from", "to", "type"],
                    "properties": {"from": {"type": "string"}, "to": {"type": "string"}, "type": {"type": "string"}}
                }
            },
            "mermaid": {"type": "string"}
        }
    })
}

/// An inclusion proof of one entry.
#[must_use]
pub fn proof() -> Value {
    json!({
        "type": "object",
        "required": ["entryId", "entryHash", "leafIndex", "treeSize", "auditPath", "checkpoint"],
        "properties": {
            "entryId": {"type": "string"},
            "entryHash": {"type": "string"},
            "leafIndex": {"type": "integer"},
            "treeSize": {"type": "integer"},
            "auditPath": {"type": "array", "items": {"type": "string"}},
            "checkpoint": {"type": "object"}
        }
    })
}

/// A verification report.
#[must_use]
pub fn verification() -> Value {
    json!({
        "type": "object",
        "required": ["verified", "entries", "chains", "checkpoints", "findings"],
        "properties": {
            "verified": {"type": "boolean"},
            "entries": {"type": "integer"},
            "chains": {"type": "integer"},
            "checkpoints": {"type": "integer"},
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "entryId", "entityId", "detail"],
                    "properties": {
                        "kind": {"type": "string"},
                        "entryId": nullable("string"),
                        "entityId": nullable("string"),
                        "detail": {"type": "string"}
                    }
                }
            }
        }
    })
}

/// A DSSE envelope (the signed lineage packet).
#[must_use]
pub fn envelope() -> Value {
    json!({
        "type": "object",
        "required": ["payload", "payloadType", "signatures"],
        "properties": {
            "payload": {"type": "string", "contentEncoding": "base64"},
            "payloadType": {"type": "string"},
            "signatures": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["sig"],
                    "properties": {"keyid": {"type": "string"}, "sig": {"type": "string"}}
                }
            }
        }
    })
}

/// The checkpoint verification keys.
#[must_use]
pub fn keys() -> Value {
    json!({
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["keyId", "algorithm", "publicKey", "publicKeyPem"],
                    "properties": {
                        "keyId": {"type": "string"},
                        "algorithm": {"type": "string"},
                        "publicKey": {"type": "string"},
                        "publicKeyPem": {"type": "string"}
                    }
                }
            }
        }
    })
}

/// Who the caller is.
#[must_use]
pub fn me() -> Value {
    json!({
        "type": "object",
        "required": ["userId", "displayName", "roles", "source", "authMethod"],
        "properties": {
            "userId": {"type": "string"},
            "displayName": nullable("string"),
            "roles": {"type": "array", "items": reference("Role")},
            "source": reference("Source"),
            "authMethod": {"type": "string"}
        }
    })
}

/// The operation catalog.
#[must_use]
pub fn catalog() -> Value {
    json!({
        "type": "object",
        "required": ["policyVersion", "changeRequestTtlSecs", "operations", "notAudited"],
        "properties": {
            "policyVersion": {"type": "string"},
            "changeRequestTtlSecs": {"type": "integer", "minimum": 0},
            "operations": {"type": "array", "items": {
                "type": "object",
                "required": ["code", "method", "path", "requiredRoles", "reasonRequired", "approval"],
                "properties": {
                    "code": {"type": "string"},
                    "checklist": {"type": "array", "items": {
                        "type": "object",
                        "required": ["code", "text"],
                        "properties": {"code": {"type": "string"}, "text": {"type": "string"}}
                    }},
                    "approval": {"oneOf": [
                        {"type": "null"},
                        {"type": "object", "required": ["approvals", "role"], "properties": {
                            "approvals": {"type": "integer", "minimum": 1},
                            "role": {"type": "string"}
                        }}
                    ]}
                }
            }},
            "notAudited": {"type": "array", "items": {"type": "object"}}
        }
    })
}

/// `POST /v1/systems/{id}/sboms`.
#[must_use]
pub fn sbom_receipt() -> Value {
    json!({
        "type": "object",
        "required": ["sbom", "alreadyCurrent", "counts", "evaluation", "policyVersion"],
        "properties": {
            "sbom": sbom(),
            "alreadyCurrent": {"type": "boolean"},
            "counts": {"type": "object", "required": ["components", "new", "updated", "unchanged", "unmatched"],
                "properties": {
                    "components": {"type": "integer"}, "new": {"type": "integer"},
                    "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                    "unmatched": {"type": "integer"}
                }},
            "evaluation": verdict_summary(),
            "policyVersion": {"type": "string"}
        }
    })
}

fn sbom() -> Value {
    json!({
        "type": "object",
        "required": ["id", "digest", "format", "specVersion", "ingestedAt", "ingestedBy"],
        "properties": {
            "id": {"type": "string"}, "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
            "format": {"enum": ["CycloneDX", "SPDX"]}, "specVersion": {"type": "string"},
            "serialNumber": {"type": ["string", "null"]}, "ingestedAt": {"type": "string"},
            "ingestedBy": {"type": "string"}
        }
    })
}

fn verdict_summary() -> Value {
    json!({
        "type": "object",
        "required": ["components", "allowed", "violation", "needsReview", "unmatched"],
        "properties": {
            "components": {"type": "integer"}, "allowed": {"type": "integer"},
            "violation": {"type": "integer"}, "needsReview": {"type": "integer"},
            "unmatched": {"type": "integer"}
        }
    })
}

/// `GET /v1/systems/{id}/compliance`.
#[must_use]
pub fn compliance() -> Value {
    let citation = json!({"auditLogId": {"type": "string"}, "operation": {"type": "string"}});
    json!({
        "type": "object",
        "required": ["systemId", "policyVersion", "evaluatedAt", "summary", "components"],
        "properties": {
            "systemId": {"type": "string"},
            "sbom": {"oneOf": [{"type": "null"}, sbom()]},
            "ownerTeamId": {"type": ["string", "null"]},
            "policyVersion": {"type": "string"},
            "evaluatedAt": {"type": "string"},
            "summary": verdict_summary(),
            "components": {"type": "array", "items": {
                "type": "object",
                "required": ["key", "name", "verdict", "reasons"],
                "properties": {
                    "key": {"type": "string"}, "name": {"type": "string"},
                    "version": {"type": ["string", "null"]},
                    "technology": {"type": ["object", "null"]},
                    "verdict": {"enum": ["allowed", "violation", "needs-review"]},
                    "license": {"type": ["string", "null"]},
                    "licenseChoice": {"type": ["array", "null"], "items": {"type": "string"}},
                    "reasons": {"type": "array", "items": {
                        "type": "object",
                        "required": ["rule", "severity", "message"],
                        "properties": {
                            "rule": {"enum": ["license", "constraint", "approval"]},
                            "severity": {"enum": ["violation", "needs-review", "warning", "satisfied"]},
                            "message": {"type": "string"},
                            "auditLogId": citation["auditLogId"], "operation": citation["operation"]
                        }
                    }}
                }
            }}
        }
    })
}

/// `GET /v1/technologies/{id}/usage`.
#[must_use]
pub fn technology_usage() -> Value {
    let nullable = json!({"type": ["string", "null"]});
    json!({
        "type": "object",
        "required": ["technologyId", "name", "systems", "versions"],
        "properties": {
            "technologyId": {"type": "string"},
            "name": {"type": "string"},
            "systems": {"type": "array", "items": {
                "type": "object",
                "required": ["systemId", "sbomId", "ingestedAt", "components"],
                "properties": {
                    "systemId": {"type": "string"}, "name": nullable,
                    "ownerTeamId": nullable, "sbomId": {"type": "string"},
                    "ingestedAt": {"type": "string"},
                    "components": {"type": "array", "items": {
                        "type": "object",
                        "required": ["key", "name"],
                        "properties": {
                            "key": {"type": "string"}, "name": {"type": "string"},
                            "version": nullable, "purl": nullable
                        }
                    }}
                }
            }},
            "versions": {"type": "array", "items": {
                "type": "object",
                "required": ["systemIds"],
                "properties": {
                    "version": nullable,
                    "systemIds": {"type": "array", "items": {"type": "string"}}
                }
            }}
        }
    })
}

/// `/healthz`.
#[must_use]
pub fn health() -> Value {
    json!({"type": "object", "required": ["status"], "properties": {"status": {"const": "up"}}})
}

/// `/readyz` when ready.
#[must_use]
pub fn ready() -> Value {
    json!({
        "type": "object",
        "required": ["status", "checks"],
        "properties": {"status": {"const": "ready"}, "checks": {"type": "object"}}
    })
}

/// `/status`.
#[must_use]
pub fn status() -> Value {
    json!({
        "type": "object",
        "required": ["status", "reasons", "checks"],
        "properties": {
            "status": {"enum": ["healthy", "degraded", "blocked"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "checks": {"type": "object"}
        }
    })
}

/// Any JSON object (the `OpenAPI` document itself).
#[must_use]
pub fn object() -> Value {
    json!({"type": "object"})
}

/// Text (Prometheus metrics, JSON lines, CSV, HTML).
#[must_use]
pub fn text() -> Value {
    json!({"type": "string"})
}

/// One change request as read.
#[must_use]
pub fn change_request() -> Value {
    json!({
        "type": "object",
        "required": ["id", "state", "operation", "command", "commandDigest", "targets",
                     "requesterId", "approvalsRequired", "approverRole", "approverIds",
                     "policyVersion", "requestedAt", "expiresAt"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "state": {"enum": ["PENDING", "EXECUTED", "REJECTED", "EXPIRED", "WITHDRAWN", "FAILED"]},
            "operation": reference("Operation"),
            "command": {"type": "object", "required": ["operation", "input"],
                        "description": "the exact command that runs when approved; its RFC 8785 form hashes to commandDigest"},
            "commandDigest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
            "targets": {"type": "array", "items": {"type": "object", "properties": {
                "type": reference("EntityType"), "id": {"type": "string"}, "version": {"type": "integer"}}}},
            "requesterId": {"type": "string"},
            "approvalsRequired": {"type": "integer", "minimum": 1},
            "approverRole": reference("Role"),
            "approverIds": {"type": "array", "items": {"type": "string"}},
            "policyVersion": {"type": "string"},
            "requestedAt": {"type": "string", "format": "date-time"},
            "expiresAt": {"type": "string", "format": "date-time"},
            "evidence": {"oneOf": [{"type": "null"}, {"type": "array", "items": reference("EvidenceRef")}]},
            "reason": {"type": "string"},
            "failure": {"type": "string"},
            "executedEntryId": {"type": "string"},
            "breakGlass": {"type": "boolean", "description": "ran at once without its approvals"},
            "reviewState": {"enum": ["UNREVIEWED", "REVIEWED"]},
            "reviewedBy": {"type": "string"},
            "reviewedAt": {"type": "string", "format": "date-time"},
            "version": {"type": "integer"},
            "transitions": {"type": "array", "items": {"type": "object"}}
        }
    })
}

/// A page of change requests.
#[must_use]
pub fn change_requests() -> Value {
    json!({
        "type": "object",
        "required": ["changeRequests"],
        "properties": {
            "changeRequests": {"type": "array", "items": change_request()},
            "nextCursor": {"type": ["string", "null"]}
        }
    })
}
