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
        "cannot reach clawsecd at {path}: {reason} (is the daemon running? pass --socket PATH otherwise)"
    )]
    Unreachable { path: PathBuf, reason: String },
    #[error(
        "permission denied on {path}: only root and members of group clawsec may use clawsecd (an admin can run: usermod -aG clawsec USER)"
    )]
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

/// The socket to use: `--socket`, else `$CLAWSEC_SOCKET`, else the system socket when it
/// exists, else the unprivileged dev-mode socket of this user.
pub fn socket_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("CLAWSEC_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    // A socket we may not even look at (its directory is 0750 root:clawsec) still means the
    // system daemon is there: use it, so the caller hears "permission denied" and why.
    if Path::new(SYSTEM_SOCKET).try_exists().unwrap_or(true) {
        return PathBuf::from(SYSTEM_SOCKET);
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME").unwrap_or_else(|| PathBuf::from("/tmp"));
    let state = env("XDG_STATE_HOME")
        .unwrap_or_else(|| home.join(".local/state"))
        .join("clawsec");
    match env("XDG_RUNTIME_DIR") {
        Some(run) => run.join("clawsec/clawsecd.sock"),
        None if nix_is_root() => PathBuf::from(SYSTEM_SOCKET),
        None => state.join("run/clawsec/clawsecd.sock"),
    }
}

fn nix_is_root() -> bool {
    // Reading our own uid needs no dependency: /proc/self is ours.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
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
            if io_error_kind(&e) == Some(std::io::ErrorKind::PermissionDenied) {
                return ClientError::Forbidden {
                    path: path.to_path_buf(),
                };
            }
            ClientError::Unreachable {
                path: path.to_path_buf(),
                reason: causes(&e),
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
