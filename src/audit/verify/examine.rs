//! The checks of one entry on its own: its content hash, and its edges against what its
//! content names. Entries are examined in parallel (nothing here depends on another
//! entry); what the chains need is handed back as [`Facts`].

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Finding, FindingKind, Link, finding};
use crate::audit::hash::content_hash;
use crate::audit::seal::strings;

/// What an examined entry adds to the chains and the checkpoint checks.
pub(super) struct Facts {
    /// Entry id.
    pub id: String,
    /// Its primary entity, if any.
    pub entity: Option<String>,
    /// Its stored hash.
    pub hash: String,
    /// The entities its `AUDITS` edges point to.
    pub audits: BTreeSet<String>,
    /// Its place in those entities' chains.
    pub link: Link,
}

/// One entry, examined: what is wrong with it, and what the chains need of it (none
/// when it cannot be read).
pub(super) struct Examined {
    /// Everything found about this entry alone.
    pub findings: Vec<Finding>,
    /// Its facts, when it could be read.
    pub facts: Option<Facts>,
}

/// Examines the entry of `row` (a row of `verify_entries.cypher`) with id `id`. A row
/// that does not decode is a finding about that entry, not a reason to stop.
pub(super) fn examine(id: String, row: &neo4rs::Row) -> Examined {
    let mut findings = Vec::new();
    let facts = check(id, row, &mut findings);
    Examined { findings, facts }
}

/// Runs every check of one entry into `findings`; its facts, or `None` when it cannot
/// be read.
fn check(id: String, row: &neo4rs::Row, findings: &mut Vec<Finding>) -> Option<Facts> {
    let (mut entry, audits, edges) = match decode(row) {
        Ok(parts) => parts,
        Err(e) => {
            findings.push(finding(
                FindingKind::Malformed,
                Some(&id),
                None,
                format!("the entry cannot be read: {e}"),
            ));
            return None;
        }
    };
    let audits = readable(&entry, audits, &id, findings)?;
    canonical_timestamp(&mut entry, &id, findings);
    let hash = check_content(&entry, &id, &audits, findings);
    check_performer(&entry, &id, &edges.performers, findings);
    check_approvals(&entry, &id, &edges, findings);
    check_filing(&entry, &id, &edges, findings);
    Some(Facts {
        entity: entry["entityId"].as_str().map(str::to_owned),
        link: Link {
            id: id.clone(),
            prev_hashes: strings(&entry["prevHashes"]).unwrap_or_default(),
            timestamp: entry["timestamp"].as_str().unwrap_or_default().to_owned(),
        },
        id,
        hash,
        audits,
    })
}

/// The entry's content, its `AUDITS` targets and its other edges, as read.
fn decode(row: &neo4rs::Row) -> Result<(Value, Vec<Option<String>>, Edges), neo4rs::DeError> {
    let ids = |column: &str| row.get::<Vec<Option<String>>>(column);
    Ok((
        row.get::<Value>("entry")?,
        ids("audits")?,
        Edges {
            performers: ids("performers")?,
            approvers: ids("approvers")?,
            executes: ids("executes")?,
            misfiled: ids("misfiled")?,
        },
    ))
}

/// The ids of the entry's `AUDITS` targets, or `None` after reporting why the entry
/// cannot be checked.
fn readable(
    entry: &Value,
    audits: Vec<Option<String>>,
    id: &str,
    findings: &mut Vec<Finding>,
) -> Option<BTreeSet<String>> {
    let malformed = |detail: String| finding(FindingKind::Malformed, Some(id), None, detail);
    if !entry["hash"].is_string() {
        findings.push(malformed(
            "the entry has no hash: govtrail did not write it".into(),
        ));
        return None;
    }
    let audits = audits
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
    Some(audits)
}

/// Recomputes the entry's hash, and compares its `AUDITS` edges with the entities its
/// content names. Returns the stored hash.
fn check_content(
    entry: &Value,
    id: &str,
    linked: &BTreeSet<String>,
    findings: &mut Vec<Finding>,
) -> String {
    let stored = entry["hash"].as_str().unwrap_or_default().to_owned();
    match content_hash(entry) {
        Ok(actual) if actual == stored => {}
        Ok(_) => findings.push(finding(
            FindingKind::Modified,
            Some(id),
            entry["entityId"].as_str(),
            "the entry's content does not match its hash".into(),
        )),
        Err(e) => findings.push(finding(
            FindingKind::Modified,
            Some(id),
            None,
            e.to_string(),
        )),
    }
    let named = named_entities(entry);
    for moved in named.symmetric_difference(linked) {
        findings.push(finding(
            FindingKind::Relinked,
            Some(id),
            Some(moved),
            "the entry's AUDITS edges differ from the entities it names".into(),
        ));
    }
    stored
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

/// An entry's edges to people and requests.
pub(super) struct Edges {
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
    match crate::audit::hash::from_store(&text) {
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
