//! Logs: whether what agents do leaves a durable trail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::Facts;
use crate::probe::Kind;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "LOG-001",
        domain: Domain::Logs,
        severity: Severity::Medium,
        title: "The systemd journal is kept across reboots",
        rationale: "With volatile journal storage, the record of what an agent did is gone after \
        a reboot, which is often the first thing an intruder or a crash causes.",
        remediation: "Set `Storage=persistent` in /etc/systemd/journald.conf (or a drop-in) and \
        restart systemd-journald; `Storage=auto` also persists once /var/log/journal exists.",
        references: &["CIS Debian Linux 4.2.1.3", "CWE-778"],
        reads: &[
            "/etc/systemd/journald.conf",
            "/etc/systemd/journald.conf.d/*.conf",
            "/var/log/journal",
            // Whether systemd runs at all (no journal to judge otherwise).
            "/run/systemd/system",
            "/etc/systemd/system",
        ],
        run: journal_persistent,
    },
    Check {
        id: "LOG-002",
        domain: Domain::Logs,
        severity: Severity::Medium,
        title: "auditd is running with audit rules loaded",
        rationale: "The kernel audit log is the record of what an agent actually executed and \
        touched (execve, writes to credentials and persistence points), kept outside the \
        agent's own reach. Without auditd, or with no rules, there is none.",
        remediation: "Install and enable auditd (`apt install auditd && systemctl enable --now \
        auditd`) and add rules under /etc/audit/rules.d/, e.g. `-w /etc/sudoers -p wa`, \
        `-a always,exit -F arch=b64 -S execve -F auid>=1000 -k exec`; load them with \
        augenrules --load.",
        references: &[
            "CIS Debian Linux 4.1.1.1",
            "CIS Debian Linux 4.1.1.2",
            "CWE-778",
        ],
        reads: &[
            "/proc/<pid>/status",
            "/etc/audit/rules.d/*.rules",
            "/etc/audit/audit.rules",
        ],
        run: auditd_with_rules,
    },
    Check {
        id: "LOG-003",
        domain: Domain::Logs,
        severity: Severity::High,
        title: "Agent transcripts and logs are not readable by other users",
        rationale: "Session transcripts hold every prompt, file the agent read, command output \
        and often pasted keys. Readable by others (with every parent directory \
        traversable), any local account or compromised service can mine them.",
        remediation: "chmod 700 the transcript directories (~/.claude, ~/.openclaw, ~/.codex, \
        /tmp/openclaw) and `chmod -R go-rwx` their contents; set a umask of 077 for the \
        agent's user or service (UMask=0077).",
        references: &["CWE-532", "CWE-732", "CWE-200"],
        reads: &[
            "~/.claude/projects/**",
            "~/.openclaw/agents/*/sessions/**",
            "~/.openclaw/logs/**",
            "~/.codex/sessions/**",
            "~/.gemini/tmp/**",
            "~/.codex/log/**",
            "/tmp/openclaw/*",
            "/var/log/openclaw/**",
            // Where openclaw.json says its logs go.
            "@openclaw-configs",
        ],
        run: transcripts_private,
    },
    Check {
        id: "LOG-004",
        domain: Domain::Logs,
        severity: Severity::Medium,
        title: "OpenClaw log redaction is not switched off",
        rationale: "With `logging.redactSensitive: \"off\"`, OpenClaw writes tool arguments and \
        results verbatim to its logs, so tokens and personal data the agent handles end up \
        in files that are kept, rotated and shipped.",
        remediation: "Remove `logging.redactSensitive` (the default redacts tool output) or set \
        it to \"tools\".",
        references: &["CWE-532", "https://docs.openclaw.ai/logging"],
        reads: &["@openclaw-configs"],
        run: openclaw_redaction_on,
    },
    Check {
        id: "LOG-005",
        domain: Domain::Logs,
        severity: Severity::Low,
        title: "Agent log directories are rotated",
        rationale: "Agent gateways log every message and tool call; without rotation the logs \
        grow until the disk fills, which stops logging (and often the host) exactly when \
        a runaway agent makes the record most needed.",
        remediation: "Add a logrotate rule for the directory, e.g. /etc/logrotate.d/openclaw \
        with `/home/*/.openclaw/logs/*.log { weekly rotate 8 compress missingok notifempty }`.",
        references: &["CIS Debian Linux 4.2.3", "CWE-400"],
        reads: &[
            "/var/log/openclaw",
            "~/.openclaw/logs",
            "@openclaw-configs",
            "/etc/logrotate.conf",
            "/etc/logrotate.d/*",
        ],
        run: agent_logs_rotated,
    },
    Check {
        id: "LOG-006",
        domain: Domain::Logs,
        severity: Severity::Medium,
        title: "Agent transcripts and logs cannot be altered by other users",
        rationale: "A world-writable log or transcript directory lets any local user erase or \
        forge the record of what an agent did, or plant a symlink so the agent writes \
        where the attacker wants.",
        remediation: "`chmod o-w` the directories and files listed; recreate /tmp/openclaw as \
        0700 owned by the agent's user, or point OpenClaw's `logging.file` at a private \
        directory.",
        references: &["CWE-732", "CWE-379", "CIS Debian Linux 4.2.3"],
        reads: &[
            "~/.claude/projects/**",
            "~/.openclaw/agents/**",
            "~/.openclaw/logs/**",
            "~/.codex/sessions/**",
            "~/.codex/log/**",
            "~/.gemini/tmp/**",
            "/tmp/openclaw/*",
            "/var/log/openclaw/**",
            "@openclaw-configs",
        ],
        run: logs_not_world_writable,
    },
    Check {
        id: "LOG-007",
        domain: Domain::Logs,
        severity: Severity::Low,
        title: "Agents keep a record of their sessions",
        rationale: "Session transcripts are the only record of what an agent was asked, \
            what it read and which tools it ran. With Claude Code's cleanupPeriodDays at 0 \
            or Codex history persistence off, an incident leaves nothing to investigate.",
        remediation: "Remove `cleanupPeriodDays: 0` from Claude Code settings (the default \
            keeps 30 days) and `persistence = \"none\"` from Codex's [history] table; protect \
            the transcripts instead (LOG-003, LOG-006).",
        references: &[
            "CWE-778",
            "https://docs.anthropic.com/en/docs/claude-code/settings",
        ],
        reads: &[
            "~/.claude/settings.json",
            "/etc/claude-code/managed-settings.json",
            "~/.codex/config.toml",
        ],
        run: sessions_recorded,
    },
];

