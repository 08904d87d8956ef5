//! Verification of signed checkpoints (see [`super::checkpointer`]): the checkpoint
//! chain, signatures, every sealed leaf against the entries as they are now, coverage
//! of every entry, the lag bound, and agreement with the external witness — which is
//! trusted over anything stored in Neo4j, `sealedAt` included.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use neo4rs::query;
use serde_json::Value;

use super::checkpoint::{checkpoint_hash, merkle_root, signature_valid};
use super::hash::{GENESIS, from_store};
use super::verify::{Finding, FindingKind, Report, VerifyOptions};
use super::witness::{FileWitness, Head, Witnessed};
use crate::store::{Store, StoreError};

const CHECKPOINTS_ALL: &str = include_str!("../../cypher/checkpoints_all.cypher");
const SEAL_QUEUE_ALL: &str = include_str!("../../cypher/seal_queue_all.cypher");
const CHECKPOINTS_PRESENT: &str = include_str!("../../cypher/checkpoints_present.cypher");
const ENTRIES_HASHES: &str = include_str!("../../cypher/entries_hashes.cypher");

/// How long a checkpoint may wait for its witness before it counts as not reaching it
/// (a healthy append takes milliseconds; a round retries a failed one every interval).
/// A pending checkpoint younger than this is not reported by verification, and makes
/// `/status` degraded only once it is older.
pub const WITNESS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the entry checks learned that checkpoint checks need.
#[derive(Debug, Default)]
pub struct Entries {
    /// Entry id → stored hash.
    pub hashes: BTreeMap<String, String>,
    /// A hash some entity's chain (or head) refers to but no entry has → that entity.
    pub missing: BTreeMap<String, String>,
    /// Entry id → its primary entity id.
    pub entities: BTreeMap<String, String>,
}

fn checkpoint_finding(kind: FindingKind, seq: i64, detail: String) -> Finding {
    Finding {
        kind,
        entry_id: None,
        entity_id: None,
        checkpoint: Some(seq),
        detail,
    }
}

fn leaf_finding(
    kind: FindingKind,
    entry: &str,
    entity: Option<String>,
    seq: i64,
    detail: String,
) -> Finding {
    Finding {
        kind,
        entry_id: Some(entry.to_owned()),
        entity_id: entity.filter(|e| !e.is_empty()),
        checkpoint: Some(seq),
        detail,
    }
}

/// The strings of a JSON array (`None` when it is not one).
pub(super) fn strings(value: &Value) -> Option<Vec<String>> {
    value.as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
}

/// Checks checkpoints against the entries and the witness, adding findings.
pub async fn verify_checkpoints(
    store: &Store,
    options: &VerifyOptions,
    entries: &Entries,
    report: &mut Report,
) -> Result<(), StoreError> {
    // The log is live: the checkpointer may seal while this reads. Reads go queue,
    // then checkpoints, then witness, so that each one can only be newer than the one
    // before: an entry read earlier was either still queued when the queue was read, or
    // taken off it by a checkpoint already final when checkpoints are read; a
    // checkpoint the witness gained since is looked up again below.
    let queued = read_queue(store).await?;
    let rows = read_checkpoints(store).await?;
    if rows.is_empty() && options.keys.is_empty() && options.sink.is_none() {
        return Ok(());
    }
    let mut witness = read_witness(options, report);
    if let Some(w) = witness.as_mut() {
        let known = rows
            .iter()
            .filter_map(|(c, _)| c["seq"].as_i64())
            .max()
            .unwrap_or(0);
        let newer: Vec<i64> = w
            .heads
            .iter()
            .map(|h| h.seq)
            .filter(|s| *s > known)
            .collect();
        let sealed_since = existing_checkpoints(store, &newer).await?;
        w.heads.retain(|h| !sealed_since.contains(&h.seq));
    }
    let late = late_entries(store, &rows, entries).await?;
    let held: BTreeMap<i64, &Head> = witness
        .iter()
        .flat_map(|w| w.heads.iter())
        .map(|h| (h.seq, h))
        .collect();
    // Final checkpoints, and pending ones the witness already holds (a finalize that
    // has not run yet): both are checked as what the log claims is sealed.
    let mut checkpoints: BTreeMap<i64, Value> = BTreeMap::new();
    for (mut c, pending) in rows {
        let seq = c["seq"].as_i64().unwrap_or(0);
        if let Some(text) = c["sealedAt"].as_str() {
            match from_store(text) {
                Ok(canonical) => c["sealedAt"] = Value::String(canonical),
                Err(e) => report.findings.push(checkpoint_finding(
                    FindingKind::CheckpointModified,
                    seq,
                    format!("checkpoint {seq}: {e}"),
                )),
            }
        }
        let witnessed = held
            .get(&seq)
            .is_some_and(|h| Some(h.hash.as_str()) == c["hash"].as_str());
        if pending && !witnessed {
            // A young one is most likely being handed to the witness right now.
            let waited = c["sealedAt"]
                .as_str()
                .and_then(|t| instant(Some(t)))
                .and_then(|at| (Utc::now() - at).to_std().ok());
            if witness.is_some() && waited.is_none_or(|w| w > WITNESS_WAIT) {
                report.findings.push(checkpoint_finding(
                    FindingKind::Unwitnessed,
                    seq,
                    format!(
                        "checkpoint {seq} (sealed at {}) is waiting for the witness; until it is witnessed its entries count as unsealed",
                        c["sealedAt"].as_str().unwrap_or("?")
                    ),
                ));
            }
            continue;
        }
        checkpoints.insert(seq, c);
    }
    let mut sealed: BTreeSet<String> = BTreeSet::new();
    let mut missing: BTreeMap<i64, String> = BTreeMap::new();
    let mut previous: Option<(i64, String)> = None;
    for (seq, c) in &checkpoints {
        report.checkpoints += 1;
        check_one(
            *seq,
            c,
            previous.as_ref(),
            options,
            (entries, &late),
            report,
            &mut missing,
        );
        for id in strings(&c["entryIds"]).unwrap_or_default() {
            sealed.insert(id);
        }
        previous = Some((*seq, c["hash"].as_str().unwrap_or_default().to_owned()));
    }
    if let Some(witness) = &witness {
        compare_witness(witness, &checkpoints, &mut missing, report);
    }
    for (seq, detail) in &missing {
        report.findings.push(checkpoint_finding(
            FindingKind::CheckpointMissing,
            *seq,
            detail.clone(),
        ));
    }
    check_coverage(options, &entries.hashes, &sealed, &queued, &missing, report);
    Ok(())
}

