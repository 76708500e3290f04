//! Physical environment: how the agent processes are confined on this machine.

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::Facts;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "PHY-001",
        domain: Domain::Physical,
        severity: Severity::High,
        title: "Agent processes do not run as root",
        rationale: "An agent runs tools chosen by a language model from untrusted input. As \
            root, one prompt injection owns the whole machine: every file, every credential, \
            every other user.",
        remediation: "Run the agent (and the MCP servers it launches) as a dedicated \
            unprivileged user, e.g. a systemd unit with User= and DynamicUser=, or a rootless \
            container.",
        references: &["CWE-250", "CIS Docker Benchmark 4.1"],
        reads: &["/proc/<pid>/status", "/proc/<pid>/cmdline"],
        run: agents_not_root,
    },
    Check {
        id: "PHY-002",
        domain: Domain::Physical,
        severity: Severity::Medium,
        title: "Agent processes cannot gain privileges (NoNewPrivs or seccomp)",
        rationale: "Without no_new_privs or a seccomp filter, a compromised agent can exec \
            setuid binaries and reach the full kernel syscall surface.",
        remediation: "Start agents with NoNewPrivileges=yes and a SystemCallFilter= (systemd), \
            or in a container runtime that applies its default seccomp profile.",
        references: &[
            "CWE-269",
            "https://docs.kernel.org/userspace-api/no_new_privs.html",
        ],
        reads: &["/proc/<pid>/status"],
        run: agents_confined,
    },
];

fn agents_not_root(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in procs.into_iter().filter(|p| f.is_agent(p)) {
        let ev = Evidence::at(
            &p.proc_dir(),
            format!("{} (pid {}, euid {})", p.program(), p.pid, p.euid),
        );
        if p.euid == 0 {
            out.finding(ev);
        } else {
            out.ok(ev);
        }
    }
    out.finish("no agent processes are running")
}

fn agents_confined(f: &Facts) -> Outcome {
    let procs = match processes_or_outcome(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in procs.into_iter().filter(|p| f.is_agent(p)) {
        let state = format!(
            "{} (pid {}): NoNewPrivs={} Seccomp={}",
            p.program(),
            p.pid,
            u8::from(p.no_new_privs),
            p.seccomp
        );
        if p.no_new_privs || p.seccomp == 2 {
            out.ok(Evidence::at(&p.proc_dir(), state));
        } else {
            out.finding(Evidence::at(&p.proc_dir(), state));
        }
    }
    out.finish("no agent processes are running")
}
