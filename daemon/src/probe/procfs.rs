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

/// The process's uid map (`/proc/<pid>/uid_map`): how its user namespace's uids map to
/// the host's.
pub fn uid_map(fs: &HostFs, pid: u32) -> ProbeResult<String> {
    fs.read_text(&PathBuf::from(format!("/proc/{pid}/uid_map")))
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
    for e in listing.iter().filter(|e| e.kind == Kind::Symlink) {
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

/// One line of `/proc/<pid>/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the filesystem.
    pub dev: String,
    /// The directory of the filesystem that is mounted (a bind mount's source).
    pub root: String,
    pub mount_point: String,
    pub read_only: bool,
    pub fstype: String,
}

/// The mounts a process sees.
pub fn mountinfo(fs: &HostFs, pid: u32) -> ProbeResult<Vec<Mount>> {
    let path = PathBuf::from(format!("/proc/{pid}/mountinfo"));
    let text = fs.read_text(&path)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            parse_mount(l).ok_or_else(|| ProbeError::Io {
                path: path.display().to_string(),
                message: format!("line {}: not a mountinfo entry", i + 1),
            })
        })
        .collect()
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse_mount(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let f: Vec<&str> = left.split_whitespace().collect();
    if f.len() < 6 {
        return None;
    }
    Some(Mount {
        dev: f[2].to_owned(),
        root: unescape(f[3]),
        mount_point: unescape(f[4]),
        read_only: f[5].split(',').any(|o| o == "ro"),
        fstype: right.split_whitespace().next()?.to_owned(),
    })
}

/// The kernel writes space, tab, newline and backslash in paths as octal escapes.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_lines() {
        let m = parse_mount(
            "36 35 98:0 /home/alice/My\\040Files /work ro,noatime master:1 - ext4 /dev/sda1 rw",
        )
        .unwrap();
        assert_eq!(m.root, "/home/alice/My Files");
        assert_eq!(m.mount_point, "/work");
        assert!(m.read_only);
        assert_eq!((m.dev.as_str(), m.fstype.as_str()), ("98:0", "ext4"));
        assert!(parse_mount("garbage").is_none());
    }
}
