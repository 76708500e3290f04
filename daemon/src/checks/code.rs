//! Code: what agents run, and whether it is the code that was meant to run.

use std::path::{Path, PathBuf};

use super::{Check, Domain, Evidence, Findings, Outcome, Severity, processes_or_outcome};
use crate::facts::lockfiles::{MANIFESTS, declares_dependencies, existing};
use crate::facts::{Facts, Transport};
use crate::probe::Kind;

pub(super) const CHECKS: &[Check] = &[
    Check {
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
        reads: super::MCP_CONFIGS,
        run: mcp_packages_pinned,
    },
    Check {
        id: "CODE-002",
        domain: Domain::Code,
        severity: Severity::High,
        title: "Agent workspaces do not lock known-vulnerable dependencies",
        rationale: "Agents build, test and run the code in their workspaces, often unattended. \
        A dependency version with a published advisory is a known way in, for the code \
        the agent writes and for the agent itself when it runs that code. Matched against \
        the OSV database at `advisories.path`, or the snapshot built into clawsecd when none \
        is installed (docs/advisories.md).",
        remediation: "Upgrade each listed package to a fixed version (`cargo update -p NAME`, \
        `npm audit fix`, `pip install -U NAME` then re-pin) and commit the new lockfile.",
        references: &["CWE-1395", "CWE-937", "https://ossf.github.io/osv-schema/"],
        reads: &[
            "<workspace>/Cargo.lock",
            "<workspace>/package-lock.json",
            "<workspace>/poetry.lock",
            "<workspace>/requirements.txt",
            "/var/lib/clawsec/advisories (advisories.path)",
        ],
        run: no_vulnerable_dependencies,
    },
    Check {
        id: "CODE-003",
        domain: Domain::Code,
        severity: Severity::Low,
        title: "Agent workspaces with dependencies have a lockfile",
        rationale: "Without a lockfile every install resolves versions afresh, so an agent that \
        runs `npm install` or `pip install` picks up whatever was published last, \
        including a hijacked release, and no one can audit what actually ran.",
        remediation: "Generate and commit the lockfile (`npm install --package-lock-only`, \
        `poetry lock`, `uv lock`, `cargo generate-lockfile`) and install from it \
        (`npm ci`, `uv sync --locked`).",
        references: &["CWE-1357", "CWE-494"],
        reads: &[
            "<workspace>/package.json",
            "<workspace>/pyproject.toml",
            "<workspace>/Pipfile",
            "<workspace>/Cargo.toml",
        ],
        run: lockfiles_present,
    },
    Check {
        id: "CODE-004",
        domain: Domain::Code,
        severity: Severity::High,
        title: "No world-writable files or directories on agent code paths",
        rationale: "Any local user or service that can write to a skill, a workspace or the \
        agent's own program files can change what the agent runs next, with the agent's \
        privileges and credentials.",
        remediation: "Remove the write bit for others (`chmod -R o-w PATH`) and make the agent's \
        program files owned by root or the agent's user.",
        references: &["CWE-732", "CWE-276", "CIS Debian Linux 6.1.11"],
        reads: &[
            "~/.openclaw/skills/**",
            "~/.claude/skills/**",
            "<workspace>",
            "/proc/<pid>/exe",
            "/proc/<pid>/cmdline",
        ],
        run: code_paths_not_world_writable,
    },
    Check {
        id: "CODE-005",
        domain: Domain::Code,
        severity: Severity::Medium,
        title: "Agent workspaces have no active git hooks",
        rationale: "Git runs .git/hooks/* on commit, checkout and merge, and .git is not under \
        version control, so a hook planted by a prompt-injected agent or a malicious \
        dependency runs unseen every time the agent or a human uses git there.",
        remediation: "Review each hook; delete the ones you did not install (`rm .git/hooks/NAME`), \
        or manage hooks in the repository (e.g. pre-commit) where changes are reviewed.",
        references: &["CWE-506", "https://git-scm.com/docs/githooks"],
        reads: &["<workspace>/.git/hooks/*"],
        run: no_git_hooks,
    },
    Check {
        id: "CODE-006",
        domain: Domain::Code,
        severity: Severity::High,
        title: "Package managers fetch over verified TLS",
        rationale: "`strict-ssl=false`, an http:// registry or a pip `trusted-host` let anyone on \
        the path swap the packages agents and MCP launchers (npx, uvx) install and run.",
        remediation: "Remove `strict-ssl=false` and http:// registries from .npmrc, and \
        `trusted-host`/http:// index URLs from pip.conf; add a private CA with `cafile=` \
        (npm) or `cert =` (pip) instead.",
        references: &[
            "CWE-295",
            "CWE-494",
            "https://docs.npmjs.com/cli/v10/using-npm/config#strict-ssl",
        ],
        reads: &[
            "~/.npmrc",
            "/etc/npmrc",
            "/usr/etc/npmrc",
            "<workspace>/.npmrc",
            "~/.config/pip/pip.conf",
            "~/.pip/pip.conf",
            "/etc/pip.conf",
        ],
        run: package_managers_verify_tls,
    },
    Check {
        id: "CODE-007",
        domain: Domain::Code,
        severity: Severity::High,
        title: "Installed agent tooling has no known advisories",
        rationale: "Agents and MCP servers installed globally with npm, pipx or uv run with \
            the user's credentials on every start. A version with a published advisory \
            (prompt injection to code execution, path traversal, SSRF) is an open door that \
            lockfile audits of the workspaces never see. Malicious-package (MAL-) entries \
            count as advisories. Matched like CODE-002, against the installed database or \
            the built-in snapshot.",
        remediation: "Upgrade the listed tools (`npm update -g NAME`, `pipx upgrade NAME`, \
            `uv tool upgrade NAME`) and remove the ones no longer used.",
        references: &["CWE-1395", "CWE-1104", "https://ossf.github.io/osv-schema/"],
        // Unscoped and scoped (`@scope/name`) npm packages alike.
        reads: &[
            "/usr/lib/node_modules/**/package.json",
            "/usr/local/lib/node_modules/**/package.json",
            "~/.npm-global/lib/node_modules/**/package.json",
            "~/.local/lib/node_modules/**/package.json",
            "/opt/pipx/venvs/*/lib/*/site-packages/*.dist-info",
            "~/.local/share/pipx/venvs/*/lib/*/site-packages/*.dist-info",
            "~/.local/share/uv/tools/*/lib/*/site-packages/*.dist-info",
            "/var/lib/clawsec/advisories/* (advisories.path)",
        ],
        run: installed_tooling_patched,
    },
];

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
pub(crate) fn registry_package(command: &str, args: &[String]) -> Option<(&'static str, String)> {
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
    let (_, version) = crate::inventory::split_package(runner, package);
    version.is_some_and(|v| {
        let core = v.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The advisory database both dependency checks match against (installed at
/// `advisories.path`, else the built-in snapshot), or the error outcome they end with
/// when an installed one cannot be read. The pass evidence names which one was used.
fn advisory_db<'f>(
    f: &'f Facts,
    out: &mut Findings,
) -> Result<&'f crate::facts::advisories::AdvisoryDb, Outcome> {
    match f.advisories() {
        Err(p) => {
            out.problem(&p);
            Err(std::mem::take(out).finish(""))
        }
        Ok(db) => {
            out.note(Evidence::note(format!("matched against {}", db.source)));
            Ok(db)
        }
    }
}

fn no_vulnerable_dependencies(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let lockfiles = f.lockfiles();
    if lockfiles.is_empty() {
        return out.finish("no lockfiles were found in agent workspaces");
    }
    let db = match advisory_db(f, &mut out) {
        Ok(db) => db,
        Err(outcome) => return outcome,
    };
    for lock in lockfiles {
        let lock = match lock {
            Ok(l) => l,
            Err(p) => {
                out.problem(p);
                continue;
            }
        };
        let mut vulnerable = 0;
        for pkg in &lock.packages {
            for adv in db.affecting(lock.ecosystem, &pkg.name, &pkg.version) {
                vulnerable += 1;
                let alias = adv
                    .aliases
                    .iter()
                    .find(|a| a.starts_with("CVE-"))
                    .map_or(String::new(), |a| format!(" ({a})"));
                let mut ev = Evidence::at(
                    &lock.path,
                    format!(
                        "{} {} {}: {}{alias}{}",
                        lock.ecosystem.osv(),
                        pkg.name,
                        pkg.version,
                        adv.id,
                        if adv.summary.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", adv.summary)
                        }
                    ),
                );
                if let Some(l) = pkg.line {
                    ev = ev.line(l);
                }
                out.finding(ev);
            }
        }
        if vulnerable == 0 {
            out.ok(Evidence::at(
                &lock.path,
                format!(
                    "{} packages, none with a known advisory",
                    lock.packages.len()
                ),
            ));
        }
    }
    out.finish("no lockfiles were found in agent workspaces")
}

fn installed_tooling_patched(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let (installed, errors) = f.installed_packages();
    for e in &errors {
        out.probe_error(e);
    }
    if installed.is_empty() {
        return out.finish("no globally installed npm packages or Python tools were found");
    }
    let db = match advisory_db(f, &mut out) {
        Ok(db) => db,
        Err(outcome) => return outcome,
    };
    let mut vulnerable = 0;
    for pkg in &installed {
        let hits = db.affecting(pkg.ecosystem, &pkg.name, &pkg.version);
        for adv in &hits {
            let alias = adv
                .aliases
                .iter()
                .find(|a| a.starts_with("CVE-"))
                .map_or(String::new(), |a| format!(" ({a})"));
            out.finding(Evidence::at(
                &pkg.path,
                format!(
                    "{} {} {}: {}{alias}",
                    pkg.ecosystem.osv(),
                    pkg.name,
                    pkg.version,
                    adv.id
                ),
            ));
        }
        vulnerable += hits.len();
    }
    if vulnerable == 0 {
        out.ok(Evidence::note(format!(
            "{} installed packages, none with a known advisory",
            installed.len()
        )));
    }
    out.finish("no globally installed npm packages or Python tools were found")
}

fn lockfiles_present(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for ws in f.code_workspaces() {
        for (manifest, locks) in MANIFESTS {
            let path = ws.join(manifest);
            let Some(text) = out.found(f.fs.read_text(&path)) else {
                continue;
            };
            match declares_dependencies(manifest, &text) {
                Ok(false) => out.inspected(),
                Ok(true) => match existing(f, ws, locks).first() {
                    Some(lock) => {
                        out.ok(Evidence::at(&path, format!("locked by {}", lock.display())))
                    }
                    None => out.finding(Evidence::at(
                        &path,
                        format!("declares dependencies but has no {}", locks.join(", ")),
                    )),
                },
                Err(message) => out.parse_error(&path, message),
            }
        }
    }
    out.finish("no dependency manifests were found in agent workspaces")
}

fn code_paths_not_world_writable(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let check = |path: &Path, out: &mut Findings| match f.fs.symlink_metadata(path) {
        // A symlink's own mode is always 0777 and means nothing.
        Ok(m) if m.kind == Kind::Symlink => {}
        Ok(m) if m.world_writable() => {
            let what = if m.kind == Kind::Dir {
                "directory"
            } else {
                "file"
            };
            out.finding(Evidence::at(
                path,
                format!("world-writable {what}, mode {:04o}", m.mode),
            ));
        }
        Ok(_) => out.inspected(),
        Err(e) if e.is_not_found() => {}
        Err(e) => out.probe_error(&e),
    };
    // Skills are small: every file and directory in them.
    for root in f.skill_roots() {
        check(&root, &mut out);
        let files = out.walked(f.fs.walk(&root));
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (path, _) in &files {
            check(path, &mut out);
            let mut d = path.parent();
            while let Some(dir) = d.filter(|d| d.starts_with(&root) && *d != root) {
                if !dirs.iter().any(|x| x == dir) {
                    dirs.push(dir.to_path_buf());
                }
                d = dir.parent();
            }
        }
        for dir in dirs {
            check(&dir, &mut out);
        }
    }
    // Workspaces can be huge (node_modules, target): the directory and its top level.
    for ws in f.code_workspaces() {
        check(ws, &mut out);
        match f.fs.list_dir(ws) {
            Ok(l) => {
                for e in &l {
                    check(&ws.join(&e.name), &mut out);
                }
            }
            Err(e) => out.probe_error(&e),
        }
    }
    // The agents' own programs: the executable, the script an interpreter runs, their dirs.
    if let Ok(procs) = processes_or_outcome(f) {
        let mut seen: Vec<PathBuf> = Vec::new();
        for p in procs.into_iter().filter(|p| f.is_agent(p)) {
            let mut paths: Vec<PathBuf> = p
                .exe
                .iter()
                .filter(|_| !p.exe_deleted())
                .map(PathBuf::from)
                .collect();
            paths.extend(
                p.cmdline
                    .iter()
                    .skip(1)
                    .find(|a| a.starts_with('/'))
                    .map(PathBuf::from),
            );
            for path in paths {
                for candidate in [Some(path.as_path()), path.parent()].into_iter().flatten() {
                    if candidate != Path::new("/") && !seen.iter().any(|s| s == candidate) {
                        seen.push(candidate.to_path_buf());
                        check(candidate, &mut out);
                    }
                }
            }
        }
    }
    out.finish("no skills, workspaces or agent programs were found")
}

fn no_git_hooks(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for ws in f.code_workspaces() {
        let hooks = ws.join(".git/hooks");
        let Some(listing) = out.found(f.fs.list_dir(&hooks)) else {
            continue;
        };
        let mut active = 0;
        for e in &listing {
            let name = e.name_lossy();
            if name.ends_with(".sample") || e.kind == Kind::Dir {
                continue;
            }
            let path = hooks.join(&e.name);
            match f.fs.metadata(&path) {
                Ok(m) if m.kind == Kind::File && m.mode & 0o111 != 0 => {
                    match f.fs.read_text(&path) {
                        Ok(text) if is_git_lfs_hook(&text) => {
                            out.ok(Evidence::at(
                                &path,
                                format!("{name}: the stock git-lfs hook"),
                            ));
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => out.probe_error(&e),
                    }
                    active += 1;
                    out.finding(Evidence::at(
                        &path,
                        format!("executable {name} hook, mode {:04o}", m.mode),
                    ));
                }
                Ok(_) => {}
                // A dangling symlink runs nothing.
                Err(e) if e.is_not_found() => {}
                Err(e) => out.probe_error(&e),
            }
        }
        if active == 0 {
            out.ok(Evidence::at(&hooks, "no active hooks"));
        }
    }
    out.finish("no git repositories were found in agent workspaces")
}

/// The hooks `git lfs install` writes into every repository: a shebang, a check that
/// git-lfs exists, and `git lfs <hook> "$@"`. Anything more is not the stock hook.
fn is_git_lfs_hook(text: &str) -> bool {
    let mut calls_lfs = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("#!") || line.starts_with("command -v git-lfs >/dev/null 2>&1 ||") {
            continue;
        }
        let hook = line
            .strip_prefix("git lfs ")
            .and_then(|r| r.strip_suffix(" \"$@\""));
        match hook {
            Some(h) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') => {
                calls_lfs = true
            }
            _ => return false,
        }
    }
    calls_lfs
}

