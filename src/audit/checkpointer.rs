//! The checkpointer: one per deployment at a time (elected with a lease in Neo4j), it
//! seals queued entries into signed checkpoints and gets every checkpoint head to the
//! external witness, in order.
//!
//! A checkpoint goes through three steps:
//! 1. it is committed as a `:PendingCheckpoint` — signed, sealing nothing, dequeuing
//!    nothing;
//! 2. its head is appended to the witness (retried every round until it is);
//! 3. it is finalized: it becomes a `:Checkpoint`, gets its `SEALS` edges, and its
//!    entries leave the queue.
//!
//! So a crash between any two steps leaves nothing a later round cannot finish or
//! safely discard: a pending checkpoint the witness holds is finalized; one it does not
//! hold, and that this process did not make, is dropped (it sealed nothing) and its
//! entries are sealed anew. The checkpointer never witnesses a checkpoint it did not
//! make itself, so a checkpoint forged in the database by someone holding the signing
//! key can never reach the witness through it; a final checkpoint the witness lacks
//! stops sealing and is reported on `/status` and by verification.
//!
//! The checkpointer only reads entries and adds edges to them: it never takes a lock a
//! governed change waits on.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use neo4rs::query;
use serde_json::{Value, json};

use super::checkpoint::{CheckpointKey, MAX_BATCH, checkpoint_hash, merkle_root};
use super::hash::{GENESIS, canonical_timestamp};
use super::witness::{FileWitness, Head, WitnessError};
use crate::store::{Store, StoreError};

const LEASE: &str = include_str!("../../cypher/checkpoint_lease.cypher");
const STATE: &str = include_str!("../../cypher/checkpoint_state.cypher");
const BATCH: &str = include_str!("../../cypher/checkpoint_batch.cypher");
const PEND: &str = include_str!("../../cypher/checkpoint_pend.cypher");
const FINALIZE: &str = include_str!("../../cypher/checkpoint_finalize.cypher");
const DROP_PENDING: &str = include_str!("../../cypher/checkpoint_drop_pending.cypher");
const WITNESS_STATUS: &str = include_str!("../../cypher/checkpoint_witness_status.cypher");

const FINAL_ALL: &str = include_str!("../../cypher/checkpoints_final.cypher");

/// Writes the database's checkpoint chain, as it stands, into an empty witness: the
/// operator's explicit step when a witness is added to a deployment that already has
/// checkpoints (until then the checkpointer refuses to seal on top of checkpoints no
/// witness holds). Refuses a witness that holds anything. Returns the heads written.
pub async fn adopt(store: &Store, witness: &FileWitness) -> Result<usize, CheckpointError> {
    let held = witness.read_all()?;
    if !held.heads.is_empty() || !held.bad.is_empty() {
        return Err(CheckpointError::Blocked(format!(
            "the witness {} is not empty: a witness adopts a chain only once",
            witness.path().display()
        )));
    }
    let mut rows = store.read(query(FINAL_ALL)).await?;
    let mut written = 0;
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let mut checkpoint: Value = row.get("checkpoint").map_err(|e| store.decode(e))?;
        if let Some(map) = checkpoint.as_object_mut() {
            super::hash::canonicalize_field(map, "sealedAt");
        }
        witness.append(&Head::of(&checkpoint))?;
        written += 1;
    }
    Ok(written)
}

/// What one sealing round produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Sequence number.
    pub seq: i64,
    /// Entries sealed.
    pub count: usize,
}

/// Why a round did not seal.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Neo4j failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The witness could not take the head; the checkpoint stays pending and the next
    /// round tries again.
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// The database holds a final checkpoint the witness never received: sealing stops
    /// until an operator has looked (`govtrail verify` says what it is).
    #[error("sealing stopped: {0}")]
    Blocked(String),
}

/// The checkpointer of one replica.
pub struct Checkpointer {
    store: Store,
    key: CheckpointKey,
    /// `HOST/PID/RANDOM`: which replica holds the lease, readable on the lease node.
    holder: String,
    /// Whether this replica held the lease after its last round (to log changes).
    holding: std::sync::atomic::AtomicBool,
    witness: Option<FileWitness>,
    interval: Duration,
    /// The pending checkpoint this process made and has not finalized (its hash).
    own: Mutex<Option<String>>,
    /// What this process last recorded on the lease as keeping heads from the witness.
    recorded: Mutex<Recorded>,
}

/// This replica's lease holder id: host name, process id and a random part, so an
/// operator (or a test) reading `CheckpointLease.holder` can tell which replica it is.
fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &random[..8])
}

