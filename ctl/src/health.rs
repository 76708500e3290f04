//! `clawsecctl health`: the standard gRPC health check.

use std::process::ExitCode;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::Ctx;
use crate::client::{ClientError, channel};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, ClientError> {
    let mut c = HealthClient::new(channel(&ctx.socket, ctx.timeout).await?);
    let r = c
        .check(HealthCheckRequest {
            service: "clawsec.v1.ClawSec".into(),
        })
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    let status = ServingStatus::try_from(r.status).unwrap_or(ServingStatus::Unknown);
    let name = status.as_str_name();
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({ "status": name, "socket": ctx.socket.display().to_string() })
        );
    } else {
        println!("{name} ({})", ctx.socket.display());
    }
    Ok(if status == ServingStatus::Serving {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
