//! `clawsecctl keys generate|rotate`: key files for signing attestations.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use clawsec_proto::attestation::keyfiles;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a new P-256 key: DIR/attestation.key (PKCS#8 PEM, mode 0600),
    /// attestation.pub (SPKI PEM), attestation.jwk and attestation.jwks.
    Generate {
        /// Directory to write the key files to (created with mode 0700).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace an existing key (its public key is NOT kept; use `rotate` for that).
        #[arg(long)]
        force: bool,
    },
    /// Replace the key in DIR with a new one, keeping the old public key in
    /// DIR/retired/ and DIR/attestation.jwks so earlier attestations still verify.
    /// (Offline; stop the daemon first, or use its RotateKey call.)
    Rotate {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

pub fn run(args: Args) -> ExitCode {
    let result = match args.command {
        Command::Generate { out, force } => keyfiles::write_new(&out, &keyfiles::generate(), force)
            .map(|k| {
                format!(
                    "wrote {}/attestation.{{key,pub,jwk,jwks}}; key id {}",
                    out.display(),
                    k.kid()
                )
            }),
        Command::Rotate { dir } => keyfiles::rotate(&dir).map(|(old, new)| {
            format!(
                "rotated {}: new key id {}; old key {} kept in attestation.jwks",
                dir.display(),
                new.kid(),
                old.kid()
            )
        }),
    };
    match result {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("clawsecctl: {e}");
            ExitCode::from(1)
        }
    }
}
