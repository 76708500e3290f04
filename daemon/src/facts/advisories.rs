//! The offline advisory database: OSV documents, one JSON object per line, loaded from
//! `advisories.path` (a file, or a directory of `*.jsonl`/`*.json` files), and the
//! version arithmetic to match lockfile packages against their affected ranges.
//!
//! Range matching follows the OSV schema: events sorted by version, `introduced` opens an
//! affected span, `fixed` closes it at that version, `last_affected` closes it after it;
//! the `versions` list is matched exactly. `SEMVER` ranges (crates.io, npm) compare as
//! Semantic Versioning 2.0; `ECOSYSTEM` ranges for PyPI compare as PEP 440.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{ConfigProblem, Facts};
use crate::probe::{Kind, data};

/// Package ecosystems the lockfile parsers and the matcher understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    Crates,
    Npm,
    PyPi,
}

impl Ecosystem {
    /// The OSV name of the ecosystem.
    pub fn osv(self) -> &'static str {
        match self {
            Ecosystem::Crates => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPi => "PyPI",
        }
    }

    /// The package-URL type (`pkg:<type>/…`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Crates => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPi => "pypi",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "crates.io" => Some(Ecosystem::Crates),
            "npm" => Some(Ecosystem::Npm),
            "PyPI" => Some(Ecosystem::PyPi),
            _ => None,
        }
    }

    /// Names as the registry compares them (PEP 503 normalization for PyPI).
    pub fn normalize(self, name: &str) -> String {
        match self {
            Ecosystem::PyPi => {
                let lower = name.to_ascii_lowercase();
                let mut out = String::with_capacity(lower.len());
                for c in lower.chars() {
                    let c = if matches!(c, '-' | '_' | '.') { '-' } else { c };
                    if !(c == '-' && out.ends_with('-')) {
                        out.push(c);
                    }
                }
                out
            }
            _ => name.to_owned(),
        }
    }

    /// Compares two versions of this ecosystem; `None` when either does not parse.
    pub fn compare(self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Ecosystem::PyPi => Some(Pep440::parse(a)?.cmp(&Pep440::parse(b)?)),
            _ => Some(SemVer::parse(a)?.cmp(&SemVer::parse(b)?)),
        }
    }
}

/// One advisory's statement about one package.
#[derive(Debug, Clone)]
pub struct Affected {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    ranges: Vec<Vec<Event>>,
    versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
}

impl Affected {
    /// Whether `version` is affected.
    pub fn affects(&self, eco: Ecosystem, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
            || self.ranges.iter().any(|r| range_affects(eco, r, version))
    }
}

fn range_affects(eco: Ecosystem, events: &[Event], version: &str) -> bool {
    // A version that does not parse matches only the exact `versions` list.
    if eco.compare(version, version).is_none() {
        return false;
    }
    // "0" is before everything; bounds that do not parse are skipped rather than guessed,
    // which also keeps the sort below a total order.
    let order = |a: &str, b: &str| match (a == "0", b == "0") {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => eco.compare(a, b).unwrap_or(Ordering::Equal),
    };
    let mut sorted: Vec<&Event> = events
        .iter()
        .filter(|e| {
            let v = event_version(e);
            v == "0" || eco.compare(v, v).is_some()
        })
        .collect();
    sorted.sort_by(|x, y| order(event_version(x), event_version(y)));
    // Events are applied in version order; each one at or below the version sets the state.
    let mut affected = false;
    for ev in sorted {
        let bound = order(event_version(ev), version);
        match ev {
            Event::Introduced(_) if bound.is_le() => affected = true,
            Event::Fixed(_) if bound.is_le() => affected = false,
            Event::LastAffected(_) if bound.is_lt() => affected = false,
            _ => {}
        }
    }
    affected
}

fn event_version(e: &Event) -> &str {
    match e {
        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
    }
}

/// The advisory snapshot built into the binary (`daemon/data/advisories.osv.jsonl`,
/// rebuilt by `tools/advisories/build-snapshot.py`): what a default install matches
/// against until `advisories.path` holds a database of its own.
const SNAPSHOT: &str = include_str!("../../data/advisories.osv.jsonl");

/// The snapshot, parsed once per process.
static BUILT_IN: LazyLock<Result<AdvisoryDb, String>> = LazyLock::new(|| {
    let mut db = AdvisoryDb::default();
    db.add_jsonl(Path::new("built-in advisory snapshot"), SNAPSHOT)?;
    db.files.clear();
    db.source = format!(
        "the built-in advisory snapshot ({} advisories, newest {})",
        db.entries,
        db.newest.get(..10).unwrap_or("undated")
    );
    Ok(db)
});

