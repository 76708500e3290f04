//! The attestation contract: the signed document, its canonical form, keys, and
//! verification. Signing is the daemon's; everything needed to check a signature is here,
//! so `clawsecctl` and any third-party Rust program can verify with this crate alone.

pub mod canonical;
pub mod document;
pub mod keyfiles;
pub mod keys;
pub mod verify;

pub use document::{Attestation, EpochStart, HostIdentity, PostureSummary};
pub use keys::{KeyError, PublicKey, parse_public_keys};
pub use verify::{Policy, Unusable, Verdict, verify, verify_chain};
