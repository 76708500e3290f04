//! Writing files: one rule for everything ClawSec writes on a user's behalf, and one for
//! ClawSec's own files (keys and state).
//!
//! A path a user names ([`write_output`]) is never replaced when it is not an ordinary
//! file: `-` is standard output; an existing character device, FIFO or socket, or a
//! symlink to one (`/dev/null`, `/dev/stdout`, `/proc/self/fd/N`), is opened and written
//! as a stream; a path that is the very file our standard output or error already has
//! open is written through that descriptor (so `--out /dev/stdout >> log` appends); an
//! existing regular file, or a symlink to one, is replaced atomically at the symlink's
//! target, leaving the link in place; a new file is created atomically. A directory, a
//! block device, a dangling symlink or a missing parent directory is an error naming
//! the path.
//!
//! ClawSec's own files ([`write_owned`]: private keys, public keys beside them, the
//! database's companions, baselines) are never written to a stream or through a
//! symlink: an existing symlink or non-regular file there is refused, so nothing
//! planted in a key or state directory can redirect a write.
//!
//! Atomic means: a new temporary file beside the target (`O_EXCL | O_NOFOLLOW`), fsync,
//! rename over the target, fsync of the directory; a crash leaves the old content or
//! the new, never a mix.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a panic is the standard library's "failed printing to stdout: Broken pipe":
/// the reader of our output went away (`clawsecctl posture | head`). Programs end
/// quietly then, with status 141 as if killed by SIGPIPE.
pub fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = panic_message(payload);
    message.starts_with("failed printing to std") && message.contains("Broken pipe")
}

/// A panic's message, when it has one (`panic!` with a literal or a format).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or_default()
}

/// The exit status after a broken pipe: 128 + SIGPIPE, what a shell reports for a
/// program the signal ended.
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Why a file could not be written. Every message starts with the path.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: is a directory; name a file inside it")]
    IsDirectory { path: PathBuf },
    #[error("{path}: directory {parent} does not exist")]
    MissingParent { path: PathBuf, parent: PathBuf },
    #[error("{path}: {parent} is not a directory")]
    ParentNotDirectory { path: PathBuf, parent: PathBuf },
    #[error("{path}: is a symlink to a file that does not exist")]
    DanglingSymlink { path: PathBuf },
    #[error("{path}: is a block device; refusing to write to it")]
    BlockDevice { path: PathBuf },
    #[error("{path}: is a symlink; ClawSec's own files are never written through a symlink")]
    OwnedSymlink { path: PathBuf },
    #[error(
        "{path}: is a {kind}, not a regular file; ClawSec's own files are never written to one"
    )]
    OwnedNotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: private and state files are never written to standard output")]
    OwnedStdout { path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where [`write_output`] put the bytes, for a summary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Standard output (`-`, or a path naming the file our standard output has open).
    Stdout,
    /// Standard error (a path naming the file our standard error has open).
    Stderr,
    /// A device, FIFO or socket, written as a stream; the path is the one given.
    Stream(PathBuf),
    /// A regular file, replaced or created atomically; the path is the file itself
    /// (a symlink's final target).
    File(PathBuf),
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Written::Stdout => f.write_str("standard output"),
            Written::Stderr => f.write_str("standard error"),
            Written::Stream(p) | Written::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Writes `bytes` to a path a user named, by the rule in the module docs. `mode` is the
/// permission of a regular file created or replaced.
pub fn write_output(path: &Path, bytes: &[u8], mode: u32) -> Result<Written, OutputError> {
    if path.as_os_str() == "-" {
        write_stdio(io::stdout().lock(), bytes).map_err(io_err(path))?;
        return Ok(Written::Stdout);
    }
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            check_parent(path)?;
            replace_atomically(path, bytes, mode)?;
            return Ok(Written::File(path.to_path_buf()));
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let target = if meta.file_type().is_symlink() {
        match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(OutputError::DanglingSymlink { path: path.into() });
            }
            Err(e) => return Err(io_err(path)(e)),
        }
    } else {
        meta.clone()
    };
    if let Some(std) = own_stdio(&target) {
        return match std {
            Written::Stderr => write_stdio(io::stderr().lock(), bytes),
            _ => write_stdio(io::stdout().lock(), bytes),
        }
        .map(|()| std)
        .map_err(io_err(path));
    }
    let kind = target.file_type();
    if kind.is_dir() {
        Err(OutputError::IsDirectory { path: path.into() })
    } else if kind.is_block_device() {
        Err(OutputError::BlockDevice { path: path.into() })
    } else if kind.is_file() {
        // Replace the file the link points at, not the link.
        let real = if meta.file_type().is_symlink() {
            fs::canonicalize(path).map_err(io_err(path))?
        } else {
            path.to_path_buf()
        };
        replace_atomically(&real, bytes, mode)?;
        Ok(Written::File(real))
    } else if kind.is_socket() {
        let mut s = std::os::unix::net::UnixStream::connect(path).map_err(io_err(path))?;
        s.write_all(bytes).map_err(io_err(path))?;
        Ok(Written::Stream(path.into()))
    } else {
        // A character device or a FIFO. Opening a FIFO waits for its reader, as a shell
        // redirection does. No O_CREAT and no O_TRUNC: the node exists and is kept.
        let mut f = OpenOptions::new()
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits())
            .open(path)
            .map_err(io_err(path))?;
        f.write_all(bytes).map_err(io_err(path))?;
        Ok(Written::Stream(path.into()))
    }
}

