//! Checkpoints as readers see them: the newest ones (the console's integrity page), how
//! sealing and witnessing stand (`/status`), and one entry's inclusion proof.

use neo4rs::query;
use serde::Serialize;
use serde_json::Value;

use crate::store::{Store, StoreError};

const RECENT: &str = include_str!("../../cypher/checkpoints_recent.cypher");
const SEAL_LAG: &str = include_str!("../../cypher/seal_lag.cypher");
const ENTRY_CHECKPOINT: &str = include_str!("../../cypher/entry_checkpoint.cypher");

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

/// How sealing and witnessing stand, as `seal_lag.cypher` reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sealing {
    /// Entries queued for sealing.
    pub queued: i64,
    /// Age of the oldest queued entry, in ms.
    pub oldest_ms: Option<i64>,
    /// Age of the oldest checkpoint still waiting for the witness, in ms.
    pub pending_ms: Option<i64>,
    /// What the checkpointer last recorded as keeping heads from the witness.
    pub witness_error: Option<String>,
    /// For how long that error has held, in ms.
    pub witness_error_ms: Option<i64>,
    /// Break-glass changes nobody has reviewed yet.
    pub unreviewed: i64,
    /// When the oldest of them ran (canonical timestamp text).
    pub unreviewed_since: Option<String>,
}

/// How sealing and witnessing stand now.
pub async fn sealing(store: &Store) -> Result<Sealing, StoreError> {
    let row = store
        .read_one(query(SEAL_LAG))
        .await?
        .ok_or_else(|| store.decode("seal_lag.cypher returned no row"))?;
    let decode = |e| store.decode(e);
    Ok(Sealing {
        queued: row.get("queued").map_err(decode)?,
        oldest_ms: row.get("oldestMs").map_err(decode)?,
        pending_ms: row.get("pendingMs").map_err(decode)?,
        witness_error: row.get("witnessError").map_err(decode)?,
        witness_error_ms: row.get("witnessErrorMs").map_err(decode)?,
        unreviewed: row.get("unreviewed").map_err(decode)?,
        unreviewed_since: row.get("unreviewedSince").map_err(decode)?,
    })
}

/// An entry's place in the signed checkpoint that sealed it: enough to check offline
/// that the entry is in the signed Merkle root.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryProof {
    /// The entry's hash (the leaf).
    pub entry_hash: String,
    /// Its leaf index in the checkpoint's tree.
    pub leaf_index: usize,
    /// Leaves in the tree.
    pub tree_size: usize,
    /// The sibling hashes from the leaf up to the root.
    pub audit_path: Vec<String>,
    /// The checkpoint, signed head and all, without its `entryIds`.
    pub checkpoint: Value,
}

/// Why an entry has no inclusion proof.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// No entry has that id, or no checkpoint has sealed it yet.
    #[error("the entry does not exist or is not sealed yet")]
    NotSealed,
    /// The checkpoint that sealed it no longer matches the log (an entry it sealed is
    /// missing, or the leaf is outside its tree): `govtrail verify` says what changed.
    #[error("the checkpoint that sealed the entry no longer matches the log")]
    Broken,
    /// Neo4j failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The inclusion proof of entry `id` in the checkpoint that sealed it.
pub async fn entry_proof(store: &Store, id: &str) -> Result<EntryProof, ProofError> {
    let row = store
        .read_one(query(ENTRY_CHECKPOINT).param("id", id))
        .await?
        .ok_or(ProofError::NotSealed)?;
    let decode = |e| ProofError::Store(store.decode(e));
    let entry_hash: String = row.get("entryHash").map_err(decode)?;
    let leaf: i64 = row.get("leaf").map_err(decode)?;
    let mut checkpoint: Value = row.get("checkpoint").map_err(decode)?;
    let hashes: Vec<Option<String>> = row.get("hashes").map_err(decode)?;
    let hashes: Vec<String> = hashes
        .into_iter()
        .collect::<Option<_>>()
        .ok_or(ProofError::Broken)?;
    let leaf_index = usize::try_from(leaf).map_err(|_| ProofError::Broken)?;
    let audit_path =
        crate::audit::checkpoint::inclusion_proof(&hashes, leaf_index).ok_or(ProofError::Broken)?;
    if let Some(map) = checkpoint.as_object_mut() {
        map.remove("entryIds");
    }
    Ok(EntryProof {
        entry_hash,
        leaf_index,
        tree_size: hashes.len(),
        audit_path,
        checkpoint,
    })
}
