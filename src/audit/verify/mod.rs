//! Verification of the audit log as stored: every entry's content hash is recomputed
//! (over its one canonical timestamp text), its `AUDITS` edges are compared with the
//! entities it names and its `PERFORMED_BY` edge with the user it names, and every
//! entity's chain is walked from its head back to genesis. Then the checkpoints and
//! the witness (module `seal`). Each finding names the entry, entity or checkpoint it
//! concerns; docs/integrity.md lists every kind and the attack that produces it.

mod chain;
mod examine;

use std::collections::BTreeMap;

use neo4rs::query;
use serde::Serialize;

use crate::store::{Store, StoreError};

const VERIFY_ENTRIES: &str = include_str!("../../../cypher/verify_entries.cypher");
const VERIFY_MALFORMED: &str = include_str!("../../../cypher/verify_malformed.cypher");
const VERIFY_HEADS: &str = include_str!("../../../cypher/verify_heads.cypher");
const VERIFY_LATE_LINK: &str = include_str!("../../../cypher/verify_late_link.cypher");

/// What kind of inconsistency was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The entry's content no longer matches its hash (a field was edited).
    Modified,
    /// The entry's `AUDITS` edges differ from the entities its content names.
    Relinked,
    /// The entry's `PERFORMED_BY` edge does not point to the user its content names
    /// (deleted, or moved to another user).
    ActorMismatch,
    /// The chain of an entity refers to an entry that is not there (deleted, or its
    /// hash changed).
    ChainBroken,
    /// An entry audits the entity but is not on the entity's chain (inserted, forged,
    /// or moved from another entity).
    NotOnChain,
    /// The entity's head names no entry of its chain.
    HeadMissing,
    /// A checkpoint sequence number is missing (a checkpoint was deleted).
    CheckpointMissing,
    /// A checkpoint's content does not match its hash, or its `prev` does not name the
    /// previous checkpoint.
    CheckpointModified,
    /// A checkpoint's signature does not verify under its key (or the key is unknown).
    SignatureInvalid,
    /// A sealed entry is gone.
    Deleted,
    /// A sealed entry's hash differs from the one its checkpoint sealed (the entry was
    /// rewritten, its hash recomputed to match).
    Rewritten,
    /// A checkpoint's Merkle root no longer matches its entries, and it does not record
    /// which leaf changed (checkpoints from before leaves were recorded).
    Resealed,
    /// An entry is neither sealed by a checkpoint nor queued for one (inserted behind
    /// govtrail's back).
    Inserted,
    /// An entry is neither sealed nor queued, and a checkpoint is missing: it was
    /// covered by the missing checkpoint.
    Uncovered,
    /// A checkpoint the witness does not hold: in the database but never witnessed
    /// (forged with the key, or made outside the checkpointer), or pending its witness.
    Unwitnessed,
    /// An entry has waited longer than the lag bound for a checkpoint.
    UnsealedLate,
    /// The database's checkpoints differ from the external sink.
    SinkMismatch,
    /// An `AuditLog` node govtrail did not write or cannot read: no text id, no hash, a
    /// property it cannot decode, or an `AUDITS` target without an id (another tool
    /// sharing the database). Reported; verification goes on.
    Malformed,
}

/// What checkpoint verification needs besides the database.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Public keys by key id.
    pub keys: Vec<(String, ed25519_dalek::VerifyingKey)>,
    /// The external JSONL sink to compare against.
    pub sink: Option<std::path::PathBuf>,
    /// Entries unsealed for longer than this are reported.
    pub lag_bound: Option<std::time::Duration>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Kind.
    pub kind: FindingKind,
    /// The entry concerned, if one is known.
    pub entry_id: Option<String>,
    /// The entity concerned, if one is known.
    pub entity_id: Option<String>,
    /// The checkpoint concerned, if one is.
    pub checkpoint: Option<i64>,
    /// Human-readable detail.
    pub detail: String,
}

