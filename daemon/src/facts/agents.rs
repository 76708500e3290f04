//! Facts about agent users and agent client settings beyond MCP: Claude Code settings,
//! Codex config, OpenClaw workspaces, the accounts and groups that run agents.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ConfigProblem, Facts, JsonDoc};
use crate::probe::Kind;

/// A parsed TOML file with its source text.
#[derive(Debug, Clone)]
pub struct TomlDoc {
    pub path: PathBuf,
    pub text: String,
    pub value: toml::Value,
}

/// Directories in a home (`~`) whose presence means an agent client is set up for that
/// user. Checks that decide who runs agents declare `@agent-dirs`, which stands for this.
pub const AGENT_DIRS: &[&str] = &[
    "~/.openclaw",
    "~/.clawdbot",
    "~/.moltbot",
    "~/.claude",
    "~/.codex",
    "~/.cursor",
    "~/.gemini",
    "~/.codeium/windsurf",
    "~/.kiro",
    "~/.copilot",
];

impl Facts {
    /// Users who run AI agents: owners of agent processes and users whose home holds an
    /// agent client's directory. Names where `/etc/passwd` knows them, else the home's name.
    pub fn agent_users(&self) -> BTreeSet<String> {
        let accounts = self.accounts();
        let mut users = BTreeSet::new();
        if let Ok(procs) = self.agent_processes() {
            for p in procs {
                if let Some(a) = accounts.by_uid(p.uid) {
                    users.insert(a.name.clone());
                }
            }
        }
        for home in self.homes() {
            let has_agent = AGENT_DIRS.iter().any(|d| {
                let rel = d.trim_start_matches("~/");
                self.fs.symlink_metadata(&home.path.join(rel)).is_ok()
            });
            if has_agent {
                users.insert(home.user.clone());
            }
        }
        users
    }

    /// Claude Code settings files (user, project-local and managed) that exist.
    pub fn claude_settings(&self) -> Vec<Result<JsonDoc, ConfigProblem>> {
        let mut paths = vec![PathBuf::from("/etc/claude-code/managed-settings.json")];
        for home in self.homes() {
            paths.push(home.path.join(".claude/settings.json"));
            paths.push(home.path.join(".claude/settings.local.json"));
        }
        for ws in self.code_workspaces() {
            paths.push(ws.join(".claude/settings.json"));
            paths.push(ws.join(".claude/settings.local.json"));
        }
        paths.iter().filter_map(|p| self.json_file(p)).collect()
    }

    /// Every home's `~/.codex/config.toml` that exists.
    pub fn codex_configs(&self) -> Vec<Result<TomlDoc, ConfigProblem>> {
        let mut out = Vec::new();
        for home in self.homes() {
            let path = home.path.join(".codex/config.toml");
            let text = match self.fs.read_text(&path) {
                Ok(t) => t,
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    out.push(Err(ConfigProblem::Unreadable(e)));
                    continue;
                }
            };
            out.push(match toml::from_str::<toml::Value>(&text) {
                Ok(value) => Ok(TomlDoc { path, text, value }),
                Err(e) => Err(ConfigProblem::Malformed {
                    path,
                    message: e.message().to_owned(),
                }),
            });
        }
        out
    }

    /// OpenClaw agent workspaces that exist: `~/.openclaw/workspace` and every
    /// `workspace` an `openclaw.json` names (`agents.defaults.workspace`,
    /// `agents.list[].workspace`, `~` expanded against the config's home).
    pub fn openclaw_workspaces(&self) -> Vec<PathBuf> {
        let mut out = BTreeSet::new();
        for home in self.homes() {
            out.insert(home.path.join(".openclaw/workspace"));
        }
        for doc in self.openclaw_configs().iter().flatten() {
            let agents = doc.value.get("agents");
            let defaults = agents
                .and_then(|a| a.pointer("/defaults/workspace"))
                .into_iter();
            let listed = agents
                .and_then(|a| a.get("list"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("workspace"));
            out.extend(
                defaults
                    .chain(listed)
                    .filter_map(Value::as_str)
                    .filter_map(|ws| openclaw_path(doc, ws)),
            );
        }
        out.into_iter()
            .filter(|p| self.fs.metadata(p).is_ok_and(|m| m.kind == Kind::Dir))
            .collect()
    }
}

/// A path as an `openclaw.json` writes it: `~/` is the home the config is in; relative
/// paths, which OpenClaw does not take, are `None`.
pub fn openclaw_path(doc: &JsonDoc, written: &str) -> Option<PathBuf> {
    let home = doc
        .path
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    let path = match written.strip_prefix("~/") {
        Some(rel) => home.join(rel),
        None => PathBuf::from(written),
    };
    path.is_absolute().then_some(path)
}

/// The tool policies of an `openclaw.json`: the global `tools` and each
/// `agents.list[].tools`, labelled by their dotted key.
pub fn openclaw_tool_scopes(doc: &JsonDoc) -> Vec<(String, &Value)> {
    let mut scopes: Vec<(String, &Value)> = doc
        .value
        .get("tools")
        .map(|t| ("tools".to_owned(), t))
        .into_iter()
        .collect();
    let agents = doc.value.pointer("/agents/list").and_then(Value::as_array);
    for (i, agent) in agents.into_iter().flatten().enumerate() {
        if let Some(t) = agent.get("tools") {
            let id = agent
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| i.to_string(), str::to_owned);
            scopes.push((format!("agents.list[{id}].tools"), t));
        }
    }
    scopes
}
