//! Connecting to clawsecd's Unix socket, and saying plainly when that fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clawsec_proto::pb::claw_sec_client::ClawSecClient;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// The system socket.
pub const SYSTEM_SOCKET: &str = "/run/clawsec/clawsecd.sock";

/// Why a command could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot reach clawsecd at {path}: {reason}{tried} (is the daemon running? pass --socket PATH otherwise)",
        tried = tried()
    )]
    Unreachable { path: PathBuf, reason: String },
    #[error("permission denied on {path}: {hint}{tried}", hint = forbidden_hint(path), tried = tried())]
    Forbidden { path: PathBuf },
    #[error("clawsecd at {path} refused: {message}")]
    Refused {
        path: PathBuf,
        code: tonic::Code,
        message: String,
    },
    #[error("{0}")]
    Io(String),
}

impl ClientError {
    pub fn from_status(path: &Path, s: tonic::Status) -> Self {
        match s.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                ClientError::Unreachable {
                    path: path.to_path_buf(),
                    reason: s.message().to_owned(),
                }
            }
            code => ClientError::Refused {
                path: path.to_path_buf(),
                code,
                message: s.message().to_owned(),
            },
        }
    }
}

/// What discovery tried before settling on a socket, for the error when that one fails
/// too: "also tried /run/clawsec/clawsecd.sock: no such file".
static TRIED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The socket to use: `--socket`, else `$CLAWSEC_SOCKET`, else the first of this user's
/// dev-mode socket and the system socket (root: system first) that has a daemon
/// answering. When none answers, the most telling one (exists, then the first) is
/// returned and the others' reasons are kept for the error message.
pub fn socket_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("CLAWSEC_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let candidates = candidates(is_root(), &|k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let mut failures: Vec<(PathBuf, std::io::Error)> = Vec::new();
    for c in &candidates {
        // A connect that succeeds is closed at once: the daemon counts it as a connection
        // that sent nothing, and the real one follows.
        match std::os::unix::net::UnixStream::connect(c) {
            Ok(_) => return c.clone(),
            Err(e) => failures.push((c.clone(), e)),
        }
    }
    // None answers: report on the one that exists (a permission problem or a stale socket
    // says more than "no such file"), naming the others.
    let pick = failures
        .iter()
        .position(|(_, e)| e.kind() != std::io::ErrorKind::NotFound)
        .unwrap_or(0);
    let others: Vec<String> = failures
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != pick)
        .map(|(_, (p, e))| format!("{}: {}", p.display(), plain(e)))
        .collect();
    if !others.is_empty() {
        let _ = TRIED.set(format!("; also tried {}", others.join(", ")));
    }
    failures.swap_remove(pick).0
}

/// Where a daemon may be listening, in the order to try: an unprivileged user's own dev
/// daemon first, then the system one; root the other way round.
fn candidates(root: bool, env: &dyn Fn(&str) -> Option<PathBuf>) -> Vec<PathBuf> {
    let home = env("HOME").unwrap_or_else(|| PathBuf::from("/tmp"));
    let state = env("XDG_STATE_HOME")
        .unwrap_or_else(|| home.join(".local/state"))
        .join("clawsec");
    let dev = match env("XDG_RUNTIME_DIR") {
        Some(run) => run.join("clawsec/clawsecd.sock"),
        None => state.join("run/clawsec/clawsecd.sock"),
    };
    let system = PathBuf::from(SYSTEM_SOCKET);
    if root {
        vec![system, dev]
    } else {
        vec![dev, system]
    }
}

/// An I/O error's message without the "(os error N)" tail.
fn plain(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::ConnectionRefused => {
            "nothing listening (a socket left by a stopped daemon)".to_owned()
        }
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // Reading our own uid needs no dependency: /proc/self is ours.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// The note naming the sockets discovery tried besides the one in the error.
fn tried() -> &'static str {
    TRIED.get().map(String::as_str).unwrap_or("")
}

