//! Incident prevention: signs of an attack in progress, and kernel settings that blunt one.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::Facts;
use crate::probe::proc;

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
