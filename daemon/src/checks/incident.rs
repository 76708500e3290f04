//! Incident prevention: signs of an attack in progress, and kernel settings that blunt one.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use serde_json::Value;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::Facts;
use crate::probe::{Kind, proc};

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "INC-001",
        domain: Domain::Incident,
        severity: Severity::Critical,
        title: "No reverse shell is running",
        rationale: "A command line such as `bash -i >& /dev/tcp/…`, `nc -e /bin/sh` or \
            `socat exec:` hands an interactive shell to a remote party: the classic result of a \
            successful prompt injection or a malicious skill.",
        remediation: "Kill the process, isolate the host, and find what started it (parent \
            process, agent transcript, recently installed skills).",
        references: &["CWE-78", "MITRE ATT&CK T1059"],
        reads: &["/proc/<pid>/cmdline"],
        run: no_reverse_shells,
    },
    Check {
        id: "INC-002",
        domain: Domain::Incident,
        severity: Severity::Medium,
        title: "Kernel hardening sysctls are set",
        rationale: "kptr_restrict, dmesg_restrict, Yama ptrace_scope, full ASLR, protected \
            links and disabled unprivileged BPF close the easy paths from a compromised agent \
            process to other processes' memory and the kernel.",
        remediation: "Set in /etc/sysctl.d/90-hardening.conf: kernel.kptr_restrict=1, \
            kernel.dmesg_restrict=1, kernel.yama.ptrace_scope=1, kernel.randomize_va_space=2, \
            fs.protected_symlinks=1, fs.protected_hardlinks=1, \
            kernel.unprivileged_bpf_disabled=1; then `sysctl --system`.",
        references: &["CIS Debian Linux 1.5.1", "KSPP recommended settings"],
        reads: &["/proc/sys/kernel/*", "/proc/sys/fs/protected_*"],
        run: kernel_sysctls,
    },
    Check {
        id: "INC-003",
        domain: Domain::Incident,
        severity: Severity::High,
        title: "No process runs from a temp directory or a deleted or in-memory file",
        rationale: "Droppers stage payloads in /tmp, /var/tmp or /dev/shm (writable by everyone, \
            often not noexec) and delete or never write the file (memfd) to hide it. A live \
            process whose executable is there, or a deleted file outside the system \
            directories, is a strong sign of compromise. A deleted binary under /usr is usually \
            a package upgrade and is not reported.",
        remediation: "Copy the binary out (`cp /proc/<pid>/exe /root/sample`) for analysis, kill the \
            process, find its parent, and mount /tmp, /var/tmp and /dev/shm noexec.",
        references: &[
            "MITRE ATT&CK T1620",
            "MITRE ATT&CK T1070.004",
            "CIS Debian Linux 1.1.2",
        ],
        reads: &["/proc/<pid>/exe", "/proc/<pid>/cmdline"],
        run: no_temp_executables,
    },
    Check {
        id: "INC-004",
        domain: Domain::Incident,
        severity: Severity::Critical,
        title: "No cryptocurrency miner is running",
        rationale: "Miners (xmrig and its kin, anything talking stratum) are the most common \
            payload dropped on a compromised host, and agents with shell access are an easy \
            way in. A miner also means someone else is running code here.",
        remediation: "Kill the process, remove its binary and persistence (cron, systemd, \
            authorized_keys), rotate credentials the agent could reach, and find the entry point.",
        references: &["MITRE ATT&CK T1496", "CWE-506"],
        reads: &[
            "/proc/<pid>/cmdline",
            "/proc/<pid>/status",
            "/proc/<pid>/exe",
        ],
        run: no_miners,
    },
    Check {
        id: "INC-005",
        domain: Domain::Incident,
        severity: Severity::High,
        title: "Agents do not run with approvals switched off",
        rationale: "`--dangerously-skip-permissions`, `defaultMode: bypassPermissions`, Codex \
            `approval_policy = \"never\"` with a full-access sandbox, or OpenClaw exec security \
            \"full\" let an agent run any command a prompt injection asks for, with no human \
            in the loop.",
        remediation: "Run agents with approvals on (Claude Code `defaultMode: \"default\"` or \
            `acceptEdits`, Codex `approval_policy = \"on-request\"` with `workspace-write`, \
            OpenClaw `tools.exec.security: \"allowlist\"`), or confine an unattended agent \
            to a disposable sandbox with no credentials.",
        references: &[
            "CWE-862",
            "https://docs.anthropic.com/en/docs/claude-code/iam",
            "https://github.com/openai/codex/blob/main/docs/config.md",
            "https://docs.openclaw.ai/tools/exec-approvals",
        ],
        reads: &[
            "/proc/<pid>/cmdline",
            "~/.claude/settings.json",
            "~/.claude/settings.local.json",
            "~/.codex/config.toml",
            "@openclaw-configs",
            "~/.openclaw/exec-approvals.json",
            "/etc/claude-code/managed-settings.json",
        ],
        run: approvals_on,
    },
    Check {
        id: "INC-006",
        domain: Domain::Incident,
        severity: Severity::High,
        title: "Agent users have no passwordless sudo",
        rationale: "A sudoers rule with NOPASSWD for a user who runs an agent turns any command \
            the agent can be talked into into a root command; with ALL commands it is root \
            for anyone who can prompt the agent.",
        remediation: "Remove NOPASSWD for agent users (or run agents as a dedicated account with \
            no sudo rights at all); if a tool really needs root, allow that one command.",
        references: &[
            "CWE-250",
            "CIS Debian Linux 5.3.4",
            "MITRE ATT&CK T1548.003",
        ],
        reads: &[
            "/etc/sudoers",
            "/etc/sudoers.d/*",
            "/etc/passwd",
            "/etc/group",
            "@agent-dirs",
        ],
        run: no_agent_nopasswd,
    },
    Check {
        id: "INC-007",
        domain: Domain::Incident,
        severity: Severity::High,
        title: "No setuid or setgid files in agent-writable places",
        rationale: "A setuid/setgid file in a home, a workspace or a temp directory was not put \
            there by a package manager; it is a classic privilege-escalation backdoor (a copy \
            of a shell chmod u+s by a briefly-root process).",
        remediation: "Remove the file (or its setuid/setgid bit with `chmod ug-s`), find out how it \
            got there, and mount /tmp and /home nosuid.",
        references: &[
            "CWE-250",
            "MITRE ATT&CK T1548.001",
            "CIS Debian Linux 1.1.2",
        ],
        reads: &[
            "~/**",
            "/tmp/**",
            "/var/tmp/**",
            "/dev/shm/**",
            "/etc/group",
        ],
        run: no_setuid_in_agent_paths,
    },
];

