//! Logs: whether what agents do leaves a durable trail.

use std::path::{Path, PathBuf};

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::Facts;
use crate::probe::Kind;

pub(super) const CHECKS: &[Check] = &[Check {
    id: "LOG-001",
    domain: Domain::Logs,
    severity: Severity::Medium,
    title: "The systemd journal is kept across reboots",
    rationale: "With volatile journal storage, the record of what an agent did is gone after \
        a reboot, which is often the first thing an intruder or a crash causes.",
    remediation: "Set `Storage=persistent` in /etc/systemd/journald.conf (or a drop-in) and \
        restart systemd-journald; `Storage=auto` also persists once /var/log/journal exists.",
    references: &["CIS Debian Linux 4.2.1.3", "CWE-778"],
    reads: &[
        "/etc/systemd/journald.conf",
        "/etc/systemd/journald.conf.d/*.conf",
        "/var/log/journal",
    ],
    run: journal_persistent,
}];

fn journal_persistent(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let main = PathBuf::from("/etc/systemd/journald.conf");
    let mut files = vec![main.clone()];
    match f.fs.list_dir(Path::new("/etc/systemd/journald.conf.d")) {
        Ok(l) => files.extend(
            l.entries
                .iter()
                .filter(|e| e.kind != Kind::Dir && e.name_lossy().ends_with(".conf"))
                .map(|e| PathBuf::from("/etc/systemd/journald.conf.d").join(&e.name)),
        ),
        Err(e) if e.is_not_found() => {}
        Err(e) => out.probe_error(&e),
    }
    // Later files override earlier ones, as systemd applies them.
    let mut storage: Option<(String, PathBuf, u32)> = None;
    let mut any = false;
    for path in &files {
        match f.fs.read_text(path) {
            Ok(text) => {
                any = true;
                let mut in_journal = false;
                for (i, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.starts_with('[') {
                        in_journal = line == "[Journal]";
                    } else if let Some(v) = line.strip_prefix("Storage=")
                        && in_journal
                    {
                        storage = Some((v.trim().to_ascii_lowercase(), path.clone(), i as u32 + 1));
                    }
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => out.probe_error(&e),
        }
    }
    let systemd = any
        || f.fs.exists(Path::new("/etc/systemd/system"))
        || f.fs.exists(Path::new("/run/systemd/system"));
    if !systemd {
        return out.finish("systemd-journald is not used on this host");
    }
    let journal_dir =
        f.fs.metadata(Path::new("/var/log/journal"))
            .is_ok_and(|m| m.kind == Kind::Dir);
    let (value, ev) = match &storage {
        Some((v, p, l)) => (v.clone(), Evidence::at(p, format!("Storage={v}")).line(*l)),
        None => (
            "auto".to_owned(),
            Evidence::at(&main, "Storage not set; default is auto"),
        ),
    };
    let persistent = value == "persistent" || (value == "auto" && journal_dir);
    if persistent {
        out.ok(ev);
    } else if value == "auto" {
        out.finding(Evidence::at(Path::new("/var/log/journal"), "Storage=auto and /var/log/journal does not exist, so the journal is kept in memory only"));
    } else {
        out.finding(ev);
    }
    out.finish("systemd-journald is not used on this host")
}
