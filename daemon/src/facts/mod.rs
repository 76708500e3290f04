//! Facts: what the checks know about the host, gathered through the probe layer.
//!
//! Each fact is computed at most once per assessment, on first use, and shared by all
//! checks (which run concurrently), so ten checks that need the process list cause one
//! walk of `/proc`. Nothing here decides pass or fail; that is the checks' job.

// checks-a: accounts, code workspaces, lockfiles and the advisory database.
mod accounts;
pub mod advisories;
mod extra;
mod installed;
pub mod launch;
pub mod lockfiles;
pub mod recognise;
pub mod workspaces;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::config::Discovery;
use crate::jsonc;
use crate::probe::proc::{self, Process};
use crate::probe::{HostFs, Kind, ProbeError};

// --- skills/integrity/social/incident facts (checks-b) ---
pub mod agents;
mod drift;
pub mod skills;

/// Whose view of the host this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Unprivileged dev mode: only the invoking user's home and processes are covered.
    pub reduced: bool,
    pub uid: u32,
    /// The invoking user's home (host path), used in reduced mode.
    pub home: Option<PathBuf>,
}

impl Scope {
    pub fn full() -> Self {
        Scope {
            reduced: false,
            uid: 0,
            home: None,
        }
    }
}

/// A user's home directory on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub user: String,
    pub uid: Option<u32>,
    pub path: PathBuf,
}

/// An MCP server entry from some client's config.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServer {
    pub name: String,
    pub transport: Transport,
    /// Line of the entry's name in its file, when found.
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// Launched locally. `env` values may be secrets: scan them, never quote them.
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// Reached over the network. Header values may be secrets.
    Remote {
        url: String,
        headers: Vec<(String, String)>,
    },
}

/// One agent client's config file that declares MCP servers.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Client name, e.g. `claude-code`, `cursor`.
    pub client: &'static str,
    pub path: PathBuf,
    pub text: String,
    pub servers: Vec<McpServer>,
}

/// Every MCP-declaring client config found, plus those that exist but are unusable.
#[derive(Debug, Default)]
pub struct McpInventory {
    pub configs: Vec<ClientConfig>,
    pub errors: Vec<ConfigProblem>,
}

/// A config file that exists but could not be used. Checks report it as `error`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigProblem {
    Unreadable(ProbeError),
    Malformed { path: PathBuf, message: String },
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigProblem::Unreadable(e) => write!(f, "{e}"),
            ConfigProblem::Malformed { path, message } => {
                write!(f, "{}: {}", path.display(), crate::secrets::redact(message))
            }
        }
    }
}

/// A parsed JSON(C/5) document with its source text.
#[derive(Debug, Clone)]
pub struct JsonDoc {
    pub path: PathBuf,
    pub text: String,
    pub value: Value,
}

/// Where each client keeps its MCP servers, relative to a home.
struct McpSource {
    client: &'static str,
    rel: &'static str,
    format: Format,
    /// JSON pointers to objects of servers; `projects` is handled specially.
    keys: &'static [&'static str],
    /// A file whose only purpose is MCP: missing server keys is an error.
    dedicated: bool,
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Toml,
}

/// Claude Code's system-wide managed MCP servers.
const MANAGED_MCP_CONFIG: &str = "/etc/claude-code/managed-mcp.json";
/// A project's own MCP servers, at the root of each workspace (`Facts::code_workspaces`).
const PROJECT_MCP_CONFIG: &str = ".mcp.json";

/// Every MCP config file `Facts::mcp` reads, in the catalogue's `reads` notation.
#[cfg(test)]
pub(crate) fn mcp_config_patterns() -> Vec<String> {
    MCP_SOURCES
        .iter()
        .map(|s| format!("~/{}", s.rel))
        .chain([
            MANAGED_MCP_CONFIG.to_owned(),
            format!("<workspace>/{PROJECT_MCP_CONFIG}"),
        ])
        .collect()
}

