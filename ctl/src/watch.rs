//! `clawsecctl watch`: one line (or JSON object) per posture change.

use std::process::ExitCode;

use clawsec_proto::pb;

use crate::client::ClientError;
use crate::{Ctx, render};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, ClientError> {
    // The stream is open-ended: only connecting has a deadline.
    let channel = crate::client::channel(&ctx.socket, ctx.timeout).await?;
    let mut c = clawsec_proto::pb::claw_sec_client::ClawSecClient::new(channel);
    let mut stream = c
        .watch_posture(pb::WatchPostureRequest {})
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    loop {
        match stream.message().await {
            Ok(Some(ev)) => {
                let p = ev.posture.unwrap_or_default();
                if ctx.json {
                    let mut v = render::posture_json(&p, None);
                    v["seq"] = ev.seq.into();
                    v["changed_checks"] = ev.changed_checks.clone().into();
                    println!("{}", serde_json::to_string(&v).unwrap_or_default());
                } else {
                    let changed = if ev.changed_checks.is_empty() {
                        String::new()
                    } else {
                        format!("  changed: {}", ev.changed_checks.join(", "))
                    };
                    let stale = render::stale_domains(&p);
                    let stale = if stale.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "  stale (events lost, re-scan under way): {}",
                            stale.join(", ")
                        )
                    };
                    println!(
                        "{} {} {}/100 seq {}{changed}{stale}",
                        p.assessed_at,
                        render::tier_name(p.trust_tier),
                        p.overall_score,
                        ev.seq
                    );
                }
            }
            Ok(None) => return Ok(ExitCode::SUCCESS),
            Err(s) => return Err(ClientError::from_status(&ctx.socket, s)),
        }
    }
}
