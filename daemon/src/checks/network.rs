//! Network: what the host exposes and how agents talk to the outside.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::{Facts, Transport};
use crate::probe::{Kind, ProbeError, net, procfs};

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
        reads: super::MCP_CONFIGS,
        run: remote_mcp_tls,
    },
    Check {
        id: "NET-003",
        domain: Domain::Network,
        severity: Severity::High,
        title: "Agent processes listen only on loopback",
        rationale: "An agent gateway, dev server or MCP server listening on 0.0.0.0 or a LAN \
            address can be driven by anyone who reaches the host: its tools run with the \
            agent's privileges, often without authentication.",
        remediation: "Bind agent services to 127.0.0.1/::1 (e.g. OpenClaw `gateway.bind: \
            \"loopback\"`) and reach them through SSH port forwarding or a VPN such as \
            Tailscale Serve.",
        references: &[
            "CWE-1327",
            "CWE-668",
            "https://docs.openclaw.ai/gateway/security",
        ],
        reads: &[
            "/proc/<pid>/fd/*",
            "/proc/<pid>/net/tcp",
            "/proc/<pid>/net/tcp6",
        ],
        run: agent_listeners_loopback,
    },
    Check {
        id: "NET-004",
        domain: Domain::Network,
        severity: Severity::Critical,
        title: "The OpenClaw gateway is not exposed beyond loopback without authentication",
        rationale: "The gateway drives the agent: whoever can talk to it can chat with the \
            agent, run its tools and read its sessions. Bound to the LAN, a tailnet or a \
            Tailscale Funnel with auth off, that is everyone on that network. Served beyond \
            loopback, its Control UI must also name the origins allowed to open its \
            WebSocket; without them any web page the user visits can drive it.",
        remediation: "Keep `gateway.bind: \"loopback\"`, or set `gateway.auth.mode` to \
            \"token\" or \"password\" with a long random secret before binding wider, and \
            set `gateway.controlUi.allowedOrigins` to the exact origins you use (or \
            `gateway.controlUi.enabled: false`).",
        references: &["CWE-306", "https://docs.openclaw.ai/gateway/security"],
        reads: &["@openclaw-configs"],
        run: gateway_exposure_authenticated,
    },
    Check {
        id: "NET-005",
        domain: Domain::Network,
        severity: Severity::Medium,
        title: "An inbound firewall with a default-deny policy is configured",
        rationale: "Agents, their MCP servers and dev servers open ports casually. A \
            default-deny inbound policy keeps a service bound to 0.0.0.0 by mistake from \
            being reachable by the network.",
        remediation: "Enable a host firewall that drops unsolicited inbound traffic: \
            `ufw default deny incoming && ufw enable`, an nftables input chain with \
            `policy drop;` enabled at boot, or firewalld with a non-trusted default zone.",
        references: &[
            "CIS Debian Linux 3.5.1.3",
            "CIS Debian Linux 3.5.2.7",
            "CWE-284",
        ],
        reads: &[
            "/etc/ufw/ufw.conf",
            "/etc/default/ufw",
            "/etc/nftables.conf",
            "/etc/iptables/rules.v4",
            "/etc/sysconfig/iptables",
            "/etc/firewalld/firewalld.conf",
            "/etc/systemd/system/*.target.wants/*",
        ],
        run: inbound_firewall,
    },
    Check {
        id: "NET-006",
        domain: Domain::Network,
        severity: Severity::High,
        title: "Agents do not disable TLS certificate verification",
        rationale: "NODE_TLS_REJECT_UNAUTHORIZED=0, PYTHONHTTPSVERIFY=0 or \
            `rejectUnauthorized: false` make every HTTPS call of the agent and its MCP \
            servers accept any certificate: API keys, prompts and tool results can be read \
            and altered by anyone on the path.",
        remediation: "Remove the variable or setting. For a private CA, add it to the \
            trust store (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, SSL_CERT_FILE) instead.",
        references: &[
            "CWE-295",
            "https://nodejs.org/api/cli.html#node_tls_reject_unauthorizedvalue",
        ],
        reads: &[
            "/proc/<pid>/environ",
            "@mcp-configs",
            "~/.claude/settings.json",
            "~/.claude/settings.local.json",
            "~/.gemini/settings.json",
            "~/.codex/config.toml",
            "@openclaw-configs",
        ],
        run: tls_verification_on,
    },
    Check {
        id: "NET-007",
        domain: Domain::Network,
        severity: Severity::High,
        title: "Model API and telemetry endpoints are reached over TLS",
        rationale: "A model base URL or OpenTelemetry endpoint over plain http:// to another \
            host sends the API key, every prompt, the code in context and the model's \
            answers in clear text, and lets anyone on the path rewrite the answers the agent \
            then acts on.",
        remediation: "Use https:// for ANTHROPIC_BASE_URL / OPENAI_BASE_URL, provider \
            baseUrl settings and OTEL_EXPORTER_OTLP_ENDPOINT, or reach a local gateway or \
            collector over loopback.",
        references: &["CWE-319", "CWE-523"],
        // The MCP configs and the agents' own settings.
        reads: &[
            "/proc/<pid>/environ",
            "@mcp-configs",
            "~/.claude/settings.json",
            "~/.claude/settings.local.json",
            "@openclaw-configs",
        ],
        run: model_endpoints_tls,
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
                for inc in expand_glob(f, pattern)? {
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
/// A missing directory matches nothing, as for sshd; one that cannot be listed whole is
/// an error, so included settings are never silently skipped.
fn expand_glob(f: &Facts, pattern: &str) -> Result<Vec<PathBuf>, crate::probe::ProbeError> {
    let p = if pattern.starts_with('/') {
        PathBuf::from(pattern)
    } else {
        Path::new("/etc/ssh").join(pattern)
    };
    let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) else {
        return Ok(vec![]);
    };
    let Some((pre, suf)) = name.split_once('*') else {
        return Ok(vec![p]);
    };
    let listing = match f.fs.list_dir(dir) {
        Ok(l) => l,
        Err(e) if e.is_not_found() => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    Ok(listing
        .iter()
        .filter(|e| e.kind != Kind::Dir)
        .map(|e| e.name_lossy())
        .filter(|n| n.starts_with(pre) && n.ends_with(suf))
        .map(|n| dir.join(n))
        .collect())
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

/// A URL with any `user:password@` part masked, for evidence.
pub(super) fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
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

fn agent_listeners_loopback(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in procs.into_iter().filter(|p| f.is_agent(p)) {
        let inodes = match procfs::socket_inodes(&f.fs, p.pid) {
            Ok(i) => i,
            Err(ProbeError::NotFound { .. }) => continue,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        };
        let who = format!("{} (pid {})", p.program(), p.pid);
        if inodes.is_empty() {
            out.ok(Evidence::at(
                &p.proc_dir().join("fd"),
                format!("{who}: no sockets open"),
            ));
            continue;
        }
        let (dir, listeners) = match net::tcp_listeners(&f.fs, p.pid) {
            Ok(l) => l,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        };
        let mine: Vec<_> = listeners
            .iter()
            .filter(|l| inodes.contains(&l.inode))
            .collect();
        let mut exposed = false;
        for l in &mine {
            let addr = std::net::SocketAddr::new(l.addr, l.port);
            let ev = Evidence::at(
                &dir.join(if l.addr.is_ipv4() { "tcp" } else { "tcp6" }),
                format!("{who} listens on {addr}"),
            );
            if l.is_loopback() {
                out.ok(ev);
            } else {
                exposed = true;
                out.finding(ev);
            }
        }
        if mine.is_empty() && !exposed {
            out.ok(Evidence::at(
                &dir.join("tcp"),
                format!("{who}: no listening TCP sockets"),
            ));
        }
    }
    out.finish("no agent processes are running")
}

fn gateway_exposure_authenticated(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for doc in f.openclaw_configs() {
        let doc = match doc {
            Ok(d) => d,
            Err(p) => {
                out.problem(p);
                continue;
            }
        };
        let gw = doc.value.get("gateway");
        let text = |v: Option<&Value>, k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        };
        // OpenClaw binds to loopback unless told otherwise.
        let bind = text(gw, "bind").unwrap_or_else(|| "loopback".into());
        let custom_host = text(gw, "customBindHost").unwrap_or_default();
        let funnel = text(gw.and_then(|g| g.get("tailscale")), "mode").as_deref() == Some("funnel");
        let exposed_by = if funnel {
            Some("tailscale funnel (the public internet)".to_owned())
        } else if bind == "loopback" || (bind == "custom" && is_loopback_host(&custom_host)) {
            None
        } else {
            Some(format!("bind {bind:?}"))
        };
        let auth = gw.and_then(|g| g.get("auth"));
        let mode = text(auth, "mode");
        let has_secret = ["token", "password"].iter().any(|k| {
            auth.and_then(|a| a.get(*k))
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        });
        let authenticated = match mode.as_deref() {
            Some("none" | "off") => false,
            Some(_) => true,
            None => has_secret,
        };
        let line = crate::jsonc::line_of_key(&doc.text, "gateway");
        let describe = format!(
            "gateway {}, auth {}",
            exposed_by
                .clone()
                .unwrap_or_else(|| format!("bind {bind:?}")),
            mode.clone().unwrap_or_else(|| if has_secret {
                "secret set".into()
            } else {
                "not configured".into()
            })
        );
        let mut ev = Evidence::at(&doc.path, describe);
        if let Some(l) = line {
            ev = ev.line(l);
        }
        if exposed_by.is_some() && !authenticated {
            out.finding(ev);
        } else {
            out.ok(ev);
        }
        if exposed_by.is_some()
            && let Some(why) = open_control_ui(gw)
        {
            let mut ev = Evidence::at(
                &doc.path,
                format!(
                    "gateway {describe_bind}: {why}",
                    describe_bind = exposed_by.clone().unwrap_or_default()
                ),
            );
            if let Some(l) = crate::jsonc::line_of_key(&doc.text, "controlUi").or(line) {
                ev = ev.line(l);
            }
            out.finding(ev);
        }
    }
    out.finish("no OpenClaw gateway config was found")
}

/// Why the gateway's Control UI, served beyond loopback, accepts any web page's
/// WebSocket (cross-site hijacking: a page the user opens drives the agent with the
/// user's browser session): it is on (the default) and names no allowed origins, allows
/// `*`, or falls back to the Host header.
fn open_control_ui(gw: Option<&Value>) -> Option<&'static str> {
    let ui = gw.and_then(|g| g.get("controlUi"));
    if ui.and_then(|u| u.get("enabled")).and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let flag = |k: &str| ui.and_then(|u| u.get(k)).and_then(Value::as_bool) == Some(true);
    if flag("dangerouslyAllowHostHeaderOriginFallback") {
        return Some("the Control UI trusts the Host header as its origin");
    }
    let origins: Vec<&str> = ui
        .and_then(|u| u.get("allowedOrigins"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if origins.contains(&"*") {
        Some("the Control UI allows every origin (\"*\")")
    } else if origins.is_empty() {
        Some("the Control UI names no allowed origins (gateway.controlUi.allowedOrigins)")
    } else {
        None
    }
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// systemd's enablement links for a unit, in the targets a firewall is wanted by.
fn unit_enabled(f: &Facts, unit: &str) -> bool {
    [
        "sysinit.target.wants",
        "multi-user.target.wants",
        "basic.target.wants",
        "network-pre.target.wants",
    ]
    .iter()
    .any(|t| {
        f.fs.exists(&Path::new("/etc/systemd/system").join(t).join(unit))
    })
}

/// Reads a config file: `None` when it does not exist; errors are recorded.
fn read_opt(f: &Facts, path: &Path, out: &mut Findings, failed: &mut bool) -> Option<String> {
    match f.fs.read_text(path) {
        Ok(t) => Some(t),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            *failed = true;
            out.probe_error(&e);
            None
        }
    }
}

/// `KEY=value` (quotes stripped) from a shell-style config.
fn shell_value<'a>(text: &'a str, key: &str) -> Option<(&'a str, u32)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let v = l.trim().strip_prefix(key)?.strip_prefix('=')?;
        Some((v.trim().trim_matches('"').trim_matches('\''), i as u32 + 1))
    })
}