/// `key = value` pairs of an ini-style file (npmrc, pip.conf) with their line numbers.
fn ini_pairs(text: &str) -> Vec<(String, String, u32)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim();
            if l.starts_with('#') || l.starts_with(';') || l.starts_with('[') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().to_owned(),
                i as u32 + 1,
            ))
        })
        .collect()
}

fn insecure_url(v: &str) -> bool {
    v.split_whitespace()
        .any(super::network::is_plaintext_remote)
}

fn package_managers_verify_tls(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut npmrcs: Vec<PathBuf> = vec!["/etc/npmrc".into(), "/usr/etc/npmrc".into()];
    let mut pipconfs: Vec<PathBuf> = vec!["/etc/pip.conf".into()];
    for home in f.homes() {
        npmrcs.push(home.path.join(".npmrc"));
        pipconfs.push(home.path.join(".config/pip/pip.conf"));
        pipconfs.push(home.path.join(".pip/pip.conf"));
    }
    npmrcs.extend(f.code_workspaces().iter().map(|w| w.join(".npmrc")));
    let files = npmrcs
        .into_iter()
        .map(|p| (p, true))
        .chain(pipconfs.into_iter().map(|p| (p, false)));
    for (path, npm) in files {
        let Some(text) = out.found(f.fs.read_text(&path)) else {
            continue;
        };
        let mut bad = 0;
        for (key, value, line) in ini_pairs(&text) {
            let insecure = if npm {
                (key == "strict-ssl" && value.eq_ignore_ascii_case("false"))
                    || ((key == "registry" || key.ends_with(":registry")) && insecure_url(&value))
            } else {
                key == "trusted-host"
                    || ((key == "index-url" || key == "extra-index-url") && insecure_url(&value))
            };
            if insecure {
                bad += 1;
                let shown: Vec<String> = value
                    .split_whitespace()
                    .map(super::network::without_userinfo)
                    .collect();
                out.finding(Evidence::at(&path, format!("{key} = {}", shown.join(" "))).line(line));
            }
        }
        if bad == 0 {
            out.ok(Evidence::at(&path, "TLS verification left on"));
        }
    }
    out.finish("no npm or pip configuration was found")
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