pub(super) const REVERSE_SHELL_PATTERNS: &[(&str, &str)] = &[
    (
        "shell redirected to /dev/tcp",
        r"/dev/(?:tcp|udp)/[^/\s]+/\d+",
    ),
    (
        "netcat executing a program",
        r"\b(?:nc|ncat|netcat)(?:\.\w+)?\s(?:.*\s)?-(?:e|c)\s*\S",
    ),
    (
        "netcat executing a program",
        r"\bncat\b.*--(?:exec|sh-exec)\b",
    ),
    (
        "interactive shell on a socket",
        r"\b(?:ba|z|da)?sh\s+-i\s*(?:>&|<&|\d>&)",
    ),
    (
        "socat executing a program",
        r"(?i)\bsocat\b.*\b(?:exec|system):",
    ),
    (
        "scripted socket shell",
        r"(?s)\b(?:python[23]?|perl|ruby|php)\b.*\b(?:socket|fsockopen|TCPSocket)\b.*\b(?:subprocess|pty\.spawn|exec|system|/bin/(?:ba)?sh)\b",
    ),
    (
        "fifo relay to netcat",
        r"\bmkfifo\b.*\|\s*(?:nc|ncat|netcat)\b",
    ),
];

static REVERSE_SHELL: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| super::compile_patterns(REVERSE_SHELL_PATTERNS));

fn no_reverse_shells(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in procs {
        let cmd = p.command();
        match REVERSE_SHELL.iter().find(|(_, re)| re.is_match(&cmd)) {
            Some((what, _)) => {
                let shown: String = cmd.chars().take(200).collect();
                out.finding(Evidence::at(
                    &p.proc_dir(),
                    format!("{what}: pid {} uid {}: {shown}", p.pid, p.uid),
                ));
            }
            None => out.inspected(),
        }
    }
    out.finish("no processes are visible")
}

