//! Skills: what agents are taught to do, and whether it can be trusted.

use std::sync::LazyLock;

use regex::Regex;

use std::path::{Component, Path, PathBuf};

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::{Facts, Transport};
use crate::probe::Kind;

/// Where skills live, as `Facts::skill_roots` reads them: each client's per-user roots
/// and a workspace's own (`skills/`, `.claude/skills/`, …; `discovery.skill_dirs` extras are
/// configured paths, watched through the configuration).
pub(crate) const SKILL_ROOTS: &[&str] = &[
    "~/.openclaw/skills/**",
    "~/.openclaw/workspace/skills/**",
    "~/.claude/skills/**",
    "~/.agents/skills/**",
    "~/.codex/skills/**",
    "~/.gemini/skills/**",
    "<workspace>/skills/**",
    "<workspace>/.claude/skills/**",
    "<workspace>/.agents/skills/**",
    "<workspace>/.codex/skills/**",
    "<workspace>/.gemini/skills/**",
];

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
        reads: &["@skill-roots"],
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
        reads: &["@skill-roots", "@instruction-files"],
        run: no_hidden_unicode,
    },
    Check {
        id: "SKL-003",
        domain: Domain::Skills,
        severity: Severity::Medium,
        title: "Every skill has a SKILL.md with name and description",
        rationale: "A skill directory without a SKILL.md, or whose frontmatter lacks `name` or \
            `description`, is not a skill any client loads the documented way: it is leftover, \
            half-installed or hand-crafted, and nobody has reviewed what it is for.",
        remediation: "Give the skill a SKILL.md that starts with a `---` block holding `name:` and \
            `description:`, or remove the directory.",
        references: &[
            "https://agentskills.io/specification",
            "https://docs.anthropic.com/en/docs/claude-code/skills",
        ],
        reads: &["@skill-roots"],
        run: skills_have_manifests,
    },
    Check {
        id: "SKL-004",
        domain: Domain::Skills,
        severity: Severity::Critical,
        title: "Skill scripts hold no obfuscated execution, miners or credential theft",
        rationale: "Malicious skills hide their payload in the scripts beside SKILL.md: `eval` of \
            base64, a crypto-miner's pool URL, or code that reads SSH keys, cloud credentials or \
            the whole environment and sends them to a server.",
        remediation: "Remove the skill, rotate every credential the agent's user could read, and \
            report the skill to its registry.",
        references: &[
            "CWE-506",
            "CWE-95",
            "MITRE ATT&CK T1552.001",
            "MITRE ATT&CK T1027",
        ],
        reads: &["@skill-roots"],
        run: no_dangerous_code,
    },
    Check {
        id: "SKL-005",
        domain: Domain::Skills,
        severity: Severity::High,
        title: "Skill files do not resolve outside the skill directories",
        rationale: "A symlink inside a skill that points at ~/.ssh, /etc or another project makes \
            the agent read (and a skill's scripts use) files nobody reviewed as part of the \
            skill, or hands a secret to whoever wrote the skill.",
        remediation: "Replace the symlink with the reviewed file itself, or remove the skill.",
        references: &["CWE-59", "CWE-22"],
        reads: &["@skill-roots"],
        run: no_links_out_of_skills,
    },
    Check {
        id: "SKL-006",
        domain: Domain::Skills,
        severity: Severity::High,
        title: "Skills carry no binaries, archives or disguised files",
        rationale: "A skill is text a human can review. An ELF or PE binary, an archive or a \
            file whose content does not match its extension cannot be reviewed and is how \
            malicious skills ship their second stage.",
        remediation: "Remove the binary or archive; if the skill needs a tool, install it from \
            the system's package manager and reference it by name.",
        references: &["CWE-506", "CWE-434"],
        reads: &["@skill-roots"],
        run: no_binaries_in_skills,
    },
    Check {
        id: "SKL-007",
        domain: Domain::Skills,
        severity: Severity::High,
        title: "MCP filesystem servers are not given / or a whole home",
        rationale: "A filesystem MCP server rooted at `/` or a home directory lets the model (and \
            any prompt injection) read SSH keys, cloud credentials and browser profiles, and \
            write shell start-up files.",
        remediation: "Give the filesystem server only the project directories it needs.",
        references: &[
            "CWE-552",
            "https://github.com/modelcontextprotocol/servers/tree/main/src/filesystem",
        ],
        reads: super::MCP_CONFIGS,
        run: filesystem_servers_scoped,
    },
    Check {
        id: "SKL-008",
        domain: Domain::Skills,
        severity: Severity::High,
        title: "Skills do not fetch their instructions from URLs at run time",
        rationale: "A skill that tells the agent to fetch and follow instructions from a URL is \
            whatever that server says today: it passes review and turns malicious later.",
        remediation: "Copy the instructions into the skill (reviewed and pinned), or remove it.",
        references: &["CWE-829", "MITRE ATLAS AML.T0051"],
        reads: &["@skill-roots"],
        run: no_remote_instructions,
    },
    Check {
        id: "SKL-009",
        domain: Domain::Skills,
        severity: Severity::Medium,
        title: "No skill impersonates a vendor or a popular skill",
        rationale: "Typosquats and vendor-looking names (\"anthropic-tools\", \"official-openai\", \
            \"github-x7k2\") are how malicious skills get installed in place of the real one.",
        remediation: "Check where the skill came from; install vendor skills only from the \
            vendor's own repository and remove look-alikes.",
        references: &["CWE-1357", "MITRE ATT&CK T1036.005"],
        reads: &["@skill-roots"],
        run: no_impersonation,
    },
    Check {
        id: "SKL-010",
        domain: Domain::Skills,
        severity: Severity::Critical,
        title: "No denied skill is installed",
        rationale: "Operators and threat feeds name skills known to be malicious or not allowed \
            here, by name or by the sha256 of one of their files. A denied skill that is \
            installed runs with the agent's privileges the next time it is triggered.",
        remediation: "Remove the skill directory, rotate what the agent's user could reach, and \
            check transcripts for what the skill did.",
        references: &["CWE-829"],
        reads: &["@skill-roots"],
        run: no_denied_skills,
    },
    Check {
        id: "SKL-011",
        domain: Domain::Skills,
        severity: Severity::Critical,
        title: "Locally launched MCP servers run no fetched, hidden or poisoned code",
        rationale: "A stdio MCP entry is a program the agent client starts by itself, with \
            the user's credentials, on every start, and whose tool descriptions the model \
            reads as instructions. Rogue and backdoored servers run a script from a hidden \
            directory, fetch or decode their payload, are pinned to a known-malicious \
            release, or declare tools whose descriptions order the model to read keys, \
            pass them in a parameter and keep it from the user (tool poisoning). The \
            entry's command line is judged as hooks are (INT-008), a pinned registry \
            release is matched against the advisory database, and the local code it runs \
            (the script and its server package, outside dependency trees) is read as skill \
            scripts are.",
        remediation: "Remove the MCP entry unless you know who wrote the server and why it \
            lives where it does; install servers from their publisher at a reviewed \
            version. If it ran, rotate the credentials its user could reach (SSH keys, \
            cloud, forge and agent tokens) and read the client's transcripts for what its \
            tools were asked to do.",
        references: &[
            "CWE-506",
            "CWE-1427",
            "https://invariantlabs.ai/blog/mcp-security-notification-tool-poisoning-attacks",
            "https://modelcontextprotocol.io/specification/2025-06-18/basic/security_best_practices",
        ],
        reads: &[
            "@mcp-configs",
            "<path> (schedule: the local scripts and server packages MCP entries run)",
            "/var/lib/clawsec/advisories/* (advisories.path)",
        ],
        run: super::mcp_servers::local_servers_clean,
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
    (
        "password-protected archive",
        r"\bunzip\s+(?:-\S+\s+)*-P\s*\S|\b7za?\s+[xe]\b[^\n]*\s-p\S",
    ),
];

