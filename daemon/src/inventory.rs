//! What the agents on a host are made of (`clawsecctl inventory`): agent clients and
//! the agent software installed, with versions; MCP servers (client, command, package and
//! version, transport); skills with a digest of their files; hooks agents run; model and
//! telemetry endpoints. The `clawsec.inventory/v1` document, and the same as a CycloneDX
//! 1.6 JSON BOM for supply-chain tools. Documented in `docs/inventory.md`.
//!
//! No secret values: MCP `env` and header values are never read into it (names only),
//! arguments that follow a credential-like flag are masked, URLs lose their userinfo, and
//! every command line and URL goes through `secrets::redact`. What could not be read is
//! listed in `gaps`, never silently left out.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::facts::{Facts, Transport};
use crate::secrets::redact;

pub const SCHEMA: &str = "clawsec.inventory/v1";

#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub schema: &'static str,
    pub generated_at: String,
    pub hostname: String,
    pub host_root: String,
    pub agents: Vec<Agent>,
    pub software: Vec<Software>,
    pub mcp_servers: Vec<McpEntry>,
    pub skills: Vec<Skill>,
    pub hooks: Vec<Hook>,
    pub model_endpoints: Vec<Endpoint>,
    /// What could not be read, so the lists above may be incomplete.
    pub gaps: Vec<String>,
}

/// An agent client set up for a user (its directory exists in their home).
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub client: &'static str,
    pub user: String,
    pub dir: String,
    /// The version of the client's package, when it is installed where ClawSec looks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Software {
    pub ecosystem: &'static str,
    pub name: String,
    pub version: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct McpEntry {
    pub client: &'static str,
    pub config: String,
    pub name: String,
    /// `stdio` or `remote`.
    pub transport: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The registry package a runner (`npx`, `uvx`, `pipx run`) fetches, and its version
    /// when pinned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment variable or header names the entry sets (never their values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skill {
    pub name: String,
    pub path: String,
    /// The skill root it was found under (which client loads it).
    pub source: String,
    pub files: usize,
    /// SHA-256 over every file's relative path and bytes, in path order; absent when a
    /// file could not be read (named in `gaps`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hook {
    pub client: &'static str,
    pub config: String,
    pub event: String,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub config: String,
    pub setting: String,
    pub url: String,
}

/// Flags whose next argument (or `=value`) is a credential.
fn is_credential_flag(flag: &str) -> bool {
    let f = flag.trim_start_matches('-').to_ascii_lowercase();
    flag.starts_with('-')
        && [
            "key",
            "token",
            "secret",
            "password",
            "passwd",
            "auth",
            "credential",
        ]
        .iter()
        .any(|w| f.contains(w))
}

/// Arguments with credential values masked and anything secret-shaped redacted.
fn safe_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for a in args {
        if mask_next {
            out.push("***".to_owned());
            mask_next = false;
            continue;
        }
        match a.split_once('=') {
            Some((flag, _)) if is_credential_flag(flag) => out.push(format!("{flag}=***")),
            _ => {
                mask_next = is_credential_flag(a);
                out.push(redact(a));
            }
        }
    }
    out
}

/// `@scope/pkg@1.2.3` → (`@scope/pkg`, `1.2.3`); `pkg==1.2.3` or `pkg@1.2.3` →
/// (`pkg`, `1.2.3`). The one reading of a registry spec (CODE-001, SKL-011 use it too).
pub(crate) fn split_package(runner: &str, spec: &str) -> (String, Option<String>) {
    if runner != "npx"
        && let Some((n, v)) = spec.split_once("==")
    {
        return (n.to_owned(), Some(v.to_owned()));
    }
    let at = spec.get(1..).and_then(|s| s.rfind('@')).map(|i| i + 1);
    match at {
        Some(i) => (spec[..i].to_owned(), Some(spec[i + 1..].to_owned())),
        None => (spec.to_owned(), None),
    }
}

/// Known agent clients: their directory in a home and the packages that install them.
const CLIENTS: &[(&str, &str, &[&str])] = &[
    ("openclaw", ".openclaw", &["openclaw"]),
    ("claude-code", ".claude", &["@anthropic-ai/claude-code"]),
    ("codex", ".codex", &["@openai/codex"]),
    ("gemini-cli", ".gemini", &["@google/gemini-cli"]),
    ("cursor", ".cursor", &[]),
    ("windsurf", ".codeium/windsurf", &[]),
    ("kiro", ".kiro", &[]),
    ("copilot", ".copilot", &["@github/copilot"]),
];

