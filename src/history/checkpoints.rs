//! The newest signed checkpoints, as the console's integrity page lists them.

use neo4rs::query;
use serde::Serialize;

use crate::store::{Store, StoreError};

const RECENT: &str = include_str!("../../cypher/checkpoints_recent.cypher");

/// One checkpoint, summarized.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointSummary {
    /// Sequence number.
    pub seq: i64,
    /// When it was sealed (as recorded in Neo4j; the witness is trusted over it).
    pub sealed_at: Option<String>,
    /// Entries it seals.
    pub entries: i64,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// True while it waits for the external witness.
    pub pending: bool,
}

/// The newest `limit` checkpoints, newest first.
pub async fn recent(store: &Store, limit: i64) -> Result<Vec<CheckpointSummary>, StoreError> {
    let mut rows = store.read(query(RECENT).param("limit", limit)).await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        out.push(CheckpointSummary {
            seq: row.get("seq").map_err(|e| store.decode(e))?,
            sealed_at: row.get("sealedAt").map_err(|e| store.decode(e))?,
            entries: row
                .get::<Option<i64>>("entries")
                .map_err(|e| store.decode(e))?
                .unwrap_or(0),
            key_id: row.get("keyId").map_err(|e| store.decode(e))?,
            pending: row.get("pending").map_err(|e| store.decode(e))?,
        });
    }
    Ok(out)
}
