//! INT-008: what agent hooks, editor tasks and persistence points *run*, judged on first
//! sight. The drift checks (INT-003 … INT-005) can only compare with an approved
//! baseline, and a fresh install has none; a worm that plants `curl … | sh` in a
//! `SessionStart` hook before ClawSec is installed would be approved with the rest.
//! This check needs no baseline: a command that fetches and runs code, decodes and runs
//! it, runs from a temp or hidden directory, or reads credentials and sends them is a
//! finding wherever it is configured. The local scripts such commands run are read and
//! judged the same way.

use std::path::{Path, PathBuf};

use regex::Regex;

use super::skills::{DANGEROUS_CODE, PIPE_TO_SHELL, hazards};
use super::{Evidence, Findings, Outcome};
use crate::facts::Facts;
use crate::facts::launch::LaunchPoint;
use crate::probe::{Kind, ProbeError};

/// Hidden directories of homes and repositories that tools install themselves into.
/// A program run from any other hidden directory (`~/.cache/.x/run`, `~/.sysd/upd`) is
/// how droppers hide their payload.
const KNOWN_HIDDEN: &[&str] = &[
    ".local",
    ".config",
    ".cargo",
    ".rustup",
    ".nvm",
    ".npm",
    ".npm-global",
    ".bun",
    ".deno",
    ".pyenv",
    ".rbenv",
    ".volta",
    ".asdf",
    ".sdkman",
    ".linuxbrew",
    ".venv",
    ".yarn",
    ".pnpm",
    ".claude",
    ".codex",
    ".gemini",
    ".openclaw",
    ".cursor",
    ".vscode",
    ".agents",
    ".git",
    ".githooks",
    ".husky",
    ".github",
    ".devcontainer",
];

const TEMP_DIRS: &[&str] = &["/tmp/", "/var/tmp/", "/dev/shm/"];

/// Programs whose first operand is the script they run; `-c`/`-e` take code instead.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "python", "python3", "node", "nodejs", "perl", "ruby",
    "deno", "bun", "tsx", "source", ".",
];

const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh"];

/// Words that run the command after them.
const WRAPPERS: &[&str] = &[
    "env", "sudo", "nohup", "exec", "command", "nice", "setsid", "time", "timeout", "doas",
];

/// System locations whose files belong to packages: not read as scripts here.
pub(super) const SYSTEM_DIRS: &[&str] = &["/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/"];

/// Where a command comes from, for judging and for the evidence.
pub(super) struct Source<'a> {
    pub path: &'a Path,
    pub line: u32,
    /// What runs it: `SessionStart hook`, `cron entry`, `ExecStart`.
    pub what: String,
    pub home: Option<&'a Path>,
    pub workspace: Option<&'a Path>,
    /// Shell start-up files source plugin managers from all manner of hidden
    /// directories; for them only fetch-and-run, decode-and-run, credential sends,
    /// temp directories and powering the machine off count.
    pub lenient: bool,
}

pub(super) fn agent_code_launches(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let (points, problems) = f.launch_points();
    for p in &problems {
        out.problem(p);
    }
    let mut scripts: Vec<(PathBuf, String)> = Vec::new();
    for p in &points {
        let src = hook_source(p);
        judge(f, &src, &p.command, &mut out, &mut scripts);
    }
    let commands = points.len() + persistence(f, &mut out, &mut scripts);
    scripts.sort();
    scripts.dedup_by(|a, b| a.0 == b.0);
    let read = scripts.len();
    for (script, by) in scripts {
        judge_script(f, &script, &by, &mut out);
    }
    if commands > 0 {
        out.note(Evidence::note(format!(
            "judged {commands} configured command(s) and the local scripts they name ({read})"
        )));
    }
    // OpenClaw's internal hooks are code, not commands: handlers the gateway imports
    // and runs on its own events, found by directory.
    let hook_dirs = openclaw_hook_dirs(f, &mut out);
    let handlers: usize = hook_dirs
        .iter()
        .map(|(dir, by)| judge_tree(f, dir, by, &[], &mut out))
        .sum();
    if !hook_dirs.is_empty() {
        out.note(Evidence::note(format!(
            "read {handlers} source file(s) in {} OpenClaw hook director(ies)",
            hook_dirs.len()
        )));
    }
    out.finish("no agent hooks, editor tasks or persistence points run commands")
}

