//! Signed checkpoints: the key that signs them (and lineage packets), RFC 6962 Merkle
//! roots and inclusion proofs over entry hashes, and a checkpoint's body, hash and
//! signature. [`super::checkpointer`] makes them; `seal` verifies them.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Most entries one checkpoint seals.
pub const MAX_BATCH: i64 = 10_000;

/// The checkpoint signing key (it also signs lineage packets).
#[derive(Clone)]
pub struct CheckpointKey {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The signing key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint signing key {path}: {detail}")]
pub struct KeyError {
    path: String,
    detail: String,
}

impl CheckpointKey {
    /// Loads a PKCS#8 PEM Ed25519 private key; the key id defaults to the first 16 hex
    /// digits of the SHA-256 of the public key.
    pub fn from_pem_file(path: &Path, key_id: Option<String>) -> Result<Self, KeyError> {
        let bad = |detail: String| KeyError {
            path: path.display().to_string(),
            detail,
        };
        let pem = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| bad(e.to_string()))?;
        let key_id = key_id
            .unwrap_or_else(|| hex::encode(&Sha256::digest(key.verifying_key().as_bytes())[..8]));
        Ok(Self { key, key_id })
    }

    /// Key id recorded on checkpoints.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Ed25519 signature of `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.key.sign(message)
    }
}

/// A public key served at `/v1/audit/keys` and used to verify checkpoints.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// Key id.
    pub key_id: String,
    /// `Ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, base64.
    pub public_key: String,
    /// The same key as PEM (SubjectPublicKeyInfo), for `govtrail verify-export` and
    /// `tools/verify_export.py`.
    pub public_key_pem: String,
}

impl PublicKey {
    /// The key, if `public_key` is a valid Ed25519 public key.
    #[must_use]
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        let bytes: [u8; 32] = STANDARD.decode(&self.public_key).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok()
    }
}

impl From<&CheckpointKey> for PublicKey {
    fn from(key: &CheckpointKey) -> Self {
        Self {
            key_id: key.key_id.clone(),
            algorithm: "Ed25519",
            public_key: STANDARD.encode(key.verifying_key().as_bytes()),
            public_key_pem: key
                .verifying_key()
                .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .unwrap_or_default(),
        }
    }
}

/// RFC 6962 Merkle tree hash over entry hashes (each leaf is the entry's hex hash
/// text), hex. The root of an empty batch is never needed.
#[must_use]
pub fn merkle_root(entry_hashes: &[String]) -> String {
    let mut tree = MemoryBackedTree::<sha2_merkle::Sha256, Vec<u8>>::new();
    for hash in entry_hashes {
        tree.push(hash.as_bytes().to_vec());
    }
    hex::encode(tree.root().as_bytes())
}

/// An RFC 6962 inclusion proof of the leaf at `index` among `entry_hashes`: the audit
/// path, leaf to root, as hex. `None` if the index is out of range.
#[must_use]
pub fn inclusion_proof(entry_hashes: &[String], index: usize) -> Option<Vec<String>> {
    inclusion_proofs(entry_hashes, &std::collections::BTreeSet::from([index])).remove(&index)
}

/// The inclusion proofs of the `leaves` (indices) among `entry_hashes`, from one tree
/// for all of them; indices out of range are left out.
#[must_use]
pub fn inclusion_proofs(
    entry_hashes: &[String],
    leaves: &std::collections::BTreeSet<usize>,
) -> std::collections::BTreeMap<usize, Vec<String>> {
    let mut tree = MemoryBackedTree::<sha2_merkle::Sha256, Vec<u8>>::new();
    for hash in entry_hashes {
        tree.push(hash.as_bytes().to_vec());
    }
    leaves
        .iter()
        .filter(|&&i| i < entry_hashes.len())
        .map(|&i| {
            let path = tree
                .prove_inclusion(i)
                .as_bytes()
                .chunks(32)
                .map(hex::encode)
                .collect();
            (i, path)
        })
        .collect()
}

