//! Verification of attestations in their three forms — the JSON document, JWS compact
//! (ES256, raw r‖s) and a DSSE envelope holding an in-toto Statement — and of exported
//! chains. Every check that was made is reported as a line, passed or failed, so a
//! human sees why an attestation was accepted or refused.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier;
use serde_json::Value;

use super::canonical::{self, CanonicalError};
use super::document::{self, Attestation, DSSE_PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE};
use super::keys::PublicKey;
use crate::time::parse_rfc3339;

/// Input that cannot be judged at all (exit status 2 for `clawsecctl verify`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("the file is empty")]
    Empty,
    #[error("not a JSON document, JWS or DSSE envelope: {0}")]
    Malformed(String),
    #[error("not an attestation: {0}")]
    NotAttestation(String),
}

/// What to require beyond a valid signature.
#[derive(Debug, Clone)]
pub struct Policy {
    pub now: SystemTime,
    /// Reject attestations signed longer ago than this.
    pub max_age: Option<Duration>,
    /// Require exactly this nonce.
    pub nonce: Option<String>,
    /// Require at least this tier (`HIGH`, `MEDIUM`, `LOW`, `UNTRUSTED`).
    pub min_tier: Option<String>,
}

impl Policy {
    pub fn at(now: SystemTime) -> Self {
        Policy {
            now,
            max_age: None,
            nonce: None,
            min_tier: None,
        }
    }
}

/// One thing that was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub ok: bool,
    pub text: String,
}

/// The result of verifying one attestation.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub form: &'static str,
    pub lines: Vec<Line>,
    /// The signature verified with the key the document names.
    pub signature_valid: bool,
    pub attestation: Attestation,
}

impl Verdict {
    pub fn valid(&self) -> bool {
        self.lines.iter().all(|l| l.ok)
    }
}

struct Lines(Vec<Line>, bool);

impl Lines {
    fn check(&mut self, ok: bool, pass: impl Into<String>, fail: impl Into<String>) {
        self.0.push(Line {
            ok,
            text: if ok { pass.into() } else { fail.into() },
        });
    }
}

/// Tier order, lowest first.
const TIERS: [&str; 4] = ["UNTRUSTED", "LOW", "MEDIUM", "HIGH"];

fn tier_rank(t: &str) -> Option<usize> {
    TIERS.iter().position(|x| x.eq_ignore_ascii_case(t))
}

/// Verifies an attestation in any of its forms (detected from the input).
pub fn verify(input: &[u8], keys: &[PublicKey], policy: &Policy) -> Result<Verdict, Unusable> {
    let text =
        std::str::from_utf8(input).map_err(|_| Unusable::Malformed("not UTF-8 text".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Unusable::Empty);
    }
    if !text.starts_with('{') {
        return verify_jws(text, keys, policy);
    }
    let value = canonical::parse_strict(text).map_err(|e| Unusable::Malformed(e.to_string()))?;
    if value.get("payloadType").is_some() {
        verify_dsse(&value, keys, policy)
    } else {
        verify_json(&value, keys, policy)
    }
}

fn parse_attestation(v: &Value) -> Result<Attestation, Unusable> {
    serde_json::from_value(v.clone()).map_err(|e| Unusable::NotAttestation(e.to_string()))
}

/// Finds the key the document names; with a single key given, uses it and reports a
/// mismatch rather than giving up, so the signature verdict is still shown.
fn select_key<'k>(keys: &'k [PublicKey], key_id: &str, lines: &mut Lines) -> Option<&'k PublicKey> {
    if let Some(k) = keys.iter().find(|k| k.kid() == key_id) {
        lines.check(true, format!("key_id {key_id} matches the given key"), "");
        return Some(k);
    }
    match keys {
        [only] => {
            lines.check(
                false,
                "",
                format!("key_id {key_id} is not the given key ({})", only.kid()),
            );
            Some(only)
        }
        _ => {
            lines.check(
                false,
                "",
                format!("no key with id {key_id} among the {} given", keys.len()),
            );
            None
        }
    }
}

/// Whether a signature is in the low-S form ClawSec signs. ECDSA accepts both `s` and
/// `n - s` for the same message, so without this rule one signed document would have
/// two valid encodings, and two different digests for the same chain link.
pub fn is_low_s(sig: &Signature) -> bool {
    use p256::elliptic_curve::scalar::IsHigh;
    !bool::from(sig.s().is_high())
}

