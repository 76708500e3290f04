//! Skills: what agents are taught to do, and whether it can be trusted.

use std::sync::LazyLock;

use regex::Regex;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::Facts;
use crate::probe::Kind;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "SKL-001",
        domain: Domain::Skills,
        severity: Severity::Critical,
        title: "Skills do not pipe downloads into a shell",
        rationale: "`curl … | sh` and `base64 -d | bash` in a skill run whatever a remote server \
            or an obfuscated blob says, with the agent's privileges, every time the skill is \
            used. It is the most common payload of malicious skills.",
        remediation: "Remove the skill, or replace the pipe with a pinned, checksummed download \
            that is reviewed before it runs.",
        references: &["CWE-494", "CWE-78"],
        reads: &[
            "~/.openclaw/skills/**",
            "~/.openclaw/workspace/skills/**",
            "~/.claude/skills/**",
            "~/.agents/skills/**",
            "~/.codex/skills/**",
        ],
        run: no_remote_exec_pipes,
    },
    Check {
        id: "SKL-002",
        domain: Domain::Skills,
        severity: Severity::High,
        title: "Skills and instruction files hold no hidden Unicode",
        rationale: "Unicode tag characters, zero-width characters and bidi overrides are \
            invisible to a reviewer but read by the model, a known way to smuggle instructions \
            into a skill or an AGENTS.md.",
        remediation: "Inspect the file with a hex viewer, remove the hidden characters, and \
            find out how they got there.",
        references: &["CWE-116", "https://unicode.org/reports/tr36/"],
        reads: &[
            "~/.openclaw/skills/**",
            "~/.claude/skills/**",
            "~/.agents/skills/**",
            "~/.openclaw/workspace/*.md",
            "~/.claude/CLAUDE.md",
        ],
        run: no_hidden_unicode,
    },
];

pub(super) const PIPE_TO_SHELL_PATTERNS: &[(&str, &str)] = &[
    (
        "download piped into a shell",
        r"\b(?:curl|wget|fetch)\b[^|\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da|k)?sh\b",
    ),
    (
        "decoded blob piped into a shell",
        r"\bbase64\s+(?:-d|--decode|-D)\b[^|\n]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b",
    ),
    (
        "download run by a shell",
        r"(?:ba|z)?sh\s+-c\s+[\x22']?\$\((?:curl|wget)\b",
    ),
    (
        "download piped into an interpreter",
        r"\b(?:curl|wget)\b[^|\n]*\|\s*(?:python3?|perl|ruby|node)\b",
    ),
];

static PIPE_TO_SHELL: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| super::compile_patterns(PIPE_TO_SHELL_PATTERNS));

/// Text files under every skill root, with their text. Binary files are skipped here
/// (their own check judges them), unreadable ones become errors.
fn skill_texts(
    f: &Facts,
    out: &mut Findings,
    mut each: impl FnMut(&std::path::Path, &str, &mut Findings),
) {
    for root in f.skill_roots() {
        let walk = f.fs.walk(&root);
        for e in &walk.errors {
            out.probe_error(e);
        }
        for (path, kind) in walk.files {
            // Symlinks are read through (inside the host root) because the agent reads
            // them too; where they point is judged by its own check.
            if kind != Kind::File && kind != Kind::Symlink {
                continue;
            }
            match f.fs.read(&path) {
                Ok(bytes) if bytes.contains(&0) => {}
                Ok(bytes) => each(&path, &String::from_utf8_lossy(&bytes), out),
                Err(e) => out.probe_error(&e),
            }
        }
    }
}

fn no_remote_exec_pipes(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    skill_texts(f, &mut out, |path, text, out| {
        let mut clean = true;
        for (i, line) in text.lines().enumerate() {
            if let Some((what, _)) = PIPE_TO_SHELL.iter().find(|(_, re)| re.is_match(line)) {
                clean = false;
                let shown: String = line.trim().chars().take(160).collect();
                out.finding(Evidence::at(path, format!("{what}: {shown}")).line(i as u32 + 1));
            }
        }
        if clean {
            out.inspected();
        }
    });
    out.finish("no skill directories were found")
}

/// Why a character is hidden, or `None` for an ordinary one.
pub(super) fn hidden_char(c: char) -> Option<&'static str> {
    match c as u32 {
        0xE0000..=0xE007F => Some("Unicode tag character"),
        0x200B..=0x200D | 0x2060 | 0x180E => Some("zero-width character"),
        0x202A..=0x202E | 0x2066..=0x2069 => Some("bidirectional override"),
        0xFEFF => Some("zero-width no-break space"),
        _ => None,
    }
}

fn scan_hidden(path: &std::path::Path, text: &str, out: &mut Findings) {
    // A byte-order mark at the very start is an encoding marker, not hidden text.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in body.lines().enumerate() {
        let hidden: Vec<(char, &str)> = line
            .chars()
            .filter_map(|c| hidden_char(c).map(|w| (c, w)))
            .collect();
        if let Some((c, what)) = hidden.first() {
            out.finding(
                Evidence::at(
                    path,
                    format!("{} {what}(s), first U+{:04X}", hidden.len(), *c as u32),
                )
                .line(i as u32 + 1),
            );
            return;
        }
    }
    out.inspected();
}

fn no_hidden_unicode(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    skill_texts(f, &mut out, scan_hidden);
    for path in f.instruction_files() {
        match f.fs.read_text(&path) {
            Ok(text) => scan_hidden(&path, &text, &mut out),
            Err(e) => out.probe_error(&e),
        }
    }
    out.finish("no skills or instruction files were found")
}
