//! The `sha256:<hex>` digests that name catalogues, configs and results.

use sha2::{Digest, Sha256};

/// Lowercase hex of sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `sha256:<hex>`, the form used in postures and attestations.
pub fn sha256_prefixed(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}
