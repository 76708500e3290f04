//! The check engine: runs a catalogue against a host's facts and scores the result.
//!
//! Independent checks run concurrently on a few worker threads, and one slow check cannot
//! delay the rest beyond the run's deadline, after which anything unfinished is reported
//! as an `error` (timed out) and late answers are discarded. Waivers are applied after
//! the run, so a waived check's real outcome is still known and shown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use clawsec_proto::time::Date;

use crate::checks::{Check, ErrorKind, Evidence, Outcome, Status};
use crate::config::{DomainWeights, Waiver};
use crate::facts::Facts;
use crate::probe::CapReached;
use crate::scoring::{self, Score, Scored};

/// One check's result in an assessment.
#[derive(Debug, Clone)]
pub struct CheckRun {
    pub check: &'static Check,
    pub status: Status,
    pub evidence: Vec<Evidence>,
    /// Why the check errored, was not applicable or waived; or a note about a waiver.
    pub reason: Option<String>,
    pub error_kind: Option<ErrorKind>,
    /// For a waived check: what it would have been.
    pub waived_status: Option<Status>,
    pub waiver: Option<Waiver>,
    pub duration: Duration,
    /// When this result was decided (a merged posture holds results of several runs).
    pub finished_at: SystemTime,
}

/// What the engine could not see, said once instead of as a flood of errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub reduced: bool,
    pub notes: Vec<String>,
}

/// A finished assessment.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub runs: Vec<CheckRun>,
    pub score: Score,
    pub coverage: Coverage,
    pub caps: Vec<CapReached>,
    pub finished_at: SystemTime,
    pub duration: Duration,
}

/// How to run an assessment.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub checks: &'a [&'static Check],
    pub waivers: &'a [Waiver],
    pub weights: &'a DomainWeights,
    pub timeout: Duration,
    /// The day waivers are judged against (UTC).
    pub today: Date,
}

/// Runs one check. A check that panics (a bug, perhaps on hostile input) is an error
/// naming the panic, at once: never a pass, and never a worker lost until the deadline.
fn run_one(check: &'static Check, facts: &Facts) -> Outcome {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::checks::guard_discovery(check, facts, (check.run)(facts))
    }));
    run.unwrap_or_else(|panic| {
        let message = printable_panic(panic.as_ref());
        tracing::error!(check = check.id, "check panicked: {message}");
        Outcome::Error {
            kind: ErrorKind::Internal,
            reason: format!("the check failed internally (a bug in ClawSec): {message}"),
        }
    })
}

/// A panic's message fit to print. Some quote the data they failed on (a string sliced
/// off a character boundary, an `Err` unwrapped), and that data may be a secret read from
/// the host: such a message is withheld; a short plain one ("attempt to subtract with
/// overflow") is kept.
pub fn printable_panic(payload: &(dyn std::any::Any + Send)) -> String {
    let message = clawsec_proto::output::panic_message(payload);
    if message.is_empty() {
        "no message".into()
    } else if message.len() > 120 || message.contains(['`', '"', '\'', '{', '(']) {
        "message withheld: it may quote what was being read".into()
    } else {
        message.to_owned()
    }
}

/// Runs every check of the plan and scores the result.
pub fn assess(facts: Arc<Facts>, plan: &Plan<'_>) -> Assessment {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel::<(usize, Outcome, Duration)>();
    // A few workers take checks from a shared counter. Checks spend most of their time
    // on shared facts, so more threads than cores only add contention (and, with glibc,
    // a malloc arena per thread that keeps its freed memory). A check that hangs holds
    // its worker; the others carry on, and whatever is unfinished at the deadline is
    // reported as timed out.
    let checks: Arc<Vec<&'static Check>> = Arc::new(plan.checks.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
        .min(checks.len().max(1));
    for w in 0..workers {
        let (tx, facts, checks, next) = (
            tx.clone(),
            Arc::clone(&facts),
            Arc::clone(&checks),
            Arc::clone(&next),
        );
        let spawned = std::thread::Builder::new()
            .name(format!("checks-{w}"))
            .spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(check) = checks.get(i) else { break };
                    let t = Instant::now();
                    let outcome = run_one(check, &facts);
                    // The receiver may have given up at the deadline; that is fine.
                    if tx.send((i, outcome, t.elapsed())).is_err() {
                        break;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a check worker");
        }
    }
    drop(tx);

    let mut outcomes: Vec<Option<(Outcome, Duration)>> = vec![None; plan.checks.len()];
    let deadline = started + plan.timeout;
    let mut pending = plan.checks.len();
    while pending > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, outcome, took)) => {
                if outcomes[i].is_none() {
                    pending -= 1;
                }
                outcomes[i] = Some((outcome, took));
            }
            Err(_) => break,
        }
    }

    let mut coverage = Coverage {
        reduced: facts.scope.reduced,
        notes: Vec::new(),
    };
    let mut unseen = Vec::new();
    let runs: Vec<CheckRun> = plan
        .checks
        .iter()
        .zip(outcomes)
        .map(|(check, outcome)| {
            let (outcome, duration) = outcome.unwrap_or_else(|| {
                (
                    Outcome::Error {
                        kind: ErrorKind::Timeout,
                        reason: format!("timed out after {} ms", plan.timeout.as_millis()),
                    },
                    plan.timeout,
                )
            });
            let mut run = to_run(check, outcome, duration);
            if facts.scope.reduced && run.error_kind == Some(ErrorKind::PermissionDenied) {
                // Unprivileged dev mode: not seeing root-only files is expected, and is
                // reported once below rather than scored as a failure per check.
                run.status = Status::NotApplicable;
                run.reason = Some(format!(
                    "not visible without root: {}",
                    run.reason.unwrap_or_default()
                ));
                unseen.push(check.id);
            }
            apply_waiver(&mut run, plan.waivers, plan.today);
            run
        })
        .collect();

    let mut gaps: Vec<String> = facts.home_gaps().iter().map(ToString::to_string).collect();
    for g in facts.accounts().gaps() {
        // Homes and accounts are both discovered from /etc/passwd: one gap, said once.
        let g = g.to_string();
        if !gaps.contains(&g) {
            gaps.push(g);
        }
    }
    if !gaps.is_empty() {
        coverage.notes.push(format!(
            "users and homes could not all be discovered ({}); every check that judges homes or accounts is an error until this is fixed",
            gaps.join("; ")
        ));
    }
    if facts.scope.reduced {
        let who = facts
            .scope
            .home
            .as_ref()
            .map_or("no home".into(), |h| h.display().to_string());
        coverage.notes.push(format!(
            "reduced coverage: running unprivileged (uid {}), so only {who} and that user's \
             processes were inspected; other users' homes and root-only files were not",
            facts.scope.uid
        ));
        if !unseen.is_empty() {
            coverage.notes.push(format!(
                "{} check(s) could not read what they need without root and were not scored: {}",
                unseen.len(),
                unseen.join(", ")
            ));
        }
    }

    summarize(
        runs,
        plan.weights,
        coverage,
        facts.fs.caps_reached(),
        started.elapsed(),
    )
}

