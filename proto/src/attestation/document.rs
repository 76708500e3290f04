//! The attestation document: a signed summary of one posture, chained to the previous one.
//! See `docs/attestation.md` for the format and how to verify it with standard tools.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::canonical::{self, CanonicalError};

/// `prev` of the first attestation of a chain.
pub const GENESIS_PREV: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
/// The in-toto predicate type of ClawSec posture attestations (DSSE export).
pub const PREDICATE_TYPE: &str = "https://clawsec.dev/attestation/posture/v1";
/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// DSSE payload type of an in-toto Statement.
pub const DSSE_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// JWS `typ` header of the compact export.
pub const JWS_TYP: &str = "clawsec-attestation+jwt";

/// A signed posture attestation (`version` 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub version: u32,
    pub agent_id: String,
    pub host: HostIdentity,
    /// When it was signed, `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    /// After this moment the attestation must not be trusted.
    pub expires_at: String,
    /// Grows by one per attestation, across restarts.
    pub seq: u64,
    /// `sha256:<hex>` of the previous signed document ([`GENESIS_PREV`] for the first).
    pub prev: String,
    /// The caller's freshness nonce, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Present on the first attestation after the chain could not be continued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_start: Option<EpochStart>,
    pub posture: PostureSummary,
    pub checks_digest: String,
    pub catalog_digest: String,
    pub config_digest: String,
    /// RFC 7638 thumbprint of the signing key.
    pub key_id: String,
    /// Always `ES256`.
    pub alg: String,
    /// base64 of the DER ECDSA P-256/SHA-256 signature over the canonical JSON of the
    /// document without this member. Empty before signing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostIdentity {
    pub hostname: String,
    /// sha256 of `/etc/machine-id` (the id itself is not disclosed); empty when unknown.
    pub machine_id_sha256: String,
    /// `/proc/sys/kernel/random/boot_id`; empty when unknown.
    pub boot_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostureSummary {
    pub trust_tier: String,
    pub overall_score: u32,
    /// Score per scored domain (domains with nothing applicable are absent).
    pub domains: BTreeMap<String, u32>,
    pub critical_failures: Vec<String>,
    /// Ids of waived checks.
    pub waived: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochStart {
    /// Why the previous chain could not be continued.
    pub reason: String,
    /// The last sequence number of the previous chain that could be verified (0 if none).
    pub previous_seq: u64,
}

impl Attestation {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The bytes the signature covers.
    pub fn signing_input(&self) -> Result<Vec<u8>, CanonicalError> {
        signing_input(&self.to_value())
    }

    /// `sha256:<hex>` of the signed document's canonical JSON: what the next `prev` holds.
    pub fn digest(&self) -> Result<String, CanonicalError> {
        digest(&self.to_value())
    }
}

/// Canonical JSON of a document without its `signature` member.
pub fn signing_input(doc: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut unsigned = doc.clone();
    if let Some(obj) = unsigned.as_object_mut() {
        obj.remove("signature");
    }
    canonical::to_vec(&unsigned)
}

/// `sha256:<hex>` of a document's canonical JSON (signature included).
pub fn digest(doc: &Value) -> Result<String, CanonicalError> {
    Ok(sha256_prefixed(&canonical::to_vec(doc)?))
}

pub fn sha256_prefixed(bytes: &[u8]) -> String {
    let mut out = String::from("sha256:");
    for b in Sha256::digest(bytes) {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// DSSE pre-authentication encoding: `DSSEv1 <len> <type> <len> <body>`.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The in-toto Statement v1 wrapping an attestation (signature member removed).
pub fn statement(att: &Attestation) -> Value {
    let mut predicate = att.to_value();
    if let Some(obj) = predicate.as_object_mut() {
        obj.remove("signature");
    }
    let subject_digest = if att.host.machine_id_sha256.is_empty() {
        sha256_prefixed(att.agent_id.as_bytes())
            .trim_start_matches("sha256:")
            .to_owned()
    } else {
        att.host.machine_id_sha256.clone()
    };
    serde_json::json!({
        "_type": STATEMENT_TYPE,
        "subject": [{ "name": format!("host:{}", att.agent_id), "digest": { "sha256": subject_digest } }],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    })
}