/// The chain link, hash, signature and leaves of one checkpoint.
fn check_one(
    seq: i64,
    c: &Value,
    previous: Option<&(i64, String)>,
    options: &VerifyOptions,
    (entries, late): (&Entries, &BTreeMap<String, String>),
    report: &mut Report,
    missing: &mut BTreeMap<i64, String>,
) {
    let label = format!("checkpoint {seq}");
    let expected_seq = previous.map_or(1, |(s, _)| s + 1);
    for gone in expected_seq..seq {
        missing.insert(
            gone,
            format!("checkpoint {gone} is missing from the database"),
        );
    }
    let expected_prev = previous.map_or(GENESIS.to_owned(), |(_, h)| h.clone());
    if seq == expected_seq && c["prev"].as_str() != Some(expected_prev.as_str()) {
        report.findings.push(checkpoint_finding(
            FindingKind::CheckpointModified,
            seq,
            format!("{label} does not chain to the checkpoint before it"),
        ));
    }
    let stored = c["hash"].as_str().unwrap_or_default();
    if checkpoint_hash(c).ok().as_deref() != Some(stored) {
        report.findings.push(checkpoint_finding(
            FindingKind::CheckpointModified,
            seq,
            format!("{label}: its content does not match its hash"),
        ));
    }
    let key_id = c["keyId"].as_str().unwrap_or_default();
    let problem = match options.keys.iter().find(|(id, _)| id == key_id) {
        None => Some(format!(
            "{label}: signed with key `{key_id}`, which is not among the public keys verification was given (checkpoint_key_file)"
        )),
        Some((_, key))
            if !signature_valid(key, stored, c["signature"].as_str().unwrap_or_default()) =>
        {
            Some(format!(
                "{label}: the signature does not verify under key `{key_id}`"
            ))
        }
        Some(_) => None,
    };
    if let Some(detail) = problem {
        report.findings.push(checkpoint_finding(
            FindingKind::SignatureInvalid,
            seq,
            detail,
        ));
    }
    check_leaves(seq, c, entries, late, report);
}

