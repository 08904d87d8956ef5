//! Offline verification of a lineage packet (see [`super::packet`]) with nothing but the
//! packet and the govtrail public key: the envelope signature, the Statement's subject
//! against the state digest, every entry's content hash, the entity's hash chain from
//! GENESIS to its head, every sealed entry's inclusion proof, and every checkpoint's
//! hash and signature. Each problem is reported in words an auditor can act on.
//! `tools/verify_export.py` performs the same checks without govtrail.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::dsse::{self, Envelope, IN_TOTO_PAYLOAD_TYPE};
use super::packet::{PREDICATE_TYPE, STATEMENT_TYPE, Statement, jcs_digest, subject_name};
use crate::audit::checkpoint::{checkpoint_hash, merkle_root, signature_valid, verify_inclusion};
use crate::audit::hash::{GENESIS, content_hash, is_canonical, prev_of};

/// The outcome of verifying one packet.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// True when there is no problem.
    pub valid: bool,
    /// `govtrail:<Type>/<id>`, when the payload could be read.
    pub subject: Option<String>,
    /// Entries in the packet.
    pub entries: usize,
    /// Entries whose inclusion proof verified.
    pub sealed: usize,
    /// Checkpoints whose hash and signature verified.
    pub checkpoints: usize,
    /// What is wrong, one sentence each.
    pub problems: Vec<String>,
    /// What holds but deserves attention (entries not sealed yet).
    pub warnings: Vec<String>,
}

impl Verdict {
    fn problem(&mut self, text: impl Into<String>) {
        self.problems.push(text.into());
    }

    /// The verdict as text: `VALID` or `INVALID` and the subject, the counts, then one
    /// line per problem and per warning. `key_id` names the key verified against.
    #[must_use]
    pub fn render(&self, key_id: &str) -> String {
        use std::fmt::Write as _;
        let mut out = format!(
            "{} {}\n  {} entries, {} with inclusion proofs verified against {} signed checkpoints (key {key_id})",
            if self.valid { "VALID" } else { "INVALID" },
            self.subject.as_deref().unwrap_or("(unreadable packet)"),
            self.entries,
            self.sealed,
            self.checkpoints,
        );
        for problem in &self.problems {
            let _ = write!(out, "\n  problem: {problem}");
        }
        for warning in &self.warnings {
            let _ = write!(out, "\n  warning: {warning}");
        }
        out
    }
}

/// The id govtrail gives a public key: the first 16 hex digits of its SHA-256.
#[must_use]
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Reads a public key: PEM (SubjectPublicKeyInfo) or the base64 of the 32 raw bytes
/// (as `/v1/audit/keys` serves it).
pub fn read_public_key(text: &str) -> Result<VerifyingKey, String> {
    use base64::Engine as _;
    use ed25519_dalek::pkcs8::DecodePublicKey as _;
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(text)
            .map_err(|e| format!("not an Ed25519 public key in PEM form: {e}"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| "neither PEM nor base64".to_owned())?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "a raw Ed25519 public key has 32 bytes".to_owned())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an Ed25519 public key: {e}"))
}

/// Verifies a packet (the envelope's JSON bytes) against `key`.
#[must_use]
pub fn verify_packet(bytes: &[u8], key: &VerifyingKey) -> Verdict {
    let mut verdict = Verdict::default();
    let envelope: Envelope = match serde_json::from_slice(bytes) {
        Ok(e) => e,
        Err(e) => {
            verdict.problem(format!(
                "the file is not a DSSE envelope ({e}): it was damaged or is not a govtrail packet"
            ));
            return verdict;
        }
    };
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        verdict.problem(format!(
            "the envelope's payload type is `{}`, not `{IN_TOTO_PAYLOAD_TYPE}`",
            envelope.payload_type
        ));
    }
    let (payload, signed_by) = match dsse::verify(&envelope, key, &key_id(key)) {
        Ok((payload, keyid)) => (payload, Some(keyid)),
        Err(e) => {
            verdict.problem(e.to_string());
            // Go on reading the payload to say what was changed.
            match base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &envelope.payload,
            ) {
                Ok(payload) => (payload, None),
                Err(_) => return verdict,
            }
        }
    };
    let statement: Statement = match serde_json::from_slice(&payload) {
        Ok(s) => s,
        Err(e) => {
            verdict.problem(format!("the payload is not a govtrail lineage packet: {e}"));
            return verdict;
        }
    };
    if let Some(keyid) = signed_by
        && keyid != statement.predicate.signer_key_id
    {
        verdict.problem(format!(
            "the envelope names key {keyid} for its signature, but the signed packet says it was signed with key {}: the envelope was altered",
            statement.predicate.signer_key_id
        ));
    }
    check_statement(&statement, key, &mut verdict);
    verdict.valid = verdict.problems.is_empty();
    verdict
}

