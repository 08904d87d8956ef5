//! Lineage packets: one entity's identity, current governed state (and its digest),
//! full audit history with hashes, chain links and inclusion proofs against the
//! signed checkpoints that sealed each entry, its approval lineage, the constraints and
//! license decisions in force, the policy version and who exported it when — as an
//! in-toto Statement signed in a DSSE envelope with the govtrail Ed25519 key, so an
//! auditor holding only the packet and the public key can check it offline
//! (see [`super::offline`] and `docs/verifying-exports.md`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use neo4rs::query;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::dsse::{self, Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::audit::checkpoint::{CheckpointKey, inclusion_proofs};
use crate::audit::hash::{GENESIS, canonical_timestamp, canonicalize_field, prev_of};
use crate::domain::EntityType;
use crate::history::{lineage, replay};
use crate::store::{Store, StoreError};

const PACKET_ENTRIES: &str = include_str!("../../cypher/packet_entries.cypher");
const PACKET_CHECKPOINTS: &str = include_str!("../../cypher/packet_checkpoints.cypher");
const IN_FORCE: &str = include_str!("../../cypher/packet_in_force.cypher");
const PACKET_REQUESTS: &str = include_str!("../../cypher/packet_requests.cypher");

/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a govtrail lineage packet.
pub const PREDICATE_TYPE: &str = "https://govtrail.dev/lineage-packet/v1";
/// Lineage depth a packet carries.
pub const LINEAGE_DEPTH: u8 = 2;

/// The signed payload: an in-toto Statement about the entity's current state. Every
/// part of it refuses unknown fields: nothing rides in a packet that no check reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The entity, named `govtrail:<Type>/<id>`, with the digest of its state.
    pub subject: Vec<Subject>,
    /// [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The packet.
    pub predicate: Packet,
}

/// An in-toto subject.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `govtrail:<Type>/<id>`.
    pub name: String,
    /// `{"sha256": <state digest>}`.
    pub digest: BTreeMap<String, String>,
}

/// The lineage packet proper.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Packet {
    /// Packet format version (1).
    pub format: u32,
    /// The entity and its current governed state.
    pub entity: PacketEntity,
    /// The rule set govtrail checks decisions against.
    pub policy_version: String,
    /// Who exported the packet.
    pub exported_by: Exporter,
    /// When (RFC 3339 UTC).
    pub exported_at: String,
    /// The EXPORT audit entry recording this export (it names this packet's digest).
    pub export_entry_id: String,
    /// Id of the key that signs the envelope (DSSE leaves key ids unsigned; this one
    /// is signed, so a changed envelope key id shows).
    pub signer_key_id: String,
    /// Every entry that audits the entity, in chain order (oldest first).
    pub history: Vec<HistoryItem>,
    /// The signed checkpoints that sealed those entries.
    pub checkpoints: Vec<Value>,
    /// Approval lineage (decisions, supersessions, actors) to depth [`LINEAGE_DEPTH`].
    pub lineage: Value,
    /// Constraints and license decisions in force at export time.
    pub in_force: Value,
    /// The change requests the history names (`changeRequestId`), by id: each with the
    /// exact command it holds, so a verifier can check that the command hashes to the
    /// digest the executed entry records, and that the entry ran that operation with
    /// those approvers. Absent from packets exported before change requests existed.
    #[serde(default)]
    pub requests: Vec<PacketRequest>,
}

/// A change request as a packet carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PacketRequest {
    /// Request id.
    pub id: String,
    /// The operation its command runs.
    pub operation: String,
    /// PENDING, EXECUTED, REJECTED, EXPIRED, WITHDRAWN or FAILED.
    pub state: String,
    /// The command, `{"input": {...}, "operation": "<CODE>"}`; its RFC 8785 form hashes
    /// to `commandDigest`.
    pub command: Value,
    /// `sha256:` and the hex SHA-256 of the command's RFC 8785 form.
    pub command_digest: String,
    /// Who asked (internal user id).
    pub requester_id: String,
    /// Who approved (internal user ids, sorted).
    pub approver_ids: Vec<String>,
    /// The policy version it was asked under.
    pub policy_version: String,
    /// Evidence references `[{kind, uri, digest}]`, or null.
    pub evidence: Value,
    /// True when it ran at once, without approvals (break-glass).
    pub break_glass: bool,
}

/// The exported entity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PacketEntity {
    /// Entity type.
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Entity id.
    pub id: String,
    /// Display label now.
    pub label: String,
    /// True for a tombstone.
    pub deleted: bool,
    /// Version now.
    pub version: Option<i64>,
    /// Hash of its newest entry (its chain head).
    pub audit_head: Option<String>,
    /// Governed properties and relationships now.
    pub state: Value,
    /// Hex SHA-256 of the RFC 8785 form of `state`.
    pub state_digest: String,
}