fn journal_persistent(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let main = PathBuf::from("/etc/systemd/journald.conf");
    let mut files = vec![main.clone()];
    match f.fs.list_dir(Path::new("/etc/systemd/journald.conf.d")) {
        Ok(l) => files.extend(
            l.iter()
                .filter(|e| e.kind != Kind::Dir && e.name_lossy().ends_with(".conf"))
                .map(|e| PathBuf::from("/etc/systemd/journald.conf.d").join(&e.name)),
        ),
        Err(e) if e.is_not_found() => {}
        Err(e) => out.probe_error(&e),
    }
    // Later files override earlier ones, as systemd applies them.
    let mut storage: Option<(String, PathBuf, u32)> = None;
    let mut any = false;
    for path in &files {
        match f.fs.read_text(path) {
            Ok(text) => {
                any = true;
                let mut in_journal = false;
                for (i, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.starts_with('[') {
                        in_journal = line == "[Journal]";
                    } else if let Some(v) = line.strip_prefix("Storage=")
                        && in_journal
                    {
                        storage = Some((v.trim().to_ascii_lowercase(), path.clone(), i as u32 + 1));
                    }
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => out.probe_error(&e),
        }
    }
    let systemd = any
        || f.fs.exists(Path::new("/etc/systemd/system"))
        || f.fs.exists(Path::new("/run/systemd/system"));
    if !systemd {
        return out.finish("systemd-journald is not used on this host");
    }
    let journal_dir =
        f.fs.metadata(Path::new("/var/log/journal"))
            .is_ok_and(|m| m.kind == Kind::Dir);
    let (value, ev) = match &storage {
        Some((v, p, l)) => (v.clone(), Evidence::at(p, format!("Storage={v}")).line(*l)),
        None => (
            "auto".to_owned(),
            Evidence::at(&main, "Storage not set; default is auto"),
        ),
    };
    let persistent = value == "persistent" || (value == "auto" && journal_dir);
    if persistent {
        out.ok(ev);
    } else if value == "auto" {
        out.finding(Evidence::at(Path::new("/var/log/journal"), "Storage=auto and /var/log/journal does not exist, so the journal is kept in memory only"));
    } else {
        out.finding(ev);
    }
    out.finish("systemd-journald is not used on this host")
}

fn auditd_with_rules(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    let running: Vec<_> = procs
        .iter()
        .filter(|p| p.name == "auditd" || p.program() == "auditd")
        .collect();
    // Rules: the compiled file and the augenrules fragments it is built from.
    // A finding that rests on a rule being absent needs every rules file read.
    let mut unread = false;
    let mut files = vec![PathBuf::from("/etc/audit/audit.rules")];
    let rules_d = Path::new("/etc/audit/rules.d");
    match f.fs.list_dir(rules_d) {
        Ok(l) => files.extend(
            l.iter()
                .filter(|e| e.kind != Kind::Dir && e.name_lossy().ends_with(".rules"))
                .map(|e| rules_d.join(&e.name)),
        ),
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            unread = true;
            out.probe_error(&e);
        }
    }
    let mut rules = 0;
    let mut first: Option<(PathBuf, u32, String)> = None;
    for path in &files {
        let text = match f.fs.read_text(path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                unread = true;
                out.probe_error(&e);
                continue;
            }
        };
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            // `-a never,task` (a common distribution default) switches auditing off.
            let watch = l.starts_with("-w ") || (l.starts_with("-a ") && !l.contains("never"));
            if watch {
                rules += 1;
                first.get_or_insert((path.clone(), i as u32 + 1, l.to_owned()));
            }
        }
    }
    match (running.first(), first) {
        (None, _) => out.finding(Evidence::note("auditd is not running")),
        (Some(_), None) if unread => {}
        (Some(p), None) => out.finding(Evidence::at(
            Path::new("/etc/audit/rules.d"),
            format!(
                "auditd runs (pid {}) but no -w or -a audit rule is configured",
                p.pid
            ),
        )),
        (Some(p), Some((path, line, rule))) => out.ok(Evidence::at(
            &path,
            format!(
                "auditd runs (pid {}) with {rules} rules, e.g. {rule}",
                p.pid
            ),
        )
        .line(line)),
    }
    out.finish("")
}

