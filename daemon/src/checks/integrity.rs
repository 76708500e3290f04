//! Integrity: whether what defines an agent is what was approved.
//!
//! Drift checks (INT-002 … INT-005) reduce what they watch to items with digests and
//! compare them with the approved baseline held in ClawSec's state directory (see
//! `baseline.rs`). Before the first approval a drift check passes, says so, and its
//! observation is recorded as the baseline by the caller.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::baseline::Items;
use crate::digest::sha256_prefixed;
use crate::facts::{Facts, Transport};
use crate::probe::Kind;

const APPROVE: &str = "If the change is intended, approve it with `clawsecctl baseline approve \
    --check <ID>` (offline: `clawsecd --approve-baseline --check <ID>`); otherwise restore \
    the approved content and find out who changed it.";

/// The files INT-005 hashes and INT-008 reads the commands of (`~` is every home).
pub(super) const PERSISTENCE_POINTS: &[&str] = &[
    "~/.ssh/authorized_keys",
    "~/.bashrc",
    "~/.ssh/authorized_keys2",
    "~/.bash_profile",
    "~/.bash_login",
    "~/.profile",
    "~/.zshrc",
    "~/.zprofile",
    "~/.config/systemd/user/**",
    "/etc/crontab",
    "/etc/cron.d/*",
    "/var/spool/cron/crontabs/*",
    "/var/spool/cron/*",
];

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "INT-001",
        domain: Domain::Integrity,
        severity: Severity::Medium,
        title: "Agent instruction files are regular files, not symlinks",
        rationale: "An instruction file (SOUL.md, AGENTS.md, CLAUDE.md …) that is a symlink can be \
            redirected to a file someone else controls, changing what the agent is told to do \
            without touching the workspace.",
        remediation: "Replace the symlink with a regular file owned by the agent's operator, and \
            check where the link pointed.",
        references: &["CWE-59"],
        reads: &["@instruction-files"],
        run: instruction_files_regular,
    },
    Check {
        id: "INT-002",
        domain: Domain::Integrity,
        severity: Severity::High,
        title: "Agent instruction files match the approved baseline",
        rationale: "SOUL.md, AGENTS.md, CLAUDE.md and their kin define what an agent is and may do. \
            A silent edit — by a prompt-injected agent rewriting its own memory, a malicious \
            skill or another user — changes the agent's behaviour without any code change. \
            MEMORY.md, the agent's own working memory, is left out.",
        remediation: APPROVE,
        references: &["CWE-494", "MITRE ATLAS AML.T0051"],
        reads: &["@instruction-files"],
        run: instruction_files_drift,
    },
    Check {
        id: "INT-003",
        domain: Domain::Integrity,
        severity: Severity::High,
        title: "MCP server entries match the approved baseline",
        rationale: "An MCP server entry decides what code runs with the agent's privileges. \
            Each entry is hashed whole (command, args, env names, url, header names), so a \
            new server, a changed command or a renamed entry fails until someone approves it.",
        remediation: APPROVE,
        references: &[
            "CWE-494",
            "https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices",
        ],
        reads: super::MCP_CONFIGS,
        run: mcp_drift,
    },
    Check {
        id: "INT-004",
        domain: Domain::Integrity,
        severity: Severity::High,
        title: "Approved guard hooks are still in place",
        rationale: "A pre-tool-use hook that calls `clawsecctl gate` is what stops an agent from \
            acting when the host's posture is bad. An agent (or attacker) that deletes or edits \
            the hook removes the guard without anyone noticing.",
        remediation: APPROVE,
        references: &[
            "CWE-693",
            "https://docs.anthropic.com/en/docs/claude-code/hooks",
        ],
        reads: &[
            "~/.claude/settings.json",
            "~/.claude/settings.local.json",
            "/etc/claude-code/managed-settings.json",
        ],
        run: guard_hooks_drift,
    },
    Check {
        id: "INT-005",
        domain: Domain::Integrity,
        severity: Severity::High,
        title: "Persistence points match the approved baseline",
        rationale: "authorized_keys, crontabs, systemd user units and shell start-up files are \
            where an attacker (or a hijacked agent) plants a way back in. A change since the \
            approved baseline is worth a human look.",
        remediation: APPROVE,
        references: &[
            "MITRE ATT&CK T1098.004",
            "MITRE ATT&CK T1053.003",
            "MITRE ATT&CK T1543.002",
            "MITRE ATT&CK T1546.004",
        ],
        reads: &["@persistence-points"],
        run: persistence_drift,
    },
    Check {
        id: "INT-006",
        domain: Domain::Integrity,
        severity: Severity::Low,
        title: "Every agent workspace has a policy file",
        rationale: "An agent workspace without AGENTS.md, CLAUDE.md or SOUL.md gives the agent no \
            written rules of conduct: nothing tells it what it must not do, and nothing \
            records what its operator expects.",
        remediation: "Add an AGENTS.md (or CLAUDE.md / SOUL.md) to the workspace stating what the \
            agent may and may not do, and review it like code.",
        references: &["https://docs.openclaw.ai/concepts/agent-workspace"],
        reads: &["@openclaw-configs", "@instruction-files"],
        run: workspaces_have_policy,
    },
    Check {
        id: "INT-007",
        domain: Domain::Integrity,
        severity: Severity::Critical,
        title: "ClawSec's own config, signing key and attestation chain are protected",
        rationale: "Whoever can write ClawSec's config can waive any check, whoever can read \
            its signing key can forge attestations in this host's name, and whoever can write \
            its database can rewrite the attestation chain. Any of these makes the posture \
            ClawSec reports worthless. Looks at the packaged locations, /etc/clawsec and \
            /var/lib/clawsec.",
        remediation: "Reinstall the package's modes: `chown -R root:root /etc/clawsec && chmod \
            755 /etc/clawsec && chmod 644 /etc/clawsec/clawsecd.toml`, `chmod 700 \
            /var/lib/clawsec /var/lib/clawsec/keys && chmod 600 \
            /var/lib/clawsec/keys/attestation.key`; then rotate the key (`clawsecctl keys \
            rotate`) if it was readable, and find out who changed the modes.",
        references: &["CWE-732", "CWE-276"],
        reads: &[
            "/etc/clawsec",
            "/etc/clawsec/clawsecd.toml",
            "/var/lib/clawsec (state_dir)",
            "/var/lib/clawsec/keys (state_dir)",
            "/var/lib/clawsec/keys/attestation.key (state_dir)",
            "/var/lib/clawsec/clawsec.db (state_dir)",
        ],
        run: own_files_protected,
    },
    Check {
        id: "INT-008",
        domain: Domain::Integrity,
        severity: Severity::Critical,
        title: "Agent hooks, editor tasks and persistence points run nothing that fetches, decodes or hides code",
        rationale: "Hooks (Claude Code, Gemini CLI, Cursor), Claude Code's helper commands, \
            Codex's notify command, VS Code tasks that run on folder open, crontabs, systemd \
            user units, autostart entries, forced SSH commands, shell start-up files and \
            OpenClaw's internal hook handlers run code with nobody watching. 2025-2026 worms and poisoned repositories plant \
            their payload there, often before any baseline exists. A command that pipes a \
            download or a decoded blob into a shell, executes decoded data, runs a program \
            from a temp directory or an unknown hidden directory, or reads credentials and \
            sends them, is a finding on first sight; the local scripts such commands run, \
            and the source under OpenClaw's hook directories (managed, workspace and \
            `hooks.internal.load.extraDirs`), are read and judged the same way (scheduled \
            runs see changes to those scripts).",
        remediation: "Remove the entry (and the file it runs) unless you put it there \
            yourself; if it ran, treat the user's credentials as stolen: rotate SSH keys, \
            cloud and forge tokens and agent API keys, and look for the same entry in \
            other homes and repositories. For a repository's own `.claude/settings.json` \
            or `.vscode/tasks.json`, do not open the repository with an agent until the \
            entry is gone.",
        references: &[
            "CWE-506",
            "CVE-2025-59536",
            "MITRE ATT&CK T1546.004",
            "MITRE ATT&CK T1053.003",
            "MITRE ATT&CK T1543.002",
            "https://docs.anthropic.com/en/docs/claude-code/hooks",
        ],
        reads: &[
            "@launch-files",
            "@persistence-points",
            "~/.config/autostart/*",
            "~/.openclaw/hooks/**",
            "~/.clawdbot/hooks/**",
            "~/.moltbot/hooks/**",
            "@openclaw-configs",
            "<path> (schedule: the local scripts those commands run, OpenClaw workspace and extra hook directories)",
        ],
        run: super::launch::agent_code_launches,
    },
    Check {
        id: "INT-009",
        domain: Domain::Integrity,
        severity: Severity::Critical,
        title: "Agent runtimes load no code through the environment",
        rationale: "`NODE_OPTIONS=--require`, `LD_PRELOAD`, `BASH_ENV`, `PYTHONSTARTUP`, \
            `PERL5OPT=-M`, `RUBYOPT=-r` and `JAVA_TOOL_OPTIONS=-javaagent` make a runtime load \
            code its command line never names, so a hook or an MCP entry that looks clean \
            still runs the attacker's code with every tool call. Looks at the environments \
            of running agents and MCP servers, the `env` of MCP server entries, \
            /etc/ld.so.preload, /etc/environment, environment.d and the shell start-up \
            files and user units that set them. Libraries under /usr/lib and /lib (a \
            packaged malloc) are the administrator's choice and pass.",
        remediation: "Remove the variable where it is set (the file and line listed, or the \
            MCP entry's env) and the file it loads, restart the agent, and treat the \
            credentials the agent could reach as exposed if the file was not yours.",
        references: &[
            "CWE-426",
            "CWE-94",
            "MITRE ATT&CK T1574.006",
            "MITRE ATT&CK T1546.004",
        ],
        reads: &[
            "/proc/<pid>/environ",
            "@mcp-configs",
            "@persistence-points",
            "/etc/ld.so.preload",
            "/etc/environment",
            "~/.config/environment.d/*",
        ],
        run: super::launch::no_environment_injection,
    },
];

