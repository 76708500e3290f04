//! The human-readable assessment report: tier and score first, then the domains, then
//! every failing or erroring check, worst first, with its evidence and remediation.
//! Colour only when writing to a terminal.

use std::fmt::Write;
use std::time::Duration;

use crate::checks::{Domain, Status};
use crate::posture::PostureDoc;
use crate::scoring::Tier;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
    fn tier(self, tier: Tier) -> String {
        let code = match tier {
            Tier::High => "1;32",
            Tier::Medium => "1;33",
            Tier::Low => "1;35",
            Tier::Untrusted => "1;31",
        };
        self.paint(code, tier.id())
    }
}

/// Renders the report. `took` is how long the assessment ran.
pub fn render(doc: &PostureDoc, took: Duration, style: Style) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {}  {}/100",
        style.bold("ClawSec posture:"),
        style.tier(doc.trust_tier),
        doc.overall_score
    );
    if doc.score_capped {
        let _ = writeln!(
            s,
            "  capped at 49 because critical checks failed or errored: {}",
            doc.critical_failures.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "{}",
        style.dim(&format!(
            "host {} ({}) · {} checks in {} ms · {}",
            doc.hostname,
            doc.host_root,
            doc.checks.len(),
            took.as_millis(),
            doc.generated_at
        ))
    );
    for note in &doc.coverage.notes {
        let _ = writeln!(s, "note: {note}");
    }

    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{}",
        style.bold(&format!(
            "{:<22} {:>5}  {:>4} {:>4} {:>5} {:>4} {:>6}",
            "DOMAIN", "SCORE", "PASS", "FAIL", "ERROR", "N/A", "WAIVED"
        ))
    );
    for d in Domain::ALL {
        let Some(dd) = doc.domains.get(d.id()) else {
            continue;
        };
        let score = dd.score.map_or("—".to_owned(), |v| v.to_string());
        let c = dd.counts;
        let _ = writeln!(
            s,
            "{:<22} {:>5}  {:>4} {:>4} {:>5} {:>4} {:>6}",
            d.title(),
            score,
            c.pass,
            c.fail,
            c.error,
            c.not_applicable,
            c.waived
        );
    }

    let mut bad: Vec<_> = doc
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .collect();
    // Worst first: severity, then failures before errors, then id.
    bad.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.status.cmp(&b.status))
            .then(a.id.cmp(b.id))
    });
    let _ = writeln!(s);
    if bad.is_empty() {
        let _ = writeln!(s, "No failing or erroring checks.");
    } else {
        let _ = writeln!(
            s,
            "{}",
            style.bold("Failing and erroring checks, worst first")
        );
    }
    for c in bad {
        let mark = if c.status == Status::Fail {
            style.paint("31", "FAIL ")
        } else {
            style.paint("33", "ERROR")
        };
        let _ = writeln!(
            s,
            "\n{mark} {:<8} {:<9} {}",
            c.severity.id().to_uppercase(),
            c.id,
            style.bold(c.title)
        );
        if let Some(r) = &c.reason {
            let _ = writeln!(s, "      why: {r}");
        }
        for e in c.evidence.iter().take(10) {
            let place = match (e.path(), e.line_no()) {
                (Some(p), Some(l)) => format!("{p}:{l}: "),
                (Some(p), None) => format!("{p}: "),
                _ => String::new(),
            };
            let fp = e
                .fingerprint_text()
                .map_or(String::new(), |f| format!(" [{f}]"));
            let _ = writeln!(s, "      - {place}{}{fp}", e.detail());
        }
        if c.evidence.len() > 10 {
            let _ = writeln!(s, "      … and {} more", c.evidence.len() - 10);
        }
        let _ = writeln!(s, "      fix: {}", c.remediation);
    }
    if !doc.waived.is_empty() {
        let _ = writeln!(s, "\n{}", style.bold("Waived"));
        for w in &doc.waived {
            let _ = writeln!(s, "  {} until {}: {}", w.check, w.expires, w.reason);
        }
    }
    let expired: Vec<_> = doc
        .checks
        .iter()
        .filter_map(|c| {
            c.reason
                .as_deref()
                .filter(|r| r.contains("waiver expired"))
                .map(|r| (c.id, r))
        })
        .collect();
    for (id, r) in expired {
        let _ = writeln!(s, "note: {id}: {r}");
    }
    if !doc.limits_reached.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            style.bold("Limits reached (not everything was inspected)")
        );
        for l in &doc.limits_reached {
            let _ = writeln!(s, "  {}: {}", l.path, l.what);
        }
    }
    s
}
