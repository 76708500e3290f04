//! `clawsecctl assess [--domain D]...`.

use std::process::ExitCode;

use clawsec_proto::pb;

use crate::client::{ClientError, connect};
use crate::{Ctx, render};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these domains (repeatable): physical, network, secrets, code, logs, skills,
    /// integrity, social, incident.
    #[arg(long = "domain", value_name = "D")]
    domains: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, ClientError> {
    // An assessment may take longer than a posture read.
    let mut c = connect(
        &ctx.socket,
        ctx.timeout.max(std::time::Duration::from_secs(60)),
    )
    .await?;
    let r = c
        .assess(pb::AssessRequest {
            domains: args.domains,
        })
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    let p = r.posture.unwrap_or_default();
    if ctx.json {
        // The same clawsec.posture/v1 document as `posture --json`.
        println!("{}", r.document);
    } else {
        print!("{}", render::posture_table(&p, None));
        println!("\nassessed in {} ms", r.duration_ms);
    }
    Ok(ExitCode::SUCCESS)
}
