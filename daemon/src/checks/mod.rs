//! The check catalogue and the vocabulary checks speak.
//!
//! A check is a static record: metadata (id, domain, severity, title, rationale,
//! remediation, references, the host paths it reads) and a pure function from
//! [`Facts`] to an [`Outcome`]. Checks never touch the OS; they ask `Facts`, which asks
//! the probe layer. Adding a check is one entry in its domain's `CHECKS` slice.
//!
//! [`Evidence`] is redacted by construction: its text passes through the secret
//! scanner when it is built, and secrets found by scanning only ever exist past the
//! scanner as fingerprints.

mod code;
mod credstores;
pub mod docs;
mod incident;
mod integrity;
mod launch;
mod logs;
mod mcp_servers;
mod network;
mod physical;
mod secrets;
mod skills;
mod social;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub(crate) use code::registry_package;
pub(crate) use network::model_endpoints;

use crate::facts::Facts;
use crate::probe::ProbeError;
use crate::secrets::Fingerprint;

/// The nine security domains, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    Physical,
    Network,
    Secrets,
    Code,
    Logs,
    Skills,
    Integrity,
    Social,
    Incident,
}

impl Domain {
    pub const ALL: [Domain; 9] = [
        Domain::Physical,
        Domain::Network,
        Domain::Secrets,
        Domain::Code,
        Domain::Logs,
        Domain::Skills,
        Domain::Integrity,
        Domain::Social,
        Domain::Incident,
    ];

    /// The stable id used in config, JSON and the API.
    pub fn id(self) -> &'static str {
        match self {
            Domain::Physical => "physical",
            Domain::Network => "network",
            Domain::Secrets => "secrets",
            Domain::Code => "code",
            Domain::Logs => "logs",
            Domain::Skills => "skills",
            Domain::Integrity => "integrity",
            Domain::Social => "social",
            Domain::Incident => "incident",
        }
    }

    /// The prefix every check id of the domain starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            Domain::Physical => "PHY",
            Domain::Network => "NET",
            Domain::Secrets => "SEC",
            Domain::Code => "CODE",
            Domain::Logs => "LOG",
            Domain::Skills => "SKL",
            Domain::Integrity => "INT",
            Domain::Social => "SOC",
            Domain::Incident => "INC",
        }
    }

    pub fn parse(id: &str) -> Option<Domain> {
        Domain::ALL.into_iter().find(|d| d.id() == id)
    }

    /// Human title for reports.
    pub fn title(self) -> &'static str {
        match self {
            Domain::Physical => "Physical environment",
            Domain::Network => "Network",
            Domain::Secrets => "Secrets",
            Domain::Code => "Code",
            Domain::Logs => "Logs",
            Domain::Skills => "Skills",
            Domain::Integrity => "Integrity",
            Domain::Social => "Social guards",
            Domain::Incident => "Incident prevention",
        }
    }
}

/// How much a failing check matters. The weights are fixed by the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn weight(self) -> u64 {
        match self {
            Severity::Critical => 10,
            Severity::High => 6,
            Severity::Medium => 3,
            Severity::Low => 1,
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The five outcomes of a check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Error,
    NotApplicable,
    Waived,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::NotApplicable,
        Status::Waived,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::NotApplicable => "not_applicable",
            Status::Waived => "waived",
        }
    }
}

/// One observation behind an outcome: where, what, and (for secrets) a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<Fingerprint>,
}

impl Evidence {
    /// Evidence about a host path. `detail` is scrubbed of anything that looks like a
    /// secret before it is stored, so a check that quotes a command line or a config
    /// value cannot leak one by accident.
    /// The path is scrubbed too: a token can be a file or directory name.
    pub fn at(path: &Path, detail: impl AsRef<str>) -> Self {
        Evidence {
            path: Some(crate::secrets::redact(&path.display().to_string())),
            line: None,
            detail: crate::secrets::redact(detail.as_ref()),
            fingerprint: None,
        }
    }

    /// Evidence that is not about one file (a process, a sysctl, a count).
    pub fn note(detail: impl AsRef<str>) -> Self {
        Evidence {
            path: None,
            line: None,
            detail: crate::secrets::redact(detail.as_ref()),
            fingerprint: None,
        }
    }

    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    pub fn fingerprint(mut self, fp: Fingerprint) -> Self {
        self.fingerprint = Some(fp);
        self
    }

    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    pub fn line_no(&self) -> Option<u32> {
        self.line
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn fingerprint_text(&self) -> Option<String> {
        self.fingerprint.as_ref().map(|f| f.to_string())
    }
}

/// Why a check could not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input could not be read for lack of privilege.
    PermissionDenied,
    /// The input was read but could not be understood.
    Parse,
    /// A size, entry or budget cap stopped the read.
    Cap,
    /// Any other read failure.
    Io,
    /// The check ran past its time limit.
    Timeout,
    /// The check itself failed (a panic: a bug in ClawSec, never a pass).
    Internal,
}