fn inbound_firewall(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    // A deny-by-default firewall found (`good`), and firewalls present but not denying.
    let mut good: Vec<Evidence> = Vec::new();
    let mut weak: Vec<Evidence> = Vec::new();
    let mut failed = false;
    // ufw: enabled, with a deny/reject default for incoming traffic.
    let ufw_conf = Path::new("/etc/ufw/ufw.conf");
    if let Some(conf) = read_opt(f, ufw_conf, &mut out, &mut failed) {
        let enabled = shell_value(&conf, "ENABLED");
        let defaults = Path::new("/etc/default/ufw");
        let policy = read_opt(f, defaults, &mut out, &mut failed)
            .and_then(|t| shell_value(&t, "DEFAULT_INPUT_POLICY").map(|(v, l)| (v.to_owned(), l)));
        match (enabled, policy) {
            (Some(("yes", _)), Some((p, l))) if p == "DROP" || p == "REJECT" => {
                good.push(
                    Evidence::at(defaults, format!("ufw enabled, DEFAULT_INPUT_POLICY={p}"))
                        .line(l),
                );
            }
            (Some(("yes", _)), Some((p, l))) => {
                weak.push(
                    Evidence::at(
                        defaults,
                        format!("ufw enabled but DEFAULT_INPUT_POLICY={p}"),
                    )
                    .line(l),
                );
            }
            (Some(("yes", _)), None) => {
                good.push(Evidence::at(
                    ufw_conf,
                    "ufw enabled; default incoming policy deny",
                ));
            }
            (Some((v, l)), _) => {
                weak.push(Evidence::at(ufw_conf, format!("ufw installed but ENABLED={v}")).line(l))
            }
            (None, _) => weak.push(Evidence::at(
                ufw_conf,
                "ufw installed but ENABLED is not set",
            )),
        }
    }
    // nftables: an input hook chain with policy drop.
    let nft = Path::new("/etc/nftables.conf");
    if let Some(text) = read_opt(f, nft, &mut out, &mut failed) {
        match nft_input_policy(&text) {
            Some(("drop", l)) if unit_enabled(f, "nftables.service") => good.push(
                Evidence::at(nft, "input chain policy drop; nftables.service enabled").line(l),
            ),
            // A drop policy is an edit of the stock file, so it is taken as the admin's
            // intent even when no enablement link is visible (e.g. a non-systemd host).
            Some(("drop", l)) => good.push(
                Evidence::at(
                    nft,
                    "input chain policy drop; nftables.service not seen enabled at boot",
                )
                .line(l),
            ),
            Some((p, l)) => weak.push(Evidence::at(nft, format!("input chain policy {p}")).line(l)),
            None => weak.push(Evidence::at(nft, "no input hook chain")),
        }
    }
    // iptables-persistent / iptables-services: a DROP policy or a final DROP/REJECT rule.
    for path in ["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"] {
        let path = Path::new(path);
        if let Some(text) = read_opt(f, path, &mut out, &mut failed) {
            match iptables_input_denies(&text) {
                Some((rule, l)) => good.push(Evidence::at(path, rule).line(l)),
                None => weak.push(Evidence::at(path, "INPUT chain accepts by default")),
            }
        }
    }
    // firewalld: enabled and the default zone is not `trusted` (which accepts everything).
    let fwd = Path::new("/etc/firewalld/firewalld.conf");
    if let Some(text) = read_opt(f, fwd, &mut out, &mut failed) {
        let zone = shell_value(&text, "DefaultZone").map_or("public", |(z, _)| z);
        if !unit_enabled(f, "firewalld.service") {
            weak.push(Evidence::at(
                fwd,
                "firewalld.service is not enabled at boot",
            ));
        } else if zone == "trusted" {
            weak.push(Evidence::at(
                fwd,
                "firewalld default zone is trusted (accepts all)",
            ));
        } else {
            good.push(Evidence::at(
                fwd,
                format!("firewalld enabled, default zone {zone}"),
            ));
        }
    }
    // One deny-by-default firewall is enough; half-configured others do not matter then.
    if !good.is_empty() {
        for ev in good {
            out.ok(ev);
        }
    } else if weak.is_empty() && !failed {
        out.finding(Evidence::note(
            "no inbound firewall is configured (ufw, nftables, iptables rules or firewalld)",
        ));
    } else {
        for ev in weak {
            out.finding(ev);
        }
    }
    out.finish("no firewall configuration was found")
}

