//! govtrail: a graph-backed governance audit trail on Neo4j.
//!
//! Every governed change runs in one Neo4j transaction that also writes the
//! `AuditLog` entry describing it; superusers read that history back.

pub mod audit;
pub mod auth;
pub mod config;
pub mod domain;
pub mod governance;
pub mod history;
pub mod http;
pub mod metrics;
pub mod store;
pub mod telemetry;
