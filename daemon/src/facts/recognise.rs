//! Which processes are AI agents or MCP servers, by what they are rather than by one
//! command-line pattern, and where a containerised one lives.
//!
//! An agent shows itself in several ways, and an attacker (or the agent itself) can
//! change some of them: OpenClaw's gateway overwrites its command line with the title
//! `openclaw-gateway`; Claude Code runs as a native binary under a version-numbered
//! name; Gemini CLI is `node /usr/local/bin/gemini`; an agent in a container is seen
//! from the host with the container's paths. Each sign is tried in turn, and the first
//! that fits says why the process counts — the evidence names it.

use crate::probe::proc::Process;
use crate::probe::{HostFs, procfs};
use std::path::PathBuf;

/// Program names that are AI agents (or MCP servers they launched).
const AGENT_PROGRAMS: &[&str] = &[
    "claude",
    "openclaw",
    "clawdbot",
    "moltbot",
    "cursor",
    "cursor-agent",
    "codex",
    "gemini",
    "aider",
    "goose",
    "windsurf",
    "copilot",
    "kiro",
    "opencode",
    "amp",
];

/// Agents that retitle their processes `<name>-<role>` (OpenClaw sets `process.title`
/// to `openclaw-gateway`, `openclaw-node-worker`, `openclaw-<command>`).
const TITLED: &[&str] = &["openclaw-", "clawdbot-", "moltbot-"];

/// Path fragments of agents' install locations, for an executable under a name of its
/// own (Claude Code's native installer keeps `~/.local/share/claude/versions/<version>`).
const INSTALL_PATHS: &[&str] = &[
    "/.local/share/claude/versions/",
    "/node_modules/@anthropic-ai/claude-code",
    "/node_modules/@openai/codex",
    "/node_modules/@google/gemini-cli",
    "/node_modules/openclaw/",
];

/// Substrings of an interpreter's arguments that identify an agent or MCP server.
const AGENT_ARG_MARKERS: &[&str] = &[
    "@anthropic-ai/claude-code",
    "claude-code",
    "openclaw",
    "clawdbot",
    "@openai/codex",
    "@google/gemini-cli",
    "gemini-cli",
    "cursor-agent",
    "aider",
    "@modelcontextprotocol/",
    "mcp-server",
    "mcp_server",
];

/// Programs that run a script named by their arguments.
const INTERPRETERS: &[&str] = &["node", "nodejs", "bun", "deno", "uv", "uvx", "npx", "tsx"];

/// The sign a process was recognised by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Its program name (argv[0] or the kernel's name) is an agent's.
    Program,
    /// A title the agent gave itself (`openclaw-gateway`).
    Title,
    /// Its executable file is an agent's, whatever argv[0] says.
    Executable,
    /// An interpreter running an agent's or MCP server's script or package.
    Script,
}

impl Sign {
    /// How the evidence says it, after "recognised by …"; `None` for the plain program
    /// name, which the evidence shows already.
    pub fn describe(self) -> Option<&'static str> {
        match self {
            Sign::Program => None,
            Sign::Title => Some("its process title"),
            Sign::Executable => Some("its executable"),
            Sign::Script => Some("the script it runs"),
        }
    }
}

/// Why `p` is an AI agent or MCP server, or `None`. `extra` are the configured
/// `discovery.agent_process_names`. Reads nothing: decided from the process alone, so
/// the event path can judge a process the moment it starts.
pub fn recognise(p: &Process, extra: &[String]) -> Option<Sign> {
    let named = |n: &str| {
        let n = strip_suffix(n);
        AGENT_PROGRAMS.contains(&n) || extra.iter().any(|e| e == n)
    };
    let program = p.program();
    if named(program) || named(&p.name) {
        return Some(Sign::Program);
    }
    let titled = |n: &str| TITLED.iter().any(|t| n.starts_with(t));
    if titled(program) || titled(&p.name) {
        return Some(Sign::Title);
    }
    let exe = p.exe.as_deref().map(|e| e.trim_end_matches(" (deleted)"));
    if let Some(exe) = exe
        && (named(basename(exe)) || INSTALL_PATHS.iter().any(|f| exe.contains(f)))
    {
        return Some(Sign::Executable);
    }
    if is_interpreter(program) || exe.is_some_and(|e| is_interpreter(basename(e))) {
        let args = p.cmdline.iter().skip(1);
        let script = p.cmdline.iter().skip(1).find(|a| !a.starts_with('-'));
        if args
            .clone()
            .any(|a| AGENT_ARG_MARKERS.iter().any(|m| a.contains(m)))
            || script.is_some_and(|s| named(basename(s)))
        {
            return Some(Sign::Script);
        }
    }
    None
}

