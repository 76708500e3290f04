//! `clawsecd`: the ClawSec security posture daemon, as a library.
//!
//! Data flows one way: the probe layer ([`probe`]) is the only code that reads the host;
//! [`facts`] gathers what checks need through it; [`checks`] are pure functions from
//! facts to outcomes; the [`engine`] runs them concurrently and [`scoring`] turns the
//! outcomes into a score and tier; [`posture`] and [`report`] present the result.
//! The binary in `main.rs` only parses arguments and calls [`cli::run`].
//!
//! As a daemon ([`server`]): the [`service`] layer holds the current signed posture and
//! answers every call; [`api`] is the gRPC door to it on the Unix socket; [`roles`]
//! decides who may call what from peer credentials; [`authorize`] is the pre-action gate.
//!
//! Nothing in this crate prints, logs or stores a secret's value: secrets leave
//! [`secrets`] only as fingerprints, and evidence text is scrubbed when built.

pub mod api;
pub mod attest;
pub mod authorize;
pub mod baseline;
pub mod checks;
pub mod cli;
pub mod config;
pub mod digest;
pub mod engine;
pub mod events;
pub mod facts;
pub mod inventory;
pub mod jsonc;
pub mod posture;
pub mod probe;
pub mod report;
pub mod roles;
pub mod sarif;
pub mod scoring;
pub mod secrets;
pub mod server;
pub mod service;
pub mod store;