/// The exporting actor: id and roles (never a name or email).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exporter {
    /// Token subject.
    pub user_id: String,
    /// Roles.
    pub roles: Vec<String>,
}

/// One history entry: the stored entry exactly as hashed, context resolved at export
/// time, and its inclusion proof if it was sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HistoryItem {
    /// Every stored field of the entry, `hash` included, timestamp canonical.
    pub entry: Map<String, Value>,
    /// Resolved at export; covered by the envelope signature but by no entry hash.
    pub context: EntryContext,
    /// Proof that the entry is in a signed checkpoint; `None` if not sealed yet.
    pub proof: Option<Proof>,
}

/// What a packet adds to an entry at export time. Unhashed context: no entry, chain
/// or checkpoint proves it (only the envelope signature covers it), so it may differ
/// between two exports of the same history.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EntryContext {
    /// The display name the `User` named by the entry's `userId` holds at export time
    /// (`None` when it has none, or its personal data was erased).
    pub actor_display_name: Option<String>,
    /// True once that user's personal data was erased.
    pub actor_erased: bool,
}

/// RFC 6962 inclusion proof of an entry in a checkpoint's Merkle tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Proof {
    /// The sealing checkpoint's `seq`.
    pub checkpoint: i64,
    /// Leaf index of the entry.
    pub leaf_index: u64,
    /// Leaves in the tree (the checkpoint's `count`).
    pub tree_size: u64,
    /// Audit path, leaf to root, hex.
    pub audit_path: Vec<String>,
}

/// Who asks for the packet and which entry will record it.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Exporter.
    pub exporter: Exporter,
    /// Id the EXPORT entry will have.
    pub export_entry_id: String,
    /// Export time.
    pub exported_at: DateTime<Utc>,
    /// The effective approval-policy version the packet is exported under.
    pub policy_version: String,
}

/// A signed packet and the digest the EXPORT entry records.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The envelope.
    pub envelope: Envelope,
    /// Hex SHA-256 of the payload (the Statement's bytes).
    pub payload_digest: String,
    /// Entries in the packet.
    pub entries: usize,
}

/// Hex SHA-256 of the RFC 8785 form of `value`.
pub fn jcs_digest(value: &Value) -> Result<String, serde_json::Error> {
    Ok(hex::encode(Sha256::digest(serde_jcs::to_vec(value)?)))
}

/// `govtrail:<Type>/<id>`.
#[must_use]
pub fn subject_name(entity_type: &str, id: &str) -> String {
    format!("govtrail:{entity_type}/{id}")
}

/// Verifies one entity's evidence now, as an auditor would: builds its packet in
/// memory (never sent, not recorded: no data leaves) and runs the offline verifier on
/// it, which recomputes every entry's hash from its stored content and checks the
/// chain, the inclusion proofs, the checkpoints and their signatures. `None` when the
/// entity does not exist.
pub async fn verify_now(
    store: &Store,
    key: &CheckpointKey,
    entity_type: EntityType,
    id: &str,
    request: ExportRequest,
) -> Result<Option<super::offline::Verdict>, StoreError> {
    let Some(signed) = build(store, key, entity_type, id, request).await? else {
        return Ok(None);
    };
    let bytes = serde_json::to_vec(&signed.envelope).map_err(|e| store.decode(e))?;
    let public = crate::audit::checkpoint::PublicKey::from(key);
    let Some(verifying) = public.verifying_key() else {
        return Err(store.decode("the signing key has no valid public key"));
    };
    Ok(Some(super::offline::verify_packet(&bytes, &verifying)))
}

