//! The posture document, `clawsec.posture/v1`: the JSON form of an assessment that
//! `--assess-only --json` prints and the API will serve. Documented in `docs/posture.md`.
//!
//! Deterministic: the same host gives the same document apart from `generated_at`
//! (checks, evidence and domains are in a fixed order; no durations are included).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checks::{Domain, Evidence, Severity, Status};
use crate::engine::Assessment;
use crate::scoring::{Counts, Tier};

pub const SCHEMA: &str = "clawsec.posture/v1";

/// `doc` (a pretty-printed JSON object) with one more top-level member `name`, written
/// after the others; the rest of the text is kept byte for byte.
pub fn with_section(doc: &str, name: &str, value: &serde_json::Value) -> String {
    let body = doc.trim_end().strip_suffix('}').unwrap_or(doc).trim_end();
    let value = serde_json::to_string_pretty(value)
        .unwrap_or_default()
        .replace('\n', "\n  ");
    format!("{body},\n  {}: {value}\n}}", serde_json::Value::from(name))
}

#[derive(Debug, Clone, Serialize)]
pub struct PostureDoc {
    pub schema: &'static str,
    pub agent_id: String,
    pub hostname: String,
    pub host_root: String,
    pub generated_at: String,
    pub trust_tier: Tier,
    pub overall_score: u32,
    /// True when a failing or erroring critical check holds the score at 49 or below.
    pub score_capped: bool,
    pub critical_failures: Vec<String>,
    pub domains: BTreeMap<&'static str, DomainDoc>,
    pub checks: Vec<CheckDoc>,
    pub waived: Vec<WaivedDoc>,
    pub coverage: CoverageDoc,
    pub limits_reached: Vec<LimitDoc>,
    pub catalog_digest: String,
    pub config_digest: String,
    pub checks_digest: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainDoc {
    pub score: Option<u32>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckDoc {
    pub id: &'static str,
    pub domain: Domain,
    pub severity: Severity,
    pub status: Status,
    pub title: &'static str,
    pub evidence: Vec<Evidence>,
    pub remediation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a waived check, the outcome it would otherwise have had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived_status: Option<Status>,
    /// When this check's result was decided: results of expensive checks (whole-tree
    /// walks) and of domains on longer schedules are carried over from earlier runs.
    /// Not part of `checks_digest`, which covers outcomes and evidence only.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub assessed_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaivedDoc {
    pub check: String,
    pub reason: String,
    pub expires: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageDoc {
    /// `full`, or `reduced` when running unprivileged on the live host.
    pub mode: &'static str,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LimitDoc {
    pub path: String,
    pub what: String,
}

/// Who and what the document is about, beyond the assessment itself.
#[derive(Debug, Clone)]
pub struct Context {
    pub agent_id: String,
    pub hostname: String,
    pub host_root: String,
    pub catalog_digest: String,
    pub config_digest: String,
}

impl PostureDoc {
    pub fn build(a: &Assessment, ctx: &Context) -> PostureDoc {
        let checks: Vec<CheckDoc> = a
            .runs
            .iter()
            .map(|r| CheckDoc {
                id: r.check.id,
                domain: r.check.domain,
                severity: r.check.severity,
                status: r.status,
                title: r.check.title,
                evidence: r.evidence.clone(),
                remediation: r.check.remediation,
                reason: r.reason.clone(),
                waived_status: r.waived_status,
                assessed_at: String::new(),
            })
            .collect();
        let checks_digest =
            crate::digest::sha256_prefixed(&serde_json::to_vec(&checks).unwrap_or_default());
        let mut checks = checks;
        for (doc, run) in checks.iter_mut().zip(&a.runs) {
            doc.assessed_at = clawsec_proto::time::format_rfc3339(run.finished_at);
        }
        PostureDoc {
            schema: SCHEMA,
            agent_id: ctx.agent_id.clone(),
            hostname: ctx.hostname.clone(),
            host_root: ctx.host_root.clone(),
            generated_at: clawsec_proto::time::format_rfc3339(a.finished_at),
            trust_tier: a.score.tier,
            overall_score: a.score.overall,
            score_capped: a.score.capped,
            critical_failures: a.score.critical_failures.clone(),
            domains: a
                .score
                .domains
                .iter()
                .map(|d| {
                    (
                        d.domain.id(),
                        DomainDoc {
                            score: d.score,
                            counts: d.counts,
                        },
                    )
                })
                .collect(),
            checks,
            waived: a
                .runs
                .iter()
                .filter_map(|r| r.waiver.as_ref())
                .map(|w| WaivedDoc {
                    check: w.check.clone(),
                    reason: w.reason.clone(),
                    expires: w.expires.clone(),
                })
                .collect(),
            coverage: CoverageDoc {
                mode: if a.coverage.reduced {
                    "reduced"
                } else {
                    "full"
                },
                notes: a.coverage.notes.clone(),
            },
            limits_reached: a
                .caps
                .iter()
                .map(|c| LimitDoc {
                    path: c.path.clone(),
                    what: c.what.clone(),
                })
                .collect(),
            catalog_digest: ctx.catalog_digest.clone(),
            config_digest: ctx.config_digest.clone(),
            checks_digest,
        }
    }
}