/// Each sealed leaf against the entry as it is now: deleted and rewritten entries are
/// named when the checkpoint records its leaves; older checkpoints can only say that
/// their root no longer matches. `late` holds the entries written after the log was read
/// (their stored hash), which are not deleted.
fn check_leaves(
    seq: i64,
    c: &Value,
    entries: &Entries,
    late: &BTreeMap<String, String>,
    report: &mut Report,
) {
    let hash_of = |id: &str| entries.hashes.get(id).or_else(|| late.get(id));
    let label = format!("checkpoint {seq}");
    let ids = strings(&c["entryIds"]).unwrap_or_default();
    let root = c["root"].as_str().unwrap_or_default();
    // The leaves as sealed, when the checkpoint records them (and they are what its
    // signed root was computed from): then each changed or deleted entry can be named.
    let leaves =
        strings(&c["entryHashes"]).filter(|h| h.len() == ids.len() && merkle_root(h) == root);
    let sealed_entities = strings(&c["entryEntities"]).filter(|e| e.len() == ids.len());
    let entity_of = |i: usize, id: &str| {
        sealed_entities
            .as_ref()
            .map(|e| e[i].clone())
            .or_else(|| entries.entities.get(id).cloned())
    };
    if let Some(leaves) = leaves {
        for (i, id) in ids.iter().enumerate() {
            match hash_of(id) {
                    None => {
                        let entity = entity_of(i, id)
                            .filter(|e| !e.is_empty())
                            .or_else(|| entries.missing.get(&leaves[i]).cloned());
                        report.findings.push(leaf_finding(
                            FindingKind::Deleted,
                            id,
                            entity,
                            seq,
                            format!("sealed by {label} at leaf {i} but no longer in the log"),
                        ));
                    }
                    Some(now) if *now != leaves[i] => report.findings.push(leaf_finding(
                        FindingKind::Rewritten,
                        id,
                        entity_of(i, id),
                        seq,
                        format!(
                            "sealed by {label} at leaf {i} with hash {}, now {now}: the entry was rewritten",
                            leaves[i]
                        ),
                    )),
                    Some(_) => {}
                }
        }
    } else {
        let mut current = Vec::with_capacity(ids.len());
        for id in &ids {
            match hash_of(id) {
                Some(h) => current.push(h.clone()),
                None => report.findings.push(leaf_finding(
                    FindingKind::Deleted,
                    id,
                    entries.entities.get(id).cloned(),
                    seq,
                    format!("sealed by {label} but no longer in the log"),
                )),
            }
        }
        if current.len() == ids.len() && merkle_root(&current) != root {
            report.findings.push(checkpoint_finding(
                FindingKind::Resealed,
                seq,
                format!("{label}: the sealed entries' hashes no longer match its Merkle root"),
            ));
        }
    }
}

/// Every checkpoint must be in the witness, in order, with the same hash and `prev`;
/// the witness must be one unbroken chain; nothing it holds may be missing here.
fn compare_witness(
    witness: &Witnessed,
    checkpoints: &BTreeMap<i64, Value>,
    missing: &mut BTreeMap<i64, String>,
    report: &mut Report,
) {
    let sink = |seq: Option<i64>, detail: String| Finding {
        kind: FindingKind::SinkMismatch,
        entry_id: None,
        entity_id: None,
        checkpoint: seq,
        detail,
    };
    for bad in &witness.bad {
        report.findings.push(sink(
            None,
            format!("witness line {} cannot be read: {}", bad.line, bad.detail),
        ));
    }
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    for pair in witness.heads.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.seq != a.seq + 1 {
            let detail = if b.seq <= a.seq {
                format!(
                    "the witness holds checkpoint {} after {}: out of order",
                    b.seq, a.seq
                )
            } else {
                format!(
                    "the witness has no line for checkpoint{} {}{} between {} and {}: witness lines were removed",
                    if b.seq - a.seq > 2 { "s" } else { "" },
                    a.seq + 1,
                    if b.seq - a.seq > 2 {
                        format!("..{}", b.seq - 1)
                    } else {
                        String::new()
                    },
                    a.seq,
                    b.seq
                )
            };
            report.findings.push(sink(Some(a.seq + 1), detail));
        } else if b.prev.as_deref().is_some_and(|p| p != a.hash) {
            report.findings.push(sink(
                Some(b.seq),
                format!(
                    "the witness line of checkpoint {} does not chain to checkpoint {}",
                    b.seq, a.seq
                ),
            ));
        }
    }
    for head in &witness.heads {
        if !seen.insert(head.seq) {
            report.findings.push(sink(
                Some(head.seq),
                format!("the witness holds checkpoint {} twice", head.seq),
            ));
        }
    }
    let lines: BTreeMap<i64, &Head> = witness.heads.iter().map(|h| (h.seq, h)).collect();
    for (seq, c) in checkpoints {
        match lines.get(seq) {
            None => report.findings.push(checkpoint_finding(
                FindingKind::Unwitnessed,
                *seq,
                format!(
                    "checkpoint {seq} is in the database but the witness never received it: it was made outside govtrail's checkpointer (forged with the signing key, or restored without its witness)"
                ),
            )),
            Some(head) if Some(head.hash.as_str()) != c["hash"].as_str() => {
                report.findings.push(sink(
                    Some(*seq),
                    format!("checkpoint {seq} differs from the witness's line for it: the checkpoint or the witness was rewritten"),
                ));
            }
            Some(head) if head.prev.is_some() && head.prev.as_deref() != c["prev"].as_str() => {
                report.findings.push(sink(
                    Some(*seq),
                    format!("checkpoint {seq} names another previous checkpoint than the witness's line"),
                ));
            }
            Some(_) => {}
        }
    }
    for seq in lines.keys().filter(|s| !checkpoints.contains_key(s)) {
        missing.insert(
            *seq,
            format!(
                "checkpoint {seq} was witnessed but is not in the database: deleted, or the database was restored from an older backup"
            ),
        );
    }
}