fn kernel_sysctls(f: &Facts) -> Outcome {
    // (name, good values)
    const WANT: &[(&str, &[&str])] = &[
        ("kernel.kptr_restrict", &["1", "2"]),
        ("kernel.dmesg_restrict", &["1"]),
        ("kernel.yama.ptrace_scope", &["1", "2", "3"]),
        ("kernel.randomize_va_space", &["2"]),
        ("fs.protected_symlinks", &["1"]),
        ("fs.protected_hardlinks", &["1"]),
        ("kernel.unprivileged_bpf_disabled", &["1", "2"]),
    ];
    let mut out = Findings::new();
    for (name, good) in WANT {
        let path = Path::new("/proc/sys").join(name.replace('.', "/"));
        match proc::sysctl(&f.fs, name) {
            Ok(v) if good.contains(&v.as_str()) => {
                out.ok(Evidence::at(&path, format!("{name} = {v}")))
            }
            Ok(v) => out.finding(Evidence::at(
                &path,
                format!("{name} = {v}, want {}", good.join(" or ")),
            )),
            // A sysctl the running kernel does not have (no Yama, no BPF) is not a finding.
            Err(e) if e.is_not_found() => {}
            Err(e) => out.probe_error(&e),
        }
    }
    out.finish("no kernel sysctls are visible under the host root")
}

/// Directories anyone can write to, where nothing legitimate is installed.
const TEMP_DIRS: &[&str] = &["/tmp/", "/var/tmp/", "/dev/shm/"];

/// Known benign programs that run from a temp directory: AppImage mounts, `go run`
/// and cargo build outputs (test binaries of a target dir under /tmp).
const TEMP_ALLOWED_PREFIXES: &[&str] = &["/tmp/.mount_", "/tmp/go-build"];
const TEMP_ALLOWED_PARTS: &[&str] = &["/target/debug/", "/target/release/"];

/// System directories where a deleted executable is a package upgrade, not an attack.
const SYSTEM_DIRS: &[&str] = &[
    "/usr/",
    "/bin/",
    "/sbin/",
    "/lib/",
    "/lib64/",
    "/opt/",
    "/snap/",
    "/nix/store/",
];

/// Per-user install locations of self-updating tools (Claude Code's native installer,
/// editor servers, language toolchains): their running binary is replaced on update.
const SELF_UPDATING: &[&str] = &[
    "/.local/share/",
    "/.local/bin/",
    "/.vscode-server/",
    "/.cursor-server/",
    "/.windsurf-server/",
    "/.nvm/",
    "/.cargo/bin/",
    "/.rustup/",
    "/.bun/",
    "/.deno/",
    "/.volta/",
];

/// In-memory executables created by well-known runtimes (runc's self-clone).
const MEMFD_ALLOWED: &[&str] = &["/memfd:runc_cloned"];

/// Why an executable path is suspicious, if it is.
fn suspicious_exe(exe: &str) -> Option<&'static str> {
    let (path, deleted) = match exe.strip_suffix(" (deleted)") {
        Some(p) => (p, true),
        None => (exe, false),
    };
    if path.starts_with("/memfd:") {
        return (!MEMFD_ALLOWED.iter().any(|m| path.starts_with(m)))
            .then_some("runs from an in-memory file (memfd)");
    }
    let allowed_temp = TEMP_ALLOWED_PREFIXES.iter().any(|a| path.starts_with(a))
        || TEMP_ALLOWED_PARTS.iter().any(|a| path.contains(a));
    if TEMP_DIRS.iter().any(|d| path.starts_with(d)) && !allowed_temp {
        return Some(if deleted {
            "runs from a temp directory, and the file was deleted"
        } else {
            "runs from a temp directory"
        });
    }
    let expected_churn = SYSTEM_DIRS.iter().any(|d| path.starts_with(d))
        || SELF_UPDATING.iter().any(|d| path.contains(d))
        || allowed_temp;
    (deleted && path.starts_with('/') && !expected_churn).then_some("its executable was deleted")
}

fn no_temp_executables(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in procs {
        let exe = exe_path(p);
        match exe.as_deref().and_then(suspicious_exe) {
            Some(why) => out.finding(Evidence::at(
                &p.proc_dir(),
                format!(
                    "pid {} uid {} {why}: {}",
                    p.pid,
                    p.uid,
                    exe.unwrap_or_default()
                ),
            )),
            None => out.inspected(),
        }
    }
    out.finish("no processes are visible")
}