fn check_statement(statement: &Statement, key: &VerifyingKey, verdict: &mut Verdict) {
    let packet = &statement.predicate;
    let entity = &packet.entity;
    let name = subject_name(&entity.entity_type, &entity.id);
    verdict.subject = Some(name.clone());
    verdict.entries = packet.history.len();
    if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        verdict.problem(format!(
            "the payload is a `{}` statement of `{}`, not a govtrail lineage packet",
            statement.statement_type, statement.predicate_type
        ));
    }
    if !is_canonical(&packet.exported_at) {
        verdict.problem(
            "the packet's exportedAt is not in the one canonical form (YYYY-MM-DDTHH:MM:SS.ffffffZ)",
        );
    }
    match jcs_digest(&entity.state) {
        Ok(digest) if digest == entity.state_digest => {}
        _ => verdict.problem(format!(
            "the entity's state does not match its digest {}: the state was changed",
            entity.state_digest
        )),
    }
    let subject_ok = statement.subject.len() == 1
        && statement.subject[0].name == name
        && statement.subject[0].digest.get("sha256") == Some(&entity.state_digest);
    if !subject_ok {
        verdict.problem(format!(
            "the statement's subject does not name {name} with its state digest"
        ));
    }
    let hashes = check_entries(packet, verdict);
    check_chain(packet, verdict);
    check_seals(packet, &hashes, key, verdict);
    check_requests(packet, verdict);
}

/// Entries that act on a change request without being the change it runs.
const CHANGE_CONTROL: [&str; 6] = [
    "REQUEST_CHANGE",
    "APPROVE_CHANGE",
    "REJECT_CHANGE",
    "WITHDRAW_CHANGE",
    "EXPIRE_CHANGE",
    "REVIEW_BREAK_GLASS",
];

/// Each change request's command hashes to its digest and is of its operation; each
/// entry that executes a request ran that command (same digest and operation) with
/// the approvers the request names (none for break-glass).
fn check_requests(packet: &super::packet::Packet, verdict: &mut Verdict) {
    let mut by_id = BTreeMap::new();
    for r in &packet.requests {
        if by_id.insert(r.id.as_str(), r).is_some() {
            verdict.problem(format!("change request {} appears twice", r.id));
        }
        let digest = jcs_digest(&r.command).map(|d| format!("sha256:{d}"));
        if digest.ok().as_deref() != Some(r.command_digest.as_str()) {
            verdict.problem(format!(
                "change request {}: its command does not hash to its commandDigest {}: the command was changed",
                r.id, r.command_digest
            ));
        }
        if r.command.get("operation").and_then(Value::as_str) != Some(r.operation.as_str()) {
            verdict.problem(format!(
                "change request {}: its command is not a {} command: the request was changed",
                r.id, r.operation
            ));
        }
    }
    for (i, item) in packet.history.iter().enumerate() {
        let e = &item.entry;
        let text = |k: &str| e.get(k).and_then(Value::as_str);
        let (Some(request_id), Some(operation)) = (text("changeRequestId"), text("operation"))
        else {
            continue;
        };
        if CHANGE_CONTROL.contains(&operation) {
            continue;
        }
        let id = entry_id(e, i);
        let Some(r) = by_id.get(request_id) else {
            verdict.problem(format!(
                "entry {id} executes change request {request_id}, which the packet does not carry"
            ));
            continue;
        };
        let ran = text("commandDigest").unwrap_or("none");
        if ran != r.command_digest {
            verdict.problem(format!(
                "entry {id} executes change request {request_id}, but the command that ran ({ran}) is not the one the request holds ({})",
                r.command_digest
            ));
        }
        if operation != r.operation {
            verdict.problem(format!(
                "entry {id} ran {operation}, but change request {request_id} holds {}",
                r.operation
            ));
        }
        let glass = e.get("breakGlass").and_then(Value::as_bool) == Some(true);
        if glass != r.break_glass {
            verdict.problem(format!(
                "entry {id} and change request {request_id} disagree on whether it broke glass"
            ));
        }
        let mut named = strings(e.get("approverIds"));
        named.sort();
        let mut approved = r.approver_ids.clone();
        approved.sort();
        if named != approved {
            verdict.problem(format!(
                "entry {id} and change request {request_id} name different approvers ({} / {})",
                named.join(", "),
                approved.join(", ")
            ));
        }
    }
}