pub(super) static PIPE_TO_SHELL: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| super::compile_patterns(PIPE_TO_SHELL_PATTERNS));

/// Text files under every skill root, with their text. Binary files are skipped here
/// (their own check judges them), unreadable ones become errors.
fn skill_texts(
    f: &Facts,
    out: &mut Findings,
    mut each: impl FnMut(&std::path::Path, &str, &mut Findings),
) {
    let tree = f.skill_tree();
    for e in &tree.errors {
        out.probe_error(e);
    }
    for file in &tree.files {
        // Symlinks are read through (inside the host root) because the agent reads them
        // too; where they point is judged by its own check.
        if file.kind != Kind::File && file.kind != Kind::Symlink {
            continue;
        }
        match &file.data {
            Ok(bytes) if bytes.contains(&0) => {}
            Ok(bytes) => each(&file.path, &String::from_utf8_lossy(bytes), out),
            // A dangling link gives the agent nothing to read either.
            Err(e) if e.is_not_found() && file.kind == Kind::Symlink => {}
            Err(e) => out.probe_error(e),
        }
    }
}

/// A finding for every line of `text` that one of `patterns` matches (quoted, shortened,
/// and scrubbed of secrets by `Evidence`); the file counts as inspected when none does.
fn report_matching_lines(
    path: &std::path::Path,
    text: &str,
    patterns: &[(&'static str, Regex)],
    out: &mut Findings,
) {
    let mut clean = true;
    for (i, line) in text.lines().enumerate() {
        if let Some((what, _)) = patterns.iter().find(|(_, re)| re.is_match(line)) {
            clean = false;
            let shown: String = line.trim().chars().take(160).collect();
            out.finding(Evidence::at(path, format!("{what}: {shown}")).line(i as u32 + 1));
        }
    }
    if clean {
        out.inspected();
    }
}

fn no_remote_exec_pipes(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    skill_texts(f, &mut out, |path, text, out| {
        report_matching_lines(path, text, &PIPE_TO_SHELL, out);
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
    let mut files = f.instruction_files();
    files.extend(f.project_instruction_files());
    for path in files {
        match f.fs.read_text(&path) {
            Ok(text) => scan_hidden(&path, &text, &mut out),
            Err(e) => out.probe_error(&e),
        }
    }
    out.finish("no skills or instruction files were found")
}

/// The `key: value` pairs of a SKILL.md's leading `---` frontmatter block, or why there
/// is none. Only the simple YAML subset skills use is understood: a value on the key's
/// line, or a block (`>`/`|`) continued on indented lines.
pub(super) fn frontmatter(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Err("does not start with a --- frontmatter block");
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.trim_end() == "---" {
            return Ok(pairs);
        }
        if line.starts_with([' ', '\t']) {
            // Continuation of the previous key's block value.
            if let Some((_, v)) = pairs.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().trim_matches(['"', '\'']);
            let v = if matches!(v, ">" | "|" | ">-" | "|-") {
                ""
            } else {
                v
            };
            pairs.push((k.trim().to_owned(), v.to_owned()));
        }
    }
    Err("frontmatter block is not closed with ---")
}

fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn skills_have_manifests(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let (dirs, errors) = f.skill_dirs();
    errors.iter().for_each(|e| out.probe_error(e));
    for skill in dirs {
        let path = skill.dir.join("SKILL.md");
        let text = match f.fs.read_text(&path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                out.finding(Evidence::at(&skill.dir, "skill directory has no SKILL.md"));
                continue;
            }
            Err(e) => {
                out.probe_error(&e);
                continue;
            }
        };
        match frontmatter(&text) {
            Err(why) => out.finding(Evidence::at(&path, why).line(1)),
            Ok(pairs) => {
                let missing: Vec<&str> = ["name", "description"]
                    .into_iter()
                    .filter(|k| field(&pairs, k).is_none())
                    .collect();
                if missing.is_empty() {
                    out.ok(Evidence::at(&path, "frontmatter has name and description"));
                } else {
                    out.finding(
                        Evidence::at(
                            &path,
                            format!("frontmatter lacks {}", missing.join(" and ")),
                        )
                        .line(1),
                    );
                }
            }
        }
    }
    out.finish("no skills are installed")
}

/// Scripts: by extension, or any file starting with a shebang.
fn is_script(path: &Path, text: &str) -> bool {
    const EXT: &[&str] = &[
        "js", "mjs", "cjs", "ts", "mts", "py", "sh", "bash", "zsh", "rb", "pl", "ps1",
    ];
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXT.contains(&e))
        || text.starts_with("#!")
}

pub(super) const DANGEROUS_CODE_PATTERNS: &[(&str, &str)] = &[
    (
        "executes decoded data",
        r"\b(?:eval|exec|Function)\s*\(\s*(?:atob|Buffer\.from|base64\.b64decode|b64decode|codecs\.decode|zlib\.decompress|bytes\.fromhex|marshal\.loads|__import__\(['\x22]base64)",
    ),
    (
        "executes decoded data",
        r"\beval\s+[\x22']?\$\((?:echo|printf)\b[^)]*\|\s*(?:base64\s+(?:-d|--decode)|xxd\s+-r)",
    ),
    (
        "crypto-miner",
        r"(?i)stratum\d?\+(?:tcp|ssl|tls)://|\bxmrig\b|--donate-level\b|\bcoinhive\b|\bcryptonight\b",
    ),
];

/// What a script reads that is worth stealing.
pub(super) const SECRET_SOURCES: &[(&str, &str)] = &[
    // Only what a skill has no business reading itself: SDKs and CLIs read their own
    // credentials, so kubeconfig or a gcloud token next to an API call is not a finding.
    ("SSH keys", r"\.ssh/id_|\bid_(?:rsa|ed25519|ecdsa|dsa)\b"),
    ("AWS credentials", r"\.aws/credentials"),
    (
        "agent or git credentials",
        r"\.openclaw/credentials|\.claude\.json|\.claude/\.credentials|\.codex/auth\.json|\.config/gh/hosts\.yml|\.netrc\b|\.git-credentials",
    ),
    (
        "the whole environment",
        r"JSON\.stringify\(\s*process\.env\s*\)|json\.dumps\(\s*(?:dict\(\s*)?os\.environ\b|\bprintenv\s*\||\benv\s*\|\s*(?:curl|wget|nc|base64|gzip)\b",
    ),
    (
        "browser or wallet data",
        r"(?i)Login Data|cookies\.sqlite|\.mozilla/firefox|google-chrome/Default|wallet\.dat|\.electrum",
    ),
];

/// A network send in the same file.
const NETWORK_SEND: &str = r"\bfetch\s*\(|\baxios\b|\bhttps?\.request\s*\(|XMLHttpRequest|\bWebSocket\s*\(|\brequests\.(?:post|put|get)\s*\(|urllib\.request|\bhttpx\.|\bcurl\b|\bwget\b|\bnc\s+-|/dev/tcp/|discord(?:app)?\.com/api/webhooks|api\.telegram\.org/bot";

pub(super) static DANGEROUS_CODE: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| super::compile_patterns(DANGEROUS_CODE_PATTERNS));
static SECRETS_READ: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| super::compile_patterns(SECRET_SOURCES));
static SENDS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(NETWORK_SEND).ok());