pub(super) const MINER_PATTERNS: &[(&str, &str)] = &[
    (
        "stratum mining pool URL",
        r"(?i)\bstratum\d?\+(?:tcp|ssl|tls)://",
    ),
    (
        "miner program",
        r"(?i)(?:^|[/\s])(?:xmrig|xmr-stak(?:-cpu)?|minerd|cpuminer(?:-multi|-opt)?|cgminer|bfgminer|ethminer|nbminer|lolminer|phoenixminer|kdevtmpfsi|kinsing)(?:\s|$)",
    ),
    (
        "miner option",
        r"--(?:donate-level|cpu-max-threads-hint|randomx-mode)\b",
    ),
    (
        "Monero pool",
        r"(?i)\b(?:pool\.minexmr\.com|pool\.supportxmr\.com|xmr\.2miners\.com|gulf\.moneroocean\.stream|xmrpool\.eu|hashvault\.pro|nanopool\.org)\b",
    ),
];

static MINERS: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| super::compile_patterns(MINER_PATTERNS));

fn no_miners(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in procs {
        match miner(p) {
            Some((what, _)) => {
                let shown: String = p.command().chars().take(200).collect();
                out.finding(Evidence::at(
                    &p.proc_dir(),
                    format!("{what}: pid {} uid {}: {shown}", p.pid, p.uid),
                ));
            }
            None => out.inspected(),
        }
    }
    out.finish("no processes are visible")
}

/// Whether an incident check would flag this process: a reverse shell or miner command
/// line, an executable in a temp directory or deleted, or an agent run with approvals
/// off. The same patterns the checks use, so an event and a run agree.
pub(crate) fn flags_process(p: &crate::probe::proc::Process) -> bool {
    let cmd = p.command();
    REVERSE_SHELL.iter().any(|(_, re)| re.is_match(&cmd))
        || miner(p).is_some()
        || exe_path(p).as_deref().and_then(suspicious_exe).is_some()
        || approval_flag(&p.cmdline).is_some()
}

/// The program a process runs: the exe link is authoritative; argv[0] only stands in
/// when it cannot be read.
fn exe_path(p: &crate::probe::proc::Process) -> Option<String> {
    p.exe
        .clone()
        .or_else(|| p.cmdline.first().filter(|a| a.starts_with('/')).cloned())
}

/// The miner pattern a process matches, in its command line, its status name (which
/// catches a miner whose command line was rewritten) or its executable.
fn miner(p: &crate::probe::proc::Process) -> Option<&'static (&'static str, Regex)> {
    let exe = p.exe.as_deref().unwrap_or("");
    let haystack = format!("{}\n{}\n{exe}", p.command(), p.name);
    MINERS
        .iter()
        .find(|(_, re)| haystack.lines().any(|l| re.is_match(l)))
}

/// Command-line flags that switch an agent's approvals off.
const NO_APPROVAL_FLAGS: &[&str] = &[
    "--dangerously-skip-permissions",
    "--dangerously-bypass-approvals-and-sandbox",
    "--yolo",
];

fn approval_flag(cmdline: &[String]) -> Option<String> {
    for (i, arg) in cmdline.iter().enumerate() {
        if NO_APPROVAL_FLAGS.contains(&arg.as_str()) {
            return Some(arg.clone());
        }
        let next = cmdline.get(i + 1).map(String::as_str);
        let value = |flag: &str| {
            arg.strip_prefix(&format!("{flag}="))
                .or_else(|| (arg == flag).then_some(next).flatten())
        };
        if value("--permission-mode") == Some("bypassPermissions") {
            return Some("--permission-mode bypassPermissions".into());
        }
        if value("--approval-mode") == Some("yolo") {
            return Some("--approval-mode yolo".into());
        }
    }
    None
}