fn check_signature(key: Option<&PublicKey>, msg: &[u8], sig: Option<Signature>, lines: &mut Lines) {
    let (Some(key), Some(sig)) = (key, sig) else {
        lines.check(
            false,
            "",
            "signature not checked: no usable key or signature",
        );
        return;
    };
    if !is_low_s(&sig) {
        lines.check(
            false,
            "",
            "signature has a high S value (the malleable second encoding); refused",
        );
        return;
    }
    let ok = key.verifying_key().verify(msg, &sig).is_ok();
    lines.1 = ok;
    lines.check(
        ok,
        format!("ES256 signature is valid for key {}", key.kid()),
        format!("ES256 signature does not verify with key {}", key.kid()),
    );
}

/// The checks every form shares once the signed content is known.
fn check_content(att: &Attestation, policy: &Policy, lines: &mut Lines) {
    lines.check(
        att.version == 1,
        "version 1",
        format!("unsupported version {}", att.version),
    );
    lines.check(
        att.alg == "ES256",
        "alg ES256",
        format!("unsupported alg {:?}", att.alg),
    );
    match (
        parse_rfc3339(&att.timestamp),
        parse_rfc3339(&att.expires_at),
    ) {
        (Ok(issued), Ok(expires)) => {
            let skew = Duration::from_secs(300);
            lines.check(
                issued <= policy.now + skew,
                format!("issued at {}", att.timestamp),
                format!("issued in the future ({})", att.timestamp),
            );
            lines.check(
                policy.now <= expires,
                format!("not expired (expires at {})", att.expires_at),
                format!("expired at {}", att.expires_at),
            );
            if let Some(max) = policy.max_age {
                let age = policy.now.duration_since(issued).unwrap_or_default();
                lines.check(
                    age <= max,
                    format!(
                        "{} s old, within --max-age {} s",
                        age.as_secs(),
                        max.as_secs()
                    ),
                    format!(
                        "{} s old, older than --max-age {} s",
                        age.as_secs(),
                        max.as_secs()
                    ),
                );
            }
        }
        _ => lines.check(
            false,
            "",
            "timestamp or expires_at is not a UTC RFC 3339 time",
        ),
    }
    if let Some(want) = &policy.nonce {
        match &att.nonce {
            Some(n) if n == want => lines.check(true, "nonce matches", ""),
            Some(_) => lines.check(false, "", "nonce does not match the one requested"),
            None => lines.check(
                false,
                "",
                "no nonce: the attestation was not made for this request",
            ),
        }
    }
    if let Some(min) = &policy.min_tier {
        let have = tier_rank(&att.posture.trust_tier);
        let need = tier_rank(min);
        lines.check(
            matches!((have, need), (Some(h), Some(n)) if h >= n),
            format!("tier {} meets the minimum {min}", att.posture.trust_tier),
            format!("tier {} is below the minimum {min}", att.posture.trust_tier),
        );
    }
}

/// The JSON document form.
pub fn verify_json(doc: &Value, keys: &[PublicKey], policy: &Policy) -> Result<Verdict, Unusable> {
    let att = parse_attestation(doc)?;
    let mut lines = Lines(Vec::new(), false);
    let key = select_key(keys, &att.key_id, &mut lines);
    let sig = STANDARD
        .decode(&att.signature)
        .ok()
        .and_then(|der| Signature::from_der(&der).ok());
    if sig.is_none() {
        lines.check(
            false,
            "",
            "signature is not base64 of a DER ECDSA signature",
        );
    }
    let msg = document::signing_input(doc).map_err(|e| Unusable::NotAttestation(e.to_string()))?;
    check_signature(key, &msg, sig, &mut lines);
    check_content(&att, policy, &mut lines);
    Ok(Verdict {
        form: "json",
        signature_valid: lines.1,
        lines: lines.0,
        attestation: att,
    })
}