fn first_line(text: &str, re: &Regex) -> Option<u32> {
    text.lines()
        .position(|l| re.is_match(l))
        .map(|i| i as u32 + 1)
}

/// Something a script or command does that no benign one needs.
pub(super) struct Hazard {
    /// 1-based line of the first match.
    pub line: u32,
    pub what: &'static str,
    /// For a credential source: the first line that sends over the network.
    pub sent_at: Option<u32>,
}

impl Hazard {
    /// The finding's wording; `with_line` says where the send is.
    pub fn describe(&self, with_line: bool) -> String {
        match self.sent_at {
            None => self.what.to_owned(),
            Some(send) if with_line => {
                format!(
                    "reads {} and sends over the network (line {send})",
                    self.what
                )
            }
            Some(_) => format!("reads {} and sends over the network", self.what),
        }
    }
}

/// Every hazard in `text`: each of `patterns` at its first line, then each credential
/// source read in a text that also sends over the network.
pub(super) fn hazards<'p>(
    text: &str,
    patterns: impl IntoIterator<Item = &'p (&'static str, Regex)>,
) -> Vec<Hazard> {
    let mut out: Vec<Hazard> = patterns
        .into_iter()
        .filter_map(|(what, re)| {
            first_line(text, re).map(|line| Hazard {
                line,
                what,
                sent_at: None,
            })
        })
        .collect();
    if let Some(send) = SENDS.as_ref().and_then(|re| first_line(text, re)) {
        out.extend(SECRETS_READ.iter().filter_map(|(what, re)| {
            first_line(text, re).map(|line| Hazard {
                line,
                what,
                sent_at: Some(send),
            })
        }));
    }
    out
}

