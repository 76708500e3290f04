//! Local accounts and groups from `/etc/passwd` and `/etc/group`.

use std::path::Path;

use super::Facts;

/// Who is who on the host. Missing files give an empty view (a fixture of files only).
#[derive(Debug, Default)]
pub struct Accounts {
    /// (name, uid, primary gid)
    users: Vec<(String, u32, u32)>,
    /// (name, gid, member names)
    groups: Vec<(String, u32, Vec<String>)>,
}

impl Accounts {
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users.iter().find(|u| u.1 == uid).map(|u| u.0.as_str())
    }

    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.1 == gid)
            .map(|g| g.0.as_str())
    }

    pub fn group_gid(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|g| g.0 == name).map(|g| g.1)
    }

    /// The primary group of `uid` and every group that lists the user as a member.
    pub fn gids_of(&self, uid: u32) -> Vec<u32> {
        let mut gids = Vec::new();
        if let Some((name, _, primary)) = self.users.iter().find(|u| u.1 == uid) {
            gids.push(*primary);
            gids.extend(
                self.groups
                    .iter()
                    .filter(|g| g.2.iter().any(|m| m == name))
                    .map(|g| g.1),
            );
        }
        gids.sort_unstable();
        gids.dedup();
        gids
    }
}

impl Facts {
    pub fn accounts(&self) -> &Accounts {
        self.extra.accounts.get_or_init(|| {
            let read = |p: &str| self.fs.read_text(Path::new(p)).unwrap_or_default();
            let fields = |line: &str| line.split(':').map(str::to_owned).collect::<Vec<_>>();
            let users = read("/etc/passwd")
                .lines()
                .map(fields)
                .filter(|f| f.len() >= 4)
                .filter_map(|f| Some((f[0].clone(), f[2].parse().ok()?, f[3].parse().ok()?)))
                .collect();
            let groups = read("/etc/group")
                .lines()
                .map(fields)
                .filter(|f| f.len() >= 3)
                .filter_map(|f| {
                    let members = f
                        .get(3)
                        .map(|m| {
                            m.split(',')
                                .map(str::trim)
                                .filter(|m| !m.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    Some((f[0].clone(), f[2].parse().ok()?, members))
                })
                .collect();
            Accounts { users, groups }
        })
    }
}
