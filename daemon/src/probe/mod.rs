//! The probe layer: the only code in ClawSec that reads the host.
//!
//! Every read goes through [`HostFs`], which is rooted at `host_root`. Paths are host
//! paths (`/etc/ssh/sshd_config`) resolved by the kernel with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so `..` and absolute symlinks are
//! scoped to the root exactly as in a chroot and no symlink, however crafted, reaches a
//! file outside it. A fixture tree therefore stands in for a whole host, `/proc` included.
//!
//! Reads are bounded: a per-file size cap, a per-directory entry cap, a walk depth and
//! a per-assessment byte budget. Reaching a cap is an error or a `truncated` flag in the
//! result, and is also recorded in [`HostFs::caps_reached`] for the report; it is never
//! silent. Opening never blocks (FIFOs and devices are refused, not read).

pub mod data;
pub mod net;
pub mod proc;
pub mod proc_connector;
// skills checks (checks-b): bounded reads of a file's first bytes.
mod head;
pub mod procfs;

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

use crate::config::Limits;

/// Why a probe could not read something. Checks turn these into the `error` outcome
/// (or `not_applicable` for [`ProbeError::NotFound`] where absence is normal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("{path}: not found")]
    NotFound { path: String },
    #[error("{path}: permission denied")]
    PermissionDenied { path: String },
    /// `size` is the file's real size, or `None` where the kernel does not report one (/proc).
    #[error("{path}: {} exceeds the {cap}-byte file cap", size.map_or("it".to_owned(), |s| format!("{s} bytes")))]
    TooLarge {
        path: String,
        size: Option<u64>,
        cap: u64,
    },
    #[error("{path}: not a regular file ({kind})")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path}: not read, the assessment's {cap}-byte read budget is spent")]
    BudgetSpent { path: String, cap: u64 },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl ProbeError {
    fn from_errno(path: &Path, e: Errno) -> Self {
        let path = path.display().to_string();
        match e {
            Errno::ENOENT | Errno::ENOTDIR => ProbeError::NotFound { path },
            Errno::EACCES | Errno::EPERM => ProbeError::PermissionDenied { path },
            Errno::ELOOP => ProbeError::Io {
                path,
                message: "too many levels of symbolic links".into(),
            },
            Errno::EXDEV => ProbeError::Io {
                path,
                message: "refused to follow a /proc magic link".into(),
            },
            // Every read starts with openat2: without it nothing can be read, and the
            // usual causes are worth naming.
            Errno::ENOSYS => ProbeError::Io {
                path,
                message: "openat2 is not available (it needs Linux 5.6 or later, and no \
                    seccomp filter refusing it, such as systemd's RestrictSUIDSGID=)"
                    .into(),
            },
            other => ProbeError::Io {
                path,
                message: other.desc().to_lowercase(),
            },
        }
    }

    fn from_io(path: &Path, e: &std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(code) => Self::from_errno(path, Errno::from_raw(code)),
            None => ProbeError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ProbeError::NotFound { .. })
    }

    pub fn is_permission_denied(&self) -> bool {
        matches!(self, ProbeError::PermissionDenied { .. })
    }
}

pub type ProbeResult<T> = Result<T, ProbeError>;

/// What kind of thing a path is (not following a final symlink for `symlink_metadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// The parts of `stat` that checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    /// Permission bits and setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
}

impl Meta {
    /// Readable by group or others.
    pub fn group_or_other_readable(&self) -> bool {
        self.mode & 0o044 != 0
    }
    /// Writable by others (the classic world-writable bit).
    pub fn world_writable(&self) -> bool {
        self.mode & 0o002 != 0
    }
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

impl Entry {
    pub fn name_lossy(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }
}

/// A directory listing that may have been cut short at the entry cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub truncated: bool,
}

/// A cap that was reached during an assessment, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapReached {
    pub path: String,
    pub what: String,
}

/// The rooted, capped view of the host that every probe reads through.
#[derive(Debug)]
pub struct HostFs {
    root: OwnedFd,
    root_path: PathBuf,
    limits: Limits,
    bytes_read: AtomicU64,
    caps: Mutex<Vec<CapReached>>,
    /// Every path opened while tracing is on (`start_trace`), for the test that holds each
    /// check's declared `reads` to what it really reads.
    tracing: AtomicBool,
    trace: Mutex<Vec<PathBuf>>,
}

impl HostFs {
    /// Opens the host root. Fails when it is not a readable directory.
    pub fn open(root: &Path, limits: Limits) -> ProbeResult<Self> {
        let fd = nix::fcntl::open(
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ProbeError::from_errno(root, e))?;
        Ok(HostFs {
            root: fd,
            root_path: root.to_path_buf(),
            limits,
            bytes_read: AtomicU64::new(0),
            caps: Mutex::new(Vec::new()),
            tracing: AtomicBool::new(false),
            trace: Mutex::new(Vec::new()),
        })
    }

