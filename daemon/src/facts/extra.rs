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
    pub(super) workspaces: OnceLock<Vec<PathBuf>>,
    pub(super) lockfiles: OnceLock<Vec<Result<Lockfile, ConfigProblem>>>,
    pub(super) advisories: OnceLock<Option<Result<AdvisoryDb, ConfigProblem>>>,
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
