//! Dependency lockfiles in agent workspaces: `Cargo.lock`, `package-lock.json`,
//! `poetry.lock` and exact (`==`) pins in `requirements.txt`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::advisories::Ecosystem;
use super::{ConfigProblem, Facts};

/// One resolved dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Line of the entry in its lockfile, when found.
    pub line: Option<u32>,
}

/// A parsed lockfile.
#[derive(Debug, Clone)]
pub struct Lockfile {
    pub path: PathBuf,
    pub ecosystem: Ecosystem,
    pub packages: Vec<Package>,
}

/// Lockfile names, their ecosystem and parser.
type Parser = fn(&str) -> Result<Vec<Package>, String>;
const LOCKFILES: &[(&str, Ecosystem, Parser)] = &[
    ("Cargo.lock", Ecosystem::Crates, parse_toml_packages),
    ("package-lock.json", Ecosystem::Npm, parse_package_lock),
    ("poetry.lock", Ecosystem::PyPi, parse_toml_packages),
    ("requirements.txt", Ecosystem::PyPi, parse_requirements),
];

impl Facts {
    /// Every lockfile at the root of an agent workspace, parsed.
    pub fn lockfiles(&self) -> &[Result<Lockfile, ConfigProblem>] {
        self.extra.lockfiles.get_or_init(|| {
            let mut out = Vec::new();
            for ws in self.code_workspaces() {
                for (name, ecosystem, parse) in LOCKFILES {
                    let path = ws.join(name);
                    let text = match self.fs.read_text(&path) {
                        Ok(t) => t,
                        Err(e) if e.is_not_found() => continue,
                        Err(e) => {
                            out.push(Err(ConfigProblem::Unreadable(e)));
                            continue;
                        }
                    };
                    out.push(match parse(&text) {
                        Ok(packages) => Ok(Lockfile {
                            path,
                            ecosystem: *ecosystem,
                            packages,
                        }),
                        Err(message) => Err(ConfigProblem::Malformed { path, message }),
                    });
                }
            }
            out
        })
    }
}

/// `[[package]]` tables with `name` and `version` (Cargo.lock, poetry.lock).
fn parse_toml_packages(text: &str) -> Result<Vec<Package>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let Some(list) = doc.get("package") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or("`package` is not an array of tables")?;
    let lines = package_lines(text);
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let get = |k: &str| p.get(k).and_then(toml::Value::as_str).map(str::to_owned);
            match (get("name"), get("version")) {
                (Some(name), Some(version)) => Ok(Package {
                    name,
                    version,
                    line: lines.get(i).copied(),
                }),
                _ => Err(format!("package #{} lacks a name or version", i + 1)),
            }
        })
        .collect()
}

/// 1-based lines of each `[[package]]` header, in order.
fn package_lines(text: &str) -> Vec<u32> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[package]]")
        .map(|(i, _)| i as u32 + 1)
        .collect()
}

/// npm lockfile v2/v3 (`packages`) or v1 (`dependencies`, nested).
fn parse_package_lock(text: &str) -> Result<Vec<Package>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i as u32 + 1)
    };
    let mut out = Vec::new();
    if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            // The root project is the "" key; nested installs are node_modules/a/node_modules/b.
            let Some(idx) = key.rfind("node_modules/") else {
                continue;
            };
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&key[idx + "node_modules/".len()..]);
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                out.push(Package {
                    name: name.to_owned(),
                    version: version.to_owned(),
                    line: line_of(&format!("\"{key}\"")),
                });
            }
        }
        return Ok(out);
    }
    fn walk(deps: &serde_json::Map<String, Value>, out: &mut Vec<Package>) {
        for (name, entry) in deps {
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                out.push(Package {
                    name: name.clone(),
                    version: version.to_owned(),
                    line: None,
                });
            }
            if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                walk(nested, out);
            }
        }
    }
    match doc.get("dependencies").and_then(Value::as_object) {
        Some(deps) => walk(deps, &mut out),
        None if doc.is_object() => {}
        None => return Err("not a package-lock object".into()),
    }
    for p in &mut out {
        p.line = line_of(&format!("\"{}\"", p.name));
    }
    Ok(out)
}