/// Result of a verification run.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Entries read.
    pub entries: usize,
    /// Entity chains walked.
    pub chains: usize,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// Everything found; empty when the log verifies.
    pub findings: Vec<Finding>,
}

/// What the chain walk needs of one entry.
#[derive(Clone)]
struct Link {
    id: String,
    prev_hashes: Vec<String>,
    timestamp: String,
}

pub(super) fn finding(
    kind: FindingKind,
    entry: Option<&str>,
    entity: Option<&str>,
    detail: String,
) -> Finding {
    Finding {
        kind,
        entry_id: entry.map(str::to_owned),
        entity_id: entity.map(str::to_owned),
        checkpoint: None,
        detail,
    }
}

impl VerifyOptions {
    /// Options from published keys, the sink path and the lag bound.
    #[must_use]
    pub fn new(
        keys: &[super::checkpoint::PublicKey],
        sink: Option<std::path::PathBuf>,
        lag_bound: std::time::Duration,
    ) -> Self {
        Self {
            keys: keys
                .iter()
                .filter_map(|k| k.verifying_key().map(|v| (k.key_id.clone(), v)))
                .collect(),
            sink,
            lag_bound: Some(lag_bound),
        }
    }
}

/// Verifies the whole log: entry hashes, AUDITS edges and entity chains, then (when
/// checkpoints exist or keys are given) the checkpoint chain, signatures, Merkle roots,
/// coverage of every entry and the external sink.
pub async fn verify(store: &Store, options: &VerifyOptions) -> Result<Report, StoreError> {
    // Reading (here) overlaps with examining, which runs on a blocking thread and
    // spreads each batch over all cores; only the chain bookkeeping is sequential.
    let (batches, mut inbox) = tokio::sync::mpsc::channel::<Vec<(String, neo4rs::Row)>>(2);
    let checker = tokio::task::spawn_blocking(move || {
        use rayon::prelude::*;
        let mut report = Report::default();
        let mut known = super::seal::Entries::default();
        // entity id -> (entry hash -> link), from the entries' own content.
        let mut chains: BTreeMap<String, BTreeMap<String, Link>> = BTreeMap::new();
        while let Some(batch) = inbox.blocking_recv() {
            let examined: Vec<examine::Examined> = batch
                .into_par_iter()
                .map(|(id, row)| examine::examine(id, &row))
                .collect();
            for entry in examined {
                report.entries += 1;
                report.findings.extend(entry.findings);
                if let Some(facts) = entry.facts {
                    file(facts, &mut known, &mut chains);
                }
            }
        }
        (report, known, chains)
    });
    read_entries(store, batches).await?;
    let (mut report, mut known, mut chains) = checker
        .await
        .map_err(|e| store.record(StoreError::Decode(format!("verification worker: {e}"))))?;
    report_unpageable(store, &mut report).await?;
    let mut rows = store.read(query(VERIFY_HEADS)).await?;
    let mut heads: BTreeMap<String, Option<String>> = BTreeMap::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let id: String = row.get("id").unwrap_or_default();
        let head: Option<String> = row.get("head").unwrap_or(None);
        heads.insert(id, head);
    }
    for (entity, head) in &heads {
        report.chains += 1;
        let mut links = chains.remove(entity).unwrap_or_default();
        if let Some(head) = head {
            late_links(store, entity, head, &mut links, &known.hashes).await?;
        }
        if let Some(gone) = chain::walk(entity, head.as_deref(), &links, &mut report.findings) {
            known.missing.insert(gone, entity.clone());
        }
    }
    super::seal::verify_checkpoints(store, options, &known, &mut report).await?;
    // Chains of entities that are gone entirely (deleted nodes) cannot be walked.
    for (entity, links) in chains {
        for link in links.values() {
            report.findings.push(finding(
                FindingKind::NotOnChain,
                Some(&link.id),
                Some(&entity),
                "the entry names an entity that no longer exists".into(),
            ));
        }
    }
    Ok(report)
}