fn is_interpreter(name: &str) -> bool {
    INTERPRETERS.contains(&name)
        || name
            .strip_prefix("python")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `claude.exe` → `claude`, `openclaw.mjs` → `openclaw`.
fn strip_suffix(name: &str) -> &str {
    [".exe", ".js", ".mjs", ".cjs", ".ts", ".py"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

/// The container a process runs in, as its cgroup names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// `docker`, `podman`, `containerd`, `kubernetes`, `lxc` or `systemd-nspawn`.
    pub runtime: &'static str,
    /// The container's id (the first 12 characters of a hex id) or name.
    pub id: String,
}

/// The container named by a `/proc/<pid>/cgroup` text (any hierarchy's line), if any.
pub fn container_of_cgroup(text: &str) -> Option<Container> {
    text.lines().find_map(|line| {
        let path = line.splitn(3, ':').nth(2).unwrap_or("");
        let parts: Vec<&str> = path.split('/').collect();
        (0..parts.len()).find_map(|i| container_of_part(&parts, i))
    })
}

/// The container cgroup path component `parts[i]` names, as each runtime names it.
fn container_of_part(parts: &[&str], i: usize) -> Option<Container> {
    let part = parts[i];
    let unit = part.strip_suffix(".scope").unwrap_or(part);
    let short = |id: &str| id.chars().take(12).collect::<String>();
    let kube = parts.iter().any(|p| p.starts_with("kubepods"));
    let (runtime, id) = if let Some(id) = unit.strip_prefix("docker-") {
        ("docker", short(id))
    } else if let Some(id) = unit.strip_prefix("libpod-") {
        // `libpod-conmon-<id>` is the monitor beside the container, not in it.
        if id.starts_with("conmon-") {
            return None;
        }
        ("podman", short(id))
    } else if let Some(id) = unit.strip_prefix("cri-containerd-") {
        (if kube { "kubernetes" } else { "containerd" }, short(id))
    } else if let Some(id) = unit.strip_prefix("crio-") {
        ("kubernetes", short(id))
    } else if part == "docker" && parts.get(i + 1).is_some_and(|id| is_hex_id(id)) {
        ("docker", short(parts[i + 1]))
    } else if let Some(name) = part.strip_prefix("lxc.payload.") {
        ("lxc", name.to_owned())
    } else if let Some(name) = unit.strip_prefix("machine-") {
        ("systemd-nspawn", name.replace("\\x2d", "-"))
    } else {
        return None;
    };
    (!id.is_empty()).then_some(Container { runtime, id })
}

fn is_hex_id(s: &str) -> bool {
    s.len() >= 12 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The uid `host_uid` has inside the process's user namespace, when that namespace maps
/// uids (a rootless container); `None` when it is the host's (an identity map).
pub fn uid_in_namespace(uid_map: &str, host_uid: u32) -> Option<u32> {
    for line in uid_map.lines() {
        let n: Vec<u64> = line
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let [inside, outside, count] = n[..] else {
            continue;
        };
        if inside == outside {
            continue;
        }
        let host = u64::from(host_uid);
        if host >= outside && host < outside + count {
            return u32::try_from(inside + host - outside).ok();
        }
    }
    None
}

/// What the evidence adds about a recognised process beyond its name and pid: the sign
/// it was recognised by when not its program name, the container it runs in, and its
/// uid inside a user namespace. Read from `/proc` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub sign: Option<Sign>,
    pub container: Option<Container>,
    /// Its uid inside a user namespace of its own (a rootless container), if it has one.
    pub namespace_uid: Option<u32>,
}

impl Context {
    pub fn of(fs: &HostFs, p: &Process, sign: Option<Sign>) -> Context {
        Context {
            sign,
            container: fs
                .read_text(&PathBuf::from(format!("/proc/{}/cgroup", p.pid)))
                .ok()
                .and_then(|t| container_of_cgroup(&t)),
            namespace_uid: procfs::uid_map(fs, p.pid)
                .ok()
                .and_then(|m| uid_in_namespace(&m, p.euid)),
        }
    }
}

/// `; recognised by …; in docker container …; uid 0 in its user namespace`, or nothing
/// for a plain agent on the host.
impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(how) = self.sign.and_then(Sign::describe) {
            write!(f, "; recognised by {how}")?;
        }
        if let Some(c) = &self.container {
            write!(f, "; in {} container {}", c.runtime, c.id)?;
        }
        if let Some(uid) = self.namespace_uid {
            write!(f, "; uid {uid} in its user namespace")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(cmdline: &[&str], name: &str, exe: Option<&str>) -> Process {
        Process {
            pid: 10,
            ppid: 1,
            name: name.into(),
            uid: 1000,
            euid: 1000,
            cmdline: cmdline.iter().map(|s| s.to_string()).collect(),
            exe: exe.map(str::to_owned),
            cap_eff: 0,
            no_new_privs: false,
            seccomp: 0,
        }
    }

    #[test]
    fn agents_are_recognised_by_each_sign() {
        let node = Some("/usr/bin/node");
        // As captured from the real OpenClaw 2026.9.6 gateway.
        let gateway = process(&["openclaw-gateway"], "openclaw-gatewa", node);
        assert_eq!(recognise(&gateway, &[]), Some(Sign::Title));
        let claude = process(
            &["/tmp/x/node_modules/.bin/claude", "mcp", "serve"],
            "claude",
            Some("/tmp/x/node_modules/@anthropic-ai/claude-code/bin/claude.exe"),
        );
        assert_eq!(recognise(&claude, &[]), Some(Sign::Program));
        let renamed = process(
            &["worker", "--print"],
            "worker",
            Some("/home/a/.local/share/claude/versions/2.1.197"),
        );
        assert_eq!(recognise(&renamed, &[]), Some(Sign::Executable));
        let gemini = process(&["node", "/usr/local/bin/gemini"], "node", node);
        assert_eq!(recognise(&gemini, &[]), Some(Sign::Script));
        let in_container = process(
            &[
                "node",
                "--max-old-space-size=4096",
                "openclaw.mjs",
                "gateway",
            ],
            "node",
            Some("/usr/local/bin/node"),
        );
        assert_eq!(recognise(&in_container, &[]), Some(Sign::Script));
        let python = process(
            &["/usr/bin/python3.12", "-m", "mcp_server_git"],
            "python3.12",
            None,
        );
        assert_eq!(recognise(&python, &[]), Some(Sign::Script));
        let mine = process(&["my-agent"], "my-agent", None);
        assert_eq!(recognise(&mine, &["my-agent".into()]), Some(Sign::Program));
    }

    #[test]
    fn ordinary_processes_are_not_agents() {
        for (cmd, name, exe) in [
            (&["node", "server.js"][..], "node", Some("/usr/bin/node")),
            (&["/usr/bin/vim", "claude-notes.txt"][..], "vim", None),
            (&["cargo", "build"][..], "cargo", None),
            // An agent's name as an argument of a non-interpreter is not the agent.
            (&["grep", "-r", "openclaw", "."][..], "grep", None),
            (&["python3", "manage.py", "runserver"][..], "python3", None),
            (&["pythonista"][..], "pythonista", None),
        ] {
            let p = process(cmd, name, exe);
            assert_eq!(recognise(&p, &[]), None, "{cmd:?}");
        }
    }

    #[test]
    fn containers_are_named_by_their_cgroup() {
        let id = "3f2a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";
        let cases = [
            (format!("0::/system.slice/docker-{id}.scope\n"), "docker"),
            (format!("12:pids:/docker/{id}\n0::/docker/{id}\n"), "docker"),
            (
                format!(
                    "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{id}.scope/container\n"
                ),
                "podman",
            ),
            (
                format!(
                    "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-{id}.scope\n"
                ),
                "kubernetes",
            ),
        ];
        for (text, runtime) in cases {
            let c = container_of_cgroup(&text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(
                (c.runtime, c.id.as_str()),
                (runtime, "3f2a1b2c3d4e"),
                "{text}"
            );
        }
        let nspawn = container_of_cgroup("0::/machine.slice/machine-build\\x2dbox.scope/payload\n");
        assert_eq!(
            nspawn,
            Some(Container {
                runtime: "systemd-nspawn",
                id: "build-box".into()
            })
        );
        for host in [
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "0::/system.slice/docker.service\n",
            "0::/\n",
            &format!("0::/user.slice/libpod-conmon-{id}.scope\n"),
        ] {
            assert_eq!(container_of_cgroup(host), None, "{host}");
        }
    }

    #[test]
    fn user_namespaces_map_host_uids() {
        assert_eq!(uid_in_namespace("0 100000 65536\n", 100000), Some(0));
        assert_eq!(uid_in_namespace("0 100000 65536\n", 101000), Some(1000));
        assert_eq!(uid_in_namespace("0 0 4294967295\n", 0), None);
        assert_eq!(uid_in_namespace("0 100000 65536\n", 1000), None);
        assert_eq!(uid_in_namespace("garbage\n", 0), None);
    }
}