/// Where OpenClaw finds internal hooks, with what loads them: each home's managed
/// directory (`~/.openclaw/hooks`, and the legacy names), each agent workspace's
/// `hooks/`, and the `hooks.internal.load.extraDirs` of each gateway config.
fn openclaw_hook_dirs(f: &Facts, out: &mut Findings) -> Vec<(PathBuf, String)> {
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    for home in f.homes() {
        for state in [".openclaw", ".clawdbot", ".moltbot"] {
            dirs.push((
                home.path.join(state).join("hooks"),
                "the OpenClaw gateway (managed hooks)".to_owned(),
            ));
        }
    }
    for ws in f.openclaw_workspaces() {
        dirs.push((
            ws.join("hooks"),
            "the OpenClaw gateway (workspace hooks)".to_owned(),
        ));
    }
    for doc in f.openclaw_configs() {
        let doc = match doc {
            Ok(d) => d,
            Err(p) => {
                out.problem(p);
                continue;
            }
        };
        let extra = doc
            .value
            .pointer("/hooks/internal/load/extraDirs")
            .and_then(serde_json::Value::as_array);
        for dir in extra.into_iter().flatten().filter_map(|d| d.as_str()) {
            if let Some(path) = crate::facts::agents::openclaw_path(doc, dir) {
                dirs.push((
                    lexical(&path),
                    format!(
                        "the OpenClaw gateway (hooks.internal.load.extraDirs in {})",
                        doc.path.display()
                    ),
                ));
            }
        }
    }
    dirs.retain(|(d, _)| f.fs.metadata(d).is_ok_and(|m| m.kind == Kind::Dir));
    dirs.sort();
    dirs.dedup_by(|a, b| a.0 == b.0);
    dirs
}

fn hook_source(p: &LaunchPoint) -> Source<'_> {
    let what = match p.client {
        "codex" => "Codex notify command".to_owned(),
        "vscode" => format!("VS Code {}", p.event),
        c if p.event.chars().next().is_some_and(char::is_uppercase) => {
            format!("{c} {} hook", p.event)
        }
        c => format!("{c} {}", p.event),
    };
    Source {
        path: &p.path,
        line: p.line,
        what,
        home: p.home.as_deref(),
        workspace: p.workspace.as_deref(),
        lenient: false,
    }
}

/// Judges one command line; local scripts it runs are queued for reading.
pub(super) fn judge(
    f: &Facts,
    src: &Source<'_>,
    command: &str,
    out: &mut Findings,
    scripts: &mut Vec<(PathBuf, String)>,
) {
    let mut reasons: Vec<String> =
        hazards(command, PIPE_TO_SHELL.iter().chain(DANGEROUS_CODE.iter()))
            .iter()
            .map(|h| h.describe(false))
            .collect();
    let programs = programs(command);
    // A shell start-up file that powers the machine off runs it at every new shell: the
    // s1ngularity postinstall appended `sudo shutdown -h 0` to .bashrc and .zshrc. Cron
    // and units may reboot on a schedule; a start-up file never has a reason to.
    if src.lenient && programs.iter().any(|p| powers_off(p, command)) {
        reasons.push("shuts the machine down or reboots it at every shell start".into());
    }
    for program in programs {
        let Some(path) = resolve(&program, src) else {
            continue;
        };
        // A link is judged by where it leads too: `~/tools/srv.js` may be a link into
        // `~/.x/` or `/tmp`.
        let target = f.fs.real_path(&path).ok().filter(|t| *t != path);
        for p in std::iter::once(&path).chain(target.as_ref()) {
            let shown = p.display().to_string();
            let via = if *p == path {
                String::new()
            } else {
                format!(" (through the link {})", path.display())
            };
            if TEMP_DIRS.iter().any(|t| shown.starts_with(t)) {
                reasons.push(format!("runs {shown} from a temp directory{via}"));
            } else if !src.lenient
                && let Some(dir) = unknown_hidden(f, p, src)
            {
                reasons.push(format!("runs {shown} from the hidden directory {dir}{via}"));
            }
        }
        let real = target.unwrap_or(path);
        if !SYSTEM_DIRS.iter().any(|s| real.starts_with(s)) {
            scripts.push((
                real,
                format!("{} ({}:{})", src.what, src.path.display(), src.line),
            ));
        }
    }
    reasons.dedup();
    if reasons.is_empty() {
        out.inspected();
    }
    for r in reasons {
        out.finding(Evidence::at(src.path, format!("{}: {r}", src.what)).line(src.line));
    }
}

