//! Human tables and JSON for daemon answers.

use std::fmt::Write;

use clawsec_proto::pb;
use serde_json::{Value, json};

pub fn tier_name(t: i32) -> &'static str {
    match pb::TrustTier::try_from(t) {
        Ok(pb::TrustTier::High) => "HIGH",
        Ok(pb::TrustTier::Medium) => "MEDIUM",
        Ok(pb::TrustTier::Low) => "LOW",
        Ok(pb::TrustTier::Untrusted) => "UNTRUSTED",
        _ => "UNKNOWN",
    }
}

pub fn severity_name(s: i32) -> &'static str {
    match pb::Severity::try_from(s) {
        Ok(pb::Severity::Critical) => "critical",
        Ok(pb::Severity::High) => "high",
        Ok(pb::Severity::Medium) => "medium",
        Ok(pb::Severity::Low) => "low",
        _ => "unknown",
    }
}

pub fn status_name(s: i32) -> &'static str {
    match pb::CheckStatus::try_from(s) {
        Ok(pb::CheckStatus::Pass) => "pass",
        Ok(pb::CheckStatus::Fail) => "fail",
        Ok(pb::CheckStatus::Error) => "error",
        Ok(pb::CheckStatus::NotApplicable) => "not_applicable",
        Ok(pb::CheckStatus::Waived) => "waived",
        _ => "unknown",
    }
}

