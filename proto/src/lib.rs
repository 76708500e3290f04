//! The ClawSec contract: what users and other programs depend on.
//!
//! - [`pb`]: the `clawsec.v1` gRPC API, generated from `clawsec/v1/clawsec.proto`.
//! - [`attestation`]: the signed attestation document, RFC 8785 canonical JSON, keys
//!   and verification (JSON, JWS, DSSE, chains).
//! - [`output`]: how files are written: paths a user names (streams kept, regular files
//!   replaced atomically) and ClawSec's own files (never through a symlink).
//! - [`time`]: the contract's timestamp and date formats.
//!
//! This crate must stay small enough that any Rust program can depend on it to talk to
//! the daemon or check its answers. It knows nothing of the daemon's internals.

/// The generated `clawsec.v1` messages, client and server.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]
pub mod pb {
    tonic::include_proto!("clawsec.v1");

    /// The encoded file descriptor set of `clawsec.v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/clawsec_descriptor.bin"));
}

pub mod attestation;
pub mod output;
pub mod time;