/// Directories of agent transcripts and logs that exist: (root, label).
fn agent_log_roots(f: &Facts) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for home in f.homes() {
        for rel in [
            ".claude/projects",
            ".openclaw/agents",
            ".openclaw/logs",
            ".codex/sessions",
            ".codex/log",
            ".gemini/tmp",
        ] {
            roots.push(home.path.join(rel));
        }
    }
    roots.push(PathBuf::from("/tmp/openclaw"));
    roots.push(PathBuf::from("/var/log/openclaw"));
    roots.extend(openclaw_log_dirs(f));
    roots.sort();
    roots.dedup();
    roots.retain(|r| f.fs.symlink_metadata(r).is_ok());
    roots
}

/// Directories named by OpenClaw's `logging.file`.
fn openclaw_log_dirs(f: &Facts) -> Vec<PathBuf> {
    f.openclaw_configs()
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .filter_map(|d| d.value.pointer("/logging/file").and_then(Value::as_str))
        .filter(|p| p.starts_with('/'))
        .filter_map(|p| Path::new(p).parent().map(Path::to_path_buf))
        .collect()
}

/// Most findings reported per directory tree; the rest are counted.
const PER_ROOT: usize = 10;

fn transcripts_private(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut traversable: HashMap<PathBuf, bool> = HashMap::new();
    for root in agent_log_roots(f) {
        let files = out.walked(f.fs.walk(&root));
        let mut exposed = 0usize;
        for (path, m) in files.iter().filter(|(_, m)| m.kind == Kind::File) {
            if m.mode & 0o004 == 0 || !others_can_traverse(f, path, &mut traversable) {
                out.inspected();
                continue;
            }
            exposed += 1;
            if exposed <= PER_ROOT {
                out.finding(Evidence::at(
                    path,
                    format!("readable by others, mode {:04o}", m.mode),
                ));
            }
        }
        if exposed > PER_ROOT {
            out.finding(Evidence::at(
                &root,
                format!("and {} more files readable by others", exposed - PER_ROOT),
            ));
        }
        if exposed == 0 {
            out.ok(Evidence::at(
                &root,
                "no transcript or log is readable by others",
            ));
        }
    }
    out.finish("no agent transcripts or logs were found")
}

/// Whether every directory above `path` (below the host root) lets others through.
fn others_can_traverse(f: &Facts, path: &Path, cache: &mut HashMap<PathBuf, bool>) -> bool {
    let mut dir = PathBuf::from("/");
    for c in path.parent().into_iter().flat_map(Path::components).skip(1) {
        dir.push(c);
        let ok = *cache
            .entry(dir.clone())
            .or_insert_with(|| f.fs.metadata(&dir).is_ok_and(|m| m.mode & 0o001 != 0));
        if !ok {
            return false;
        }
    }
    true
}

