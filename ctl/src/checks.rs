//! `clawsecctl checks`: the catalogue, from the daemon.

use std::process::ExitCode;

use clawsec_proto::pb;
use serde_json::json;

use crate::client::{ClientError, connect};
use crate::{Ctx, render};

pub async fn run(ctx: &Ctx) -> Result<ExitCode, ClientError> {
    let mut c = connect(&ctx.socket, ctx.timeout).await?;
    let r = c
        .list_checks(pb::ListChecksRequest {})
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    if ctx.json {
        let checks: Vec<_> = r
            .checks
            .iter()
            .map(|c| json!({"id": c.id, "domain": c.domain, "severity": render::severity_name(c.severity), "title": c.title, "rationale": c.rationale, "remediation": c.remediation, "references": c.references, "reads": c.reads}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"catalog_digest": r.catalog_digest, "checks": checks})
            )
            .unwrap_or_default()
        );
    } else {
        for c in &r.checks {
            println!(
                "{:<9} {:<10} {:<8} {}",
                c.id,
                c.domain,
                render::severity_name(c.severity),
                c.title
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