/// Recomputes every entry's hash; returns the recomputed hash per position.
fn check_entries(packet: &super::packet::Packet, verdict: &mut Verdict) -> Vec<String> {
    let entity_id = &packet.entity.id;
    let mut seen = BTreeSet::new();
    packet
        .history
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let id = entry_id(&item.entry, i);
            if !seen.insert(id.clone()) {
                verdict.problem(format!("entry {id} appears twice"));
            }
            let stated = item.entry.get("hash").and_then(Value::as_str);
            let computed = if let Ok(hash) = content_hash(&Value::Object(item.entry.clone())) {
                if stated != Some(hash.as_str()) {
                    verdict.problem(format!(
                        "entry {id}: its content does not match its hash: the entry was modified"
                    ));
                }
                hash
            } else {
                verdict.problem(format!(
                    "entry {id}: its timestamp is not in the one canonical form (YYYY-MM-DDTHH:MM:SS.ffffffZ), so its hash cannot be recomputed: the entry was modified"
                ));
                String::new()
            };
            let audits_entity = item.entry.get("entityId").and_then(Value::as_str)
                == Some(entity_id.as_str())
                || prev_of(&strings(item.entry.get("prevHashes")), entity_id).is_some();
            if !audits_entity {
                verdict.problem(format!("entry {id} is not about entity {entity_id}"));
            }
            computed
        })
        .collect()
}