/// Advisories indexed by (ecosystem, normalized package name).
#[derive(Debug, Default)]
pub struct AdvisoryDb {
    pub files: Vec<PathBuf>,
    pub entries: usize,
    /// What the database is, for evidence: the built-in snapshot or the installed path.
    pub source: String,
    /// The newest `modified` date among the entries (RFC 3339, compares as text).
    pub newest: String,
    by_package: HashMap<(Ecosystem, String), Vec<Affected>>,
}

impl AdvisoryDb {
    /// Every advisory affecting `name` at `version`.
    pub fn affecting(&self, eco: Ecosystem, name: &str, version: &str) -> Vec<&Affected> {
        self.by_package
            .get(&(eco, eco.normalize(name)))
            .map(|all| all.iter().filter(|a| a.affects(eco, version)).collect())
            .unwrap_or_default()
    }

    /// Adds every line of an OSV JSON-lines text; the error names the first bad line.
    pub fn add_jsonl(&mut self, path: &Path, text: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let doc: Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
            self.add(&doc)
                .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        }
        self.files.push(path.to_path_buf());
        Ok(())
    }

    fn add(&mut self, doc: &Value) -> Result<(), &'static str> {
        let id = doc
            .get("id")
            .and_then(Value::as_str)
            .ok_or("an OSV entry needs an id")?;
        if doc.get("withdrawn").is_some_and(|w| !w.is_null()) {
            return Ok(());
        }
        self.entries += 1;
        if let Some(m) = doc.get("modified").and_then(Value::as_str)
            && m > self.newest.as_str()
        {
            self.newest = m.to_owned();
        }
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let aliases = strings(doc.get("aliases"));
        let summary = doc
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let affected = doc
            .get("affected")
            .and_then(Value::as_array)
            .ok_or("an OSV entry needs an affected list")?;
        for a in affected {
            let pkg = a.get("package");
            let Some(eco) = pkg
                .and_then(|p| p.get("ecosystem"))
                .and_then(Value::as_str)
                .and_then(Ecosystem::parse)
            else {
                continue;
            };
            let Some(name) = pkg.and_then(|p| p.get("name")).and_then(Value::as_str) else {
                return Err("an affected package needs a name");
            };
            let mut ranges = Vec::new();
            for r in a
                .get("ranges")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let kind = r.get("type").and_then(Value::as_str).unwrap_or("");
                if kind != "SEMVER" && kind != "ECOSYSTEM" {
                    continue;
                }
                let mut events = Vec::new();
                for e in r
                    .get("events")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let get = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
                    if let Some(v) = get("introduced") {
                        events.push(Event::Introduced(v));
                    } else if let Some(v) = get("fixed") {
                        events.push(Event::Fixed(v));
                    } else if let Some(v) = get("last_affected") {
                        events.push(Event::LastAffected(v));
                    }
                }
                ranges.push(events);
            }
            self.by_package
                .entry((eco, eco.normalize(name)))
                .or_default()
                .push(Affected {
                    id: id.to_owned(),
                    aliases: aliases.clone(),
                    summary: summary.clone(),
                    ranges,
                    versions: strings(a.get("versions")),
                });
        }
        Ok(())
    }
}

impl Facts {
    /// The advisory database: the one installed at `advisories.path`, or the built-in
    /// snapshot when nothing is installed there. A database that is there but cannot be
    /// read or parsed is an error, never a silent fall-back to the older snapshot.
    pub fn advisories(&self) -> Result<&AdvisoryDb, ConfigProblem> {
        let installed = self
            .extra
            .advisories
            .get_or_init(|| self.load_advisories(&self.advisories_path()));
        match installed {
            Some(Ok(db)) => Ok(db),
            Some(Err(p)) => Err(p.clone()),
            None => BUILT_IN
                .as_ref()
                .map_err(|message| ConfigProblem::Malformed {
                    path: PathBuf::from("built-in advisory snapshot"),
                    message: message.clone(),
                }),
        }
    }

    fn load_advisories(&self, path: &Path) -> Option<Result<AdvisoryDb, ConfigProblem>> {
        let meta = match self.fs.metadata(path) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return None,
            Err(e) => return Some(Err(ConfigProblem::Unreadable(e))),
        };
        let files = if meta.kind == Kind::Dir {
            match self.fs.list_dir(path) {
                Ok(l) => l
                    .iter()
                    .filter(|e| e.kind != Kind::Dir)
                    .map(|e| e.name_lossy())
                    .filter(|n| n.ends_with(".jsonl") || n.ends_with(".json"))
                    .map(|n| path.join(n))
                    .collect(),
                Err(e) => return Some(Err(ConfigProblem::Unreadable(e))),
            }
        } else {
            vec![path.to_path_buf()]
        };
        let mut db = AdvisoryDb::default();
        for file in files {
            let text = match data::read_large(&self.fs, &file) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => return Some(Err(ConfigProblem::Unreadable(e))),
            };
            if let Err(message) = db.add_jsonl(&file, &text) {
                return Some(Err(ConfigProblem::Malformed {
                    path: file,
                    message,
                }));
            }
        }
        if db.entries == 0 {
            return Some(Err(ConfigProblem::Malformed {
                path: path.to_path_buf(),
                message: "holds no OSV advisories".into(),
            }));
        }
        db.source = format!(
            "{} ({} advisories, newest {})",
            path.display(),
            db.entries,
            db.newest.get(..10).unwrap_or("undated")
        );
        Some(Ok(db))
    }
}