/// Builds and signs the packet of one entity; `None` if it does not exist.
pub async fn build(
    store: &Store,
    key: &CheckpointKey,
    entity_type: EntityType,
    id: &str,
    request: ExportRequest,
) -> Result<Option<Signed>, StoreError> {
    let Some(state) = replay::live(store, entity_type, id).await? else {
        return Ok(None);
    };
    let Some((node, rows)) = read_entries(store, entity_type, id).await? else {
        return Ok(None);
    };
    let rows = chain_order(rows, id);
    // The leaves each checkpoint must prove: only this entity's entries.
    let mut wanted: BTreeMap<i64, BTreeSet<usize>> = BTreeMap::new();
    for row in &rows {
        if let (Some(seq), Some(leaf)) = (
            row.checkpoint,
            row.leaf.and_then(|l| usize::try_from(l).ok()),
        ) {
            wanted.entry(seq).or_default().insert(leaf);
        }
    }
    let checkpoints = read_checkpoints(store, &wanted).await?;
    let lineage = lineage::lineage(store, entity_type, id, LINEAGE_DEPTH).await?;
    let in_force = read_in_force(store, entity_type, id).await?;
    let requests = read_requests(store, &rows).await?;

    let history: Vec<HistoryItem> = rows
        .into_iter()
        .map(|row| {
            let proof = row.checkpoint.zip(row.leaf).and_then(|(seq, leaf)| {
                let sealed = checkpoints.get(&seq)?;
                let path = sealed.proofs.get(&usize::try_from(leaf).ok()?)?.clone();
                Some(Proof {
                    checkpoint: seq,
                    leaf_index: u64::try_from(leaf).ok()?,
                    tree_size: u64::try_from(sealed.tree_size).ok()?,
                    audit_path: path,
                })
            });
            HistoryItem {
                entry: row.entry,
                context: EntryContext {
                    actor_display_name: row.actor.display_name,
                    actor_erased: row.actor.erased,
                },
                proof,
            }
        })
        .collect();
    let state = Value::Object(state.into_iter().collect());
    let state_digest = jcs_digest(&state).map_err(|e| store.decode(e))?;
    let entries = history.len();
    let statement = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: vec![Subject {
            name: subject_name(entity_type.as_str(), id),
            digest: BTreeMap::from([("sha256".to_owned(), state_digest.clone())]),
        }],
        predicate_type: PREDICATE_TYPE.to_owned(),
        predicate: Packet {
            format: 1,
            entity: PacketEntity {
                entity_type: entity_type.as_str().to_owned(),
                id: id.to_owned(),
                label: node_label(&node),
                deleted: node.get("deleted").and_then(Value::as_bool) == Some(true),
                version: node.get("version").and_then(Value::as_i64),
                audit_head: node
                    .get("auditHead")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                state,
                state_digest,
            },
            policy_version: request.policy_version,
            exported_by: request.exporter,
            exported_at: canonical_timestamp(request.exported_at),
            export_entry_id: request.export_entry_id,
            signer_key_id: key.key_id().to_owned(),
            history,
            checkpoints: checkpoints.into_values().map(|c| c.checkpoint).collect(),
            lineage: serde_json::to_value(&lineage).map_err(|e| store.decode(e))?,
            in_force,
            requests,
        },
    };
    let payload = serde_json::to_vec(&statement).map_err(|e| store.decode(e))?;
    Ok(Some(Signed {
        envelope: dsse::sign(key, IN_TOTO_PAYLOAD_TYPE, &payload),
        payload_digest: hex::encode(Sha256::digest(&payload)),
        entries,
    }))
}

fn node_label(node: &Map<String, Value>) -> String {
    ["name", "deletedName", "spdxId", "range", "id"]
        .iter()
        .find_map(|k| node.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned()
}

/// One entry as read for a packet.
#[derive(Debug, Clone)]
pub struct EntryRow {
    /// Stored fields.
    pub entry: Map<String, Value>,
    /// Sealing checkpoint.
    pub checkpoint: Option<i64>,
    /// Leaf index in it.
    pub leaf: Option<i64>,
    /// The actor's display name now.
    pub actor: crate::history::ActorName,
}

async fn read_entries(
    store: &Store,
    entity_type: EntityType,
    id: &str,
) -> Result<Option<(Map<String, Value>, Vec<EntryRow>)>, StoreError> {
    let statement = query(PACKET_ENTRIES)
        .param("id", id)
        .param("type", entity_type.label());
    let Some(row) = store.read_one(statement).await? else {
        return Ok(None);
    };
    let node: Map<String, Value> = row.get("entity").map_err(|e| store.decode(e))?;
    let items: Vec<Value> = row.get("entries").map_err(|e| store.decode(e))?;
    let entries = items
        .into_iter()
        .map(|mut item| {
            let mut entry = match item["entry"].take() {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            canonicalize_field(&mut entry, "timestamp");
            EntryRow {
                entry,
                checkpoint: item["checkpoint"].as_i64(),
                leaf: item["leaf"].as_i64(),
                actor: crate::history::ActorName {
                    display_name: item["actorName"].as_str().map(str::to_owned),
                    erased: item["actorErased"].as_bool().unwrap_or(false),
                },
            }
        })
        .collect();
    Ok(Some((node, entries)))
}

/// The change requests `rows` name, each once, by id.
async fn read_requests(store: &Store, rows: &[EntryRow]) -> Result<Vec<PacketRequest>, StoreError> {
    let ids: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r.entry.get("changeRequestId").and_then(Value::as_str))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut stream = store
        .read(query(PACKET_REQUESTS).param("ids", ids.into_iter().collect::<Vec<_>>()))
        .await?;
    let mut out = Vec::new();
    while let Some(row) = stream.next().await.map_err(|e| store.error(e))? {
        let r: Map<String, Value> = row.get("request").map_err(|e| store.decode(e))?;
        let text = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let json_text = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        };
        out.push(PacketRequest {
            id: text("id"),
            operation: text("operation"),
            state: text("state"),
            command: json_text("command"),
            command_digest: text("commandDigest"),
            requester_id: text("requesterId"),
            approver_ids: r
                .get("approverIds")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            policy_version: text("policyVersion"),
            evidence: json_text("evidence"),
            break_glass: r.get("breakGlass").and_then(Value::as_bool) == Some(true),
        });
    }
    Ok(out)
}