fn instruction_files_regular(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for path in f.instruction_files() {
        match f.fs.symlink_metadata(&path) {
            Ok(m) if m.kind == Kind::Symlink => {
                let target = f.fs.read_link(&path).map_or_else(
                    |e| format!("unreadable link: {e}"),
                    |t| t.display().to_string(),
                );
                out.finding(Evidence::at(&path, format!("symlink to {target}")));
            }
            Ok(_) => out.ok(Evidence::at(&path, "regular file")),
            Err(e) => out.probe_error(&e),
        }
    }
    out.finish("no agent instruction files were found")
}

/// Splits an item key `path#label` into the path and the label (labels follow the last `/`).
fn split_key(key: &str) -> (&Path, Option<&str>) {
    let tail = key.rfind('/').unwrap_or(0);
    match key[tail..].find('#') {
        Some(i) => (Path::new(&key[..tail + i]), Some(&key[tail + i + 1..])),
        None => (Path::new(key), None),
    }
}

fn item_evidence(key: &str, what: &str, detail: &str) -> Evidence {
    let (path, label) = split_key(key);
    match label {
        Some(l) => Evidence::at(path, format!("{what} {l:?}: {detail}")),
        None => Evidence::at(path, detail),
    }
}

fn short(digest: &str) -> String {
    digest.chars().take(19).collect()
}

