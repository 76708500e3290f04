//! Agent workspaces: directories agents work in and run code from.
//!
//! One definition serves every check and the watch plan (`<workspace>` in the
//! catalogue's `reads`): the configured `discovery.workspaces`, plus every directory an
//! agent client itself records as a project it was started in. A repository the user
//! opened once with Claude Code is exactly where a planted `.mcp.json`, hook or skill
//! waits, so it must not depend on the operator listing it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ConfigProblem, Facts};
use crate::probe::{Kind, ProbeError};

/// Files in a home that record the projects an agent client was used in, besides the
/// OpenClaw configs (`agents.*.workspace`). Read by discovery, for every check whose
/// `reads` holds `<workspace>`; a change to one re-plans the file watches.
pub const WORKSPACE_SOURCES: &[&str] = &[
    // Claude Code: the keys of `projects`.
    "~/.claude.json",
    // Codex: the `[projects."<dir>"]` tables.
    "~/.codex/config.toml",
    // Gemini CLI: folder trust decisions, keyed by directory.
    "~/.gemini/trustedFolders.json",
];

/// The workspaces found, and the sources that could not be read whole.
#[derive(Debug, Default)]
pub struct Workspaces {
    pub paths: Vec<PathBuf>,
    pub gaps: Vec<ProbeError>,
}

impl Facts {
    /// Every workspace that exists (see the module documentation), sorted.
    pub fn code_workspaces(&self) -> &[PathBuf] {
        &self.discover_workspaces().paths
    }

    /// Sources of workspaces that exist but could not be read or parsed: the
    /// workspaces they list are unknown, so checks reading `<workspace>` cannot pass.
    pub fn workspace_gaps(&self) -> &[ProbeError] {
        &self.discover_workspaces().gaps
    }

    fn discover_workspaces(&self) -> &Workspaces {
        self.extra.workspaces.get_or_init(|| {
            let mut found = Workspaces {
                paths: self.discovery.workspaces.clone(),
                gaps: Vec::new(),
            };
            for home in self.homes() {
                let claude = home.path.join(".claude.json");
                if let Some(doc) = self.json_file(&claude) {
                    match doc {
                        Ok(doc) => found.extend_keys(doc.value.get("projects"), &claude),
                        Err(p) => found.gap(p),
                    }
                }
                let gemini = home.path.join(".gemini/trustedFolders.json");
                if let Some(doc) = self.json_file(&gemini) {
                    match doc {
                        Ok(doc) => found.extend_keys(Some(&doc.value), &gemini),
                        Err(p) => found.gap(p),
                    }
                }
            }
            for doc in self.codex_configs() {
                match doc {
                    Ok(doc) => {
                        if let Some(projects) = doc.value.get("projects") {
                            match projects.as_table() {
                                Some(t) => found.paths.extend(absolute(t.keys())),
                                None => found.not_understood(&doc.path, "`projects`"),
                            }
                        }
                    }
                    Err(p) => found.gap(p),
                }
            }
            for doc in self.openclaw_configs() {
                if let Err(p) = doc {
                    found.gap(p.clone());
                }
            }
            found.paths.extend(self.openclaw_workspaces());
            found
                .paths
                .retain(|p| self.fs.metadata(p).is_ok_and(|m| m.kind == Kind::Dir));
            found.paths.sort();
            found.paths.dedup();
            found
        })
    }
}

impl Workspaces {
    /// The absolute-path keys of a JSON object of projects.
    fn extend_keys(&mut self, projects: Option<&Value>, path: &Path) {
        match projects {
            None => {}
            Some(Value::Object(map)) => self.paths.extend(absolute(map.keys())),
            Some(_) => self.not_understood(path, "its projects"),
        }
    }

    fn gap(&mut self, p: ConfigProblem) {
        self.gaps.push(match p {
            ConfigProblem::Unreadable(e) => e,
            ConfigProblem::Malformed { path, message } => ProbeError::Io {
                path: path.display().to_string(),
                message: format!(
                    "not parsed ({}), so the workspaces it records are unknown",
                    crate::secrets::redact(&message)
                ),
            },
        });
    }

    fn not_understood(&mut self, path: &Path, what: &str) {
        self.gaps.push(ProbeError::Io {
            path: path.display().to_string(),
            message: format!(
                "{what} is not a table of directories, so the workspaces it records are unknown"
            ),
        });
    }
}

fn absolute<'a>(keys: impl Iterator<Item = &'a String>) -> impl Iterator<Item = PathBuf> {
    keys.filter(|k| k.starts_with('/')).map(PathBuf::from)
}