/// The witness status last written to the lease by this process.
#[derive(Debug, PartialEq, Eq)]
enum Recorded {
    /// Nothing written yet.
    Unknown,
    /// This error, or none.
    Is(Option<String>),
}

/// The database's side of the chain: the newest final checkpoint and pending ones.
struct State {
    last: Option<(i64, String)>,
    pending: Vec<Value>,
}

impl Checkpointer {
    /// A checkpointer for this replica, witnessed by the JSON-lines file `sink` (or by
    /// nothing: then checkpoints are final at once, and `/status` says so).
    #[must_use]
    pub fn new(
        store: Store,
        key: CheckpointKey,
        sink: Option<std::path::PathBuf>,
        interval: Duration,
    ) -> Self {
        Self {
            store,
            key,
            holder: holder_id(),
            holding: std::sync::atomic::AtomicBool::new(false),
            witness: sink.map(FileWitness::new),
            interval,
            own: Mutex::new(None),
            recorded: Mutex::new(Recorded::Unknown),
        }
    }

    /// Runs until the task is dropped: every interval, take or renew the lease and, if
    /// held, finish what is pending and seal what is queued. Errors are logged and
    /// retried next round.
    pub async fn run(self) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.round().await {
                Ok(Some(sealed)) => {
                    tracing::debug!(seq = sealed.seq, count = sealed.count, "sealed checkpoint");
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    error = %crate::telemetry::error_chain(&e),
                    "checkpoint round did not seal"
                ),
            }
        }
    }

    /// One round: lease; then, if held, reconcile with the witness and seal.
    pub async fn round(&self) -> Result<Option<Sealed>, CheckpointError> {
        if !self.lease().await? {
            return Ok(None);
        }
        let outcome = self.reconcile_and_seal().await;
        let error = match &outcome {
            Err(CheckpointError::Witness(e)) => Some(e.to_string()),
            Err(CheckpointError::Blocked(why)) => Some(why.clone()),
            _ => None,
        };
        // Whatever keeps heads from the witness is what /status shows on every replica.
        if error.is_some() || outcome.is_ok() {
            let now = Recorded::Is(error.clone());
            let changed = self.recorded.lock().map_or(true, |r| *r != now);
            if changed {
                self.record_witness_status(error).await?;
                if let Ok(mut r) = self.recorded.lock() {
                    *r = now;
                }
            }
        }
        outcome
    }

    async fn reconcile_and_seal(&self) -> Result<Option<Sealed>, CheckpointError> {
        let state = self.state().await?;
        let mut base = state.last.clone();
        for pending in &state.pending {
            if let Some(done) = self.settle(pending).await? {
                return Ok(Some(done));
            }
        }
        if let Some(witness) = &self.witness {
            let witnessed = witness.last()?;
            match (&base, &witnessed) {
                (Some((seq, _)), Some(head)) if *seq > head.seq => {
                    return Err(CheckpointError::Blocked(format!(
                        "checkpoint {seq} is in the database but the witness holds only up to {}: it was not made by govtrail's checkpointer or reached the database around it",
                        head.seq
                    )));
                }
                (Some((seq, _)), None) => {
                    return Err(CheckpointError::Blocked(format!(
                        "checkpoint {seq} is in the database but the witness holds none"
                    )));
                }
                // The witness is ahead (checkpoints lost from a restored database):
                // continue its chain; verification names what is missing.
                (_, Some(head)) if base.as_ref().is_none_or(|(s, _)| head.seq > *s) => {
                    base = Some((head.seq, head.hash.clone()));
                }
                _ => {}
            }
        }
        self.seal(base).await
    }

    /// Finishes or discards one pending checkpoint; `Some` when it was finalized.
    async fn settle(&self, pending: &Value) -> Result<Option<Sealed>, CheckpointError> {
        let head = Head::of(pending);
        let Some(witness) = &self.witness else {
            // Without a witness nothing is ever pending; one found is not ours.
            self.drop_pending(head.seq).await?;
            return Ok(None);
        };
        let witnessed = witness
            .read_all()?
            .heads
            .iter()
            .any(|h| h.seq == head.seq && h.hash == head.hash);
        let ours = self
            .own
            .lock()
            .ok()
            .and_then(|own| own.clone())
            .is_some_and(|hash| hash == head.hash);
        if witnessed {
            return self.finalize(&head, pending).await.map(Some);
        }
        if ours {
            // Its append failed before: retry it (an error leaves it pending).
            witness.append(&head)?;
            return self.finalize(&head, pending).await.map(Some);
        }
        tracing::warn!(
            seq = head.seq,
            "dropping a pending checkpoint the witness never received and this replica did not make"
        );
        self.drop_pending(head.seq).await?;
        Ok(None)
    }

    async fn seal(&self, base: Option<(i64, String)>) -> Result<Option<Sealed>, CheckpointError> {
        let store = &self.store;
        let row = store.read_one(query(BATCH).param("max", MAX_BATCH)).await?;
        let items: Vec<Value> = match row {
            Some(row) => row.get("items").map_err(|e| store.decode(e))?,
            None => Vec::new(),
        };
        if items.is_empty() {
            return Ok(None);
        }
        let text = |i: &Value, k: &str| i[k].as_str().unwrap_or_default().to_owned();
        let ids: Vec<String> = items.iter().map(|i| text(i, "entryId")).collect();
        let hashes: Vec<String> = items.iter().map(|i| text(i, "hash")).collect();
        let entities: Vec<String> = items.iter().map(|i| text(i, "entity")).collect();
        let (last_seq, last_hash) = base.unwrap_or((0, GENESIS.to_owned()));
        let seq = last_seq + 1;
        let mut checkpoint = json!({
            "seq": seq,
            "prev": last_hash,
            "root": merkle_root(&hashes),
            "count": ids.len(),
            "entryIds": ids,
            "entryHashes": hashes,
            "entryEntities": entities,
            "sealedAt": canonical_timestamp(Utc::now()),
            "keyId": self.key.key_id(),
        });
        let hash = checkpoint_hash(&checkpoint).map_err(|e| store.decode(e))?;
        let signature = STANDARD.encode(self.key.sign(hash.as_bytes()).to_bytes());
        checkpoint["hash"] = json!(hash);
        checkpoint["signature"] = json!(signature);
        let params = neo4rs::BoltType::try_from(checkpoint.clone()).map_err(StoreError::Other)?;
        store.run(query(PEND).param("checkpoint", params)).await?;
        if let Ok(mut own) = self.own.lock() {
            *own = Some(hash);
        }
        let head = Head::of(&checkpoint);
        if let Some(witness) = &self.witness {
            witness.append(&head)?;
        }
        self.finalize(&head, &checkpoint).await.map(Some)
    }

    async fn finalize(&self, head: &Head, checkpoint: &Value) -> Result<Sealed, CheckpointError> {
        let store = &self.store;
        store
            .write_one(
                query(FINALIZE)
                    .param("seq", head.seq)
                    .param("hash", head.hash.as_str()),
            )
            .await?
            .ok_or_else(|| store.decode(format!("pending checkpoint {} vanished", head.seq)))?;
        if let Ok(mut own) = self.own.lock() {
            own.take();
        }
        Ok(Sealed {
            seq: head.seq,
            count: checkpoint["entryIds"].as_array().map_or(0, Vec::len),
        })
    }

    async fn lease(&self) -> Result<bool, StoreError> {
        let ttl =
            i64::try_from(self.interval.as_millis().saturating_mul(5).max(2_000)).unwrap_or(10_000);
        let row = self
            .store
            .write_one(
                query(LEASE)
                    .param("holder", self.holder.as_str())
                    .param("ttlMs", ttl),
            )
            .await?;
        let held = row.is_some();
        let was = self
            .holding
            .swap(held, std::sync::atomic::Ordering::Relaxed);
        if held != was {
            tracing::info!(holder = %self.holder, held, "checkpointer lease changed hands");
        }
        Ok(held)
    }

    async fn state(&self) -> Result<State, StoreError> {
        let store = &self.store;
        let row = store
            .read_one(query(STATE))
            .await?
            .ok_or_else(|| store.decode("checkpoint state returned no row"))?;
        let seq: Option<i64> = row.get("seq").map_err(|e| store.decode(e))?;
        let hash: Option<String> = row.get("hash").map_err(|e| store.decode(e))?;
        let pending: Vec<Value> = row.get("pending").map_err(|e| store.decode(e))?;
        Ok(State {
            last: seq.zip(hash),
            pending,
        })
    }

    async fn drop_pending(&self, seq: i64) -> Result<(), StoreError> {
        self.store.run(query(DROP_PENDING).param("seq", seq)).await
    }

    async fn record_witness_status(&self, error: Option<String>) -> Result<(), StoreError> {
        self.store
            .run(query(WITNESS_STATUS).param("error", error))
            .await
    }
}