/// JWS compact serialization: `b64url(header).b64url(payload).b64url(r‖s)`.
pub fn verify_jws(token: &str, keys: &[PublicKey], policy: &Policy) -> Result<Verdict, Unusable> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err(Unusable::Malformed(format!(
            "a JWS has 3 dot-separated parts, this has {}",
            parts.len()
        )));
    };
    let decode = |what: &str, part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| Unusable::Malformed(format!("JWS {what} is not base64url: {e}")))
    };
    let header: Value = serde_json::from_slice(&decode("header", h)?)
        .map_err(|e| Unusable::Malformed(format!("JWS header is not JSON: {e}")))?;
    let payload_bytes = decode("payload", p)?;
    let payload_text = std::str::from_utf8(&payload_bytes)
        .map_err(|_| Unusable::Malformed("JWS payload is not UTF-8".into()))?;
    let payload =
        canonical::parse_strict(payload_text).map_err(|e| Unusable::Malformed(e.to_string()))?;
    let att = parse_attestation(&payload)?;
    let mut lines = Lines(Vec::new(), false);
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    lines.check(
        alg == "ES256",
        "JWS alg ES256",
        format!("JWS alg {alg:?} is not ES256"),
    );
    if let Some(kid) = header.get("kid").and_then(Value::as_str) {
        lines.check(
            kid == att.key_id,
            "JWS kid matches key_id",
            format!("JWS kid {kid} differs from key_id {}", att.key_id),
        );
    }
    let key = select_key(keys, &att.key_id, &mut lines);
    let sig = decode("signature", s)
        .ok()
        .and_then(|raw| Signature::from_slice(&raw).ok());
    if sig.is_none() {
        lines.check(false, "", "JWS signature is not a 64-byte ES256 r‖s value");
    }
    let signing_input = format!("{h}.{p}");
    check_signature(
        if alg == "ES256" { key } else { None },
        signing_input.as_bytes(),
        sig,
        &mut lines,
    );
    check_content(&att, policy, &mut lines);
    Ok(Verdict {
        form: "jws",
        signature_valid: lines.1,
        lines: lines.0,
        attestation: att,
    })
}

/// Decodes DSSE base64 (either alphabet, padded or not, as the spec requires).
fn dsse_b64(s: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
        .ok()
}

/// A DSSE signature: raw r‖s (64 bytes, as in the DSSE spec's ECDSA vector) or DER.
fn dsse_signature(raw: &[u8]) -> Option<Signature> {
    if raw.len() == 64 {
        Signature::from_slice(raw).ok()
    } else {
        Signature::from_der(raw).ok()
    }
}

/// Verifies a DSSE envelope's signatures over PAE(type, body); returns the payload type,
/// the body, and the key that signed it. The policy is strict: the envelope holds only
/// `payloadType`, `payload` and `signatures`, each signature only `sig` and `keyid`, and
/// *every* signature must be a low-S signature that verifies with one of the keys; one
/// bogus or malleated signature beside a genuine one makes the whole envelope unsigned
/// (`None`), so nothing unverified can ride along.
pub fn verify_dsse_envelope(
    envelope: &Value,
    keys: &[PublicKey],
) -> Result<(String, Vec<u8>, Option<String>), Unusable> {
    let bad = |m: &str| Unusable::Malformed(format!("DSSE envelope: {m}"));
    let members = envelope
        .as_object()
        .ok_or_else(|| bad("not a JSON object"))?;
    if let Some(extra) = members
        .keys()
        .find(|k| !["payloadType", "payload", "signatures"].contains(&k.as_str()))
    {
        return Err(bad(&format!("unexpected member {extra:?}")));
    }
    let payload_type = envelope
        .get("payloadType")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no payloadType"))?;
    let body = envelope
        .get("payload")
        .and_then(Value::as_str)
        .and_then(dsse_b64)
        .ok_or_else(|| bad("payload is not base64"))?;
    let sigs = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no signatures"))?;
    if sigs.is_empty() {
        return Err(bad("no signatures"));
    }
    let msg = document::pae(payload_type, &body);
    let mut signers = Vec::new();
    for (i, s) in sigs.iter().enumerate() {
        let entry = s
            .as_object()
            .ok_or_else(|| bad(&format!("signature {i} is not an object")))?;
        if let Some(extra) = entry
            .keys()
            .find(|k| !["sig", "keyid"].contains(&k.as_str()))
        {
            return Err(bad(&format!(
                "signature {i} has unexpected member {extra:?}"
            )));
        }
        let signer = s
            .get("sig")
            .and_then(Value::as_str)
            .and_then(dsse_b64)
            .and_then(|r| dsse_signature(&r))
            .filter(is_low_s)
            .and_then(|sig| {
                keys.iter()
                    .find(|k| k.verifying_key().verify(&msg, &sig).is_ok())
            });
        signers.push(signer.map(|k| k.kid().to_owned()));
    }
    let verified_by = signers
        .into_iter()
        .collect::<Option<Vec<String>>>()
        .and_then(|all| all.into_iter().next());
    Ok((payload_type.to_owned(), body, verified_by))
}

