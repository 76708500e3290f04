//! Network: what the host exposes and how agents talk to the outside.

use std::path::{Path, PathBuf};

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::{Facts, Transport};
use crate::probe::Kind;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "NET-001",
        domain: Domain::Network,
        severity: Severity::High,
        title: "sshd refuses root login and password authentication",
        rationale: "An agent host holds model API keys and tool credentials. Password and \
            root logins over SSH turn one guessed or reused password into full control.",
        remediation: "In /etc/ssh/sshd_config (or a drop-in under sshd_config.d) set \
            `PermitRootLogin no` (or `prohibit-password`), `PasswordAuthentication no` and \
            `PermitEmptyPasswords no`, then reload sshd.",
        references: &[
            "CIS Debian Linux 5.2.10",
            "CIS Debian Linux 5.2.11",
            "CWE-521",
        ],
        reads: &["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/*.conf"],
        run: sshd_hardened,
    },
    Check {
        id: "NET-002",
        domain: Domain::Network,
        severity: Severity::High,
        title: "Remote MCP servers are reached over TLS",
        rationale: "A remote MCP server over plain http:// to a non-loopback host exposes the \
            tool calls, their results and any bearer token to everyone on the path.",
        remediation: "Use https:// URLs for remote MCP servers, or reach them through a \
            loopback tunnel.",
        references: &[
            "CWE-319",
            "https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices",
        ],
        reads: &[
            "~/.claude.json",
            "~/.cursor/mcp.json",
            "~/.codeium/windsurf/mcp_config.json",
            "~/.config/Code/User/mcp.json",
            "~/.gemini/settings.json",
            "~/.codex/config.toml",
            "~/.kiro/settings/mcp.json",
            "~/.copilot/mcp-config.json",
            "/etc/claude-code/managed-mcp.json",
        ],
        run: remote_mcp_tls,
    },
];

/// Effective global sshd settings: the first value of each keyword wins, `Include`
/// is expanded in place, and `Match` blocks (conditional) are not global.
fn sshd_settings(f: &Facts, out: &mut Findings) -> Option<Vec<(String, String, PathBuf, u32)>> {
    let main = Path::new("/etc/ssh/sshd_config");
    let mut settings = Vec::new();
    match read_sshd(f, main, 0, &mut settings) {
        Ok(()) => Some(settings),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            out.probe_error(&e);
            None
        }
    }
}

fn read_sshd(
    f: &Facts,
    path: &Path,
    depth: u32,
    settings: &mut Vec<(String, String, PathBuf, u32)>,
) -> Result<(), crate::probe::ProbeError> {
    let text = f.fs.read_text(path)?;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(2, |c: char| c.is_whitespace() || c == '=');
        let key = parts.next().unwrap_or("").to_ascii_lowercase();
        let value = parts
            .next()
            .unwrap_or("")
            .trim()
            .trim_start_matches('=')
            .trim()
            .to_owned();
        if key == "match" {
            break;
        }
        if key == "include" && depth < 4 {
            for pattern in value.split_whitespace() {
                for inc in expand_glob(f, pattern) {
                    // A missing include is fine for sshd too.
                    match read_sshd(f, &inc, depth + 1, settings) {
                        Err(e) if !e.is_not_found() => return Err(e),
                        _ => {}
                    }
                }
            }
            continue;
        }
        settings.push((key, value, path.to_path_buf(), i as u32 + 1));
    }
    Ok(())
}

/// Expands the one glob form sshd configs use in practice: `dir/*.suffix` (or a plain path).
fn expand_glob(f: &Facts, pattern: &str) -> Vec<PathBuf> {
    let p = if pattern.starts_with('/') {
        PathBuf::from(pattern)
    } else {
        Path::new("/etc/ssh").join(pattern)
    };
    let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) else {
        return vec![];
    };
    let Some((pre, suf)) = name.split_once('*') else {
        return vec![p];
    };
    let Ok(listing) = f.fs.list_dir(dir) else {
        return vec![];
    };
    listing
        .entries
        .iter()
        .filter(|e| e.kind != Kind::Dir)
        .map(|e| e.name_lossy())
        .filter(|n| n.starts_with(pre) && n.ends_with(suf))
        .map(|n| dir.join(n))
        .collect()
}

fn sshd_hardened(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let Some(settings) = sshd_settings(f, &mut out) else {
        return out.finish("sshd is not configured on this host");
    };
    let first = |k: &str| settings.iter().find(|s| s.0 == k);
    let main = Path::new("/etc/ssh/sshd_config");
    // OpenSSH defaults: PermitRootLogin prohibit-password, PasswordAuthentication yes.
    // (keyword, OpenSSH default, is the value insecure?)
    type Rule = (&'static str, &'static str, fn(&str) -> bool);
    let rules: [Rule; 3] = [
        ("permitrootlogin", "prohibit-password", |v| v == "yes"),
        ("passwordauthentication", "yes", |v| v == "yes"),
        ("permitemptypasswords", "no", |v| v == "yes"),
    ];
    for (key, default, bad) in rules {
        let (value, ev) = match first(key) {
            Some((_, v, path, line)) => (
                v.to_ascii_lowercase(),
                Evidence::at(path, format!("{key} {v}")).line(*line),
            ),
            None => (
                default.to_owned(),
                Evidence::at(main, format!("{key} not set; OpenSSH default is {default}")),
            ),
        };
        if bad(&value) {
            out.finding(ev);
        } else {
            out.ok(ev);
        }
    }
    out.finish("sshd is not configured on this host")
}

fn remote_mcp_tls(f: &Facts) -> Outcome {
    let inv = f.mcp();
    let mut out = Findings::new();
    for p in &inv.errors {
        out.problem(p);
    }
    for cfg in &inv.configs {
        for s in &cfg.servers {
            let Transport::Remote { url, .. } = &s.transport else {
                continue;
            };
            let mut ev = Evidence::at(
                &cfg.path,
                format!("{} server {:?}: {url}", cfg.client, s.name),
            );
            if let Some(l) = s.line {
                ev = ev.line(l);
            }
            if is_plaintext_remote(url) {
                out.finding(ev);
            } else {
                out.ok(ev);
            }
        }
    }
    out.finish("no remote MCP servers are configured")
}

/// `http://` to anything but loopback.
pub(super) fn is_plaintext_remote(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    !(host == "localhost" || host == "::1" || host.starts_with("127."))
}