fn approvals_on(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    match f.agent_processes() {
        Ok(procs) => {
            for p in procs {
                match approval_flag(&p.cmdline) {
                    Some(flag) => out.finding(Evidence::at(
                        &p.proc_dir(),
                        format!(
                            "pid {} uid {} runs {} with {flag}",
                            p.pid,
                            p.uid,
                            p.program()
                        ),
                    )),
                    None => out.inspected(),
                }
            }
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => out.probe_error(e),
    }
    claude_modes(f, &mut out);
    codex_policies(f, &mut out);
    openclaw_exec(f, &mut out);
    out.finish("no agents or agent configs were found")
}

fn claude_modes(f: &Facts, out: &mut Findings) {
    for doc in f.claude_settings() {
        let doc = match doc {
            Ok(d) => d,
            Err(p) => {
                out.problem(&p);
                continue;
            }
        };
        let mode = doc
            .value
            .pointer("/permissions/defaultMode")
            .and_then(Value::as_str);
        if mode == Some("bypassPermissions") {
            let line = crate::jsonc::line_of_key(&doc.text, "defaultMode").unwrap_or(1);
            out.finding(
                Evidence::at(
                    &doc.path,
                    "permissions.defaultMode is \"bypassPermissions\"",
                )
                .line(line),
            );
        } else {
            out.inspected();
        }
    }
}

fn codex_policies(f: &Facts, out: &mut Findings) {
    for doc in f.codex_configs() {
        let doc = match doc {
            Ok(d) => d,
            Err(p) => {
                out.problem(&p);
                continue;
            }
        };
        // The top level and every profile are each a complete policy.
        let mut tables: Vec<(String, &toml::Value)> = vec![(String::new(), &doc.value)];
        if let Some(profiles) = doc.value.get("profiles").and_then(toml::Value::as_table) {
            tables.extend(profiles.iter().map(|(n, t)| (format!("profile {n}: "), t)));
        }
        let mut bad = false;
        for (label, t) in tables {
            let get = |k: &str| t.get(k).and_then(toml::Value::as_str);
            if get("approval_policy") == Some("never")
                && get("sandbox_mode") == Some("danger-full-access")
            {
                bad = true;
                let line = doc
                    .text
                    .lines()
                    .position(|l| l.trim_start().starts_with("approval_policy"))
                    .map_or(1, |i| i as u32 + 1);
                out.finding(
                    Evidence::at(
                        &doc.path,
                        format!(
                            "{label}approval_policy = \"never\" with sandbox_mode = \"danger-full-access\""
                        ),
                    )
                    .line(line),
                );
            }
        }
        if !bad {
            out.inspected();
        }
    }
}

fn openclaw_exec(f: &Facts, out: &mut Findings) {
    for doc in f.openclaw_configs() {
        let doc = match doc {
            Ok(d) => d,
            Err(p) => {
                out.problem(p);
                continue;
            }
        };
        let mut clean = true;
        for (label, tools) in crate::facts::agents::openclaw_tool_scopes(doc) {
            let exec = tools.get("exec");
            let security = exec.and_then(|e| e.get("security")).and_then(Value::as_str);
            let ask = exec.and_then(|e| e.get("ask")).and_then(Value::as_str);
            // "full" runs every command; only `ask: "always"` keeps a human in the loop.
            if security == Some("full") && ask != Some("always") {
                clean = false;
                let line = crate::jsonc::line_of_key(&doc.text, "security").unwrap_or(1);
                out.finding(
                    Evidence::at(
                        &doc.path,
                        format!("{label}.exec.security is \"full\" without ask \"always\""),
                    )
                    .line(line),
                );
            }
        }
        if clean {
            out.inspected();
        }
        exec_approvals(f, &doc.path.with_file_name("exec-approvals.json"), out);
    }
}

/// `~/.openclaw/exec-approvals.json`: defaults and per-agent policies.
fn exec_approvals(f: &Facts, path: &Path, out: &mut Findings) {
    let doc = match f.json_file(path) {
        None => return,
        Some(Err(p)) => return out.problem(&p),
        Some(Ok(d)) => d,
    };
    let mut policies: Vec<(String, &Value)> = Vec::new();
    if let Some(d) = doc.value.get("defaults") {
        policies.push(("defaults".into(), d));
    }
    if let Some(agents) = doc.value.get("agents").and_then(Value::as_object) {
        policies.extend(agents.iter().map(|(n, v)| (format!("agents.{n}"), v)));
    }
    let mut clean = true;
    for (label, p) in policies {
        let get = |k: &str| p.get(k).and_then(Value::as_str);
        if get("security") == Some("full") && get("ask") != Some("always") {
            clean = false;
            let key = label.rsplit('.').next().unwrap_or(&label);
            let line = crate::jsonc::line_of_key(&doc.text, key).unwrap_or(1);
            out.finding(
                Evidence::at(
                    &doc.path,
                    format!("{label}.security is \"full\" without ask \"always\""),
                )
                .line(line),
            );
        }
    }
    if clean {
        out.inspected();
    }
}

/// One sudoers rule line, joined across `\` continuations, with its first line number.
fn sudoers_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if cur.is_empty() {
            start = i as u32 + 1;
        }
        // `#include`/`#includedir` are directives, every other `#` starts a comment.
        let line = if raw.trim_start().starts_with("#include") {
            ""
        } else {
            raw.split('#').next().unwrap_or("")
        };
        match line.strip_suffix('\\') {
            Some(body) => cur.push_str(body),
            None => {
                cur.push_str(line);
                let l = cur.trim().to_owned();
                if !l.is_empty() {
                    out.push((start, l));
                }
                cur.clear();
            }
        }
    }
    out
}

