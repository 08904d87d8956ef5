//! Content hashes of audit entries and the per-entity chains they form.
//!
//! An entry's `hash` is the hex SHA-256 of the RFC 8785 (JCS) canonical JSON of every
//! stored property except `hash` itself, with `timestamp` as RFC 3339 UTC with exactly
//! six fractional digits (`2026-11-25T19:20:43.100563Z`). Among those properties is
//! `prevHashes`: for each entity the entry audits, `"<entity id>=<hash of that entity's
//! previous entry>"` (or `=GENESIS` for its first), sorted — so each entity's entries
//! form a hash chain, and the entity's `auditHead` names the newest.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The previous hash of an entity's first entry.
pub const GENESIS: &str = "GENESIS";

/// A stored entry could not be put in canonical form.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The entry is not a JSON object or a field cannot be serialized.
    #[error("cannot canonicalize the entry: {0}")]
    Canonical(String),
    /// The timestamp is not RFC 3339.
    #[error("the entry's timestamp `{0}` is not RFC 3339")]
    Timestamp(String),
}

/// The canonical timestamp text of an instant.
#[must_use]
pub fn canonical_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Rewrites `map[field]`, if it is RFC 3339 text, in the canonical form above (left as
/// it is otherwise: the hash comparison then reports it).
pub fn canonicalize_field(map: &mut serde_json::Map<String, Value>, field: &str) {
    if let Some(Value::String(text)) = map.get(field)
        && let Ok(at) = DateTime::parse_from_rfc3339(text)
    {
        let canonical = canonical_timestamp(at.with_timezone(&Utc));
        map.insert(field.to_owned(), Value::String(canonical));
    }
}

/// Hex SHA-256 of the canonical JSON of `entry` without its `hash` field. `timestamp`
/// may be in any RFC 3339 form (Neo4j prints fewer digits); it is normalized first.
pub fn content_hash(entry: &Value) -> Result<String, HashError> {
    let mut entry = entry.clone();
    let map = entry
        .as_object_mut()
        .ok_or_else(|| HashError::Canonical("not an object".into()))?;
    map.remove("hash");
    map.retain(|_, v| !v.is_null());
    if let Some(Value::String(text)) = map.get("timestamp") {
        let at =
            DateTime::parse_from_rfc3339(text).map_err(|_| HashError::Timestamp(text.clone()))?;
        map.insert(
            "timestamp".into(),
            Value::String(canonical_timestamp(at.with_timezone(&Utc))),
        );
    }
    let bytes = serde_jcs::to_vec(&entry).map_err(|e| HashError::Canonical(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// `prevHashes` for an entry auditing `heads` (entity id, its current head if any).
#[must_use]
pub fn prev_hashes<'a>(heads: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Vec<String> {
    let mut out: Vec<String> = heads
        .into_iter()
        .map(|(id, head)| format!("{id}={}", head.unwrap_or(GENESIS)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The previous hash an entry records for `entity_id`, if it audits it.
#[must_use]
pub fn prev_of<'a>(prev_hashes: &'a [String], entity_id: &str) -> Option<&'a str> {
    prev_hashes.iter().find_map(|p| {
        p.strip_prefix(entity_id)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_hash_ignores_key_order_and_timestamp_spelling_but_not_content() {
        let a =
            json!({"id": "1", "timestamp": "2026-11-25T19:20:43.1Z", "reason": "x", "hash": "old"});
        let b = json!({"reason": "x", "timestamp": "2026-11-25T19:20:43.100000Z", "id": "1"});
        let c = json!({"reason": "y", "timestamp": "2026-11-25T19:20:43.100000Z", "id": "1"});
        let (ha, hb, hc) = (
            content_hash(&a).ok(),
            content_hash(&b).ok(),
            content_hash(&c).ok(),
        );
        assert!(ha.is_some());
        assert_eq!(ha, hb);
        assert_ne!(hb, hc);
    }

    #[test]
    fn the_hash_is_sha256_of_the_jcs_form() {
        // JCS sorts keys and writes no whitespace: {"a":1,"b":"x"}
        let entry = json!({"b": "x", "a": 1});
        let expected = hex::encode(Sha256::digest(br#"{"a":1,"b":"x"}"#));
        assert_eq!(content_hash(&entry).ok(), Some(expected));
    }

    #[test]
    fn prev_hashes_are_sorted_and_name_genesis() {
        let p = prev_hashes([("team", Some("abc")), ("user", None)]);
        assert_eq!(p, vec!["team=abc".to_owned(), "user=GENESIS".to_owned()]);
        assert_eq!(prev_of(&p, "user"), Some("GENESIS"));
        assert_eq!(prev_of(&p, "use"), None);
    }
}