/// Whether `program`, run by `command`, powers the machine off or reboots it.
fn powers_off(program: &str, command: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    matches!(name, "shutdown" | "poweroff" | "halt" | "reboot")
        || (name == "systemctl"
            && simple_commands(command).iter().any(|words| {
                words.iter().any(|w| w.ends_with("systemctl"))
                    && words
                        .iter()
                        .any(|w| matches!(w.as_str(), "poweroff" | "reboot" | "halt"))
            }))
}

/// Reads a local script a launch point runs and judges its text as a skill's scripts
/// are judged.
fn judge_script(f: &Facts, script: &Path, by: &str, out: &mut Findings) {
    judge_source(
        f,
        script,
        by,
        PIPE_TO_SHELL.iter().chain(DANGEROUS_CODE.iter()),
        out,
    );
}

/// Reads one local file something runs by itself and judges its text with `patterns`
/// (and the credential-send rule); returns whether it was read. A binary is left to
/// the command-line rules; a file past the size cap is an error, never skipped.
pub(super) fn judge_source<'p>(
    f: &Facts,
    path: &Path,
    by: &str,
    patterns: impl IntoIterator<Item = &'p (&'static str, Regex)>,
    out: &mut Findings,
) -> bool {
    match f.fs.metadata(path) {
        Ok(m) if m.kind == Kind::File => {}
        Ok(_) => return false,
        Err(e) if e.is_not_found() => return false,
        Err(e) => {
            out.probe_error(&e);
            return false;
        }
    }
    let Some(bytes) = out.found(f.fs.read(path)) else {
        return false;
    };
    if bytes.iter().take(8192).any(|b| *b == 0) {
        out.inspected();
        return true;
    }
    let text = String::from_utf8_lossy(&bytes);
    let found = hazards(&text, patterns);
    if found.is_empty() {
        out.inspected();
    }
    for h in found {
        out.finding(Evidence::at(path, format!("run by {by}: {}", h.describe(true))).line(h.line));
    }
    true
}

/// Dependency and build-cache trees inside a package: the advisory checks judge what
/// is installed there (CODE-002, CODE-007); reading them here would spend the budget
/// on other people's code.
const DEPENDENCY_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    "__pycache__",
    ".venv",
    "venv",
    "site-packages",
    // Cargo's and Maven's build output: compiled artefacts, no source to read.
    "target",
];

/// Whether `path` names a source file `judge_tree` reads.
pub(super) fn is_source(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| CODE_EXTENSIONS.iter().any(|c| x == *c))
}

/// Source files of a package that are read.
const CODE_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "ts", "mts", "cts", "jsx", "tsx", "py", "sh", "bash", "rb", "pl",
];

/// Most entries one package tree may hold (outside its dependency trees); a larger one
/// is an error, never a partial pass.
pub(super) const MAX_PACKAGE_ENTRIES: usize = 5_000;