/// Writes one of ClawSec's own files (a key, a public key beside it, a state file)
/// atomically with `mode`, refusing `-`, an existing symlink and an existing file that
/// is not regular.
pub fn write_owned(path: &Path, bytes: &[u8], mode: u32) -> Result<(), OutputError> {
    if path.as_os_str() == "-" {
        return Err(OutputError::OwnedStdout { path: path.into() });
    }
    check_owned(path)?;
    check_parent(path)?;
    replace_atomically(path, bytes, mode)
}

/// Refuses a path inside ClawSec's own directories that is a symlink or exists as
/// anything but a regular file; a missing path is fine (it will be created).
pub fn check_owned(path: &Path) -> Result<(), OutputError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(OutputError::OwnedSymlink { path: path.into() }),
        Ok(m) if !m.file_type().is_file() => Err(OutputError::OwnedNotRegular {
            path: path.into(),
            kind: kind_name(&m),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn kind_name(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// The directory a path's file is created in: its parent, or `.` for a bare name.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn check_parent(path: &Path) -> Result<(), OutputError> {
    let parent = parent_of(path);
    match fs::metadata(parent) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(OutputError::ParentNotDirectory {
            path: path.into(),
            parent: parent.into(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(OutputError::MissingParent {
            path: path.into(),
            parent: parent.into(),
        }),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// `Stdout` or `Stderr` when `target` is the very file that descriptor has open.
fn own_stdio(target: &Metadata) -> Option<Written> {
    let same = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .ok()
            .and_then(|owned| File::from(owned).metadata().ok())
            .is_some_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
    };
    if same(io::stdout().as_fd()) {
        Some(Written::Stdout)
    } else if same(io::stderr().as_fd()) {
        Some(Written::Stderr)
    } else {
        None
    }
}

fn write_stdio(mut out: impl Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// A temporary file beside `path`, fsync, rename over it, fsync of the directory.
fn replace_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), OutputError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent_of(path);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(&tmp)?;
        // The umask may have narrowed `mode`; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn new_and_existing_regular_files_are_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        assert_eq!(
            write_output(&path, b"one", 0o644).unwrap(),
            Written::File(path.clone())
        );
        let first = fs::metadata(&path).unwrap().ino();
        write_output(&path, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_ne!(
            fs::metadata(&path).unwrap().ino(),
            first,
            "renamed, not rewritten"
        );
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_to_a_regular_file_keeps_the_link_and_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        symlink(&real, &link).unwrap();
        let written = write_output(&link, b"new", 0o644).unwrap();
        assert_eq!(written, Written::File(fs::canonicalize(&real).unwrap()));
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn directories_missing_parents_and_dangling_links_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_output(dir.path(), b"x", 0o644).unwrap_err();
        assert!(matches!(e, OutputError::IsDirectory { .. }), "{e}");
        assert!(e.to_string().starts_with(&dir.path().display().to_string()));

        let deep = dir.path().join("no/such/dir/a.json");
        let e = write_output(&deep, b"x", 0o644).unwrap_err();
        assert!(e.to_string().contains("no/such/dir does not exist"), "{e}");
        assert!(!dir.path().join("no").exists());

        let dangling = dir.path().join("dangling");
        symlink(dir.path().join("missing"), &dangling).unwrap();
        let e = write_output(&dangling, b"x", 0o644).unwrap_err();
        assert!(matches!(e, OutputError::DanglingSymlink { .. }), "{e}");
        assert!(!dir.path().join("missing").exists());
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        let here = std::env::current_dir().unwrap();
        std::env::set_current_dir(dir.path()).unwrap();
        let result = write_output(Path::new("out.json"), b"{}", 0o644);
        std::env::set_current_dir(here).unwrap();
        assert_eq!(result.unwrap(), Written::File("out.json".into()));
        assert_eq!(fs::read(dir.path().join("out.json")).unwrap(), b"{}");
    }

    #[test]
    fn a_fifo_is_written_as_a_stream_and_stays_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let inode = fs::metadata(&fifo).unwrap().ino();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        assert_eq!(
            write_output(&fifo, b"through the pipe", 0o644).unwrap(),
            Written::Stream(fifo.clone())
        );
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        let after = fs::symlink_metadata(&fifo).unwrap();
        assert!(after.file_type().is_fifo());
        assert_eq!(after.ino(), inode);
    }

    #[test]
    fn dev_null_is_a_stream_and_stays_a_device() {
        let before = fs::metadata("/dev/null").unwrap();
        let written = write_output(Path::new("/dev/null"), b"discarded", 0o644).unwrap();
        assert_eq!(written, Written::Stream("/dev/null".into()));
        let after = fs::symlink_metadata("/dev/null").unwrap();
        assert!(after.file_type().is_char_device());
        assert_eq!(after.rdev(), before.rdev());
        assert_eq!(after.ino(), before.ino());
    }

    #[test]
    fn owned_files_refuse_symlinks_streams_and_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, "keep").unwrap();
        let key = dir.path().join("attestation.key");
        symlink(&target, &key).unwrap();
        let e = write_owned(&key, b"secret", 0o600).unwrap_err();
        assert!(matches!(e, OutputError::OwnedSymlink { .. }), "{e}");
        assert_eq!(fs::read(&target).unwrap(), b"keep");

        let fifo = dir.path().join("fifo.key");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = write_owned(&fifo, b"secret", 0o600).unwrap_err();
        assert!(
            e.to_string().contains("is a FIFO, not a regular file"),
            "{e}"
        );

        let e = write_owned(Path::new("-"), b"secret", 0o600).unwrap_err();
        assert!(matches!(e, OutputError::OwnedStdout { .. }), "{e}");

        let plain = dir.path().join("plain.key");
        write_owned(&plain, b"secret", 0o600).unwrap();
        assert_eq!(fs::metadata(&plain).unwrap().mode() & 0o777, 0o600);
    }
}
