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
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
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
    #[error("{path}: not a directory")]
    NotADirectory { path: String },
    #[error("{path}: not a regular file ({kind})")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path}: not read, the assessment's {cap}-byte read budget is spent")]
    BudgetSpent { path: String, cap: u64 },
    /// A directory with more entries than a listing may hold; nothing of it is used.
    #[error("{path}: more than {cap} entries ({limit}); not used")]
    TooManyEntries {
        path: String,
        cap: usize,
        limit: &'static str,
    },
    /// A tree walk stopped here; what lies beyond was not inspected.
    #[error("{path}: walk stopped, {reason}; the rest of the tree was not inspected")]
    WalkCut { path: String, reason: String },
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
    walk_entries: AtomicU64,
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
            walk_entries: AtomicU64::new(0),
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

    /// Where `path` really is inside the root, every symlink on the way followed (inside
    /// the root, as every read is): what a link points a program or script at.
    pub fn real_path(&self, path: &Path) -> ProbeResult<PathBuf> {
        let fd = self.open_in_root(path, OFlag::O_PATH)?;
        let real = |fd: std::os::fd::BorrowedFd<'_>| {
            std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|e| {
                ProbeError::Io {
                    path: path.display().to_string(),
                    message: format!("cannot resolve: {e}"),
                }
            })
        };
        let target = real(fd.as_fd())?;
        let root = real(self.root.as_fd())?;
        Ok(match target.strip_prefix(&root) {
            Ok(rel) => Path::new("/").join(rel),
            Err(_) => target,
        })
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

    /// Lists a directory, sorted by name. A directory with more than
    /// `limits.max_dir_entries` entries is an error ([`ProbeError::TooManyEntries`]), never
    /// a partial listing: a caller cannot judge what it was not shown.
    pub fn list_dir(&self, path: &Path) -> ProbeResult<Vec<Entry>> {
        self.list_dir_capped(path, self.limits.max_dir_entries as usize)
    }

    /// Lists a directory with an explicit entry cap (e.g. `/proc`, capped by process count).
    pub fn list_dir_capped(&self, path: &Path, cap: usize) -> ProbeResult<Vec<Entry>> {
        let fd = self.open_in_root(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(|e| ProbeError::from_errno(path, e))?;
        let mut entries = Vec::new();
        let complete = read_entries(&mut dir, path, |name, kind| {
            if entries.len() == cap {
                return false;
            }
            entries.push((name.to_owned(), kind));
            true
        })?;
        if !complete {
            self.note_cap(
                path,
                format!("more than {cap} entries; the directory was not used"),
            );
            return Err(ProbeError::TooManyEntries {
                path: path.display().to_string(),
                cap,
                limit: "limits.max_dir_entries",
            });
        }
        let mut entries: Vec<Entry> = entries
            .into_iter()
            .map(|(name, kind)| {
                // Some file systems do not say; ask.
                let kind = kind.unwrap_or_else(|| {
                    stat_at(dir.as_fd(), &path.join(&name), &name).map_or(Kind::Other, |m| m.kind)
                });
                Entry { name, kind }
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Every non-directory below `dir` (files, symlinks, devices), depth-first, sorted
    /// by name, never following symlinks, each with its `lstat`.
    ///
    /// The walk opens each directory once, relative to its parent's descriptor
    /// (`openat(O_NOFOLLOW)`), and stats each entry relative to it (`fstatat`), so no path
    /// is resolved from the root twice. It is bounded by the assessment's entry budget
    /// (`limits.max_walk_entries`, shared by every walk) and a depth guard
    /// (`limits.max_depth`); reaching either, like an unreadable subdirectory, puts a
    /// [`ProbeError`] in [`Walk::errors`] naming where it stopped, so a caller that
    /// records the walk's errors can never pass on a tree it did not finish.
    pub fn walk(&self, dir: &Path) -> Walk {
        self.walk_matching(dir, &|_| true)
    }

    /// [`HostFs::walk`] keeping only the entries `keep` accepts (a walk of a whole home
    /// that looks for setuid files need not hold every path). [`Walk::visited`] still
    /// counts every entry looked at, and the errors are the same.
    pub fn walk_matching(&self, dir: &Path, keep: &dyn Fn(&Meta) -> bool) -> Walk {
        let mut walk = Walk::default();
        match self.open_in_root(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
            Ok(fd) => self.walk_fd(fd, dir, 0, keep, &mut walk),
            // ENOTDIR reads as "not found" for a path through a file; a root that exists
            // but is no directory is something else, and cannot be walked.
            Err(e) if e.is_not_found() && self.metadata(dir).is_ok() => {
                walk.errors.push(ProbeError::NotADirectory {
                    path: dir.display().to_string(),
                });
            }
            Err(e) => walk.errors.push(e),
        }
        walk
    }

    fn walk_fd(
        &self,
        fd: OwnedFd,
        path: &Path,
        depth: u32,
        keep: &dyn Fn(&Meta) -> bool,
        walk: &mut Walk,
    ) {
        let mut dir = match nix::dir::Dir::from_fd(fd) {
            Ok(d) => d,
            Err(e) => return walk.errors.push(ProbeError::from_errno(path, e)),
        };
        let budget = self.limits.max_walk_entries;
        let mut names: Vec<(OsString, Option<Kind>)> = Vec::new();
        let mut spent = false;
        let listed = read_entries(&mut dir, path, |name, kind| {
            if self.walk_entries.fetch_add(1, Ordering::Relaxed) >= budget {
                spent = true;
                return false;
            }
            names.push((name.to_owned(), kind));
            true
        });
        if let Err(e) = listed {
            return walk.errors.push(e);
        }
        if spent {
            let reason = format!(
                "the assessment's {budget}-entry walk budget (limits.max_walk_entries) is spent"
            );
            self.note_cap(path, reason.clone());
            walk.errors.push(ProbeError::WalkCut {
                path: path.display().to_string(),
                reason,
            });
            return;
        }
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // The listing is done; the stream's descriptor serves the *at calls.
        let dir_fd = dir.as_fd();
        for (name, kind) in names {
            let child = path.join(&name);
            // A directory needs no stat of its own: it is opened (never through a link)
            // and walked; everything else is returned with its lstat.
            if kind != Some(Kind::Dir) {
                match stat_at(dir_fd, &child, &name) {
                    Ok(m) if m.kind == Kind::Dir => {}
                    Ok(m) => {
                        walk.visited += 1;
                        if keep(&m) {
                            walk.files.push((child, m));
                        }
                        continue;
                    }
                    // Removed while we walked: it is not there to judge.
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => {
                        walk.errors.push(e);
                        continue;
                    }
                }
            }
            if depth + 1 >= self.limits.max_depth {
                let reason = format!(
                    "deeper than {} levels (limits.max_depth)",
                    self.limits.max_depth
                );
                self.note_cap(&child, reason.clone());
                walk.errors.push(ProbeError::WalkCut {
                    path: child.display().to_string(),
                    reason,
                });
                continue;
            }
            let flags = OFlag::O_RDONLY
                | OFlag::O_DIRECTORY
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC
                | OFlag::O_NONBLOCK;
            match nix::fcntl::openat(dir_fd, name.as_os_str(), flags, Mode::empty()) {
                Ok(sub) => self.walk_fd(sub, &child, depth + 1, keep, walk),
                // Removed, or replaced by something else, while we walked.
                Err(Errno::ENOENT) => {}
                Err(Errno::ENOTDIR | Errno::ELOOP) => match stat_at(dir_fd, &child, &name) {
                    Ok(m) => {
                        walk.visited += 1;
                        if keep(&m) {
                            walk.files.push((child, m));
                        }
                    }
                    Err(e) if e.is_not_found() => {}
                    Err(e) => walk.errors.push(e),
                },
                Err(e) => walk.errors.push(ProbeError::from_errno(&child, e)),
            }
        }
    }

    /// Entries spent by walks so far in this assessment.
    pub fn walk_entries(&self) -> u64 {
        self.walk_entries.load(Ordering::Relaxed)
    }
}

/// Reads a directory stream, skipping `.` and `..`, handing each name and its kind (when
/// the file system reports one) to `take` until it returns false. Returns whether every
/// entry was taken.
fn read_entries(
    dir: &mut nix::dir::Dir,
    path: &Path,
    mut take: impl FnMut(&std::ffi::OsStr, Option<Kind>) -> bool,
) -> ProbeResult<bool> {
    for item in dir.iter() {
        let item = item.map_err(|e| ProbeError::from_errno(path, e))?;
        let name = item.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match item.file_type() {
            Some(nix::dir::Type::File) => Some(Kind::File),
            Some(nix::dir::Type::Directory) => Some(Kind::Dir),
            Some(nix::dir::Type::Symlink) => Some(Kind::Symlink),
            Some(_) => Some(Kind::Other),
            None => None,
        };
        if !take(std::ffi::OsStr::from_bytes(name), kind) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `lstat` of `name` in the directory `dir`; `path` is its host path, for errors.
fn stat_at(
    dir: std::os::fd::BorrowedFd<'_>,
    path: &Path,
    name: &std::ffi::OsStr,
) -> ProbeResult<Meta> {
    let st = nix::sys::stat::fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(|e| ProbeError::from_errno(path, e))?;
    let kind = match st.st_mode & nix::libc::S_IFMT {
        nix::libc::S_IFDIR => Kind::Dir,
        nix::libc::S_IFREG => Kind::File,
        nix::libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    };
    Ok(Meta {
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        size: st.st_size as u64,
        mtime: st.st_mtime,
    })
}

/// The result of [`HostFs::walk`].
#[derive(Debug, Default)]
pub struct Walk {
    /// Files, symlinks and other non-directories, with their `lstat` (those kept, for
    /// [`HostFs::walk_matching`]).
    pub files: Vec<(PathBuf, Meta)>,
    /// Every non-directory looked at, kept or not.
    pub visited: u64,
    /// What could not be walked: the root itself (`NotFound` when it does not exist), an
    /// unreadable subdirectory, or where a budget or the depth guard stopped the walk.
    pub errors: Vec<ProbeError>,
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
    fn an_overfull_directory_is_an_error_not_a_partial_listing() {
        let root = tempfile::tempdir().unwrap();
        for n in ["d", "c", "b"] {
            std::fs::write(root.path().join(n), "").unwrap();
        }
        let fs = HostFs::open(root.path(), limits()).unwrap();
        let names: Vec<String> = fs
            .list_dir(Path::new("/"))
            .unwrap()
            .iter()
            .map(Entry::name_lossy)
            .collect();
        assert_eq!(names, ["b", "c", "d"]);
        std::fs::write(root.path().join("a"), "").unwrap();
        let e = fs.list_dir(Path::new("/")).unwrap_err();
        assert!(
            matches!(e, ProbeError::TooManyEntries { cap: 3, .. }),
            "{e}"
        );
        assert_eq!(fs.caps_reached().len(), 1);
    }

    #[test]
    fn walks_visit_every_level_with_metadata_and_say_where_they_stopped() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("deep/1/2/3/4")).unwrap();
        std::fs::write(root.path().join("deep/1/2/3/4/f"), "").unwrap();
        std::fs::write(root.path().join("deep/1/f"), "x").unwrap();
        symlink("/etc/passwd", root.path().join("deep/1/link")).unwrap();
        // Wide directories are walked whole: the per-listing cap does not apply.
        for i in 0..10 {
            std::fs::write(root.path().join(format!("deep/w{i}")), "").unwrap();
        }
        let fs = HostFs::open(
            root.path(),
            Limits {
                max_depth: 16,
                ..limits()
            },
        )
        .unwrap();
        let w = fs.walk(Path::new("/deep"));
        assert!(w.errors.is_empty(), "{:?}", w.errors);
        let names: Vec<_> = w.files.iter().map(|(p, m)| (p.clone(), m.kind)).collect();
        assert_eq!(names.len(), 13);
        assert!(names.contains(&(PathBuf::from("/deep/1/2/3/4/f"), Kind::File)));
        assert!(names.contains(&(PathBuf::from("/deep/1/link"), Kind::Symlink)));
        assert_eq!(
            w.files
                .iter()
                .find(|(p, _)| p.ends_with("1/f"))
                .unwrap()
                .1
                .size,
            1
        );

        // The depth guard is an error naming the directory it did not enter.
        let shallow = HostFs::open(root.path(), limits()).unwrap();
        let w = shallow.walk(Path::new("/deep"));
        assert!(
            w.errors
                .iter()
                .any(|e| matches!(e, ProbeError::WalkCut { path, .. } if path == "/deep/1/2/3")),
            "{:?}",
            w.errors
        );

        // So is the entry budget.
        let tight = HostFs::open(
            root.path(),
            Limits {
                max_depth: 16,
                max_walk_entries: 5,
                ..limits()
            },
        )
        .unwrap();
        let w = tight.walk(Path::new("/deep"));
        let e = w.errors.first().expect("the budget stops the walk");
        assert!(e.to_string().contains("5-entry walk budget"), "{e}");
        assert!(matches!(
            HostFs::open(root.path(), limits())
                .unwrap()
                .walk(Path::new("/none"))
                .errors[..],
            [ProbeError::NotFound { .. }]
        ));
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
