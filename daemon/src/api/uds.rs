//! The socket's connections: how many each caller uid (and everyone together) may hold,
//! how long a new connection may take to start speaking HTTP/2, and how long one may sit
//! with no call in progress. Refusals are logged as summaries, not a line each.
//!
//! Every accepted connection is admitted against the per-uid and total caps before the
//! HTTP/2 server sees it. One over a cap is served for at most a second with every call
//! refused (`RESOURCE_EXHAUSTED`, naming the cap), so the client hears why; while more
//! than `MAX_REFUSING` such are open, further ones are closed at once. An admitted one is a
//! [`Conn`]: its reads fail with `TimedOut` when the 24-byte client preface has not
//! arrived within the handshake timeout, or when for the idle timeout nothing was
//! received and no call was in progress (calls are counted by [`Peer::call`], so a
//! posture watch waiting for a change is not idle), which closes it. The server sends no
//! keepalive pings of its own: on a Unix socket a peer that goes away closes it, and
//! answers to our pings would make every connection look busy.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::UCred;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;
use tonic::transport::server::Connected;

/// The HTTP/2 client connection preface is 24 bytes.
const PREFACE_LEN: usize = 24;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_uid: u32,
    pub total: u32,
    pub handshake: Duration,
    pub idle: Duration,
}

impl Limits {
    pub fn of(server: &crate::config::Server) -> Limits {
        Limits {
            per_uid: server.max_connections_per_uid,
            total: server.max_connections,
            handshake: Duration::from_millis(server.handshake_timeout_ms),
            idle: Duration::from_secs(server.idle_timeout_secs),
        }
    }
}

/// What every call on a connection can see of it: the peer's credentials, and the
/// counter that keeps the connection from being closed as idle while a call runs.
#[derive(Clone, Debug)]
pub struct Peer {
    pub cred: Option<UCred>,
    /// Set on a connection admitted only to be told why it was refused.
    pub refused: Option<Arc<str>>,
    state: Arc<ConnState>,
}

impl Peer {
    /// Marks a call in progress until the guard is dropped (a streaming call keeps it
    /// in its stream).
    pub fn call(&self) -> CallGuard {
        self.state.calls.fetch_add(1, Ordering::SeqCst);
        CallGuard(Arc::clone(&self.state))
    }
}