const MCP_SOURCES: &[McpSource] = &[
    McpSource {
        client: "claude-code",
        rel: ".claude.json",
        format: Format::Json,
        keys: &["/mcpServers"],
        dedicated: false,
    },
    McpSource {
        client: "cursor",
        rel: ".cursor/mcp.json",
        format: Format::Json,
        keys: &["/mcpServers"],
        dedicated: true,
    },
    McpSource {
        client: "windsurf",
        rel: ".codeium/windsurf/mcp_config.json",
        format: Format::Json,
        keys: &["/mcpServers"],
        dedicated: true,
    },
    McpSource {
        client: "vscode",
        rel: ".config/Code/User/settings.json",
        format: Format::Json,
        keys: &["/mcp/servers"],
        dedicated: false,
    },
    McpSource {
        client: "vscode",
        rel: ".config/Code/User/mcp.json",
        format: Format::Json,
        keys: &["/servers"],
        dedicated: true,
    },
    McpSource {
        client: "gemini-cli",
        rel: ".gemini/settings.json",
        format: Format::Json,
        keys: &["/mcpServers"],
        dedicated: false,
    },
    McpSource {
        client: "codex",
        rel: ".codex/config.toml",
        format: Format::Toml,
        keys: &["/mcp_servers"],
        dedicated: false,
    },
    McpSource {
        client: "kiro",
        rel: ".kiro/settings/mcp.json",
        format: Format::Json,
        keys: &["/mcpServers"],
        dedicated: true,
    },
    McpSource {
        client: "copilot-cli",
        rel: ".copilot/mcp-config.json",
        format: Format::Json,
        keys: &["/mcpServers"],
        dedicated: true,
    },
];

/// Where agent instruction files (SOUL.md, AGENTS.md, CLAUDE.md …) are looked for, as
/// `Facts::instruction_files` does; checks built on them declare `@instruction-files`.
pub const INSTRUCTION_FILES: &[&str] = &[
    "~/.openclaw/workspace/*.md",
    "~/.claude/*.md",
    "~/.gemini/*.md",
    "~/.codex/*.md",
    "<workspace>/*.md",
];

/// OpenClaw gateway configs in every home (`~`): the current name and the legacy ones.
/// Checks built on them declare `@openclaw-configs`, which stands for this list.
pub const OPENCLAW_CONFIGS: &[&str] = &[
    "~/.openclaw/openclaw.json",
    "~/.clawdbot/clawdbot.json",
    "~/.moltbot/moltbot.json",
];

/// A process environment as read (or why it could not be).
type EnvironRead = Result<std::sync::Arc<Vec<String>>, ProbeError>;

/// Everything checks may ask about the host. Built once per assessment.
#[derive(Debug)]
pub struct Facts {
    pub fs: HostFs,
    pub scope: Scope,
    discovery: Discovery,
    /// The homes found, and what stopped the search for them from being complete.
    homes: OnceLock<(Vec<Home>, Vec<ProbeError>)>,
    processes: OnceLock<Result<Vec<Process>, ProbeError>>,
    mcp: OnceLock<McpInventory>,
    openclaw: OnceLock<Vec<Result<JsonDoc, ConfigProblem>>>,
    // --- skills/integrity/social/incident (checks-b) ---
    drift: drift::DriftState,
    skill_deny: Vec<String>,
    extra: extra::Extra,
    // --- shared per-assessment caches ---
    skill_tree: OnceLock<skills::SkillTree>,
    environs: std::sync::Mutex<std::collections::HashMap<u32, EnvironRead>>,
}

impl Facts {
    pub fn new(fs: HostFs, scope: Scope, discovery: Discovery) -> Self {
        Facts {
            fs,
            scope,
            discovery,
            homes: OnceLock::new(),
            processes: OnceLock::new(),
            mcp: OnceLock::new(),
            openclaw: OnceLock::new(),
            drift: drift::DriftState::default(),
            skill_deny: Vec::new(),
            extra: extra::Extra::default(),
            skill_tree: OnceLock::new(),
            environs: Default::default(),
        }
    }

