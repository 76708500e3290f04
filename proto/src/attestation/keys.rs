//! Public keys for verifying attestations: SPKI PEM, JWK and JWKS, all P-256, each
//! identified by its RFC 7638 JWK thumbprint (the attestation's `key_id`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// OID of the P-256 curve (prime256v1 / secp256r1).
pub const P256_OID: &str = "1.2.840.10045.3.1.7";

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "this is a private key; verification needs the public key (attestation.pub or attestation.jwk)"
    )]
    PrivateGiven,
    #[error("not a P-256 key: {0}")]
    WrongCurve(String),
    #[error("not a public key in SPKI PEM, JWK or JWKS form: {0}")]
    Unrecognized(String),
    #[error("JWK field {field}: {message}")]
    Jwk {
        field: &'static str,
        message: String,
    },
    #[error("the key set holds no keys")]
    Empty,
}

/// A P-256 public key and its thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    kid: String,
}

impl PublicKey {
    pub fn new(key: VerifyingKey) -> Self {
        let (x, y) = coordinates(&key);
        PublicKey {
            kid: thumbprint(&x, &y),
            key,
        }
    }

    /// The RFC 7638 thumbprint, base64url without padding.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The public JWK, with `kid`, `alg` and `use`.
    pub fn to_jwk(&self) -> Value {
        let (x, y) = coordinates(&self.key);
        json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": self.kid, "alg": "ES256", "use": "sig" })
    }

    /// SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }
}

/// base64url x and y of an uncompressed point.
fn coordinates(key: &VerifyingKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    let x = point
        .x()
        .map(|x| URL_SAFE_NO_PAD.encode(x))
        .unwrap_or_default();
    let y = point
        .y()
        .map(|y| URL_SAFE_NO_PAD.encode(y))
        .unwrap_or_default();
    (x, y)
}

/// RFC 7638: sha256 over `{"crv":"P-256","kty":"EC","x":…,"y":…}` (members in that
/// order, no whitespace), base64url without padding.
pub fn thumbprint(x: &str, y: &str) -> String {
    let input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
}

/// Parses a key file: SPKI PEM, a JWK, or a JWKS (`{"keys": [...]}`).
pub fn parse_public_keys(text: &str) -> Result<Vec<PublicKey>, KeyError> {
    let trimmed = text.trim_start();
    if trimmed.contains("PRIVATE KEY-----") {
        return Err(KeyError::PrivateGiven);
    }
    if trimmed.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(trimmed.trim_end())
            .map(|k| vec![PublicKey::new(k)])
            .map_err(|e| match curve_of_spki_pem(trimmed) {
                Some(oid) if oid != P256_OID => KeyError::WrongCurve(format!("curve OID {oid}")),
                _ => KeyError::Unrecognized(e.to_string()),
            });
    }
    let v: Value = serde_json::from_str(trimmed)
        .map_err(|e| KeyError::Unrecognized(format!("neither PEM nor JSON ({e})")))?;
    if let Some(keys) = v.get("keys") {
        let keys = keys.as_array().ok_or(KeyError::Jwk {
            field: "keys",
            message: "must be a list".into(),
        })?;
        let parsed = keys.iter().map(jwk).collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            return Err(KeyError::Empty);
        }
        return Ok(parsed);
    }
    jwk(&v).map(|k| vec![k])
}

