//! DSSE envelopes (Dead Simple Signing Envelope, the in-toto signing format): a
//! payload, its type, and signatures over the pre-authentication encoding
//! `PAE(type, payload) = "DSSEv1" SP len(type) SP type SP len(payload) SP payload`,
//! lengths as ASCII decimal byte counts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::audit::checkpoint::CheckpointKey;

/// The payload type of an in-toto Statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A signed envelope, as JSON: `payload` and `sig` are standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// Base64 of the payload bytes.
    pub payload: String,
    /// What the payload is.
    pub payload_type: String,
    /// One or more signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// Id of the signing key.
    pub keyid: String,
    /// Base64 of the Ed25519 signature over the PAE.
    pub sig: String,
}

/// The pre-authentication encoding that is signed.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {payload_type} {} ",
            payload_type.len(),
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// Signs `payload` with `key`.
#[must_use]
pub fn sign(key: &CheckpointKey, payload_type: &str, payload: &[u8]) -> Envelope {
    let signature = key.sign(&pae(payload_type, payload));
    Envelope {
        payload: STANDARD.encode(payload),
        payload_type: payload_type.to_owned(),
        signatures: vec![EnvelopeSignature {
            keyid: key.key_id().to_owned(),
            sig: STANDARD.encode(signature.to_bytes()),
        }],
    }
}

/// Why an envelope's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The payload is not base64.
    #[error("the envelope's payload is not valid base64")]
    PayloadEncoding,
    /// No signature at all.
    #[error("the envelope carries no signature")]
    Unsigned,
    /// No signature verifies, and none names the given key.
    #[error(
        "no signature verifies under the given public key (key id {expected}); the envelope is signed by key {found}: a different key signed it, or the payload was changed after signing"
    )]
    OtherKey {
        /// Key ids found.
        found: String,
        /// The given key's id.
        expected: String,
    },
    /// The signature naming the given key does not verify.
    #[error(
        "the signature by key {0} does not verify under the given public key: the payload or the signature was changed after signing"
    )]
    Invalid(String),
}

/// Decodes the payload and checks that one of the signatures verifies under `key`
/// (whose id is `key_id`; signatures are tried whatever key id they name). Returns the
/// payload and the key id the verifying signature names (DSSE does not sign key ids,
/// so a caller that cares compares it with a signed statement of the signer).
pub fn verify(
    envelope: &Envelope,
    key: &VerifyingKey,
    key_id: &str,
) -> Result<(Vec<u8>, String), SignatureError> {
    let payload = STANDARD
        .decode(&envelope.payload)
        .map_err(|_| SignatureError::PayloadEncoding)?;
    if envelope.signatures.is_empty() {
        return Err(SignatureError::Unsigned);
    }
    let message = pae(&envelope.payload_type, &payload);
    let verifies = |s: &EnvelopeSignature| {
        STANDARD
            .decode(&s.sig)
            .ok()
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .is_some_and(|sig| key.verify(&message, &sig).is_ok())
    };
    if let Some(signature) = envelope.signatures.iter().find(|s| verifies(s)) {
        return Ok((payload, signature.keyid.clone()));
    }
    if envelope.signatures.iter().any(|s| s.keyid == key_id) {
        return Err(SignatureError::Invalid(key_id.to_owned()));
    }
    Err(SignatureError::OtherKey {
        found: envelope
            .signatures
            .iter()
            .map(|s| s.keyid.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        expected: key_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_follows_the_dsse_spec() {
        // The DSSE specification's own test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    fn key() -> CheckpointKey {
        crate::audit::checkpoint::fixture_key()
    }

    #[test]
    fn a_signed_envelope_verifies_and_any_change_does_not() {
        let key = key();
        let envelope = sign(&key, IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}");
        let public = key.verifying_key();
        assert_eq!(
            verify(&envelope, &public, key.key_id()),
            Ok((b"{\"a\":1}".to_vec(), key.key_id().to_owned()))
        );

        let mut changed = envelope.clone();
        changed.payload = STANDARD.encode(b"{\"a\":2}");
        assert_eq!(
            verify(&changed, &public, key.key_id()),
            Err(SignatureError::Invalid(key.key_id().to_owned()))
        );
        let mut retyped = envelope.clone();
        retyped.payload_type = "text/plain".into();
        assert!(verify(&retyped, &public, key.key_id()).is_err());
        // The key id is a hint: the signature verifies whatever id the caller expects.
        assert!(verify(&envelope, &public, "custom-id").is_ok());
        let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert!(matches!(
            verify(&envelope, &other, "other-id"),
            Err(SignatureError::OtherKey { .. })
        ));
        assert_eq!(
            verify(&envelope, &other, key.key_id()),
            Err(SignatureError::Invalid(key.key_id().to_owned()))
        );
    }
}
