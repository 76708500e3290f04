//! Memoized facts added for the physical, network, secrets, code and logs checks, kept
//! apart from `mod.rs` so that each group of facts lives in its own file.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::accounts::Accounts;
use super::advisories::AdvisoryDb;
use super::lockfiles::Lockfile;
use super::{ConfigProblem, Facts};

/// Where the advisory database is looked for when the config does not say.
pub const DEFAULT_ADVISORIES: &str = "/var/lib/clawsec/advisories";

#[derive(Debug, Default)]
pub(super) struct Extra {
    pub(super) advisories_path: Option<PathBuf>,
    pub(super) accounts: OnceLock<Accounts>,
    pub(super) workspaces: OnceLock<super::workspaces::Workspaces>,
    pub(super) lockfiles: OnceLock<Vec<Result<Lockfile, ConfigProblem>>>,
    pub(super) advisories: OnceLock<Option<Result<AdvisoryDb, ConfigProblem>>>,
    pub(super) persistence: OnceLock<(Vec<PathBuf>, Vec<crate::probe::ProbeError>)>,
}

impl Facts {
    /// Sets where the offline OSV advisory database lives (config `advisories.path`).
    pub fn with_advisories(mut self, path: PathBuf) -> Self {
        self.extra.advisories_path = Some(path);
        self
    }

    /// The advisory database path in effect.
    pub fn advisories_path(&self) -> PathBuf {
        self.extra
            .advisories_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ADVISORIES))
    }
}

impl Facts {
    /// Persistence points that may exist: every home's `authorized_keys` and shell
    /// start-up files, `/etc/crontab`, and the files found in the cron directories and
    /// every home's systemd user units; with what stopped those walks (a root that does
    /// not exist shows as `NotFound`). Walked once per assessment, for every check that
    /// judges them, so the walk budget is spent once.
    pub fn persistence_points(&self) -> &(Vec<PathBuf>, Vec<crate::probe::ProbeError>) {
        self.extra.persistence.get_or_init(|| {
            let mut paths = vec![PathBuf::from("/etc/crontab")];
            let mut errors = Vec::new();
            for home in self.homes() {
                for rel in [
                    ".ssh/authorized_keys",
                    ".ssh/authorized_keys2",
                    ".bashrc",
                    ".bash_profile",
                    ".bash_login",
                    ".profile",
                    ".zshrc",
                    ".zprofile",
                ] {
                    paths.push(crate::probe::host_join(&home.path, rel));
                }
            }
            let mut dirs: Vec<PathBuf> =
                ["/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron"]
                    .into_iter()
                    .map(PathBuf::from)
                    .collect();
            dirs.extend(
                self.homes()
                    .iter()
                    .map(|h| h.path.join(".config/systemd/user")),
            );
            for dir in dirs {
                let walk = self.fs.walk(&dir);
                errors.extend(walk.errors);
                paths.extend(
                    walk.files
                        .into_iter()
                        .filter(|(_, m)| m.kind == crate::probe::Kind::File)
                        .map(|(p, _)| p),
                );
            }
            paths.sort();
            paths.dedup();
            (paths, errors)
        })
    }
}