/// `name==version` lines; other specifiers are not pins and are skipped.
fn parse_requirements(text: &str) -> Result<Vec<Package>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        let line = line.split(';').next().unwrap_or("").trim();
        let Some((name, version)) = line.split_once("==") else {
            continue;
        };
        let name = name.split('[').next().unwrap_or("").trim();
        let version = version.split(',').next().unwrap_or("").trim();
        if name.is_empty() || version.is_empty() || version.contains('*') {
            continue;
        }
        out.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            line: Some(i as u32 + 1),
        });
    }
    Ok(out)
}

/// A manifest that declares dependencies, and the lockfiles any one of which pins them.
pub const MANIFESTS: &[(&str, &[&str])] = &[
    (
        "package.json",
        &[
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "bun.lockb",
            "bun.lock",
        ],
    ),
    (
        "pyproject.toml",
        &[
            "poetry.lock",
            "uv.lock",
            "pdm.lock",
            "Pipfile.lock",
            "pylock.toml",
        ],
    ),
    ("Pipfile", &["Pipfile.lock"]),
    ("Cargo.toml", &["Cargo.lock"]),
];

/// Whether a manifest's text declares at least one dependency (a manifest without any
/// has nothing to lock).
pub fn declares_dependencies(manifest: &str, text: &str) -> Result<bool, String> {
    let non_empty_table = |v: Option<&toml::Value>, ignore: &[&str]| {
        v.and_then(toml::Value::as_table)
            .is_some_and(|t| t.keys().any(|k| !ignore.contains(&k.as_str())))
    };
    match manifest {
        "package.json" => {
            let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            Ok(["dependencies", "devDependencies", "optionalDependencies"]
                .iter()
                .any(|k| {
                    doc.get(k)
                        .and_then(Value::as_object)
                        .is_some_and(|m| !m.is_empty())
                }))
        }
        _ => {
            let doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
            let project_deps = doc
                .get("project")
                .and_then(|p| p.get("dependencies"))
                .and_then(toml::Value::as_array)
                .is_some_and(|a| !a.is_empty());
            let poetry = doc
                .get("tool")
                .and_then(|t| t.get("poetry"))
                .and_then(|p| p.get("dependencies"));
            Ok(project_deps
                || non_empty_table(poetry, &["python"])
                || non_empty_table(doc.get("packages"), &[])
                || non_empty_table(doc.get("dependencies"), &[]))
        }
    }
}

/// Paths of `names` that exist in `dir`.
pub fn existing(f: &Facts, dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| f.fs.exists(p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_format() {
        let cargo = "version = 3\n\n[[package]]\nname = \"tokio\"\nversion = \"1.20.0\"\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.150\"\n";
        let p = parse_toml_packages(cargo).unwrap();
        assert_eq!((p[0].name.as_str(), p[0].line), ("tokio", Some(3)));
        assert_eq!(p[1].version, "0.2.150");

        let npm = r#"{"lockfileVersion": 3, "packages": {"": {"name": "app"}, "node_modules/@scope/a": {"version": "1.0.0"}, "node_modules/x/node_modules/b": {"version": "2.0.0"}}}"#;
        let p = parse_package_lock(npm).unwrap();
        let names: Vec<_> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(names, vec![("@scope/a", "1.0.0"), ("b", "2.0.0")]);
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0", "dependencies": {"b": {"version": "0.1.0"}}}}}"#;
        assert_eq!(parse_package_lock(v1).unwrap().len(), 2);

        let req = "# pins\nrequests==2.30.0  # http\nPyYAML[extra]==5.3.1 ; python_version>'3'\nflask>=2\n-r other.txt\n";
        let p = parse_requirements(req).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[1].name.as_str(), p[1].version.as_str(), p[1].line),
            ("PyYAML", "5.3.1", Some(3))
        );
        assert!(parse_toml_packages("[[package]]\nname = 1\n").is_err());
    }

    #[test]
    fn manifests_with_dependencies() {
        assert!(declares_dependencies("package.json", r#"{"dependencies": {"a": "^1"}}"#).unwrap());
        assert!(!declares_dependencies("package.json", r#"{"name": "x"}"#).unwrap());
        assert!(
            declares_dependencies(
                "pyproject.toml",
                "[project]\ndependencies = [\"requests\"]\n"
            )
            .unwrap()
        );
        assert!(
            !declares_dependencies(
                "pyproject.toml",
                "[tool.poetry.dependencies]\npython = \"^3.11\"\n"
            )
            .unwrap()
        );
        assert!(declares_dependencies("Cargo.toml", "[dependencies]\nserde = \"1\"\n").unwrap());
        assert!(declares_dependencies("package.json", "{").is_err());
    }
}
