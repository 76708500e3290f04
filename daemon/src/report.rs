//! The human-readable assessment report: tier and score first, then the domains, then
//! every failing or erroring check, worst first, with its evidence and remediation.
//! Colour only when writing to a terminal.

use std::fmt::Write;
use std::time::Duration;

use crate::checks::{Domain, Status};
use crate::posture::PostureDoc;
use crate::scoring::Tier;

/// ANSI styling, or none; and how much to show.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Every evidence line and every limit reached, instead of the first few and a count.
    pub verbose: bool,
}

/// Evidence lines shown per check unless verbose.
const EVIDENCE_SHOWN: usize = 10;
/// Paths shown per kind of limit reached unless verbose.
const LIMIT_PATHS_SHOWN: usize = 3;

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
            let _ = writeln!(s, "      why: {}", short_reason(r, style.verbose));
        }
        let shown = if style.verbose {
            c.evidence.len()
        } else {
            EVIDENCE_SHOWN
        };
        for e in c.evidence.iter().take(shown) {
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
        if c.evidence.len() > shown {
            let _ = writeln!(
                s,
                "      … and {} more (--verbose or --json for all)",
                c.evidence.len() - shown
            );
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
            style.bold(&format!(
                "Limits reached: {} place(s) not fully inspected (the checks that needed them are errors)",
                doc.limits_reached.len()
            ))
        );
        limits_summary(&mut s, &doc.limits_reached, style.verbose);
    }
    s
}

/// A reason that lists many places (one per `; `) cut to its first few, saying how many
/// more; whole when verbose.
fn short_reason(reason: &str, verbose: bool) -> String {
    let parts: Vec<&str> = reason.split("; ").collect();
    if verbose || parts.len() <= LIMIT_PATHS_SHOWN + 1 {
        return reason.to_owned();
    }
    format!(
        "{}; … and {} more (--verbose or --json for all)",
        parts[..LIMIT_PATHS_SHOWN].join("; "),
        parts.len() - LIMIT_PATHS_SHOWN
    )
}

/// The limits reached grouped by kind, largest group first: its count and its first few
/// paths (all of them when verbose), then how many more.
fn limits_summary(s: &mut String, limits: &[crate::posture::LimitDoc], verbose: bool) {
    let mut kinds: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for l in limits {
        kinds.entry(&l.what).or_default().push(&l.path);
    }
    let mut kinds: Vec<(&str, Vec<&str>)> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    for (what, mut paths) in kinds {
        paths.sort_unstable();
        let _ = writeln!(s, "  {} × {what}", paths.len());
        let shown = if verbose {
            paths.len()
        } else {
            LIMIT_PATHS_SHOWN
        };
        for p in paths.iter().take(shown) {
            let _ = writeln!(s, "      {p}");
        }
        if paths.len() > shown {
            let _ = writeln!(
                s,
                "      … and {} more (--verbose or --json for all)",
                paths.len() - shown
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::LimitDoc;

    fn limit(path: &str, what: &str) -> LimitDoc {
        LimitDoc {
            path: path.into(),
            what: what.into(),
        }
    }

    #[test]
    fn many_limits_become_a_short_summary_that_says_how_many_more() {
        let mut limits: Vec<LimitDoc> = (0..2289)
            .map(|i| {
                limit(
                    &format!("/home/a/deep/{i:04}"),
                    "nested deeper than the depth guard",
                )
            })
            .collect();
        limits.push(limit(
            "/home/a/big.log",
            "larger than the 1048576-byte file cap",
        ));
        let mut s = String::new();
        limits_summary(&mut s, &limits, false);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 7, "{s}");
        assert_eq!(lines[0], "  2289 × nested deeper than the depth guard");
        assert_eq!(lines[1], "      /home/a/deep/0000");
        assert_eq!(
            lines[4],
            "      … and 2286 more (--verbose or --json for all)"
        );
        assert_eq!(lines[5], "  1 × larger than the 1048576-byte file cap");
        let mut all = String::new();
        limits_summary(&mut all, &limits, true);
        assert_eq!(all.lines().count(), 2289 + 1 + 2);
    }

    #[test]
    fn a_reason_naming_many_places_is_cut_with_a_count() {
        let reason: Vec<String> = (0..40).map(|i| format!("/s/f{i}: too big")).collect();
        let reason = reason.join("; ");
        assert_eq!(
            short_reason(&reason, false),
            "/s/f0: too big; /s/f1: too big; /s/f2: too big; … and 37 more (--verbose or --json for all)"
        );
        assert_eq!(short_reason(&reason, true), reason);
        assert_eq!(short_reason("a; b; c; d", false), "a; b; c; d");
    }
}
