//! The long-running daemon: socket, systemd protocol, scheduler, signals.
//!
//! Start-up order (what systemd and clients may rely on): take the socket (socket
//! activation's passed fd, or bind it, replacing a stale file only when nothing answers
//! on it), set mode 0660 and the configured group, run the first assessment and sign it,
//! and only then send `READY=1` and start answering. `SIGHUP` reloads the config (a bad
//! file keeps the old one and says why, in the log and `STATUS=`); `SIGTERM` stops
//! accepting, lets in-flight calls finish, and exits 0 after `STOPPING=1`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clawsec_proto::pb::claw_sec_server::ClawSecServer;
use sd_notify::NotifyState;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;

use crate::api::grpc::Api;
use crate::checks::Domain;
use crate::config::Loaded;
use crate::service::{Options, Service, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{path}: another clawsecd is already running (it answered on this socket)")]
    AlreadyRunning { path: PathBuf },
    #[error("{path}: exists and is not a socket; refusing to replace it")]
    NotASocket { path: PathBuf },
    #[error("{path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("socket activation: {0}")]
    Activation(String),
    #[error("state directory: {0}")]
    StateDir(#[from] clawsec_proto::attestation::keyfiles::KeyFileError),
    #[error("{0}")]
    Service(#[from] crate::service::ServiceError),
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// What `clawsecd` (without --assess-only) was asked to do.
#[derive(Debug, Clone)]
pub struct Settings {
    pub socket: PathBuf,
    pub options: Options,
}

/// Runs the daemon until SIGTERM/SIGINT. Blocks.
pub fn run(loaded: Loaded, settings: Settings) -> Result<(), ServerError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("clawsecd")
        .build()
        .map_err(ServerError::Runtime)?;
    rt.block_on(serve(loaded, settings))
}

async fn serve(loaded: Loaded, settings: Settings) -> Result<(), ServerError> {
    // The state directory first, owner-only: in dev mode the socket's directory lies
    // inside it, and binding must not create it with looser permissions.
    clawsec_proto::attestation::keyfiles::create_private_dir(&settings.options.state_dir)?;
    let group = loaded.config.server.socket_group.clone();
    // A socket we bound is ours to remove when we stop (cleanly or on an error after
    // binding); one systemd passed belongs to systemd.
    let (listener, _bound) = match activated_listener()? {
        Some(l) => {
            tracing::info!("using the socket passed by systemd (socket activation)");
            (l, None)
        }
        None => {
            let l = bind(&settings.socket, &group)?;
            let bound = BoundSocket::new(&settings.socket);
            (l, bound)
        }
    };
    let server_cfg = loaded.config.server.clone();
    let opts = settings.options.clone();
    let service = tokio::task::spawn_blocking(move || Service::start(loaded, opts))
        .await
        .map_err(|e| ServerError::Runtime(std::io::Error::other(e)))??;
    let first = service.snapshot();
    tracing::info!(
        tier = first.posture.trust_tier.id(),
        score = first.posture.overall_score,
        seq = first.attestation.seq,
        "first assessment signed"
    );

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<ClawSecServer<Api>>().await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(clawsec_proto::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServerError::Activation(e.to_string()))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(clawsec_proto::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| ServerError::Activation(e.to_string()))?;
    let refusals = Arc::new(crate::api::uds::Refusals::default());
    let api = ClawSecServer::new(Api::new(Arc::clone(&service), Arc::clone(&refusals)))
        .max_decoding_message_size(server_cfg.max_request_bytes as usize);

    // File watches go in before READY too: a change made right after READY is seen.
    let events_cfg = service.config().config.events.clone();
    let prepared_events = if events_cfg.enabled {
        let svc = Arc::clone(&service);
        let counters = service.counters();
        tokio::task::spawn_blocking(move || crate::events::prepare(&svc, events_cfg, counters))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    // Signal handlers go in before READY: a SIGTERM right after READY must stop us
    // gracefully, not kill us with the default action.
    let handlers = Signals::install().map_err(ServerError::Runtime)?;
    notify(&[
        NotifyState::Ready,
        NotifyState::Status(&status_line(&first)),
    ]);
    tokio::spawn(scheduler(Arc::clone(&service), shutdown_rx.clone()));
    if let Some(events) = prepared_events {
        tokio::spawn(crate::events::run(
            events,
            Arc::clone(&service),
            shutdown_rx.clone(),
        ));
    }
    tokio::spawn(status_updates(Arc::clone(&service), shutdown_rx.clone()));
    if let Some(period) = sd_notify::watchdog_enabled() {
        tokio::spawn(watchdog(Arc::clone(&service), period, shutdown_rx.clone()));
    }
    tokio::spawn(signals(handlers, Arc::clone(&service), shutdown_tx));

    // Connections are admitted per uid and in total, and timed out when silent.
    let incoming = crate::api::uds::accept(
        listener,
        crate::api::uds::Limits::of(&server_cfg),
        Arc::clone(&refusals),
        shutdown_rx.clone(),
    );
    tokio::spawn(Arc::clone(&refusals).run(shutdown_rx.clone()));
    let mut stop = shutdown_rx.clone();
    let result = tonic::transport::Server::builder()
        .timeout(Duration::from_millis(server_cfg.request_timeout_ms))
        .concurrency_limit_per_connection(server_cfg.max_concurrent_per_connection as usize)
        // Advertised to the peer, so a client opening stream after stream on one
        // connection is refused by HTTP/2 itself rather than queued without bound.
        .max_concurrent_streams(server_cfg.max_concurrent_per_connection)
        .http2_max_header_list_size(16 * 1024)
        // No keepalive pings: on a Unix socket a vanished peer closes the connection, and
        // the idle timeout (`api::uds`) closes one that only sits there.
        .http2_keepalive_interval(None)
        .add_service(api)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(ReceiverStream::new(incoming), async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    // In-flight calls have finished; the store flushed every commit as it happened.
    tracing::info!("stopped");
    result.map_err(ServerError::from)
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// `STATUS=` text: what `systemctl status` shows.
pub fn status_line(s: &Snapshot) -> String {
    format!(
        "{} {}/100, {} failing critical, attestation seq {}",
        s.posture.trust_tier.id(),
        s.posture.overall_score,
        s.posture.critical_failures.len(),
        s.attestation.seq
    )
}

/// The socket systemd passed (`LISTEN_FDS`), if any.
#[allow(unsafe_code)]
fn activated_listener() -> Result<Option<UnixListener>, ServerError> {
    use std::os::fd::FromRawFd;
    let mut fds = sd_notify::listen_fds().map_err(|e| ServerError::Activation(e.to_string()))?;
    let Some(fd) = fds.next() else {
        return Ok(None);
    };
    if fds.next().is_some() {
        return Err(ServerError::Activation(
            "expected exactly one socket".into(),
        ));
    }
    let st = nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
        .map_err(|e| ServerError::Activation(format!("fd {fd}: {e}")))?;
    if st.st_mode & libc_s_ifmt() != libc_s_ifsock() {
        return Err(ServerError::Activation(format!("fd {fd} is not a socket")));
    }
    // SAFETY: systemd passed this descriptor to this process (LISTEN_PID matched, checked
    // by listen_fds), it is a socket (checked above), and nothing else in the process
    // knows about it: we take sole ownership exactly once.
    let std_listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
    std_listener
        .set_nonblocking(true)
        .map_err(|e| ServerError::Activation(e.to_string()))?;
    UnixListener::from_std(std_listener)
        .map(Some)
        .map_err(|e| ServerError::Activation(e.to_string()))
}

const fn libc_s_ifmt() -> u32 {
    0o170000
}
const fn libc_s_ifsock() -> u32 {
    0o140000
}

/// Binds the socket: mode 0660, owned by `group` when it exists. A socket file left by a
/// dead daemon is replaced; a live daemon on it is an error.
pub fn bind(path: &Path, group: &str) -> Result<UnixListener, ServerError> {
    let io = |source| ServerError::Socket {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(io)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            use std::os::unix::fs::FileTypeExt;
            if !m.file_type().is_socket() {
                return Err(ServerError::NotASocket {
                    path: path.to_path_buf(),
                });
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(ServerError::AlreadyRunning {
                    path: path.to_path_buf(),
                });
            }
            tracing::info!(path = %path.display(), "replacing a stale socket");
            std::fs::remove_file(path).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
    if !group.is_empty() {
        match nix::unistd::Group::from_name(group) {
            Ok(Some(g)) => {
                if let Err(e) = nix::unistd::chown(path, None, Some(g.gid)) {
                    tracing::warn!(group, error = %e, "cannot give the socket to its group");
                }
            }
            _ => tracing::info!(
                group,
                "socket group does not exist; the socket keeps the daemon's group"
            ),
        }
    }
    Ok(listener)
}

use std::os::unix::fs::DirBuilderExt;

/// The socket file this daemon bound, removed when dropped if the path still names that
/// very file (a successor may have replaced it; its socket is not ours to remove).
#[derive(Debug)]
struct BoundSocket {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl BoundSocket {
    fn new(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(BoundSocket {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the socket");
        }
    }
}

/// Runs each domain on its own interval (with splay), and re-signs before the
/// attestation expires when nothing is due.
async fn scheduler(service: Arc<Service>, mut stop: watch::Receiver<bool>) {
    use tokio::time::{Instant, sleep_until};
    let now = Instant::now();
    let mut next: Vec<(Domain, Instant)> = Domain::ALL
        .iter()
        .map(|d| (*d, now + interval(&service, *d, d.id().len() as u64)))
        .collect();
    let mut round = 0u64;
    loop {
        let validity = Duration::from_secs(service.config().config.attestation.validity_secs);
        // Re-sign with a third of the validity left, so a verifier never sees a gap.
        let resign_at = Instant::now()
            + validity
                .mul_f64(2.0 / 3.0)
                .saturating_sub(service.snapshot().age().min(validity));
        let due_at = next.iter().map(|(_, t)| *t).min().unwrap_or(resign_at);
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = sleep_until(due_at.min(resign_at)) => {}
        }
        let now = Instant::now();
        let due: Vec<Domain> = next
            .iter()
            .filter(|(_, t)| *t <= now)
            .map(|(d, _)| *d)
            .collect();
        if due.is_empty() {
            if let Err(e) = service.refresh_attestation().await {
                tracing::error!(error = %e, "re-signing failed");
            }
            continue;
        }
        round += 1;
        for (d, t) in next.iter_mut() {
            if due.contains(d) {
                *t = now + interval(&service, *d, round);
            }
        }
        let started = std::time::Instant::now();
        match service.run_scheduled(due.clone()).await {
            // A person reads the lines where something changed; the rest are DEBUG.
            Ok(s) if !s.changed_checks.is_empty() => tracing::info!(
                domains = ?due.iter().map(|d| d.id()).collect::<Vec<_>>(),
                tier = s.posture.trust_tier.id(),
                score = s.posture.overall_score,
                seq = s.attestation.seq,
                changed = ?s.changed_checks,
                ms = started.elapsed().as_millis() as u64,
                "assessed: the posture changed"
            ),
            Ok(s) => tracing::debug!(
                domains = ?due.iter().map(|d| d.id()).collect::<Vec<_>>(),
                seq = s.attestation.seq,
                ms = started.elapsed().as_millis() as u64,
                "assessed"
            ),
            Err(e) => tracing::error!(error = %e, "scheduled assessment failed"),
        }
    }
}

/// A domain's interval, spread by up to the configured splay (deterministic per round,
/// so runs drift apart without a random number generator).
fn interval(service: &Service, domain: Domain, round: u64) -> Duration {
    let cfg = service.config();
    let base = cfg.config.schedule.interval(domain) * 1000;
    let splay = base * u64::from(cfg.config.schedule.splay_percent) / 100;
    let jitter = if splay == 0 {
        0
    } else {
        (round.wrapping_mul(2_654_435_761) ^ (domain as u64 * 40_503)) % (splay + 1)
    };
    Duration::from_millis(base - splay / 2 + jitter)
}

/// Keeps `STATUS=` current.
async fn status_updates(service: Arc<Service>, mut stop: watch::Receiver<bool>) {
    let mut rx = service.subscribe();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            changed = rx.changed() => {
                if changed.is_err() { return; }
                let snap = rx.borrow_and_update().clone();
                notify(&[NotifyState::Status(&status_line(&snap))]);
            }
        }
    }
}

/// Pings systemd's watchdog at half its period, but only while the daemon is healthy:
/// an assessment stuck far past the check timeout stops the pings, so systemd restarts us.
async fn watchdog(service: Arc<Service>, period: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tick.tick() => {}
        }
        let limit = Duration::from_millis(service.config().config.limits.check_timeout_ms) * 3;
        match service.busy_for() {
            Some(busy) if busy > limit => {
                tracing::error!(
                    busy_ms = busy.as_millis() as u64,
                    "assessment stuck; withholding the watchdog ping"
                );
            }
            _ => notify(&[NotifyState::Watchdog]),
        }
    }
}

/// SIGHUP, SIGTERM and SIGINT, captured from the moment they are installed.
struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

async fn signals(handlers: Signals, service: Arc<Service>, shutdown: watch::Sender<bool>) {
    let Signals {
        mut hup,
        mut term,
        mut int,
    } = handlers;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let mono = NotifyState::monotonic_usec_now();
                let mut states = vec![NotifyState::Reloading];
                if let Ok(m) = mono { states.push(m); }
                notify(&states);
                match service.reload_config() {
                    Ok(reloaded) => {
                        tracing::info!(config_digest = reloaded.config_digest, "configuration reloaded");
                        for line in &reloaded.restart_required {
                            tracing::warn!("{line}");
                        }
                        notify(&[NotifyState::Ready, NotifyState::Status(&status_line(&service.snapshot()))]);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "reload refused; still running on the previous configuration");
                        let line = format!("reload failed, running on previous config: {e}");
                        notify(&[NotifyState::Ready, NotifyState::Status(&line)]);
                    }
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("stopping: finishing in-flight calls");
    notify(&[NotifyState::Stopping]);
    let _ = shutdown.send(true);
}