fn openclaw_redaction_on(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for doc in f.openclaw_configs() {
        let doc = match doc {
            Ok(d) => d,
            Err(p) => {
                out.problem(p);
                continue;
            }
        };
        let setting = doc.value.pointer("/logging/redactSensitive");
        let line = crate::jsonc::line_of_key(&doc.text, "redactSensitive");
        let mut ev = match setting {
            Some(v) => Evidence::at(&doc.path, format!("logging.redactSensitive = {v}")),
            None => Evidence::at(
                &doc.path,
                "logging.redactSensitive not set; default redacts tool output",
            ),
        };
        if let (Some(l), Some(_)) = (line, setting) {
            ev = ev.line(l);
        }
        let off = setting
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("off"))
            || setting == Some(&Value::Bool(false));
        if off {
            out.finding(ev);
        } else {
            out.ok(ev);
        }
    }
    out.finish("no OpenClaw config was found")
}

fn agent_logs_rotated(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut dirs: Vec<PathBuf> = vec![PathBuf::from("/var/log/openclaw")];
    dirs.extend(f.homes().iter().map(|h| h.path.join(".openclaw/logs")));
    // /tmp is emptied at boot; a log there is not kept long enough to need rotating.
    dirs.extend(
        openclaw_log_dirs(f)
            .into_iter()
            .filter(|d| !d.starts_with("/tmp")),
    );
    dirs.sort();
    dirs.dedup();
    dirs.retain(|d| f.fs.metadata(d).is_ok_and(|m| m.kind == Kind::Dir));
    if dirs.is_empty() {
        return out.finish("no agent log directories exist");
    }
    let mut patterns: Vec<(PathBuf, u32, String)> = Vec::new();
    // "Not covered" is only a finding when every logrotate file could be read.
    let mut unread = false;
    let mut configs = vec![PathBuf::from("/etc/logrotate.conf")];
    match f.fs.list_dir(Path::new("/etc/logrotate.d")) {
        Ok(l) => configs.extend(
            l.iter()
                .filter(|e| e.kind != Kind::Dir)
                .map(|e| Path::new("/etc/logrotate.d").join(&e.name)),
        ),
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            unread = true;
            out.probe_error(&e);
        }
    }
    for path in &configs {
        let text = match f.fs.read_text(path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                unread = true;
                out.probe_error(&e);
                continue;
            }
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for token in line.split_whitespace() {
                let token = token.trim_matches(['"', '\'', '{']);
                if token.starts_with('/') {
                    patterns.push((path.clone(), i as u32 + 1, token.to_owned()));
                }
            }
        }
    }
    for dir in dirs {
        let rule = patterns.iter().find(|(_, _, p)| {
            Path::new(p)
                .parent()
                .is_some_and(|parent| glob_matches(parent, &dir))
        });
        match rule {
            Some((path, line, p)) => {
                out.ok(Evidence::at(path, format!("{p} rotates {}", dir.display())).line(*line))
            }
            None if unread => {}
            None => out.finding(Evidence::at(
                &dir,
                "no logrotate rule covers this directory",
            )),
        }
    }
    out.finish("no agent log directories exist")
}

/// Shell-style matching of a path pattern, `*` within one component.
fn glob_matches(pattern: &Path, path: &Path) -> bool {
    let (p, q): (Vec<_>, Vec<_>) = (pattern.components().collect(), path.components().collect());
    p.len() == q.len()
        && p.iter().zip(&q).all(|(a, b)| {
            component_matches(
                &a.as_os_str().to_string_lossy(),
                &b.as_os_str().to_string_lossy(),
            )
        })
}

fn component_matches(pattern: &str, name: &str) -> bool {
    // Iterative wildcard matching: linear in practice and never exponential, whatever
    // a logrotate file holds.
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if p.get(i) == Some(&b'*') {
            star = Some((i, j));
            i += 1;
        } else if p.get(i) == Some(&n[j]) {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == b'*')
}