/// The posture as JSON, in the same vocabulary as `clawsec.posture/v1`.
pub fn posture_json(p: &pb::Posture, age_ms: Option<u64>) -> Value {
    json!({
        "trust_tier": tier_name(p.trust_tier),
        "overall_score": p.overall_score,
        "assessed_at": p.assessed_at,
        "age_ms": age_ms,
        "critical_failures": p.critical_failures,
        "coverage": { "mode": p.coverage, "notes": p.coverage_notes },
        "domains": p.domains.iter().map(|d| (d.domain.clone(), json!({
            "score": d.score,
            "stale": d.stale,
            "counts": d.counts.as_ref().map(|c| json!({"pass": c.pass, "fail": c.fail, "error": c.error, "not_applicable": c.not_applicable, "waived": c.waived})),
        }))).collect::<serde_json::Map<_, _>>(),
        "checks": p.checks.iter().map(|c| json!({
            "id": c.id, "domain": c.domain, "severity": severity_name(c.severity), "status": status_name(c.status),
            "title": c.title, "remediation": c.remediation, "reason": c.reason,
            "evidence": c.evidence.iter().map(|e| json!({"path": e.path, "line": e.line, "detail": e.detail, "fingerprint": e.fingerprint})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "catalog_digest": p.catalog_digest, "config_digest": p.config_digest, "checks_digest": p.checks_digest,
    })
}

/// Evidence lines (and places in a reason) shown per check in the table.
const EVIDENCE_SHOWN: usize = 3;

/// The posture as a table: tier first, then domains, then failing checks worst first.
pub fn posture_table(p: &pb::Posture, age_ms: Option<u64>) -> String {
    let mut s = String::new();
    let age = age_ms.map_or(String::new(), |a| format!(" (assessed {} s ago)", a / 1000));
    let _ = writeln!(
        s,
        "{} {}/100{age}",
        tier_name(p.trust_tier),
        p.overall_score
    );
    if !p.critical_failures.is_empty() {
        let _ = writeln!(s, "critical failures: {}", p.critical_failures.join(", "));
    }
    for n in &p.coverage_notes {
        let _ = writeln!(s, "note: {n}");
    }
    let _ = writeln!(
        s,
        "\n{:<10} {:>5}  {:>4} {:>4} {:>5} {:>4} {:>6}",
        "DOMAIN", "SCORE", "PASS", "FAIL", "ERROR", "N/A", "WAIVED"
    );
    for d in &p.domains {
        let c = d.counts.unwrap_or_default();
        let score = d.score.map_or("—".to_owned(), |v| v.to_string());
        let score = if d.stale { format!("{score}*") } else { score };
        let _ = writeln!(
            s,
            "{:<10} {:>5}  {:>4} {:>4} {:>5} {:>4} {:>6}",
            d.domain, score, c.pass, c.fail, c.error, c.not_applicable, c.waived
        );
    }
    let mut bad: Vec<&pb::CheckResult> = p
        .checks
        .iter()
        .filter(|c| matches!(status_name(c.status), "fail" | "error"))
        .collect();
    bad.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    if !bad.is_empty() {
        let _ = writeln!(s);
    }
    for c in bad {
        let _ = writeln!(
            s,
            "{:<5} {:<8} {:<9} {}",
            status_name(c.status).to_uppercase(),
            severity_name(c.severity),
            c.id,
            c.title
        );
        for e in c.evidence.iter().take(EVIDENCE_SHOWN) {
            let place = match e.line {
                Some(l) => format!("{}:{l}: ", e.path),
                None if !e.path.is_empty() => format!("{}: ", e.path),
                None => String::new(),
            };
            let _ = writeln!(s, "      {place}{}", e.detail);
        }
        if c.evidence.len() > EVIDENCE_SHOWN {
            let _ = writeln!(
                s,
                "      … and {} more (--json for all)",
                c.evidence.len() - EVIDENCE_SHOWN
            );
        }
        if !c.reason.is_empty() {
            let parts: Vec<&str> = c.reason.split("; ").collect();
            if parts.len() > EVIDENCE_SHOWN + 1 {
                let _ = writeln!(
                    s,
                    "      why: {}; … and {} more (--json for all)",
                    parts[..EVIDENCE_SHOWN].join("; "),
                    parts.len() - EVIDENCE_SHOWN
                );
            } else {
                let _ = writeln!(s, "      why: {}", c.reason);
            }
        }
    }
    s
}

/// Event counters as JSON.
pub fn events_json(e: &pb::EventCounters) -> Value {
    json!({
        "watching": e.watching, "events": e.events, "targeted_runs": e.targeted_runs,
        "overflows": e.overflows, "lost_watches": e.lost_watches,
        "full_rescans": e.full_rescans, "process_runs": e.process_runs,
        "process_events": e.process_events, "process_events_relevant": e.process_events_relevant,
        "kernel_process_events": e.kernel_process_events,
    })
}

/// The domains whose results may be out of date (events were lost; a re-scan is under way).
pub fn stale_domains(p: &pb::Posture) -> Vec<&str> {
    p.domains
        .iter()
        .filter(|d| d.stale)
        .map(|d| d.domain.as_str())
        .collect()
}

/// One line about how the daemon is watching; stale domains are marked `*` in the table.
pub fn events_line(e: &pb::EventCounters, any_stale: bool) -> String {
    let mut s = if e.watching {
        format!(
            "events: watching; {} events, {} targeted re-checks, {} process re-checks ({} of {} process events relevant, {}), {} overflows, {} lost watches, {} full re-scans",
            e.events,
            e.targeted_runs,
            e.process_runs,
            e.process_events_relevant,
            e.process_events,
            if e.kernel_process_events {
                "kernel connector"
            } else {
                "/proc poll"
            },
            e.overflows,
            e.lost_watches,
            e.full_rescans
        )
    } else {
        "events: not watching files (the schedule alone applies)".to_owned()
    };
    if any_stale {
        s.push_str("\n* stale: events were lost; a full re-scan is under way");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_evidence_and_reasons_say_how_many_more() {
        let check = pb::CheckResult {
            id: "SKL-001".into(),
            status: pb::CheckStatus::Fail as i32,
            evidence: (0..5)
                .map(|i| pb::Evidence {
                    path: format!("/s/{i}"),
                    detail: "bad".into(),
                    ..Default::default()
                })
                .collect(),
            reason: (0..6)
                .map(|i| format!("r{i}"))
                .collect::<Vec<_>>()
                .join("; "),
            ..Default::default()
        };
        let p = pb::Posture {
            checks: vec![check],
            ..Default::default()
        };
        let table = posture_table(&p, None);
        assert!(
            table.contains("      … and 2 more (--json for all)"),
            "{table}"
        );
        assert!(
            table.contains("why: r0; r1; r2; … and 3 more (--json for all)"),
            "{table}"
        );
        assert!(!table.contains("/s/3"), "{table}");
    }
}
