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
    let mut previous: Option<pb::Posture> = None;
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
                    println!(
                        "{}",
                        line(previous.as_ref(), &p, &ev.changed_checks, ev.seq)
                    );
                }
                previous = Some(p);
            }
            Ok(None) => return Ok(ExitCode::SUCCESS),
            Err(s) => return Err(ClientError::from_status(&ctx.socket, s)),
        }
    }
}

/// One line per event: the first says where the posture stands; each later one says
/// only what moved (tier and score if they did, each changed check as old → new).
fn line(previous: Option<&pb::Posture>, p: &pb::Posture, changed: &[String], seq: u64) -> String {
    let head = format!(
        "{} {} {}/100 seq {seq}",
        p.assessed_at,
        render::tier_name(p.trust_tier),
        p.overall_score
    );
    let stale = render::stale_domains(p);
    let stale = if stale.is_empty() {
        String::new()
    } else {
        format!(
            "  stale (events lost, re-scan under way): {}",
            stale.join(", ")
        )
    };
    let Some(before) = previous else {
        let count = |want: &str| {
            p.checks
                .iter()
                .filter(|c| render::status_name(c.status) == want)
                .count()
        };
        return format!(
            "{head}  now: {} failing, {} erroring{stale}",
            count("fail"),
            count("error")
        );
    };
    let was = if (before.trust_tier, before.overall_score) != (p.trust_tier, p.overall_score) {
        format!(
            " (was {} {}/100)",
            render::tier_name(before.trust_tier),
            before.overall_score
        )
    } else {
        String::new()
    };
    let status_of = |posture: &pb::Posture, id: &str| {
        posture
            .checks
            .iter()
            .find(|c| c.id == id)
            .map_or("absent", |c| render::status_name(c.status))
    };
    let moves: Vec<String> = changed
        .iter()
        .map(|id| format!("{id} {}→{}", status_of(before, id), status_of(p, id)))
        .collect();
    let moves = if moves.is_empty() {
        String::new()
    } else {
        format!("  changed: {}", moves.join(", "))
    };
    format!("{head}{was}{moves}{stale}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posture(score: u32, skl: pb::CheckStatus) -> pb::Posture {
        pb::Posture {
            trust_tier: pb::TrustTier::High as i32,
            overall_score: score,
            assessed_at: "T".into(),
            checks: vec![pb::CheckResult {
                id: "SKL-001".into(),
                status: skl as i32,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_first_line_says_where_things_stand_and_later_ones_only_what_moved() {
        let a = posture(100, pb::CheckStatus::Pass);
        assert_eq!(
            line(None, &a, &[], 1),
            "T HIGH 100/100 seq 1  now: 0 failing, 0 erroring"
        );
        let b = posture(94, pb::CheckStatus::Fail);
        assert_eq!(
            line(Some(&a), &b, &["SKL-001".into()], 2),
            "T HIGH 94/100 seq 2 (was HIGH 100/100)  changed: SKL-001 pass→fail"
        );
    }
}
