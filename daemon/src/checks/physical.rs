//! Physical environment: how the agent processes are confined on this machine.

use std::path::{Path, PathBuf};

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::Facts;
use crate::probe::proc::Process;
use crate::probe::{ProbeError, procfs};

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
        reads: &[
            "/proc/<pid>/status",
            "/proc/<pid>/cmdline",
            "/proc/<pid>/exe",
            "/proc/<pid>/cgroup",
            "/proc/<pid>/uid_map",
        ],
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
    Check {
        id: "PHY-003",
        domain: Domain::Physical,
        severity: Severity::Medium,
        title: "Agent processes run in their own mount namespace (sandbox or container)",
        rationale: "An agent in the host's mount namespace sees the host's whole filesystem: \
            every home, every credential file and socket its uid can open. A sandbox \
            (bubblewrap, a container, systemd ProtectSystem/ProtectHome) gives it a view \
            limited to what it needs.",
        remediation: "Run the agent in a container or sandbox: Claude Code's sandbox mode, \
            a rootless container, or a systemd unit with ProtectSystem=strict, \
            ProtectHome=yes (or TemporaryFileSystem=) and PrivateTmp=yes.",
        references: &[
            "CWE-653",
            "https://man7.org/linux/man-pages/man7/mount_namespaces.7.html",
            "https://docs.anthropic.com/en/docs/claude-code/sandboxing",
        ],
        reads: &["/proc/<pid>/ns/mnt", "/proc/<pid>/ns/pid", "/proc/1/ns/mnt"],
        run: agents_namespaced,
    },
    Check {
        id: "PHY-004",
        domain: Domain::Physical,
        severity: Severity::High,
        title: "Unprivileged agent processes hold no dangerous capabilities",
        rationale: "A non-root agent with CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_OVERRIDE, \
            CAP_NET_ADMIN or similar effective capabilities is root in all but name: it can \
            read any file, trace any process or reconfigure the network.",
        remediation: "Drop the capabilities: remove file capabilities from the agent's \
            binary (setcap -r), and start it with CapabilityBoundingSet= / \
            AmbientCapabilities= empty (systemd) or --cap-drop=ALL (containers).",
        references: &[
            "CWE-250",
            "CIS Docker Benchmark 5.3",
            "https://man7.org/linux/man-pages/man7/capabilities.7.html",
        ],
        reads: &[
            "/proc/<pid>/status",
            "/proc/<pid>/cgroup",
            "/proc/<pid>/uid_map",
        ],
        run: agents_without_dangerous_caps,
    },
    Check {
        id: "PHY-005",
        domain: Domain::Physical,
        severity: Severity::Low,
        title: "Agent processes run under cgroup memory and pids limits",
        rationale: "An agent looping on a tool call, or a prompt-injected fork bomb or \
            miner, can exhaust the host's memory or process table. A cgroup limit keeps the \
            damage inside the agent's own slice.",
        remediation: "Run the agent as a systemd service or scope with MemoryMax= and \
            TasksMax= (e.g. `systemd-run --user --scope -p MemoryMax=4G -p TasksMax=512 \
            claude`), or give its container --memory and --pids-limit.",
        references: &[
            "CWE-770",
            "CIS Docker Benchmark 5.11",
            "CIS Docker Benchmark 5.29",
        ],
        reads: &[
            "/proc/<pid>/cgroup",
            "/sys/fs/cgroup/<path>/memory.max",
            "/sys/fs/cgroup/<path>/pids.max",
        ],
        run: agents_resource_limited,
    },
    Check {
        id: "PHY-006",
        domain: Domain::Physical,
        severity: Severity::Critical,
        title: "No container runtime socket is reachable by an agent's user",
        rationale: "Access to the Docker, containerd or Podman socket is root on the host: \
            `docker run -v /:/host --privileged` is one tool call away. Membership of the \
            docker group is enough.",
        remediation: "Remove the agent's user from the docker group (gpasswd -d USER \
            docker), keep the socket 0660 root:docker, or use rootless Docker/Podman for \
            the agent's own containers.",
        references: &[
            "CWE-250",
            "CIS Docker Benchmark 3.15",
            "https://docs.docker.com/engine/security/#docker-daemon-attack-surface",
        ],
        reads: &[
            "/var/run/docker.sock",
            "/run/docker.sock",
            "/run/containerd/containerd.sock",
            "/run/podman/podman.sock",
            "/etc/group",
            "/etc/passwd",
            "/proc/<pid>/status",
        ],
        run: runtime_socket_unreachable,
    },
    Check {
        id: "PHY-007",
        domain: Domain::Physical,
        severity: Severity::High,
        title: "Sandboxed agents have no sensitive host paths mounted in",
        rationale: "A container or sandbox is only as tight as what is mounted into it: the \
            host's root, /etc, a whole home, ~/.ssh or the Docker socket bind-mounted into \
            the agent's namespace hands back what the sandbox was meant to take away.",
        remediation: "Mount only the workspace the agent needs (read-only where possible); \
            remove binds of /, /etc, /root, /home, credential directories and container \
            runtime sockets from the container or sandbox definition.",
        references: &[
            "CWE-668",
            "CIS Docker Benchmark 5.5",
            "CIS Docker Benchmark 5.31",
        ],
        reads: &[
            "/proc/<pid>/mountinfo",
            "/proc/1/mountinfo",
            "/proc/<pid>/ns/mnt",
        ],
        run: no_sensitive_mounts,
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
            format!(
                "{} (pid {}, euid {}{})",
                p.program(),
                p.pid,
                p.euid,
                f.agent_context(p)
            ),
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

/// The agent processes, or the outcome when there is no usable process list.
fn agents(f: &Facts) -> Result<Vec<&Process>, Outcome> {
    Ok(processes_or_outcome(f)?
        .into_iter()
        .filter(|p| f.is_agent(p))
        .collect())
}

/// The agent processes and the host's mount namespace (that of pid 1), which the
/// isolation checks compare them with; the outcome instead when there is nothing to judge.
fn agents_and_host_mount_ns(f: &Facts) -> Result<(Vec<&Process>, String), Outcome> {
    let agents = agents(f)?;
    if agents.is_empty() {
        return Err(Findings::new().finish("no agent processes are running"));
    }
    let host_mnt = procfs::namespace(&f.fs, 1, "mnt").map_err(|e| Outcome::probe_failure(&e))?;
    Ok((agents, host_mnt))
}

fn agents_namespaced(f: &Facts) -> Outcome {
    let (agents, host_mnt) = match agents_and_host_mount_ns(f) {
        Ok(found) => found,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    for p in agents {
        let mnt = match procfs::namespace(&f.fs, p.pid, "mnt") {
            Ok(ns) => ns,
            // The process exited since the listing.
            Err(ProbeError::NotFound { .. }) => continue,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        };
        // The pid namespace is shown for context; the decision rests on the mount view.
        let pid_ns = procfs::namespace(&f.fs, p.pid, "pid")
            .map(|ns| format!(", pid {ns}"))
            .unwrap_or_default();
        let ev = Evidence::at(
            &p.proc_dir().join("ns/mnt"),
            format!(
                "{} (pid {}): {mnt}{pid_ns}; host {host_mnt}",
                p.program(),
                p.pid
            ),
        );
        if mnt == host_mnt {
            out.finding(ev);
        } else {
            out.ok(ev);
        }
    }
    out.finish("no agent processes are running")
}

/// Capabilities that make a non-root process effectively privileged.
const DANGEROUS_CAPS: &[(u32, &str)] = &[
    (1, "CAP_DAC_OVERRIDE"),
    (2, "CAP_DAC_READ_SEARCH"),
    (3, "CAP_FOWNER"),
    (6, "CAP_SETGID"),
    (7, "CAP_SETUID"),
    (12, "CAP_NET_ADMIN"),
    (16, "CAP_SYS_MODULE"),
    (17, "CAP_SYS_RAWIO"),
    (19, "CAP_SYS_PTRACE"),
    (21, "CAP_SYS_ADMIN"),
    (22, "CAP_SYS_BOOT"),
    (39, "CAP_BPF"),
];

fn agents_without_dangerous_caps(f: &Facts) -> Outcome {
    let agents = match agents(f) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    // Root agents are PHY-001's finding; this check is about privilege without root.
    for p in agents.into_iter().filter(|p| p.euid != 0) {
        let held: Vec<&str> = DANGEROUS_CAPS
            .iter()
            .filter(|(bit, _)| p.cap_eff & (1u64 << bit) != 0)
            .map(|(_, name)| *name)
            .collect();
        let path = p.proc_dir().join("status");
        let context = f.agent_context(p);
        let who = format!("{} (pid {}, uid {}{context})", p.program(), p.pid, p.euid);
        // Capabilities in a user namespace of its own (a rootless container) act only on
        // what that namespace owns, never on the host.
        let own_userns = context.namespace_uid.is_some();
        if held.is_empty() {
            out.ok(Evidence::at(
                &path,
                format!("{who}: CapEff={:016x}", p.cap_eff),
            ));
        } else if own_userns {
            out.ok(Evidence::at(
                &path,
                format!(
                    "{who}: CapEff={:016x}, held inside its user namespace only",
                    p.cap_eff
                ),
            ));
        } else {
            out.finding(Evidence::at(
                &path,
                format!("{who}: CapEff={:016x} holds {}", p.cap_eff, held.join(", ")),
            ));
        }
    }
    out.finish("no unprivileged agent processes are running")
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

fn agents_resource_limited(f: &Facts) -> Outcome {
    let agents = match agents(f) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    if !f
        .fs
        .exists(&Path::new(CGROUP_ROOT).join("cgroup.controllers"))
    {
        return out.finish("no cgroup v2 hierarchy is mounted at /sys/fs/cgroup");
    }
    for p in agents {
        let cgroup = match procfs::cgroup_v2_path(&f.fs, p.pid) {
            Ok(Some(c)) => c,
            Ok(None) | Err(ProbeError::NotFound { .. }) => continue,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        };
        let who = format!("{} (pid {}) in {cgroup}", p.program(), p.pid);
        let mut unlimited = Vec::new();
        let mut limits = Vec::new();
        for file in ["memory.max", "pids.max"] {
            match effective_limit(f, &cgroup, file) {
                Ok(Some((value, dir))) => {
                    limits.push(format!("{file}={value} ({})", dir.display()))
                }
                Ok(None) => unlimited.push(format!("{file}=max")),
                Err(e) => out.probe_error(&e),
            }
        }
        let path = p.proc_dir().join("cgroup");
        if unlimited.is_empty() {
            out.ok(Evidence::at(&path, format!("{who}: {}", limits.join(", "))));
        } else {
            out.finding(Evidence::at(
                &path,
                format!(
                    "{who}: no limit on the path to the root: {}",
                    unlimited.join(", ")
                ),
            ));
        }
    }
    out.finish("no agent processes in a cgroup v2 hierarchy are running")
}

/// The tightest limit in `file` on the way from the cgroup up to the root: a child can
/// never use more than an ancestor allows. `None` when every level says `max`.
fn effective_limit(
    f: &Facts,
    cgroup: &str,
    file: &str,
) -> Result<Option<(u64, PathBuf)>, ProbeError> {
    let mut dir = crate::probe::host_join(Path::new(CGROUP_ROOT), cgroup);
    if !f.fs.exists(&dir) {
        return Err(ProbeError::NotFound {
            path: dir.display().to_string(),
        });
    }
    let mut best: Option<(u64, PathBuf)> = None;
    // The root itself has no limit files on a host, but does inside a container's cgroup
    // namespace, where it is the container's own cgroup.
    while dir.starts_with(CGROUP_ROOT) {
        if let Some(value) = procfs::cgroup_value(&f.fs, &dir, file)?
            && let Ok(n) = value.parse::<u64>()
            && best.as_ref().is_none_or(|(b, _)| n < *b)
        {
            best = Some((n, dir.clone()));
        }
        if dir == Path::new(CGROUP_ROOT) || !dir.pop() {
            break;
        }
    }
    Ok(best)
}

const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
];

fn runtime_socket_unreachable(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut sockets = Vec::new();
    // /var/run is usually a link to /run: the same socket is then reported once.
    let var_run_linked =
        f.fs.symlink_metadata(Path::new("/var/run"))
            .is_ok_and(|m| m.kind == crate::probe::Kind::Symlink);
    for s in RUNTIME_SOCKETS {
        if var_run_linked && s.starts_with("/var/run/") {
            continue;
        }
        let path = Path::new(s);
        match f.fs.metadata(path) {
            Ok(m) => sockets.push((path, m)),
            Err(e) if e.is_not_found() => {}
            Err(e) => out.probe_error(&e),
        }
    }
    if sockets.is_empty() {
        return out.finish("no container runtime socket exists");
    }
    let agents = match agents(f) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let accounts = f.accounts();
    let mut seen_uids = Vec::new();
    for p in agents {
        if seen_uids.contains(&p.euid) {
            continue;
        }
        seen_uids.push(p.euid);
        let mut gids = accounts.gids_of(p.euid);
        match procfs::groups(&f.fs, p.pid) {
            Ok(g) => gids.extend(g),
            Err(ProbeError::NotFound { .. }) => {}
            Err(e) => out.probe_error(&e),
        }
        let user = accounts
            .user_name(p.euid)
            .map_or_else(|| format!("uid {}", p.euid), str::to_owned);
        for (path, m) in &sockets {
            let via = socket_access(p.euid, &gids, m).map(|via| match via {
                Access::Group => format!(
                    "group {}",
                    accounts
                        .group_name(m.gid)
                        .map_or_else(|| m.gid.to_string(), str::to_owned)
                ),
                other => other.label().to_owned(),
            });
            // The docker group is how Docker documents granting socket access; count it
            // even when the socket's gid does not line up (an image assessed from another
            // host, or a socket recreated by a unit with a different group).
            let docker_gid = accounts.group_gid("docker");
            let via = via.or_else(|| {
                (path.ends_with("docker.sock")
                    && m.mode & 0o020 != 0
                    && docker_gid.is_some_and(|g| gids.contains(&g)))
                .then(|| "member of the docker group".to_owned())
            });
            let detail = format!("mode {:04o} uid {} gid {}", m.mode, m.uid, m.gid);
            match via {
                Some(via) => out.finding(Evidence::at(
                    path,
                    format!(
                        "{} (pid {}) runs as {user}, who can use it ({via}); {detail}",
                        p.program(),
                        p.pid
                    ),
                )),
                None => out.ok(Evidence::at(
                    path,
                    format!("{user} cannot use it; {detail}"),
                )),
            }
        }
    }
    out.finish("no agent processes are running")
}

/// Filesystems whose root is not host content (pseudo filesystems, container layers).
const NOT_HOST_CONTENT: &[&str] = &[
    "proc",
    "sysfs",
    "tmpfs",
    "devtmpfs",
    "devpts",
    "mqueue",
    "cgroup",
    "cgroup2",
    "overlay",
    "securityfs",
    "debugfs",
    "tracefs",
    "fusectl",
    "bpf",
    "hugetlbfs",
    "pstore",
    "configfs",
    "autofs",
    "nsfs",
    "ramfs",
    "binfmt_misc",
    "rpc_pipefs",
    "efivarfs",
    "fuse.lxcfs",
];

/// Host directories that hand back the host when mounted into a sandbox.
const SENSITIVE_ROOTS: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/home",
    "/var",
    "/run",
    "/var/run",
    "/boot",
    "/usr",
    "/var/lib/docker",
];
const SENSITIVE_DIRS: &[&str] = &[".ssh", ".aws", ".gnupg", ".kube", ".docker"];
const SOCKET_NAMES: &[&str] = &["docker.sock", "containerd.sock", "podman.sock"];

/// Why a mount is sensitive, if it is.
fn sensitive_mount(m: &procfs::Mount) -> Option<&'static str> {
    let name = |p: &str| p.rsplit('/').next().map(str::to_owned).unwrap_or_default();
    if SOCKET_NAMES.contains(&name(&m.mount_point).as_str())
        || SOCKET_NAMES.contains(&name(&m.root).as_str())
    {
        return Some("container runtime socket");
    }
    if NOT_HOST_CONTENT.contains(&m.fstype.as_str()) {
        return None;
    }
    if SENSITIVE_ROOTS.contains(&m.root.as_str()) {
        return Some("host directory");
    }
    let home_dir = m
        .root
        .strip_prefix("/home/")
        .is_some_and(|r| !r.is_empty() && !r.contains('/'));
    if home_dir {
        return Some("whole home directory");
    }
    Path::new(&m.root)
        .components()
        .any(|c| SENSITIVE_DIRS.iter().any(|d| c.as_os_str() == *d))
        .then_some("credential directory")
}

