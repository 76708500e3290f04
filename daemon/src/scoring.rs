//! Scoring, exactly as the design fixes it.
//!
//! - weights: critical 10, high 6, medium 3, low 1;
//! - domain score = floor(100 × Σw(pass) / Σw(pass, fail, error)); a domain with nothing
//!   applicable has no score and is left out of the overall;
//! - overall = floor of the weighted mean of the domain scores (default weights equal);
//! - any failing or erroring critical check caps the overall at 49 (UNTRUSTED).
//!
//! Pure functions over outcomes; no I/O, no clock.

use serde::Serialize;

use crate::checks::{Domain, Severity, Status};
use crate::config::DomainWeights;

/// The trust tier a score falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Tier {
    Untrusted,
    Low,
    Medium,
    High,
}

impl Tier {
    pub fn of(score: u32) -> Tier {
        match score {
            90.. => Tier::High,
            70..=89 => Tier::Medium,
            50..=69 => Tier::Low,
            _ => Tier::Untrusted,
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Tier::High => "HIGH",
            Tier::Medium => "MEDIUM",
            Tier::Low => "LOW",
            Tier::Untrusted => "UNTRUSTED",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        [Tier::High, Tier::Medium, Tier::Low, Tier::Untrusted]
            .into_iter()
            .find(|t| t.id().eq_ignore_ascii_case(s))
    }
}

/// The score cap applied when a critical check fails or errors.
pub const CRITICAL_CAP: u32 = 49;

/// What scoring needs to know about one check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored<'a> {
    pub id: &'a str,
    pub domain: Domain,
    pub severity: Severity,
    pub status: Status,
}

/// How many checks ended in each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pass: u32,
    pub fail: u32,
    pub error: u32,
    pub not_applicable: u32,
    pub waived: u32,
}

impl Counts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::NotApplicable => self.not_applicable += 1,
            Status::Waived => self.waived += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainScore {
    pub domain: Domain,
    pub score: Option<u32>,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    pub overall: u32,
    pub tier: Tier,
    /// Every domain, in order, scored or not.
    pub domains: Vec<DomainScore>,
    /// Ids of critical checks that failed or errored.
    pub critical_failures: Vec<String>,
    /// True when a failing or erroring critical check holds the score at 49 or below.
    pub capped: bool,
}

