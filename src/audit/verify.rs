//! Verification of the audit log as stored: every entry's content hash is recomputed,
//! its `AUDITS` edges are compared with the entities it names, and every entity's
//! chain is walked from its head back to genesis. Each finding names the entry and
//! entity it concerns.
//!
//! What this detects and what it cannot (a rewound head after deleting an entity's
//! newest entries, or a log rebuilt with consistent hashes) is set out in
//! docs/integrity.md; signed checkpoints close those gaps.

use std::collections::{BTreeMap, BTreeSet};

use neo4rs::query;
use serde::Serialize;
use serde_json::Value;

use super::hash::{GENESIS, content_hash, prev_of};
use crate::store::{Store, StoreError};

const VERIFY_ENTRIES: &str = include_str!("../../cypher/verify_entries.cypher");
const VERIFY_MALFORMED: &str = include_str!("../../cypher/verify_malformed.cypher");
const VERIFY_HEADS: &str = include_str!("../../cypher/verify_heads.cypher");

/// What kind of inconsistency was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The entry's content no longer matches its hash (a field was edited).
    Modified,
    /// The entry's `AUDITS` edges differ from the entities its content names.
    Relinked,
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
    /// A sealed entry's hash no longer matches the checkpoint's Merkle root.
    Resealed,
    /// An entry is neither sealed by a checkpoint nor queued for one (inserted behind
    /// govtrail's back).
    Inserted,
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
struct Link {
    id: String,
    prev_hashes: Vec<String>,
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
        detail,
    }
}

/// The entity ids an entry's content says it audits.
fn named_entities(entry: &Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    if let Some(prev) = entry["prevHashes"].as_array() {
        for p in prev.iter().filter_map(Value::as_str) {
            if let Some((id, _)) = p.rsplit_once('=') {
                ids.insert(id.to_owned());
            }
        }
    }
    ids
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
    // Reading and decoding (here) overlaps with hashing and chaining (on a blocking
    // thread): the two halves of the work run on different cores.
    let (batches, mut inbox) = tokio::sync::mpsc::channel::<Vec<Read>>(2);
    let checker = tokio::task::spawn_blocking(move || {
        let mut report = Report::default();
        let mut hashes: BTreeMap<String, String> = BTreeMap::new();
        // entity id -> (entry hash -> link), from the entries' own content.
        let mut chains: BTreeMap<String, BTreeMap<String, Link>> = BTreeMap::new();
        while let Some(batch) = inbox.blocking_recv() {
            for read in batch {
                report.entries += 1;
                let Some((entry, audits)) = readable(read, &mut report.findings) else {
                    continue;
                };
                let id = entry["id"].as_str().unwrap_or_default().to_owned();
                check_entry(&entry, &id, &audits, &mut report, &mut chains);
                hashes.insert(id, entry["hash"].as_str().unwrap_or_default().to_owned());
            }
        }
        (report, hashes, chains)
    });
    let mut after = String::new();
    loop {
        let mut rows = store
            .graph()
            .execute_read(
                query(VERIFY_ENTRIES)
                    .param("after", after.as_str())
                    .param("limit", 2000),
            )
            .await
            .map_err(|e| store.error(e))?;
        let mut batch = Vec::with_capacity(2000);
        while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
            let id: String = row.get("id").map_err(|e| store.decode(e))?;
            // A row that does not decode is a finding about that entry, not a reason to stop.
            let content = row
                .get::<Value>("entry")
                .map_err(|e| e.to_string())
                .and_then(|entry| {
                    row.get::<Vec<Option<String>>>("audits")
                        .map(|audits| (entry, audits))
                        .map_err(|e| e.to_string())
                });
            batch.push(Read { id, content });
        }
        let Some(last) = batch.last().map(|r| r.id.clone()) else {
            break;
        };
        after = last;
        if batches.send(batch).await.is_err() {
            break;
        }
    }
    drop(batches);
    let (mut report, hashes, mut chains) = checker
        .await
        .map_err(|e| store.record(StoreError::Decode(format!("verification worker: {e}"))))?;
    report_unpageable(store, &mut report).await?;
    let mut rows = store
        .graph()
        .execute_read(query(VERIFY_HEADS))
        .await
        .map_err(|e| store.error(e))?;
    let mut heads: BTreeMap<String, Option<String>> = BTreeMap::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let id: String = row.get("id").unwrap_or_default();
        let head: Option<String> = row.get("head").unwrap_or(None);
        heads.insert(id, head);
    }
    for (entity, head) in &heads {
        report.chains += 1;
        let links = chains.remove(entity).unwrap_or_default();
        walk(entity, head.as_deref(), &links, &mut report.findings);
    }
    super::seal::verify_checkpoints(store, options, &hashes, &mut report).await?;
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