fn no_sensitive_mounts(f: &Facts) -> Outcome {
    let (agents, host_mnt) = match agents_and_host_mount_ns(f) {
        Ok(found) => found,
        Err(o) => return o,
    };
    let mut out = Findings::new();
    let mut host_mounts: Option<Vec<procfs::Mount>> = None;
    for p in agents {
        match procfs::namespace(&f.fs, p.pid, "mnt") {
            // In the host's namespace there is nothing mounted "into" it: PHY-003's finding.
            Ok(ns) if ns == host_mnt => continue,
            Ok(_) => {}
            Err(ProbeError::NotFound { .. }) => continue,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        }
        let mounts = match procfs::mountinfo(&f.fs, p.pid) {
            Ok(m) => m,
            // The process exited since the listing.
            Err(ProbeError::NotFound { .. }) => continue,
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        };
        if host_mounts.is_none() {
            match procfs::mountinfo(&f.fs, 1) {
                Ok(m) => host_mounts = Some(m),
                Err(e) => return Outcome::probe_failure(&e),
            }
        }
        let host = host_mounts.as_deref().unwrap_or_default();
        let path = p.proc_dir().join("mountinfo");
        let who = format!("{} (pid {})", p.program(), p.pid);
        let mut clean = true;
        for m in &mounts {
            // The host's own mount seen at its own place (a sandbox that shares the tree
            // read-only) adds nothing; a mount placed elsewhere does.
            let same_as_host = host
                .iter()
                .any(|h| h.dev == m.dev && h.root == m.root && h.mount_point == m.mount_point);
            if same_as_host && !m.mount_point.ends_with(".sock") {
                continue;
            }
            if let Some(why) = sensitive_mount(m) {
                clean = false;
                let mode = if m.read_only { "ro" } else { "rw" };
                out.finding(Evidence::at(
                    &path,
                    format!(
                        "{who}: {why} {} mounted at {} ({mode}, {})",
                        m.root, m.mount_point, m.fstype
                    ),
                ));
            }
        }
        if clean {
            out.ok(Evidence::at(
                &path,
                format!("{who}: {} mounts, none sensitive", mounts.len()),
            ));
        }
    }
    out.finish("no agent processes run in their own mount namespace")
}