/// Walks the entity's chain in packet order, from GENESIS to the entity's head.
fn check_chain(packet: &super::packet::Packet, verdict: &mut Verdict) {
    let entity_id = &packet.entity.id;
    let stated: Vec<String> = packet
        .history
        .iter()
        .map(|item| {
            item.entry
                .get("hash")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let position: BTreeMap<&str, usize> = stated
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut expected = GENESIS.to_owned();
    for (i, item) in packet.history.iter().enumerate() {
        let id = entry_id(&item.entry, i);
        let prevs = strings(item.entry.get("prevHashes"));
        let Some(prev) = prev_of(&prevs, entity_id) else {
            verdict.problem(format!(
                "entry {id} is not on the chain of entity {entity_id} (its prevHashes do not name it)"
            ));
            continue;
        };
        if prev != expected {
            let before = if i == 0 {
                "the start of the chain".to_owned()
            } else {
                format!("entry {}", entry_id(&packet.history[i - 1].entry, i - 1))
            };
            let text = match position.get(prev) {
                Some(&j) if j > i => format!(
                    "entries are out of order: entry {id} follows {before} but chains to entry {}, which comes after it",
                    entry_id(&packet.history[j].entry, j)
                ),
                Some(&j) => format!(
                    "entries are out of order: entry {id} follows {before} but chains to entry {}",
                    entry_id(&packet.history[j].entry, j)
                ),
                None if prev == GENESIS => format!(
                    "entry {id} starts the chain (GENESIS) but follows {before}: entries are out of order"
                ),
                None => format!(
                    "an entry is missing before entry {id}: it chains to an entry with hash {prev} that is not in the packet"
                ),
            };
            verdict.problem(text);
        }
        expected.clone_from(&stated[i]);
    }
    match (&packet.entity.audit_head, packet.history.is_empty()) {
        (Some(head), false) if *head != expected => {
            let text = if position.contains_key(head.as_str()) {
                format!(
                    "entries are out of order: the entity's newest entry (hash {head}) is not last"
                )
            } else {
                format!(
                    "entries are missing at the end: the entity's newest entry has hash {head}, which is not in the packet"
                )
            };
            verdict.problem(text);
        }
        (None, false) => verdict.problem(format!(
            "entity {entity_id} names no chain head but the packet holds entries"
        )),
        (Some(head), true) => verdict.problem(format!(
            "the packet holds no entries but the entity's newest entry has hash {head}: every entry is missing"
        )),
        _ => {}
    }
}

/// One checkpoint of a packet: its fields, the entry ids it lists, and whether it
/// passed every check (only then do proofs against it count as sealed).
struct Listed<'p> {
    checkpoint: &'p Value,
    ids: Vec<String>,
    verified: bool,
}

/// A packet's checkpoints by seq.
type Checkpoints<'p> = BTreeMap<i64, Listed<'p>>;

/// Checks each checkpoint (form, hash, signature, count) and indexes them by seq.
fn check_checkpoints<'p>(
    packet: &'p super::packet::Packet,
    key: &VerifyingKey,
    verdict: &mut Verdict,
) -> Checkpoints<'p> {
    let mut checkpoints: Checkpoints<'p> = BTreeMap::new();
    for c in &packet.checkpoints {
        let Some(seq) = c["seq"].as_i64() else {
            verdict.problem("a checkpoint has no integer seq: the checkpoint was modified");
            continue;
        };
        if checkpoints.contains_key(&seq) {
            verdict.problem(format!("checkpoint {seq} appears twice"));
            continue;
        }
        let stated = c["hash"].as_str().unwrap_or_default();
        let ids = strings(c.get("entryIds"));
        let mut ok = true;
        if !c["sealedAt"].as_str().is_some_and(is_canonical) {
            verdict.problem(format!(
                "checkpoint {seq}: its sealedAt is not in the one canonical form (YYYY-MM-DDTHH:MM:SS.ffffffZ): the checkpoint was modified"
            ));
            ok = false;
        }
        if checkpoint_hash(c).ok().as_deref() != Some(stated) {
            verdict.problem(format!(
                "checkpoint {seq}: its content does not match its hash: the checkpoint was modified"
            ));
            ok = false;
        }
        if !signature_valid(key, stated, c["signature"].as_str().unwrap_or_default()) {
            verdict.problem(format!(
                "checkpoint {seq}: its signature does not verify under the given public key"
            ));
            ok = false;
        }
        if c["count"].as_u64() != Some(ids.len() as u64) {
            verdict.problem(format!(
                "checkpoint {seq}: its count does not match the entries it lists"
            ));
            ok = false;
        }
        if !leaves_consistent(c, ids.len()) {
            verdict.problem(format!(
                "checkpoint {seq}: the entry hashes or entities it lists do not match its entries and its root: the checkpoint was made inconsistent"
            ));
            ok = false;
        }
        if ok {
            verdict.checkpoints += 1;
        }
        checkpoints.insert(
            seq,
            Listed {
                checkpoint: c,
                ids,
                verified: ok,
            },
        );
    }
    checkpoints
}

/// A checkpoint that lists `entryHashes` and `entryEntities` (checkpoints from before
/// govtrail recorded them have neither) lists one of each per entry, and its root is
/// the Merkle root of those hashes: a signature over a checkpoint that says otherwise
/// proves nothing about its leaves.
fn leaves_consistent(c: &Value, count: usize) -> bool {
    let listed = |field: &str| match c.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(()))
            .collect::<Result<Vec<String>, ()>>()
            .map(Some),
        Some(_) => Err(()),
    };
    let (Ok(hashes), Ok(entities)) = (listed("entryHashes"), listed("entryEntities")) else {
        return false;
    };
    let hashes_ok = hashes.is_none_or(|h| {
        h.len() == count && (count == 0 || c["root"].as_str() == Some(merkle_root(&h).as_str()))
    });
    hashes_ok && entities.is_none_or(|e| e.len() == count)
}