fn jwk(v: &Value) -> Result<PublicKey, KeyError> {
    let field = |name: &'static str| {
        v.get(name).and_then(Value::as_str).ok_or(KeyError::Jwk {
            field: name,
            message: "missing or not a string".into(),
        })
    };
    if v.get("d").is_some() {
        return Err(KeyError::PrivateGiven);
    }
    let kty = field("kty")?;
    if kty != "EC" {
        return Err(KeyError::WrongCurve(format!("kty {kty}")));
    }
    let crv = field("crv")?;
    if crv != "P-256" {
        return Err(KeyError::WrongCurve(format!("crv {crv}")));
    }
    let coord = |name: &'static str| -> Result<Vec<u8>, KeyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(field(name)?)
            .map_err(|e| KeyError::Jwk {
                field: name,
                message: e.to_string(),
            })?;
        if bytes.len() != 32 {
            return Err(KeyError::Jwk {
                field: name,
                message: format!("{} bytes, expected 32", bytes.len()),
            });
        }
        Ok(bytes)
    };
    let mut sec1 = vec![0x04];
    sec1.extend(coord("x")?);
    sec1.extend(coord("y")?);
    let key = VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| KeyError::Jwk {
        field: "x",
        message: "not a point on P-256".into(),
    })?;
    let key = PublicKey::new(key);
    if let Some(kid) = v.get("kid").and_then(Value::as_str)
        && kid != key.kid()
    {
        return Err(KeyError::Jwk {
            field: "kid",
            message: format!("{kid} is not the key's RFC 7638 thumbprint {}", key.kid()),
        });
    }
    Ok(key)
}

/// The named-curve OID of an EC SPKI PEM, for a clear "wrong curve" message.
fn curve_of_spki_pem(pem: &str) -> Option<String> {
    use p256::pkcs8::der::Decode;
    let (_, der) = p256::pkcs8::der::pem::decode_vec(pem.trim_end().as_bytes()).ok()?;
    let spki = p256::pkcs8::spki::SubjectPublicKeyInfoRef::from_der(&der).ok()?;
    spki.algorithm
        .parameters_oid()
        .ok()
        .map(|oid| oid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The P-256 example key of RFC 7517 appendix A.1; its RFC 7638 thumbprint as computed
    // by an independent JOSE library (Python joserfc).
    const X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
    const Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
    const THUMBPRINT: &str = "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s";

    #[test]
    fn jwk_round_trip_and_thumbprint() {
        let jwk =
            format!(r#"{{"kty":"EC","crv":"P-256","x":"{X}","y":"{Y}","use":"enc","kid":"1"}}"#);
        // kid "1" is not the thumbprint, so it is refused...
        assert!(matches!(
            parse_public_keys(&jwk),
            Err(KeyError::Jwk { field: "kid", .. })
        ));
        // ...and accepted without it.
        let jwk = format!(r#"{{"kty":"EC","crv":"P-256","x":"{X}","y":"{Y}"}}"#);
        let k = &parse_public_keys(&jwk).unwrap()[0];
        assert_eq!(k.kid(), THUMBPRINT);
        assert_eq!(k.to_jwk()["x"], X);
        // PEM and JWKS forms of the same key agree.
        let pem = k.to_pem();
        assert_eq!(parse_public_keys(&pem).unwrap()[0], *k);
        let jwks = format!(r#"{{"keys":[{}]}}"#, k.to_jwk());
        assert_eq!(parse_public_keys(&jwks).unwrap()[0], *k);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert_eq!(
            parse_public_keys("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(KeyError::PrivateGiven)
        );
        let p384 = r#"{"kty":"EC","crv":"P-384","x":"a","y":"b"}"#;
        assert_eq!(
            parse_public_keys(p384),
            Err(KeyError::WrongCurve("crv P-384".into()))
        );
        assert_eq!(parse_public_keys(r#"{"keys":[]}"#), Err(KeyError::Empty));
        assert!(matches!(
            parse_public_keys("hello"),
            Err(KeyError::Unrecognized(_))
        ));
        // A P-384 SPKI PEM (generated with openssl) names its curve.
        let pem384 = "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEpgJ1QO+IWK9bh2C/OHH3iUWD5l8Z/QXM\ntg+73S+unq1BsXh8aWbaNLXCdVbXOdc0ILq9FBDU32FmZyAw0t25B4/iwH1KLBrR\nLAexL+ckPp8NwJ1sXi62OQ0un3IK1VK8\n-----END PUBLIC KEY-----\n";
        assert_eq!(
            parse_public_keys(pem384),
            Err(KeyError::WrongCurve("curve OID 1.3.132.0.34".into()))
        );
    }
}
