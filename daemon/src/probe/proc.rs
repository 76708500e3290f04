//! Processes, read from `<host_root>/proc` through [`HostFs`], so a fixture `proc/` tree
//! stands in for a live one. Only the fields checks use are parsed.
//!
//! A process that exits between the listing and the read is skipped: that is normal
//! churn, not an error. Environments are read only on request (and only for agent
//! processes) because they hold secrets; they go straight to the secret scanner.

use std::path::{Path, PathBuf};

use super::{HostFs, ProbeError, ProbeResult};

/// One process as seen in `/proc/<pid>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    /// Name from `status` (`comm`, at most 15 bytes).
    pub name: String,
    /// Real and effective uid.
    pub uid: u32,
    pub euid: u32,
    pub cmdline: Vec<String>,
    /// Target of `/proc/<pid>/exe`, when readable.
    pub exe: Option<String>,
    /// Effective capabilities (`CapEff`).
    pub cap_eff: u64,
    /// `NoNewPrivs` flag.
    pub no_new_privs: bool,
    /// Seccomp mode: 0 off, 1 strict, 2 filter.
    pub seccomp: u8,
}

impl Process {
    /// The command line joined with spaces, for display and pattern matching.
    pub fn command(&self) -> String {
        if self.cmdline.is_empty() {
            format!("[{}]", self.name)
        } else {
            self.cmdline.join(" ")
        }
    }

    /// The executable file was deleted after the process started.
    pub fn exe_deleted(&self) -> bool {
        self.exe
            .as_deref()
            .is_some_and(|e| e.ends_with(" (deleted)"))
    }

    /// Basename of argv[0] (or the status name when there is no command line).
    pub fn program(&self) -> &str {
        self.cmdline
            .first()
            .and_then(|a| a.rsplit('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.name)
    }

    pub fn proc_dir(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}", self.pid))
    }
}

/// All processes, sorted by pid. Fails when `/proc` cannot be listed, and when it holds
/// more than `max` processes: a list that leaves some out would let a process hide
/// behind enough harmless ones.
pub fn list(fs: &HostFs, max: usize) -> ProbeResult<Vec<Process>> {
    // /proc holds a few dozen non-process entries beside the pids.
    let listing = fs.list_dir_capped(Path::new("/proc"), max.saturating_add(256))?;
    let mut pids: Vec<u32> = listing
        .iter()
        .filter_map(|e| e.name.to_str()?.parse().ok())
        .collect();
    if pids.len() > max {
        return Err(ProbeError::TooManyEntries {
            path: "/proc".into(),
            cap: max,
            limit: "limits.max_processes",
        });
    }
    pids.sort_unstable();
    let mut out = Vec::with_capacity(pids.len());
    for pid in pids {
        match read(fs, pid) {
            Ok(p) => out.push(p),
            // The process exited, or it is another user's and we are not privileged.
            Err(ProbeError::NotFound { .. } | ProbeError::PermissionDenied { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Reads one process.
pub fn read(fs: &HostFs, pid: u32) -> ProbeResult<Process> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let status = fs.read_text(&dir.join("status"))?;
    let mut p = Process {
        pid,
        ppid: 0,
        name: String::new(),
        uid: u32::MAX,
        euid: u32::MAX,
        cmdline: Vec::new(),
        exe: None,
        cap_eff: 0,
        no_new_privs: false,
        seccomp: 0,
    };
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Name" => p.name = value.to_owned(),
            "PPid" => p.ppid = value.parse().unwrap_or(0),
            "Uid" => {
                let mut ids = value
                    .split_whitespace()
                    .map(|v| v.parse().unwrap_or(u32::MAX));
                p.uid = ids.next().unwrap_or(u32::MAX);
                p.euid = ids.next().unwrap_or(p.uid);
            }
            "CapEff" => p.cap_eff = u64::from_str_radix(value, 16).unwrap_or(0),
            "NoNewPrivs" => p.no_new_privs = value == "1",
            "Seccomp" => p.seccomp = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    if p.uid == u32::MAX {
        return Err(ProbeError::Io {
            path: dir.join("status").display().to_string(),
            message: "no Uid line".into(),
        });
    }
    // Kernel threads have an empty cmdline; that is not an error.
    if let Ok(raw) = fs.read(&dir.join("cmdline")) {
        p.cmdline = split_nul(&raw);
    }
    p.exe = fs
        .read_link(&dir.join("exe"))
        .ok()
        .map(|t| t.display().to_string());
    Ok(p)
}

/// The environment of a process as `NAME=value` strings. Callers must pass values only
/// to the secret scanner, never into evidence.
pub fn environ(fs: &HostFs, pid: u32) -> ProbeResult<Vec<String>> {
    fs.read(&PathBuf::from(format!("/proc/{pid}/environ")))
        .map(|raw| split_nul(&raw))
}

fn split_nul(raw: &[u8]) -> Vec<String> {
    raw.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Reads a sysctl such as `kernel.kptr_restrict` from `/proc/sys`.
pub fn sysctl(fs: &HostFs, name: &str) -> ProbeResult<String> {
    let path = PathBuf::from("/proc/sys").join(name.replace('.', "/"));
    fs.read_text(&path).map(|s| s.trim().to_owned())
}