/// A DSSE envelope holding an in-toto Statement v1 with a ClawSec predicate.
pub fn verify_dsse(
    envelope: &Value,
    keys: &[PublicKey],
    policy: &Policy,
) -> Result<Verdict, Unusable> {
    let (payload_type, body, verified_by) = verify_dsse_envelope(envelope, keys)?;
    let statement_text = std::str::from_utf8(&body)
        .map_err(|_| Unusable::Malformed("DSSE payload is not UTF-8".into()))?;
    let statement =
        canonical::parse_strict(statement_text).map_err(|e| Unusable::Malformed(e.to_string()))?;
    let predicate = statement
        .get("predicate")
        .ok_or_else(|| Unusable::NotAttestation("statement has no predicate".into()))?;
    let att = parse_attestation(predicate)?;
    let mut lines = Lines(Vec::new(), false);
    lines.check(
        payload_type == DSSE_PAYLOAD_TYPE,
        format!("payloadType {DSSE_PAYLOAD_TYPE}"),
        format!("unsupported payloadType {payload_type:?}"),
    );
    let st = statement.get("_type").and_then(Value::as_str).unwrap_or("");
    lines.check(
        st == STATEMENT_TYPE,
        "in-toto Statement v1",
        format!("unsupported statement _type {st:?}"),
    );
    let pt = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or("");
    lines.check(
        pt == PREDICATE_TYPE,
        format!("predicateType {PREDICATE_TYPE}"),
        format!("unexpected predicateType {pt:?}"),
    );
    match verified_by {
        Some(kid) => {
            lines.1 = kid == att.key_id;
            lines.check(
                kid == att.key_id,
                format!("DSSE signature is valid for key {kid}"),
                format!("DSSE signed by {kid}, but key_id is {}", att.key_id),
            );
        }
        None => lines.check(
            false,
            "",
            "no DSSE signature verifies with the given key(s)",
        ),
    }
    check_content(&att, policy, &mut lines);
    Ok(Verdict {
        form: "dsse",
        signature_valid: lines.1,
        lines: lines.0,
        attestation: att,
    })
}

/// The result of verifying an exported chain.
#[derive(Debug, Clone)]
pub struct ChainVerdict {
    pub lines: Vec<Line>,
    pub count: usize,
    pub epochs: usize,
}

impl ChainVerdict {
    pub fn valid(&self) -> bool {
        self.count > 0 && self.lines.iter().all(|l| l.ok)
    }
}

