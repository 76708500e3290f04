//! Agent workspaces: directories agents work in and run code from.

use std::path::PathBuf;

use serde_json::Value;

use super::Facts;

impl Facts {
    /// Configured workspaces, every OpenClaw workspace (`~/.openclaw/workspace`) and every
    /// Claude Code project (the keys of `projects` in `~/.claude.json`) that exists.
    pub fn code_workspaces(&self) -> &[PathBuf] {
        self.extra.workspaces.get_or_init(|| {
            let mut out: Vec<PathBuf> = self.discovery.workspaces.clone();
            for home in self.homes() {
                out.push(home.path.join(".openclaw/workspace"));
                if let Some(Ok(doc)) = self.json_file(&home.path.join(".claude.json"))
                    && let Some(projects) = doc.value.get("projects").and_then(Value::as_object)
                {
                    out.extend(
                        projects
                            .keys()
                            .filter(|k| k.starts_with('/'))
                            .map(PathBuf::from),
                    );
                }
            }
            out.retain(|p| self.is_dir(p));
            out.sort();
            out.dedup();
            out
        })
    }
}