/// The policy of the first chain hooked on `input` in an nftables ruleset, with its line.
fn nft_input_policy(text: &str) -> Option<(&str, u32)> {
    let mut in_input = false;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with("chain ") {
            in_input = false;
        }
        if l.contains("hook input") {
            in_input = true;
        }
        if in_input && let Some(rest) = l.split("policy").nth(1) {
            let p = rest
                .trim()
                .trim_end_matches(';')
                .trim()
                .split([';', ' '])
                .next()?;
            return Some((p, i as u32 + 1));
        }
        if in_input && l.starts_with('}') {
            return Some(("accept", i as u32 + 1));
        }
    }
    None
}

/// `:INPUT DROP` or a catch-all `-A INPUT -j DROP|REJECT` in iptables-save output.
fn iptables_input_denies(text: &str) -> Option<(String, u32)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let l = l.trim();
        let deny = l.starts_with(":INPUT DROP")
            || (l.starts_with("-A INPUT ")
                && (l.ends_with("-j DROP") || l.contains("-j REJECT"))
                && !l.contains(" -p ")
                && !l.contains(" -s ")
                && !l.contains(" --dport"));
        deny.then(|| (l.to_owned(), i as u32 + 1))
    })
}

/// Environment settings that turn certificate verification off, with the values that do.
fn disables_tls(name: &str, value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    match name {
        "NODE_TLS_REJECT_UNAUTHORIZED" | "PYTHONHTTPSVERIFY" => v == "0",
        "GIT_SSL_NO_VERIFY" => !v.is_empty() && v != "0" && v != "false",
        _ => false,
    }
}

