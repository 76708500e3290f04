//! `clawsecctl health`: the standard gRPC health check, then (for callers who may read
//! the posture) how fresh the posture is and how the daemon is watching.

use std::process::ExitCode;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use clawsec_proto::pb;
use clawsec_proto::pb::claw_sec_client::ClawSecClient;

use crate::client::{ClientError, channel};
use crate::{Ctx, render};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, ClientError> {
    let channel = channel(&ctx.socket, ctx.timeout).await?;
    let mut c = HealthClient::new(channel.clone());
    let r = c
        .check(HealthCheckRequest {
            service: "clawsec.v1.ClawSec".into(),
        })
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    let status = ServingStatus::try_from(r.status).unwrap_or(ServingStatus::Unknown);
    let name = status.as_str_name();
    // How fresh the posture is, for callers allowed to read it: which domains are stale
    // (events were lost and the re-scan has not finished) and the event counters.
    let posture = ClawSecClient::new(channel)
        .get_posture(pb::GetPostureRequest::default())
        .await
        .ok()
        .map(|r| r.into_inner());
    let stale: Option<Vec<&str>> = posture.as_ref().map(|r| {
        r.posture
            .as_ref()
            .map(render::stale_domains)
            .unwrap_or_default()
    });
    if ctx.json {
        let mut v =
            serde_json::json!({ "status": name, "socket": ctx.socket.display().to_string() });
        if let (Some(r), Some(stale)) = (&posture, &stale) {
            v["age_ms"] = r.age_ms.into();
            v["stale"] = stale.clone().into();
            v["events"] = render::events_json(&r.events.unwrap_or_default());
        }
        println!("{v}");
    } else {
        println!("{name} ({})", ctx.socket.display());
        if let (Some(r), Some(stale)) = (&posture, &stale) {
            let fresh = if stale.is_empty() {
                "every domain current".to_owned()
            } else {
                format!("stale: {}", stale.join(", "))
            };
            println!("posture: {} s old, {fresh}", r.age_ms / 1000);
            println!(
                "{}",
                render::events_line(&r.events.unwrap_or_default(), !stale.is_empty())
            );
        }
    }
    Ok(if status == ServingStatus::Serving {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