/// Who a sudoers principal list names among `users`: a user, `%group`, an alias or ALL.
fn principals_matching(
    f: &Facts,
    list: &str,
    aliases: &std::collections::BTreeMap<String, String>,
    users: &std::collections::BTreeSet<String>,
) -> Vec<String> {
    let mut hit = Vec::new();
    for p in list.split(',').map(str::trim) {
        let p = p.trim_start_matches('!');
        if p == "ALL" {
            hit.extend(users.iter().cloned());
        } else if let Some(g) = p.strip_prefix('%') {
            let g = g.strip_prefix(':').unwrap_or(g);
            hit.extend(
                f.accounts()
                    .members_of(g)
                    .into_iter()
                    .filter(|m| users.contains(m)),
            );
        } else if let Some(members) = aliases.get(p) {
            hit.extend(principals_matching(f, members, &Default::default(), users));
        } else if users.contains(p) {
            hit.push(p.to_owned());
        }
    }
    hit.sort();
    hit.dedup();
    hit
}

fn sudoers_files(f: &Facts, out: &mut Findings) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("/etc/sudoers")];
    match f.fs.list_dir(Path::new("/etc/sudoers.d")) {
        Ok(l) => files.extend(
            l.iter()
                .map(|e| e.name_lossy())
                // sudo skips names with a dot or ending in `~` in an includedir.
                .filter(|n| !n.contains('.') && !n.ends_with('~'))
                .map(|n| Path::new("/etc/sudoers.d").join(n)),
        ),
        Err(e) if e.is_not_found() => {}
        Err(e) => out.probe_error(&e),
    }
    files
}

fn no_agent_nopasswd(f: &Facts) -> Outcome {
    let users = f.agent_users();
    if users.is_empty() {
        return Outcome::NotApplicable("no users run AI agents".into());
    }
    let mut out = Findings::new();
    let mut aliases = std::collections::BTreeMap::new();
    for path in sudoers_files(f, &mut out) {
        let Some(text) = out.found(f.fs.read_text(&path)) else {
            continue;
        };
        let mut clean = true;
        for (line, rule) in sudoers_lines(&text) {
            if let Some(def) = rule.strip_prefix("User_Alias") {
                for part in def.split(':') {
                    if let Some((name, members)) = part.split_once('=') {
                        aliases.insert(name.trim().to_owned(), members.trim().to_owned());
                    }
                }
                continue;
            }
            if let Some(finding) = nopasswd_rule(f, &rule, &aliases, &users) {
                clean = false;
                out.finding(Evidence::at(&path, finding).line(line));
            }
        }
        if clean {
            out.inspected();
        }
    }
    out.finish("sudo is not configured (no /etc/sudoers)")
}