/// Checks checkpoints and every entry's inclusion proof.
fn check_seals(
    packet: &super::packet::Packet,
    hashes: &[String],
    key: &VerifyingKey,
    verdict: &mut Verdict,
) {
    let checkpoints = check_checkpoints(packet, key, verdict);
    let listing: BTreeMap<&str, i64> = checkpoints
        .iter()
        .flat_map(|(seq, l)| l.ids.iter().map(move |id| (id.as_str(), *seq)))
        .collect();
    let mut unsealed = Vec::new();
    for (i, item) in packet.history.iter().enumerate() {
        let id = entry_id(&item.entry, i);
        let Some(proof) = &item.proof else {
            if let Some(seq) = listing.get(id.as_str()) {
                verdict.problem(format!(
                    "entry {id}: checkpoint {seq} seals it, but the packet gives no inclusion proof for it: the proof was removed"
                ));
            } else {
                unsealed.push(id);
            }
            continue;
        };
        let Some(Listed {
            checkpoint,
            ids,
            verified,
        }) = checkpoints.get(&proof.checkpoint)
        else {
            verdict.problem(format!(
                "entry {id}: its proof refers to checkpoint {}, which is not in the packet",
                proof.checkpoint
            ));
            continue;
        };
        let listed = usize::try_from(proof.leaf_index)
            .ok()
            .and_then(|i| ids.get(i))
            .is_some_and(|listed| *listed == id);
        if !listed {
            verdict.problem(format!(
                "entry {id}: checkpoint {} does not list it at leaf {}",
                proof.checkpoint, proof.leaf_index
            ));
            continue;
        }
        if proof.tree_size != ids.len() as u64 {
            verdict.problem(format!(
                "entry {id}: its proof claims a tree of {} leaves, but checkpoint {} seals {}: the proof was modified",
                proof.tree_size,
                proof.checkpoint,
                ids.len()
            ));
            continue;
        }
        let root = checkpoint["root"].as_str().unwrap_or_default();
        if verify_inclusion(
            root,
            proof.tree_size,
            &hashes[i],
            proof.leaf_index,
            &proof.audit_path,
        ) {
            // A proof against a checkpoint that failed its checks proves nothing (that
            // checkpoint is already a problem).
            if *verified {
                verdict.sealed += 1;
            }
        } else {
            verdict.problem(format!(
                "entry {id}: it is not in the Merkle root of checkpoint {} (its content or proof was changed)",
                proof.checkpoint
            ));
        }
    }
    if !unsealed.is_empty() {
        verdict.warnings.push(format!(
            "{} entr{} not yet sealed by a signed checkpoint when exported ({}): the envelope signature and the hash chain cover {}",
            unsealed.len(),
            if unsealed.len() == 1 { "y was" } else { "ies were" },
            unsealed.join(", "),
            if unsealed.len() == 1 { "it" } else { "them" },
        ));
    }
}