/// The name of group `gid` (read from /etc/group; no NSS lookup).
fn group_name(gid: u32) -> Option<String> {
    std::fs::read_to_string("/etc/group")
        .ok()?
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            f.nth(1)?.parse::<u32>().ok().filter(|g| *g == gid)?;
            Some(name.to_owned())
        })
}

/// What to tell a caller the socket refused by file permissions: who may use it, from
/// the socket's own owner and group, never a group that does not exist.
fn forbidden_hint(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => match group_name(m.gid()) {
            Some(group) => format!(
                "only root, its owner (uid {}) and members of group {group} may use it (an admin can run: usermod -aG {group} USER)",
                m.uid()
            ),
            None => format!(
                "only root and its owner (uid {}) may use it; run as that user, or start your own daemon (clawsecd without root serves your dev-mode socket)",
                m.uid()
            ),
        },
        // Its directory is closed to us (the system socket's is 0750 root:clawsec): the
        // directory's group is who may come in.
        Err(_) => {
            let dir = path.parent().unwrap_or(Path::new("/"));
            match std::fs::metadata(dir)
                .ok()
                .and_then(|m| group_name(m.gid()))
            {
                Some(group) => format!(
                    "its directory {} is open only to root and members of group {group} (an admin can run: usermod -aG {group} USER)",
                    dir.display()
                ),
                None => format!(
                    "its directory {} is closed to you; run as root or as its owner",
                    dir.display()
                ),
            }
        }
    }
}

/// Connects, with a deadline for the connection and each call.
pub async fn connect(
    path: &Path,
    timeout: Duration,
) -> Result<ClawSecClient<Channel>, ClientError> {
    let channel = channel(path, timeout).await?;
    Ok(ClawSecClient::new(channel))
}

pub async fn channel(path: &Path, timeout: Duration) -> Result<Channel, ClientError> {
    let socket = path.to_path_buf();
    // The URI is required by the HTTP/2 layer but unused: the connector dials the socket.
    Endpoint::try_from("http://localhost")
        .map_err(|e| ClientError::Io(e.to_string()))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { UnixStream::connect(socket).await.map(TokioIo::new) }
        }))
        .await
        .map_err(|e| {
            let reason = match io_error_kind(&e) {
                Some(std::io::ErrorKind::PermissionDenied) => {
                    return ClientError::Forbidden {
                        path: path.to_path_buf(),
                    };
                }
                Some(
                    kind @ (std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused),
                ) => plain(&std::io::Error::from(kind)),
                _ => causes(&e),
            };
            ClientError::Unreachable {
                path: path.to_path_buf(),
                reason,
            }
        })
}

/// `e`'s causes, outermost first, each said once.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
        cause = c.source();
    }
    if said.is_empty() {
        said.push(e.to_string());
    }
    said.join(": ")
}

/// The kind of the I/O error somewhere in `e`'s chain of causes.
fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = c.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<PathBuf> {
        match k {
            "HOME" => Some(PathBuf::from("/home/ada")),
            "XDG_RUNTIME_DIR" => Some(PathBuf::from("/run/user/1000")),
            _ => None,
        }
    }

    #[test]
    fn a_user_tries_their_own_dev_daemon_first_and_root_the_system_one() {
        let user = candidates(false, &env);
        assert_eq!(
            user,
            [
                PathBuf::from("/run/user/1000/clawsec/clawsecd.sock"),
                PathBuf::from(SYSTEM_SOCKET)
            ]
        );
        let root = candidates(true, &env);
        assert_eq!(root[0], PathBuf::from(SYSTEM_SOCKET));
    }

    #[test]
    fn without_a_runtime_dir_the_dev_socket_is_under_the_state_dir() {
        let no_runtime = |k: &str| (k == "HOME").then(|| PathBuf::from("/home/ada"));
        assert_eq!(
            candidates(false, &no_runtime)[0],
            PathBuf::from("/home/ada/.local/state/clawsec/run/clawsec/clawsecd.sock")
        );
    }
}
