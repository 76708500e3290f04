//! Launch points: commands an agent client or an editor runs by itself, without anyone
//! typing them — Claude Code, Gemini CLI and Cursor hooks, Claude Code's helper commands
//! and status line, Codex's `notify`, and VS Code tasks that run when a folder opens.
//! Repository-level files count as much as user-level ones: a cloned repository's
//! `.claude/settings.json` is how CVE-2025-59536-style attacks run code on open.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ConfigProblem, Facts, JsonDoc};

/// One configured command.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchPoint {
    /// The client that runs it: `claude-code`, `gemini-cli`, `cursor`, `codex`, `vscode`.
    pub client: &'static str,
    pub path: PathBuf,
    /// The line the command is written on (1 when it cannot be placed).
    pub line: u32,
    /// What triggers it: a hook event (`SessionStart`), a setting (`apiKeyHelper`),
    /// `notify`, or `folderOpen task "<label>"`.
    pub event: String,
    /// The command as the client will run it (arguments joined with spaces). May hold
    /// secrets: redact before showing it.
    pub command: String,
    /// The workspace a repository-level file belongs to: what `$CLAUDE_PROJECT_DIR`,
    /// `${workspaceFolder}` and relative paths resolve against.
    pub workspace: Option<PathBuf>,
    /// The home a user-level file belongs to: what `~` and `$HOME` resolve against.
    pub home: Option<PathBuf>,
}

/// Settings documents whose `hooks` hold commands, relative to a home or a workspace.
const HOOK_FILES: &[(&str, &str)] = &[
    ("claude-code", ".claude/settings.json"),
    ("claude-code", ".claude/settings.local.json"),
    ("gemini-cli", ".gemini/settings.json"),
    ("cursor", ".cursor/hooks.json"),
];

/// System-wide settings with hooks.
const MANAGED_HOOK_FILES: &[(&str, &str)] = &[
    ("claude-code", "/etc/claude-code/managed-settings.json"),
    ("gemini-cli", "/etc/gemini-cli/settings.json"),
    ("cursor", "/etc/cursor/hooks.json"),
];

/// Claude Code settings that name a command it runs by itself.
const CLAUDE_HELPERS: &[&str] = &[
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "otelHeadersHelper",
];

/// The files launch points are read from, for `Check::reads`: `~` is every home,
/// `<workspace>` every code workspace (which `~/.claude.json` lists).
pub const LAUNCH_FILES: &[&str] = &[
    "~/.claude/settings.json",
    "~/.claude/settings.local.json",
    "~/.gemini/settings.json",
    "~/.cursor/hooks.json",
    "~/.codex/config.toml",
    "~/.claude.json",
    "/etc/claude-code/managed-settings.json",
    "/etc/gemini-cli/settings.json",
    "/etc/cursor/hooks.json",
    "<workspace>/.claude/settings.json",
    "<workspace>/.claude/settings.local.json",
    "<workspace>/.gemini/settings.json",
    "<workspace>/.cursor/hooks.json",
    "<workspace>/.vscode/tasks.json",
];

impl Facts {
    /// Every launch point of every agent client and workspace, and the files that exist
    /// but could not be used (a check judging launch points cannot pass over those).
    pub fn launch_points(&self) -> (Vec<LaunchPoint>, Vec<ConfigProblem>) {
        let mut points = Vec::new();
        let mut problems = Vec::new();
        let mut add = |doc: Option<Result<JsonDoc, ConfigProblem>>,
                       client: &'static str,
                       workspace: Option<&Path>,
                       home: Option<&Path>,
                       points: &mut Vec<LaunchPoint>| {
            match doc {
                None => {}
                Some(Err(p)) => problems.push(p),
                Some(Ok(doc)) => {
                    let mut found = Vec::new();
                    if client == "vscode" {
                        folder_open_tasks(&doc.value, &mut found);
                    } else {
                        hook_commands(&doc.value, &mut found);
                        if client == "claude-code" {
                            claude_helpers(&doc.value, &mut found);
                        }
                    }
                    points.extend(found.into_iter().map(|(event, command)| LaunchPoint {
                        client,
                        line: match event.strip_prefix("folderOpen task ") {
                            Some(label) => line_of(&doc.text, label.trim_matches('"')),
                            None => line_of(&doc.text, &command),
                        },
                        path: doc.path.clone(),
                        event,
                        command,
                        workspace: workspace.map(Path::to_path_buf),
                        home: home.map(Path::to_path_buf),
                    }));
                }
            }
        };
        for (client, path) in MANAGED_HOOK_FILES {
            add(
                self.json_file(Path::new(path)),
                client,
                None,
                None,
                &mut points,
            );
        }
        for home in self.homes() {
            for (client, rel) in HOOK_FILES {
                let doc = self.json_file(&home.path.join(rel));
                add(doc, client, None, Some(&home.path), &mut points);
            }
        }
        for ws in self.code_workspaces() {
            // A home can be a workspace too (`claude` started in `~`); its files were read.
            if self.homes().iter().any(|h| &h.path == ws) {
                continue;
            }
            for (client, rel) in HOOK_FILES {
                add(
                    self.json_file(&ws.join(rel)),
                    client,
                    Some(ws),
                    None,
                    &mut points,
                );
            }
            let tasks = self.json_file(&ws.join(".vscode/tasks.json"));
            add(tasks, "vscode", Some(ws), None, &mut points);
        }
        for doc in self.codex_configs() {
            match doc {
                Err(p) => problems.push(p),
                Ok(doc) => {
                    let Some(notify) = doc.value.get("notify").and_then(toml::Value::as_array)
                    else {
                        continue;
                    };
                    let command = notify
                        .iter()
                        .filter_map(toml::Value::as_str)
                        .map(quote_arg)
                        .collect::<Vec<_>>()
                        .join(" ");
                    let line = doc
                        .text
                        .lines()
                        .position(|l| l.trim_start().starts_with("notify"))
                        .map_or(1, |i| i as u32 + 1);
                    points.push(LaunchPoint {
                        client: "codex",
                        home: doc
                            .path
                            .parent()
                            .and_then(Path::parent)
                            .map(Path::to_path_buf),
                        path: doc.path,
                        line,
                        event: "notify".into(),
                        command,
                        workspace: None,
                    });
                }
            }
        }
        (points, problems)
    }
}

