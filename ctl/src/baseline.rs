//! `clawsecctl baseline approve [--check ID]...`.

use std::process::ExitCode;

use clap::Subcommand;
use clawsec_proto::pb;

use crate::Ctx;
use crate::client::{ClientError, connect};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Record the current state as the approved baseline for drift checks (operator role).
    Approve {
        /// Only these checks (repeatable); default every drift check.
        #[arg(long = "check", value_name = "ID")]
        checks: Vec<String>,
    },
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, ClientError> {
    let Command::Approve { checks } = args.command;
    let mut c = connect(&ctx.socket, ctx.timeout).await?;
    let r = c
        .approve_baseline(pb::ApproveBaselineRequest { check_ids: checks })
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    if ctx.json {
        println!("{}", serde_json::json!({ "approved": r.approved }));
    } else {
        println!("approved: {}", r.approved.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
