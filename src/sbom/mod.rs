//! SBOM ingest and compliance evaluation. SBOM data (documents, components, their
//! hashes, references and dependencies) is operational: it changes through automated
//! ingest and is never audited. The governed decisions that apply to it (license
//! decisions, the whitelist, version constraints, technology approvals) are, and every
//! verdict cites the entry behind the decision it rests on.

pub mod compliance;
pub mod document;
pub mod evaluate;
pub mod ingest;
pub mod matching;
pub mod usage;

use std::collections::BTreeMap;

use chrono::{SecondsFormat, Utc};
use neo4rs::Txn;
use serde::Serialize;
use serde_json::Value;

use crate::store::{Store, StoreError};
use document::DocumentError;

/// How ingests and evaluations behave.
#[derive(Debug, Clone)]
pub struct SbomSettings {
    /// SBOMs kept per system (the current one included).
    pub keep: usize,
    /// Component name, or package URL `type/namespace/name` or `type/name` →
    /// technology name, where the two differ.
    pub aliases: BTreeMap<String, String>,
    /// The policy version verdicts are given under.
    pub policy_version: String,
    /// Test seam: fail every ingest after its last write, before commit (as
    /// governance's `Faults` does), to show a failure leaves the previous state whole.
    pub fail_before_commit: bool,
}

/// Why an ingest, an evaluation or a usage query was refused.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// No such (live) system.
    #[error("system {0} does not exist")]
    UnknownSystem(String),
    /// No such (live) technology.
    #[error("technology {0} does not exist")]
    UnknownTechnology(String),
    /// The document is not one govtrail reads.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// Neo4j failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A stored document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomView {
    /// Id.
    pub id: String,
    /// `sha256:` of the document as received.
    pub digest: String,
    /// `CycloneDX` or `SPDX`.
    pub format: String,
    /// Its version.
    pub spec_version: String,
    /// Serial number or document namespace.
    pub serial_number: Option<String>,
    /// When it was ingested.
    pub ingested_at: String,
    /// The internal id of who sent it.
    pub ingested_by: String,
}

impl SbomView {
    /// Reads the map the SBOM queries return.
    fn from_value(value: &Value) -> Option<Self> {
        let text = |k: &str| value[k].as_str().map(str::to_owned);
        Some(Self {
            id: text("id")?,
            digest: text("digest")?,
            format: text("format").unwrap_or_default(),
            spec_version: text("specVersion").unwrap_or_default(),
            serial_number: text("serialNumber"),
            ingested_at: text("ingestedAt").unwrap_or_default(),
            ingested_by: text("ingestedBy").unwrap_or_default(),
        })
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Every row of `statement`, run in `txn`.
async fn rows(
    store: &Store,
    txn: &mut Txn,
    statement: neo4rs::Query,
) -> Result<Vec<neo4rs::Row>, StoreError> {
    let mut stream = txn.execute(statement).await.map_err(|e| store.error(e))?;
    let mut out = Vec::new();
    while let Some(row) = stream
        .next(txn.handle())
        .await
        .map_err(|e| store.error(e))?
    {
        out.push(row);
    }
    Ok(out)
}