/// Verifies an exported history (a JSON array of documents, or one document per line):
/// every signature, `seq` continuity and every `prev` digest. A document carrying
/// `epoch_start` begins a new, explicitly declared epoch and is reported as such.
pub fn verify_chain(text: &str, keys: &[PublicKey]) -> Result<ChainVerdict, Unusable> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Unusable::Empty);
    }
    let docs: Vec<Value> = if text.starts_with('[') {
        match canonical::parse_strict(text).map_err(|e| Unusable::Malformed(e.to_string()))? {
            Value::Array(a) => a,
            _ => {
                return Err(Unusable::Malformed(
                    "expected an array of attestations".into(),
                ));
            }
        }
    } else {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                canonical::parse_strict(l)
                    .map_err(|e| Unusable::Malformed(format!("line {}: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()?
    };
    let mut lines = Lines(Vec::new(), false);
    let mut epochs = 1;
    let mut previous: Option<(u64, String)> = None;
    for doc in &docs {
        let att = parse_attestation(doc)?;
        let single = verify_json(doc, keys, &Policy::at(SystemTime::UNIX_EPOCH))?;
        let key_ok = single
            .lines
            .iter()
            .filter(|l| l.text.starts_with("key_id") || l.text.starts_with("no key"))
            .all(|l| l.ok);
        let sig_ok = single.signature_valid && key_ok;
        lines.check(
            sig_ok,
            "",
            format!("seq {}: signature or key does not verify", att.seq),
        );
        let this_digest = document::digest(doc)
            .map_err(|e: CanonicalError| Unusable::NotAttestation(e.to_string()))?;
        if previous.is_none()
            && let Some(epoch) = &att.epoch_start
        {
            // The first document may itself open an epoch (the history before it lost):
            // said, like any other break, so the reader sees it.
            lines.check(
                true,
                format!(
                    "seq {}: new epoch declared: {} (previous chain verified to seq {})",
                    att.seq, epoch.reason, epoch.previous_seq
                ),
                String::new(),
            );
        }
        if let Some((seq, digest)) = &previous {
            if let Some(epoch) = &att.epoch_start {
                epochs += 1;
                lines.check(
                    att.seq > *seq,
                    format!(
                        "seq {}: new epoch declared: {} (previous chain verified to seq {})",
                        att.seq, epoch.reason, epoch.previous_seq
                    ),
                    format!("seq {}: new epoch does not advance seq past {seq}", att.seq),
                );
            } else {
                lines.check(
                    att.seq == seq + 1,
                    "",
                    format!("seq {} follows seq {seq}: a gap or reordering", att.seq),
                );
                lines.check(
                    &att.prev == digest,
                    "",
                    format!(
                        "seq {}: prev {} is not the digest of seq {seq} ({digest})",
                        att.seq, att.prev
                    ),
                );
            }
        }
        previous = Some((att.seq, this_digest));
    }
    if let (Some(first), Some(last)) = (docs.first(), docs.last()) {
        let seq = |d: &Value| d.get("seq").and_then(Value::as_u64).unwrap_or(0);
        lines.0.insert(
            0,
            Line {
                ok: true,
                text: format!(
                    "{} attestations, seq {} to {}",
                    docs.len(),
                    seq(first),
                    seq(last)
                ),
            },
        );
    }
    Ok(ChainVerdict {
        lines: lines.0.into_iter().filter(|l| !l.text.is_empty()).collect(),
        count: docs.len(),
        epochs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;

    /// The ECDSA P-256 test vector of the DSSE protocol specification (protocol.md, "Test
    /// Vectors"): public key (X, Y given there in decimal, here in hex) and the envelope
    /// with its raw r‖s signature over PAE("http://example.com/HelloWorld", "hello world").
    #[test]
    fn dsse_spec_p256_vector_verifies() {
        let x = "67cd390f77aa359cb08c2235f652270493a9ed832b0abcc01f70954c0390d238";
        let y = "0c782bd54e269125a44f4433aff1432ce94e12bca73aa67ac80cea12608ddf74";
        let mut sec1 = vec![4u8];
        for h in [x, y] {
            sec1.extend((0..32).map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap()));
        }
        let key = PublicKey::new(VerifyingKey::from_sec1_bytes(&sec1).unwrap());
        assert_eq!(
            document::pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        let envelope: Value = serde_json::from_str(
            r#"{"payload": "aGVsbG8gd29ybGQ=",
                "payloadType": "http://example.com/HelloWorld",
                "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}"#,
        )
        .unwrap();
        let (ty, body, by) = verify_dsse_envelope(&envelope, std::slice::from_ref(&key)).unwrap();
        assert_eq!(
            (ty.as_str(), body.as_slice()),
            ("http://example.com/HelloWorld", b"hello world".as_slice())
        );
        assert_eq!(by.as_deref(), Some(key.kid()));

        // Any change to type, body or signature breaks it.
        for (field, value) in [
            ("payloadType", "http://example.com/HelloWorlD"),
            ("payload", "aGVsbG8gd29ybGQh"),
        ] {
            let mut e = envelope.clone();
            e[field] = value.into();
            assert_eq!(
                verify_dsse_envelope(&e, std::slice::from_ref(&key))
                    .unwrap()
                    .2,
                None,
                "{field}"
            );
        }
        let mut e = envelope.clone();
        e["signatures"][0]["sig"] = "B3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==".into();
        assert_eq!(verify_dsse_envelope(&e, &[key]).unwrap().2, None);
    }

    #[test]
    fn unusable_inputs() {
        let p = Policy::at(SystemTime::UNIX_EPOCH);
        assert_eq!(verify(b"", &[], &p).unwrap_err(), Unusable::Empty);
        assert!(matches!(
            verify(b"{\"version\": 1, \"agent", &[], &p),
            Err(Unusable::Malformed(_))
        ));
        assert!(matches!(
            verify(b"not json", &[], &p),
            Err(Unusable::Malformed(_))
        ));
        assert!(matches!(
            verify(b"{\"hello\": 1}", &[], &p),
            Err(Unusable::NotAttestation(_))
        ));
        assert!(matches!(
            verify(b"{\"a\":1,\"a\":2}", &[], &p),
            Err(Unusable::Malformed(_))
        ));
    }
}