/// How a user can write to a socket (connecting to a Unix socket needs write permission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Root,
    Owner,
    Group,
    World,
}

impl Access {
    fn label(self) -> &'static str {
        match self {
            Access::Root => "root",
            Access::Owner => "owner",
            Access::Group => "group",
            Access::World => "world-writable",
        }
    }
}

fn socket_access(uid: u32, gids: &[u32], m: &crate::probe::Meta) -> Option<Access> {
    if uid == 0 {
        Some(Access::Root)
    } else if m.uid == uid {
        (m.mode & 0o200 != 0).then_some(Access::Owner)
    } else if gids.contains(&m.gid) {
        (m.mode & 0o020 != 0).then_some(Access::Group)
    } else {
        (m.mode & 0o002 != 0).then_some(Access::World)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Kind, Meta};

    #[test]
    fn socket_access_follows_unix_permissions() {
        let sock = |mode, uid, gid| Meta {
            kind: Kind::Other,
            mode,
            uid,
            gid,
            size: 0,
            mtime: 0,
        };
        let docker = sock(0o660, 0, 999);
        assert_eq!(
            socket_access(1000, &[1000, 999], &docker),
            Some(Access::Group)
        );
        assert_eq!(socket_access(1000, &[1000], &docker), None);
        assert_eq!(socket_access(0, &[], &docker), Some(Access::Root));
        assert_eq!(
            socket_access(1000, &[1000], &sock(0o666, 0, 999)),
            Some(Access::World)
        );
        assert_eq!(
            socket_access(1000, &[], &sock(0o600, 1000, 1000)),
            Some(Access::Owner)
        );
        // The owner class applies even when it denies: other bits are not consulted.
        assert_eq!(socket_access(1000, &[], &sock(0o066, 1000, 1000)), None);
    }
}