fn scan_script(path: &Path, text: &str, out: &mut Findings) {
    if !is_script(path, text) {
        return;
    }
    let found = hazards(text, DANGEROUS_CODE.iter());
    if found.is_empty() {
        out.inspected();
    }
    for h in found {
        out.finding(Evidence::at(path, h.describe(true)).line(h.line));
    }
}

fn no_dangerous_code(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    skill_texts(f, &mut out, scan_script);
    out.finish("no skill scripts were found")
}

/// Lexically resolves a link target against the link's directory (inside the host root,
/// as the probe layer does: `..` stops at `/`).
fn resolve_link(link: &Path, target: &Path) -> PathBuf {
    let base = if target.is_absolute() {
        PathBuf::from("/")
    } else {
        link.parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
    };
    let mut out = base;
    for c in target.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

fn no_links_out_of_skills(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let roots = f.skill_roots();
    // Installers (e.g. `npx skills`) keep one copy in `.agents/skills` and link it into
    // each client's root: a target in any skill directory, or in a workspace's or home's
    // `.agents/skills`, is fine.
    let mut allowed = roots.clone();
    allowed.extend(f.homes().iter().map(|h| h.path.join(".agents/skills")));
    allowed.extend(f.code_workspaces().iter().map(|w| w.join(".agents/skills")));
    for root in &roots {
        for (path, meta) in out.walked(f.fs.walk(root)) {
            if meta.kind != Kind::Symlink {
                out.inspected();
                continue;
            }
            let target = match f.fs.read_link(&path) {
                Ok(t) => t,
                Err(e) => {
                    out.probe_error(&e);
                    continue;
                }
            };
            let resolved = resolve_link(&path, &target);
            if allowed.iter().any(|r| resolved.starts_with(r)) {
                out.ok(Evidence::at(
                    &path,
                    format!("links to {}", resolved.display()),
                ));
            } else {
                out.finding(Evidence::at(
                    &path,
                    format!(
                        "symlink resolves outside the skill directories: {} → {}",
                        target.display(),
                        resolved.display()
                    ),
                ));
            }
        }
    }
    out.finish("no skills are installed")
}

/// What the first bytes of a file say it is, when it is not reviewable text.
fn magic_kind(head: &[u8]) -> Option<&'static str> {
    if is_pe(head) {
        return Some("Windows PE executable");
    }
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x7fELF", "ELF executable"),
        (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
        (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
        (b"PK\x03\x04", "zip archive"),
        (b"\x1f\x8b", "gzip archive"),
        (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
        (b"Rar!\x1a\x07", "RAR archive"),
        (b"\xfd7zXZ\x00", "xz archive"),
        (b"BZh", "bzip2 archive"),
        (b"\x00asm", "WebAssembly module"),
    ];
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return Some("tar archive");
    }
    MAGIC
        .iter()
        .find(|(m, _)| head.starts_with(m))
        .map(|(_, what)| *what)
}

/// "MZ" starts plenty of text; a PE file also has "PE\0\0" where its header says.
fn is_pe(head: &[u8]) -> bool {
    let Some(offset) = head.get(0x3c..0x40) else {
        return false;
    };
    let off = u32::from_le_bytes([offset[0], offset[1], offset[2], offset[3]]) as usize;
    head.starts_with(b"MZ") && head.get(off..off + 4) == Some(b"PE\0\0")
}

/// Directories of installed dependencies (npm, pip): their native modules come from a
/// registry, and their vulnerabilities are the code domain's business.
const DEPENDENCY_DIRS: &[&str] = &["node_modules", ".venv", "venv", "site-packages"];

/// Extensions that name a binary or an archive regardless of content.
const BINARY_EXTENSIONS: &[&str] = &[
    "exe", "dll", "so", "dylib", "bin", "elf", "zip", "tar", "tgz", "gz", "xz", "bz2", "7z", "rar",
    "jar", "whl", "pyc", "wasm", "appimage", "deb", "rpm",
];

/// Extensions of text files, where binary content is a disguise.
const TEXT_EXTENSIONS: &[&str] = &[
    "md", "txt", "json", "yaml", "yml", "toml", "js", "mjs", "cjs", "ts", "py", "sh", "bash", "rb",
    "pl", "html", "css", "csv", "xml", "ini", "cfg",
];

fn no_binaries_in_skills(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let tree = f.skill_tree();
    tree.errors.iter().for_each(|e| out.probe_error(e));
    for file in &tree.files {
        let (path, kind) = (&file.path, file.kind);
        let in_deps = path.components().any(|c| {
            DEPENDENCY_DIRS
                .iter()
                .any(|d| c.as_os_str() == std::ffi::OsStr::new(d))
        });
        if kind != Kind::File || in_deps {
            continue;
        }
        // The shared read covers files up to the size cap; a larger one (a bundled
        // binary, typically) is judged by its first bytes alone.
        let head = match &file.data {
            Ok(bytes) => bytes[..bytes.len().min(512)].to_vec(),
            Err(crate::probe::ProbeError::TooLarge { .. }) => match f.fs.read_head(path, 512) {
                Ok(h) => h,
                Err(e) => {
                    out.probe_error(&e);
                    continue;
                }
            },
            Err(e) => {
                out.probe_error(e);
                continue;
            }
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let finding = match magic_kind(&head) {
            Some(what) if TEXT_EXTENSIONS.contains(&ext.as_str()) => {
                Some(format!("{what} disguised as .{ext}"))
            }
            Some(what) => Some(what.to_owned()),
            None if BINARY_EXTENSIONS.contains(&ext.as_str()) => {
                Some(format!(".{ext} file (binary or archive by name)"))
            }
            None => None,
        };
        match finding {
            Some(what) => out.finding(Evidence::at(path, what)),
            None => out.inspected(),
        }
    }
    out.finish("no skills are installed")
}

/// Packages of MCP servers that expose a filesystem to the model.
const FILESYSTEM_SERVERS: &[&str] = &[
    "server-filesystem",
    "mcp-server-filesystem",
    "filesystem-mcp",
    "mcp-filesystem",
    "fast-filesystem-mcp",
    "mcp/filesystem",
];

/// Why an argument grants too wide a root, if it does.
fn too_wide(arg: &str, homes: &[PathBuf]) -> Option<String> {
    let trimmed = arg.trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    if path == "/" {
        return Some("the whole filesystem (/)".into());
    }
    if matches!(path, "~" | "$HOME" | "${HOME}" | "/home") {
        return Some(format!("a whole home directory ({path})"));
    }
    homes
        .iter()
        .any(|h| Path::new(path) == h)
        .then(|| format!("a whole home directory ({path})"))
}

fn filesystem_servers_scoped(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let inv = f.mcp();
    inv.errors.iter().for_each(|p| out.problem(p));
    let homes: Vec<PathBuf> = f.homes().iter().map(|h| h.path.clone()).collect();
    for cfg in &inv.configs {
        for s in &cfg.servers {
            let Transport::Stdio { command, args, .. } = &s.transport else {
                continue;
            };
            let is_fs = std::iter::once(command)
                .chain(args)
                .any(|a| FILESYSTEM_SERVERS.iter().any(|p| a.contains(p)));
            if !is_fs {
                continue;
            }
            // Docker-wrapped servers mount the root: `-v /:/data` or `src=/,` style.
            let roots = args.iter().filter_map(|a| {
                let mount = a
                    .split_once(":/")
                    .map(|(src, _)| src)
                    .filter(|src| src.starts_with(['/', '~', '$']))
                    .or_else(|| {
                        a.split(',').find_map(|kv| {
                            kv.strip_prefix("src=")
                                .or_else(|| kv.strip_prefix("source="))
                        })
                    });
                too_wide(a, &homes).or_else(|| mount.and_then(|m| too_wide(m, &homes)))
            });
            let wide: Vec<String> = roots.collect();
            let line = s.line.unwrap_or(1);
            if wide.is_empty() {
                out.ok(Evidence::at(&cfg.path, format!("server {:?}: scoped", s.name)).line(line));
            } else {
                out.finding(
                    Evidence::at(
                        &cfg.path,
                        format!("server {:?} exposes {}", s.name, wide.join(", ")),
                    )
                    .line(line),
                );
            }
        }
    }
    out.finish("no filesystem MCP server is configured")
}

pub(super) const REMOTE_INSTRUCTION_PATTERNS: &[(&str, &str)] = &[
    (
        "instructions fetched from a URL",
        r"(?i)\b(?:fetch|read|follow|load|download|retrieve|get|obey|execute)\b[^\n]{0,80}\b(?:instructions?|rules|steps|prompt|directions|guidance|commands)\b[^\n]{0,60}https?://",
    ),
    (
        "instructions fetched from a URL",
        r"(?i)\b(?:fetch|read|follow|load|download|retrieve|get|obey|execute)\b[^\n]{0,60}https?://\S+[^\n]{0,40}\b(?:and|then)\s+(?:follow|obey|execute|do what|apply)\b",
    ),
];

static REMOTE_INSTRUCTIONS: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| super::compile_patterns(REMOTE_INSTRUCTION_PATTERNS));

fn no_remote_instructions(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    skill_texts(f, &mut out, |path, text, out| {
        let is_md = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("md"));
        if !is_md {
            return;
        }
        report_matching_lines(path, text, &REMOTE_INSTRUCTIONS, out);
    });
    out.finish("no skills are installed")
}

