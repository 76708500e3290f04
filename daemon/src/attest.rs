//! Signing attestations: the daemon's half of the attestation contract (the other half,
//! the document, canonical form and verification, is in `clawsec_proto::attestation`).
//!
//! One signature per form: the JSON document carries a DER ECDSA P-256/SHA-256 signature
//! over its canonical JSON; the JWS export signs `header.payload` (raw r‖s, RFC 7518);
//! the DSSE export signs the PAE of an in-toto Statement (DER, as in-toto tools expect).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clawsec_proto::attestation::document::{self, DSSE_PAYLOAD_TYPE, JWS_TYP};
use clawsec_proto::attestation::keyfiles::{self, KeyFileError};
use clawsec_proto::attestation::{Attestation, HostIdentity, PostureSummary, PublicKey};
use clawsec_proto::time::format_rfc3339;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

use crate::posture::PostureDoc;
use crate::store::Link;

/// The forms an attestation can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The signed JSON document.
    Json,
    /// JWS compact serialization (ES256).
    Jws,
    /// A DSSE envelope holding an in-toto Statement v1.
    Dsse,
}

/// Holds the signing key.
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    public: PublicKey,
}

impl Signer {
    pub fn new(key: SigningKey) -> Self {
        let public = PublicKey::new(*key.verifying_key());
        Signer { key, public }
    }

