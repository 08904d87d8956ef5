//! govtrail: a graph-backed governance audit trail on Neo4j.
//!
//! Every governed change runs in one Neo4j transaction that also writes the
//! `AuditLog` entry describing it; superusers read that history back.
//!
//! - [`domain`]: ids, entity types, statuses, roles, operation codes — pure types.
//! - [`governance`]: the only writer: lock and read, decide, write change + entry.
//! - [`audit`]: entry construction, scrubbing, hashes and chains, checkpoints, verification.
//! - [`history`]: superuser reads — feed, history, activity, replay, lineage.
//! - [`export`]: audit streams (JSON lines, CSV) in constant memory.
//! - [`http`]: axum routers, extractors, problem+json, catalog, `OpenAPI`.
//! - [`auth`]: JWT verification and principals.
//! - [`store`]: the Neo4j pool, error classification, migrations.
//! - [`config`], [`telemetry`], [`metrics`]: settings, logs, Prometheus metrics.

pub mod audit;
pub mod auth;
pub mod config;
pub mod domain;
pub mod export;
pub mod governance;
pub mod history;
pub mod http;
pub mod metrics;
pub mod sbom;
pub mod seed;
pub mod store;
pub mod telemetry;