/// Config keys that turn verification off when set to `false` or to `true`.
const FALSE_MEANS_INSECURE: &[&str] = &[
    "rejectUnauthorized",
    "verifySsl",
    "verify_ssl",
    "sslVerify",
    "ssl_verify",
    "strictSSL",
    "tlsVerify",
];
const TRUE_MEANS_INSECURE: &[&str] = &[
    "insecure",
    "insecureSkipVerify",
    "insecure_skip_verify",
    "allowInsecure",
    "tlsInsecure",
    "skipTlsVerify",
];

/// Every insecure TLS setting in a JSON value: (json path, rendering).
fn insecure_settings(v: &Value, path: &str, found: &mut Vec<String>) {
    let judge = |here: &str, key: &str, child: &Value| match child {
        Value::Bool(false) if FALSE_MEANS_INSECURE.contains(&key) => Some(format!("{here}: false")),
        Value::Bool(true) if TRUE_MEANS_INSECURE.contains(&key) => Some(format!("{here}: true")),
        Value::String(s) if disables_tls(key, s) => Some(format!("{here}={s}")),
        _ => None,
    };
    find_in_json(v, path, &judge, found);
}

/// Walks every object member of a JSON value depth-first. `judge` sees the member's dotted
/// path, key and value and returns a finding (which ends the descent there) or `None`.
fn find_in_json(
    v: &Value,
    path: &str,
    judge: &dyn Fn(&str, &str, &Value) -> Option<String>,
    found: &mut Vec<String>,
) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match judge(&here, k, child) {
                    Some(f) => found.push(f),
                    None => find_in_json(child, &here, judge, found),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                find_in_json(child, &format!("{path}[{i}]"), judge, found);
            }
        }
        _ => {}
    }
}

