//! Test harness for ClawSec's end-to-end and check tests.
//!
//! - [`HostSpec`]: a host described in TOML (files, modes, symlinks, oversized files,
//!   processes, sysctls), materialized as a real directory tree that `clawsecd` reads
//!   through `--host-root`, `/proc` included.
//! - [`bin`]: the path of a workspace binary built by `cargo test --workspace`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

pub mod schema;

/// A host tree, as written in a case file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Host path (no leading `/`) → file content.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Host path → octal mode, e.g. "0644".
    #[serde(default)]
    pub modes: BTreeMap<String, String>,
    /// Host path → link target (as written in the link).
    #[serde(default)]
    pub symlinks: BTreeMap<String, String>,
    /// Host path → size in bytes of a file of filler.
    #[serde(default)]
    pub big_files: BTreeMap<String, u64>,
    /// Empty directories to create.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// FIFOs to create (a planted FIFO must never be waited on, nor silently skipped).
    #[serde(default)]
    pub fifos: Vec<String>,
    #[serde(default)]
    pub processes: Vec<ProcSpec>,
    /// `kernel.kptr_restrict` → "1", written under proc/sys.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
}

/// One process of a fixture `/proc`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcSpec {
    pub pid: u32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_uid")]
    pub uid: u32,
    #[serde(default)]
    pub ppid: u32,
    pub cmdline: Vec<String>,
    #[serde(default)]
    pub environ: Vec<String>,
    #[serde(default)]
    pub exe: Option<String>,
    #[serde(default)]
    pub no_new_privs: bool,
    #[serde(default)]
    pub seccomp: u8,
    #[serde(default)]
    pub cap_eff: Option<String>,
}

fn default_uid() -> u32 {
    1000
}

impl HostSpec {
    /// Writes the tree below `root`.
    pub fn materialize(&self, root: &Path) {
        for d in &self.dirs {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for (path, content) in &self.files {
            write(root, path, content.as_bytes());
        }
        for path in &self.fifos {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        }
        for (path, size) in &self.big_files {
            write(root, path, &vec![b'#'; *size as usize]);
        }
        for (path, target) in &self.symlinks {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            symlink(target, &p).unwrap();
        }
        for (name, value) in &self.sysctls {
            let rel = format!("proc/sys/{}", name.replace('.', "/"));
            write(root, &rel, format!("{value}\n").as_bytes());
        }
        for p in &self.processes {
            let dir = format!("proc/{}", p.pid);
            let name = p.name.clone().unwrap_or_else(|| {
                let argv0 = p.cmdline.first().map(String::as_str).unwrap_or("?");
                argv0.rsplit('/').next().unwrap().chars().take(15).collect()
            });
            let status = format!(
                "Name:\t{name}\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t{pid}\nPPid:\t{ppid}\n\
                 Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n\
                 CapEff:\t{cap}\nNoNewPrivs:\t{nnp}\nSeccomp:\t{sc}\n",
                pid = p.pid,
                ppid = p.ppid,
                uid = p.uid,
                cap = p.cap_eff.clone().unwrap_or_else(|| {
                    if p.uid == 0 {
                        "000001ffffffffff".into()
                    } else {
                        "0000000000000000".into()
                    }
                }),
                nnp = u8::from(p.no_new_privs),
                sc = p.seccomp,
            );
            write(root, &format!("{dir}/status"), status.as_bytes());
            write(root, &format!("{dir}/cmdline"), &nul_join(&p.cmdline));
            write(root, &format!("{dir}/environ"), &nul_join(&p.environ));
            if let Some(exe) = &p.exe {
                symlink(exe, root.join(&dir).join("exe")).unwrap();
            }
        }
        for (path, mode) in &self.modes {
            let mode = u32::from_str_radix(mode.trim_start_matches("0o"), 8)
                .unwrap_or_else(|_| panic!("mode {mode:?} for {path} is not octal"));
            std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("chmod {path}: {e}"));
        }
    }
}

/// Materializes every `*.toml` host spec in `dir` (in name order) into one root: a fixture
/// host split into one file per domain.
pub fn materialize_host_dir(dir: &Path, root: &Path) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for f in files {
        let spec: HostSpec = toml::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        spec.materialize(root);
    }
}

fn nul_join(parts: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(p.as_bytes());
        out.push(0);
    }
    out
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The workspace's binaries, which end-to-end tests run.
const BINARIES: &[&str] = &["clawsecd", "clawsecctl"];

/// A binary of the workspace (`clawsecd`, `clawsecctl`), from the same target directory
/// and profile as the test executable.
///
/// Cargo builds a package's binaries only for that package's own integration tests, so a
/// test here could otherwise run a stale binary. When any source file is newer than any
/// binary, the binaries are rebuilt first (once per test process).
pub fn bin(name: &str) -> PathBuf {
    static FRESH: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let dir = if dir.ends_with("deps") {
        dir.parent().unwrap()
    } else {
        dir
    };
    FRESH.call_once(|| {
        if binaries_stale(dir) {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.current_dir(workspace())
                .args(["build", "--quiet", "--bins"]);
            for b in BINARIES {
                cmd.args(["-p", b]);
            }
            if dir.ends_with("release") {
                cmd.arg("--release");
            }
            let status = cmd
                .status()
                .expect("run cargo build for the binaries under test");
            assert!(status.success(), "building the binaries under test failed");
        }
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// True when a binary is missing or any source of the workspace is newer than one.
fn binaries_stale(dir: &Path) -> bool {
    let Some(oldest_bin) = BINARIES
        .iter()
        .map(|b| modified(&dir.join(b)))
        .collect::<Option<Vec<_>>>()
        .and_then(|t| t.into_iter().min())
    else {
        return true;
    };
    let mut newest_src = std::time::SystemTime::UNIX_EPOCH;
    let mut stack: Vec<PathBuf> = ["proto", "daemon", "ctl", "Cargo.toml", "Cargo.lock"]
        .iter()
        .map(|d| workspace().join(d))
        .collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Some(t) = modified(&p) {
            newest_src = newest_src.max(t);
        }
    }
    newest_src > oldest_bin
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Runs a binary with arguments and a clean, predictable environment, in a scratch
/// working directory (so a default output such as `./attestation.json` lands there).
pub fn run(name: &str, args: &[&str]) -> Output {
    static SCRATCH: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let cwd = SCRATCH.get_or_init(|| tempfile::tempdir().unwrap());
    Command::new(bin(name))
        .args(args)
        .current_dir(cwd.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Output as UTF-8 text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The built-in defaults, as loaded without a config file on a privileged host (no dev
/// mode): what benches and in-process assessments of fixture trees run with.
pub fn default_loaded() -> clawsecd::config::Loaded {
    clawsecd::config::Loaded {
        config: clawsecd::config::Config::default(),
        source: clawsecd::config::Source::Defaults,
        text: String::new(),
        dev_mode: false,
    }
}

/// One ordinary skill in `dir`: a SKILL.md and a script that reads the git log.
pub fn add_skill(spec: &mut HostSpec, dir: &str, k: usize) {
    spec.files.insert(
        format!("{dir}/SKILL.md"),
        format!(
            "---\nname: skill-{k}\ndescription: does thing {k}\n---\n{}",
            "Use git log and summarise.\n".repeat(30)
        ),
    );
    spec.files.insert(
        format!("{dir}/scripts/run.sh"),
        "#!/bin/sh\nset -eu\ngit log --oneline | head -20\n".into(),
    );
}
