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

/// Whether host `path` is covered by a declared read, as the watch plan covers it: it
/// matches the pattern, is a directory on the way to it (listing `~/.openclaw/skills` to
/// find `*/SKILL.md`), or is a direct entry of a declared directory. `~` is any home,
/// `<workspace>` and `<path>` any directory, `<pid>` any process, `*` part of one path
/// component and `**` any depth; " (…)" annotations are dropped.
fn covered(path: &Path, pattern: &str) -> bool {
    let pattern = pattern.split(" (").next().unwrap_or(pattern).trim();
    let pattern = pattern
        .strip_prefix("~/")
        .map(|rest| format!("\u{1}/{rest}"))
        .unwrap_or_else(|| pattern.to_owned());
    let parts: Vec<String> = pattern
        .split('/')
        .map(|c| match c {
            "\u{1}" => "(?:/root|/home/[^/]+)".to_owned(),
            "" => String::new(),
            "**" => "/.*".to_owned(),
            "<pid>" => "/[0-9]+".to_owned(),
            "<path>" => "/.+".to_owned(),
            c if c.starts_with("<workspace>") => "/.+".to_owned(),
            c => format!("/{}", regex::escape(c).replace(r"\*", "[^/]*")),
        })
        .collect();
    let path = path.to_string_lossy();
    // Any leading part of the pattern (a directory on the way), the whole of it, or an
    // entry directly inside it.
    let whole = parts.concat();
    (1..=parts.len())
        .map(|n| parts[..n].concat())
        .chain([format!("{whole}/[^/]+")])
        .any(|re| {
            regex::Regex::new(&format!("^{re}$"))
                .unwrap()
                .is_match(&path)
        })
}

/// Reads every check makes through discovery, shared by all and followed by the schedule
/// and by re-planning rather than by a check's own watch: accounts and homes, the process
/// table, the agent directories, and the files agents record their workspaces in
/// (`facts::workspaces::WORKSPACE_SOURCES`, the OpenClaw configs), which the watch plan
/// follows itself.
fn discovery_read(path: &Path) -> bool {
    let p = path.to_string_lossy();
    p == "/etc/passwd"
        || p == "/home"
        || p == "/root"
        || p.starts_with("/proc/")
        || p == "/proc"
        || regex::Regex::new(r"^(?:/root|/home/[^/]+)$")
            .unwrap()
            .is_match(&p)
        || clawsecd::facts::workspaces::WORKSPACE_SOURCES
            .iter()
            .chain(clawsecd::facts::OPENCLAW_CONFIGS)
            .chain(&["~/.openclaw/workspace"])
            .any(|source| {
                let rel = source.trim_start_matches('~');
                p.strip_suffix(rel)
                    .is_some_and(|home| home == "/root" || home.starts_with("/home/"))
            })
}

/// Events reach a check only through its declared `reads` (`events.rs`): a file a check
/// reads but does not declare is a change the daemon sees only on the schedule. Runs every
/// case's check alone on its host with the probe's trace on, and holds each path it opened
/// to the check's declaration.
#[test]
fn every_path_a_check_reads_is_declared() {
    let catalog = checks::catalog();
    let ids: Vec<&str> = catalog.iter().map(|c| c.id).collect();
    let mut undeclared: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for file in case_files() {
        let case = load(&file);
        let check = *catalog.iter().find(|c| c.id == case.check).unwrap();
        let root = tempfile::tempdir().unwrap();
        case.host.materialize(root.path());
        let loaded = Loaded {
            config: config::parse(&case.config, "case config", &ids).unwrap(),
            source: Source::Defaults,
            text: case.config.clone(),
            dev_mode: false,
        };
        let mut setup = clawsecd::cli::setup(&loaded, Some(root.path()), &[check]).unwrap();
        if let (Some(checks), Some(facts)) =
            (&case.baselines, std::sync::Arc::get_mut(&mut setup.facts))
        {
            facts.set_baselines(clawsecd::baseline::Baselines {
                version: 1,
                checks: checks.clone(),
            });
        }
        setup.facts.fs.start_trace();
        let _ = (check.run)(&setup.facts);
        for path in setup.facts.fs.take_trace() {
            if !discovery_read(&path) && !check.reads().iter().any(|p| covered(&path, p)) {
                undeclared
                    .entry(check.id)
                    .or_default()
                    .insert(path.display().to_string());
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "checks read paths they do not declare in `reads`:\n{}",
        undeclared
            .iter()
            .map(|(id, paths)| format!(
                "{id}: {}",
                paths.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
