//! `clawsecctl`: the ClawSec command-line client. Thin: parse arguments, run one
//! subcommand module, map its result to an exit status.

mod keys;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line client for ClawSec: manage attestation keys and verify attestations.
///
/// Verification needs only the public key and works anywhere; it does not talk to the
/// daemon.
#[derive(Debug, Parser)]
#[command(name = "clawsecctl", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or rotate attestation signing keys.
    Keys(keys::Args),
    /// Verify an attestation (JSON, JWS or DSSE) or an exported chain.
    ///
    /// Exit status: 0 valid, 1 invalid, 2 unusable input (unreadable, not an attestation,
    /// bad key file).
    Verify(verify::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Keys(args) => keys::run(args),
        Command::Verify(args) => verify::run(args),
    }
}
