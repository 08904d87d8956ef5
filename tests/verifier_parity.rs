//! The two offline verifiers agree: `govtrail verify-export` (src/export/offline.rs)
//! and the standalone `tools/verify_export.py` give byte-identical verdicts (exit
//! code, text output and JSON output) on a real packet and on many tampered and
//! malformed variants of it — re-signed by an insider who holds the key or not,
//! reshaped so that reading fails, or damaged at the byte level — and every tampered
//! variant is INVALID. Needs `python3` with `cryptography`; no Neo4j.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use govtrail::audit::checkpoint::{CheckpointKey, checkpoint_hash};
use govtrail::export::dsse::{self, Envelope, IN_TOTO_PAYLOAD_TYPE};
use serde_json::{Value, json};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn keys_dir() -> PathBuf {
    manifest_dir().join("tests/fixtures/keys")
}

/// The packet govtrail exported: 5 entries of one technology, the first 4 sealed by
/// one signed checkpoint, the last one not sealed yet.
fn fixture_bytes() -> Vec<u8> {
    std::fs::read(manifest_dir().join("tests/fixtures/packets/technology.dsse.json"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Who signs a variant's payload.
#[derive(Clone, Copy)]
enum Signer {
    /// The govtrail key (an insider who holds it re-signs the changed payload).
    Key,
    /// Nobody: the envelope keeps the signature of the original payload.
    Keep,
    /// Another Ed25519 key.
    Other,
    /// The govtrail key, over another payload type.
    Type(&'static str),
}

/// How a variant is made from the fixture.
enum Edit {
    /// Edits the decoded Statement, then the payload is signed by `Signer`.
    Statement(fn(&mut Value), Signer),
    /// Replaces the payload bytes (given the original ones), then signs them.
    Payload(fn(&[u8]) -> Vec<u8>, Signer),
    /// Edits the envelope's JSON as it is (its signature untouched).
    Envelope(fn(&mut Value)),
    /// Replaces the file's bytes (given the original ones).
    File(fn(&[u8]) -> Vec<u8>),
}

/// One variant: its name, how it is made, whether it must verify and a phrase its
/// verdict must hold ("" for none).
struct Variant {
    name: &'static str,
    edit: Edit,
    valid: bool,
    says: &'static str,
}

fn tampered(name: &'static str, edit: Edit, says: &'static str) -> Variant {
    Variant {
        name,
        edit,
        valid: false,
        says,
    }
}

fn sound(name: &'static str, edit: Edit) -> Variant {
    Variant {
        name,
        edit,
        valid: true,
        says: "",
    }
}

fn history(s: &mut Value) -> &mut Vec<Value> {
    s["predicate"]["history"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("the fixture has a history"))
}

fn checkpoints(s: &mut Value) -> &mut Vec<Value> {
    s["predicate"]["checkpoints"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("the fixture has checkpoints"))
}

/// Removes `field` from the object `value`.
fn remove(value: &mut Value, field: &str) {
    if let Some(object) = value.as_object_mut() {
        object.remove(field);
    }
}

/// Re-hashes and re-signs a checkpoint with the govtrail key, as a key holder can.
fn resign_checkpoint(c: &mut Value) {
    remove(c, "hash");
    remove(c, "signature");
    let hash = checkpoint_hash(c).unwrap_or_else(|e| panic!("{e}"));
    let signature = STANDARD.encode(private_key().sign(hash.as_bytes()).to_bytes());
    c["hash"] = json!(hash);
    c["signature"] = json!(signature);
}

fn set_timestamp(s: &mut Value, text: &str) {
    s["predicate"]["history"][1]["entry"]["timestamp"] = json!(text);
}

const REQUEST_ID: &str = "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";

fn retire() -> Value {
    json!({"operation": "RETIRE_TECHNOLOGY", "input": {"id": "0193a3c4-0000-7000-8000-000000000001"}})
}

/// A change request as a packet carries it, holding `command` with its true digest.
fn request(command: &Value) -> Value {
    let digest = govtrail::export::packet::jcs_digest(command).unwrap_or_else(|e| panic!("{e}"));
    json!({
        "id": REQUEST_ID, "operation": "RETIRE_TECHNOLOGY", "state": "EXECUTED",
        "command": command, "commandDigest": format!("sha256:{digest}"),
        "requesterId": "u-requester", "approverIds": ["u-approver"],
        "policyVersion": "govtrail-rules/2026-12.1", "evidence": null, "breakGlass": false
    })
}

fn add_requests(s: &mut Value, requests: Vec<Value>) {
    s["predicate"]["requests"] = Value::Array(requests);
}

/// The last (unsealed) entry, made to execute the request `REQUEST_ID`.
fn executing(s: &mut Value) -> &mut Value {
    let entry = &mut history(s)[4]["entry"];
    entry["changeRequestId"] = json!(REQUEST_ID);
    entry
}

const NOT_CANONICAL_TIMESTAMP: &str = "its timestamp is not in the one canonical form (YYYY-MM-DDTHH:MM:SS.ffffffZ), so its hash cannot be recomputed: the entry was modified";
const NOT_CANONICAL_SEALED_AT: &str = "checkpoint 191: its sealedAt is not in the one canonical form (YYYY-MM-DDTHH:MM:SS.ffffffZ): the checkpoint was modified";
const NOT_CANONICAL_EXPORTED_AT: &str =
    "the packet's exportedAt is not in the one canonical form (YYYY-MM-DDTHH:MM:SS.ffffffZ)";

#[expect(
    clippy::too_many_lines,
    reason = "the table of variants, one entry each"
)]
fn variants() -> Vec<Variant> {
    use Edit::{Envelope as Env, File, Payload, Statement as St};
    use Signer::{Keep, Key, Other, Type};
    vec![
        // Untouched in substance: both must accept.
        sound("re-signed as it is", St(|_| {}, Key)),
        sound(
            "pretty-printed envelope",
            File(|b| {
                let v: Value = serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}"));
                serde_json::to_vec_pretty(&v).unwrap_or_default()
            }),
        ),
        sound(
            "a change request that no entry executes",
            St(|s| add_requests(s, vec![request(&retire())]), Key),
        ),
        sound(
            "an empty list of change requests",
            St(|s| add_requests(s, vec![]), Key),
        ),
        // Change requests.
        tampered(
            "a change request whose command was changed",
            St(
                |s| {
                    let mut r = request(&retire());
                    r["command"]["input"]["id"] = json!("another technology");
                    add_requests(s, vec![r]);
                },
                Key,
            ),
            "its command does not hash to its commandDigest sha256:",
        ),
        tampered(
            "a change request whose command runs another operation",
            St(
                |s| {
                    add_requests(
                        s,
                        vec![request(&json!({"operation": "DENY_LICENSE", "input": {}}))],
                    );
                },
                Key,
            ),
            "its command is not a RETIRE_TECHNOLOGY command: the request was changed",
        ),
        tampered(
            "a change request twice",
            St(
                |s| add_requests(s, vec![request(&retire()), request(&retire())]),
                Key,
            ),
            "appears twice",
        ),
        tampered(
            "an unknown field in a change request",
            St(
                |s| {
                    let mut r = request(&retire());
                    r["note"] = json!("trust me");
                    add_requests(s, vec![r]);
                },
                Key,
            ),
            "unknown field `note`",
        ),
        tampered(
            "a change request without its command digest",
            St(
                |s| {
                    let mut r = request(&retire());
                    remove(&mut r, "commandDigest");
                    add_requests(s, vec![r]);
                },
                Key,
            ),
            "missing field `commandDigest`",
        ),
        tampered(
            "change requests that are not a list",
            St(
                |s| s["predicate"]["requests"] = json!({"id": REQUEST_ID}),
                Key,
            ),
            "invalid type: map, expected a sequence",
        ),
        tampered(
            "an entry executing a change request the packet does not carry",
            St(
                |s| {
                    executing(s);
                },
                Key,
            ),
            "which the packet does not carry",
        ),
        tampered(
            "an entry that ran another command than its request holds",
            St(
                |s| {
                    add_requests(s, vec![request(&retire())]);
                    let entry = executing(s);
                    entry["commandDigest"] = json!(format!("sha256:{}", "0".repeat(64)));
                    entry["approverIds"] = json!(["u-approver"]);
                },
                Key,
            ),
            "is not the one the request holds",
        ),
        tampered(
            "an entry naming other approvers than its request",
            St(
                |s| {
                    let r = request(&retire());
                    let digest = r["commandDigest"].clone();
                    add_requests(s, vec![r]);
                    let entry = executing(s);
                    entry["commandDigest"] = digest;
                    entry["approverIds"] = json!(["u-someone-else"]);
                },
                Key,
            ),
            "name different approvers (u-someone-else / u-approver)",
        ),
        tampered(
            "a break-glass request whose entry does not say so",
            St(
                |s| {
                    let mut r = request(&retire());
                    r["breakGlass"] = json!(true);
                    r["approverIds"] = json!([]);
                    add_requests(s, vec![r]);
                    executing(s);
                },
                Key,
            ),
            "disagree on whether it broke glass",
        ),
        // The file itself.
        tampered(
            "truncated file",
            File(|b| b[..b.len() / 2].to_vec()),
            "the file is not a DSSE envelope (EOF while parsing a string at line 1 column",
        ),
        tampered(
            "not JSON at all",
            File(|_| b"<packet>not JSON</packet>\n".to_vec()),
            "the file is not a DSSE envelope (expected value at line 1 column 1)",
        ),
        tampered(
            "empty file",
            File(|_| Vec::new()),
            "EOF while parsing a value at line 1 column 0",
        ),
        tampered(
            "trailing characters after the envelope",
            File(|b| [b, &b" }"[..]].concat()),
            "trailing characters",
        ),
        tampered(
            "a truncated pretty-printed envelope",
            File(|b| {
                let v: Value = serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}"));
                let pretty = serde_json::to_vec_pretty(&v).unwrap_or_default();
                pretty[..pretty.len() - 40].to_vec()
            }),
            "EOF while parsing",
        ),
        // The envelope.
        tampered(
            "an unknown field in the envelope",
            Env(|e| e["comment"] = json!("hello")),
            "unknown field `comment`, expected one of `payload`, `payloadType`, `signatures`",
        ),
        tampered(
            "an unknown field in an envelope signature",
            Env(|e| e["signatures"][0]["alg"] = json!("ed25519")),
            "unknown field `alg`, expected `keyid` or `sig`",
        ),
        tampered(
            "the envelope's signatures missing",
            Env(|e| remove(e, "signatures")),
            "missing field `signatures`",
        ),
        tampered(
            "no signature at all",
            Env(|e| e["signatures"] = json!([])),
            "the envelope carries no signature",
        ),
        tampered(
            "a payload that is not base64",
            Env(|e| e["payload"] = json!("not base64 at all!")),
            "the envelope's payload is not valid base64",
        ),
        tampered(
            "a payload that is a number",
            Env(|e| e["payload"] = json!(12)),
            "invalid type: integer `12`, expected a string",
        ),
        tampered(
            "another payloadType, signature kept",
            Env(|e| e["payloadType"] = json!("application/json")),
            "the envelope's payload type is `application/json`",
        ),
        tampered(
            "another payloadType, re-signed",
            St(|_| {}, Type("text/plain")),
            "the envelope's payload type is `text/plain`, not `application/vnd.in-toto+json`",
        ),
        tampered(
            "a signature by another key",
            St(|_| {}, Other),
            "no signature verifies under the given public key (key id d6ef2466dc5bd69b); the envelope is signed by key",
        ),
        tampered(
            "the envelope's keyid changed",
            Env(|e| e["signatures"][0]["keyid"] = json!("0123456789abcdef")),
            "the envelope names key 0123456789abcdef for its signature, but the signed packet says it was signed with key d6ef2466dc5bd69b: the envelope was altered",
        ),
        tampered(
            "a signature with one character changed",
            Env(|e| {
                let sig = e["signatures"][0]["sig"].as_str().unwrap_or_default();
                let changed = format!("A{}", &sig[1..]);
                e["signatures"][0]["sig"] = json!(changed);
            }),
            "the signature by key d6ef2466dc5bd69b does not verify under the given public key",
        ),
        // The payload's bytes.
        tampered(
            "truncated payload JSON, re-signed",
            Payload(|p| p[..p.len() - 100].to_vec(), Key),
            "the payload is not a govtrail lineage packet: EOF while parsing",
        ),
        tampered(
            "a payload that is not JSON, re-signed",
            Payload(|_| b"<statement/>".to_vec(), Key),
            "the payload is not a govtrail lineage packet: expected value at line 1 column 1",
        ),
        tampered(
            "a payload with invalid UTF-8, re-signed",
            Payload(
                |p| {
                    let text = String::from_utf8_lossy(p).replace("CRITICAL", "CRIT\u{0}AL");
                    text.into_bytes()
                        .into_iter()
                        .map(|b| if b == 0 { 0xff } else { b })
                        .collect()
                },
                Key,
            ),
            "invalid unicode code point",
        ),
        tampered(
            "a duplicated field, re-signed",
            Payload(
                |p| {
                    String::from_utf8_lossy(p)
                        .replacen("\"format\":1", "\"format\":1,\"format\":1", 1)
                        .into_bytes()
                },
                Key,
            ),
            "duplicate field `format`",
        ),
        tampered(
            "a pretty-printed payload with a mistyped field, re-signed",
            Payload(
                |p| {
                    let mut v: Value = serde_json::from_slice(p).unwrap_or_else(|e| panic!("{e}"));
                    v["predicate"]["entity"]["deleted"] = json!("no");
                    serde_json::to_vec_pretty(&v).unwrap_or_default()
                },
                Key,
            ),
            "invalid type: string \"no\", expected a boolean at line ",
        ),
        // The Statement's shape.
        tampered(
            "a missing field",
            St(|s| remove(&mut s["predicate"], "exportedAt"), Key),
            "missing field `exportedAt`",
        ),
        tampered(
            "an unknown field in a history item",
            St(|s| s["predicate"]["history"][2]["note"] = json!(1), Key),
            "unknown field `note`, expected one of `entry`, `context`, `proof`",
        ),
        tampered(
            "an unknown field in an entry's context",
            St(
                |s| s["predicate"]["history"][0]["context"]["actorEmail"] = json!("a@b.c"),
                Key,
            ),
            "unknown field `actorEmail`, expected `actorDisplayName` or `actorErased`",
        ),
        tampered(
            "a history item without context",
            St(|s| remove(&mut history(s)[3], "context"), Key),
            "missing field `context`",
        ),
        tampered(
            "a context without actorErased",
            St(
                |s| remove(&mut s["predicate"]["history"][0]["context"], "actorErased"),
                Key,
            ),
            "missing field `actorErased`",
        ),
        tampered(
            "a wrong type: actorErased is a string",
            St(
                |s| s["predicate"]["history"][0]["context"]["actorErased"] = json!("false"),
                Key,
            ),
            "invalid type: string \"false\", expected a boolean",
        ),
        tampered(
            "a wrong type: actorDisplayName is a number",
            St(
                |s| s["predicate"]["history"][0]["context"]["actorDisplayName"] = json!(7),
                Key,
            ),
            "invalid type: integer `7`, expected a string",
        ),
        tampered(
            "a wrong type: format is a string",
            St(|s| s["predicate"]["format"] = json!("1"), Key),
            "invalid type: string \"1\", expected u32",
        ),
        tampered(
            "a wrong type: a leaf index is negative",
            St(
                |s| s["predicate"]["history"][0]["proof"]["leafIndex"] = json!(-1),
                Key,
            ),
            "invalid value: integer `-1`, expected u64",
        ),
        tampered(
            "a wrong type: a tree size is a fraction",
            St(
                |s| s["predicate"]["history"][0]["proof"]["treeSize"] = json!(4.5),
                Key,
            ),
            "invalid type: floating point `4.5`, expected u64",
        ),
        tampered(
            "a wrong type: history is an object",
            St(|s| s["predicate"]["history"] = json!({}), Key),
            "invalid type: map, expected a sequence",
        ),
        // The statement's claims.
        tampered(
            "another statement type",
            St(
                |s| s["_type"] = json!("https://in-toto.io/Statement/v0.1"),
                Key,
            ),
            "the payload is a `https://in-toto.io/Statement/v0.1` statement of",
        ),
        tampered(
            "a changed subject",
            St(
                |s| s["subject"][0]["name"] = json!("govtrail:Technology/someone-else"),
                Key,
            ),
            "the statement's subject does not name govtrail:Technology/",
        ),
        tampered(
            "a changed subject digest",
            St(
                |s| s["subject"][0]["digest"]["sha256"] = json!("00".repeat(32)),
                Key,
            ),
            "the statement's subject does not name",
        ),
        tampered(
            "a changed state",
            St(
                |s| s["predicate"]["entity"]["state"]["riskLevel"] = json!("LOW"),
                Key,
            ),
            "the entity's state does not match its digest",
        ),
        tampered(
            "a changed state, not re-signed",
            St(
                |s| s["predicate"]["entity"]["state"]["riskLevel"] = json!("LOW"),
                Keep,
            ),
            "the entity's state does not match its digest",
        ),
        tampered(
            "a changed signer key id",
            St(
                |s| s["predicate"]["signerKeyId"] = json!("fedcba9876543210"),
                Key,
            ),
            "but the signed packet says it was signed with key fedcba9876543210",
        ),
        tampered(
            "a non-canonical exportedAt (three digits)",
            St(
                |s| s["predicate"]["exportedAt"] = json!("2026-12-01T23:47:20.381Z"),
                Key,
            ),
            NOT_CANONICAL_EXPORTED_AT,
        ),
        tampered(
            "a non-canonical exportedAt (offset)",
            St(
                |s| s["predicate"]["exportedAt"] = json!("2026-12-02T00:47:20.381535+01:00"),
                Key,
            ),
            NOT_CANONICAL_EXPORTED_AT,
        ),
        // Entries and the chain.
        tampered(
            "the first entry removed",
            St(
                |s| {
                    history(s).remove(0);
                },
                Key,
            ),
            "an entry is missing before entry 01a23401-68bb-77a6-b563-54fb18e79bad",
        ),
        tampered(
            "a middle entry removed",
            St(
                |s| {
                    history(s).remove(2);
                },
                Key,
            ),
            "an entry is missing before entry",
        ),
        tampered(
            "the last entry removed",
            St(
                |s| {
                    history(s).pop();
                },
                Key,
            ),
            "entries are missing at the end",
        ),
        tampered(
            "every entry removed",
            St(|s| history(s).clear(), Key),
            "the packet holds no entries but the entity's newest entry has hash",
        ),
        tampered(
            "two entries swapped",
            St(|s| history(s).swap(1, 2), Key),
            "entries are out of order: entry",
        ),
        tampered(
            "an entry duplicated",
            St(
                |s| {
                    let copy = history(s)[1].clone();
                    history(s).insert(2, copy);
                },
                Key,
            ),
            "appears twice",
        ),
        tampered(
            "an entry's reason edited",
            St(
                |s| s["predicate"]["history"][0]["entry"]["reason"] = json!("edited"),
                Key,
            ),
            "its content does not match its hash: the entry was modified",
        ),
        tampered(
            "an entry's reason edited, not re-signed",
            St(
                |s| s["predicate"]["history"][0]["entry"]["reason"] = json!("edited"),
                Keep,
            ),
            "does not verify under the given public key: the payload or the signature was changed after signing",
        ),
        tampered(
            "the unsealed entry edited",
            St(
                |s| s["predicate"]["history"][4]["entry"]["severity"] = json!("low"),
                Key,
            ),
            "its content does not match its hash",
        ),
        tampered(
            "an entry's id changed",
            St(
                |s| s["predicate"]["history"][1]["entry"]["id"] = json!("not-the-id"),
                Key,
            ),
            "entry not-the-id: checkpoint 191 does not list it at leaf 1",
        ),
        tampered(
            "an entry about another entity",
            St(
                |s| {
                    s["predicate"]["history"][4]["entry"]["entityId"] = json!("other");
                    s["predicate"]["history"][4]["entry"]["prevHashes"] = json!(["other=GENESIS"]);
                },
                Key,
            ),
            "is not about entity",
        ),
        tampered(
            "a changed audit head",
            St(
                |s| s["predicate"]["entity"]["auditHead"] = json!("ab".repeat(32)),
                Key,
            ),
            "entries are missing at the end",
        ),
        // Timestamps: one canonical text only.
        tampered(
            "a timestamp with five fractional digits",
            St(|s| set_timestamp(s, "2026-12-01T23:47:17.30708Z"), Key),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "a timestamp with seven fractional digits",
            St(|s| set_timestamp(s, "2026-12-01T23:47:17.3070890Z"), Key),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "a timestamp without fractional digits",
            St(|s| set_timestamp(s, "2026-12-01T23:47:17Z"), Key),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "a timestamp with lower-case t and z",
            St(|s| set_timestamp(s, "2026-12-01t23:47:17.307089z"), Key),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "a timestamp with an offset",
            St(
                |s| set_timestamp(s, "2026-12-01T23:47:17.307089+00:00"),
                Key,
            ),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "a timestamp with a space for T",
            St(|s| set_timestamp(s, "2026-12-01 23:47:17.307089Z"), Key),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "a timestamp that is no date (February 30)",
            St(|s| set_timestamp(s, "2026-02-30T23:47:17.307089Z"), Key),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "a timestamp that is a number",
            St(
                |s| s["predicate"]["history"][1]["entry"]["timestamp"] = json!(1_764_632_837),
                Key,
            ),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "the unsealed entry's timestamp shortened",
            St(
                |s| {
                    s["predicate"]["history"][4]["entry"]["timestamp"] =
                        json!("2026-12-01T23:47:20.365408");
                },
                Key,
            ),
            NOT_CANONICAL_TIMESTAMP,
        ),
        // Checkpoints and proofs.
        tampered(
            "a non-canonical sealedAt (fewer digits)",
            St(
                |s| {
                    let sealed = checkpoints(s)[0]["sealedAt"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let shorter = format!("{}Z", &sealed[..23]);
                    checkpoints(s)[0]["sealedAt"] = json!(shorter);
                },
                Key,
            ),
            NOT_CANONICAL_SEALED_AT,
        ),
        tampered(
            "a non-canonical sealedAt (lower-case z)",
            St(
                |s| {
                    let sealed = checkpoints(s)[0]["sealedAt"]
                        .as_str()
                        .unwrap_or_default()
                        .replace('Z', "z");
                    checkpoints(s)[0]["sealedAt"] = json!(sealed);
                },
                Key,
            ),
            NOT_CANONICAL_SEALED_AT,
        ),
        tampered(
            "a checkpoint without sealedAt",
            St(|s| remove(&mut checkpoints(s)[0], "sealedAt"), Key),
            NOT_CANONICAL_SEALED_AT,
        ),
        tampered(
            "a duplicated checkpoint",
            St(
                |s| {
                    let copy = checkpoints(s)[0].clone();
                    checkpoints(s).push(copy);
                },
                Key,
            ),
            "checkpoint 191 appears twice",
        ),
        tampered(
            "the checkpoint removed",
            St(|s| checkpoints(s).clear(), Key),
            "its proof refers to checkpoint 191, which is not in the packet",
        ),
        tampered(
            "a checkpoint's count changed",
            St(|s| checkpoints(s)[0]["count"] = json!(5), Key),
            "checkpoint 191: its count does not match the entries it lists",
        ),
        tampered(
            "a checkpoint's entryHashes edited",
            St(
                |s| checkpoints(s)[0]["entryHashes"][0] = json!("00".repeat(32)),
                Key,
            ),
            "checkpoint 191: its content does not match its hash",
        ),
        tampered(
            "a checkpoint's entryEntities removed",
            St(|s| remove(&mut checkpoints(s)[0], "entryEntities"), Key),
            "checkpoint 191: its content does not match its hash",
        ),
        tampered(
            "a checkpoint's signature removed",
            St(|s| remove(&mut checkpoints(s)[0], "signature"), Key),
            "checkpoint 191: its signature does not verify under the given public key",
        ),
        tampered(
            "a checkpoint without an integer seq",
            St(|s| checkpoints(s)[0]["seq"] = json!("191"), Key),
            "a checkpoint has no integer seq: the checkpoint was modified",
        ),
        tampered(
            "an unknown field in the packet, re-signed",
            St(
                |s| s["predicate"]["note"] = json!("approved by the CISO"),
                Key,
            ),
            "unknown field `note`",
        ),
        tampered(
            "an unknown field in the entity, re-signed",
            St(|s| s["predicate"]["entity"]["owner"] = json!("x"), Key),
            "unknown field `owner`",
        ),
        tampered(
            "an unknown field in a proof, re-signed",
            St(
                |s| s["predicate"]["history"][0]["proof"]["note"] = json!("x"),
                Key,
            ),
            "unknown field `note`",
        ),
        tampered(
            "a leap-second timestamp",
            St(|s| set_timestamp(s, "2026-11-25T23:59:60.100000Z"), Key),
            NOT_CANONICAL_TIMESTAMP,
        ),
        tampered(
            "an entry's proof removed, re-signed",
            St(|s| s["predicate"]["history"][1]["proof"] = Value::Null, Key),
            "checkpoint 191 seals it, but the packet gives no inclusion proof for it: the proof was removed",
        ),
        tampered(
            "a checkpoint's entryHashes edited and the checkpoint re-signed with the key",
            St(
                |s| {
                    checkpoints(s)[0]["entryHashes"][0] = json!("00".repeat(32));
                    resign_checkpoint(&mut checkpoints(s)[0]);
                },
                Key,
            ),
            "checkpoint 191: the entry hashes or entities it lists do not match its entries and its root",
        ),
        tampered(
            "a checkpoint's entryEntities shortened and the checkpoint re-signed with the key",
            St(
                |s| {
                    if let Some(e) = checkpoints(s)[0]["entryEntities"].as_array_mut() {
                        e.pop();
                    }
                    resign_checkpoint(&mut checkpoints(s)[0]);
                },
                Key,
            ),
            "checkpoint 191: the entry hashes or entities it lists do not match its entries and its root",
        ),
        tampered(
            "a changed treeSize",
            St(
                |s| s["predicate"]["history"][2]["proof"]["treeSize"] = json!(8),
                Key,
            ),
            "its proof claims a tree of 8 leaves, but checkpoint 191 seals 4: the proof was modified",
        ),
        tampered(
            "a moved leaf index",
            St(
                |s| s["predicate"]["history"][1]["proof"]["leafIndex"] = json!(0),
                Key,
            ),
            "checkpoint 191 does not list it at leaf 0",
        ),
        tampered(
            "a leaf index beyond the tree",
            St(
                |s| s["predicate"]["history"][3]["proof"]["leafIndex"] = json!(9),
                Key,
            ),
            "checkpoint 191 does not list it at leaf 9",
        ),
        tampered(
            "a changed audit path",
            St(
                |s| {
                    s["predicate"]["history"][0]["proof"]["auditPath"][0] = json!("11".repeat(32));
                },
                Key,
            ),
            "it is not in the Merkle root of checkpoint 191",
        ),
    ]
}

/// The file for `edit` of the fixture.
fn make(edit: &Edit, fixture: &[u8], other: &CheckpointKey) -> Vec<u8> {
    let envelope: Envelope = serde_json::from_slice(fixture).unwrap_or_else(|e| panic!("{e}"));
    let payload = STANDARD
        .decode(&envelope.payload)
        .unwrap_or_else(|e| panic!("{e}"));
    let sign = |payload: Vec<u8>, signer: Signer| {
        let signed = match signer {
            Signer::Key => dsse::sign(&private_key(), IN_TOTO_PAYLOAD_TYPE, &payload),
            Signer::Other => dsse::sign(other, IN_TOTO_PAYLOAD_TYPE, &payload),
            Signer::Type(payload_type) => dsse::sign(&private_key(), payload_type, &payload),
            Signer::Keep => Envelope {
                payload: STANDARD.encode(&payload),
                ..envelope.clone()
            },
        };
        serde_json::to_vec(&signed).unwrap_or_default()
    };
    match edit {
        Edit::Statement(change, signer) => {
            let mut statement: Value =
                serde_json::from_slice(&payload).unwrap_or_else(|e| panic!("{e}"));
            change(&mut statement);
            sign(serde_json::to_vec(&statement).unwrap_or_default(), *signer)
        }
        Edit::Payload(change, signer) => sign(change(&payload), *signer),
        Edit::Envelope(change) => {
            let mut value: Value =
                serde_json::from_slice(fixture).unwrap_or_else(|e| panic!("{e}"));
            change(&mut value);
            serde_json::to_vec(&value).unwrap_or_default()
        }
        Edit::File(change) => change(fixture),
    }
}

fn private_key() -> CheckpointKey {
    CheckpointKey::from_pem_file(&keys_dir().join("ed25519-private.pem"), None)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Another Ed25519 key (written to `dir`), and its public key as base64.
fn other_key(dir: &Path) -> (CheckpointKey, String) {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("other-private.pem");
    std::fs::write(&path, pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let key = CheckpointKey::from_pem_file(&path, None).unwrap_or_else(|e| panic!("{e}"));
    let public = STANDARD.encode(key.verifying_key().as_bytes());
    (key, public)
}

/// What one verifier said: exit code and all it printed (stdout, then stderr).
#[derive(Debug, PartialEq, Eq)]
struct Said {
    code: i32,
    output: String,
}

fn run(mut command: Command) -> Said {
    let out = command.output().unwrap_or_else(|e| panic!("{e}"));
    Said {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Both verifiers on `packet` with `key`, as text or JSON: (Rust, Python).
fn verify_both(packet: &Path, key: &Path, json: bool) -> (Said, Said) {
    let mut rust = Command::new(env!("CARGO_BIN_EXE_govtrail"));
    rust.arg("verify-export")
        .arg(packet)
        .arg("--public-key")
        .arg(key)
        .env_remove("GOVTRAIL_CONFIG");
    let mut python = Command::new("python3");
    python
        .arg(manifest_dir().join("tools/verify_export.py"))
        .arg(packet)
        .arg("--public-key")
        .arg(key);
    if json {
        rust.arg("--json");
        python.arg("--json");
    }
    (run(rust), run(python))
}

/// Runs both verifiers in both modes on `packet`; returns what went wrong (nothing
/// when they agree and the verdict is `valid` and holds `says`).
fn check(name: &str, packet: &Path, key: &Path, valid: bool, says: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let (text, python_text) = verify_both(packet, key, false);
    let (json, python_json) = verify_both(packet, key, true);
    for (mode, rust, python) in [("text", &text, &python_text), ("json", &json, &python_json)] {
        if rust != python {
            wrong.push(format!(
                "{name} ({mode}): the verifiers disagree\n--- govtrail verify-export (exit {}):\n{}--- verify_export.py (exit {}):\n{}",
                rust.code, rust.output, python.code, python.output
            ));
        }
    }
    let (verdict, code) = if valid {
        ("VALID ", 0)
    } else {
        ("INVALID ", 1)
    };
    if !text.output.starts_with(verdict) || text.code != code {
        wrong.push(format!(
            "{name}: expected {verdict}(exit {code}), got exit {}:\n{}",
            text.code, text.output
        ));
    }
    let parsed: Value = serde_json::from_str(&json.output).unwrap_or_default();
    if parsed["valid"] != json!(valid) || json.code != code {
        wrong.push(format!(
            "{name}: the JSON verdict is not valid={valid}:\n{}",
            json.output
        ));
    }
    if !text.output.contains(says) {
        wrong.push(format!(
            "{name}: the verdict does not say {says:?}:\n{}",
            text.output
        ));
    }
    wrong
}

/// One verification to run: a name, the packet, the key, the expected verdict.
struct Job<'a> {
    name: &'a str,
    packet: PathBuf,
    key: &'a Path,
    valid: bool,
    says: &'a str,
}

#[test]
fn both_verifiers_give_the_same_verdict_on_every_tampered_or_malformed_packet() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fixture = fixture_bytes();
    let public = keys_dir().join("ed25519-public.pem");
    let (other, other_public) = other_key(dir.path());
    let other_public_file = dir.path().join("other-public.b64");
    std::fs::write(&other_public_file, &other_public).unwrap_or_else(|e| panic!("{e}"));
    let original = dir.path().join("00-original.dsse.json");
    std::fs::write(&original, &fixture).unwrap_or_else(|e| panic!("{e}"));

    let mut jobs = vec![
        Job {
            name: "the untouched fixture",
            packet: original.clone(),
            key: &public,
            valid: true,
            says: "5 entries, 4 with inclusion proofs verified against 1 signed checkpoints",
        },
        Job {
            name: "the untouched fixture against another public key",
            packet: original,
            key: &other_public_file,
            valid: false,
            says: "checkpoint 191: its signature does not verify under the given public key",
        },
    ];
    let variants = variants();
    assert!(variants.len() >= 25, "only {} variants", variants.len());
    let mut seen = std::collections::BTreeSet::new();
    for (i, variant) in variants.iter().enumerate() {
        let bytes = make(&variant.edit, &fixture, &other);
        assert!(
            variant.valid || bytes != fixture,
            "{}: the variant is the fixture itself",
            variant.name
        );
        assert!(
            seen.insert(bytes.clone()),
            "{}: the same bytes as another variant",
            variant.name
        );
        let packet = dir.path().join(format!("{:02}.dsse.json", i + 1));
        std::fs::write(&packet, &bytes).unwrap_or_else(|e| panic!("{e}"));
        jobs.push(Job {
            name: variant.name,
            packet,
            key: &public,
            valid: variant.valid,
            says: variant.says,
        });
    }

    // A few workers at a time: each check starts four processes.
    let next = AtomicUsize::new(0);
    let wrong = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(4, usize::from)
        .min(8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let found = check(job.name, &job.packet, job.key, job.valid, job.says);
                    wrong
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend(found);
                }
            });
        }
    });
    let wrong = wrong.into_inner().unwrap_or_else(PoisonError::into_inner);
    assert!(
        wrong.is_empty(),
        "{} problems in {} checks:\n\n{}",
        wrong.len(),
        jobs.len(),
        wrong.join("\n\n")
    );
}