/// Compares observed items with the check's approved baseline. `complete` is false when
/// some input could not be read: such an observation is never recorded as a baseline.
fn compare(f: &Facts, check: &str, what: &str, items: Items, complete: bool, out: &mut Findings) {
    let Some(base) = f.baseline(check) else {
        if !items.is_empty() {
            out.ok(Evidence::note(format!(
                "no approved baseline yet; {} {what}(s) recorded",
                items.len()
            )));
        }
        if complete {
            f.observe(check, items);
        }
        return;
    };
    for (key, digest) in &items {
        match base.get(key) {
            None => out.finding(item_evidence(
                key,
                what,
                "added since the approved baseline",
            )),
            Some(old) if old != digest => out.finding(item_evidence(
                key,
                what,
                &format!(
                    "changed since the approved baseline ({} → {})",
                    short(old),
                    short(digest)
                ),
            )),
            Some(_) => out.ok(item_evidence(key, what, "matches the approved baseline")),
        }
    }
    for key in base.keys().filter(|k| !items.contains_key(*k)) {
        out.finding(item_evidence(
            key,
            what,
            "removed since the approved baseline",
        ));
    }
    if complete {
        f.observe(check, items);
    }
}

/// Digests of files that exist among `paths`; unreadable ones are errors.
fn file_items(
    f: &Facts,
    paths: impl IntoIterator<Item = PathBuf>,
    out: &mut Findings,
) -> (Items, bool) {
    let mut items = Items::new();
    let mut complete = true;
    for path in paths {
        match f.fs.read(&path) {
            Ok(bytes) => {
                items.insert(path.display().to_string(), sha256_prefixed(&bytes));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                complete = false;
                out.probe_error(&e);
            }
        }
    }
    (items, complete)
}