/// The environment of every agent process: (evidence path, who, `NAME=value` strings).
/// Values may be secrets: callers look only at the variables they judge.
fn agent_environments(
    f: &Facts,
    out: &mut Findings,
) -> Vec<(PathBuf, String, std::sync::Arc<Vec<String>>)> {
    let mut envs = Vec::new();
    let Ok(procs) = processes_or_outcome(f) else {
        return envs;
    };
    for p in procs.into_iter().filter(|p| f.is_agent(p)) {
        match f.environ(p.pid) {
            Ok(env) => envs.push((
                p.proc_dir().join("environ"),
                format!("{} (pid {})", p.program(), p.pid),
                env,
            )),
            Err(ProbeError::NotFound { .. }) => {}
            Err(e) => out.probe_error(&e),
        }
    }
    envs
}

/// Agent configs where network settings live, parsed: MCP client configs, Claude Code
/// and Gemini CLI settings, Codex config, OpenClaw configs. Unusable ones are recorded.
fn agent_config_docs(f: &Facts, out: &mut Findings) -> Vec<(PathBuf, String, Value)> {
    let mut docs: Vec<(PathBuf, String, Value)> = Vec::new();
    let mut push =
        |path: PathBuf, text: String, value: Result<Value, String>, out: &mut Findings| {
            if docs.iter().any(|d| d.0 == path) {
                return;
            }
            match value {
                Ok(v) => docs.push((path, text, v)),
                Err(message) => out.parse_error(&path, message),
            }
        };
    let inv = f.mcp();
    for p in &inv.errors {
        out.problem(p);
    }
    for cfg in &inv.configs {
        let value = if cfg.path.extension().is_some_and(|e| e == "toml") {
            toml::from_str::<Value>(&cfg.text).map_err(|e| e.message().to_owned())
        } else {
            crate::jsonc::parse(&cfg.text)
        };
        push(cfg.path.clone(), cfg.text.clone(), value, out);
    }
    for home in f.homes() {
        for rel in [
            ".claude/settings.json",
            ".claude/settings.local.json",
            ".gemini/settings.json",
        ] {
            match f.json_file(&home.path.join(rel)) {
                Some(Ok(d)) => push(d.path, d.text, Ok(d.value), out),
                Some(Err(p)) => out.problem(&p),
                None => {}
            }
        }
        let codex = home.path.join(".codex/config.toml");
        match f.fs.read_text(&codex) {
            Ok(text) => {
                let value = toml::from_str::<Value>(&text).map_err(|e| e.message().to_owned());
                push(codex, text, value, out);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => out.probe_error(&e),
        }
    }
    for doc in f.openclaw_configs() {
        match doc {
            Ok(d) => push(d.path.clone(), d.text.clone(), Ok(d.value.clone()), out),
            Err(p) => out.problem(p),
        }
    }
    docs
}

/// Reports settings found in one config, each with the line of its key.
fn report_settings(out: &mut Findings, path: &Path, text: &str, found: Vec<String>, clean: &str) {
    if found.is_empty() {
        out.ok(Evidence::at(path, clean));
    }
    for setting in found {
        let key = setting.rsplit('.').next().unwrap_or(&setting);
        let key = key.split([':', '=']).next().unwrap_or(key);
        let mut ev = Evidence::at(path, setting.clone());
        if let Some(l) = crate::jsonc::line_of_key(text, key) {
            ev = ev.line(l);
        }
        out.finding(ev);
    }
}

fn tls_verification_on(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    // Agent processes: only the names and values of the TLS variables are looked at.
    for (path, who, env) in agent_environments(f, &mut out) {
        let bad: Vec<String> = env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, v)| disables_tls(k, v))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if bad.is_empty() {
            out.ok(Evidence::at(&path, format!("{who}: verification on")));
        } else {
            out.finding(Evidence::at(&path, format!("{who}: {}", bad.join(", "))));
        }
    }
    for (path, text, value) in agent_config_docs(f, &mut out) {
        let mut found = Vec::new();
        insecure_settings(&value, "", &mut found);
        report_settings(
            &mut out,
            &path,
            &text,
            found,
            "no setting disables TLS verification",
        );
    }
    out.finish("no agent processes or agent configs were found")
}

