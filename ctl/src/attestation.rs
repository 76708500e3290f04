//! `clawsecctl attestation [--nonce N] [--format json|jws|dsse] [--out FILE]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clawsec_proto::pb;

use crate::Ctx;
use crate::client::{ClientError, connect};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Jws,
    Dsse,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Have it signed freshly with this nonce (at least 16 random bytes, base64url).
    #[arg(long, value_name = "N")]
    nonce: Option<String>,
    /// The form: the JSON document, JWS compact, or a DSSE/in-toto envelope.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Write to this file instead of standard output (`-` is standard output; a device,
    /// FIFO or socket is written as a stream, a regular file replaced atomically).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, ClientError> {
    let mut c = connect(&ctx.socket, ctx.timeout).await?;
    let format = match args.format {
        Format::Json => "json",
        Format::Jws => "jws",
        Format::Dsse => "dsse",
    };
    let r = c
        .get_attestation(pb::GetAttestationRequest {
            nonce: args.nonce.unwrap_or_default(),
            format: format.into(),
        })
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    let text = if r.document_json.ends_with('\n') {
        r.document_json
    } else {
        r.document_json + "\n"
    };
    match args.out {
        Some(path) => {
            let written = clawsec_proto::output::write_output(&path, text.as_bytes(), 0o644)
                .map_err(|e| ClientError::Io(e.to_string()))?;
            eprintln!("wrote {written} ({})", r.digest);
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