fn instruction_files_drift(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    // MEMORY.md is the agent's own long-term memory, rewritten every session by design;
    // hashing it would fail on every normal run. What defines the agent is the rest.
    let files = f
        .instruction_files()
        .into_iter()
        .filter(|p| p.file_name().is_none_or(|n| n != "MEMORY.md"));
    let (items, complete) = file_items(f, files, &mut out);
    compare(f, "INT-002", "instruction file", items, complete, &mut out);
    out.finish("no agent instruction files were found and none were approved")
}

/// The whole entry, minus secret values: env and header values are left out so that a
/// rotated token is not drift, while a new variable or header is.
fn server_digest(transport: &Transport) -> String {
    let canonical = match transport {
        Transport::Stdio { command, args, env } => {
            let mut keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            serde_json::json!({ "command": command, "args": args, "env": keys })
        }
        Transport::Remote { url, headers } => {
            let mut keys: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            serde_json::json!({ "url": url, "headers": keys })
        }
    };
    sha256_prefixed(canonical.to_string().as_bytes())
}

fn mcp_drift(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let inv = f.mcp();
    for p in &inv.errors {
        out.problem(p);
    }
    let mut items = Items::new();
    for cfg in &inv.configs {
        for s in &cfg.servers {
            // One name can appear in several `projects.<path>` of ~/.claude.json; number
            // the repeats (in file order, so the keys are stable) rather than lose one.
            let base = format!("{}#{}", cfg.path.display(), s.name);
            let mut key = base.clone();
            let mut n = 1;
            while items.contains_key(&key) {
                n += 1;
                key = format!("{base} ({n})");
            }
            items.insert(key, server_digest(&s.transport));
        }
    }
    compare(
        f,
        "INT-003",
        "MCP server",
        items,
        inv.errors.is_empty(),
        &mut out,
    );
    out.finish("no MCP servers are configured and none were approved")
}