/// An argument as a shell would need it written to mean the same word.
fn quote_arg(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,~$".contains(c))
    {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// Command hooks under `hooks`: `hooks.<Event>[].hooks[].command` (Claude Code, Gemini
/// CLI) and `hooks.<event>[].command` (Cursor), and any other nesting of objects with a
/// `command` string below an event, labelled by the event.
fn hook_commands(v: &Value, out: &mut Vec<(String, String)>) {
    fn walk(event: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let Some(cmd) = m.get("command").and_then(Value::as_str) {
                    out.push((event.to_owned(), cmd.to_owned()));
                }
                m.iter()
                    .filter(|(k, _)| *k != "command")
                    .for_each(|(_, v)| walk(event, v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(event, v, out)),
            _ => {}
        }
    }
    if let Some(events) = v.get("hooks").and_then(Value::as_object) {
        for (event, v) in events {
            walk(event, v, out);
        }
    }
}

fn claude_helpers(v: &Value, out: &mut Vec<(String, String)>) {
    for key in CLAUDE_HELPERS {
        if let Some(cmd) = v.get(*key).and_then(Value::as_str) {
            out.push(((*key).to_owned(), cmd.to_owned()));
        }
    }
    if let Some(cmd) = v.pointer("/statusLine/command").and_then(Value::as_str) {
        out.push(("statusLine".to_owned(), cmd.to_owned()));
    }
}

/// VS Code tasks that run when the folder is opened (`runOptions.runOn: "folderOpen"`),
/// with the Linux override of `command` and `args` where there is one.
fn folder_open_tasks(v: &Value, out: &mut Vec<(String, String)>) {
    for task in v
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if task.pointer("/runOptions/runOn").and_then(Value::as_str) != Some("folderOpen") {
            continue;
        }
        let linux = task.get("linux");
        let pick = |k: &str| linux.and_then(|l| l.get(k)).or_else(|| task.get(k));
        let Some(command) = pick("command").and_then(command_text) else {
            continue;
        };
        let args: Vec<String> = pick("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(command_text)
            .collect();
        let label = task.get("label").and_then(Value::as_str).unwrap_or("");
        let mut line = command;
        for a in args {
            line.push(' ');
            line.push_str(&quote_arg(&a));
        }
        out.push((format!("folderOpen task {label:?}"), line));
    }
}

/// A task's `command` or argument: a string, `{ "value": … }`, or an array of parts.
fn command_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("value").and_then(command_text),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(command_text)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

/// The line a command is written on: where its JSON-escaped form first appears.
fn line_of(text: &str, command: &str) -> u32 {
    let escaped = serde_json::to_string(command).unwrap_or_default();
    let needle = escaped.trim_matches('"');
    let needle: String = needle.chars().take(60).collect();
    if needle.is_empty() {
        return 1;
    }
    text.find(&needle)
        .map_or(1, |at| text[..at].matches('\n').count() as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_of_every_shape_are_found() {
        let v: Value = serde_json::json!({
            "hooks": {
                "SessionStart": [{"hooks": [{"type": "command", "command": "a"}]}],
                "beforeShellExecution": [{"command": "b"}]
            },
            "apiKeyHelper": "c",
            "statusLine": {"type": "command", "command": "d"}
        });
        let mut out = Vec::new();
        hook_commands(&v, &mut out);
        claude_helpers(&v, &mut out);
        out.sort();
        assert_eq!(
            out,
            [
                ("SessionStart".to_owned(), "a".to_owned()),
                ("apiKeyHelper".to_owned(), "c".to_owned()),
                ("beforeShellExecution".to_owned(), "b".to_owned()),
                ("statusLine".to_owned(), "d".to_owned()),
            ]
        );
    }

    #[test]
    fn only_folder_open_tasks_with_their_linux_override() {
        let v: Value = serde_json::json!({"tasks": [
            {"label": "build", "command": "make"},
            {"label": "x", "command": "echo", "args": ["hi", {"value": "there"}],
             "linux": {"command": "bash", "args": ["-c", "id"]},
             "runOptions": {"runOn": "folderOpen"}}
        ]});
        let mut out = Vec::new();
        folder_open_tasks(&v, &mut out);
        assert_eq!(
            out,
            [("folderOpen task \"x\"".to_owned(), "bash -c id".to_owned())]
        );
    }

    #[test]
    fn a_command_is_placed_on_its_line() {
        let text = "{\n  \"hooks\": {\n    \"Stop\": [{\"command\": \"say \\\"hi\\\"\"}]\n  }\n}\n";
        assert_eq!(line_of(text, "say \"hi\""), 3);
        assert_eq!(line_of(text, "missing"), 1);
    }

    #[test]
    fn every_launch_file_is_declared() {
        for (_, rel) in HOOK_FILES {
            for read in [format!("~/{rel}"), format!("<workspace>/{rel}")] {
                assert!(
                    LAUNCH_FILES.contains(&read.as_str()),
                    "{read} is read but not declared"
                );
            }
        }
        for (_, path) in MANAGED_HOOK_FILES {
            assert!(
                LAUNCH_FILES.contains(path),
                "{path} is read but not declared"
            );
        }
    }
}
