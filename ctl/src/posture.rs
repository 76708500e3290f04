//! `clawsecctl posture`.

use std::process::ExitCode;

use clawsec_proto::pb;

use crate::client::{ClientError, connect};
use crate::{Ctx, render};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, ClientError> {
    let mut c = connect(&ctx.socket, ctx.timeout).await?;
    let r = c
        .get_posture(pb::GetPostureRequest {})
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    let p = r.posture.unwrap_or_default();
    let events = r.events.unwrap_or_default();
    if ctx.json {
        let mut v = render::posture_json(&p, Some(r.age_ms));
        v["events"] = render::events_json(&events);
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", render::posture_table(&p, Some(r.age_ms)));
        println!(
            "\n{}",
            render::events_line(&events, !render::stale_domains(&p).is_empty())
        );
    }
    Ok(ExitCode::SUCCESS)
}