/// A checkpoint as a packet carries it, with the proofs of the leaves it was asked for.
struct SealedBy {
    checkpoint: Value,
    tree_size: usize,
    proofs: BTreeMap<usize, Vec<String>>,
}

/// The checkpoints named in `wanted` (seq -> leaves to prove), by seq.
async fn read_checkpoints(
    store: &Store,
    wanted: &BTreeMap<i64, BTreeSet<usize>>,
) -> Result<BTreeMap<i64, SealedBy>, StoreError> {
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let mut rows = store
        .read(query(PACKET_CHECKPOINTS).param("seqs", wanted.keys().copied().collect::<Vec<_>>()))
        .await?;
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let mut checkpoint: Map<String, Value> =
            row.get("checkpoint").map_err(|e| store.decode(e))?;
        let hashes: Vec<Option<String>> = row.get("hashes").map_err(|e| store.decode(e))?;
        let hashes: Vec<String> = hashes.into_iter().map(Option::unwrap_or_default).collect();
        canonicalize_field(&mut checkpoint, "sealedAt");
        let seq = checkpoint.get("seq").and_then(Value::as_i64).unwrap_or(0);
        let leaves = wanted.get(&seq).cloned().unwrap_or_default();
        out.insert(
            seq,
            SealedBy {
                checkpoint: Value::Object(checkpoint),
                tree_size: hashes.len(),
                proofs: inclusion_proofs(&hashes, &leaves),
            },
        );
    }
    Ok(out)
}

async fn read_in_force(
    store: &Store,
    entity_type: EntityType,
    id: &str,
) -> Result<Value, StoreError> {
    let statement = query(IN_FORCE)
        .param("id", id)
        .param("type", entity_type.label());
    let Some(row) = store.read_one(statement).await? else {
        return Ok(Value::Null);
    };
    let constraints: Value = row.get("constraints").map_err(|e| store.decode(e))?;
    let licenses: Value = row.get("licenses").map_err(|e| store.decode(e))?;
    let whitelist: Option<bool> = row.get("whitelistEnabled").map_err(|e| store.decode(e))?;
    Ok(json!({
        "versionConstraints": constraints,
        "licenseDecisions": licenses,
        "licenseWhitelistEnabled": whitelist.unwrap_or(false),
    }))
}

/// Orders an entity's entries along its hash chain, from GENESIS to the head; entries
/// off the chain (which a verifier will report) follow in time order.
#[must_use]
pub fn chain_order(rows: Vec<EntryRow>, entity_id: &str) -> Vec<EntryRow> {
    let prev = |row: &EntryRow| -> Option<String> {
        let hashes: Vec<String> = row
            .entry
            .get("prevHashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        prev_of(&hashes, entity_id).map(str::to_owned)
    };
    let mut by_prev: BTreeMap<String, usize> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(p) = prev(row) {
            by_prev.entry(p).or_insert(i);
        }
    }
    let mut slots: Vec<Option<EntryRow>> = rows.into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(slots.len());
    let mut next = GENESIS.to_owned();
    while let Some(&i) = by_prev.get(&next) {
        let Some(row) = slots.get_mut(i).and_then(Option::take) else {
            break;
        };
        row.entry
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .clone_into(&mut next);
        ordered.push(row);
    }
    ordered.extend(slots.into_iter().flatten());
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hash: &str, prev: &str) -> EntryRow {
        EntryRow {
            entry: json!({"hash": hash, "prevHashes": [format!("e={prev}"), "other=x"]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            checkpoint: None,
            leaf: None,
            actor: crate::history::ActorName::default(),
        }
    }

    fn hashes(rows: &[EntryRow]) -> Vec<&str> {
        rows.iter()
            .map(|r| r.entry["hash"].as_str().unwrap_or_default())
            .collect()
    }

    #[test]
    fn entries_are_ordered_along_the_chain_not_by_clock() {
        // Clock order b, a, c; chain order a, b, c.
        let rows = vec![row("b", "a"), row("a", GENESIS), row("c", "b")];
        assert_eq!(hashes(&chain_order(rows, "e")), vec!["a", "b", "c"]);
    }

    #[test]
    fn entries_off_the_chain_are_kept_after_it() {
        let rows = vec![row("a", GENESIS), row("x", "missing"), row("b", "a")];
        assert_eq!(hashes(&chain_order(rows, "e")), vec!["a", "b", "x"]);
    }
}
