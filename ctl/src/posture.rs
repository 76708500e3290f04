//! `clawsecctl posture`.

use std::process::ExitCode;

use clawsec_proto::pb;

use crate::client::{ClientError, connect};
use crate::{Ctx, render};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, ClientError> {
    let mut c = connect(&ctx.socket, ctx.timeout).await?;
    let r = c
        .get_posture(pb::GetPostureRequest {
            with_document: ctx.json,
        })
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    if ctx.json {
        // The daemon's own clawsec.posture/v1 document, byte for byte: one contract with
        // `clawsecd --assess-only --json` (plus the additive `daemon` section).
        if r.document.is_empty() {
            return Err(ClientError::Io(format!(
                "clawsecd at {} sent no posture document (a daemon older than this clawsecctl?)",
                ctx.socket.display()
            )));
        }
        println!("{}", r.document);
        return Ok(ExitCode::SUCCESS);
    }
    let p = r.posture.unwrap_or_default();
    let events = r.events.unwrap_or_default();
    print!("{}", render::posture_table(&p, Some(r.age_ms)));
    println!(
        "\n{}",
        render::events_line(&events, !render::stale_domains(&p).is_empty())
    );
    Ok(ExitCode::SUCCESS)
}
