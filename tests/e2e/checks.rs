//! Data-driven check tests: every `tests/cases/**/*.toml` is one scenario — a host tree,
//! a check id, the expected outcome and what the evidence must (or must not) say.
//! Each case runs the real engine on the materialized tree through the library.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clawsec_tests::{HostSpec, workspace};
use clawsecd::checks;
use clawsecd::config::{self, Loaded, Source};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the scenario shows, for the reader.
    #[allow(dead_code)]
    about: String,
    check: String,
    expect: String,
    /// Substrings that must each appear in the check's rendered evidence or reason.
    #[serde(default)]
    evidence: Vec<String>,
    /// Substrings that must appear nowhere in the check's JSON result.
    #[serde(default)]
    absent: Vec<String>,
    /// clawsecd.toml text for the run (waivers, discovery, limits).
    #[serde(default)]
    config: String,
    #[serde(default)]
    host: HostSpec,
    /// Approved baselines for drift checks: check id → item → `sha256:<hex>`.
    #[serde(default)]
    baselines: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

fn case_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&workspace().join("tests/cases"), &mut out);
    out.sort();
    out
}

fn load(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs one case; returns a description of what went wrong, if anything.
fn run_case(path: &Path) -> Result<(), String> {
    let case = load(path);
    let catalog = checks::catalog();
    let check = catalog
        .iter()
        .find(|c| c.id == case.check)
        .ok_or_else(|| format!("no check {}", case.check))?;
    let ids: Vec<&str> = catalog.iter().map(|c| c.id).collect();
    let root = tempfile::tempdir().unwrap();
    case.host.materialize(root.path());
    let cfg = config::parse(&case.config, "case config", &ids).map_err(|e| e.to_string())?;
    let loaded = Loaded {
        config: cfg,
        source: Source::Defaults,
        text: case.config.clone(),
        dev_mode: false,
    };
    let baselines = case
        .baselines
        .clone()
        .map(|checks| clawsecd::baseline::Baselines { version: 1, checks });
    let doc =
        clawsecd::cli::assess_with_baselines(&loaded, Some(root.path()), &[*check], baselines)
            .map_err(|e| e.to_string())?
            .doc;
    let result = &doc.checks[0];
    let json = serde_json::to_string(result).unwrap();
    let mut rendered = String::new();
    for e in &result.evidence {
        let place = match (e.path(), e.line_no()) {
            (Some(p), Some(l)) => format!("{p}:{l}: "),
            (Some(p), None) => format!("{p}: "),
            _ => String::new(),
        };
        let fp = e.fingerprint_text().unwrap_or_default();
        rendered.push_str(&format!("{place}{} {fp}\n", e.detail()));
    }
    if let Some(r) = &result.reason {
        rendered.push_str(&format!("reason: {r}\n"));
    }
    let mut problems = Vec::new();
    let status = serde_json::to_value(result.status).unwrap();
    if status.as_str() != Some(case.expect.as_str()) {
        problems.push(format!("expected {}, got {}", case.expect, status));
    }
    for want in &case.evidence {
        if !rendered.contains(want.as_str()) {
            problems.push(format!("evidence lacks {want:?}"));
        }
    }
    for bad in &case.absent {
        if json.contains(bad.as_str()) || rendered.contains(bad.as_str()) {
            problems.push(format!("output contains {bad:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{rendered}", problems.join("; ")))
    }
}

#[test]
fn every_case_holds() {
    let files = case_files();
    assert!(!files.is_empty(), "no case files under tests/cases");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            run_case(f)
                .err()
                .map(|e| format!("{}: {e}", f.strip_prefix(workspace()).unwrap().display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_check_has_a_passing_and_a_failing_case() {
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in case_files() {
        let c = load(&f);
        seen.entry(c.check).or_default().insert(c.expect);
    }
    let mut missing = Vec::new();
    for check in checks::catalog() {
        let outcomes = seen.get(check.id).cloned().unwrap_or_default();
        for needed in ["pass", "fail"] {
            if !outcomes.contains(needed) {
                missing.push(format!("{} has no {needed} case", check.id));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