/// Checks an inclusion proof of `leaf` (an entry's hash text) at `index` in a tree of
/// `size` leaves against `root` (hex).
#[must_use]
pub fn verify_inclusion(root: &str, size: u64, leaf: &str, index: u64, path: &[String]) -> bool {
    let Ok(root_bytes) = hex::decode(root) else {
        return false;
    };
    let Ok(digest) = <[u8; 32]>::try_from(root_bytes.as_slice()) else {
        return false;
    };
    let mut bytes = Vec::with_capacity(path.len() * 32);
    for step in path {
        match hex::decode(step) {
            Ok(b) if b.len() == 32 => bytes.extend(b),
            _ => return false,
        }
    }
    let root = ct_merkle::RootHash::<sha2_merkle::Sha256>::new(digest.into(), size);
    let proof = ct_merkle::InclusionProof::<sha2_merkle::Sha256>::from_bytes(bytes);
    root.verify_inclusion(&leaf.as_bytes().to_vec(), index, &proof)
        .is_ok()
}

/// The signed part of a checkpoint: everything but `hash` and `signature`. Its
/// `sealedAt` must be canonical text already (see [`super::hash::from_store`]).
#[must_use]
pub fn checkpoint_body(checkpoint: &Value) -> Value {
    let mut body = checkpoint.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("hash");
        map.remove("signature");
    }
    body
}

/// Hex SHA-256 of the RFC 8785 form of a checkpoint's body.
pub fn checkpoint_hash(checkpoint: &Value) -> Result<String, serde_json::Error> {
    Ok(hex::encode(Sha256::digest(serde_jcs::to_vec(
        &checkpoint_body(checkpoint),
    )?)))
}

/// Whether `signature` (base64) signs `hash` (hex text) under `key`.
#[must_use]
pub fn signature_valid(key: &VerifyingKey, hash: &str, signature: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(signature) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(hash.as_bytes(), &signature).is_ok()
}

/// The development key in `tests/fixtures/keys`, for unit tests.
#[cfg(test)]
pub(crate) fn fixture_key() -> CheckpointKey {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keys/ed25519-private.pem"
    );
    CheckpointKey::from_pem_file(Path::new(path), None).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_roots_follow_rfc_6962() {
        // One leaf: SHA-256(0x00 || leaf).
        let one = merkle_root(&["ab".to_owned()]);
        assert_eq!(
            one,
            hex::encode(Sha256::digest([&[0u8][..], b"ab"].concat()))
        );
        // Two leaves: SHA-256(0x01 || h(a) || h(b)).
        let (a, b) = (Sha256::digest(b"\x00a"), Sha256::digest(b"\x00b"));
        let two = hex::encode(Sha256::digest([&[1u8][..], &a, &b].concat()));
        assert_eq!(merkle_root(&["a".to_owned(), "b".to_owned()]), two);
        assert_ne!(
            merkle_root(&["b".to_owned(), "a".to_owned()]),
            two,
            "order matters"
        );
    }

    #[test]
    fn inclusion_proofs_verify_against_the_root_and_only_for_their_leaf() {
        let hashes: Vec<String> = (0..7).map(|i| format!("hash-{i}")).collect();
        let root = merkle_root(&hashes);
        for (i, leaf) in hashes.iter().enumerate() {
            let path = inclusion_proof(&hashes, i).unwrap_or_default();
            assert!(
                verify_inclusion(&root, 7, leaf, i as u64, &path),
                "leaf {i}"
            );
            assert!(!verify_inclusion(&root, 7, "forged", i as u64, &path));
        }
        assert!(inclusion_proof(&hashes, 7).is_none());
        let all = inclusion_proofs(&hashes, &(0..9).collect());
        assert_eq!(all.len(), 7, "leaves 7 and 8 do not exist");
        for (i, path) in &all {
            assert_eq!(
                Some(path),
                inclusion_proof(&hashes, *i).as_ref(),
                "leaf {i}"
            );
        }
    }

    use serde_json::json;

    #[test]
    fn a_checkpoint_signature_covers_its_body() {
        let key = fixture_key();
        let mut c = json!({"seq": 1, "prev": "GENESIS", "root": "r", "count": 1, "entryIds": ["e"],
                           "sealedAt": "2026-11-25T10:00:00.100000Z", "keyId": key.key_id()});
        let hash = checkpoint_hash(&c).unwrap_or_default();
        let sig = STANDARD.encode(key.key.sign(hash.as_bytes()).to_bytes());
        assert!(signature_valid(&key.verifying_key(), &hash, &sig));
        c["root"] = json!("forged");
        let forged = checkpoint_hash(&c).unwrap_or_default();
        assert!(!signature_valid(&key.verifying_key(), &forged, &sig));
    }
}