impl From<&ProbeError> for ErrorKind {
    fn from(e: &ProbeError) -> Self {
        match e {
            ProbeError::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            ProbeError::TooLarge { .. }
            | ProbeError::BudgetSpent { .. }
            | ProbeError::TooManyEntries { .. }
            | ProbeError::WalkCut { .. } => ErrorKind::Cap,
            _ => ErrorKind::Io,
        }
    }
}

/// What one run of a check decided, before waivers are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass(Vec<Evidence>),
    Fail(Vec<Evidence>),
    Error { kind: ErrorKind, reason: String },
    NotApplicable(String),
}

impl Outcome {
    /// The outcome when a probe the whole check depends on failed.
    pub fn probe_failure(e: &ProbeError) -> Outcome {
        Outcome::Error {
            kind: ErrorKind::from(e),
            reason: e.to_string(),
        }
    }
}

/// Compiles a check's constant patterns. A pattern that does not compile is a bug caught
/// by the `every_pattern_compiles` test; in a release build it is dropped rather than
/// taking the daemon down.
pub(crate) fn compile_patterns(
    patterns: &'static [(&'static str, &'static str)],
) -> Vec<(&'static str, regex::Regex)> {
    patterns
        .iter()
        .filter_map(|(what, re)| regex::Regex::new(re).ok().map(|r| (*what, r)))
        .collect()
}

/// The process list, or the outcome to return when there is none: a host tree without
/// `/proc` (a fixture of files only, an image) has nothing to say about processes; any
/// other failure to list processes, and a missing `/proc` on the live host, is an error.
pub fn processes_or_outcome(f: &Facts) -> Result<Vec<&crate::probe::proc::Process>, Outcome> {
    match f.processes() {
        Ok(p) => Ok(p.iter().collect()),
        Err(e) if e.is_not_found() && !f.is_live_host() => Err(Outcome::NotApplicable(
            "no /proc under the host root".into(),
        )),
        Err(e) => Err(Outcome::probe_failure(e)),
    }
}

/// Checks that walk every file of whole homes and temp trees. Their cost grows with the
/// host (hundreds of thousands of files), so scheduled runs of their domain repeat them
/// at most every `schedule.tree_walks` seconds; explicit assessments and re-scans always
/// run them. A test keeps every id here in the catalogue.
pub const TREE_WALKS: &[&str] = &["INC-007"];

/// Whether a process could change the verdict of a check that judges processes (the
/// checks whose `reads` name `<pid>`): an agent or MCP server (the physical, secrets,
/// network and code checks look only at those), one the incident checks would flag, or
/// auditd (LOG-002). Anything else — the compilers, test runners and package installers
/// agents spawn all day — cannot change any verdict, so its start or exit needs no
/// re-check.
pub fn process_matters(f: &Facts, p: &crate::probe::proc::Process) -> bool {
    f.is_agent(p) || incident::flags_process(p) || p.name == "auditd" || p.program() == "auditd"
}

