//! Code: what agents run, and whether it is the code that was meant to run.

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::{Facts, Transport};

pub(super) const CHECKS: &[Check] = &[Check {
    id: "CODE-001",
    domain: Domain::Code,
    severity: Severity::Medium,
    title: "MCP servers launched from package registries are pinned to a version",
    rationale: "`npx -y pkg`, `uvx pkg` and `pipx run pkg` fetch whatever the registry serves \
        at each start. A hijacked or typosquatted release then runs with the agent's \
        privileges the next time the client starts, with no review.",
    remediation: "Pin the exact version (`npx -y pkg@1.2.3`, `uvx pkg==1.2.3`), or install \
        the server once and launch the installed binary.",
    references: &["CWE-494", "CWE-829"],
    reads: &[
        "~/.claude.json",
        "~/.cursor/mcp.json",
        "~/.codeium/windsurf/mcp_config.json",
        "~/.config/Code/User/mcp.json",
        "~/.gemini/settings.json",
        "~/.codex/config.toml",
        "~/.kiro/settings/mcp.json",
        "~/.copilot/mcp-config.json",
        "/etc/claude-code/managed-mcp.json",
    ],
    run: mcp_packages_pinned,
}];

fn mcp_packages_pinned(f: &Facts) -> Outcome {
    let inv = f.mcp();
    let mut out = Findings::new();
    for p in &inv.errors {
        out.problem(p);
    }
    for cfg in &inv.configs {
        for s in &cfg.servers {
            let Transport::Stdio { command, args, .. } = &s.transport else {
                continue;
            };
            let Some((runner, package)) = registry_package(command, args) else {
                out.inspected();
                continue;
            };
            let mut ev = Evidence::at(
                &cfg.path,
                format!("{} server {:?}: {runner} {package}", cfg.client, s.name),
            );
            if let Some(l) = s.line {
                ev = ev.line(l);
            }
            if is_pinned(runner, &package) {
                out.ok(ev);
            } else {
                out.finding(ev);
            }
        }
    }
    out.finish("no locally launched MCP servers are configured")
}

/// The package a registry runner fetches, e.g. ("npx", "@scope/pkg@1.2.3").
pub(super) fn registry_package(command: &str, args: &[String]) -> Option<(&'static str, String)> {
    let program = command.rsplit('/').next().unwrap_or(command);
    let (runner, rest): (&'static str, &[String]) = match program {
        "npx" | "bunx" => ("npx", args),
        "pnpm" | "yarn" if args.first().is_some_and(|a| a == "dlx") => ("npx", &args[1..]),
        "uvx" => ("uvx", args),
        "uv" if args.first().is_some_and(|a| a == "tool")
            && args.get(1).is_some_and(|a| a == "run") =>
        {
            ("uvx", &args[2..])
        }
        "pipx" if args.first().is_some_and(|a| a == "run") => ("pipx", &args[1..]),
        _ => return None,
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-p" | "--package" | "--from" | "--spec" => {
                return it.next().map(|p| (runner, p.clone()));
            }
            s if s.starts_with("--package=")
                || s.starts_with("--from=")
                || s.starts_with("--spec=") =>
            {
                return s.split_once('=').map(|(_, p)| (runner, p.to_owned()));
            }
            s if s.starts_with('-') => {}
            s => return Some((runner, s.to_owned())),
        }
    }
    None
}

/// An exact version: `name@1.2.3` (npm, uvx) or `name==1.2.3` (Python).
pub(super) fn is_pinned(runner: &str, package: &str) -> bool {
    let version = if runner == "npx" {
        // Skip the scope's leading '@'.
        package
            .get(1..)
            .and_then(|p| p.rsplit_once('@'))
            .map(|(_, v)| v)
    } else {
        package
            .split_once("==")
            .map(|(_, v)| v)
            .or_else(|| package.rsplit_once('@').map(|(_, v)| v))
    };
    version.is_some_and(|v| {
        let core = v.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_specs() {
        let a = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            registry_package("npx", &a(&["-y", "@modelcontextprotocol/server-github"])),
            Some(("npx", "@modelcontextprotocol/server-github".into()))
        );
        assert_eq!(
            registry_package(
                "/usr/bin/uvx",
                &a(&["--from", "mcp-server-git==0.6.2", "mcp-server-git"])
            ),
            Some(("uvx", "mcp-server-git==0.6.2".into()))
        );
        assert_eq!(registry_package("node", &a(&["server.js"])), None);
        assert!(is_pinned(
            "npx",
            "@modelcontextprotocol/server-github@2025.4.8"
        ));
        assert!(is_pinned("npx", "pkg@1.2.3"));
        assert!(!is_pinned("npx", "@scope/pkg"));
        assert!(!is_pinned("npx", "pkg@latest"));
        assert!(!is_pinned("npx", "pkg@^1.2.3"));
        assert!(is_pinned("uvx", "mcp-server-git==0.6.2"));
        assert!(!is_pinned("uvx", "mcp-server-git>=0.6"));
    }
}
