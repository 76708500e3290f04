//! `/proc/net/tcp` and `/proc/net/tcp6`: the sockets of a network namespace.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use super::{HostFs, ProbeError, ProbeResult};

/// A TCP socket in the LISTEN state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub addr: IpAddr,
    pub port: u16,
    pub inode: u64,
}

impl Listener {
    /// Reachable only from this host.
    pub fn is_loopback(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => {
                a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }
}

/// TCP listeners seen from a process's network namespace (`/proc/<pid>/net/tcp{,6}`),
/// falling back to `/proc/net/tcp{,6}` when the per-process view is absent. Returns the
/// files read, for evidence, with the listeners.
pub fn tcp_listeners(fs: &HostFs, pid: u32) -> ProbeResult<(PathBuf, Vec<Listener>)> {
    let own = PathBuf::from(format!("/proc/{pid}/net"));
    let dir = if fs.exists(&own.join("tcp")) {
        own
    } else {
        PathBuf::from("/proc/net")
    };
    let mut out = Vec::new();
    for file in ["tcp", "tcp6"] {
        let path = dir.join(file);
        match fs.read_text(&path) {
            Ok(text) => out.extend(parse_tcp(&path, &text)?),
            // A kernel without IPv6 has no tcp6.
            Err(ProbeError::NotFound { .. }) if file == "tcp6" => {}
            Err(e) => return Err(e),
        }
    }
    Ok((dir, out))
}

/// Parses the kernel's table; only LISTEN (state 0A) rows are kept.
pub fn parse_tcp(path: &Path, text: &str) -> ProbeResult<Vec<Listener>> {
    let bad = |line: usize, what: &str| ProbeError::Io {
        path: path.display().to_string(),
        message: format!("line {line}: {what}"),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < 10 {
            return Err(bad(i + 1, "too few fields"));
        }
        if f[3] != "0A" {
            continue;
        }
        let (addr, port) = f[1]
            .split_once(':')
            .ok_or_else(|| bad(i + 1, "local address without a port"))?;
        let port = u16::from_str_radix(port, 16).map_err(|_| bad(i + 1, "bad port"))?;
        let addr = parse_addr(addr).ok_or_else(|| bad(i + 1, "bad address"))?;
        let inode = f[9].parse().map_err(|_| bad(i + 1, "bad inode"))?;
        out.push(Listener { addr, port, inode });
    }
    Ok(out)
}

/// The kernel prints each 32-bit word of the address in host byte order.
fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => word(hex).map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(hex.get(i * 8..i * 8 + 8)?)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_listeners() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000000000000000 100 0 0 10 0\n\
   1: 00000000:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 222 1 0000000000000000 100 0 0 10 0\n\
   2: 0F00140A:A2C4 0F00140A:0016 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 100 0 0 10 0\n";
        let l = parse_tcp(Path::new("/proc/net/tcp"), text).unwrap();
        assert_eq!(l.len(), 2);
        assert!(l[0].is_loopback());
        assert_eq!((l[0].port, l[0].inode), (3306, 111));
        assert_eq!(l[1].addr.to_string(), "0.0.0.0");
        assert_eq!(l[1].port, 18789);
        let v6 = parse_addr("00000000000000000000000001000000").unwrap();
        assert_eq!(v6.to_string(), "::1");
        let mapped = parse_addr("0000000000000000FFFF00000100007F").unwrap();
        assert_eq!(mapped.to_string(), "::ffff:127.0.0.1");
    }
}