/// A finding for one sudoers line, when it lets an agent user run something without a password.
fn nopasswd_rule(
    f: &Facts,
    rule: &str,
    aliases: &std::collections::BTreeMap<String, String>,
    users: &std::collections::BTreeSet<String>,
) -> Option<String> {
    if let Some(rest) = rule.strip_prefix("Defaults") {
        // `Defaults !authenticate` (or `Defaults:alice !authenticate`) drops passwords.
        if !rest.contains("!authenticate") {
            return None;
        }
        let who = match rest.strip_prefix(':') {
            Some(r) => principals_matching(f, r.split_whitespace().next()?, aliases, users),
            None if rest.starts_with([' ', '\t']) => users.iter().cloned().collect(),
            None => return None,
        };
        return (!who.is_empty()).then(|| {
            format!(
                "Defaults !authenticate: no password for agent user(s) {}",
                who.join(", ")
            )
        });
    }
    let nopasswd = rule.rfind("NOPASSWD:")?;
    let first = rule.split_whitespace().next()?;
    if first.ends_with("_Alias") {
        return None;
    }
    let who = principals_matching(f, first, aliases, users);
    if who.is_empty() {
        return None;
    }
    let commands = rule[nopasswd + "NOPASSWD:".len()..].trim();
    let scope = if commands.split(',').any(|c| c.trim() == "ALL") {
        "ALL commands as root without a password".to_owned()
    } else {
        format!(
            "without a password: {}",
            commands.chars().take(120).collect::<String>()
        )
    };
    Some(format!(
        "agent user(s) {} may run {scope} ({first})",
        who.join(", ")
    ))
}

/// Per-user FUSE mounts (the document portal, gvfs) refuse even root, and are mounted
/// nosuid: not being able to list them hides no setuid file.
fn is_user_fuse_mount(e: &crate::probe::ProbeError) -> bool {
    let crate::probe::ProbeError::PermissionDenied { path } = e else {
        return false;
    };
    [".cache/doc", ".gvfs"].iter().any(|m| path.ends_with(m))
}

fn no_setuid_in_agent_paths(f: &Facts) -> Outcome {
    let mut dirs: Vec<PathBuf> = TEMP_DIRS
        .iter()
        .map(|d| PathBuf::from(d.trim_end_matches('/')))
        .collect();
    let users = f.agent_users();
    dirs.extend(
        f.homes()
            .iter()
            .filter(|h| users.contains(&h.user))
            .map(|h| h.path.clone()),
    );
    // The configured workspaces only: a project an agent merely recorded may be `/` or
    // a whole data volume, and one inside an agent's home is walked with the home.
    dirs.extend(f.discovery().workspaces.iter().cloned());
    let mut out = Findings::new();
    for dir in dirs {
        // Whole homes: keep only what is setuid or setgid, not every path.
        let walk =
            f.fs.walk_matching(&dir, &|m| m.kind == Kind::File && m.mode & 0o6000 != 0);
        if walk.visited > 0 {
            out.inspected();
        }
        // A temp directory the host does not have is absent; a user's FUSE mount that
        // root may not enter cannot hold a setuid file (the kernel forces nosuid).
        for (path, m) in out.walked_except(walk, is_user_fuse_mount) {
            let bits = match m.mode & 0o6000 {
                0o6000 => "setuid and setgid",
                0o4000 => "setuid",
                _ => "setgid",
            };
            out.finding(Evidence::at(
                &path,
                format!("{bits} (mode {:04o}, owner uid {})", m.mode, m.uid),
            ));
        }
    }
    out.finish("no agent-writable directories were found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_and_deleted_executables() {
        assert!(suspicious_exe("/dev/shm/x").is_some());
        assert!(suspicious_exe("/memfd:x (deleted)").is_some());
        assert!(suspicious_exe("/memfd:runc_cloned:/proc/self/exe (deleted)").is_none());
        assert!(suspicious_exe("/usr/sbin/sshd (deleted)").is_none());
        assert!(suspicious_exe("/home/a/.cache/x (deleted)").is_some());
        assert!(suspicious_exe("/home/a/.vscode-server/bin/node (deleted)").is_none());
        assert!(suspicious_exe("/tmp/go-build123/b001/exe/main").is_none());
    }

    #[test]
    fn sudoers_rules_are_joined_and_uncommented() {
        let lines = sudoers_lines(
            "# c\nalice ALL=(ALL) \\\n  NOPASSWD: ALL # why\n#includedir /etc/sudoers.d\n",
        );
        assert_eq!(
            lines,
            vec![(2, "alice ALL=(ALL)   NOPASSWD: ALL".to_owned())]
        );
    }

    #[test]
    fn approval_flags() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(
            approval_flag(&args(&[
                "codex",
                "--dangerously-bypass-approvals-and-sandbox"
            ]))
            .is_some()
        );
        assert!(approval_flag(&args(&["gemini", "--approval-mode", "yolo"])).is_some());
        assert!(approval_flag(&args(&["claude", "--permission-mode", "acceptEdits"])).is_none());
    }
}
