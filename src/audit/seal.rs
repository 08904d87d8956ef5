//! Verification of signed checkpoints (see [`super::checkpoint`]): the checkpoint
//! chain, signatures, Merkle roots over the sealed entries as they are now, coverage
//! of every entry, the lag bound, and agreement with the external sink.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use neo4rs::query;
use serde_json::Value;

use super::checkpoint::{checkpoint_hash, merkle_root, signature_valid};
use super::hash::GENESIS;
use super::verify::{FindingKind, Report, VerifyOptions, finding};
use crate::store::{Store, StoreError};

const CHECKPOINTS_ALL: &str = include_str!("../../cypher/checkpoints_all.cypher");
const SEAL_QUEUE_ALL: &str = include_str!("../../cypher/seal_queue_all.cypher");

/// Checks checkpoints against `hashes` (entry id → stored hash) and adds findings.
pub async fn verify_checkpoints(
    store: &Store,
    options: &VerifyOptions,
    hashes: &BTreeMap<String, String>,
    report: &mut Report,
) -> Result<(), StoreError> {
    let checkpoints = read_column(store, CHECKPOINTS_ALL, "checkpoint").await?;
    let queued = read_queue(store).await?;
    if checkpoints.is_empty() && options.keys.is_empty() && options.sink.is_none() {
        return Ok(());
    }
    let mut sealed: BTreeSet<String> = BTreeSet::new();
    let mut previous: Option<(i64, String)> = None;
    let mut db_hashes: BTreeMap<i64, (String, Option<DateTime<Utc>>)> = BTreeMap::new();
    for c in &checkpoints {
        report.checkpoints += 1;
        let seq = c["seq"].as_i64().unwrap_or(0);
        let stored = c["hash"].as_str().unwrap_or_default().to_owned();
        let label = format!("checkpoint {seq}");
        db_hashes.insert(seq, (stored.clone(), instant(c["sealedAt"].as_str())));
        let expected_seq = previous.as_ref().map_or(1, |(s, _)| s + 1);
        if seq != expected_seq {
            report.findings.push(finding(
                FindingKind::CheckpointMissing,
                None,
                None,
                format!("checkpoints {expected_seq}..{} are missing", seq - 1),
            ));
        }
        let expected_prev = previous
            .as_ref()
            .map_or(GENESIS.to_owned(), |(_, h)| h.clone());
        if c["prev"].as_str() != Some(expected_prev.as_str()) && seq == expected_seq {
            report.findings.push(finding(
                FindingKind::CheckpointModified,
                None,
                None,
                format!("{label} does not chain to the checkpoint before it"),
            ));
        }
        match checkpoint_hash(c) {
            Ok(actual) if actual == stored => {}
            _ => report.findings.push(finding(
                FindingKind::CheckpointModified,
                None,
                None,
                format!("{label}: content does not match its hash"),
            )),
        }
        let key_id = c["keyId"].as_str().unwrap_or_default();
        let problem = match options.keys.iter().find(|(id, _)| id == key_id) {
            None => Some(format!(
                "{label}: signed with key `{key_id}`, which is not among the public keys verification was given (checkpoint_key_file)"
            )),
            Some((_, key))
                if !signature_valid(key, &stored, c["signature"].as_str().unwrap_or_default()) =>
            {
                Some(format!(
                    "{label}: the signature does not verify under key `{key_id}`"
                ))
            }
            Some(_) => None,
        };
        if let Some(detail) = problem {
            report
                .findings
                .push(finding(FindingKind::SignatureInvalid, None, None, detail));
        }
        let ids: Vec<String> = c["entryIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let mut leaves = Vec::with_capacity(ids.len());
        for id in &ids {
            sealed.insert(id.clone());
            match hashes.get(id) {
                Some(h) => leaves.push(h.clone()),
                None => report.findings.push(finding(
                    FindingKind::Deleted,
                    Some(id),
                    None,
                    format!("sealed by {label} but no longer in the log"),
                )),
            }
        }
        if leaves.len() == ids.len()
            && merkle_root(&leaves) != c["root"].as_str().unwrap_or_default()
        {
            report.findings.push(finding(
                FindingKind::Resealed,
                None,
                None,
                format!("{label}: the sealed entries' hashes no longer match its Merkle root"),
            ));
        }
        previous = Some((seq, stored));
    }
    check_coverage(options, hashes, &sealed, &queued, report);
    if let Some(path) = &options.sink {
        compare_sink(path, &db_hashes, report);
    }
    Ok(())
}

/// Every entry must be sealed by a checkpoint or queued for one, and not for too long.
fn check_coverage(
    options: &VerifyOptions,
    hashes: &BTreeMap<String, String>,
    sealed: &BTreeSet<String>,
    queued: &BTreeMap<String, Option<DateTime<Utc>>>,
    report: &mut Report,
) {
    let now = Utc::now();
    for (id, _) in hashes.iter().filter(|(id, _)| !sealed.contains(*id)) {
        match queued.get(id) {
            None => report.findings.push(finding(
                FindingKind::Inserted,
                Some(id),
                None,
                "neither sealed by a checkpoint nor queued for one".into(),
            )),
            Some(at) => {
                if let (Some(bound), Some(at)) = (options.lag_bound, at)
                    && (now - *at).to_std().is_ok_and(|waited| waited > bound)
                {
                    report.findings.push(finding(
                        FindingKind::UnsealedLate,
                        Some(id),
                        None,
                        format!("unsealed for longer than {} s", bound.as_secs()),
                    ));
                }
            }
        }
    }
}

/// A checkpoint is appended to the sink right after it commits; one younger than this
/// may not be there yet.
const SINK_GRACE: chrono::Duration = chrono::Duration::seconds(10);

fn compare_sink(
    path: &std::path::Path,
    db: &BTreeMap<i64, (String, Option<DateTime<Utc>>)>,
    report: &mut Report,
) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut sink: BTreeMap<i64, String> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        if let (Some(seq), Some(hash)) = (value["seq"].as_i64(), value["hash"].as_str()) {
            sink.insert(seq, hash.to_owned());
        }
    }
    for (seq, hash) in &sink {
        if db.get(seq).map(|(h, _)| h) != Some(hash) {
            report.findings.push(finding(
                FindingKind::SinkMismatch,
                None,
                None,
                format!("checkpoint {seq} in the sink is missing or different in the database"),
            ));
        }
    }
    let sink_last = sink.keys().next_back().copied().unwrap_or(0);
    let now = Utc::now();
    for (seq, _) in db
        .iter()
        .filter(|(s, (_, at))| **s > sink_last && at.is_none_or(|at| now - at > SINK_GRACE))
    {
        report.findings.push(finding(
            FindingKind::SinkMismatch,
            None,
            None,
            format!("checkpoint {seq} is in the database but not in the sink"),
        ));
    }
}

async fn read_column(store: &Store, cypher: &str, column: &str) -> Result<Vec<Value>, StoreError> {
    let mut rows = store
        .graph()
        .execute_read(query(cypher))
        .await
        .map_err(|e| store.error(e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        out.push(row.get(column).map_err(|e| store.decode(e))?);
    }
    Ok(out)
}

async fn read_queue(store: &Store) -> Result<BTreeMap<String, Option<DateTime<Utc>>>, StoreError> {
    let mut rows = store
        .graph()
        .execute_read(query(SEAL_QUEUE_ALL))
        .await
        .map_err(|e| store.error(e))?;
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