/// Fails a check closed on incomplete discovery. A check that judges something in users'
/// homes (a `~` or `<workspace>` read), in the account files (`/etc/passwd`,
/// `/etc/group`) or in processes (`<pid>`) cannot pass, nor be not applicable, when that
/// list itself could not be read whole: the user or process left out is exactly where
/// an attacker would hide. A failing check keeps its findings and says what else it
/// could not see. The dependency comes from the check's declared `reads`, which the
/// read-trace test holds to what the check really opens.
pub fn guard_discovery(check: &Check, f: &Facts, outcome: Outcome) -> Outcome {
    let reads = check.reads();
    let reads_any = |pred: &dyn Fn(&str) -> bool| reads.iter().any(|r| pred(r));
    let mut gaps: Vec<&ProbeError> = Vec::new();
    if reads_any(&|r| r.starts_with('~') || r.starts_with("<workspace>")) {
        gaps.extend(f.home_gaps());
    }
    if reads_any(&|r| r.starts_with("<workspace>")) {
        gaps.extend(f.workspace_gaps());
    }
    if reads_any(&|r| r == "/etc/passwd" || r == "/etc/group") {
        gaps.extend(f.accounts().gaps());
    }
    if reads_any(&|r| r.contains("<pid>")) {
        gaps.extend(f.process_gap());
    }
    let Some(first) = gaps.first() else {
        return outcome;
    };
    let kind = ErrorKind::from(*first);
    let gap = format!(
        "discovery incomplete: {}",
        gaps.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    match outcome {
        Outcome::Pass(_) | Outcome::NotApplicable(_) => Outcome::Error { kind, reason: gap },
        Outcome::Fail(mut ev) => {
            ev.push(Evidence::note(format!(
                "also could not see everything: {gap}"
            )));
            Outcome::Fail(ev)
        }
        Outcome::Error { kind, reason } => Outcome::Error {
            kind,
            reason: format!("{reason}; {gap}"),
        },
    }
}

/// Collects what a check saw and decides the outcome the same way for every check:
/// any finding fails; otherwise any unreadable input is an error (fail closed);
/// otherwise nothing inspected is `not_applicable`; otherwise pass.
#[derive(Debug, Default)]
pub struct Findings {
    findings: Vec<Evidence>,
    observed: Vec<Evidence>,
    notes: Vec<Evidence>,
    errors: Vec<(ErrorKind, String)>,
    inspected: usize,
}

impl Findings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Something relevant was looked at (a file, a process, a server entry).
    pub fn inspected(&mut self) {
        self.inspected += 1;
    }

    /// Something was looked at and found fine; kept as pass evidence.
    pub fn ok(&mut self, evidence: Evidence) {
        self.inspected += 1;
        if self.observed.len() < 20 {
            self.observed.push(evidence);
        }
    }

    /// Context for the pass evidence that is not itself something inspected (which
    /// database was used, say): it never turns `not_applicable` into `pass`.
    /// Kept in pass and fail evidence alike.
    pub fn note(&mut self, evidence: Evidence) {
        self.notes.push(evidence);
    }

    /// A problem.
    pub fn finding(&mut self, evidence: Evidence) {
        self.inspected += 1;
        self.findings.push(evidence);
    }

    pub fn probe_error(&mut self, e: &ProbeError) {
        self.errors.push((ErrorKind::from(e), e.to_string()));
    }

    /// What a read gave; `None` when the thing is absent (nothing to judge) or could not
    /// be read (recorded, so the check errors rather than passes on what it did not see).
    pub fn found<T>(&mut self, read: Result<T, ProbeError>) -> Option<T> {
        match read {
            Ok(v) => Some(v),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                self.probe_error(&e);
                None
            }
        }
    }

    pub fn parse_error(&mut self, path: &Path, message: impl std::fmt::Display) {
        self.errors
            .push((ErrorKind::Parse, format!("{}: {message}", path.display())));
    }

    /// A config file that exists but could not be used.
    pub fn problem(&mut self, p: &crate::facts::ConfigProblem) {
        match p {
            crate::facts::ConfigProblem::Unreadable(e) => self.probe_error(e),
            crate::facts::ConfigProblem::Malformed { path, message } => {
                self.parse_error(path, message)
            }
        }
    }

    /// The entries of a tree walk, after recording every part of the tree it could not
    /// cover (an unreadable directory, the walk budget, the depth guard): clean so far
    /// is not clean when the rest of the tree was never looked at. A root that does not
    /// exist is simply absent. This is the only way checks take a walk's files.
    pub fn walked(&mut self, walk: crate::probe::Walk) -> Vec<(PathBuf, crate::probe::Meta)> {
        self.walked_except(walk, |_| false)
    }

    /// [`Findings::walked`], also leaving out errors a check knows to be harmless for
    /// its verdict (a user's FUSE mount that root cannot enter, say). Cap errors are
    /// never left out.
    pub fn walked_except(
        &mut self,
        walk: crate::probe::Walk,
        harmless: impl Fn(&ProbeError) -> bool,
    ) -> Vec<(PathBuf, crate::probe::Meta)> {
        for e in &walk.errors {
            let cap = ErrorKind::from(e) == ErrorKind::Cap;
            if !e.is_not_found() && (cap || !harmless(e)) {
                self.probe_error(e);
            }
        }
        walk.files
    }

    pub fn has_findings(&self) -> bool {
        !self.findings.is_empty()
    }

    /// The outcome. `absent` says why the check is not applicable when nothing was inspected.
    pub fn finish(self, absent: &str) -> Outcome {
        if !self.findings.is_empty() {
            let mut ev = self.findings;
            ev.extend(self.notes);
            ev.extend(
                self.errors
                    .into_iter()
                    .map(|(_, reason)| Evidence::note(format!("also could not read: {reason}"))),
            );
            return Outcome::Fail(ev);
        }
        if !self.errors.is_empty() {
            // Permission problems are reported as such only when every error is one, so
            // a reduced-coverage run can say "could not see" instead of "broken".
            let kind = if self
                .errors
                .iter()
                .all(|(k, _)| *k == ErrorKind::PermissionDenied)
            {
                ErrorKind::PermissionDenied
            } else {
                self.errors
                    .iter()
                    .map(|(k, _)| *k)
                    .find(|k| *k != ErrorKind::PermissionDenied)
                    .unwrap_or(ErrorKind::Io)
            };
            let reason = self
                .errors
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Vec<_>>()
                .join("; ");
            return Outcome::Error { kind, reason };
        }
        if self.inspected == 0 {
            return Outcome::NotApplicable(absent.to_owned());
        }
        let mut ev = self.notes;
        ev.extend(self.observed);
        Outcome::Pass(ev)
    }
}

