//! Secrets: credentials left where agents, their tools and other users can read them.

use std::path::{Path, PathBuf};

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::{Facts, Transport};
use crate::probe::{Kind, ProbeError};

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
        reads: super::MCP_CONFIGS,
        run: no_secrets_in_mcp,
    },
    Check {
        id: "SEC-002",
        domain: Domain::Secrets,
        severity: Severity::High,
        title: "Credential stores are readable only by their owner",
        rationale: "Cloud keys, SSH keys, registry and forge tokens, kubeconfigs, agent CLI \
            logins and OpenClaw auth profiles that another account can read can be taken \
            by any local user or any service compromised through an agent. The stores are \
            read in the formats their tools write; a file is a finding only when it holds a \
            credential (not a token-less config, not a `${VAR}` placeholder) and someone \
            other than its owner can really read it (the file's mode and every directory \
            above it; a group counts when it has another member). Project `.env` files in \
            agent workspaces count when the secret scanner finds a real-shaped secret.",
        remediation: "chmod 600 each file listed and 700 its directory; if others could \
            read it for long, rotate the credential.",
        references: &["CWE-732", "CWE-522", "CIS Debian Linux 6.2"],
        reads: super::credstores::STORE_READS,
        run: super::credstores::credential_stores_private,
    },
    Check {
        id: "SEC-003",
        domain: Domain::Secrets,
        severity: Severity::Critical,
        title: "No plaintext secrets in agent instruction files or agent settings",
        rationale: "Instruction and memory files (AGENTS.md, CLAUDE.md, MEMORY.md …) are \
            sent to the model provider with every request, and settings files are synced and \
            shared; a key written there is disclosed to the provider and to anyone who can \
            prompt the agent into repeating its context.",
        remediation: "Remove the value, rotate the key, and give it to the agent through a \
            secret store or the environment of a credential helper (e.g. Claude Code \
            `apiKeyHelper`) instead.",
        references: &["CWE-798", "CWE-312", "CWE-200"],
        reads: &[
            "~/.openclaw/workspace/*.md",
            "~/.claude/CLAUDE.md",
            "~/.claude/settings.json",
            "~/.claude/settings.local.json",
            "<workspace>/CLAUDE.md",
            "<workspace>/AGENTS.md",
            "<workspace>/.claude/settings.json",
        ],
        run: no_secrets_in_agent_files,
    },
    Check {
        id: "SEC-004",
        domain: Domain::Secrets,
        severity: Severity::High,
        title: "No secrets in shell history",
        rationale: "Keys typed on a command line (`export OPENAI_API_KEY=…`, `curl -H \
            'Authorization: Bearer …'`) stay in shell history, which agents running as the \
            same user read freely and which survives the key's intended lifetime.",
        remediation: "Delete the lines from the history file, rotate the keys, and set \
            HISTCONTROL=ignorespace (bash) or `setopt HIST_IGNORE_SPACE` (zsh) so commands \
            typed with a leading space are not recorded.",
        references: &["CWE-532", "CWE-312"],
        reads: &[
            "~/.bash_history",
            "~/.zsh_history",
            "~/.local/share/fish/fish_history",
            "~/.python_history",
            "~/.node_repl_history",
            "~/.psql_history",
            "~/.mysql_history",
        ],
        run: no_secrets_in_history,
    },
    Check {
        id: "SEC-005",
        domain: Domain::Secrets,
        severity: Severity::Medium,
        title: "No long-lived secrets in agent process environments",
        rationale: "Every tool, MCP server and shell command an agent starts inherits its \
            environment; one prompt injection that runs `env` and a web request exfiltrates \
            every key in it.",
        remediation: "Start agents with only what they need: use the client's credential \
            helper or OAuth login instead of API keys in the environment, and pass \
            per-server tokens to MCP servers by reference rather than exporting them.",
        references: &["CWE-526", "CWE-214"],
        reads: &["/proc/<pid>/environ"],
        run: no_secrets_in_agent_env,
    },
    Check {
        id: "SEC-006",
        domain: Domain::Secrets,
        severity: Severity::High,
        title: "SSH private keys are protected by a passphrase",
        rationale: "An agent running as the user can read the user's ~/.ssh: an unencrypted \
            private key lets a compromised agent log in to every server that key opens, \
            from anywhere.",
        remediation: "Add a passphrase (`ssh-keygen -p -f KEY`) and use ssh-agent, or move \
            the key to a hardware token (`ssh-keygen -t ed25519-sk`).",
        references: &["CWE-311", "CWE-522", "CIS Debian Linux 5.2.2"],
        reads: &["~/.ssh/*"],
        run: ssh_keys_encrypted,
    },
    Check {
        id: "SEC-007",
        domain: Domain::Secrets,
        severity: Severity::High,
        title: "Agent state is not kept in cloud-synced folders",
        rationale: "Agent state directories hold API keys, OAuth tokens, channel \
            credentials and full transcripts. In Dropbox, OneDrive, Google Drive or a \
            Syncthing folder they are copied to every linked device and to the provider, \
            shared along with the folder, and kept in its version history after deletion.",
        remediation: "Move the directory back to local storage (e.g. `mv ~/Dropbox/.openclaw \
            ~/.openclaw`), exclude it from sync, and rotate the credentials it held.",
        references: &["CWE-312", "CWE-200", "CWE-538"],
        // Moving state into a synced folder, or linking it there, changes the home or the
        // folder's top level, which are watched; a copy deeper inside waits for the schedule
        // (synced trees are too large to watch).
        reads: &[
            "@agent-state",
            "@synced-folders",
            "~/*/*/.* (schedule: agent state one level inside a synced folder)",
        ],
        run: agent_state_not_synced,
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

/// Scans one text file for secrets. Files larger than the cap are scanned on their prefix
/// and, unless something was found, the check errors rather than passing on a part.
fn scan_file(f: &Facts, path: &Path, what: &str, out: &mut Findings) {
    let (bytes, truncated) = match f.fs.read_prefix(path) {
        Ok(r) => r,
        Err(e) if e.is_not_found() => return,
        Err(e) => return out.probe_error(&e),
    };
    let text = String::from_utf8_lossy(&bytes);
    let hits = crate::secrets::scan(&text);
    if hits.is_empty() {
        out.ok(Evidence::at(path, format!("{what}: no secrets")));
    }
    for hit in hits {
        out.finding(
            Evidence::at(path, format!("{what}: {}", hit.fingerprint.rule()))
                .line(hit.line)
                .fingerprint(hit.fingerprint),
        );
    }
    if truncated {
        out.probe_error(&ProbeError::TooLarge {
            path: path.display().to_string(),
            size: None,
            cap: f.fs.limits().max_file_bytes,
        });
    }
}

fn no_secrets_in_agent_files(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut files = f.instruction_files();
    // Claude Code projects and OpenClaw workspaces found on the host carry their own.
    for ws in f.code_workspaces() {
        for name in [
            "CLAUDE.md",
            "CLAUDE.local.md",
            "AGENTS.md",
            "GEMINI.md",
            ".claude/CLAUDE.md",
        ] {
            let path = ws.join(name);
            if f.fs.exists(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    files.dedup();
    for path in files {
        // A symlinked instruction file is INT-001's finding; its target is still scanned.
        scan_file(f, &path, "instruction file", &mut out);
    }
    let mut settings = Vec::new();
    for home in f.homes() {
        // (Gemini CLI's settings.json holds its MCP servers, which SEC-001 scans.)
        for rel in [".claude/settings.json", ".claude/settings.local.json"] {
            settings.push(home.path.join(rel));
        }
    }
    for ws in f.code_workspaces() {
        for rel in [".claude/settings.json", ".claude/settings.local.json"] {
            settings.push(ws.join(rel));
        }
    }
    settings.sort();
    settings.dedup();
    for path in settings {
        scan_file(f, &path, "agent settings", &mut out);
    }
    out.finish("no agent instruction or settings files were found")
}

const HISTORY_FILES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".local/share/fish/fish_history",
    ".python_history",
    ".node_repl_history",
    ".psql_history",
    ".mysql_history",
];

fn no_secrets_in_history(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for home in f.homes() {
        for rel in HISTORY_FILES {
            scan_file(f, &home.path.join(rel), "shell history", &mut out);
        }
    }
    out.finish("no shell history files were found")
}

fn no_secrets_in_agent_env(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in procs.into_iter().filter(|p| f.is_agent(p)) {
        let env = match f.environ(p.pid) {
            Ok(e) => e,
            Err(ProbeError::NotFound { .. }) => continue,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        };
        let path = p.proc_dir().join("environ");
        let who = format!("{} (pid {})", p.program(), p.pid);
        let mut clean = true;
        for var in env.iter() {
            // Values go only to the scanner; evidence names the variable and the rule.
            let name = var.split_once('=').map_or(var.as_str(), |(k, _)| k);
            for hit in crate::secrets::scan(var) {
                clean = false;
                out.finding(
                    Evidence::at(&path, format!("{who} {name}: {}", hit.fingerprint.rule()))
                        .fingerprint(hit.fingerprint),
                );
            }
        }
        if clean {
            out.ok(Evidence::at(
                &path,
                format!("{who}: no secrets in {} variables", env.len()),
            ));
        }
    }
    out.finish("no agent processes are running")
}

/// Files in ~/.ssh that are never private keys.
const NOT_KEYS: &[&str] = &[
    "known_hosts",
    "known_hosts.old",
    "authorized_keys",
    "authorized_keys2",
    "config",
    "environment",
    "rc",
];

fn ssh_keys_encrypted(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for home in f.homes() {
        let dir = home.path.join(".ssh");
        let Some(listing) = out.found(f.fs.list_dir(&dir)) else {
            continue;
        };
        for e in listing.iter().filter(|e| e.kind == Kind::File) {
            let name = e.name_lossy();
            if name.ends_with(".pub") || NOT_KEYS.contains(&name.as_str()) {
                continue;
            }
            let path = dir.join(&e.name);
            let text = match f.fs.read_text(&path) {
                Ok(t) => t,
                Err(e) => {
                    out.probe_error(&e);
                    continue;
                }
            };
            match key_protection(&text) {
                Ok(None) => {}
                Ok(Some(KeyState::Encrypted(how))) => out.ok(Evidence::at(
                    &path,
                    format!("private key, encrypted ({how})"),
                )),
                Ok(Some(KeyState::Plain(format))) => out.finding(Evidence::at(
                    &path,
                    format!("{format} private key without a passphrase"),
                )),
                Err(message) => out.parse_error(&path, message),
            }
        }
    }
    out.finish("no SSH private keys were found")
}

/// Folders in a home that desktop sync clients keep mirrored to a cloud or to other
/// devices (`@synced-folders` in SEC-007's reads).
pub(super) const SYNCED_FOLDERS: &[&str] = &[
    "~/Dropbox",
    "~/OneDrive",
    "~/Google Drive",
    "~/GoogleDrive",
    "~/google-drive",
    "~/iCloudDrive",
    "~/iCloud Drive",
    "~/Nextcloud",
    "~/ownCloud",
    "~/pCloudDrive",
    "~/MEGA",
    "~/Sync",
];

/// Agent state in a home that holds credentials and transcripts (`@agent-state`).
pub(super) const AGENT_STATE: &[&str] = &[
    "~/.openclaw",
    "~/.clawdbot",
    "~/.moltbot",
    "~/.claude",
    "~/.claude.json",
    "~/.codex",
    "~/.gemini",
    "~/.cursor",
];

/// A home pattern's name in the home (`~/.openclaw` → `.openclaw`).
fn in_home(pattern: &str) -> &str {
    pattern.trim_start_matches("~/")
}

fn agent_state_not_synced(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for home in f.homes() {
        let synced: Vec<PathBuf> = SYNCED_FOLDERS
            .iter()
            .map(|n| home.path.join(in_home(n)))
            .filter(|p| f.fs.metadata(p).is_ok_and(|m| m.kind == Kind::Dir))
            .collect();
        let in_synced = |target: &Path| synced.iter().find(|s| target.starts_with(s));
        // State in the home that is really a link into a synced folder.
        for name in AGENT_STATE {
            let path = home.path.join(in_home(name));
            match f.fs.symlink_metadata(&path) {
                Ok(m) if m.kind == Kind::Symlink => {
                    let target = match f.fs.read_link(&path) {
                        Ok(t) if t.is_absolute() => t,
                        Ok(t) => home.path.join(t),
                        Err(e) => {
                            out.probe_error(&e);
                            continue;
                        }
                    };
                    match in_synced(&target) {
                        Some(s) => out.finding(Evidence::at(
                            &path,
                            format!(
                                "symlink to {}, inside synced folder {}",
                                target.display(),
                                s.display()
                            ),
                        )),
                        None => out.inspected(),
                    }
                }
                Ok(_) | Err(ProbeError::NotFound { .. }) => {}
                Err(e) => out.probe_error(&e),
            }
        }
        // State copied or moved into a synced folder, at its top level or one below.
        for root in &synced {
            let mut dirs = vec![root.clone()];
            match f.fs.list_dir(root) {
                Ok(l) => dirs.extend(
                    l.iter()
                        .filter(|e| {
                            e.kind == Kind::Dir
                                && !AGENT_STATE.iter().any(|a| in_home(a) == e.name_lossy())
                        })
                        .map(|e| root.join(&e.name)),
                ),
                Err(e) => {
                    out.probe_error(&e);
                    continue;
                }
            }
            let mut found = false;
            for dir in dirs {
                for name in AGENT_STATE {
                    let path = dir.join(in_home(name));
                    match f.fs.symlink_metadata(&path) {
                        Ok(_) => {
                            found = true;
                            out.finding(Evidence::at(
                                &path,
                                format!("agent state inside synced folder {}", root.display()),
                            ));
                        }
                        Err(ProbeError::NotFound { .. }) => {}
                        Err(e) => out.probe_error(&e),
                    }
                }
            }
            if !found {
                out.ok(Evidence::at(root, "synced folder holds no agent state"));
            }
        }
    }
    out.finish("no cloud-synced folders were found")
}

#[derive(Debug, PartialEq, Eq)]
enum KeyState {
    Encrypted(String),
    Plain(&'static str),
}

/// Whether a file holding a private key protects it. `Ok(None)`: not a private key.
fn key_protection(text: &str) -> Result<Option<KeyState>, String> {
    let Some(begin) = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("-----BEGIN ") && l.ends_with("PRIVATE KEY-----"))
    else {
        return Ok(None);
    };
    match begin {
        "-----BEGIN OPENSSH PRIVATE KEY-----" => {
            let body: String = text
                .lines()
                .map(str::trim)
                .skip_while(|l| !l.starts_with("-----BEGIN"))
                .skip(1)
                .take_while(|l| !l.starts_with("-----END"))
                .collect();
            let raw = base64_decode(&body).ok_or("the key body is not base64")?;
            let cipher = openssh_cipher(&raw).ok_or("not an openssh-key-v1 key")?;
            Ok(Some(if cipher == "none" {
                KeyState::Plain("OpenSSH")
            } else {
                KeyState::Encrypted(cipher)
            }))
        }
        "-----BEGIN ENCRYPTED PRIVATE KEY-----" => Ok(Some(KeyState::Encrypted("PKCS#8".into()))),
        "-----BEGIN PRIVATE KEY-----" => Ok(Some(KeyState::Plain("PKCS#8"))),
        _ if text.contains("Proc-Type: 4,ENCRYPTED") => Ok(Some(KeyState::Encrypted("PEM".into()))),
        _ => Ok(Some(KeyState::Plain("PEM"))),
    }
}

/// The cipher name of an `openssh-key-v1` blob: magic, then a length-prefixed string.
fn openssh_cipher(raw: &[u8]) -> Option<String> {
    let rest = raw.strip_prefix(b"openssh-key-v1\0")?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let name = rest.get(4..4 + len)?;
    String::from_utf8(name.to_vec()).ok()
}

/// Standard base64 (padding optional). `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssh(cipher: &str) -> String {
        let mut blob = b"openssh-key-v1\0".to_vec();
        blob.extend((cipher.len() as u32).to_be_bytes());
        blob.extend(cipher.as_bytes());
        blob.extend([0, 0, 0, 4]);
        blob.extend(b"none");
        let b64 = base64_encode(&blob);
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{b64}\n-----END OPENSSH PRIVATE KEY-----\n")
    }

    fn base64_encode(data: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn recognises_key_protection() {
        assert_eq!(
            key_protection(&openssh("none")),
            Ok(Some(KeyState::Plain("OpenSSH")))
        );
        assert_eq!(
            key_protection(&openssh("aes256-ctr")),
            Ok(Some(KeyState::Encrypted("aes256-ctr".into())))
        );
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(
            key_protection(pem),
            Ok(Some(KeyState::Encrypted("PEM".into())))
        );
        assert_eq!(
            key_protection("-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n"),
            Ok(Some(KeyState::Plain("PEM")))
        );
        assert_eq!(key_protection("Host *\n  IdentitiesOnly yes\n"), Ok(None));
        assert!(
            key_protection(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----\n"
            )
            .is_err()
        );
        assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
    }
}