/// A Semantic Versioning 2.0 version, leniently parsed (`1.2` is `1.2.0`, a leading `v`
/// is dropped); build metadata is ignored as the spec says.
#[derive(Debug, PartialEq, Eq)]
struct SemVer {
    release: [u64; 3],
    pre: Vec<String>,
}

impl SemVer {
    fn parse(s: &str) -> Option<Self> {
        let s = s.trim().trim_start_matches(['v', '=']);
        let s = s.split('+').next()?;
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, p.split('.').map(str::to_owned).collect()),
            None => (s, Vec::new()),
        };
        let mut release = [0u64; 3];
        for (i, part) in core.split('.').enumerate() {
            if i >= 3 {
                return None;
            }
            release[i] = part.parse().ok()?;
        }
        Some(SemVer { release, pre })
    }
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release.cmp(&other.release).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let o = match (a.parse::<u64>(), b.parse::<u64>()) {
                            (Ok(x), Ok(y)) => x.cmp(&y),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            (Err(_), Err(_)) => a.cmp(b),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            }
        })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A PEP 440 version reduced to a sort key: epoch, release (trailing zeros dropped),
/// pre-release, post-release, dev-release. Local versions (`+local`) are ignored.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    /// (-1 for a dev release of the final version, 0 a, 1 b, 2 rc, 3 final; number)
    pre: (i8, u64),
    /// -1 when there is no post-release.
    post: i64,
    /// u64::MAX when there is no dev-release, so that `.devN` sorts first.
    dev: u64,
}

static PEP440: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(alpha|beta|preview|pre|rc|a|b|c)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+[a-z0-9.\-_]+)?$",
    )
    .ok()
});

