//! Agent software installed on the host, with versions: Python tools in pipx and uv tool
//! environments (`*.dist-info` directories), and global npm packages (`package.json`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Facts;
use super::advisories::Ecosystem;
use crate::probe::{Kind, ProbeError};

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The dist-info directory or package.json that names it.
    pub path: PathBuf,
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

/// Global npm package roots.
const NPM_ROOTS: &[&str] = &["/usr/lib/node_modules", "/usr/local/lib/node_modules"];
/// Per-user npm prefixes and Python tool environments, relative to a home.
const NPM_HOME_ROOTS: &[&str] = &[".npm-global/lib/node_modules", ".local/lib/node_modules"];
const PY_TOOL_ROOTS: &[&str] = &[".local/share/pipx/venvs", ".local/share/uv/tools"];

impl Facts {
    /// Installed agent tooling and what could not be read while looking for it.
    pub fn installed_packages(&self) -> (Vec<Installed>, Vec<ProbeError>) {
        let mut found = Vec::new();
        let mut errors = Vec::new();
        let mut npm: Vec<PathBuf> = NPM_ROOTS.iter().map(PathBuf::from).collect();
        let mut py: Vec<PathBuf> = vec![PathBuf::from("/opt/pipx/venvs")];
        for home in self.homes() {
            npm.extend(NPM_HOME_ROOTS.iter().map(|r| home.path.join(r)));
            py.extend(PY_TOOL_ROOTS.iter().map(|r| home.path.join(r)));
        }
        for root in npm {
            self.npm_packages(&root, &mut found, &mut errors);
        }
        for root in py {
            self.python_tools(&root, &mut found, &mut errors);
        }
        (found, errors)
    }

    fn dirs_in(&self, dir: &Path, errors: &mut Vec<ProbeError>) -> Vec<PathBuf> {
        match self.fs.list_dir(dir) {
            Ok(l) => l
                .iter()
                .filter(|e| e.kind == Kind::Dir)
                .map(|e| dir.join(&e.name))
                .collect(),
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => {
                errors.push(e);
                Vec::new()
            }
        }
    }

    fn npm_packages(&self, root: &Path, found: &mut Vec<Installed>, errors: &mut Vec<ProbeError>) {
        let mut packages = Vec::new();
        for dir in self.dirs_in(root, errors) {
            let scoped = dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('@'));
            if scoped {
                packages.extend(self.dirs_in(&dir, errors));
            } else {
                packages.push(dir);
            }
        }
        for dir in packages {
            let manifest = dir.join("package.json");
            let text = match self.fs.read_text(&manifest) {
                Ok(t) => t,
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let Ok(doc) = serde_json::from_str::<Value>(&text) else {
                errors.push(ProbeError::Io {
                    path: manifest.display().to_string(),
                    message: "not valid JSON".into(),
                });
                continue;
            };
            let get = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
            if let (Some(name), Some(version)) = (get("name"), get("version")) {
                found.push(Installed {
                    path: manifest,
                    ecosystem: Ecosystem::Npm,
                    name,
                    version,
                });
            }
        }
    }

    /// Every `name-version.dist-info` in each tool environment's site-packages.
    fn python_tools(&self, root: &Path, found: &mut Vec<Installed>, errors: &mut Vec<ProbeError>) {
        for venv in self.dirs_in(root, errors) {
            for lib in self.dirs_in(&venv.join("lib"), errors) {
                let site = lib.join("site-packages");
                for dist in self.dirs_in(&site, errors) {
                    let Some(stem) = dist
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .and_then(|n| n.strip_suffix(".dist-info").map(str::to_owned))
                    else {
                        continue;
                    };
                    if let Some((name, version)) = stem.split_once('-') {
                        found.push(Installed {
                            path: dist.clone(),
                            ecosystem: Ecosystem::PyPi,
                            name: name.to_owned(),
                            version: version.to_owned(),
                        });
                    }
                }
            }
        }
    }
}
