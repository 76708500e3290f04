//! SARIF 2.1.0 output of an assessment (`clawsecd --assess-only --format sarif`), so CI
//! systems that read static-analysis results (GitHub code scanning, GitLab, Azure DevOps)
//! can gate on ClawSec: a pull request that adds a skill, an MCP server or an agent
//! setting is assessed with `--host-root` over the checkout, and each failing or
//! erroring check becomes a result at the file and line its evidence names.
//!
//! One rule per check of the catalogue (title, rationale, remediation as help, severity
//! as level and `security-severity`); one result per evidence item of each failing or
//! erroring check (one without a location when the check has no evidence); waived checks
//! keep their results, marked suppressed with the waiver's reason. Locations are relative
//! to the host root (`uriBaseId` `HOSTROOT`), so on a checkout they are repository paths.
//! Evidence is the posture document's, already scrubbed of secrets.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::checks::{Check, Severity, Status};
use crate::posture::{CheckDoc, PostureDoc};

/// The JSON Schema the log claims to follow.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` scale (0.0-10.0): critical ≥ 9, high ≥ 7, medium ≥ 4.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

/// A path or file name as a URI path: every byte outside the unreserved set and `/` is
/// percent-encoded.
fn uri_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rule(c: &Check) -> Value {
    let mut r = json!({
        "id": c.id,
        "shortDescription": { "text": c.title },
        "fullDescription": { "text": c.rationale },
        "help": { "text": c.remediation },
        "defaultConfiguration": { "level": level(c.severity) },
        "properties": {
            "domain": c.domain.id(),
            "severity": c.severity.id(),
            "security-severity": security_severity(c.severity),
            "tags": ["security", c.domain.id()],
        },
    });
    if let Some(uri) = c.references.iter().find(|u| u.starts_with("https://")) {
        r["helpUri"] = json!(uri);
    }
    r
}

/// A stable identity for a result across runs (GitHub matches alerts by it): the check,
/// the place and what was seen there.
fn fingerprint(id: &str, path: Option<&str>, line: Option<u32>, detail: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        id,
        path.unwrap_or(""),
        &line.map_or(String::new(), |l| l.to_string()),
        detail,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn results_of(c: &CheckDoc, index: usize, out: &mut Vec<Value>) {
    let (status, suppressed) = match (c.status, c.waived_status) {
        (Status::Waived, Some(s @ (Status::Fail | Status::Error))) => (s, c.reason.as_deref()),
        (s @ (Status::Fail | Status::Error), _) => (s, None),
        _ => return,
    };
    let lead = if status == Status::Error {
        format!(
            "{}: could not be decided, counted as failing: {}",
            c.title,
            c.reason.as_deref().unwrap_or("no reason given")
        )
    } else {
        c.title.to_owned()
    };
    let mut one = |message: String, path: Option<&str>, line: Option<u32>, detail: &str| {
        let mut r = json!({
            "ruleId": c.id,
            "ruleIndex": index,
            "kind": "fail",
            "level": level(c.severity),
            "message": { "text": message },
            "partialFingerprints": { "clawsecResult/v1": fingerprint(c.id, path, line, detail) },
        });
        if let Some(p) = path {
            let mut physical = json!({
                "artifactLocation": {
                    "uri": uri_path(p.trim_start_matches('/')),
                    "uriBaseId": "HOSTROOT",
                },
            });
            if let Some(l) = line {
                physical["region"] = json!({ "startLine": l });
            }
            r["locations"] = json!([{ "physicalLocation": physical }]);
        }
        if let Some(why) = suppressed {
            r["suppressions"] = json!([{ "kind": "external", "justification": why }]);
        }
        out.push(r);
    };
    if c.evidence.is_empty()
        || status == Status::Error && c.evidence.iter().all(|e| e.path().is_none())
    {
        one(lead, None, None, "");
        return;
    }
    for e in &c.evidence {
        let detail = match e.fingerprint_text() {
            Some(f) => format!("{} [{f}]", e.detail()),
            None => e.detail().to_owned(),
        };
        one(format!("{lead}: {detail}"), e.path(), e.line_no(), &detail);
    }
}

/// The SARIF log of one assessment.
pub fn render(doc: &PostureDoc, catalog: &[&'static Check]) -> Value {
    let rules: Vec<Value> = catalog.iter().map(|c| rule(c)).collect();
    let mut results = Vec::new();
    for c in &doc.checks {
        if let Some(index) = catalog.iter().position(|k| k.id == c.id) {
            results_of(c, index, &mut results);
        }
    }
    let root = if doc.host_root.ends_with('/') {
        doc.host_root.clone()
    } else {
        format!("{}/", doc.host_root)
    };
    let mut notes: Vec<Value> = doc
        .coverage
        .notes
        .iter()
        .map(|n| json!({ "level": "warning", "message": { "text": n } }))
        .collect();
    if !doc.limits_reached.is_empty() {
        notes.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{} place(s) were not fully inspected (limits reached); the checks that needed them are results with level error or warning",
                doc.limits_reached.len()
            ) },
        }));
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "ClawSec",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            } },
            "originalUriBaseIds": { "HOSTROOT": { "uri": format!("file://{}", uri_path(&root)) } },
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": doc.generated_at,
                "toolExecutionNotifications": notes,
            }],
            "results": results,
            "properties": {
                "posture_schema": crate::posture::SCHEMA,
                "trust_tier": doc.trust_tier.id(),
                "overall_score": doc.overall_score,
                "checks_digest": doc.checks_digest,
            },
        }],
    })
}