/// Vendor words a third-party skill has no business using in its name.
const VENDOR_WORDS: &[&str] = &["official", "verified", "anthropic", "openai"];

/// Widely installed skills, the usual targets of look-alike names.
const POPULAR_SKILLS: &[&str] = &[
    "pdf",
    "docx",
    "xlsx",
    "pptx",
    "skill-creator",
    "mcp-builder",
    "frontend-design",
    "webapp-testing",
    "canvas-design",
    "weather",
    "github",
    "gog",
    "summarize",
    "notion",
    "obsidian",
    "slack",
    "trello",
    "tmux",
    "himalaya",
    "spotify-player",
    "clawhub",
    "coding-agent",
    "nano-banana-pro",
    "openai-whisper",
    "video-frames",
    "gemini",
];

/// A suffix that looks generated: 3-10 letters and digits interleaved ("x7k2", "a9f3"),
/// unlike a version ("v10", "2024a") or a word with a number ("mcp2").
fn random_suffix(s: &str) -> bool {
    let alnum = s.chars().all(|c| c.is_ascii_alphanumeric());
    let switches = s
        .as_bytes()
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    (3..=10).contains(&s.len()) && alnum && switches >= 2
}

fn impersonation(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['-', '_', ' ', '.']).collect();
    if let Some(w) = words.iter().find(|w| VENDOR_WORDS.contains(w)) {
        return Some(format!("name {name:?} uses the vendor word {w:?}"));
    }
    for popular in POPULAR_SKILLS {
        if let Some(rest) = lower.strip_prefix(popular)
            && let Some(suffix) = rest.strip_prefix(['-', '_'])
            && random_suffix(suffix)
        {
            return Some(format!(
                "name {name:?} is the popular skill {popular:?} plus a random-looking suffix"
            ));
        }
    }
    None
}

