//! ClawSec's tree walk against `find TREE -xdev -perm /6000 -type f` on the same trees,
//! side by side in one run, warm caches (each tool runs once untimed first, then the
//! best of five is reported), plus the cost curve on generated trees of 10k, 100k and
//! 1M files.
//!
//! Run: `cargo bench -p clawsecd --bench walk [-- TREE...]` (default trees: `/root`,
//! `/tmp`, `/usr`). The walk looks at every entry's `lstat`, as INC-007 does.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clawsecd::config::Limits;
use clawsecd::probe::HostFs;

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = f();
    let mut best = Duration::MAX;
    for _ in 0..n {
        let t = Instant::now();
        last = f();
        best = best.min(t.elapsed());
    }
    (best, last)
}

/// (setuid/setgid files found, entries visited) by ClawSec's walk of `tree`.
fn clawsec(tree: &Path) -> (usize, u64) {
    let limits = Limits {
        max_walk_entries: u64::MAX,
        max_depth: 4096,
        ..Limits::default()
    };
    let fs = HostFs::open(Path::new("/"), limits).unwrap();
    let walk = fs.walk(tree);
    let found = walk
        .files
        .iter()
        .filter(|(_, m)| m.kind == clawsecd::probe::Kind::File && m.mode & 0o6000 != 0)
        .count();
    (found, fs.walk_entries())
}

fn find(tree: &Path) -> usize {
    let out = Command::new("find")
        .arg(tree)
        .args(["-xdev", "-perm", "/6000", "-type", "f"])
        .output()
        .unwrap();
    out.stdout.iter().filter(|b| **b == b'\n').count()
}

fn generated(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // 100 files per directory, directories 3 levels deep: the shape of a source tree.
    for i in 0..files {
        let d = dir.path().join(format!(
            "{}/{}/{}",
            i / 100_000,
            (i / 1000) % 100,
            (i / 100) % 10
        ));
        if i % 100 == 0 {
            std::fs::create_dir_all(&d).unwrap();
        }
        std::fs::write(d.join(format!("f{i}")), b"").unwrap();
    }
    dir
}

fn row(name: &str, tree: &Path) {
    clawsec(tree);
    find(tree);
    let (ours, (found, entries)) = best_of(5, || clawsec(tree));
    let (theirs, found_by_find) = best_of(5, || find(tree));
    println!(
        "| {name} | {entries} | {:.1} ms | {:.1} ms | {:.2}× | {found} / {found_by_find} |",
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        theirs.as_secs_f64() / ours.as_secs_f64(),
    );
}

fn main() {
    let trees: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    let trees = if trees.is_empty() {
        ["/root", "/tmp", "/usr"].map(PathBuf::from).to_vec()
    } else {
        trees
    };
    println!(
        "| tree | entries | ClawSec walk | find -perm /6000 | find ÷ ClawSec | setuid found (ClawSec / find) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for t in &trees {
        if t.is_dir() {
            row(&t.display().to_string(), t);
        }
    }
    for n in [10_000, 100_000, 1_000_000] {
        let dir = generated(n);
        row(&format!("generated, {n} files"), dir.path());
    }
}
