//! Integrity: whether what defines an agent is what was approved.

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::Facts;
use crate::probe::Kind;

pub(super) const CHECKS: &[Check] = &[Check {
    id: "INT-001",
    domain: Domain::Integrity,
    severity: Severity::Medium,
    title: "Agent instruction files are regular files, not symlinks",
    rationale: "An instruction file (SOUL.md, AGENTS.md, CLAUDE.md …) that is a symlink can be \
        redirected to a file someone else controls, changing what the agent is told to do \
        without touching the workspace.",
    remediation: "Replace the symlink with a regular file owned by the agent's operator, and \
        check where the link pointed.",
    references: &["CWE-59"],
    reads: &[
        "~/.openclaw/workspace/*.md",
        "~/.claude/CLAUDE.md",
        "~/.gemini/GEMINI.md",
        "~/.codex/AGENTS.md",
    ],
    run: instruction_files_regular,
}];

fn instruction_files_regular(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for path in f.instruction_files() {
        match f.fs.symlink_metadata(&path) {
            Ok(m) if m.kind == Kind::Symlink => {
                let target = f.fs.read_link(&path).map_or_else(
                    |e| format!("unreadable link: {e}"),
                    |t| t.display().to_string(),
                );
                out.finding(Evidence::at(&path, format!("symlink to {target}")));
            }
            Ok(_) => out.ok(Evidence::at(&path, "regular file")),
            Err(e) => out.probe_error(&e),
        }
    }
    out.finish("no agent instruction files were found")
}
