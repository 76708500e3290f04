//! The cost curve: a full assessment (every check, complete walks) of the hardened
//! fixture host as one dimension grows — files in a home, skills, MCP entries, processes
//! — each point on a fresh tree, median of five runs after one untimed warm-up.
//!
//! `cargo bench -p clawsec-tests --bench curve [-- DIMENSION...]` with DIMENSION among
//! `files`, `skills`, `mcp`, `processes` (default: all). The 1,000,000-file point writes a
//! million files (about a minute and 4 GiB of inodes' worth of tmpfs or disk).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use clawsec_tests::{HostSpec, ProcSpec, materialize_host_dir, workspace};
use clawsecd::checks;

fn base(root: &Path) {
    materialize_host_dir(&workspace().join("tests/fixtures/hosts/hardened"), root);
}

/// `n` ordinary files in alice's home, 100 to a directory, three levels deep.
fn files(root: &Path, n: usize) {
    let home = root.join("home/alice/projects");
    for i in 0..n {
        let dir = home.join(format!("a{}/b{}", i / 10_000, (i / 100) % 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).unwrap();
        }
        std::fs::write(dir.join(format!("f{i}.rs")), "fn main() {}\n").unwrap();
    }
}

/// `n` OpenClaw skills, each a SKILL.md and a script.
fn skills(root: &Path, n: usize) {
    let mut spec = HostSpec::default();
    for k in 0..n {
        clawsec_tests::add_skill(
            &mut spec,
            &format!("home/alice/.openclaw/skills/skill-{k}"),
            k,
        );
    }
    spec.materialize(root);
}

/// `n` MCP servers in alice's Claude Code config.
fn mcp(root: &Path, n: usize) {
    let servers: Vec<String> = (0..n)
        .map(|s| format!(r#""srv{s}": {{ "command": "npx", "args": ["-y", "@scope/server-{s}@1.0.{s}"], "env": {{ "API_KEY": "${{KEY_{s}}}" }} }}"#))
        .collect();
    let mut spec = HostSpec::default();
    spec.files.insert(
        "home/alice/.claude.json".into(),
        format!("{{ \"mcpServers\": {{ {} }} }}", servers.join(",\n")),
    );
    spec.materialize(root);
}

/// `n` ordinary processes in the fixture's /proc.
fn processes(root: &Path, n: usize) {
    let mut spec = HostSpec::default();
    for p in 0..n {
        spec.processes.push(ProcSpec {
            pid: 20_000 + p as u32,
            name: Some("cargo".into()),
            uid: 1000,
            ppid: 1,
            cmdline: vec!["cargo".into(), "build".into(), format!("-j{}", p % 8)],
            environ: vec!["HOME=/home/alice".into()],
            exe: None,
            no_new_privs: false,
            seccomp: 0,
            cap_eff: None,
        });
    }
    spec.materialize(root);
}

fn assess_ms(root: &Path) -> (f64, String) {
    let loaded = clawsec_tests::default_loaded();
    let catalog = checks::catalog();
    let mut samples: Vec<Duration> = Vec::new();
    let mut note = String::new();
    for i in 0..6 {
        let t = Instant::now();
        let (doc, _, _) = clawsecd::cli::assess(&loaded, Some(root), &catalog).expect("assess");
        if i > 0 {
            samples.push(t.elapsed());
        }
        let errors = doc
            .checks
            .iter()
            .filter(|c| c.status == checks::Status::Error)
            .count();
        note = format!(
            "{} {}, {errors} errors",
            doc.trust_tier.id(),
            doc.overall_score
        );
    }
    samples.sort();
    (samples[samples.len() / 2].as_secs_f64() * 1e3, note)
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    type Grow = fn(&Path, usize);
    let dims: [(&str, Grow, &[usize]); 4] = [
        ("files", files, &[10_000, 100_000, 1_000_000]),
        ("skills", skills, &[10, 100, 1_000]),
        ("mcp", mcp, &[10, 100, 1_000]),
        ("processes", processes, &[100, 1_000, 10_000]),
    ];
    let mut table = String::from(
        "| dimension | size | full assessment, median of 5 | posture |\n|---|---:|---:|---|\n",
    );
    let root = tempfile::tempdir().unwrap();
    base(root.path());
    let (ms, note) = assess_ms(root.path());
    let _ = writeln!(table, "| hardened fixture alone | | {ms:.1} ms | {note} |");
    println!("baseline: {ms:.1} ms ({note})");
    for (name, grow, sizes) in dims {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        for &n in sizes {
            let root = tempfile::tempdir().unwrap();
            base(root.path());
            let t = Instant::now();
            grow(root.path(), n);
            let made = t.elapsed();
            let (ms, note) = assess_ms(root.path());
            println!(
                "{name} {n}: {ms:.1} ms ({note}; tree made in {:.1} s)",
                made.as_secs_f64()
            );
            let _ = writeln!(table, "| {name} | {n} | {ms:.1} ms | {note} |");
        }
    }
    print!("\n{table}");
}