fn entry_id(entry: &serde_json::Map<String, Value>, position: usize) -> String {
    entry
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| format!("#{}", position + 1), str::to_owned)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::audit::checkpoint::{CheckpointKey, inclusion_proofs, merkle_root};
    use crate::export::packet::{Exporter, HistoryItem, Packet, PacketEntity, Proof, Subject};

    fn key() -> CheckpointKey {
        crate::audit::checkpoint::fixture_key()
    }

    /// A statement about entity `e` with three chained entries, the first two sealed
    /// in one signed checkpoint.
    /// Hashes and signs a checkpoint, as a key holder can.
    fn sign_checkpoint(key: &CheckpointKey, checkpoint: &mut Value) {
        if let Some(map) = checkpoint.as_object_mut() {
            map.remove("hash");
            map.remove("signature");
        }
        let hash = checkpoint_hash(checkpoint).unwrap_or_default();
        let signature = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            key.sign(hash.as_bytes()).to_bytes(),
        );
        checkpoint["hash"] = json!(hash);
        checkpoint["signature"] = json!(signature);
    }

    fn statement(key: &CheckpointKey) -> Statement {
        let mut entries = Vec::new();
        let mut prev = GENESIS.to_owned();
        for i in 0..3 {
            let mut entry = json!({
                "id": format!("entry-{i}"),
                "timestamp": format!("2026-11-25T10:00:0{i}.000000Z"),
                "operation": "CHANGE_RISK_LEVEL",
                "entityId": "e",
                "reason": "café ✓ \u{1F512}",
                "entityVersion": i,
                "prevHashes": [format!("e={prev}")],
            });
            let hash = content_hash(&entry).unwrap_or_default();
            entry["hash"] = json!(hash);
            prev = hash;
            entries.push(entry);
        }
        let hashes: Vec<String> = entries[..2]
            .iter()
            .map(|e| e["hash"].as_str().unwrap_or_default().to_owned())
            .collect();
        let mut checkpoint = json!({
            "seq": 1, "prev": GENESIS, "root": merkle_root(&hashes), "count": 2,
            "entryIds": ["entry-0", "entry-1"], "entryHashes": hashes, "entryEntities": ["e", "e"],
            "sealedAt": "2026-11-25T10:00:01.500000Z", "keyId": key.key_id(),
        });
        sign_checkpoint(key, &mut checkpoint);
        let proofs: Vec<Vec<String>> = inclusion_proofs(&hashes, &[0, 1].into())
            .into_values()
            .collect();
        let history = entries
            .into_iter()
            .enumerate()
            .map(|(i, entry)| HistoryItem {
                entry: entry.as_object().cloned().unwrap_or_default(),
                context: crate::export::packet::EntryContext {
                    actor_display_name: Some("Ada".into()),
                    actor_erased: false,
                },
                proof: proofs.get(i).map(|path| Proof {
                    checkpoint: 1,
                    leaf_index: i as u64,
                    tree_size: 2,
                    audit_path: path.clone(),
                }),
            })
            .collect();
        let state = json!({"name": "e", "riskLevel": "HIGH"});
        let state_digest = jcs_digest(&state).unwrap_or_default();
        Statement {
            statement_type: STATEMENT_TYPE.into(),
            subject: vec![Subject {
                name: "govtrail:Technology/e".into(),
                digest: [("sha256".to_owned(), state_digest.clone())].into(),
            }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate: Packet {
                format: 1,
                entity: PacketEntity {
                    entity_type: "Technology".into(),
                    id: "e".into(),
                    label: "e".into(),
                    deleted: false,
                    version: Some(3),
                    audit_head: Some(prev),
                    state,
                    state_digest,
                },
                policy_version: "p".into(),
                exported_by: Exporter {
                    user_id: "su".into(),
                    roles: vec!["superuser".into()],
                },
                exported_at: "2026-11-25T10:00:05.000000Z".into(),
                export_entry_id: "x".into(),
                signer_key_id: key.key_id().into(),
                requests: Vec::new(),
                history,
                checkpoints: vec![checkpoint],
                lineage: json!({"nodes": [], "edges": []}),
                in_force: json!({}),
            },
        }
    }

    fn signed(key: &CheckpointKey, statement: &Statement) -> Vec<u8> {
        let payload = serde_json::to_vec(statement).unwrap_or_default();
        let envelope = dsse::sign(key, IN_TOTO_PAYLOAD_TYPE, &payload);
        serde_json::to_vec_pretty(&envelope).unwrap_or_default()
    }

    #[test]
    fn a_sound_packet_verifies_and_names_what_is_unsealed() {
        let key = key();
        let verdict = verify_packet(&signed(&key, &statement(&key)), &key.verifying_key());
        assert!(verdict.valid, "{verdict:#?}");
        assert_eq!(
            (verdict.entries, verdict.sealed, verdict.checkpoints),
            (3, 2, 1)
        );
        assert_eq!(verdict.warnings.len(), 1);
        assert!(verdict.warnings[0].contains("entry-2"), "{verdict:#?}");
    }

    #[test]
    fn flipping_any_single_bit_of_the_file_is_detected() {
        let key = key();
        let bytes = signed(&key, &statement(&key));
        let public = key.verifying_key();
        for at in 0..bytes.len() {
            for bit in [0x01, 0x20] {
                let mut flipped = bytes.clone();
                flipped[at] ^= bit;
                let verdict = verify_packet(&flipped, &public);
                assert!(
                    !verdict.valid && !verdict.problems.is_empty(),
                    "bit {bit:#x} of byte {at} ({:?}) flipped went unnoticed",
                    char::from(bytes[at])
                );
            }
        }
    }

    fn problems_after(change: impl FnOnce(&mut Statement)) -> Vec<String> {
        let key = key();
        let mut s = statement(&key);
        change(&mut s);
        // Re-signed by a key holder: only the packet's own checks can tell.
        let verdict = verify_packet(&signed(&key, &s), &key.verifying_key());
        assert!(!verdict.valid);
        verdict.problems
    }

    type Tampering = (&'static str, fn(&mut Statement), &'static str);

    fn set_timestamp(s: &mut Statement, value: &str) {
        s.predicate.history[0]
            .entry
            .insert("timestamp".into(), json!(value));
    }

    const NOT_CANONICAL: &str = "entry entry-0: its timestamp is not in the one canonical form";

    /// Each tampering (re-signed by the key holder), and words its report must contain.
    const TAMPERINGS: &[Tampering] = &[
        (
            "removed",
            |s| {
                s.predicate.history.remove(1);
            },
            "an entry is missing before entry entry-2",
        ),
        (
            "truncated",
            |s| {
                s.predicate.history.pop();
            },
            "entries are missing at the end",
        ),
        (
            "reordered",
            |s| s.predicate.history.swap(0, 1),
            "entries are out of order: entry entry-1",
        ),
        (
            "edited",
            |s| {
                s.predicate.history[0]
                    .entry
                    .insert("reason".into(), json!("edited"));
            },
            "entry entry-0: its content does not match its hash",
        ),
        (
            "edited, so off its root",
            |s| {
                s.predicate.history[0]
                    .entry
                    .insert("reason".into(), json!("edited"));
            },
            "entry entry-0: it is not in the Merkle root",
        ),
        (
            "moved leaf",
            |s| {
                if let Some(p) = s.predicate.history[1].proof.as_mut() {
                    p.leaf_index = 0;
                }
            },
            "checkpoint 1 does not list it at leaf 0",
        ),
        (
            "resized tree",
            |s| {
                if let Some(p) = s.predicate.history[1].proof.as_mut() {
                    p.tree_size = 3;
                }
            },
            "entry entry-1: its proof claims a tree of 3 leaves, but checkpoint 1 seals 2: the proof was modified",
        ),
        (
            "lowercase timestamp",
            |s| set_timestamp(s, "2026-11-25t10:00:00.000000z"),
            NOT_CANONICAL,
        ),
        (
            "sub-microsecond timestamp",
            |s| set_timestamp(s, "2026-11-25T10:00:00.0000001Z"),
            NOT_CANONICAL,
        ),
        (
            "no timestamp",
            |s| set_timestamp(s, "yesterday"),
            NOT_CANONICAL,
        ),
        (
            "checkpoint twice",
            |s| {
                let copy = s.predicate.checkpoints[0].clone();
                s.predicate.checkpoints.push(copy);
            },
            "checkpoint 1 appears twice",
        ),
        (
            "checkpoint count",
            |s| {
                s.predicate.checkpoints[0]["count"] = json!(3);
            },
            "checkpoint 1: its content does not match its hash",
        ),
    ];

    #[test]
    fn each_tampering_is_named() {
        for (name, tamper, expected) in TAMPERINGS {
            let problems = problems_after(tamper);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{name}: expected a problem containing {expected:?}, got {problems:#?}"
            );
        }
    }

    #[test]
    fn another_key_fails_the_envelope_and_every_checkpoint() {
        let key = key();
        let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
        let verdict = verify_packet(&signed(&key, &statement(&key)), &other);
        assert!(!verdict.valid);
        assert!(
            verdict.problems[0].starts_with("no signature verifies under the given public key"),
            "{verdict:#?}"
        );
        assert!(
            verdict
                .problems
                .iter()
                .any(|p| p
                    == "checkpoint 1: its signature does not verify under the given public key"),
            "{verdict:#?}"
        );
        assert_eq!(
            (verdict.checkpoints, verdict.sealed),
            (0, 0),
            "proofs against a checkpoint that fails its checks prove nothing"
        );
    }

    #[test]
    fn public_keys_are_read_as_pem_or_raw_base64() {
        let key = key();
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keys/ed25519-public.pem"
        ))
        .unwrap_or_default();
        assert_eq!(read_public_key(&pem), Ok(key.verifying_key()));
        let raw = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            key.verifying_key().as_bytes(),
        );
        assert_eq!(read_public_key(&raw), Ok(key.verifying_key()));
        assert!(read_public_key("not a key").is_err());
        assert!(read_public_key("AAAA").is_err());
    }
}
