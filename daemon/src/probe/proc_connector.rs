//! The kernel's process connector (netlink `NETLINK_CONNECTOR`, `CN_IDX_PROC`): exec and
//! exit notifications as they happen, so a new process is judged without waiting for the
//! next `/proc` poll. Needs `CAP_NET_ADMIN` (root); without it, `open` fails and the poll
//! alone applies. It reports the live host's processes, so it is used only when the host
//! root is `/`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::sys::socket::{MsgFlags, NetlinkAddr, bind, recv, send};

const NETLINK_CONNECTOR: i32 = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDR: usize = 16;
const CN_MSG_HDR: usize = 20;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// A process (a thread group, not a thread) started a new program, or exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcEvent {
    Exec(u32),
    Exit(u32),
}

/// A subscription to the kernel's process events.
#[derive(Debug)]
pub struct Connector {
    fd: OwnedFd,
}

impl Connector {
    /// Subscribes. Fails without privilege or on kernels without the connector.
    #[allow(unsafe_code)]
    pub fn open() -> io::Result<Connector> {
        // SAFETY: a plain socket(2) call with constant arguments; nix has no protocol
        // constant for the connector. The result is checked before use.
        let raw = unsafe {
            nix::libc::socket(
                nix::libc::AF_NETLINK,
                nix::libc::SOCK_DGRAM | nix::libc::SOCK_CLOEXEC,
                NETLINK_CONNECTOR,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor this function just created and owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, CN_IDX_PROC)).map_err(io::Error::from)?;
        send(fd.as_raw_fd(), &listen_message(), MsgFlags::empty()).map_err(io::Error::from)?;
        Ok(Connector { fd })
    }

    /// Makes `next` give up after `timeout` (an empty result) instead of blocking forever.
    pub fn set_timeout(&self, timeout: std::time::Duration) -> io::Result<()> {
        let tv =
            nix::sys::time::TimeVal::new(timeout.as_secs() as i64, timeout.subsec_micros() as i64);
        nix::sys::socket::setsockopt(&self.fd, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
            .map_err(io::Error::from)
    }

    /// Blocks until the kernel sends events (or the timeout passes: then empty); returns
    /// the exec and exit events among them.
    pub fn next(&self, buf: &mut [u8]) -> io::Result<Vec<ProcEvent>> {
        let n = match recv(self.fd.as_raw_fd(), buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return Ok(Vec::new()),
            Err(e) => return Err(io::Error::from(e)),
        };
        Ok(parse(&buf[..n], std::process::id()))
    }
}

/// nlmsghdr + cn_msg + PROC_CN_MCAST_LISTEN, native endian as the kernel expects.
fn listen_message() -> Vec<u8> {
    let payload = 4u16;
    let total = (NLMSG_HDR + CN_MSG_HDR + payload as usize) as u32;
    let mut m = Vec::with_capacity(total as usize);
    m.extend_from_slice(&total.to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&std::process::id().to_ne_bytes());
    m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&payload.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    m
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// Exec and exit events of processes other than `own` (the daemon's own thread group)
/// in a datagram of netlink messages. Threads are not processes: a thread's exit (its
/// pid is not its thread group id) is skipped, and forks and clones are never reported,
/// so the daemon's own worker threads can never look like process activity.
fn parse(buf: &[u8], own: u32) -> Vec<ProcEvent> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(len) = u32_at(buf, at).map(|l| l as usize) {
        if len < NLMSG_HDR || at + len > buf.len() {
            break;
        }
        let ev = at + NLMSG_HDR + CN_MSG_HDR;
        // proc_event: what (4), cpu (4), timestamp (8), then the event's data, which
        // starts with the pid (thread id) and the tgid (process id) for exec and exit.
        let (what, pid, tgid) = (u32_at(buf, ev), u32_at(buf, ev + 16), u32_at(buf, ev + 20));
        match (what, pid, tgid) {
            (_, Some(pid), Some(tgid)) if pid != tgid || tgid == own => {}
            (Some(PROC_EVENT_EXEC), Some(pid), Some(_)) => out.push(ProcEvent::Exec(pid)),
            (Some(PROC_EVENT_EXIT), Some(pid), Some(_)) => out.push(ProcEvent::Exit(pid)),
            _ => {}
        }
        at += (len + 3) & !3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(what: u32, pid: u32, tgid: u32) -> Vec<u8> {
        let mut m = vec![0u8; NLMSG_HDR + CN_MSG_HDR + 16 + 8];
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        let ev = NLMSG_HDR + CN_MSG_HDR;
        m[ev..ev + 4].copy_from_slice(&what.to_ne_bytes());
        m[ev + 16..ev + 20].copy_from_slice(&pid.to_ne_bytes());
        m[ev + 20..ev + 24].copy_from_slice(&tgid.to_ne_bytes());
        m
    }

    #[test]
    fn parses_exec_and_exit_and_skips_the_rest() {
        let own = 500;
        let mut buf = message(PROC_EVENT_EXEC, 4242, 4242);
        buf.extend(message(PROC_EVENT_EXIT, 4243, 4243));
        buf.extend(message(0x1, 7, 7)); // fork: not an exec
        buf.extend(message(PROC_EVENT_EXIT, 4250, 4242)); // a thread of 4242
        buf.extend(message(PROC_EVENT_EXIT, own, own)); // ourselves
        buf.extend(message(PROC_EVENT_EXIT, 501, own)); // one of our threads
        assert_eq!(
            parse(&buf, own),
            vec![ProcEvent::Exec(4242), ProcEvent::Exit(4243)]
        );
        assert!(
            parse(&buf[..10], own).is_empty(),
            "a truncated datagram yields nothing"
        );
    }

    #[test]
    fn our_own_threads_are_never_reported_when_privileged() {
        let Ok(c) = Connector::open() else {
            eprintln!("skipped: the process connector needs CAP_NET_ADMIN");
            return;
        };
        c.set_timeout(std::time::Duration::from_millis(100))
            .unwrap();
        let mut ours: Vec<u32> = (0..20)
            .map(|_| {
                std::thread::spawn(|| {
                    // "<pid>/task/<tid>"
                    let link = std::fs::read_link("/proc/thread-self").unwrap();
                    link.file_name()
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .parse::<u32>()
                        .unwrap()
                })
                .join()
                .unwrap()
            })
            .collect();
        ours.push(std::process::id());
        let mut buf = vec![0u8; 8192];
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        while std::time::Instant::now() < deadline {
            for ev in c.next(&mut buf).unwrap() {
                let (ProcEvent::Exec(p) | ProcEvent::Exit(p)) = ev;
                assert!(!ours.contains(&p), "our own thread reported: {ev:?}");
            }
        }
    }

    #[test]
    fn sees_a_real_exec_when_privileged() {
        let Ok(c) = Connector::open() else {
            eprintln!("skipped: the process connector needs CAP_NET_ADMIN");
            return;
        };
        c.set_timeout(std::time::Duration::from_millis(200))
            .unwrap();
        eprintln!("process connector open");
        let mut child = std::process::Command::new("/bin/true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let mut buf = vec![0u8; 8192];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if c.next(&mut buf).unwrap().contains(&ProcEvent::Exec(pid)) {
                return;
            }
        }
        panic!("no exec event for pid {pid}");
    }
}
