//! Approved baselines for drift checks, kept in ClawSec's own state directory.
//!
//! A drift check reduces what it watches to items (a path, an MCP server entry) each with
//! a `sha256:<hex>` digest. The approved digests live in `<state_dir>/baselines.json`,
//! owned by the daemon and never inside an agent's workspace, so an agent that rewrites
//! its own SOUL.md cannot also rewrite what it is compared against.
//!
//! This module reads and writes ClawSec's own state, not the host, so it uses `std::fs`
//! directly. Writes are atomic (temp file, fsync, rename) with mode 0600 in a 0700
//! directory, and a symlink planted at the file's place is refused, never followed.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The file name inside the state directory.
pub const FILE_NAME: &str = "baselines.json";

/// Item key (a host path, `file#server`) → `sha256:<hex>`.
pub type Items = BTreeMap<String, String>;

/// Approved items per check id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baselines {
    pub version: u32,
    pub checks: BTreeMap<String, Items>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read baselines: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: malformed baselines file: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("{path}: cannot write baselines: {message}")]
    Write { path: PathBuf, message: String },
}

impl Baselines {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE_NAME)
    }

    /// Loads `<state_dir>/baselines.json`; a missing file is an empty set of baselines.
    pub fn load(state_dir: &Path) -> Result<Baselines, BaselineError> {
        let path = Self::path(state_dir);
        let read_err = |message: String| BaselineError::Read {
            path: path.clone(),
            message,
        };
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Baselines::new()),
            Err(e) => return Err(read_err(e.to_string())),
            Ok(m) if !m.file_type().is_file() => {
                return Err(read_err("not a regular file (a symlink is refused)".into()));
            }
            Ok(_) => {}
        }
        // O_NOFOLLOW closes the window between the check above and the open.
        let text = OpenOptions::new()
            .read(true)
            .custom_flags(nofollow_flag())
            .open(&path)
            .and_then(|mut f| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut f, &mut s).map(|_| s)
            })
            .map_err(|e| read_err(e.to_string()))?;
        let parsed: Baselines =
            serde_json::from_str(&text).map_err(|e| BaselineError::Malformed {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if parsed.version != 1 {
            return Err(BaselineError::Malformed {
                path,
                message: format!("unsupported version {}", parsed.version),
            });
        }
        Ok(parsed)
    }

    pub fn new() -> Self {
        Baselines {
            version: 1,
            checks: BTreeMap::new(),
        }
    }

    /// The approved items of a check, or `None` before its first approval.
    pub fn get(&self, check: &str) -> Option<&Items> {
        self.checks.get(check)
    }

    /// Writes atomically: a temp file beside the target, fsync, rename, fsync the directory.
    pub fn save(&self, state_dir: &Path) -> Result<(), BaselineError> {
        let path = Self::path(state_dir);
        let write_err = |message: String| BaselineError::Write {
            path: path.clone(),
            message,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(|e| write_err(e.to_string()))?;
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| write_err(e.to_string()))?;
        json.push(b'\n');
        clawsec_proto::output::write_owned(&path, &json, 0o600)
            .map_err(|e| write_err(e.to_string()))?;
        Ok(())
    }
}

/// `O_NOFOLLOW` for `OpenOptionsExt::custom_flags`: never open through a planted symlink.
fn nofollow_flag() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

/// What drift checks observed in one assessment, deposited for recording.
#[derive(Debug, Default)]
pub struct Observed(Mutex<BTreeMap<String, Items>>);

impl Observed {
    pub fn record(&self, check: &str, items: Items) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(check.to_owned(), items);
        }
    }

    pub fn take(&self) -> BTreeMap<String, Items> {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_is_atomic_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        assert_eq!(Baselines::load(&state).unwrap(), Baselines::new());
        let mut b = Baselines::new();
        b.checks.insert(
            "INT-002".into(),
            Items::from([("/a".to_owned(), "sha256:00".to_owned())]),
        );
        b.save(&state).unwrap();
        assert_eq!(Baselines::load(&state).unwrap(), b);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&Baselines::path(&state)), 0o600);
        assert_eq!(
            fs::read_dir(&state).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn malformed_and_symlinked_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE_NAME), "{not json").unwrap();
        let e = Baselines::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("baselines.json: malformed baselines file"),
            "{e}"
        );

        let other = tempfile::tempdir().unwrap();
        fs::write(other.path().join("x"), r#"{"version":1,"checks":{}}"#).unwrap();
        std::os::unix::fs::symlink(other.path().join("x"), dir.path().join("l")).unwrap();
        fs::remove_file(dir.path().join(FILE_NAME)).unwrap();
        fs::rename(dir.path().join("l"), dir.path().join(FILE_NAME)).unwrap();
        assert!(Baselines::load(dir.path()).is_err());
        assert!(Baselines::new().save(dir.path()).is_err());
    }
}