/// Judges every source file under `root` (an MCP server's package, an OpenClaw hook
/// directory) outside its dependency trees with the script rules and `extra`; returns
/// how many were read. A tree past [`MAX_PACKAGE_ENTRIES`] or deeper than
/// `limits.max_depth` is an error.
pub(super) fn judge_tree(
    f: &Facts,
    root: &Path,
    by: &str,
    extra: &[(&'static str, Regex)],
    out: &mut Findings,
) -> usize {
    let mut files = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), 0u32)];
    let mut entries = 0usize;
    let max_depth = f.fs.limits().max_depth;
    while let Some((dir, depth)) = dirs.pop() {
        let Some(listing) = out.found(f.fs.list_dir(&dir)) else {
            continue;
        };
        entries += listing.len();
        if entries > MAX_PACKAGE_ENTRIES {
            out.probe_error(&ProbeError::WalkCut {
                path: root.display().to_string(),
                reason: format!(
                    "more than {MAX_PACKAGE_ENTRIES} entries outside its dependency trees"
                ),
            });
            return 0;
        }
        for e in listing {
            let path = dir.join(&e.name);
            let name = e.name.to_string_lossy();
            // A linked directory is walked like a real one: a link is no place to hide
            // code. The entry and depth caps stop a link loop.
            let is_dir = e.kind == Kind::Dir
                || (e.kind == Kind::Symlink
                    && f.fs.metadata(&path).is_ok_and(|m| m.kind == Kind::Dir));
            if !is_dir {
                if is_source(&path) {
                    files.push(path);
                }
            } else if DEPENDENCY_DIRS.contains(&name.as_ref()) {
                // Other people's code, judged by the advisory checks.
            } else if depth + 1 >= max_depth {
                out.probe_error(&ProbeError::WalkCut {
                    path: path.display().to_string(),
                    reason: format!("deeper than {max_depth} levels (limits.max_depth)"),
                });
            } else {
                dirs.push((path, depth + 1));
            }
        }
    }
    files.sort();
    let patterns = || {
        PIPE_TO_SHELL
            .iter()
            .chain(DANGEROUS_CODE.iter())
            .chain(extra)
    };
    files
        .iter()
        .filter(|p| judge_source(f, p, by, patterns(), out))
        .count()
}

/// The programs and scripts a command line runs: the first word of each simple command
/// (after variable assignments and wrappers such as `env` or `sudo`), and for an
/// interpreter its script operand; `sh -c '…'` is followed into its code.
pub(super) fn programs(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect_programs(command, &mut out, 0);
    out
}

fn collect_programs(command: &str, out: &mut Vec<String>, depth: u8) {
    for words in simple_commands(command) {
        let mut it = words.iter().map(String::as_str).peekable();
        // Assignments and wrappers (with their options) come before the program.
        let mut wrapped = false;
        while let Some(w) = it.peek() {
            let assignment = w.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            let wrapper_arg =
                wrapped && (w.starts_with('-') || w.chars().all(|c| c.is_ascii_digit()));
            if WRAPPERS.contains(w) {
                wrapped = true;
            } else if !assignment && !wrapper_arg {
                break;
            }
            it.next();
        }
        let Some(program) = it.next() else { continue };
        out.push(program.to_owned());
        let name = program.rsplit('/').next().unwrap_or(program);
        if !INTERPRETERS.contains(&name) {
            continue;
        }
        while let Some(arg) = it.next() {
            match arg {
                "-c" | "-e" | "--eval" | "-p" => {
                    if SHELLS.contains(&name)
                        && depth < 3
                        && let Some(code) = it.next()
                    {
                        collect_programs(code, out, depth + 1);
                    }
                    break;
                }
                "run" if name == "deno" || name == "bun" => {}
                a if a.starts_with('-') => {}
                script => {
                    out.push(script.to_owned());
                    break;
                }
            }
        }
    }
}

/// Splits a shell command line into simple commands of words, honouring quotes and
/// backslashes; `;`, `&`, `|`, newlines, parentheses, backticks and `$(` separate.
fn simple_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                word.push(n);
                            }
                        }
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() && c != '\n' => end_word(&mut word, &mut in_word, &mut words),
            ';' | '&' | '|' | '\n' | '(' | ')' | '`' => {
                end_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                end_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// A program word as a host path: `~`, `$HOME`, systemd's `%h` against the source's
/// home, `$CLAUDE_PROJECT_DIR` and `${workspaceFolder}` against its workspace, relative
/// paths against the workspace. Bare names (looked up on `PATH`) and paths that cannot
/// be placed are `None`.
fn resolve(word: &str, src: &Source<'_>) -> Option<PathBuf> {
    resolve_raw(word, src).map(|p| lexical(&p))
}

/// `..` and `.` folded away, so that `/usr/../tmp/x` is judged as the `/tmp/x` it is.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn resolve_raw(word: &str, src: &Source<'_>) -> Option<PathBuf> {
    const HOME: &[&str] = &["~/", "$HOME/", "${HOME}/", "%h/"];
    const WORKSPACE: &[&str] = &[
        "$CLAUDE_PROJECT_DIR/",
        "${CLAUDE_PROJECT_DIR}/",
        "${workspaceFolder}/",
        "$GEMINI_PROJECT_DIR/",
        "${GEMINI_PROJECT_DIR}/",
    ];
    for prefix in HOME {
        if let Some(rest) = word.strip_prefix(prefix) {
            return src.home.map(|h| h.join(rest));
        }
    }
    for prefix in WORKSPACE {
        if let Some(rest) = word.strip_prefix(prefix) {
            return src.workspace.map(|w| w.join(rest));
        }
    }
    if word.starts_with('/') {
        return Some(PathBuf::from(word));
    }
    if word.contains('/') && !word.contains('$') {
        return src.workspace.map(|w| w.join(word));
    }
    None
}

