//! Who is calling: the caller's uid, gid and pid from the socket's peer credentials, and
//! the role config grants them. The request itself never claims an identity.

use std::fmt;

use crate::config::Roles;

/// What a caller may do. Ordered: each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Reader,
    Operator,
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Reader => "reader",
            Role::Operator => "operator",
            Role::Admin => "admin",
        })
    }
}

/// A connected client, as the kernel vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// Supplementary groups, read from `/proc/<pid>/status` when the pid is known.
    pub groups: Vec<u32>,
}

impl Caller {
    /// Builds a caller from peer credentials, adding its supplementary groups.
    pub fn from_peer(uid: u32, gid: u32, pid: Option<i32>) -> Caller {
        let groups = pid.map(supplementary_groups).unwrap_or_default();
        Caller {
            uid,
            gid,
            pid,
            groups,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "uid {} (pid {pid})", self.uid),
            None => write!(f, "uid {}", self.uid),
        }
    }
}

/// The caller's own process groups (the live `/proc`, not the inspected host root: this
/// is about who is on the socket, not about the host being assessed).
fn supplementary_groups(pid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Groups:")).map(|g| {
                g.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// The role config grants a caller. Root and the daemon's own user are admin.
pub fn role_of(caller: &Caller, roles: &Roles, daemon_uid: u32) -> Option<Role> {
    if caller.uid == 0 || caller.uid == daemon_uid {
        return Some(Role::Admin);
    }
    let matches = |entries: &[String]| entries.iter().any(|e| entry_matches(e, caller));
    if matches(&roles.admins) {
        Some(Role::Admin)
    } else if matches(&roles.operators) {
        Some(Role::Operator)
    } else if matches(&roles.readers) {
        Some(Role::Reader)
    } else {
        None
    }
}

fn entry_matches(entry: &str, c: &Caller) -> bool {
    let in_group = |gid: u32| c.gid == gid || c.groups.contains(&gid);
    match entry.split_once(':') {
        Some(("uid", n)) => n.parse() == Ok(c.uid),
        Some(("gid", n)) => n.parse().is_ok_and(in_group),
        Some(("user", name)) => nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .is_some_and(|u| u.uid.as_raw() == c.uid),
        Some(("group", name)) => nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .is_some_and(|g| in_group(g.gid.as_raw())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(uid: u32, gid: u32, groups: &[u32]) -> Caller {
        Caller {
            uid,
            gid,
            pid: None,
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn roles_follow_config() {
        let roles = Roles {
            readers: vec!["gid:500".into()],
            operators: vec!["uid:1001".into()],
            admins: vec!["user:root".into()],
        };
        assert_eq!(role_of(&caller(0, 0, &[]), &roles, 999), Some(Role::Admin));
        assert_eq!(
            role_of(&caller(999, 999, &[]), &roles, 999),
            Some(Role::Admin)
        );
        assert_eq!(
            role_of(&caller(1001, 1001, &[]), &roles, 999),
            Some(Role::Operator)
        );
        assert_eq!(
            role_of(&caller(1002, 100, &[4, 500]), &roles, 999),
            Some(Role::Reader)
        );
        assert_eq!(role_of(&caller(1003, 100, &[4]), &roles, 999), None);
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Reader);
    }
}