impl Pep440 {
    fn parse(s: &str) -> Option<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let caps = PEP440.as_ref()?.captures(&lower)?;
        let num = |i: usize| -> Option<u64> {
            caps.get(i)
                .map(|m| {
                    if m.as_str().is_empty() {
                        Some(0)
                    } else {
                        m.as_str().parse().ok()
                    }
                })
                .unwrap_or(None)
        };
        let mut release: Vec<u64> = caps
            .get(2)?
            .as_str()
            .split('.')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let post = num(5).or_else(|| num(6)).map_or(-1, |n| n as i64);
        let dev = num(7);
        let pre = match caps.get(3).map(|m| m.as_str()) {
            Some("a" | "alpha") => (0, num(4).unwrap_or(0)),
            Some("b" | "beta") => (1, num(4).unwrap_or(0)),
            Some(_) => (2, num(4).unwrap_or(0)),
            None if dev.is_some() && post < 0 => (-1, 0),
            None => (3, 0),
        };
        Some(Pep440 {
            epoch: num(1).unwrap_or(0),
            release,
            pre,
            post,
            dev: dev.unwrap_or(u64::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real advisories (RustSec, CC0-1.0; PyPA, CC-BY-4.0), shipped for tests.
    const SUBSET: &str = include_str!("../../../tests/fixtures/advisories/osv-subset.jsonl");

    fn db() -> AdvisoryDb {
        let mut db = AdvisoryDb::default();
        db.add_jsonl(Path::new("subset.jsonl"), SUBSET).unwrap();
        db
    }

    #[test]
    fn semver_ordering() {
        let c = |a, b| Ecosystem::Crates.compare(a, b).unwrap();
        assert_eq!(c("1.2.3", "1.2.3"), Ordering::Equal);
        assert_eq!(c("1.2.3-alpha.1", "1.2.3"), Ordering::Less);
        assert_eq!(c("1.2.3-alpha.2", "1.2.3-alpha.10"), Ordering::Less);
        assert_eq!(c("1.2.3-alpha", "1.2.3-alpha.1"), Ordering::Less);
        assert_eq!(c("1.10.0", "1.9.9"), Ordering::Greater);
        assert_eq!(c("0.3", "0.3.0"), Ordering::Equal);
        assert_eq!(c("1.0.0+build.5", "1.0.0"), Ordering::Equal);
    }

    #[test]
    fn pep440_ordering() {
        let c = |a, b| Ecosystem::PyPi.compare(a, b).unwrap();
        for (lo, hi) in [
            ("1.0.dev0", "1.0a1"),
            ("1.0a1", "1.0b2"),
            ("1.0b2", "1.0rc1"),
            ("1.0rc1", "1.0"),
            ("1.0", "1.0.post1"),
            ("1.0", "1.0.1"),
            ("2.9", "2.10"),
            ("1.0a1.dev1", "1.0a1"),
            ("1.0.post1", "1.1.dev0"),
            ("1!0.1", "1!0.2"),
            ("9.9", "1!0.1"),
        ] {
            assert_eq!(c(lo, hi), Ordering::Less, "{lo} < {hi}");
        }
        assert_eq!(c("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(c("1.0+local.1", "1.0"), Ordering::Equal);
        assert_eq!(c("1.0-1", "1.0.post1"), Ordering::Equal);
        assert!(Ecosystem::PyPi.compare("not a version", "1.0").is_none());
        assert_eq!(Ecosystem::PyPi.normalize("Py_YAML.x"), "py-yaml-x");
    }

    #[test]
    fn the_built_in_snapshot_parses_and_covers_every_ecosystem() {
        let db = BUILT_IN.as_ref().expect("the shipped snapshot parses");
        assert!(db.entries > 3000, "{} entries", db.entries);
        assert!(db.source.starts_with("the built-in advisory snapshot ("));
        // One real entry per ecosystem, matched by range as an installed database is.
        let has = |eco, name, v, id: &str| db.affecting(eco, name, v).iter().any(|a| a.id == id);
        assert!(has(
            Ecosystem::Crates,
            "tokio",
            "1.20.0",
            "RUSTSEC-2023-0001"
        ));
        assert!(has(Ecosystem::PyPi, "PyYAML", "5.3.1", "PYSEC-2021-142"));
        assert!(has(
            Ecosystem::Npm,
            "postmark-mcp",
            "1.0.16",
            "MAL-2025-47604"
        ));
        assert!(!has(
            Ecosystem::Npm,
            "postmark-mcp",
            "1.0.15",
            "MAL-2025-47604"
        ));
    }

    #[test]
    fn ranges_and_versions_match_real_advisories() {
        let db = db();
        let ids = |eco, name, v| {
            db.affecting(eco, name, v)
                .iter()
                .map(|a| a.id.clone())
                .collect::<Vec<_>>()
        };
        // RUSTSEC-2023-0001 (tokio): [1.7.0, 1.18.4), [1.19.0, 1.20.3), [1.21.0, 1.23.1).
        assert!(ids(Ecosystem::Crates, "tokio", "1.7.0").contains(&"RUSTSEC-2023-0001".into()));
        assert!(ids(Ecosystem::Crates, "tokio", "1.6.9").is_empty());
        assert!(ids(Ecosystem::Crates, "tokio", "1.19.0").contains(&"RUSTSEC-2023-0001".into()));
        assert!(ids(Ecosystem::Crates, "tokio", "1.20.0").contains(&"RUSTSEC-2023-0001".into()));
        assert!(!ids(Ecosystem::Crates, "tokio", "1.23.1").contains(&"RUSTSEC-2023-0001".into()));
        assert!(!ids(Ecosystem::Crates, "tokio", "1.18.4").contains(&"RUSTSEC-2023-0001".into()));
        // PYSEC-2021-142 (PyYAML < 5.4), matched through name normalization.
        assert!(ids(Ecosystem::PyPi, "pyyaml", "5.3.1").contains(&"PYSEC-2021-142".into()));
        assert!(ids(Ecosystem::PyPi, "PyYAML", "5.4").is_empty());
        // An unparsable version is not "affected since 0".
        assert!(ids(Ecosystem::PyPi, "pyyaml", "git+https://example/pyyaml").is_empty());
        // last_affected closes the range after the version.
        let r = [
            Event::Introduced("0".into()),
            Event::LastAffected("1.2.0".into()),
        ];
        assert!(range_affects(Ecosystem::Npm, &r, "1.2.0"));
        assert!(!range_affects(Ecosystem::Npm, &r, "1.2.1"));
        // Unparsable bounds are skipped without upsetting the order.
        let r = [
            Event::Introduced("1.0.0".into()),
            Event::Fixed("not-a-version".into()),
            Event::Fixed("1.5.0".into()),
        ];
        assert!(range_affects(Ecosystem::Crates, &r, "1.4.9"));
        assert!(!range_affects(Ecosystem::Crates, &r, "1.5.0"));
    }
}