/// Heads are read after the entries, so on a live log an entity's head may name entries
/// written since its entries were read. Walking down from the head, each entry that is
/// not among those read but is in the database now, audits the entity and has that hash
/// is added to `links` (unexamined: it is newer than this verification), until the walk
/// reaches an entry that was read. A hash no entry has is left for the walk to report.
async fn late_links(
    store: &Store,
    entity: &str,
    head: &str,
    links: &mut BTreeMap<String, Link>,
    read: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    let mut cursor = head.to_owned();
    while cursor != crate::audit::hash::GENESIS && !links.contains_key(&cursor) {
        let Some(row) = store
            .read_one(
                query(VERIFY_LATE_LINK)
                    .param("entity", entity)
                    .param("hash", cursor.as_str()),
            )
            .await?
        else {
            break;
        };
        let id: String = row.get("id").map_err(|e| store.decode(e))?;
        if read.contains_key(&id) {
            // It was read with another hash: rewritten while this ran; the walk reports it.
            break;
        }
        let prev_hashes: Vec<String> = row.get("prevHashes").unwrap_or_default();
        let timestamp: String = row.get("timestamp").unwrap_or_default();
        let next = crate::audit::hash::prev_of(&prev_hashes, entity).map(str::to_owned);
        links.insert(
            cursor,
            Link {
                id,
                prev_hashes,
                timestamp,
            },
        );
        match next {
            Some(prev) => cursor = prev,
            None => break,
        }
    }
    Ok(())
}

/// Files an examined entry under the chains of the entities its edges point to, and
/// remembers its hash and entity for the checkpoint checks. Chains follow the edges as
/// they are: a relinked entry then also shows up as off-chain for the entity it was
/// moved to.
fn file(
    facts: examine::Facts,
    known: &mut super::seal::Entries,
    chains: &mut BTreeMap<String, BTreeMap<String, Link>>,
) {
    for entity in facts.audits {
        chains
            .entry(entity)
            .or_default()
            .insert(facts.hash.clone(), facts.link.clone());
    }
    if let Some(entity) = facts.entity {
        known.entities.insert(facts.id.clone(), entity);
    }
    known.hashes.insert(facts.id, facts.hash);
}

/// Entries read per page (and examined per batch).
const PAGE: i64 = 2_000;

/// Reads every entry in id order, a page at a time, and hands the rows on undecoded
/// (decoding is part of examining, spread over all cores).
async fn read_entries(
    store: &Store,
    batches: tokio::sync::mpsc::Sender<Vec<(String, neo4rs::Row)>>,
) -> Result<(), StoreError> {
    let mut after = String::new();
    loop {
        let mut rows = store
            .read(
                query(VERIFY_ENTRIES)
                    .param("after", after.as_str())
                    .param("limit", PAGE),
            )
            .await?;
        let mut batch = Vec::new();
        while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
            let id: String = row.get("id").map_err(|e| store.decode(e))?;
            batch.push((id, row));
        }
        let Some((last, _)) = batch.last() else {
            break;
        };
        after.clone_from(last);
        if batches.send(batch).await.is_err() {
            break;
        }
    }
    Ok(())
}

/// Entries with no text id cannot be paged through by id; each is reported.
async fn report_unpageable(store: &Store, report: &mut Report) -> Result<(), StoreError> {
    let mut rows = store.read(query(VERIFY_MALFORMED)).await?;
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let node: String = row.get("node").map_err(|e| store.decode(e))?;
        let id: Option<String> = row.get("id").map_err(|e| store.decode(e))?;
        report.entries += 1;
        report.findings.push(finding(
            FindingKind::Malformed,
            id.as_deref(),
            None,
            format!("AuditLog node {node} has no text id: govtrail did not write it"),
        ));
    }
    Ok(())
}
