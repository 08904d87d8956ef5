//! The walk of one entity's hash chain from its head back to GENESIS.

use std::collections::{BTreeMap, BTreeSet};

use super::{Finding, FindingKind, Link, finding};
use crate::audit::hash::{GENESIS, prev_of};

/// Walks `entity`'s chain from its head back to GENESIS, reporting where it breaks.
/// Returns the hash of an entry the chain needs and no entry has (deleted), so a
/// checkpoint that sealed it can name the entity.
///
/// When one entry is missing, the entries older than the gap form their own chain
/// back to GENESIS: they are the genuine earlier part of the history, not insertions,
/// and only the break is reported. Entries on no chain at all are `not-on-chain`.
pub(super) fn walk(
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