    /// The environment of a process (`NAME=value` strings), read once per assessment and
    /// shared by every check that judges it. Values may be secrets: callers hand them only
    /// to the secret scanner or compare names, never quote them.
    pub fn environ(&self, pid: u32) -> Result<std::sync::Arc<Vec<String>>, ProbeError> {
        if let Ok(cache) = self.environs.lock()
            && let Some(hit) = cache.get(&pid)
        {
            return hit.clone();
        }
        let read = proc::environ(&self.fs, pid).map(std::sync::Arc::new);
        if let Ok(mut cache) = self.environs.lock() {
            cache.insert(pid, read.clone());
        }
        read
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// Whether the host root is the live host's `/` (where `/etc/passwd` and `/proc` always
    /// exist), rather than a tree of files such as a mounted image or a fixture.
    pub fn is_live_host(&self) -> bool {
        self.fs.root_path() == Path::new("/")
    }

    /// Users' homes: accounts in `/etc/passwd` with a login uid (0 or 1000+) and an
    /// existing home, plus `/root` and `/home/*`. In reduced mode, only the invoker's.
    pub fn homes(&self) -> &[Home] {
        &self.discover_homes().0
    }

    /// Why the list of homes may be incomplete: `/etc/passwd` or `/home` could not be
    /// read whole (on the live host, a missing `/etc/passwd` too). Every check that
    /// judges something in homes errors while this is not empty (`checks::guard_discovery`).
    pub fn home_gaps(&self) -> &[ProbeError] {
        &self.discover_homes().1
    }

    fn discover_homes(&self) -> &(Vec<Home>, Vec<ProbeError>) {
        self.homes.get_or_init(|| {
            if self.scope.reduced {
                let homes = self
                    .scope
                    .home
                    .iter()
                    .filter(|h| self.is_dir(h))
                    .map(|h| Home {
                        user: h
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        uid: Some(self.scope.uid),
                        path: h.clone(),
                    })
                    .collect();
                return (homes, Vec::new());
            }
            let mut homes: Vec<Home> = Vec::new();
            let mut gaps = Vec::new();
            let passwd = self.fs.read_text(Path::new("/etc/passwd"));
            match &passwd {
                Err(e) if !e.is_not_found() || self.is_live_host() => gaps.push(e.clone()),
                _ => {}
            }
            if let Ok(passwd) = passwd {
                for line in passwd.lines() {
                    let f: Vec<&str> = line.split(':').collect();
                    if f.len() < 7 {
                        continue;
                    }
                    let Ok(uid) = f[2].parse::<u32>() else {
                        continue;
                    };
                    let login = uid == 0 || (1000..65534).contains(&uid);
                    let path = PathBuf::from(f[5]);
                    if login && path.is_absolute() && path != Path::new("/") && self.is_dir(&path) {
                        homes.push(Home {
                            user: f[0].to_owned(),
                            uid: Some(uid),
                            path,
                        });
                    }
                }
            }
            let mut extra = vec![PathBuf::from("/root")];
            match self.fs.list_dir(Path::new("/home")) {
                Ok(l) => extra.extend(
                    l.iter()
                        .filter(|e| e.kind == Kind::Dir)
                        .map(|e| Path::new("/home").join(&e.name)),
                ),
                Err(e) if e.is_not_found() => {}
                Err(e) => gaps.push(e),
            }
            for path in extra {
                if !homes.iter().any(|h| h.path == path) && self.is_dir(&path) {
                    let user = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    homes.push(Home {
                        user,
                        uid: None,
                        path,
                    });
                }
            }
            homes.sort_by(|a, b| a.path.cmp(&b.path));
            homes.dedup_by(|a, b| a.path == b.path);
            (homes, gaps)
        })
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.fs.metadata(path).is_ok_and(|m| m.kind == Kind::Dir)
    }

    /// Every process the scope covers.
    pub fn processes(&self) -> Result<&[Process], &ProbeError> {
        self.processes
            .get_or_init(|| {
                let max = self.fs.limits().max_processes as usize;
                let all = proc::list(&self.fs, max)?;
                Ok(if self.scope.reduced {
                    all.into_iter()
                        .filter(|p| p.uid == self.scope.uid)
                        .collect()
                } else {
                    all
                })
            })
            .as_ref()
            .map(Vec::as_slice)
    }

    /// Why the process list is unusable, where that hides processes: `/proc` could not
    /// be listed or holds more than `limits.max_processes`; a missing `/proc` only on
    /// the live host (a tree of files simply has no processes).
    pub fn process_gap(&self) -> Option<&ProbeError> {
        match self.processes() {
            Err(e) if !e.is_not_found() || self.is_live_host() => Some(e),
            _ => None,
        }
    }

    /// Processes that are AI agents or MCP servers.
    pub fn agent_processes(&self) -> Result<Vec<&Process>, &ProbeError> {
        Ok(self
            .processes()?
            .iter()
            .filter(|p| self.is_agent(p))
            .collect())
    }

    /// Whether `p` is an AI agent or MCP server (`recognise` says by which sign).
    pub fn is_agent(&self, p: &Process) -> bool {
        self.agent_sign(p).is_some()
    }

    /// The sign `p` is recognised as an agent or MCP server by, if it is one.
    pub fn agent_sign(&self, p: &Process) -> Option<recognise::Sign> {
        recognise::recognise(p, &self.discovery.agent_process_names)
    }

    /// What evidence about agent process `p` adds to its name and pid: how it was
    /// recognised when not by name, its container, its uid in a user namespace.
    pub fn agent_context(&self, p: &Process) -> recognise::Context {
        recognise::Context::of(&self.fs, p, self.agent_sign(p))
    }

    /// Every client config that declares MCP servers, across all homes and the system.
    pub fn mcp(&self) -> &McpInventory {
        self.mcp.get_or_init(|| {
            let mut inv = McpInventory::default();
            for home in self.homes() {
                for src in MCP_SOURCES {
                    self.load_mcp(&mut inv, src, &home.path.join(src.rel));
                }
            }
            let managed = McpSource {
                client: "claude-code",
                rel: "",
                format: Format::Json,
                keys: &["/mcpServers"],
                dedicated: true,
            };
            self.load_mcp(&mut inv, &managed, Path::new(MANAGED_MCP_CONFIG));
            for ws in self.code_workspaces() {
                let project = McpSource {
                    client: "project",
                    rel: "",
                    format: Format::Json,
                    keys: &["/mcpServers"],
                    dedicated: true,
                };
                self.load_mcp(&mut inv, &project, &ws.join(PROJECT_MCP_CONFIG));
            }
            inv
        })
    }

    fn load_mcp(&self, inv: &mut McpInventory, src: &McpSource, path: &Path) {
        let text = match self.fs.read_text(path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return,
            Err(e) => return inv.errors.push(ConfigProblem::Unreadable(e)),
        };
        let value = match src.format {
            Format::Json => jsonc::parse(&text),
            Format::Toml => toml::from_str::<Value>(&text).map_err(|e| e.message().to_owned()),
        };
        let value = match value {
            Ok(v) => v,
            Err(message) => {
                return inv.errors.push(ConfigProblem::Malformed {
                    path: path.to_path_buf(),
                    message,
                });
            }
        };
        let mut servers = Vec::new();
        let mut found_key = false;
        let mut tables: Vec<&Value> = src.keys.iter().filter_map(|k| value.pointer(k)).collect();
        if src.client == "claude-code"
            && let Some(projects) = value.get("projects").and_then(Value::as_object)
        {
            tables.extend(projects.values().filter_map(|p| p.get("mcpServers")));
        }
        for table in tables {
            found_key = true;
            let Some(map) = table.as_object() else {
                return inv.errors.push(ConfigProblem::Malformed {
                    path: path.to_path_buf(),
                    message: "MCP servers must be an object of named entries".into(),
                });
            };
            for (name, entry) in map {
                match parse_server(name, entry) {
                    Ok(t) => servers.push(McpServer {
                        name: name.clone(),
                        transport: t,
                        line: jsonc::line_of_key(&text, name),
                    }),
                    Err(message) => {
                        return inv.errors.push(ConfigProblem::Malformed {
                            path: path.to_path_buf(),
                            message: format!("server {name:?}: {message}"),
                        });
                    }
                }
            }
        }
        if !found_key && src.dedicated {
            return inv.errors.push(ConfigProblem::Malformed {
                path: path.to_path_buf(),
                message: format!(
                    "declares no MCP servers (expected {})",
                    src.keys.join(" or ")
                ),
            });
        }
        if found_key || src.dedicated {
            inv.configs.push(ClientConfig {
                client: src.client,
                path: path.to_path_buf(),
                text,
                servers,
            });
        }
    }

    /// OpenClaw gateway configs (`openclaw.json`, legacy `clawdbot.json`/`moltbot.json`).
    pub fn openclaw_configs(&self) -> &[Result<JsonDoc, ConfigProblem>] {
        self.openclaw.get_or_init(|| {
            let mut out = Vec::new();
            for home in self.homes() {
                for pattern in OPENCLAW_CONFIGS {
                    let rel = pattern.trim_start_matches("~/");
                    if let Some(doc) = self.json_file(&home.path.join(rel)) {
                        out.push(doc);
                    }
                }
            }
            out
        })
    }

    /// Reads and parses a JSON(C/5) file; `None` when it does not exist.
    pub fn json_file(&self, path: &Path) -> Option<Result<JsonDoc, ConfigProblem>> {
        match self.fs.read_text(path) {
            Err(e) if e.is_not_found() => None,
            Err(e) => Some(Err(ConfigProblem::Unreadable(e))),
            Ok(text) => Some(match jsonc::parse(&text) {
                Ok(value) => Ok(JsonDoc {
                    path: path.to_path_buf(),
                    text,
                    value,
                }),
                Err(message) => Err(ConfigProblem::Malformed {
                    path: path.to_path_buf(),
                    message,
                }),
            }),
        }
    }

    /// Skill directories: every client's per-user skill roots, OpenClaw workspace skills,
    /// configured extras. Only roots that exist are returned.
    pub fn skill_roots(&self) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        for home in self.homes() {
            for rel in [
                ".openclaw/skills",
                ".openclaw/workspace/skills",
                ".claude/skills",
                ".agents/skills",
                ".codex/skills",
                ".gemini/skills",
            ] {
                roots.push(home.path.join(rel));
            }
        }
        for ws in self.code_workspaces() {
            for rel in [
                "skills",
                ".claude/skills",
                ".agents/skills",
                ".codex/skills",
                ".gemini/skills",
            ] {
                roots.push(ws.join(rel));
            }
        }
        roots.extend(self.discovery.skill_dirs.iter().cloned());
        roots.retain(|r| self.is_dir(r));
        roots
    }