/// Variables naming a model API or telemetry endpoint: prompts, code and keys go there.
const ENDPOINT_VARS: &[&str] = &[
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_VERTEX_BASE_URL",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "AZURE_OPENAI_ENDPOINT",
    "GOOGLE_GEMINI_BASE_URL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
];

/// Config keys naming a model provider or telemetry endpoint.
const ENDPOINT_KEYS: &[&str] = &[
    "baseUrl",
    "baseURL",
    "base_url",
    "apiBase",
    "api_base",
    "otlpEndpoint",
];

fn plaintext_endpoints(v: &Value, path: &str, found: &mut Vec<String>) {
    let judge = |here: &str, key: &str, child: &Value| match child {
        Value::String(url)
            if (ENDPOINT_KEYS.contains(&key) || ENDPOINT_VARS.contains(&key))
                && is_plaintext_remote(url) =>
        {
            Some(format!("{here}={}", without_userinfo(url)))
        }
        _ => None,
    };
    find_in_json(v, path, &judge, found);
}

/// Every model API or telemetry endpoint the agents are configured with, for the
/// inventory: (where, setting, URL without userinfo). The boolean says whether some
/// agent config or environment could not be read.
pub(crate) fn model_endpoints(f: &Facts) -> (Vec<(PathBuf, String, String)>, bool) {
    let mut scratch = Findings::new();
    let mut found: Vec<(PathBuf, String, String)> = Vec::new();
    for (path, _who, env) in agent_environments(f, &mut scratch) {
        for (k, v) in env.iter().filter_map(|kv| kv.split_once('=')) {
            if ENDPOINT_VARS.contains(&k) && !v.is_empty() {
                found.push((path.clone(), k.to_owned(), without_userinfo(v)));
            }
        }
    }
    for (path, _text, value) in agent_config_docs(f, &mut scratch) {
        let mut here = Vec::new();
        let judge = |at: &str, key: &str, child: &Value| match child {
            Value::String(url)
                if (ENDPOINT_KEYS.contains(&key) || ENDPOINT_VARS.contains(&key))
                    && url.contains("://") =>
            {
                Some(format!("{at}\u{0}{}", without_userinfo(url)))
            }
            _ => None,
        };
        find_in_json(&value, "", &judge, &mut here);
        for h in here {
            if let Some((at, url)) = h.split_once('\u{0}') {
                found.push((path.clone(), at.to_owned(), url.to_owned()));
            }
        }
    }
    let incomplete = matches!(scratch.finish(""), Outcome::Error { .. });
    (found, incomplete)
}

