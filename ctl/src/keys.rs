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
    /// Replace the signing key with a new one, keeping the old public key in
    /// attestation.jwks (and retired/) so earlier attestations still verify. Without
    /// --dir, asks the running daemon (admin role); with --dir, rotates the key files in
    /// DIR offline (stop the daemon first).
    Rotate {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// What a keys command did, for people (text) and programs (`--json`).
struct Done {
    text: String,
    json: serde_json::Value,
}

pub fn run(
    args: Args,
    socket: Option<&std::path::Path>,
    timeout: std::time::Duration,
    json: bool,
) -> ExitCode {
    let result = match args.command {
        Command::Rotate { dir: None } => rotate_in_daemon(socket, timeout),
        Command::Generate { out, force } => keyfiles::write_new(&out, &keyfiles::generate(), force)
            .map(|k| Done {
                text: format!("wrote {}/attestation.{{key,pub,jwk,jwks}}; key id {}", out.display(), k.kid()),
                json: serde_json::json!({ "dir": out.display().to_string(), "key_id": k.kid() }),
            })
            .map_err(|e| e.to_string()),
        Command::Rotate { dir: Some(dir) } => keyfiles::rotate(&dir)
            .map(|(old, new)| Done {
                text: format!(
                    "rotated {}: new key id {}; old key {} kept in attestation.jwks",
                    dir.display(),
                    new.kid(),
                    old.kid()
                ),
                json: serde_json::json!({ "dir": dir.display().to_string(), "key_id": new.kid(), "previous_key_id": old.kid() }),
            })
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(done) => {
            if json {
                println!("{}", done.json);
            } else {
                println!("{}", done.text);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("clawsecctl: {e}");
            ExitCode::from(1)
        }
    }
}

fn rotate_in_daemon(
    socket: Option<&std::path::Path>,
    timeout: std::time::Duration,
) -> Result<Done, String> {
    let path = crate::client::socket_path(socket);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let r = rt
        .block_on(async {
            let mut c = crate::client::connect(&path, timeout).await?;
            c.rotate_key(clawsec_proto::pb::RotateKeyRequest {})
                .await
                .map(|r| r.into_inner())
                .map_err(|s| crate::client::ClientError::from_status(&path, s))
        })
        .map_err(|e| e.to_string())?;
    Ok(Done {
        text: format!(
            "rotated: new key id {}; previous {} kept for verification",
            r.key_id, r.previous_key_id
        ),
        json: serde_json::json!({ "key_id": r.key_id, "previous_key_id": r.previous_key_id }),
    })
}