/// One entry as read: its id and, if it decoded, its content and AUDITS targets.
struct Read {
    id: String,
    content: Result<(Value, Vec<Option<String>>), String>,
}

/// The entry's content and targets, or `None` after reporting why it cannot be checked.
fn readable(read: Read, findings: &mut Vec<Finding>) -> Option<(Value, Vec<String>)> {
    let malformed = |detail: String| finding(FindingKind::Malformed, Some(&read.id), None, detail);
    let (entry, audits) = match read.content {
        Ok(content) => content,
        Err(e) => {
            findings.push(malformed(format!("the entry cannot be read: {e}")));
            return None;
        }
    };
    if !entry["hash"].is_string() {
        findings.push(malformed(
            "the entry has no hash: govtrail did not write it".into(),
        ));
        return None;
    }
    let audits: Vec<String> = audits
        .into_iter()
        .filter_map(|target| {
            if target.is_none() {
                findings.push(malformed(
                    "the entry AUDITS a node without an id: govtrail did not link it".into(),
                ));
            }
            target
        })
        .collect();
    Some((entry, audits))
}

/// Entries with no text id cannot be paged through by id; each is reported.
async fn report_unpageable(store: &Store, report: &mut Report) -> Result<(), StoreError> {
    let mut rows = store
        .graph()
        .execute_read(query(VERIFY_MALFORMED))
        .await
        .map_err(|e| store.error(e))?;
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

fn check_entry(
    entry: &Value,
    id: &str,
    audits: &[String],
    report: &mut Report,
    chains: &mut BTreeMap<String, BTreeMap<String, Link>>,
) {
    let stored = entry["hash"].as_str().unwrap_or_default().to_owned();
    match content_hash(entry) {
        Ok(actual) if actual == stored => {}
        Ok(_) => report.findings.push(finding(
            FindingKind::Modified,
            Some(id),
            entry["entityId"].as_str(),
            "the entry's content does not match its hash".into(),
        )),
        Err(e) => report.findings.push(finding(
            FindingKind::Modified,
            Some(id),
            None,
            e.to_string(),
        )),
    }
    let named = named_entities(entry);
    let linked: BTreeSet<String> = audits.iter().cloned().collect();
    if named != linked {
        for moved in named.symmetric_difference(&linked) {
            report.findings.push(finding(
                FindingKind::Relinked,
                Some(id),
                Some(moved),
                "the entry's AUDITS edges differ from the entities it names".into(),
            ));
        }
    }
    let prev: Vec<String> = entry["prevHashes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    // Chains follow the edges as they are: a relinked entry then also shows up as
    // off-chain for the entity it was moved to.
    for entity in &linked {
        chains.entry(entity.clone()).or_default().insert(
            stored.clone(),
            Link {
                id: id.to_owned(),
                prev_hashes: prev.clone(),
            },
        );
    }
}

fn walk(
    entity: &str,
    head: Option<&str>,
    links: &BTreeMap<String, Link>,
    findings: &mut Vec<Finding>,
) {
    let mut visited = BTreeSet::new();
    let mut cursor = head.map(str::to_owned);
    if cursor.is_none() && !links.is_empty() {
        findings.push(finding(
            FindingKind::HeadMissing,
            None,
            Some(entity),
            "the entity has entries but no chain head".into(),
        ));
    }
    while let Some(hash) = cursor.take() {
        let Some(link) = links.get(&hash) else {
            let (kind, detail) = if visited.is_empty() {
                (
                    FindingKind::HeadMissing,
                    format!("the head {hash} names no entry of this entity"),
                )
            } else {
                (
                    FindingKind::ChainBroken,
                    format!("the chain refers to a missing entry with hash {hash}"),
                )
            };
            let after = visited.iter().last().map(|h: &String| links[h].id.clone());
            findings.push(finding(kind, after.as_deref(), Some(entity), detail));
            break;
        };
        if !visited.insert(hash.clone()) {
            findings.push(finding(
                FindingKind::ChainBroken,
                Some(&link.id),
                Some(entity),
                "the chain loops".into(),
            ));
            break;
        }
        match prev_of(&link.prev_hashes, entity) {
            Some(GENESIS) => {}
            Some(prev) => cursor = Some(prev.to_owned()),
            None => findings.push(finding(
                FindingKind::Relinked,
                Some(&link.id),
                Some(entity),
                "the entry audits the entity but records no previous hash for it".into(),
            )),
        }
    }
    for (hash, link) in links {
        if !visited.contains(hash) {
            findings.push(finding(
                FindingKind::NotOnChain,
                Some(&link.id),
                Some(entity),
                "the entry is not on the entity's chain".into(),
            ));
        }
    }
}
