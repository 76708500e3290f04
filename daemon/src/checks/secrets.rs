//! Secrets: credentials left where agents, their tools and other users can read them.

use std::path::PathBuf;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::{Facts, Transport};
use crate::probe::Kind;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "SEC-001",
        domain: Domain::Secrets,
        severity: Severity::Critical,
        title: "No plaintext secrets in MCP server entries",
        rationale: "MCP configs are read by the agent, synced, pasted into issues and backed \
            up. A key written into an entry's env, headers, args or url leaks with any of them, \
            and every tool the agent runs can read it.",
        remediation: "Move the value to a secret store or the environment of the launching \
            process and reference it (`${VAR}`); rotate any key that was written in a config.",
        references: &[
            "CWE-798",
            "CWE-312",
            "https://docs.anthropic.com/en/docs/claude-code/mcp",
        ],
        reads: &[
            "~/.claude.json",
            "~/.cursor/mcp.json",
            "~/.codeium/windsurf/mcp_config.json",
            "~/.config/Code/User/settings.json",
            "~/.config/Code/User/mcp.json",
            "~/.gemini/settings.json",
            "~/.codex/config.toml",
            "~/.kiro/settings/mcp.json",
            "~/.copilot/mcp-config.json",
            "/etc/claude-code/managed-mcp.json",
        ],
        run: no_secrets_in_mcp,
    },
    Check {
        id: "SEC-002",
        domain: Domain::Secrets,
        severity: Severity::High,
        title: "Credential files are readable only by their owner",
        rationale: "Cloud keys, SSH keys and tokens readable by group or others can be taken \
            by any local account or any service compromised through an agent.",
        remediation: "chmod 600 each file listed (and 700 its directory).",
        references: &["CWE-732", "CIS Debian Linux 6.2"],
        reads: &[
            "~/.aws/credentials",
            "~/.ssh/id_*",
            "~/.netrc",
            "~/.git-credentials",
            "~/.docker/config.json",
            "~/.config/gh/hosts.yml",
            "~/.kube/config",
            "~/.pgpass",
            "~/.openclaw/credentials/*",
        ],
        run: credential_file_modes,
    },
];

fn no_secrets_in_mcp(f: &Facts) -> Outcome {
    let inv = f.mcp();
    let mut out = Findings::new();
    for p in &inv.errors {
        out.problem(p);
    }
    for cfg in &inv.configs {
        for s in &cfg.servers {
            let mut values: Vec<(String, String)> = Vec::new();
            match &s.transport {
                Transport::Stdio { command, args, env } => {
                    values.push(("command".into(), command.clone()));
                    values.extend(args.iter().map(|a| ("args".into(), a.clone())));
                    values.extend(
                        env.iter()
                            .map(|(k, v)| (format!("env.{k}"), format!("{k}={v}"))),
                    );
                }
                Transport::Remote { url, headers } => {
                    values.push(("url".into(), url.clone()));
                    values.extend(
                        headers
                            .iter()
                            .map(|(k, v)| (format!("headers.{k}"), format!("{k}: {v}"))),
                    );
                }
            }
            let mut clean = true;
            for (field, text) in &values {
                for hit in crate::secrets::scan(text) {
                    clean = false;
                    let mut ev = Evidence::at(
                        &cfg.path,
                        format!(
                            "{} server {:?} {field}: {}",
                            cfg.client,
                            s.name,
                            hit.fingerprint.rule()
                        ),
                    )
                    .fingerprint(hit.fingerprint);
                    if let Some(l) = s.line {
                        ev = ev.line(l);
                    }
                    out.finding(ev);
                }
            }
            if clean {
                out.ok(Evidence::at(
                    &cfg.path,
                    format!("{} server {:?}: no secrets", cfg.client, s.name),
                ));
            }
        }
    }
    out.finish("no MCP client configs were found")
}

fn credential_file_modes(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for home in f.homes() {
        let mut candidates: Vec<PathBuf> = [
            ".aws/credentials",
            ".netrc",
            ".git-credentials",
            ".docker/config.json",
            ".config/gh/hosts.yml",
            ".kube/config",
            ".pgpass",
        ]
        .iter()
        .map(|r| home.path.join(r))
        .collect();
        for (dir, keep) in [(".ssh", true), (".openclaw/credentials", false)] {
            let dir = home.path.join(dir);
            match f.fs.list_dir(&dir) {
                Ok(l) => candidates.extend(
                    l.entries
                        .iter()
                        .filter(|e| e.kind == Kind::File)
                        .map(|e| e.name_lossy())
                        .filter(|n| !keep || (n.starts_with("id_") && !n.ends_with(".pub")))
                        .map(|n| dir.join(n)),
                ),
                Err(e) if e.is_not_found() => {}
                Err(e) => out.probe_error(&e),
            }
        }
        for path in candidates {
            match f.fs.symlink_metadata(&path) {
                Ok(m) if m.kind == Kind::File => {
                    let ev = Evidence::at(&path, format!("mode {:04o}", m.mode));
                    if m.mode & 0o077 != 0 {
                        out.finding(ev);
                    } else {
                        out.ok(ev);
                    }
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => out.probe_error(&e),
            }
        }
    }
    out.finish("no credential files were found")
}