fn model_endpoints_tls(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for (path, who, env) in agent_environments(f, &mut out) {
        let bad: Vec<String> = env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, v)| ENDPOINT_VARS.contains(k) && is_plaintext_remote(v))
            .map(|(k, v)| format!("{k}={}", without_userinfo(v)))
            .collect();
        if bad.is_empty() {
            out.ok(Evidence::at(
                &path,
                format!("{who}: no plaintext endpoints"),
            ));
        } else {
            out.finding(Evidence::at(&path, format!("{who}: {}", bad.join(", "))));
        }
    }
    for (path, text, value) in agent_config_docs(f, &mut out) {
        let mut found = Vec::new();
        plaintext_endpoints(&value, "", &mut found);
        report_settings(
            &mut out,
            &path,
            &text,
            found,
            "no plaintext model or telemetry endpoint",
        );
    }
    out.finish("no agent processes or agent configs were found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nftables_input_policy() {
        let conf = "table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n";
        assert_eq!(nft_input_policy(conf), Some(("drop", 3)));
        let stock = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n}\n";
        assert_eq!(nft_input_policy(stock), Some(("accept", 4)));
        assert_eq!(nft_input_policy("table inet nat {}\n"), None);
    }

    #[test]
    fn iptables_default_deny() {
        assert!(iptables_input_denies("*filter\n:INPUT DROP [0:0]\nCOMMIT\n").is_some());
        assert!(iptables_input_denies("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j REJECT --reject-with icmp-host-prohibited\n").is_some());
        // A rule that drops one port is not a default-deny policy.
        assert!(
            iptables_input_denies(
                "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 23 -j DROP\n"
            )
            .is_none()
        );
    }

    #[test]
    fn insecure_tls_settings_are_found_anywhere() {
        let v: Value = serde_json::json!({
            "mcpServers": {"a": {"env": {"NODE_TLS_REJECT_UNAUTHORIZED": "0", "GIT_SSL_NO_VERIFY": "false"}}},
            "http": {"tls": {"rejectUnauthorized": true, "insecureSkipVerify": true}},
            "list": [{"verifySsl": false}]
        });
        let mut found = Vec::new();
        insecure_settings(&v, "", &mut found);
        found.sort();
        assert_eq!(
            found,
            vec![
                "http.tls.insecureSkipVerify: true",
                "list[0].verifySsl: false",
                "mcpServers.a.env.NODE_TLS_REJECT_UNAUTHORIZED=0",
            ]
        );
        assert!(disables_tls("PYTHONHTTPSVERIFY", " 0"));
        assert_eq!(
            without_userinfo("http://bob:hunter2@10.0.0.5:4000/v1?x=1"),
            "http://***@10.0.0.5:4000/v1?x=1"
        );
        assert_eq!(
            without_userinfo("http://gpu-box:8000/v1"),
            "http://gpu-box:8000/v1"
        );
        assert!(!disables_tls("PYTHONHTTPSVERIFY", "1"));
    }
}