/// Every entry must be sealed by a checkpoint or queued for one, and not for too long.
fn check_coverage(
    options: &VerifyOptions,
    hashes: &BTreeMap<String, String>,
    sealed: &BTreeSet<String>,
    queued: &BTreeMap<String, Option<DateTime<Utc>>>,
    missing: &BTreeMap<i64, String>,
    report: &mut Report,
) {
    let now = Utc::now();
    let lost: Vec<String> = missing.keys().map(ToString::to_string).collect();
    for id in hashes.keys().filter(|id| !sealed.contains(*id)) {
        let entry = |kind, detail: String| Finding {
            kind,
            entry_id: Some(id.clone()),
            entity_id: None,
            checkpoint: None,
            detail,
        };
        match queued.get(id) {
            None if !lost.is_empty() => report.findings.push(entry(
                FindingKind::Uncovered,
                format!(
                    "no longer covered by a checkpoint: checkpoint {} is missing",
                    lost.join(", ")
                ),
            )),
            None => report.findings.push(entry(
                FindingKind::Inserted,
                "neither sealed by a checkpoint nor queued for one".into(),
            )),
            Some(at) => {
                if let (Some(bound), Some(at)) = (options.lag_bound, at)
                    && (now - *at).to_std().is_ok_and(|waited| waited > bound)
                {
                    report.findings.push(entry(
                        FindingKind::UnsealedLate,
                        format!("unsealed for longer than {} s", bound.as_secs()),
                    ));
                }
            }
        }
    }
}

/// The witness's lines, or none when there is no witness; an unreadable one is a finding.
fn read_witness(options: &VerifyOptions, report: &mut Report) -> Option<Witnessed> {
    match FileWitness::new(options.sink.clone()?).read_all() {
        Ok(w) => Some(w),
        Err(e) => {
            report.findings.push(Finding {
                kind: FindingKind::SinkMismatch,
                entry_id: None,
                entity_id: None,
                checkpoint: None,
                detail: e.to_string(),
            });
            None
        }
    }
}

/// Which of `seqs` are checkpoints in the database now, final or pending.
async fn existing_checkpoints(store: &Store, seqs: &[i64]) -> Result<BTreeSet<i64>, StoreError> {
    let mut out = BTreeSet::new();
    if seqs.is_empty() {
        return Ok(out);
    }
    let mut rows = store
        .read(query(CHECKPOINTS_PRESENT).param("seqs", seqs.to_vec()))
        .await?;
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        out.insert(row.get("seq").map_err(|e| store.decode(e))?);
    }
    Ok(out)
}

/// Entries the checkpoints seal that the read of the log did not include, as they are
/// now (id → stored hash): written, and sealed, while verification ran. An entry that
/// is absent here is gone.
async fn late_entries(
    store: &Store,
    checkpoints: &[(Value, bool)],
    entries: &Entries,
) -> Result<BTreeMap<String, String>, StoreError> {
    let ids: Vec<String> = checkpoints
        .iter()
        .flat_map(|(c, _)| strings(&c["entryIds"]).unwrap_or_default())
        .filter(|id| !entries.hashes.contains_key(id))
        .collect();
    let mut out = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut rows = store.read(query(ENTRIES_HASHES).param("ids", ids)).await?;
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let id: String = row.get("id").map_err(|e| store.decode(e))?;
        let hash: Option<String> = row.get("hash").map_err(|e| store.decode(e))?;
        if let Some(hash) = hash {
            out.insert(id, hash);
        }
    }
    Ok(out)
}

async fn read_checkpoints(store: &Store) -> Result<Vec<(Value, bool)>, StoreError> {
    let mut rows = store.read(query(CHECKPOINTS_ALL)).await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let c: Value = row.get("checkpoint").map_err(|e| store.decode(e))?;
        let pending: bool = row.get("pending").map_err(|e| store.decode(e))?;
        out.push((c, pending));
    }
    Ok(out)
}

async fn read_queue(store: &Store) -> Result<BTreeMap<String, Option<DateTime<Utc>>>, StoreError> {
    let mut rows = store.read(query(SEAL_QUEUE_ALL)).await?;
    let mut out = BTreeMap::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let id: String = row.get("entryId").unwrap_or_default();
        let at: Option<String> = row.get("at").unwrap_or(None);
        out.insert(id, instant(at.as_deref()));
    }
    Ok(out)
}

fn instant(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}