/// The MCP client config files `Facts::mcp` reads (`~` is every home), for the
/// `Check::reads` of every check built on that inventory. A test keeps it equal to the
/// facts layer's own list, so file events on any of them reach those checks.
pub(crate) const MCP_CONFIGS: &[&str] = &[
    "~/.claude.json",
    "~/.cursor/mcp.json",
    "~/.codeium/windsurf/mcp_config.json",
    "~/.config/Code/User/settings.json",
    "~/.config/Code/User/mcp.json",
    "~/.gemini/settings.json",
    "~/.codex/config.toml",
    "~/.kiro/settings/mcp.json",
    "~/.copilot/mcp-config.json",
    "/etc/claude-code/managed-mcp.json",
    "<workspace>/.mcp.json",
];

/// Named groups of paths that several checks read through the same facts. A `reads`
/// entry `@name` stands for its group, so each list is kept once, beside the code that
/// reads it.
const READ_GROUPS: &[(&str, &[&str])] = &[
    ("@mcp-configs", MCP_CONFIGS),
    ("@skill-roots", skills::SKILL_ROOTS),
    ("@openclaw-configs", crate::facts::OPENCLAW_CONFIGS),
    ("@agent-dirs", crate::facts::agents::AGENT_DIRS),
    ("@instruction-files", crate::facts::INSTRUCTION_FILES),
    ("@agent-state", secrets::AGENT_STATE),
    ("@synced-folders", secrets::SYNCED_FOLDERS),
    ("@launch-files", crate::facts::launch::LAUNCH_FILES),
    ("@persistence-points", integrity::PERSISTENCE_POINTS),
];

/// A check: metadata plus the pure function that decides it.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    pub domain: Domain,
    pub severity: Severity,
    pub title: &'static str,
    pub rationale: &'static str,
    pub remediation: &'static str,
    pub references: &'static [&'static str],
    /// Host paths the check reads; `~` stands for every discovered home, `<pid>` for
    /// every process and `@name` for a group in `READ_GROUPS` (use [`Check::reads`]). Used for docs and to map file events to checks (`events.rs`), so a
    /// path missing here is a change the daemon only sees on the schedule.
    pub reads: &'static [&'static str],
    pub run: fn(&Facts) -> Outcome,
}

/// Metadata as serialized for `--list-checks --json` and the catalogue digest.
#[derive(Debug, Serialize)]
pub struct CheckInfo<'a> {
    pub id: &'a str,
    pub domain: Domain,
    pub severity: Severity,
    pub title: &'a str,
    pub rationale: &'a str,
    pub remediation: &'a str,
    pub references: &'a [&'a str],
    pub reads: Vec<&'static str>,
}

impl Check {
    /// The host paths the check reads, with every `@group` expanded.
    pub fn reads(&self) -> Vec<&'static str> {
        self.reads
            .iter()
            .flat_map(|r| match READ_GROUPS.iter().find(|(name, _)| name == r) {
                Some((_, group)) => group.to_vec(),
                None => vec![*r],
            })
            .collect()
    }

    pub fn info(&self) -> CheckInfo<'_> {
        CheckInfo {
            id: self.id,
            domain: self.domain,
            severity: self.severity,
            title: self.title,
            rationale: self.rationale,
            remediation: self.remediation,
            references: self.references,
            reads: self.reads(),
        }
    }
}

