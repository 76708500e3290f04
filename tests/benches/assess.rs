//! A full assessment of a large, realistic agent host, timed over repeated runs.
//! Run: `cargo bench -p clawsec-tests --bench assess`
//!
//! The host: 40 users, each with Claude Code, Cursor, Gemini and Codex configs (10 MCP
//! servers each, some with secrets), 15 skills with scripts, OpenClaw config and
//! workspace instruction files; sshd and journald configs; 800 processes of which 120
//! are agents; kernel sysctls.

use std::time::{Duration, Instant};

mod big_host;
use clawsecd::checks;

fn main() {
    let root = tempfile::tempdir().expect("tempdir");
    let (files, procs) = big_host::big_host(root.path());
    let loaded = clawsec_tests::default_loaded();
    let catalog = checks::catalog();
    let mut samples: Vec<Duration> = Vec::new();
    let mut tier = String::new();
    for i in 0..25 {
        let t = Instant::now();
        let (doc, _, _) =
            clawsecd::cli::assess(&loaded, Some(root.path()), &catalog).expect("assess");
        let took = t.elapsed();
        if i >= 5 {
            samples.push(took);
        }
        tier = format!("{} {}", doc.trust_tier.id(), doc.overall_score);
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // Where the time goes: per-check wall time in one more run (checks run concurrently,
    // so these overlap; the slowest bound the total).
    let setup = clawsecd::cli::setup(&loaded, Some(root.path()), &catalog).expect("setup");
    let plan = clawsecd::engine::Plan {
        checks: &catalog,
        waivers: &[],
        weights: &loaded.config.scoring.domain_weights,
        timeout: Duration::from_secs(10),
        today: clawsec_proto::time::Date::of(std::time::SystemTime::now()),
    };
    let a = clawsecd::engine::assess(setup.facts, &plan);
    let mut runs: Vec<_> = a.runs.iter().map(|r| (r.duration, r.check.id)).collect();
    runs.sort_by(|x, y| y.cmp(x));
    let slowest: Vec<String> = runs
        .iter()
        .take(8)
        .map(|(d, id)| format!("{id} {:.1} ms", ms(*d)))
        .collect();
    println!("slowest checks (wall, overlapping): {}", slowest.join(", "));
    if std::env::args().any(|a| a == "--per-check") {
        // Each check alone on fresh facts: what it costs including the facts it needs.
        let mut alone: Vec<(Duration, &str)> = catalog
            .iter()
            .map(|c| {
                let s = clawsecd::cli::setup(&loaded, Some(root.path()), &catalog).expect("setup");
                let t = Instant::now();
                let _ = (c.run)(&s.facts);
                (t.elapsed(), c.id)
            })
            .collect();
        alone.sort_by(|x, y| y.cmp(x));
        for (d, id) in alone.iter().take(15) {
            println!("  alone, cold facts: {id:<9} {:.1} ms", ms(*d));
        }
    }
    println!(
        "full assessment, {} checks, ~{files} files, {procs} processes (posture {tier}): n={} min {:.1} ms  p50 {:.1} ms  p90 {:.1} ms  max {:.1} ms",
        catalog.len(),
        samples.len(),
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 9 / 10]),
        ms(samples[samples.len() - 1])
    );
}