fn logs_not_world_writable(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for root in agent_log_roots(f) {
        let mut writable = 0usize;
        let mut report = |path: &Path, what: String, out: &mut Findings| {
            writable += 1;
            if writable <= PER_ROOT {
                out.finding(Evidence::at(path, what));
            }
        };
        match f.fs.symlink_metadata(&root) {
            Ok(m) if m.kind == Kind::Symlink => {
                let target =
                    f.fs.read_link(&root)
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                report(
                    &root,
                    format!("is a symlink to {target}: logs go wherever it points"),
                    &mut out,
                );
            }
            Ok(m) if m.world_writable() => report(
                &root,
                format!("world-writable directory, mode {:04o}", m.mode),
                &mut out,
            ),
            Ok(_) => out.inspected(),
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        }
        let files = out.walked(f.fs.walk(&root));
        let mut seen_dirs: Vec<PathBuf> = Vec::new();
        for (path, _) in &files {
            let mut targets = vec![path.clone()];
            if let Some(parent) = path
                .parent()
                .filter(|p| *p != root && !seen_dirs.iter().any(|d| d == p))
            {
                seen_dirs.push(parent.to_path_buf());
                targets.push(parent.to_path_buf());
            }
            for t in targets {
                match f.fs.symlink_metadata(&t) {
                    Ok(m) if m.kind != Kind::Symlink && m.world_writable() => {
                        let what = if m.kind == Kind::Dir {
                            "directory"
                        } else {
                            "file"
                        };
                        report(
                            &t,
                            format!("world-writable {what}, mode {:04o}", m.mode),
                            &mut out,
                        );
                    }
                    Ok(_) => out.inspected(),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => out.probe_error(&e),
                }
            }
        }
        if writable > PER_ROOT {
            out.finding(Evidence::at(
                &root,
                format!("and {} more world-writable entries", writable - PER_ROOT),
            ));
        } else if writable == 0 {
            out.ok(Evidence::at(&root, "not writable by others"));
        }
    }
    out.finish("no agent transcripts or logs were found")
}

fn sessions_recorded(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut claude = vec![PathBuf::from("/etc/claude-code/managed-settings.json")];
    let mut codex = Vec::new();
    for home in f.homes() {
        claude.push(home.path.join(".claude/settings.json"));
        codex.push(home.path.join(".codex/config.toml"));
    }
    for path in claude {
        match f.json_file(&path) {
            None => {}
            Some(Err(p)) => out.problem(&p),
            Some(Ok(doc)) => match doc.value.get("cleanupPeriodDays") {
                Some(v) if v.as_u64() == Some(0) => out.finding(
                    Evidence::at(&path, "cleanupPeriodDays = 0: transcripts are deleted").line(
                        crate::jsonc::line_of_key(&doc.text, "cleanupPeriodDays").unwrap_or(1),
                    ),
                ),
                Some(v) => out.ok(Evidence::at(&path, format!("cleanupPeriodDays = {v}"))),
                None => out.ok(Evidence::at(
                    &path,
                    "cleanupPeriodDays not set; default keeps 30 days",
                )),
            },
        }
    }
    for path in codex {
        let Some(text) = out.found(f.fs.read_text(&path)) else {
            continue;
        };
        let doc: toml::Table = match toml::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                out.parse_error(&path, e.message());
                continue;
            }
        };
        let persistence = doc
            .get("history")
            .and_then(|h| h.get("persistence"))
            .and_then(toml::Value::as_str);
        match persistence {
            Some("none") => {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("persistence"))
                    .map_or(1, |i| i as u32 + 1);
                out.finding(
                    Evidence::at(
                        &path,
                        "history.persistence = \"none\": no session history is kept",
                    )
                    .line(line),
                )
            }
            Some(p) => out.ok(Evidence::at(&path, format!("history.persistence = {p:?}"))),
            None => out.ok(Evidence::at(
                &path,
                "history.persistence not set; default saves all",
            )),
        }
    }
    out.finish("no Claude Code or Codex settings were found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logrotate_globs() {
        assert!(glob_matches(
            Path::new("/home/*/.openclaw/logs"),
            Path::new("/home/alice/.openclaw/logs")
        ));
        assert!(glob_matches(
            Path::new("/var/log/openclaw"),
            Path::new("/var/log/openclaw")
        ));
        assert!(!glob_matches(
            Path::new("/var/log/*"),
            Path::new("/var/log/openclaw/x")
        ));
        assert!(component_matches("open*aw", "openclaw"));
        assert!(!component_matches("open*x", "openclaw"));
        assert!(component_matches("*", ""));
        assert!(component_matches("*.log", "gateway.log"));
        assert!(!component_matches("*.log", "gateway.log.1"));
        assert!(!component_matches(&"*a".repeat(40), &"a".repeat(39)));
    }
}