/// Every hook command in a settings document that calls `clawsecctl gate`.
fn gate_hooks(value: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(cmd) = m.get("command").and_then(Value::as_str)
                    && cmd.contains("clawsecctl")
                    && cmd.contains("gate")
                {
                    out.push(cmd.to_owned());
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(hooks) = value.get("hooks") {
        walk(hooks, &mut out);
    }
    out.sort();
    out
}

fn guard_hooks_drift(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut items = Items::new();
    let mut complete = true;
    for doc in f.claude_settings() {
        match doc {
            Ok(doc) => {
                let hooks = gate_hooks(&doc.value);
                if !hooks.is_empty() {
                    items.insert(
                        doc.path.display().to_string(),
                        sha256_prefixed(hooks.join("\n").as_bytes()),
                    );
                }
            }
            Err(p) => {
                complete = false;
                out.problem(&p);
            }
        }
    }
    compare(f, "INT-004", "guard hook", items, complete, &mut out);
    out.finish("no guard hook calling `clawsecctl gate` is installed or approved")
}

/// The persistence points (`Facts::persistence_points`), after recording in `out` what
/// their walks could not cover; the flag says whether they were covered whole.
pub(super) fn persistence_paths(f: &Facts, out: &mut Findings) -> (Vec<PathBuf>, bool) {
    let (paths, errors) = f.persistence_points();
    out.walked(crate::probe::Walk {
        errors: errors.clone(),
        ..Default::default()
    });
    let complete = errors.iter().all(crate::probe::ProbeError::is_not_found);
    (paths.clone(), complete)
}

fn persistence_drift(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let (paths, walked) = persistence_paths(f, &mut out);
    let (items, read) = file_items(f, paths, &mut out);
    compare(
        f,
        "INT-005",
        "persistence point",
        items,
        walked && read,
        &mut out,
    );
    out.finish("no persistence points (authorized_keys, crontabs, rc files) exist")
}

const POLICY_FILES: &[&str] = &["AGENTS.md", "CLAUDE.md", "SOUL.md"];

fn workspaces_have_policy(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    // The workspaces an operator set up for agents; a repository opened once with a
    // coding agent owes ClawSec no policy file.
    let mut workspaces = f.openclaw_workspaces();
    workspaces.extend(f.discovery().workspaces.iter().cloned());
    workspaces.sort();
    workspaces.dedup();
    for ws in workspaces {
        let mut found = None;
        for name in POLICY_FILES {
            let p = ws.join(name);
            match f.fs.read(&p) {
                Ok(b) if !b.iter().all(u8::is_ascii_whitespace) => {
                    found = Some(p);
                    break;
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => out.probe_error(&e),
            }
        }
        match found {
            Some(p) => out.ok(Evidence::at(&p, "policy file present")),
            None => {
                if f.fs.exists(&ws) {
                    out.finding(Evidence::at(
                        &ws,
                        format!("workspace has no non-empty {}", POLICY_FILES.join(", ")),
                    ))
                }
            }
        }
    }
    out.finish("no agent workspaces were found")
}

/// ClawSec's own files and what each must not allow group or others to do: write
/// (`0o022`) or, for the signing key, anything at all (`0o077`).
const OWN_FILES: &[(&str, u32, &str)] = &[
    ("/etc/clawsec", 0o022, "others can replace the config"),
    (
        "/etc/clawsec/clawsecd.toml",
        0o022,
        "others can change the config (waivers, policy)",
    ),
    (
        "/var/lib/clawsec",
        0o022,
        "others can replace the keys or the database",
    ),
    (
        "/var/lib/clawsec/keys",
        0o022,
        "others can replace the signing key",
    ),
    (
        "/var/lib/clawsec/keys/attestation.key",
        0o077,
        "others can read the signing key and forge attestations",
    ),
    (
        "/var/lib/clawsec/clawsec.db",
        0o022,
        "others can rewrite the attestation chain",
    ),
];

fn own_files_protected(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for (path, forbidden, risk) in OWN_FILES {
        let path = Path::new(path);
        // Modes are those of what a path resolves to (inside the host root): a symlinked
        // config is judged by its target.
        match f.fs.metadata(path) {
            Ok(m) => {
                let ev = Evidence::at(path, format!("mode {:04o}", m.mode));
                if m.mode & forbidden != 0 {
                    out.finding(Evidence::at(path, format!("mode {:04o}: {risk}", m.mode)));
                } else {
                    out.ok(ev);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => out.probe_error(&e),
        }
    }
    out.finish("ClawSec is not installed in /etc/clawsec or /var/lib/clawsec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_at_the_label() {
        assert_eq!(
            split_key("/home/a/.claude.json#git#hub"),
            (Path::new("/home/a/.claude.json"), Some("git#hub"))
        );
        assert_eq!(
            split_key("/home/a#b/SOUL.md"),
            (Path::new("/home/a#b/SOUL.md"), None)
        );
    }
}