/// Every check, in domain order, then id order.
pub fn catalog() -> Vec<&'static Check> {
    let mut all: Vec<&'static Check> = [
        physical::CHECKS,
        network::CHECKS,
        secrets::CHECKS,
        code::CHECKS,
        logs::CHECKS,
        skills::CHECKS,
        integrity::CHECKS,
        social::CHECKS,
        incident::CHECKS,
    ]
    .into_iter()
    .flatten()
    .collect();
    all.sort_by(|a, b| (a.domain, a.id).cmp(&(b.domain, b.id)));
    all
}

/// `sha256:<hex>` over the catalogue's metadata, so two postures can be compared.
pub fn catalog_digest(checks: &[&Check]) -> String {
    let infos: Vec<_> = checks.iter().map(|c| c.info()).collect();
    crate::digest::sha256_prefixed(&serde_json::to_vec(&infos).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// File events reach a check only through its `reads`: every check built on the MCP
    /// inventory must list every file that inventory is read from.
    #[test]
    fn mcp_checks_read_every_mcp_config() {
        let facts: HashSet<String> = crate::facts::mcp_config_patterns().into_iter().collect();
        let declared: HashSet<String> = MCP_CONFIGS.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            declared, facts,
            "MCP_CONFIGS differs from what Facts::mcp reads"
        );
        for id in [
            "CODE-001", "NET-002", "NET-006", "NET-007", "INT-003", "SEC-001", "SKL-007",
        ] {
            let check = catalog().into_iter().find(|c| c.id == id).unwrap();
            for p in MCP_CONFIGS {
                assert!(
                    check.reads().contains(p),
                    "{id} does not declare it reads {p}"
                );
            }
        }
    }

    #[test]
    fn catalog_ids_are_unique_prefixed_and_documented() {
        let mut seen = HashSet::new();
        for c in catalog() {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            let prefix = format!("{}-", c.domain.prefix());
            assert!(c.id.starts_with(&prefix), "{} lacks prefix {prefix}", c.id);
            assert!(
                c.id[prefix.len()..].len() == 3,
                "{} needs a 3-digit number",
                c.id
            );
            for (field, text) in [
                ("title", c.title),
                ("rationale", c.rationale),
                ("remediation", c.remediation),
            ] {
                assert!(!text.trim().is_empty(), "{} has no {field}", c.id);
            }
            assert!(!c.reads.is_empty(), "{} declares no reads", c.id);
            for r in c.reads.iter().filter(|r| r.starts_with('@')) {
                assert!(
                    READ_GROUPS.iter().any(|(name, _)| name == r),
                    "{} reads an unknown group {r}",
                    c.id
                );
            }
        }
    }

    /// `docs/checks.md` is generated from the catalogue and must not drift from it.
    #[test]
    fn catalog_docs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/checks.md");
        let want = docs::markdown(&catalog());
        if std::env::var_os("CLAWSEC_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/checks.md is out of date: run `CLAWSEC_BLESS=1 cargo test -p clawsecd catalog_docs`"
        );
    }

    #[test]
    fn every_pattern_compiles() {
        for (what, re) in skills::PIPE_TO_SHELL_PATTERNS
            .iter()
            .chain(incident::REVERSE_SHELL_PATTERNS)
            .chain(incident::MINER_PATTERNS)
            .chain(skills::DANGEROUS_CODE_PATTERNS)
            .chain(skills::REMOTE_INSTRUCTION_PATTERNS)
            .chain(skills::SECRET_SOURCES)
        {
            assert!(regex::Regex::new(re).is_ok(), "{what}: {re}");
        }
    }

    #[test]
    fn every_domain_has_a_check() {
        let cat = catalog();
        for d in Domain::ALL {
            assert!(cat.iter().any(|c| c.domain == d), "no check in {}", d.id());
        }
    }

    #[test]
    fn findings_decide_fail_closed() {
        let err = ProbeError::Io {
            path: "/x".into(),
            message: "boom".into(),
        };
        let mut f = Findings::new();
        f.probe_error(&err);
        assert!(matches!(
            f.finish("absent"),
            Outcome::Error {
                kind: ErrorKind::Io,
                ..
            }
        ));

        let mut f = Findings::new();
        f.probe_error(&err);
        f.finding(Evidence::note("bad"));
        assert!(matches!(f.finish("absent"), Outcome::Fail(ev) if ev.len() == 2));

        assert_eq!(
            Findings::new().finish("absent"),
            Outcome::NotApplicable("absent".into())
        );
        let mut f = Findings::new();
        f.inspected();
        assert_eq!(f.finish("absent"), Outcome::Pass(vec![]));
    }
}