    /// Agent instruction files (SOUL.md, AGENTS.md, CLAUDE.md …) that exist in the agents'
    /// own directories and the configured workspaces: the files an operator owns and
    /// approves (INT-001, INT-002 and INT-006 judge these).
    pub fn instruction_files(&self) -> Vec<PathBuf> {
        self.instruction_files_in(&self.own_instruction_dirs())
    }

    /// Instruction files of the projects agents recorded working in (beyond the
    /// configured workspaces): a cloned repository's CLAUDE.md or AGENTS.md is read by
    /// the agent like the operator's own, so its content is scanned (hidden Unicode,
    /// secrets); it changes with every pull, so it is not baselined.
    /// Never a file [`Facts::instruction_files`] already lists (an OpenClaw workspace is
    /// both).
    pub fn project_instruction_files(&self) -> Vec<PathBuf> {
        let own = self.own_instruction_dirs();
        let dirs: Vec<PathBuf> = self
            .code_workspaces()
            .iter()
            .filter(|w| !own.contains(w))
            .cloned()
            .collect();
        self.instruction_files_in(&dirs)
    }

    /// The directories [`Facts::instruction_files`] looks in.
    fn own_instruction_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for home in self.homes() {
            dirs.push(home.path.join(".openclaw/workspace"));
            dirs.push(home.path.join(".claude"));
            dirs.push(home.path.join(".gemini"));
            dirs.push(home.path.join(".codex"));
        }
        dirs.extend(self.discovery.workspaces.iter().cloned());
        dirs
    }

    fn instruction_files_in(&self, dirs: &[PathBuf]) -> Vec<PathBuf> {
        const NAMES: &[&str] = &[
            "SOUL.md",
            "AGENTS.md",
            "USER.md",
            "TOOLS.md",
            "IDENTITY.md",
            "HEARTBEAT.md",
            "MEMORY.md",
            "CLAUDE.md",
            "GEMINI.md",
        ];
        let mut out = Vec::new();
        for d in dirs {
            for n in NAMES {
                let p = d.join(n);
                if self.fs.symlink_metadata(&p).is_ok() {
                    out.push(p);
                }
            }
        }
        out
    }
}

fn parse_server(name: &str, entry: &Value) -> Result<Transport, String> {
    let obj = entry.as_object().ok_or("entry is not an object")?;
    let strings = |key: &str| -> Vec<(String, String)> {
        obj.get(key)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let url = ["url", "serverUrl", "httpUrl"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str));
    if let Some(url) = url {
        return Ok(Transport::Remote {
            url: url.to_owned(),
            headers: strings("headers"),
        });
    }
    let command = obj
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name} has neither a command nor a url"))?;
    let args = match obj.get("args") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        Some(_) => return Err("args is not a list".into()),
    };
    Ok(Transport::Stdio {
        command: command.to_owned(),
        args,
        env: strings("env"),
    })
}

/// Test support: a host tree of `files` (path relative to the root, content) and the
/// facts of it with default limits and discovery.
#[cfg(test)]
pub(crate) fn facts_of(root: &Path, files: &[(&str, &str)]) -> Facts {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("a relative path")).expect("create");
        std::fs::write(p, text).expect("write");
    }
    let fs = crate::probe::HostFs::open(root, crate::config::Limits::default()).expect("root");
    Facts::new(fs, Scope::full(), Default::default())
}