    /// The state directory's key (`<state_dir>/keys/attestation.key`), created on first use;
    /// public files a crash left missing or mismatched are rewritten from it.
    pub fn from_state_dir(keys_dir: &Path) -> Result<Self, KeyFileError> {
        let path = keys_dir.join(keyfiles::PRIVATE_FILE);
        if !path.exists() {
            keyfiles::write_new(keys_dir, &keyfiles::generate(), false)?;
        }
        let signer = keyfiles::load_signing_key(&path).map(Signer::new)?;
        if keyfiles::repair_public(keys_dir, &signer.public)? {
            tracing::warn!(
                dir = %keys_dir.display(),
                key_id = signer.public.kid(),
                "public key files were missing or did not match the private key; rewrote them from it"
            );
        }
        Ok(signer)
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Sets `key_id` and `alg` and signs the canonical JSON of the document.
    pub fn sign(&self, mut doc: Attestation) -> Result<Attestation, String> {
        doc.key_id = self.public.kid().to_owned();
        doc.alg = "ES256".into();
        doc.signature = String::new();
        let input = doc.signing_input().map_err(|e| e.to_string())?;
        doc.signature = STANDARD.encode(self.sign_low_s(&input).to_der().as_bytes());
        Ok(doc)
    }

    /// ES256 in its low-S form, the only one verifiers accept (one document, one
    /// encoding).
    fn sign_low_s(&self, msg: &[u8]) -> Signature {
        let sig: Signature = self.key.sign(msg);
        sig.normalize_s().unwrap_or(sig)
    }

    /// JWS compact: the payload is the document without its `signature` member.
    pub fn jws(&self, doc: &Attestation) -> Result<String, String> {
        let header = json!({ "alg": "ES256", "kid": self.public.kid(), "typ": JWS_TYP });
        let payload = doc.signing_input().map_err(|e| e.to_string())?;
        let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        let p = URL_SAFE_NO_PAD.encode(payload);
        let sig = self.sign_low_s(format!("{h}.{p}").as_bytes());
        Ok(format!(
            "{h}.{p}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }

    /// A DSSE envelope over an in-toto Statement v1 whose predicate is the document.
    pub fn dsse(&self, doc: &Attestation) -> Result<Value, String> {
        let body = clawsec_proto::attestation::canonical::to_vec(&document::statement(doc))
            .map_err(|e| e.to_string())?;
        let sig = self.sign_low_s(&document::pae(DSSE_PAYLOAD_TYPE, &body));
        Ok(json!({
            "payloadType": DSSE_PAYLOAD_TYPE,
            "payload": STANDARD.encode(&body),
            "signatures": [{ "keyid": self.public.kid(), "sig": STANDARD.encode(sig.to_der().as_bytes()) }],
        }))
    }

    /// The document in the requested form, as file content.
    pub fn render(&self, doc: &Attestation, format: Format) -> Result<String, String> {
        Ok(match format {
            Format::Json => serde_json::to_string_pretty(doc).unwrap_or_default() + "\n",
            Format::Jws => self.jws(doc)? + "\n",
            Format::Dsse => {
                serde_json::to_string_pretty(&self.dsse(doc)?).unwrap_or_default() + "\n"
            }
        })
    }
}

/// Builds the unsigned document for a posture at a chain link.
pub fn unsigned(
    posture: &PostureDoc,
    host: &HostIdentity,
    link: &Link,
    now: SystemTime,
    validity: Duration,
    nonce: Option<String>,
) -> Attestation {
    Attestation {
        version: 1,
        agent_id: posture.agent_id.clone(),
        host: host.clone(),
        timestamp: format_rfc3339(now),
        expires_at: format_rfc3339(now + validity),
        seq: link.seq,
        prev: link.prev.clone(),
        nonce,
        epoch_start: link.epoch_start.clone(),
        posture: PostureSummary {
            trust_tier: posture.trust_tier.id().to_owned(),
            overall_score: posture.overall_score,
            domains: posture
                .domains
                .iter()
                .filter_map(|(id, d)| d.score.map(|s| ((*id).to_owned(), s)))
                .collect(),
            critical_failures: posture.critical_failures.clone(),
            waived: posture.waived.iter().map(|w| w.check.clone()).collect(),
        },
        checks_digest: posture.checks_digest.clone(),
        catalog_digest: posture.catalog_digest.clone(),
        config_digest: posture.config_digest.clone(),
        key_id: String::new(),
        alg: "ES256".into(),
        signature: String::new(),
    }
}

/// The state directory's key directory.
pub fn keys_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("keys")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawsec_proto::attestation::verify::{Policy, verify};

    fn doc() -> Attestation {
        Attestation {
            version: 1,
            agent_id: "agent-001".into(),
            host: HostIdentity {
                hostname: "h".into(),
                machine_id_sha256: String::new(),
                boot_id: String::new(),
            },
            timestamp: "2026-02-01T22:00:00Z".into(),
            expires_at: "2026-02-01T22:15:00Z".into(),
            seq: 42,
            prev: document::GENESIS_PREV.into(),
            nonce: None,
            epoch_start: None,
            posture: PostureSummary {
                trust_tier: "MEDIUM".into(),
                overall_score: 75,
                domains: [("network".to_owned(), 80)].into(),
                critical_failures: vec![],
                waived: vec![],
            },
            checks_digest: "sha256:00".into(),
            catalog_digest: "sha256:11".into(),
            config_digest: "sha256:22".into(),
            key_id: String::new(),
            alg: String::new(),
            signature: String::new(),
        }
    }

    /// The same signature with `s` replaced by `n - s`: valid ECDSA, and exactly what
    /// a malleability attack produces.
    fn high_s(sig: &Signature) -> Signature {
        let (r, s) = sig.split_scalars();
        Signature::from_scalars(r, -*s).unwrap()
    }

    #[test]
    fn signatures_are_low_s_and_high_s_twins_are_refused_in_every_form() {
        use clawsec_proto::attestation::verify::is_low_s;
        let signer = Signer::new(keyfiles::generate());
        let keys = vec![signer.public().clone()];
        let at = Policy::at(clawsec_proto::time::parse_rfc3339("2026-02-01T22:05:00Z").unwrap());
        for seq in 0..16 {
            // Different documents, so both halves of the S range would come up if
            // signing did not normalize.
            let signed = signer.sign(Attestation { seq, ..doc() }).unwrap();

            let der = STANDARD.decode(&signed.signature).unwrap();
            let sig = Signature::from_der(&der).unwrap();
            assert!(is_low_s(&sig), "seq {seq}: signed with a high S");
            let twin = Attestation {
                signature: STANDARD.encode(high_s(&sig).to_der().as_bytes()),
                ..signed.clone()
            };
            let v = verify(serde_json::to_string(&twin).unwrap().as_bytes(), &keys, &at).unwrap();
            assert!(!v.valid(), "json high-S twin accepted");
            assert!(
                v.lines.iter().any(|l| l.text.contains("high S")),
                "{:?}",
                v.lines
            );

            let jws = signer.render(&signed, Format::Jws).unwrap();
            let (head, sig) = jws.trim().rsplit_once('.').unwrap();
            let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
            assert!(is_low_s(&sig));
            let twin = format!("{head}.{}", URL_SAFE_NO_PAD.encode(high_s(&sig).to_bytes()));
            assert!(
                !verify(twin.as_bytes(), &keys, &at).unwrap().valid(),
                "jws twin accepted"
            );

            let dsse: Value =
                serde_json::from_str(&signer.render(&signed, Format::Dsse).unwrap()).unwrap();
            let der = STANDARD
                .decode(dsse["signatures"][0]["sig"].as_str().unwrap())
                .unwrap();
            let sig = Signature::from_der(&der).unwrap();
            assert!(is_low_s(&sig));
            let mut twin = dsse.clone();
            twin["signatures"][0]["sig"] = STANDARD.encode(high_s(&sig).to_der().as_bytes()).into();
            let v = verify(twin.to_string().as_bytes(), &keys, &at).unwrap();
            assert!(!v.valid(), "dsse twin accepted");
        }
    }

    #[test]
    fn a_dsse_envelope_is_signed_only_when_every_signature_verifies() {
        let signer = Signer::new(keyfiles::generate());
        let keys = vec![signer.public().clone()];
        let at = Policy::at(clawsec_proto::time::parse_rfc3339("2026-02-01T22:05:00Z").unwrap());
        let signed = signer.sign(doc()).unwrap();
        let dsse: Value =
            serde_json::from_str(&signer.render(&signed, Format::Dsse).unwrap()).unwrap();
        assert!(
            verify(dsse.to_string().as_bytes(), &keys, &at)
                .unwrap()
                .valid()
        );

        // A bogus signature beside the genuine one.
        let mut two = dsse.clone();
        let genuine = two["signatures"][0].clone();
        two["signatures"] =
            json!([genuine, { "keyid": signer.public().kid(), "sig": "MEUCIQDeadbeef" }]);
        assert!(
            !verify(two.to_string().as_bytes(), &keys, &at)
                .unwrap()
                .valid()
        );

        // A signature of another key beside it.
        let other = Signer::new(keyfiles::generate());
        let foreign: Value = serde_json::from_str(
            &other
                .render(&other.sign(doc()).unwrap(), Format::Dsse)
                .unwrap(),
        )
        .unwrap();
        let mut mixed = dsse.clone();
        mixed["signatures"] = json!([dsse["signatures"][0], foreign["signatures"][0]]);
        assert!(
            !verify(mixed.to_string().as_bytes(), &keys, &at)
                .unwrap()
                .valid()
        );

        // Members the format does not have are refused, not ignored.
        let mut extra = dsse.clone();
        extra["note"] = "trust me".into();
        let e = verify(extra.to_string().as_bytes(), &keys, &at).unwrap_err();
        assert!(e.to_string().contains("unexpected member \"note\""), "{e}");
        let mut extra = dsse.clone();
        extra["signatures"][0]["cert"] = "x".into();
        assert!(verify(extra.to_string().as_bytes(), &keys, &at).is_err());
    }

    #[test]
    fn every_form_verifies_and_breaks_on_change() {
        let signer = Signer::new(keyfiles::generate());
        let keys = vec![signer.public().clone()];
        let at = Policy::at(clawsec_proto::time::parse_rfc3339("2026-02-01T22:05:00Z").unwrap());
        let signed = signer.sign(doc()).unwrap();
        for format in [Format::Json, Format::Jws, Format::Dsse] {
            let text = signer.render(&signed, format).unwrap();
            let v = verify(text.as_bytes(), &keys, &at).unwrap();
            assert!(v.valid(), "{format:?}: {:?}", v.lines);
        }
        let tampered = serde_json::to_string(&signed)
            .unwrap()
            .replace("\"overall_score\":75", "\"overall_score\":95");
        let v = verify(tampered.as_bytes(), &keys, &at).unwrap();
        assert!(!v.signature_valid);
        let jws = signer.jws(&signed).unwrap();
        let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap())
            .unwrap()
            .replace("MEDIUM", "HIGH");
        parts[1] = URL_SAFE_NO_PAD.encode(payload);
        assert!(
            !verify(parts.join(".").as_bytes(), &keys, &at)
                .unwrap()
                .signature_valid
        );
    }
}