/// The first hidden directory (or hidden file) on a program's path that no known tool
/// installs into, counted from the workspace or home the path is in.
fn unknown_hidden(f: &Facts, path: &Path, src: &Source<'_>) -> Option<String> {
    let homes = f.homes().iter().map(|h| h.path.as_path());
    let base = src
        .workspace
        .into_iter()
        .chain(src.home)
        .chain(homes)
        .find(|b| path.starts_with(b));
    let rel = base.map_or(path, |b| path.strip_prefix(b).unwrap_or(path));
    rel.components()
        .filter_map(|c| c.as_os_str().to_str())
        .find(|c| c.starts_with('.') && *c != "." && *c != ".." && !KNOWN_HIDDEN.contains(c))
        .map(str::to_owned)
}

/// Judges the commands of INT-005's persistence points and of XDG autostart entries;
/// returns how many there were.
fn persistence(f: &Facts, out: &mut Findings, scripts: &mut Vec<(PathBuf, String)>) -> usize {
    let mut commands = 0;
    let (mut paths, _) = super::integrity::persistence_paths(f, out);
    for home in f.homes() {
        let walk = f.fs.walk(&home.path.join(".config/autostart"));
        paths.extend(
            out.walked(walk)
                .into_iter()
                .filter(|(p, m)| {
                    m.kind == Kind::File && p.extension().is_some_and(|e| e == "desktop")
                })
                .map(|(p, _)| p),
        );
    }
    for path in paths {
        let Some(text) = out.found(f.fs.read_text(&path)) else {
            continue;
        };
        let home = f
            .homes()
            .iter()
            .map(|h| h.path.as_path())
            .find(|h| path.starts_with(h));
        let kind = PointKind::of(&path);
        for (n, line) in text.lines().enumerate() {
            let Some((what, command)) = kind.command(line) else {
                continue;
            };
            let src = Source {
                path: &path,
                line: n as u32 + 1,
                what,
                home,
                workspace: None,
                lenient: kind == PointKind::Rc,
            };
            judge(f, &src, &command, out, scripts);
            commands += 1;
        }
    }
    commands
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PointKind {
    AuthorizedKeys,
    /// `/etc/crontab`, `/etc/cron.d/*`: a user field after the schedule.
    SystemCron,
    UserCron,
    /// systemd units and XDG autostart entries: `Exec…=` lines.
    Unit,
    Rc,
}

impl PointKind {
    fn of(path: &Path) -> PointKind {
        let s = path.to_string_lossy();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.starts_with("authorized_keys") {
            PointKind::AuthorizedKeys
        } else if s == "/etc/crontab" || s.starts_with("/etc/cron.d/") {
            PointKind::SystemCron
        } else if s.starts_with("/var/spool/cron") {
            PointKind::UserCron
        } else if s.contains("/.config/systemd/") || s.contains("/.config/autostart/") {
            PointKind::Unit
        } else {
            PointKind::Rc
        }
    }

    /// The command a line runs, with what runs it.
    fn command(self, line: &str) -> Option<(String, String)> {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            return None;
        }
        match self {
            PointKind::AuthorizedKeys => {
                static FORCED: std::sync::LazyLock<Option<Regex>> =
                    std::sync::LazyLock::new(|| {
                        Regex::new(r#"(?:^|,)command="((?:[^"\\]|\\.)*)""#).ok()
                    });
                let caps = FORCED.as_ref()?.captures(t)?;
                Some(("forced command".into(), caps[1].replace("\\\"", "\"")))
            }
            PointKind::SystemCron | PointKind::UserCron => {
                let assignment = t
                    .split_once('=')
                    .is_some_and(|(k, _)| !k.trim().contains(char::is_whitespace));
                if assignment {
                    return None;
                }
                let fields = if t.starts_with('@') { 1 } else { 5 }
                    + usize::from(self == PointKind::SystemCron);
                let mut rest = t;
                for _ in 0..fields {
                    rest = rest.trim_start();
                    rest = &rest[rest.find(char::is_whitespace)?..];
                }
                Some(("cron entry".into(), rest.trim().to_owned()))
            }
            PointKind::Unit => {
                let (key, value) = t.split_once('=')?;
                let key = key.trim();
                if !key.starts_with("Exec") {
                    return None;
                }
                let value = value.trim_start_matches(['-', '@', ':', '+', '!', '|']);
                Some((key.to_owned(), value.trim().to_owned()))
            }
            PointKind::Rc => Some(("shell start-up line".into(), t.to_owned())),
        }
    }
}

/// Variables that make a runtime load code the command line never names.
const INJECTORS: &[&str] = &[
    "LD_PRELOAD",
    "LD_AUDIT",
    "NODE_OPTIONS",
    "BASH_ENV",
    "ENV",
    "PYTHONSTARTUP",
    "PERL5OPT",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
];

/// Why `name=value` injects code into the runtime it reaches, or `None` (also for
/// every variable outside `INJECTORS`).
pub(super) fn injection(name: &str, value: &str) -> Option<String> {
    let value = value.trim().trim_matches(['"', '\'']);
    if value.is_empty() {
        return None;
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    let flag = |flags: &[&str]| {
        words.iter().any(|w| {
            flags
                .iter()
                .any(|f| w == f || w.starts_with(&format!("{f}=")))
        })
    };
    match name {
        "LD_PRELOAD" | "LD_AUDIT" => {
            // Libraries a package installed (a malloc, say) are the administrator's
            // choice; anything else is loaded into every dynamically linked program.
            let foreign: Vec<&str> = value
                .split([':', ' '])
                .filter(|l| !l.is_empty())
                .filter(|l| !l.starts_with("/usr/lib/") && !l.starts_with("/lib/"))
                .collect();
            (!foreign.is_empty()).then(|| {
                format!(
                    "{name} loads {} into every program it starts",
                    foreign.join(", ")
                )
            })
        }
        "NODE_OPTIONS" => flag(&[
            "--require",
            "-r",
            "--import",
            "--loader",
            "--experimental-loader",
        ])
        .then(|| format!("NODE_OPTIONS preloads code into every node process ({value})")),
        // A file to source; `ENV=production` and the like name none.
        "BASH_ENV" | "ENV" => ["/", "~", "$HOME", "${HOME}", "."]
            .iter()
            .any(|p| value.starts_with(p))
            .then(|| format!("{name} makes every shell it reaches source {value}")),
        "PYTHONSTARTUP" => Some(format!(
            "PYTHONSTARTUP runs {value} in every interactive python"
        )),
        "PERL5OPT" => (words
            .iter()
            .any(|w| w.starts_with("-M") || w.starts_with("-m")))
        .then(|| format!("PERL5OPT loads a module into every perl ({value})")),
        "RUBYOPT" => (words.iter().any(|w| w.starts_with("-r")))
            .then(|| format!("RUBYOPT requires code in every ruby ({value})")),
        "JAVA_TOOL_OPTIONS" | "_JAVA_OPTIONS" | "JDK_JAVA_OPTIONS" => (words
            .iter()
            .any(|w| w.starts_with("-javaagent") || w.starts_with("-agentpath")))
        .then(|| format!("{name} attaches an agent to every JVM ({value})")),
        _ => None,
    }
}

/// `NAME=value` assignments on a shell or unit line: `export A=b`, `A=b cmd`,
/// `Environment="A=b" C=d`, `env A=b`.
fn assignments(line: &str) -> Vec<(String, String)> {
    let line = line.trim();
    let line = line
        .strip_prefix("Environment=")
        .or_else(|| line.strip_prefix("export "))
        .or_else(|| line.strip_prefix("setenv "))
        .unwrap_or(line);
    let mut out = Vec::new();
    for words in simple_commands(line) {
        for w in words {
            if let Some((k, v)) = w.split_once('=')
                && INJECTORS.contains(&k)
            {
                out.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    out
}

/// INT-009: runtimes agents and MCP servers run in load no code through the environment.
pub(super) fn no_environment_injection(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    // Running agents and MCP servers, as the kernel holds their environment.
    match super::processes_or_outcome(f) {
        Ok(procs) => {
            for p in procs.into_iter().filter(|p| f.is_agent(p)) {
                let env = match f.environ(p.pid) {
                    Ok(env) => env,
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => {
                        out.probe_error(&e);
                        continue;
                    }
                };
                let mut clean = true;
                for entry in env.iter() {
                    let Some((k, v)) = entry.split_once('=') else {
                        continue;
                    };
                    if let Some(why) = injection(k, v) {
                        clean = false;
                        out.finding(Evidence::at(
                            &p.proc_dir().join("environ"),
                            format!("{} (pid {}): {why}", p.program(), p.pid),
                        ));
                    }
                }
                if clean {
                    out.inspected();
                }
            }
        }
        Err(Outcome::NotApplicable(_)) => {}
        Err(other) => return other,
    }
    // MCP server entries: the environment each server will be started with.
    let inv = f.mcp();
    for p in &inv.errors {
        out.problem(p);
    }
    for cfg in &inv.configs {
        for s in &cfg.servers {
            let crate::facts::Transport::Stdio { env, .. } = &s.transport else {
                continue;
            };
            let mut clean = true;
            for (k, v) in env {
                if let Some(why) = injection(k, v) {
                    clean = false;
                    out.finding(Evidence::at(
                        &cfg.path,
                        format!("MCP server {:?}: {why}", s.name),
                    ));
                }
            }
            if clean {
                out.inspected();
            }
        }
    }
    // Files that set the environment of later sessions and services.
    let (mut paths, _) = super::integrity::persistence_paths(f, &mut out);
    paths.retain(|p| PointKind::of(p) == PointKind::Rc || PointKind::of(p) == PointKind::Unit);
    paths.push(PathBuf::from("/etc/environment"));
    for home in f.homes() {
        let walk = f.fs.walk(&home.path.join(".config/environment.d"));
        paths.extend(
            out.walked(walk)
                .into_iter()
                .filter(|(_, m)| m.kind == Kind::File)
                .map(|(p, _)| p),
        );
    }
    // The system-wide preload list: what every dynamically linked program loads.
    if let Some(text) = out.found(f.fs.read_text(Path::new("/etc/ld.so.preload"))) {
        let mut clean = true;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(why) = injection("LD_PRELOAD", line) {
                clean = false;
                out.finding(Evidence::at(Path::new("/etc/ld.so.preload"), why).line(n as u32 + 1));
            }
        }
        if clean {
            out.inspected();
        }
    }
    for path in paths {
        let Some(text) = out.found(f.fs.read_text(&path)) else {
            continue;
        };
        let mut clean = true;
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for (k, v) in assignments(line) {
                if let Some(why) = injection(&k, &v) {
                    clean = false;
                    out.finding(Evidence::at(&path, why).line(n as u32 + 1));
                }
            }
        }
        if clean {
            out.inspected();
        }
    }
    out.finish("no agents, MCP servers or environment files were found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_follow_wrappers_interpreters_and_shell_code() {
        assert_eq!(programs("FOO=1 env BAR=2 /opt/x --y"), ["/opt/x"]);
        assert_eq!(
            programs("sudo -E python3 -u ~/.x/run.py arg"),
            ["python3", "~/.x/run.py"]
        );
        assert_eq!(
            programs("bash -c 'cd /tmp && ./a; /var/tmp/b | sh'"),
            ["bash", "cd", "./a", "/var/tmp/b", "sh"]
        );
        assert_eq!(
            programs("\"$CLAUDE_PROJECT_DIR\"/.claude/hooks/fmt.sh"),
            ["$CLAUDE_PROJECT_DIR/.claude/hooks/fmt.sh"]
        );
        assert_eq!(programs("node -e 'x()' # comment"), ["node"]);
        assert_eq!(programs("echo $(/tmp/.p/x)"), ["echo", "/tmp/.p/x"]);
        assert_eq!(programs(". ~/.fzf.bash"), [".", "~/.fzf.bash"]);
    }

    #[test]
    fn persistence_lines_give_their_commands() {
        let cron = |k: PointKind, l: &str| k.command(l).map(|(_, c)| c);
        assert_eq!(
            cron(PointKind::UserCron, "*/5 * * * * /a b"),
            Some("/a b".into())
        );
        assert_eq!(cron(PointKind::UserCron, "@reboot  /a"), Some("/a".into()));
        assert_eq!(
            cron(PointKind::SystemCron, "17 * * * * root cd / && x"),
            Some("cd / && x".into())
        );
        assert_eq!(cron(PointKind::UserCron, "MAILTO=me@x"), None);
        assert_eq!(cron(PointKind::UserCron, "# m h dom"), None);
        assert_eq!(
            cron(PointKind::Unit, "ExecStartPre=-/bin/true"),
            Some("/bin/true".into())
        );
        assert_eq!(cron(PointKind::Unit, "Description=x"), None);
        assert_eq!(
            cron(
                PointKind::AuthorizedKeys,
                r#"no-pty,command="echo \"hi\"" ssh-ed25519 AAAA"#
            ),
            Some("echo \"hi\"".into())
        );
        assert_eq!(
            cron(PointKind::AuthorizedKeys, "ssh-ed25519 AAAA x@y"),
            None
        );
    }

    #[test]
    fn environment_injection_is_told_from_ordinary_settings() {
        assert!(injection("NODE_OPTIONS", "--require /tmp/x.js").is_some());
        assert!(injection("NODE_OPTIONS", "--import=./hook.mjs").is_some());
        assert!(injection("NODE_OPTIONS", "--max-old-space-size=4096").is_none());
        assert!(injection("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2").is_none());
        assert!(injection("LD_PRELOAD", "/usr/lib/libx.so:/home/a/.x.so").is_some());
        assert!(injection("ENV", "production").is_none());
        assert!(injection("BASH_ENV", "~/.env.sh").is_some());
        assert!(injection("PERL5OPT", "-w").is_none());
        assert!(injection("PERL5OPT", "-MEvil").is_some());
        assert!(injection("JAVA_TOOL_OPTIONS", "-Xmx2g").is_none());
        assert!(injection("JAVA_TOOL_OPTIONS", "-javaagent:/tmp/a.jar").is_some());
        assert_eq!(
            assignments("export NODE_OPTIONS=\"--require /tmp/x.js\" # hook"),
            [("NODE_OPTIONS".to_owned(), "--require /tmp/x.js".to_owned())]
        );
        assert_eq!(
            assignments("Environment=\"LD_PRELOAD=/a.so\" RUST_LOG=info"),
            [("LD_PRELOAD".to_owned(), "/a.so".to_owned())]
        );
        assert!(assignments("alias ll='ls -l'").is_empty());
    }

    #[test]
    fn dot_dot_cannot_dress_a_temp_program_as_a_system_one() {
        let src = Source {
            path: Path::new("/etc/crontab"),
            line: 1,
            what: String::new(),
            home: Some(Path::new("/home/a")),
            workspace: Some(Path::new("/home/a/src/app")),
            lenient: false,
        };
        assert_eq!(
            resolve("/usr/../tmp/.x/run", &src),
            Some(PathBuf::from("/tmp/.x/run"))
        );
        assert_eq!(
            resolve("~/./.cache/../.x/y", &src),
            Some(PathBuf::from("/home/a/.x/y"))
        );
        assert_eq!(
            resolve("../../../../tmp/z", &src),
            Some(PathBuf::from("/tmp/z"))
        );
        assert_eq!(resolve("node", &src), None);
    }
}