/// Builds the inventory of the host `f` looks at.
pub fn build(f: &Facts, hostname: &str, host_root: &Path, generated_at: &str) -> Inventory {
    let mut gaps: Vec<String> = Vec::new();
    gaps.extend(f.home_gaps().iter().map(|e| e.to_string()));

    let (installed, errors) = f.installed_packages();
    gaps.extend(errors.iter().map(|e| e.to_string()));
    let software: Vec<Software> = installed
        .iter()
        .map(|i| Software {
            ecosystem: i.ecosystem.purl_type(),
            name: i.name.clone(),
            version: i.version.clone(),
            path: i.path.display().to_string(),
        })
        .collect();

    let mut agents = Vec::new();
    for home in f.homes() {
        for (client, dir, packages) in CLIENTS {
            let path = home.path.join(dir);
            if f.fs.symlink_metadata(&path).is_ok() {
                agents.push(Agent {
                    client,
                    user: home.user.clone(),
                    dir: path.display().to_string(),
                    version: software
                        .iter()
                        .find(|s| packages.contains(&s.name.as_str()))
                        .map(|s| s.version.clone()),
                });
            }
        }
    }

    let inv = f.mcp();
    gaps.extend(inv.errors.iter().map(|p| p.to_string()));
    let mut mcp_servers = Vec::new();
    for cfg in &inv.configs {
        for s in &cfg.servers {
            let mut e = McpEntry {
                client: cfg.client,
                config: cfg.path.display().to_string(),
                name: redact(&s.name),
                transport: "stdio",
                command: None,
                args: Vec::new(),
                package: None,
                version: None,
                url: None,
                sets: Vec::new(),
            };
            match &s.transport {
                Transport::Stdio { command, args, env } => {
                    e.command = Some(redact(command));
                    e.args = safe_args(args);
                    if let Some((runner, spec)) = crate::checks::registry_package(command, args) {
                        let (name, version) = split_package(runner, &redact(&spec));
                        e.package = Some(name);
                        e.version = version;
                    }
                    e.sets = env.iter().map(|(k, _)| k.clone()).collect();
                }
                Transport::Remote { url, headers } => {
                    e.transport = "remote";
                    e.url = Some(redact(url));
                    e.sets = headers.iter().map(|(k, _)| k.clone()).collect();
                }
            }
            mcp_servers.push(e);
        }
    }

    let tree = f.skill_tree();
    gaps.extend(tree.errors.iter().map(|e| e.to_string()));
    let (dirs, errors) = f.skill_dirs();
    gaps.extend(errors.iter().map(|e| e.to_string()));
    let mut skills = Vec::new();
    for d in dirs {
        let mut files: Vec<_> = tree
            .files
            .iter()
            .filter(|file| file.path.starts_with(&d.dir))
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut h = Sha256::new();
        let mut complete = true;
        for file in &files {
            let rel = file.path.strip_prefix(&d.dir).unwrap_or(&file.path);
            h.update(rel.as_os_str().as_encoded_bytes());
            h.update([0]);
            match &file.data {
                Ok(bytes) => h.update(bytes.as_slice()),
                Err(e) => {
                    complete = false;
                    gaps.push(e.to_string());
                }
            }
            h.update([0]);
        }
        skills.push(Skill {
            name: redact(&d.name()),
            path: redact(&d.dir.display().to_string()),
            source: d.root.display().to_string(),
            files: files.len(),
            sha256: complete.then(|| {
                h.finalize()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            }),
        });
    }

    let (points, problems) = f.launch_points();
    gaps.extend(problems.iter().map(ToString::to_string));
    let hooks: Vec<Hook> = points
        .into_iter()
        .map(|p| Hook {
            client: p.client,
            config: p.path.display().to_string(),
            event: p.event,
            command: safe_args(&p.command.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .join(" "),
        })
        .collect();

    let (endpoints, incomplete) = crate::checks::model_endpoints(f);
    if incomplete {
        gaps.push("some agent configs or environments could not be read for endpoints (see NET-007 in the posture)".into());
    }
    let mut model_endpoints: Vec<Endpoint> = endpoints
        .into_iter()
        .map(|(path, setting, url)| Endpoint {
            config: path.display().to_string(),
            setting,
            url: redact(&url),
        })
        .collect();
    model_endpoints.sort_by(|a, b| (&a.config, &a.setting).cmp(&(&b.config, &b.setting)));
    model_endpoints.dedup_by(|a, b| a.config == b.config && a.setting == b.setting);

    gaps.sort();
    gaps.dedup();
    Inventory {
        schema: SCHEMA,
        generated_at: generated_at.to_owned(),
        hostname: hostname.to_owned(),
        host_root: host_root.display().to_string(),
        agents,
        software,
        mcp_servers,
        skills,
        hooks,
        model_endpoints,
        gaps,
    }
}

/// A package URL (`pkg:npm/%40scope/name@1.2.3`).
fn purl(ecosystem: &str, name: &str, version: Option<&str>) -> String {
    let name = name.replace('@', "%40");
    match version {
        Some(v) => format!("pkg:{ecosystem}/{name}@{v}"),
        None => format!("pkg:{ecosystem}/{name}"),
    }
}

/// The inventory as a CycloneDX 1.6 JSON BOM: agents, software, MCP servers and skills
/// as components (hooks as properties of the agent they belong to), endpoints as services.
pub fn cyclonedx(inv: &Inventory) -> Value {
    let prop = |name: &str, value: &str| json!({ "name": name, "value": value });
    let mut components: Vec<Value> = Vec::new();
    let mut refs: BTreeMap<String, usize> = BTreeMap::new();
    // bom-refs are unique within a BOM: a repeat gets a counter.
    let mut unique = |base: String| {
        let n = refs.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { base } else { format!("{base}#{n}") }
    };
    for a in &inv.agents {
        let mut c = json!({
            "type": "application",
            "bom-ref": unique(format!("agent:{}:{}", a.client, a.dir)),
            "name": a.client,
            "properties": [prop("clawsec:user", &a.user), prop("clawsec:dir", &a.dir)],
        });
        if let Some(v) = &a.version {
            c["version"] = json!(v);
        }
        let props = c["properties"].as_array_mut().expect("built above");
        for h in inv.hooks.iter().filter(|h| h.client == a.client) {
            props.push(prop(
                "clawsec:hook",
                &format!("{}: {} ({})", h.event, h.command, h.config),
            ));
        }
        components.push(c);
    }
    for s in &inv.software {
        components.push(json!({
            "type": "application",
            "bom-ref": unique(format!("software:{}", purl(s.ecosystem, &s.name, Some(&s.version)))),
            "name": s.name,
            "version": s.version,
            "purl": purl(s.ecosystem, &s.name, Some(&s.version)),
            "properties": [prop("clawsec:path", &s.path)],
        }));
    }
    for m in &inv.mcp_servers {
        let mut props = vec![
            prop("clawsec:mcp:client", m.client),
            prop("clawsec:mcp:transport", m.transport),
            prop("clawsec:config", &m.config),
        ];
        if let Some(cmd) = &m.command {
            let line = std::iter::once(cmd.clone())
                .chain(m.args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            props.push(prop("clawsec:mcp:command", &line));
        }
        if let Some(url) = &m.url {
            props.push(prop("clawsec:mcp:url", url));
        }
        let mut c = json!({
            "type": "application",
            "bom-ref": unique(format!("mcp:{}:{}:{}", m.client, m.config, m.name)),
            "name": m.name,
            "description": format!("MCP server ({} via {})", m.transport, m.client),
            "properties": props,
        });
        if let Some(p) = &m.package {
            let eco = if m
                .command
                .as_deref()
                .is_some_and(|c| c.ends_with("uvx") || c.ends_with("pipx") || c.ends_with("uv"))
            {
                "pypi"
            } else {
                "npm"
            };
            c["purl"] = json!(purl(eco, p, m.version.as_deref()));
            if let Some(v) = &m.version {
                c["version"] = json!(v);
            }
        }
        components.push(c);
    }
    for s in &inv.skills {
        let mut c = json!({
            "type": "file",
            "bom-ref": unique(format!("skill:{}", s.path)),
            "name": s.name,
            "description": "agent skill",
            "properties": [prop("clawsec:path", &s.path), prop("clawsec:skill:source", &s.source), prop("clawsec:skill:files", &s.files.to_string())],
        });
        if let Some(h) = &s.sha256 {
            c["hashes"] = json!([{ "alg": "SHA-256", "content": h }]);
        }
        components.push(c);
    }
    let services: Vec<Value> = inv
        .model_endpoints
        .iter()
        .map(|e| {
            json!({
                "bom-ref": unique(format!("endpoint:{}:{}", e.config, e.setting)),
                "name": e.setting,
                "endpoints": [e.url],
                "properties": [prop("clawsec:config", &e.config)],
            })
        })
        .collect();
    let mut bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": inv.generated_at,
            "tools": { "components": [{ "type": "application", "name": "ClawSec", "version": env!("CARGO_PKG_VERSION") }] },
            "component": { "type": "device", "bom-ref": "host", "name": if inv.hostname.is_empty() { "host" } else { &inv.hostname } },
            "properties": inv.gaps.iter().map(|g| prop("clawsec:gap", g)).collect::<Vec<_>>(),
        },
        "components": components,
    });
    if !services.is_empty() {
        bom["services"] = json!(services);
    }
    bom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_arguments_are_masked() {
        let args: Vec<String> = [
            "-y",
            "srv@1.0.0",
            "--api-key",
            "abc123",
            "--token=xyz",
            "--port",
            "80",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            safe_args(&args),
            [
                "-y",
                "srv@1.0.0",
                "--api-key",
                "***",
                "--token=***",
                "--port",
                "80"
            ]
        );
    }

    #[test]
    fn package_specs_split_into_name_and_version() {
        assert_eq!(
            split_package("npx", "@scope/pkg@1.2.3"),
            ("@scope/pkg".to_owned(), Some("1.2.3".to_owned()))
        );
        assert_eq!(
            split_package("npx", "@scope/pkg"),
            ("@scope/pkg".to_owned(), None)
        );
        assert_eq!(
            split_package("uvx", "mcp-server-git==0.6.2"),
            ("mcp-server-git".to_owned(), Some("0.6.2".to_owned()))
        );
        assert_eq!(
            purl("npm", "@scope/pkg", Some("1.2.3")),
            "pkg:npm/%40scope/pkg@1.2.3"
        );
    }
}