    /// Starts recording every path opened from now on.
    pub fn start_trace(&self) {
        if let Ok(mut t) = self.trace.lock() {
            t.clear();
        }
        self.tracing.store(true, Ordering::Relaxed);
    }

    /// Stops recording and returns the paths opened since `start_trace`.
    pub fn take_trace(&self) -> Vec<PathBuf> {
        self.tracing.store(false, Ordering::Relaxed);
        self.trace
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }

    /// The host root as given (for messages only; never used to open files).
    pub fn root_path(&self) -> &Path {
        &self.root_path
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Every cap reached so far, in the order reached.
    pub fn caps_reached(&self) -> Vec<CapReached> {
        self.caps.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Bytes read so far in this assessment.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    fn note_cap(&self, path: &Path, what: String) {
        if let Ok(mut caps) = self.caps.lock() {
            caps.push(CapReached {
                path: path.display().to_string(),
                what,
            });
        }
    }

    fn open_in_root(&self, path: &Path, flags: OFlag) -> ProbeResult<OwnedFd> {
        // openat2 rejects flags that make no sense together (O_NOCTTY with O_PATH is EINVAL).
        let extra = if flags.contains(OFlag::O_PATH) {
            OFlag::O_CLOEXEC
        } else {
            OFlag::O_CLOEXEC | OFlag::O_NOCTTY
        };
        let how = OpenHow::new()
            .flags(flags | extra)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        if self.tracing.load(Ordering::Relaxed)
            && let Ok(mut t) = self.trace.lock()
        {
            t.push(path.to_path_buf());
        }
        loop {
            match openat2(self.root.as_fd(), path, how) {
                Err(Errno::EAGAIN | Errno::EINTR) => continue,
                other => return other.map_err(|e| ProbeError::from_errno(path, e)),
            }
        }
    }

    /// `stat`, following symlinks inside the root.
    pub fn metadata(&self, path: &Path) -> ProbeResult<Meta> {
        let fd = self.open_in_root(path, OFlag::O_PATH)?;
        fstat(path, fd)
    }

    /// `lstat`: a final symlink is reported as [`Kind::Symlink`], not followed.
    pub fn symlink_metadata(&self, path: &Path) -> ProbeResult<Meta> {
        let fd = self.open_in_root(path, OFlag::O_PATH | OFlag::O_NOFOLLOW)?;
        fstat(path, fd)
    }

    pub fn exists(&self, path: &Path) -> bool {
        self.symlink_metadata(path).is_ok()
    }

    /// The target of a symlink, as written in the link (not resolved).
    pub fn read_link(&self, path: &Path) -> ProbeResult<PathBuf> {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(ProbeError::NotFound {
                path: path.display().to_string(),
            });
        };
        let dir = self.open_in_root(parent, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        nix::fcntl::readlinkat(dir.as_fd(), name)
            .map(PathBuf::from)
            .map_err(|e| ProbeError::from_errno(path, e))
    }

    /// Reads a whole regular file, refusing files over the size cap.
    pub fn read(&self, path: &Path) -> ProbeResult<Vec<u8>> {
        let (data, truncated, size) = self.read_up_to(path, self.limits.max_file_bytes)?;
        if truncated {
            self.note_cap(
                path,
                format!(
                    "larger than the {}-byte file cap",
                    self.limits.max_file_bytes
                ),
            );
            return Err(ProbeError::TooLarge {
                path: path.display().to_string(),
                size: (size > self.limits.max_file_bytes).then_some(size),
                cap: self.limits.max_file_bytes,
            });
        }
        Ok(data)
    }

    /// Reads a whole file as text (invalid UTF-8 replaced), refusing files over the cap.
    pub fn read_text(&self, path: &Path) -> ProbeResult<String> {
        self.read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Reads at most the file cap from the start of a file, for scanners that can work on
    /// a prefix (shell history, logs). The flag says whether the file was longer; the cap
    /// is then also recorded for the report.
    pub fn read_prefix(&self, path: &Path) -> ProbeResult<(Vec<u8>, bool)> {
        let (data, truncated, _) = self.read_up_to(path, self.limits.max_file_bytes)?;
        if truncated {
            self.note_cap(
                path,
                format!(
                    "only the first {} bytes were scanned",
                    self.limits.max_file_bytes
                ),
            );
        }
        Ok((data, truncated))
    }

    /// Reads at most `cap` bytes: (data, whether the file was longer, its st_size).
    fn read_up_to(&self, path: &Path, cap: u64) -> ProbeResult<(Vec<u8>, bool, u64)> {
        // O_NONBLOCK so that opening a FIFO planted in a scanned tree cannot hang the probe;
        // anything but a regular file is then refused before a single byte is read.
        let fd = self.open_in_root(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK)?;
        let meta = fstat(
            path,
            fd.try_clone().map_err(|e| ProbeError::from_io(path, &e))?,
        )?;
        if meta.kind != Kind::File {
            return Err(ProbeError::NotRegular {
                path: path.display().to_string(),
                kind: match meta.kind {
                    Kind::Dir => "a directory",
                    _ => "a device, socket or FIFO",
                },
            });
        }
        let budget = self.limits.max_total_bytes;
        let mut file = File::from(fd);
        let mut data = Vec::with_capacity(meta.size.min(cap) as usize);
        // Files in /proc report size 0, so the cap is enforced on what is read, not on st_size.
        (&mut file)
            .take(cap + 1)
            .read_to_end(&mut data)
            .map_err(|e| ProbeError::from_io(path, &e))?;
        let truncated = data.len() as u64 > cap;
        data.truncate(cap as usize);
        let before = self
            .bytes_read
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        if before + data.len() as u64 > budget {
            self.note_cap(path, format!("the {budget}-byte read budget was spent"));
            return Err(ProbeError::BudgetSpent {
                path: path.display().to_string(),
                cap: budget,
            });
        }
        Ok((data, truncated, meta.size))
    }

    /// Lists a directory, sorted by name, at most `limits.max_dir_entries` entries.
    pub fn list_dir(&self, path: &Path) -> ProbeResult<Listing> {
        self.list_dir_capped(path, self.limits.max_dir_entries as usize)
    }

    /// Lists a directory with an explicit entry cap (e.g. `/proc`, capped by process count).
    pub fn list_dir_capped(&self, path: &Path, cap: usize) -> ProbeResult<Listing> {
        let fd = self.open_in_root(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(|e| ProbeError::from_errno(path, e))?;
        let mut entries = Vec::new();
        let mut truncated = false;
        for item in dir.iter() {
            let item = item.map_err(|e| ProbeError::from_errno(path, e))?;
            let name = item.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            if entries.len() == cap {
                truncated = true;
                break;
            }
            let name = OsString::from(std::ffi::OsStr::from_bytes(name));
            let kind = match item.file_type() {
                Some(nix::dir::Type::File) => Kind::File,
                Some(nix::dir::Type::Directory) => Kind::Dir,
                Some(nix::dir::Type::Symlink) => Kind::Symlink,
                Some(_) => Kind::Other,
                None => self
                    .symlink_metadata(&path.join(&name))
                    .map_or(Kind::Other, |m| m.kind),
            };
            entries.push(Entry { name, kind });
        }
        if truncated {
            self.note_cap(
                path,
                format!("more than {cap} entries; the rest were not inspected"),
            );
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Listing { entries, truncated })
    }

    /// Every regular file and symlink below `dir`, depth-first, sorted, never following
    /// symlinks, at most `limits.max_depth` levels and `limits.max_dir_entries` entries per
    /// directory. Unreadable subdirectories are returned as errors beside the files.
    pub fn walk(&self, dir: &Path) -> Walk {
        let mut walk = Walk::default();
        self.walk_into(dir, 0, &mut walk);
        walk
    }

    fn walk_into(&self, dir: &Path, depth: u32, walk: &mut Walk) {
        let listing = match self.list_dir(dir) {
            Ok(l) => l,
            Err(e) => {
                walk.errors.push(e);
                return;
            }
        };
        walk.truncated |= listing.truncated;
        for entry in listing.entries {
            let path = dir.join(&entry.name);
            match entry.kind {
                Kind::Dir if depth + 1 >= self.limits.max_depth => {
                    walk.truncated = true;
                    self.note_cap(
                        &path,
                        format!(
                            "deeper than {} levels; not inspected",
                            self.limits.max_depth
                        ),
                    );
                }
                Kind::Dir => self.walk_into(&path, depth + 1, walk),
                kind => walk.files.push((path, kind)),
            }
        }
    }
}

/// The result of [`HostFs::walk`].
#[derive(Debug, Default)]
pub struct Walk {
    /// Files, symlinks and other non-directories, with their kind.
    pub files: Vec<(PathBuf, Kind)>,
    pub errors: Vec<ProbeError>,
    /// A depth or entry cap cut the walk short.
    pub truncated: bool,
}

fn fstat(path: &Path, fd: OwnedFd) -> ProbeResult<Meta> {
    let m = File::from(fd)
        .metadata()
        .map_err(|e| ProbeError::from_io(path, &e))?;
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    Ok(Meta {
        kind,
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        mtime: m.mtime(),
    })
}

/// Joins a host path onto another, ignoring a leading `/` in `rel` (host paths are
/// always absolute and interpreted inside the root).
pub fn host_join(base: &Path, rel: &str) -> PathBuf {
    let mut p = base.to_path_buf();
    for c in Path::new(rel).components() {
        if let Component::Normal(n) = c {
            p.push(n);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn limits() -> Limits {
        Limits {
            max_file_bytes: 64,
            max_dir_entries: 3,
            max_depth: 3,
            max_total_bytes: 1000,
            ..Limits::default()
        }
    }

    #[test]
    fn a_missing_openat2_is_named_with_its_usual_causes() {
        let e = ProbeError::from_errno(Path::new("/etc/passwd"), Errno::ENOSYS).to_string();
        assert!(
            e.starts_with("/etc/passwd: openat2 is not available"),
            "{e}"
        );
        assert!(e.contains("RestrictSUIDSGID"), "{e}");
    }

    #[test]
    fn symlinks_cannot_leave_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "outside-the-root").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/hosts"), "inside").unwrap();
        symlink(outside.path().join("secret"), root.path().join("abs")).unwrap();
        symlink("../../../../../../../../etc/hosts", root.path().join("rel")).unwrap();
        symlink("/etc/hosts", root.path().join("in-root")).unwrap();
        let fs = HostFs::open(root.path(), limits()).unwrap();

        // An absolute link resolves inside the root, where that path does not exist.
        assert!(fs.read(Path::new("/abs")).unwrap_err().is_not_found());
        // `..` is clamped at the root, so this reads the fixture's /etc/hosts.
        assert_eq!(fs.read(Path::new("/rel")).unwrap(), b"inside");
        assert_eq!(fs.read(Path::new("/in-root")).unwrap(), b"inside");
        assert_eq!(fs.read(Path::new("/../../etc/hosts")).unwrap(), b"inside");
        assert_eq!(
            fs.symlink_metadata(Path::new("/abs")).unwrap().kind,
            Kind::Symlink
        );
    }

    #[test]
    fn oversized_files_are_refused_and_reported() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("big"), vec![b'a'; 65]).unwrap();
        std::fs::write(root.path().join("ok"), vec![b'a'; 64]).unwrap();
        let fs = HostFs::open(root.path(), limits()).unwrap();
        assert!(matches!(
            fs.read(Path::new("/big")),
            Err(ProbeError::TooLarge { cap: 64, .. })
        ));
        assert_eq!(fs.read(Path::new("/ok")).unwrap().len(), 64);
        let (prefix, truncated) = fs.read_prefix(Path::new("/big")).unwrap();
        assert_eq!((prefix.len(), truncated), (64, true));
        assert_eq!(fs.caps_reached().len(), 2);
    }

    #[test]
    fn read_budget_is_enforced() {
        let root = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(root.path().join(format!("f{i}")), vec![b'x'; 60]).unwrap();
        }
        let fs = HostFs::open(root.path(), limits()).unwrap();
        let results: Vec<_> = (0..20)
            .map(|i| fs.read(Path::new(&format!("/f{i}"))))
            .collect();
        assert!(results[..16].iter().all(Result::is_ok));
        assert!(matches!(results[16], Err(ProbeError::BudgetSpent { .. })));
    }

    #[test]
    fn fifos_are_refused_without_blocking() {
        let root = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&root.path().join("pipe"), Mode::from_bits_truncate(0o644)).unwrap();
        let fs = HostFs::open(root.path(), limits()).unwrap();
        assert!(matches!(
            fs.read(Path::new("/pipe")),
            Err(ProbeError::NotRegular { .. })
        ));
    }

    #[test]
    fn listings_are_sorted_capped_and_walks_bounded() {
        let root = tempfile::tempdir().unwrap();
        for n in ["d", "c", "b", "a"] {
            std::fs::write(root.path().join(n), "").unwrap();
        }
        std::fs::create_dir_all(root.path().join("deep/1/2/3/4")).unwrap();
        std::fs::write(root.path().join("deep/1/2/3/4/f"), "").unwrap();
        std::fs::write(root.path().join("deep/1/f"), "").unwrap();
        let fs = HostFs::open(root.path(), limits()).unwrap();
        let l = fs.list_dir(Path::new("/")).unwrap();
        assert!(l.truncated);
        assert_eq!(l.entries.len(), 3);
        let w = fs.walk(Path::new("/deep"));
        assert_eq!(w.files, vec![(PathBuf::from("/deep/1/f"), Kind::File)]);
        assert!(w.truncated);
    }

    #[test]
    fn permissions_are_reported() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("cred");
        std::fs::write(&p, "x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let fs = HostFs::open(root.path(), limits()).unwrap();
        let m = fs.metadata(Path::new("/cred")).unwrap();
        assert_eq!(m.mode, 0o644);
        assert!(m.group_or_other_readable());
    }
}