/// Scores a set of check runs into an assessment. The daemon uses this directly to
/// re-score after re-running only some domains, merged with the latest runs of the rest.
pub fn summarize(
    runs: Vec<CheckRun>,
    weights: &DomainWeights,
    coverage: Coverage,
    caps: Vec<CapReached>,
    duration: Duration,
) -> Assessment {
    let scored: Vec<Scored<'_>> = runs
        .iter()
        .map(|r| Scored {
            id: r.check.id,
            domain: r.check.domain,
            severity: r.check.severity,
            status: r.status,
        })
        .collect();
    let score = scoring::score(&scored, weights);
    Assessment {
        runs,
        score,
        coverage,
        caps,
        finished_at: SystemTime::now(),
        duration,
    }
}

fn to_run(check: &'static Check, outcome: Outcome, duration: Duration) -> CheckRun {
    let (status, evidence, reason, error_kind) = match outcome {
        Outcome::Pass(ev) => (Status::Pass, ev, None, None),
        Outcome::Fail(ev) => (Status::Fail, ev, None, None),
        Outcome::Error { kind, reason } => (Status::Error, Vec::new(), Some(reason), Some(kind)),
        Outcome::NotApplicable(why) => (Status::NotApplicable, Vec::new(), Some(why), None),
    };
    CheckRun {
        check,
        status,
        evidence,
        // Reasons can quote file content (a parse error); scrub them like evidence.
        reason: reason.map(|r| crate::secrets::redact(&r)),
        error_kind,
        waived_status: None,
        waiver: None,
        duration,
        finished_at: SystemTime::now(),
    }
}

fn apply_waiver(run: &mut CheckRun, waivers: &[Waiver], today: Date) {
    let Some(w) = waivers.iter().find(|w| w.check == run.check.id) else {
        return;
    };
    // Validation guarantees the date parses; an unparsable one is treated as expired.
    let live = Date::parse(&w.expires).is_ok_and(|expires| today <= expires);
    if live {
        run.waived_status = Some(run.status);
        run.status = Status::Waived;
        run.reason = Some(format!("waived until {}: {}", w.expires, w.reason));
        run.waiver = Some(w.clone());
    } else {
        let note = format!("waiver expired on {}; ignored", w.expires);
        run.reason = Some(match run.reason.take() {
            Some(r) => format!("{r} ({note})"),
            None => note,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Domain, Severity};

    fn panics(_: &Facts) -> Outcome {
        let input = "secret-looking input";
        // Slicing off a character boundary: the panic message quotes the string.
        let _ = &format!("é{input}")[1..];
        unreachable!()
    }

    static PANICS: Check = Check {
        id: "TEST-PANIC",
        domain: Domain::Incident,
        severity: Severity::High,
        title: "panics",
        rationale: "",
        remediation: "",
        references: &[],
        reads: &[],
        run: panics,
    };

    #[test]
    fn a_panicking_check_is_an_internal_error_at_once_and_quotes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let fs = crate::probe::HostFs::open(root.path(), crate::config::Limits::default()).unwrap();
        let facts = Facts::new(fs, crate::facts::Scope::full(), Default::default());
        let started = Instant::now();
        let outcome = run_one(&PANICS, &facts);
        assert!(started.elapsed() < Duration::from_secs(5));
        match outcome {
            Outcome::Error { kind, reason } => {
                assert_eq!(kind, ErrorKind::Internal);
                assert!(reason.contains("failed internally"), "{reason}");
                assert!(!reason.contains("secret-looking"), "{reason}");
                assert!(reason.contains("message withheld"), "{reason}");
            }
            other => panic!("a panic became {other:?}"),
        }
    }
}
