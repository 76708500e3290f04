//! Local accounts and groups from `/etc/passwd` and `/etc/group`, read once per
//! assessment and shared by every check that asks who is who.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Facts;

/// One `/etc/passwd` account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    /// Primary group.
    pub gid: u32,
    pub home: PathBuf,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Who is who on the host. Missing files give an empty view in a tree of files (a
/// fixture, an image); on the live host, and whenever a file exists but cannot be read
/// whole, the view is incomplete and says why in [`Accounts::gaps`].
#[derive(Debug, Default)]
pub struct Accounts {
    users: Vec<Account>,
    groups: Vec<Group>,
    gaps: Vec<crate::probe::ProbeError>,
}

impl Accounts {
    /// Why some accounts or groups may be missing from this view. Every check that
    /// reads `/etc/passwd` or `/etc/group` errors while this is not empty
    /// (`checks::guard_discovery`).
    pub fn gaps(&self) -> &[crate::probe::ProbeError] {
        &self.gaps
    }

    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.users.iter()
    }

    pub fn by_uid(&self, uid: u32) -> Option<&Account> {
        self.users.iter().find(|u| u.uid == uid)
    }

    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.by_uid(uid).map(|u| u.name.as_str())
    }

    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.gid == gid)
            .map(|g| g.name.as_str())
    }

    pub fn group_gid(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|g| g.name == name).map(|g| g.gid)
    }

    /// The primary group of `uid` and every group that lists the user as a member.
    pub fn gids_of(&self, uid: u32) -> Vec<u32> {
        let mut gids = Vec::new();
        if let Some(user) = self.by_uid(uid) {
            gids.push(user.gid);
            gids.extend(
                self.groups
                    .iter()
                    .filter(|g| g.members.contains(&user.name))
                    .map(|g| g.gid),
            );
        }
        gids.sort_unstable();
        gids.dedup();
        gids
    }

    /// Everyone in a group: listed members and accounts whose primary group it is.
    pub fn members_of(&self, group: &str) -> Vec<String> {
        let mut members = BTreeSet::new();
        for g in self.groups.iter().filter(|g| g.name == group) {
            members.extend(g.members.iter().cloned());
            members.extend(
                self.users
                    .iter()
                    .filter(|u| u.gid == g.gid)
                    .map(|u| u.name.clone()),
            );
        }
        members.into_iter().collect()
    }
}

impl Facts {
    pub fn accounts(&self) -> &Accounts {
        self.extra.accounts.get_or_init(|| {
            let mut gaps = Vec::new();
            let mut read = |p: &str| match self.fs.read_text(Path::new(p)) {
                Ok(text) => text,
                Err(e) => {
                    if !e.is_not_found() || self.is_live_host() {
                        gaps.push(e);
                    }
                    String::new()
                }
            };
            let users = read("/etc/passwd")
                .lines()
                .filter_map(|line| {
                    let f: Vec<&str> = line.split(':').collect();
                    (f.len() >= 4).then_some(())?;
                    Some(Account {
                        name: f[0].to_owned(),
                        uid: f[2].parse().ok()?,
                        gid: f[3].parse().ok()?,
                        home: PathBuf::from(f.get(5).copied().unwrap_or("")),
                    })
                })
                .collect();
            let groups = read("/etc/group")
                .lines()
                .filter_map(|line| {
                    let f: Vec<&str> = line.split(':').collect();
                    (f.len() >= 3).then_some(())?;
                    Some(Group {
                        name: f[0].to_owned(),
                        gid: f[2].parse().ok()?,
                        members: f
                            .get(3)
                            .map(|m| {
                                m.split(',')
                                    .map(str::trim)
                                    .filter(|m| !m.is_empty())
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect();
            Accounts {
                users,
                groups,
                gaps,
            }
        })
    }
}
