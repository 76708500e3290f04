//! Per-process details beyond `proc.rs`: namespaces, cgroup membership, open sockets and
//! supplementary groups. Everything is read through [`HostFs`], so fixture `/proc` trees
//! work like live ones.

use std::path::{Path, PathBuf};

use super::{HostFs, Kind, ProbeError, ProbeResult};

/// The namespace a process is in, as the kernel names it: `mnt:[4026531841]`.
pub fn namespace(fs: &HostFs, pid: u32, ns: &str) -> ProbeResult<String> {
    fs.read_link(&PathBuf::from(format!("/proc/{pid}/ns/{ns}")))
        .map(|t| t.display().to_string())
}

/// The process's cgroup v2 path (the `0::` line of `/proc/<pid>/cgroup`), or `None` when
/// it is only in cgroup v1 hierarchies.
pub fn cgroup_v2_path(fs: &HostFs, pid: u32) -> ProbeResult<Option<String>> {
    let text = fs.read_text(&PathBuf::from(format!("/proc/{pid}/cgroup")))?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim().to_owned()))
}

/// Inodes of the sockets a process holds open (`/proc/<pid>/fd/* -> socket:[inode]`).
pub fn socket_inodes(fs: &HostFs, pid: u32) -> ProbeResult<Vec<u64>> {
    let dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let listing = fs.list_dir(&dir)?;
    let mut inodes = Vec::new();
    for e in listing.entries.iter().filter(|e| e.kind == Kind::Symlink) {
        // A descriptor closed between the listing and the read is normal churn.
        let Ok(target) = fs.read_link(&dir.join(&e.name)) else {
            continue;
        };
        if let Some(inode) = target
            .to_str()
            .and_then(|t| t.strip_prefix("socket:["))
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse().ok())
        {
            inodes.push(inode);
        }
    }
    Ok(inodes)
}

/// Primary and supplementary group ids from `/proc/<pid>/status` (`Gid:`, `Groups:`).
pub fn groups(fs: &HostFs, pid: u32) -> ProbeResult<Vec<u32>> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    let text = fs.read_text(&path)?;
    let mut gids = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Gid:") {
            gids.extend(
                v.split_whitespace()
                    .take(2)
                    .filter_map(|g| g.parse::<u32>().ok()),
            );
        } else if let Some(v) = line.strip_prefix("Groups:") {
            gids.extend(v.split_whitespace().filter_map(|g| g.parse::<u32>().ok()));
        }
    }
    gids.sort_unstable();
    gids.dedup();
    Ok(gids)
}

/// One value file of a cgroup v2 directory (`memory.max`, `pids.max`), trimmed.
/// `None` when the controller is not enabled at that level.
pub fn cgroup_value(fs: &HostFs, cgroup_dir: &Path, file: &str) -> ProbeResult<Option<String>> {
    match fs.read_text(&cgroup_dir.join(file)) {
        Ok(t) => Ok(Some(t.trim().to_owned())),
        Err(ProbeError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
