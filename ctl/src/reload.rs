//! `clawsecctl reload`.

use std::process::ExitCode;

use clawsec_proto::pb;

use crate::Ctx;
use crate::client::{ClientError, connect};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, ClientError> {
    let mut c = connect(&ctx.socket, ctx.timeout).await?;
    let r = c
        .reload(pb::ReloadRequest {})
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({
                "reloaded": r.reloaded,
                "config_digest": r.config_digest,
                "restart_required": r.restart_required,
            })
        );
    } else {
        println!("reloaded; config {}", r.config_digest);
        for line in &r.restart_required {
            println!("note: {line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
