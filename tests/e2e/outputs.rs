//! The output-path rule, held with the real binaries: devices, FIFOs and stdio links are
//! written as streams and stay exactly what they were; regular files (behind symlinks
//! too) are replaced atomically; ClawSec's own key and state files are never written
//! through a symlink.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use clawsec_tests::{bin, text};

/// A scratch directory with a config whose state directory is inside it, and an empty
/// host tree (the assessment's verdicts do not matter here, only where its output goes).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("host")).unwrap();
        fs::write(
            dir.path().join("clawsecd.toml"),
            format!(
                "state_dir = {:?}\n",
                dir.path().join("state").display().to_string()
            ),
        )
        .unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `clawsecd --assess-only --json --out OUT`, stdout piped, in the scratch directory.
    fn assess(&self, out: &Path) -> Output {
        Command::new(bin("clawsecd"))
            .args(["--assess-only", "--json", "--config"])
            .arg(self.path("clawsecd.toml"))
            .arg("--host-root")
            .arg(self.path("host"))
            .arg("--out")
            .arg(out)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// What identifies a node: its kind, inode, and device numbers.
fn identity(path: &Path) -> (fs::FileType, u64, u64) {
    let m = fs::symlink_metadata(path).unwrap();
    (m.file_type(), m.ino(), m.rdev())
}

/// The attestation documents found in a stream of JSON values (the posture document is
/// the other one).
fn attestations(stdout: &[u8]) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<serde_json::Value>()
        .map(Result::unwrap)
        .filter(|v| v.get("signature").is_some())
        .collect()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn dev_null_stays_the_character_device_it_was() {
    let s = Scratch::new();
    let before = identity(Path::new("/dev/null"));
    assert!(before.0.is_char_device());
    let out = s.assess(Path::new("/dev/null"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(identity(Path::new("/dev/null")), before);
    assert!(
        text(&out.stderr).contains("written to /dev/null"),
        "{}",
        text(&out.stderr)
    );
    if !is_root() {
        eprintln!("note: not root, so /dev/null could not have been replaced anyway");
    }
}

#[test]
fn dev_stdout_and_proc_self_fd_links_write_to_the_pipe_and_stay_links() {
    let s = Scratch::new();
    let before = fs::read_link("/dev/stdout").unwrap();
    let out = s.assess(Path::new("/dev/stdout"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read_link("/dev/stdout").unwrap(), before);
    assert_eq!(attestations(&out.stdout).len(), 1, "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("written to standard output"));

    // A link of the user's own to /proc/self/fd/1.
    let link = s.path("to-fd-1");
    symlink("/proc/self/fd/1", &link).unwrap();
    let out = s.assess(&link);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("/proc/self/fd/1"));
    assert_eq!(attestations(&out.stdout).len(), 1);

    // `-` is standard output too.
    let out = s.assess(Path::new("-"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(attestations(&out.stdout).len(), 1);
    assert!(!s.path("-").exists());
}

#[test]
fn dev_stdout_redirected_to_a_file_appends_through_the_descriptor() {
    let s = Scratch::new();
    let log = s.path("log.jsonl");
    fs::write(&log, "kept line\n").unwrap();
    let inode = fs::metadata(&log).unwrap().ino();
    let file = fs::OpenOptions::new().append(true).open(&log).unwrap();
    let out = Command::new(bin("clawsecd"))
        .args(["--assess-only", "--config"])
        .arg(s.path("clawsecd.toml"))
        .arg("--host-root")
        .arg(s.path("host"))
        .args(["--out", "/dev/stdout"])
        .current_dir(s.dir.path())
        .stdout(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let content = fs::read_to_string(&log).unwrap();
    assert!(content.starts_with("kept line\n"), "{content}");
    assert!(content.contains("\"signature\""));
    assert_eq!(
        fs::metadata(&log).unwrap().ino(),
        inode,
        "appended, not replaced"
    );
}

#[test]
fn a_fifo_receives_the_attestation_and_keeps_its_inode() {
    let s = Scratch::new();
    let fifo = s.path("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let before = identity(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    let out = s.assess(&fifo);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let received = reader.join().unwrap();
    assert_eq!(attestations(&received).len(), 1, "{}", text(&received));
    assert_eq!(identity(&fifo), before);
    assert!(before.0.is_fifo());
}

#[test]
fn a_device_node_made_with_mknod_is_written_and_kept() {
    if !is_root() {
        eprintln!("SKIPPED: mknod needs root (CI runs this as root)");
        return;
    }
    let s = Scratch::new();
    let node = s.path("null");
    // The same device as /dev/null: 1,3.
    nix::sys::stat::mknod(
        &node,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let before = identity(&node);
    let out = s.assess(&node);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(identity(&node), before);
    assert!(before.0.is_char_device());
}

#[test]
fn a_regular_file_behind_a_symlink_is_replaced_and_the_link_kept() {
    let s = Scratch::new();
    fs::create_dir(s.path("real")).unwrap();
    let target = s.path("real/attestation.json");
    fs::write(&target, "old").unwrap();
    let link = s.path("link.json");
    symlink(&target, &link).unwrap();
    let out = s.assess(&link);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&target).unwrap()).unwrap();
    assert!(doc["signature"].is_string());
    // The summary names the file that was written, not the link.
    assert!(text(&out.stderr).contains("real/attestation.json"));
}

#[test]
fn a_missing_parent_or_a_directory_is_a_clear_error_and_creates_nothing() {
    let s = Scratch::new();
    let out = s.assess(&s.path("no/such/dir/a.json"));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no/such/dir does not exist"), "{err}");
    assert!(!s.path("no").exists());

    let out = s.assess(&s.path("host"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is a directory"));
    assert_eq!(fs::read_dir(s.path("host")).unwrap().count(), 0);
}

#[test]
fn keys_are_never_written_through_a_symlink_or_to_standard_output() {
    let s = Scratch::new();
    let keys = s.path("keys");
    fs::create_dir(&keys).unwrap();
    let elsewhere = s.path("elsewhere.pem");
    fs::write(&elsewhere, "not yours").unwrap();
    symlink(&elsewhere, keys.join("attestation.key")).unwrap();
    let out = Command::new(bin("clawsecctl"))
        .args(["keys", "generate", "--force", "--out"])
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("never written through a symlink"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "not yours");

    let out = Command::new(bin("clawsecctl"))
        .args(["keys", "generate", "--out", "-"])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("never written to standard output"));
    assert!(out.stdout.is_empty());
    assert!(!s.path("-").exists());
}

#[test]
fn state_files_planted_as_symlinks_are_refused_and_left_alone() {
    // The database.
    let s = Scratch::new();
    fs::create_dir(s.path("state")).unwrap();
    let decoy = s.path("decoy");
    fs::write(&decoy, "someone else's file").unwrap();
    symlink(&decoy, s.path("state/clawsec.db")).unwrap();
    let out = s.assess(&s.path("a.json"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("never written through a symlink"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read_to_string(&decoy).unwrap(), "someone else's file");

    // A FIFO where the WAL goes.
    let s = Scratch::new();
    fs::create_dir(s.path("state")).unwrap();
    nix::unistd::mkfifo(
        &s.path("state/clawsec.db-wal"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let out = s.assess(&s.path("a.json"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is a FIFO, not a regular file"),
        "{}",
        text(&out.stderr)
    );

    // The public key beside a fresh private key.
    let s = Scratch::new();
    fs::create_dir_all(s.path("state/keys")).unwrap();
    symlink(&decoy, s.path("state/keys/attestation.pub")).unwrap();
    let out = s.assess(&s.path("a.json"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("attestation.pub: is a symlink"));
    assert_eq!(fs::read_to_string(&decoy).unwrap(), "someone else's file");
}

/// Output into a pipe nobody reads any more (`clawsecctl posture | head`) ends quietly
/// with 141, as a program SIGPIPE ended would, and never with a panic report.
#[test]
fn a_closed_pipe_on_stdout_ends_quietly() {
    let s = Scratch::new();
    let cases: [(&str, Vec<String>); 3] = [
        ("clawsecctl", vec!["completions".into(), "bash".into()]),
        ("clawsecd", vec!["--list-checks".into()]),
        (
            "clawsecd",
            [
                "--assess-only",
                "--config",
                &s.dir.path().join("clawsecd.toml").display().to_string(),
                "--host-root",
                &s.dir.path().join("host").display().to_string(),
                "--out",
                &s.dir.path().join("a.json").display().to_string(),
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    for (program, args) in cases {
        let (read, write) = nix::unistd::pipe().unwrap();
        drop(read);
        let out = Command::new(bin(program))
            .args(&args)
            .stdout(Stdio::from(write))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(141),
            "{program} {args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{program} {args:?}: {}",
            text(&out.stderr)
        );
    }
}
