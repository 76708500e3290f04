//! Who is calling: the caller's uid, gid and pid from the socket's peer credentials, and
//! the role config grants them. The request itself never claims an identity.

use std::fmt;
use std::sync::OnceLock;

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
#[derive(Debug, Clone)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// Supplementary groups, read from `/proc/<pid>/status` only if a group rule needs them.
    groups: OnceLock<Vec<u32>>,
}

impl Caller {
    pub fn from_peer(uid: u32, gid: u32, pid: Option<i32>) -> Caller {
        Caller {
            uid,
            gid,
            pid,
            groups: OnceLock::new(),
        }
    }

    /// A caller whose supplementary groups are already known.
    pub fn with_groups(uid: u32, gid: u32, groups: Vec<u32>) -> Caller {
        let c = Caller::from_peer(uid, gid, None);
        let _ = c.groups.set(groups);
        c
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid
            || self
                .groups
                .get_or_init(|| self.pid.map(supplementary_groups).unwrap_or_default())
                .contains(&gid)
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

/// One role rule with names resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    Uid(u32),
    Gid(u32),
}

/// `[roles]` with user and group names resolved once (at start and on reload), so no call
/// pays for a name-service lookup. Names that do not exist match nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleTable {
    admins: Vec<Principal>,
    operators: Vec<Principal>,
    readers: Vec<Principal>,
}

impl RoleTable {
    pub fn resolve(roles: &Roles) -> RoleTable {
        let resolve = |entries: &[String]| -> Vec<Principal> {
            entries
                .iter()
                .filter_map(|e| match e.split_once(':')? {
                    ("uid", n) => n.parse().ok().map(Principal::Uid),
                    ("gid", n) => n.parse().ok().map(Principal::Gid),
                    ("user", name) => nix::unistd::User::from_name(name)
                        .ok()
                        .flatten()
                        .map(|u| Principal::Uid(u.uid.as_raw())),
                    ("group", name) => nix::unistd::Group::from_name(name)
                        .ok()
                        .flatten()
                        .map(|g| Principal::Gid(g.gid.as_raw())),
                    _ => None,
                })
                .collect()
        };
        RoleTable {
            admins: resolve(&roles.admins),
            operators: resolve(&roles.operators),
            readers: resolve(&roles.readers),
        }
    }
}

/// The role a caller holds. Root and the daemon's own user are admin.
pub fn role_of(caller: &Caller, table: &RoleTable, daemon_uid: u32) -> Option<Role> {
    if caller.uid == 0 || caller.uid == daemon_uid {
        return Some(Role::Admin);
    }
    let matches = |rules: &[Principal]| {
        rules.iter().any(|p| match p {
            Principal::Uid(u) => *u == caller.uid,
            Principal::Gid(g) => caller.in_group(*g),
        })
    };
    if matches(&table.admins) {
        Some(Role::Admin)
    } else if matches(&table.operators) {
        Some(Role::Operator)
    } else if matches(&table.readers) {
        Some(Role::Reader)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_config() {
        let table = RoleTable::resolve(&Roles {
            readers: vec!["gid:500".into(), "group:no-such-group-here".into()],
            operators: vec!["uid:1001".into()],
            admins: vec!["user:root".into()],
        });
        let caller = |uid, gid, groups: &[u32]| Caller::with_groups(uid, gid, groups.to_vec());
        assert_eq!(role_of(&caller(0, 0, &[]), &table, 999), Some(Role::Admin));
        assert_eq!(
            role_of(&caller(999, 999, &[]), &table, 999),
            Some(Role::Admin)
        );
        assert_eq!(
            role_of(&caller(1001, 1001, &[]), &table, 999),
            Some(Role::Operator)
        );
        assert_eq!(
            role_of(&caller(1002, 100, &[4, 500]), &table, 999),
            Some(Role::Reader)
        );
        assert_eq!(role_of(&caller(1003, 100, &[4]), &table, 999), None);
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Reader);
    }
}