/// Scores a set of check runs.
pub fn score(runs: &[Scored<'_>], weights: &DomainWeights) -> Score {
    let mut domains = Vec::with_capacity(Domain::ALL.len());
    for d in Domain::ALL {
        let mut counts = Counts::default();
        let (mut passed, mut total) = (0u64, 0u64);
        for r in runs.iter().filter(|r| r.domain == d) {
            counts.add(r.status);
            let w = r.severity.weight();
            match r.status {
                Status::Pass => {
                    passed += w;
                    total += w;
                }
                Status::Fail | Status::Error => total += w,
                Status::NotApplicable | Status::Waived => {}
            }
        }
        let score = (total > 0).then(|| (100 * passed / total) as u32);
        domains.push(DomainScore {
            domain: d,
            score,
            counts,
        });
    }
    let (mut sum, mut weight) = (0u64, 0u64);
    for ds in &domains {
        if let Some(s) = ds.score {
            let w = u64::from(weights.get(ds.domain));
            sum += w * u64::from(s);
            weight += w;
        }
    }
    // Nothing applicable means nothing was verified: that earns no trust.
    let uncapped = sum.checked_div(weight).map_or(0, |v| v as u32);
    let mut critical_failures: Vec<String> = runs
        .iter()
        .filter(|r| {
            r.severity == Severity::Critical && matches!(r.status, Status::Fail | Status::Error)
        })
        .map(|r| r.id.to_owned())
        .collect();
    critical_failures.sort();
    let overall = if critical_failures.is_empty() {
        uncapped
    } else {
        uncapped.min(CRITICAL_CAP)
    };
    Score {
        overall,
        tier: Tier::of(overall),
        domains,
        capped: !critical_failures.is_empty(),
        critical_failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEVERITIES: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    fn run(id: &str, domain: Domain, severity: Severity, status: Status) -> Scored<'_> {
        Scored {
            id,
            domain,
            severity,
            status,
        }
    }

    fn arb_run() -> impl Strategy<Value = (usize, usize, usize)> {
        (0..9usize, 0..4usize, 0..5usize)
    }

    fn build(spec: &[(usize, usize, usize)]) -> Vec<Scored<'static>> {
        spec.iter()
            .map(|&(d, s, st)| run("X-001", Domain::ALL[d], SEVERITIES[s], Status::ALL[st]))
            .collect()
    }

    #[test]
    fn design_example_domain_score() {
        // high pass (6) + medium fail (3) + low error (1): floor(600 / 10) = 60.
        let runs = [
            run("NET-001", Domain::Network, Severity::High, Status::Pass),
            run("NET-002", Domain::Network, Severity::Medium, Status::Fail),
            run("NET-003", Domain::Network, Severity::Low, Status::Error),
            run(
                "NET-004",
                Domain::Network,
                Severity::Critical,
                Status::NotApplicable,
            ),
        ];
        let s = score(&runs, &DomainWeights::default());
        assert_eq!(s.domains[1].score, Some(60));
        assert_eq!(s.overall, 60);
        assert_eq!(s.tier, Tier::Low);
        assert_eq!(s.domains[0].score, None);
    }

    #[test]
    fn tier_boundaries() {
        for (score, tier) in [
            (0, Tier::Untrusted),
            (49, Tier::Untrusted),
            (50, Tier::Low),
            (69, Tier::Low),
            (70, Tier::Medium),
            (89, Tier::Medium),
            (90, Tier::High),
            (100, Tier::High),
        ] {
            assert_eq!(Tier::of(score), tier, "{score}");
        }
    }

    #[test]
    fn overall_is_the_floor_of_the_weighted_mean() {
        let runs = [
            run("PHY-001", Domain::Physical, Severity::High, Status::Pass),
            run("NET-001", Domain::Network, Severity::High, Status::Pass),
            run("NET-002", Domain::Network, Severity::High, Status::Fail),
            run("SEC-001", Domain::Secrets, Severity::Low, Status::Fail),
        ];
        // Domains: 100, 50, 0 → mean 50.
        assert_eq!(score(&runs, &DomainWeights::default()).overall, 50);
        let weights = DomainWeights {
            physical: 2,
            ..DomainWeights::default()
        };
        // (200 + 50 + 0) / 4 = 62.5 → 62.
        assert_eq!(score(&runs, &weights).overall, 62);
    }

    #[test]
    fn nothing_applicable_scores_zero() {
        let runs = [run(
            "LOG-001",
            Domain::Logs,
            Severity::Low,
            Status::NotApplicable,
        )];
        let s = score(&runs, &DomainWeights::default());
        assert_eq!((s.overall, s.tier), (0, Tier::Untrusted));
    }

    proptest! {
        #[test]
        fn domain_maximum_never_depends_on_outcomes(spec in proptest::collection::vec(arb_run(), 1..40)) {
            // Flipping any fail/error to pass can only raise a domain's score, and a
            // domain whose applicable checks all pass scores exactly 100.
            let runs = build(&spec);
            let all_pass: Vec<_> = runs.iter().map(|r| Scored {
                status: if matches!(r.status, Status::Fail | Status::Error) { Status::Pass } else { r.status },
                ..*r
            }).collect();
            let a = score(&runs, &DomainWeights::default());
            let b = score(&all_pass, &DomainWeights::default());
            for (x, y) in a.domains.iter().zip(&b.domains) {
                prop_assert_eq!(x.score.is_some(), y.score.is_some());
                if let (Some(x), Some(y)) = (x.score, y.score) {
                    prop_assert!(x <= y);
                    prop_assert_eq!(y, 100);
                }
            }
        }

        #[test]
        fn critical_failure_caps_at_49(spec in proptest::collection::vec(arb_run(), 0..40), d in 0..9usize, err in any::<bool>()) {
            let mut runs = build(&spec);
            runs.push(run("X-999", Domain::ALL[d], Severity::Critical, if err { Status::Error } else { Status::Fail }));
            let s = score(&runs, &DomainWeights::default());
            prop_assert!(s.overall <= CRITICAL_CAP);
            prop_assert_eq!(s.tier, Tier::Untrusted);
            prop_assert!(s.critical_failures.contains(&"X-999".to_owned()));
        }

        #[test]
        fn not_applicable_and_waived_change_nothing(spec in proptest::collection::vec(arb_run(), 0..40), extra in proptest::collection::vec((0..9usize, 0..4usize, any::<bool>()), 1..10)) {
            let runs = build(&spec);
            let mut more = runs.clone();
            for (d, s, waived) in extra {
                more.push(run("X-500", Domain::ALL[d], SEVERITIES[s], if waived { Status::Waived } else { Status::NotApplicable }));
            }
            let a = score(&runs, &DomainWeights::default());
            let b = score(&more, &DomainWeights::default());
            prop_assert_eq!(a.overall, b.overall);
            prop_assert_eq!(a.critical_failures, b.critical_failures);
            for (x, y) in a.domains.iter().zip(&b.domains) {
                prop_assert_eq!(x.score, y.score);
            }
        }

        #[test]
        fn scores_stay_in_range_and_tier_matches(spec in proptest::collection::vec(arb_run(), 0..60)) {
            let s = score(&build(&spec), &DomainWeights::default());
            prop_assert!(s.overall <= 100);
            prop_assert_eq!(s.tier, Tier::of(s.overall));
            for d in &s.domains {
                if let Some(v) = d.score { prop_assert!(v <= 100); }
            }
        }
    }
}
