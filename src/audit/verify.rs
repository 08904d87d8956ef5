//! Verification of the audit log as stored: every entry's content hash is recomputed
//! (over its one canonical timestamp text), its `AUDITS` edges are compared with the
//! entities it names and its `PERFORMED_BY` edge with the user it names, and every
//! entity's chain is walked from its head back to genesis. Then the checkpoints and
//! the witness (module `seal`). Each finding names the entry, entity or checkpoint it
//! concerns; docs/integrity.md lists every kind and the attack that produces it.

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
        let mut known = super::seal::Entries::default();
        // entity id -> (entry hash -> link), from the entries' own content.
        let mut chains: BTreeMap<String, BTreeMap<String, Link>> = BTreeMap::new();
        while let Some(batch) = inbox.blocking_recv() {
            for read in batch {
                report.entries += 1;
                let Some((mut entry, audits, edges)) = readable(read, &mut report.findings) else {
                    continue;
                };
                let id = entry["id"].as_str().unwrap_or_default().to_owned();
                canonical_timestamp(&mut entry, &id, &mut report.findings);
                check_entry(&entry, &id, &audits, &mut report, &mut chains);
                check_performer(&entry, &id, &edges.performers, &mut report.findings);
                check_approvals(&entry, &id, &edges, &mut report.findings);
                check_filing(&entry, &id, &edges, &mut report.findings);
                if let Some(entity) = entry["entityId"].as_str() {
                    known.entities.insert(id.clone(), entity.to_owned());
                }
                known
                    .hashes
                    .insert(id, entry["hash"].as_str().unwrap_or_default().to_owned());
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
        let links = chains.remove(entity).unwrap_or_default();
        if let Some(gone) = walk(entity, head.as_deref(), &links, &mut report.findings) {
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

/// Reads every entry in id order, a batch at a time, and hands the batches on.
async fn read_entries(
    store: &Store,
    batches: tokio::sync::mpsc::Sender<Vec<Read>>,
) -> Result<(), StoreError> {
    let mut after = String::new();
    loop {
        let mut rows = store
            .read(
                query(VERIFY_ENTRIES)
                    .param("after", after.as_str())
                    .param("limit", 2000),
            )
            .await?;
        let mut batch = Vec::with_capacity(2000);
        while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
            let id: String = row.get("id").map_err(|e| store.decode(e))?;
            // A row that does not decode is a finding about that entry, not a reason to stop.
            let content = row
                .get::<Value>("entry")
                .map_err(|e| e.to_string())
                .and_then(|entry| {
                    let ids = |column: &str| {
                        row.get::<Vec<Option<String>>>(column)
                            .map_err(|e| e.to_string())
                    };
                    Ok((
                        entry,
                        ids("audits")?,
                        Edges {
                            performers: ids("performers")?,
                            approvers: ids("approvers")?,
                            executes: ids("executes")?,
                            misfiled: ids("misfiled")?,
                        },
                    ))
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
    Ok(())
}

/// An entry's edges to people and requests.
struct Edges {
    /// `PERFORMED_BY` users.
    performers: Vec<Option<String>>,
    /// `APPROVED_BY` users.
    approvers: Vec<Option<String>>,
    /// The `EXECUTES` change request.
    executes: Vec<Option<String>>,
    /// Entities whose `AUDITS` edge from this entry carries another entity id or
    /// timestamp than its target and the entry (what the history index orders by).
    misfiled: Vec<Option<String>>,
}

/// An entry's content, its AUDITS targets and its other edges.
type Content = (Value, Vec<Option<String>>, Edges);

/// One entry as read: its id and, if it decoded, its content and edges.
struct Read {
    id: String,
    content: Result<Content, String>,
}

/// The entry's content, targets and performers, or `None` after reporting why it
/// cannot be checked.
fn readable(read: Read, findings: &mut Vec<Finding>) -> Option<(Value, Vec<String>, Edges)> {
    let malformed = |detail: String| finding(FindingKind::Malformed, Some(&read.id), None, detail);
    let (entry, audits, edges) = match read.content {
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
    Some((entry, audits, edges))
}

/// Each `AUDITS` edge carries its target's id and the entry's timestamp, which the
/// history index pages by: an edge whose copies disagree would hide the entry from the
/// entity's history, or show it out of place, so it is reported as relinked.
fn check_filing(entry: &Value, id: &str, edges: &Edges, findings: &mut Vec<Finding>) {
    for entity in edges.misfiled.iter().flatten() {
        findings.push(finding(
            FindingKind::Relinked,
            Some(id),
            Some(entity),
            format!(
                "the AUDITS edge carries another entity id or timestamp than its target and the entry ({}): the entry is hidden from or misplaced in the entity's history",
                entry["timestamp"].as_str().unwrap_or_default()
            ),
        ));
    }
}

/// A change a change request ran names its approvers and its request in the hashed
/// entry; its `APPROVED_BY` and `EXECUTES` edges must say the same (the lineage and
/// the packet read them).
fn check_approvals(entry: &Value, id: &str, edges: &Edges, findings: &mut Vec<Finding>) {
    let mut named: Vec<&str> = entry["approverIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut linked: Vec<&str> = edges
        .approvers
        .iter()
        .map(|a| a.as_deref().unwrap_or("?"))
        .collect();
    named.sort_unstable();
    linked.sort_unstable();
    if named != linked {
        findings.push(finding(
            FindingKind::ActorMismatch,
            Some(id),
            entry["entityId"].as_str(),
            format!(
                "the entry names approvers [{}] but APPROVED_BY points to [{}]",
                named.join(", "),
                linked.join(", ")
            ),
        ));
    }
    let executes: Vec<&str> = edges
        .executes
        .iter()
        .map(|r| r.as_deref().unwrap_or("?"))
        .collect();
    let expected: Vec<&str> = if entry["approverIds"].is_array() {
        entry["changeRequestId"].as_str().into_iter().collect()
    } else {
        Vec::new()
    };
    if executes != expected {
        findings.push(finding(
            FindingKind::Relinked,
            Some(id),
            entry["entityId"].as_str(),
            format!(
                "the entry executes change request [{}] but EXECUTES points to [{}]",
                expected.join(", "),
                executes.join(", ")
            ),
        ));
    }
}

/// Rewrites the entry's timestamp from Neo4j's rendering into the canonical text the
/// hash covers; a stored value no canonical text has (digits below the microsecond, a
/// zone other than UTC) was not written by govtrail and is reported.
fn canonical_timestamp(entry: &mut Value, id: &str, findings: &mut Vec<Finding>) {
    let Some(text) = entry["timestamp"].as_str().map(str::to_owned) else {
        return;
    };
    match super::hash::from_store(&text) {
        Ok(canonical) => entry["timestamp"] = Value::String(canonical),
        Err(e) => findings.push(finding(
            FindingKind::Modified,
            Some(id),
            entry["entityId"].as_str(),
            format!("{e}: the entry's timestamp was changed"),
        )),
    }
}

/// The entry's `PERFORMED_BY` edge must point to exactly the user its (hashed)
/// `userId` names: every view takes the actor from the entry, and the edge must agree.
fn check_performer(
    entry: &Value,
    id: &str,
    performers: &[Option<String>],
    findings: &mut Vec<Finding>,
) {
    let named = entry["userId"].as_str();
    let linked: Vec<&str> = performers
        .iter()
        .map(|p| p.as_deref().unwrap_or("?"))
        .collect();
    if named.is_some() && linked.len() == 1 && linked[0] == named.unwrap_or_default() {
        return;
    }
    let detail = match linked.as_slice() {
        [] => format!(
            "the entry names user {} but has no PERFORMED_BY edge",
            named.unwrap_or("?")
        ),
        users => format!(
            "the entry names user {} but PERFORMED_BY points to {}",
            named.unwrap_or("?"),
            users.join(", ")
        ),
    };
    findings.push(finding(FindingKind::ActorMismatch, Some(id), named, detail));
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
    let timestamp = entry["timestamp"].as_str().unwrap_or_default().to_owned();
    // Chains follow the edges as they are: a relinked entry then also shows up as
    // off-chain for the entity it was moved to.
    for entity in &linked {
        chains.entry(entity.clone()).or_default().insert(
            stored.clone(),
            Link {
                id: id.to_owned(),
                prev_hashes: prev.clone(),
                timestamp: timestamp.clone(),
            },
        );
    }
}

/// Walks `entity`'s chain from its head back to GENESIS, reporting where it breaks.
/// Returns the hash of an entry the chain needs and no entry has (deleted), so a
/// checkpoint that sealed it can name the entity.
///
/// When one entry is missing, the entries older than the gap form their own chain
/// back to GENESIS: they are the genuine earlier part of the history, not insertions,
/// and only the break is reported. Entries on no chain at all are `not-on-chain`.
fn walk(
    entity: &str,
    head: Option<&str>,
    links: &BTreeMap<String, Link>,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let mut visited: BTreeSet<&str> = BTreeSet::new();
    let mut gone = None;
    if head.is_none() && !links.is_empty() {
        findings.push(finding(
            FindingKind::HeadMissing,
            None,
            Some(entity),
            "the entity has entries but no chain head".into(),
        ));
    }
    // The newest entry reached so far: the one whose predecessor is missing if the
    // chain breaks below it.
    let mut last: Option<&Link> = None;
    let mut cursor = head.map(str::to_owned);
    while let Some(hash) = cursor.take() {
        let Some((key, link)) = links.get_key_value(&hash) else {
            gone = Some(hash.clone());
            match last {
                None => findings.push(finding(
                    FindingKind::HeadMissing,
                    None,
                    Some(entity),
                    format!("the head {hash} names no entry of this entity"),
                )),
                Some(after) => findings.push(finding(
                    FindingKind::ChainBroken,
                    Some(&after.id),
                    Some(entity),
                    format!("the entry before this one, with hash {hash}, is missing"),
                )),
            }
            break;
        };
        if !visited.insert(key.as_str()) {
            findings.push(finding(
                FindingKind::ChainBroken,
                Some(&link.id),
                Some(entity),
                "the chain loops".into(),
            ));
            break;
        }
        last = Some(link);
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
    if gone.is_some() {
        absorb_older_segment(entity, links, &mut visited);
    }
    for (hash, link) in links {
        if !visited.contains(hash.as_str()) {
            findings.push(finding(
                FindingKind::NotOnChain,
                Some(&link.id),
                Some(entity),
                "the entry is not on the entity's chain (inserted, forged or moved here)".into(),
            ));
        }
    }
    gone
}

/// After a break, the longest run of unvisited entries that chains back to GENESIS and
/// that no other entry continues is the history older than the gap: marks it visited.
fn absorb_older_segment<'a>(
    entity: &str,
    links: &'a BTreeMap<String, Link>,
    visited: &mut BTreeSet<&'a str>,
) {
    let continued: BTreeSet<&str> = links
        .iter()
        .filter(|(h, _)| !visited.contains(h.as_str()))
        .filter_map(|(_, l)| prev_of(&l.prev_hashes, entity))
        .collect();
    let mut best: Vec<&'a str> = Vec::new();
    let mut best_time = "";
    for (tip, tip_link) in links
        .iter()
        .filter(|(h, _)| !visited.contains(h.as_str()) && !continued.contains(h.as_str()))
    {
        let mut segment = Vec::new();
        let mut cursor = Some(tip.as_str());
        let mut reaches_genesis = false;
        while let Some(hash) = cursor.take() {
            let Some((key, link)) = links.get_key_value(hash) else {
                break;
            };
            if visited.contains(key.as_str()) || segment.contains(&key.as_str()) {
                break;
            }
            segment.push(key.as_str());
            match prev_of(&link.prev_hashes, entity) {
                Some(GENESIS) => reaches_genesis = true,
                Some(prev) => cursor = Some(prev),
                None => {}
            }
        }
        let better = segment.len() > best.len()
            || (segment.len() == best.len() && tip_link.timestamp.as_str() > best_time);
        if reaches_genesis && better {
            best = segment;
            best_time = tip_link.timestamp.as_str();
        }
    }
    visited.extend(best);
}