#[derive(Debug)]
pub struct CallGuard(Arc<ConnState>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.0.touch();
        self.0.calls.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct ConnState {
    calls: AtomicUsize,
    last_active: Mutex<Instant>,
}

impl ConnState {
    fn touch(&self) {
        if let Ok(mut t) = self.last_active.lock() {
            *t = Instant::now();
        }
    }

    fn last_active(&self) -> Instant {
        self.last_active
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

/// Open connections per uid and in total.
#[derive(Debug, Default)]
struct Census {
    by_uid: HashMap<u32, u32>,
    total: u32,
}

/// Counts one admitted connection until dropped.
#[derive(Debug)]
struct Admitted {
    census: Arc<Mutex<Census>>,
    uid: u32,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut c) = self.census.lock() {
            c.total = c.total.saturating_sub(1);
            if let Some(n) = c.by_uid.get_mut(&self.uid) {
                *n -= 1;
                if *n == 0 {
                    c.by_uid.remove(&self.uid);
                }
            }
        }
    }
}

fn admit(census: &Arc<Mutex<Census>>, uid: u32, limits: &Limits) -> Result<Admitted, String> {
    let mut c = census
        .lock()
        .map_err(|_| "connection census unavailable".to_owned())?;
    let mine = c.by_uid.get(&uid).copied().unwrap_or(0);
    if mine >= limits.per_uid {
        return Err(format!(
            "uid {uid} already has {mine} connections open (server.max_connections_per_uid)"
        ));
    }
    if c.total >= limits.total {
        return Err(format!(
            "{} connections are open (server.max_connections)",
            c.total
        ));
    }
    c.total += 1;
    *c.by_uid.entry(uid).or_insert(0) += 1;
    Ok(Admitted {
        census: Arc::clone(census),
        uid,
    })
}

/// An admitted connection, as the HTTP/2 server reads and writes it.
#[derive(Debug)]
pub struct Conn {
    io: UnixStream,
    peer: Peer,
    timer: Pin<Box<Sleep>>,
    preface_left: usize,
    limits: Limits,
    _slot: Slot,
}

/// What an open connection counts against.
#[derive(Debug)]
enum Slot {
    Admitted {
        _counted: Admitted,
    },
    /// One of the few refused connections kept open to be told why.
    Refusing(Arc<AtomicUsize>),
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Slot::Refusing(n) = self {
            n.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Refused connections kept open at once to answer their calls with the reason.
const MAX_REFUSING: usize = 64;
/// How long a refused connection may stay for that.
const REFUSING_FOR: Duration = Duration::from_secs(1);

impl Conn {
    fn new(
        io: UnixStream,
        cred: Option<UCred>,
        refused: Option<Arc<str>>,
        limits: Limits,
        slot: Slot,
    ) -> Conn {
        Conn {
            io,
            peer: Peer {
                cred,
                refused,
                state: Arc::new(ConnState {
                    calls: AtomicUsize::new(0),
                    last_active: Mutex::new(Instant::now()),
                }),
            },
            timer: Box::pin(tokio::time::sleep(limits.handshake)),
            preface_left: PREFACE_LEN,
            limits,
            _slot: slot,
        }
    }

    /// Polled when a read has nothing to give: fails the read once the connection has
    /// been silent past its handshake deadline, or idle (no call) past the idle timeout.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if self.preface_left > 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface within server.handshake_timeout_ms",
                )));
            }
            let next = if self.peer.state.calls.load(Ordering::SeqCst) > 0 {
                Instant::now() + self.limits.idle
            } else {
                let due = self.peer.state.last_active() + self.limits.idle;
                if due <= Instant::now() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "nothing received and no call for server.idle_timeout_secs",
                    )));
                }
                due
            };
            self.timer.as_mut().reset(next.into());
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n > 0 {
                    self.preface_left = self.preface_left.saturating_sub(n);
                    self.peer.state.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_deadline(cx),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Connected for Conn {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

/// Accepts connections on `listener`, admitting each against `limits`, until
/// `shutdown` turns true. The returned receiver is the server's incoming stream.
pub fn accept(
    listener: UnixListener,
    limits: Limits,
    refusals: Arc<Refusals>,
    mut shutdown: watch::Receiver<bool>,
) -> mpsc::Receiver<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(64);
    let census = Arc::new(Mutex::new(Census::default()));
    let refusing = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.wait_for(|s| *s) => return,
            };
            let io = match accepted {
                Ok((io, _)) => io,
                Err(e) => {
                    // Out of descriptors: wait for some to close instead of spinning.
                    tracing::debug!(error = %e, "accept failed");
                    refusals.record(None, "accept failed", &e.to_string());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let cred = io.peer_cred().ok();
            let uid = cred.map_or(u32::MAX, |c| c.uid());
            match admit(&census, uid, &limits) {
                Ok(admitted) => {
                    let conn = Conn::new(
                        io,
                        cred,
                        None,
                        limits,
                        Slot::Admitted { _counted: admitted },
                    );
                    if tx.send(Ok(conn)).await.is_err() {
                        return;
                    }
                }
                Err(reason) => {
                    refusals.record(Some(uid), "connection refused", &reason);
                    // Told why (every call on it is refused with the reason) while few
                    // are; under a flood, closed at once.
                    if refusing.fetch_add(1, Ordering::SeqCst) >= MAX_REFUSING {
                        refusing.fetch_sub(1, Ordering::SeqCst);
                        continue;
                    }
                    let conn = Conn::new(
                        io,
                        cred,
                        Some(Arc::from(reason.as_str())),
                        Limits {
                            handshake: REFUSING_FOR,
                            idle: REFUSING_FOR,
                            ..limits
                        },
                        Slot::Refusing(Arc::clone(&refusing)),
                    );
                    if tx.send(Ok(conn)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Refused connections and calls, counted per uid and reported as one summary line per
/// minute: the first refusal of a uid in a minute is logged at once, the rest are
/// counted, so a flood of refusals cannot flood the journal.
#[derive(Debug, Default)]
pub struct Refusals {
    window: Mutex<Window>,
    /// Refusals since the last tick of `run`.
    recent: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default)]
struct Window {
    started: Option<Instant>,
    /// (uid, what) → refusals beyond the first in this window.
    counts: HashMap<(Option<u32>, String), u64>,
}

impl Refusals {
    /// Records one refusal of kind `what` (for example "Assess refused"); `detail` is
    /// logged with the first of its kind in a window.
    pub fn record(&self, uid: Option<u32>, what: &str, detail: &str) {
        self.recent.fetch_add(1, Ordering::Relaxed);
        let Ok(mut w) = self.window.lock() else {
            return;
        };
        let w = &mut *w;
        if w.started.is_none() {
            w.started = Some(Instant::now());
        }
        if let Some(n) = w.counts.get_mut(&(uid, what.to_owned())) {
            *n += 1;
            return;
        }
        w.counts.insert((uid, what.to_owned()), 0);
        match uid {
            Some(uid) => {
                tracing::warn!(
                    uid,
                    "{what}: {detail} (more like it are summed up each minute)"
                )
            }
            None => tracing::warn!("{what}: {detail} (more like it are summed up each minute)"),
        }
    }

    /// Logs and clears the window's counts once it is a minute old.
    pub fn flush(&self) {
        let Ok(mut w) = self.window.lock() else {
            return;
        };
        if w.started
            .is_none_or(|t| t.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        for ((uid, what), n) in w.counts.drain() {
            if n == 0 {
                continue;
            }
            match uid {
                Some(uid) => tracing::warn!(uid, count = n, "{what}: {n} more in the last minute"),
                None => tracing::warn!(count = n, "{what}: {n} more in the last minute"),
            }
        }
        w.started = None;
    }

    /// Every ten seconds until `shutdown`: logs the summary of a window that is a minute
    /// old, and once refusals stop, hands the memory the flood's connections freed back
    /// to the system.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        let mut flooded = false;
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    self.flush();
                    // A tick with no refusals after one with some: the flood is over.
                    let now = self.recent.swap(0, Ordering::Relaxed) > 0;
                    if flooded && !now {
                        release_freed_memory();
                    }
                    flooded = now;
                }
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}

/// After a flood of refusals, hands the heap that its connections freed
/// back to the system, so the daemon's resident memory returns to where it was instead
/// of keeping the flood's high-water mark.
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps and in
    // its arenas; it touches no memory in use and is safe to call from any thread.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_census_caps_each_uid_and_the_total_and_frees_on_drop() {
        let census = Arc::new(Mutex::new(Census::default()));
        let limits = Limits {
            per_uid: 2,
            total: 3,
            handshake: Duration::from_secs(1),
            idle: Duration::from_secs(1),
        };
        let a1 = admit(&census, 1, &limits).unwrap();
        let _a2 = admit(&census, 1, &limits).unwrap();
        let e = admit(&census, 1, &limits).unwrap_err();
        assert!(e.contains("uid 1 already has 2 connections"), "{e}");
        let _b1 = admit(&census, 2, &limits).unwrap();
        let e = admit(&census, 3, &limits).unwrap_err();
        assert!(e.contains("3 connections are open"), "{e}");
        drop(a1);
        admit(&census, 1, &limits).unwrap();
    }
}