fn no_impersonation(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let (dirs, errors) = f.skill_dirs();
    errors.iter().for_each(|e| out.probe_error(e));
    for skill in dirs {
        let manifest = skill.dir.join("SKILL.md");
        let declared = match f.fs.read_text(&manifest) {
            Ok(t) => frontmatter(&t)
                .ok()
                .and_then(|p| field(&p, "name").map(str::to_owned)),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                out.probe_error(&e);
                None
            }
        };
        let mut names = vec![skill.name()];
        names.extend(declared.filter(|d| *d != skill.name()));
        match names.iter().find_map(|n| impersonation(n)) {
            Some(why) => out.finding(Evidence::at(&skill.dir, why)),
            None => out.inspected(),
        }
    }
    out.finish("no skills are installed")
}

fn no_denied_skills(f: &Facts) -> Outcome {
    let deny = f.skill_deny();
    if deny.is_empty() {
        return Outcome::NotApplicable("no skills deny list is configured ([skills] deny)".into());
    }
    let (names, hashes): (Vec<&String>, Vec<&String>) =
        deny.iter().partition(|d| !d.starts_with("sha256:"));
    let mut out = Findings::new();
    let (dirs, errors) = f.skill_dirs();
    errors.iter().for_each(|e| out.probe_error(e));
    for skill in dirs {
        let declared =
            f.fs.read_text(&skill.dir.join("SKILL.md"))
                .ok()
                .and_then(|t| frontmatter(&t).ok())
                .and_then(|p| field(&p, "name").map(str::to_owned));
        let named = [Some(skill.name()), declared]
            .into_iter()
            .flatten()
            .find(|n| names.iter().any(|d| d.eq_ignore_ascii_case(n)));
        if let Some(n) = named {
            out.finding(Evidence::at(
                &skill.dir,
                format!("skill {n:?} is on the deny list"),
            ));
            continue;
        }
        if hashes.is_empty() {
            out.inspected();
            continue;
        }
        let mut clean = true;
        for (path, meta) in out.walked(f.fs.walk(&skill.dir)) {
            if meta.kind != Kind::File {
                continue;
            }
            match f.fs.read(&path) {
                Ok(bytes) => {
                    let digest = crate::digest::sha256_prefixed(&bytes);
                    if hashes.iter().any(|h| h.eq_ignore_ascii_case(&digest)) {
                        clean = false;
                        out.finding(Evidence::at(&path, format!("{digest} is on the deny list")));
                    }
                }
                Err(e) => out.probe_error(&e),
            }
        }
        if clean {
            out.inspected();
        }
    }
    out.finish("no skills are installed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instruction_file_in_both_lists_is_judged_once() {
        // ~/.openclaw/workspace is an agent's own directory and a workspace too.
        let root = tempfile::tempdir().unwrap();
        let facts = crate::facts::facts_of(
            root.path(),
            &[
                ("etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n"),
                (
                    "home/alice/.openclaw/workspace/AGENTS.md",
                    "Never run rm \u{202e} here.\n",
                ),
                (
                    "home/alice/.claude.json",
                    r#"{"projects": {"/home/alice/.openclaw/workspace": {}, "/srv/r": {}}}"#,
                ),
                ("srv/r/CLAUDE.md", "Be brief \u{202e}.\n"),
            ],
        );
        assert_eq!(
            facts.project_instruction_files(),
            vec![PathBuf::from("/srv/r/CLAUDE.md")]
        );
        let Outcome::Fail(ev) = no_hidden_unicode(&facts) else {
            panic!("expected a failure");
        };
        let agents = ev
            .iter()
            .filter(|e| e.path().is_some_and(|p| p.ends_with("AGENTS.md")))
            .count();
        assert_eq!(agents, 1, "{ev:?}");
    }

    #[test]
    fn frontmatter_is_parsed_in_its_simple_form() {
        let pairs =
            frontmatter("---\nname: pdf\ndescription: >\n  Fill forms.\n---\nbody").unwrap();
        assert_eq!(field(&pairs, "name"), Some("pdf"));
        assert_eq!(field(&pairs, "description"), Some("Fill forms."));
        assert!(frontmatter("# no frontmatter").is_err());
        assert!(frontmatter("---\nname: x\n").is_err());
    }

    #[test]
    fn pe_needs_its_header_not_just_mz() {
        let mut pe = vec![0u8; 256];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert_eq!(magic_kind(&pe), Some("Windows PE executable"));
        assert_eq!(
            magic_kind(b"MZ is the start of this sentence, nothing more."),
            None
        );
        assert_eq!(magic_kind(b"\x7fELF\x02"), Some("ELF executable"));
    }

    #[test]
    fn look_alike_names() {
        assert!(impersonation("github-x7k2").is_some());
        assert!(impersonation("Official-Slack").is_some());
        for ok in [
            "github-actions",
            "weather-v10",
            "notion-mcp2",
            "pdf",
            "claude-helper",
        ] {
            assert!(impersonation(ok).is_none(), "{ok}");
        }
    }

    #[test]
    fn links_resolve_against_their_directory() {
        assert_eq!(
            resolve_link(
                Path::new("/h/.claude/skills/a/key"),
                Path::new("../../../.ssh/id")
            ),
            PathBuf::from("/h/.ssh/id")
        );
        assert_eq!(
            resolve_link(Path::new("/a/b"), Path::new("../../../../etc/x")),
            PathBuf::from("/etc/x")
        );
    }
}
