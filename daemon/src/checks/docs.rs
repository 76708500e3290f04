//! Renders the check catalogue as Markdown for `docs/checks.md`. A test keeps the
//! committed file identical to this output; `CLAWSEC_BLESS=1 cargo test -p clawsecd
//! catalog_docs` rewrites it after a catalogue change.

use std::fmt::Write;

use super::{Check, Domain};

/// The whole document.
pub fn markdown(catalog: &[&Check]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Check catalogue\n");
    let _ = writeln!(
        s,
        "Generated from the code by `cargo test -p clawsecd catalog_docs` with \
         `CLAWSEC_BLESS=1`; do not edit by hand. `clawsecd --list-checks [--json]` prints \
         the same catalogue. `~` stands for every discovered home directory and `<pid>` for \
         every process.\n"
    );
    let _ = writeln!(
        s,
        "{} checks. Catalogue digest: `{}`.\n",
        catalog.len(),
        super::catalog_digest(catalog)
    );
    let _ = writeln!(s, "| id | domain | severity | title |\n|---|---|---|---|");
    for c in catalog {
        let _ = writeln!(
            s,
            "| [{}](#{}) | {} | {} | {} |",
            c.id,
            c.id.to_lowercase(),
            c.domain.id(),
            c.severity.id(),
            c.title
        );
    }
    for d in Domain::ALL {
        let _ = writeln!(s, "\n## {} (`{}`)", d.title(), d.id());
        for c in catalog.iter().filter(|c| c.domain == d) {
            let _ = writeln!(
                s,
                "\n### {}\n\n**{}** — severity {}\n",
                c.id,
                c.title,
                c.severity.id()
            );
            let _ = writeln!(s, "{}\n", c.rationale);
            let _ = writeln!(
                s,
                "- Reads: {}",
                c.reads()
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let _ = writeln!(s, "- Remediation: {}", c.remediation);
            if !c.references.is_empty() {
                let _ = writeln!(s, "- References: {}", c.references.join(", "));
            }
        }
    }
    s
}
