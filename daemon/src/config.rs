//! Configuration: `/etc/clawsec/clawsecd.toml`, every key optional.
//!
//! Loading is two steps. Parsing rejects unknown keys and wrong types; [`Config::validate`]
//! then rejects values that parse but make no sense. Both kinds of error name the file,
//! the line and column, and the key, so an operator can fix the file without guessing.
//! This module reads only the config file itself; it never probes the host.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::Domain;
use clawsec_proto::time::Date;

/// The system-wide config file read when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/clawsec/clawsecd.toml";

/// The whole configuration. Every field has a built-in default; see
/// `config/clawsecd.example.toml`, which a test keeps identical to [`Config::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Names this host in attestations. Empty means the host's hostname.
    pub agent_id: String,
    /// The root of the host to inspect. Every probe, `/proc` and `/sys` included, reads below it.
    pub host_root: PathBuf,
    /// Where keys and the database live.
    pub state_dir: PathBuf,
    /// The gRPC Unix socket.
    pub socket: PathBuf,
    pub limits: Limits,
    pub attestation: AttestationConfig,
    pub server: Server,
    pub schedule: Schedule,
    pub events: Events,
    pub roles: Roles,
    pub policy: Policy,
    pub discovery: Discovery,
    pub scoring: Scoring,
    pub advisories: Advisories,
    pub waivers: Vec<Waiver>,
    pub skills: SkillsPolicy,
}

/// What the skills checks are told about skills (checks-b).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkillsPolicy {
    /// Skills that must not be installed: a skill name, or `sha256:<hex>` of any file in it.
    pub deny: Vec<String>,
}

/// The offline vulnerability database the `code` checks match lockfiles against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Advisories {
    /// A file of OSV advisories (one JSON document per line), or a directory of
    /// `*.jsonl`/`*.json` such files. Read below `host_root`, like every other input.
    pub path: PathBuf,
}

impl Default for Advisories {
    fn default() -> Self {
        Advisories {
            path: PathBuf::from("/var/lib/clawsec/advisories"),
        }
    }
}

/// Caps that keep a hostile or huge host tree from exhausting the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest file read whole, in bytes.
    pub max_file_bytes: u64,
    /// Most entries in one directory listed whole (a larger one is an error, not a
    /// partial listing).
    pub max_dir_entries: u32,
    /// Depth guard of tree walks: a tree nested deeper makes the checks walking it error.
    pub max_depth: u32,
    /// Entries all tree walks of one assessment may visit together; when spent, the
    /// checks whose walks were cut short error, naming this budget.
    pub max_walk_entries: u64,
    /// Total bytes read in one assessment.
    pub max_total_bytes: u64,
    /// Most processes inspected in one assessment.
    pub max_processes: u32,
    /// How long one check may run before it is reported as an error, in milliseconds.
    pub check_timeout_ms: u64,
}

/// How attestations are signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttestationConfig {
    /// How long an attestation is valid after it is signed, in seconds.
    pub validity_secs: u64,
}

impl Default for AttestationConfig {
    fn default() -> Self {
        AttestationConfig { validity_secs: 900 }
    }
}

/// The gRPC server on the Unix socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Group that owns the socket (mode 0660). Empty or missing group: the daemon's own.
    pub socket_group: String,
    /// Largest request accepted, in bytes.
    pub max_request_bytes: u32,
    /// Deadline for any one call, in milliseconds.
    pub request_timeout_ms: u64,
    /// Concurrent calls per connection.
    pub max_concurrent_per_connection: u32,
    /// Open `WatchPosture` streams one caller uid may hold at once.
    pub max_watches_per_uid: u32,
    /// Connections one caller uid may hold open at once; more are refused at accept.
    pub max_connections_per_uid: u32,
    /// Connections open at once from all callers (kept well below `LimitNOFILE`).
    pub max_connections: u32,
    /// A new connection must send the HTTP/2 preface within this many milliseconds.
    pub handshake_timeout_ms: u64,
    /// A connection with no call in progress is closed after this many seconds.
    pub idle_timeout_secs: u64,
    /// `Assess` calls each caller (uid) may make per minute, after a burst.
    pub assess_per_minute: u32,
    pub assess_burst: u32,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            socket_group: "clawsec".into(),
            max_request_bytes: 64 * 1024,
            request_timeout_ms: 30_000,
            max_concurrent_per_connection: 32,
            max_watches_per_uid: 64,
            max_connections_per_uid: 64,
            max_connections: 1024,
            handshake_timeout_ms: 5_000,
            idle_timeout_secs: 300,
            assess_per_minute: 6,
            assess_burst: 3,
        }
    }
}

/// Reacting to file and process changes between scheduled runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Events {
    /// Watch the files the checks read and poll for new processes.
    pub enabled: bool,
    /// Quiet period that ends a burst of file events, in milliseconds (a burst is cut
    /// after ten times this).
    pub debounce_ms: u64,
    /// How often `/proc` is compared for new processes and listening sockets, in ms
    /// (ten times less often for listeners alone, when the kernel's process events are
    /// followed).
    pub proc_poll_ms: u64,
    /// Most file events queued; more is an overflow, answered by a full re-scan.
    pub queue: u32,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            enabled: true,
            debounce_ms: 100,
            proc_poll_ms: 1000,
            queue: 4096,
        }
    }
}

/// How often each domain is assessed, in seconds: often where things change fast
/// (incident), less where they change slowly (code). Each run is spread by up to
/// `splay_percent` so that hosts do not all scan at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    pub physical: u64,
    pub network: u64,
    pub secrets: u64,
    pub code: u64,
    pub logs: u64,
    pub skills: u64,
    pub integrity: u64,
    pub social: u64,
    pub incident: u64,
    pub splay_percent: u32,
    /// Checks that walk whole homes and temp trees (`checks::TREE_WALKS`) run on their
    /// domain's schedule at most this often, in seconds; `Assess`, a full re-scan and a
    /// reload run them at once.
    pub tree_walks: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            physical: 300,
            network: 120,
            secrets: 300,
            code: 900,
            logs: 600,
            skills: 300,
            integrity: 300,
            social: 300,
            incident: 30,
            splay_percent: 10,
            tree_walks: 900,
        }
    }
}

impl Schedule {
    pub fn interval(&self, domain: Domain) -> u64 {
        match domain {
            Domain::Physical => self.physical,
            Domain::Network => self.network,
            Domain::Secrets => self.secrets,
            Domain::Code => self.code,
            Domain::Logs => self.logs,
            Domain::Skills => self.skills,
            Domain::Integrity => self.integrity,
            Domain::Social => self.social,
            Domain::Incident => self.incident,
        }
    }
}

/// Who may call what, by the caller's socket peer credentials. Entries are `uid:N`,
/// `user:NAME`, `gid:N` or `group:NAME` (primary or supplementary group). Root and the
/// daemon's own user are always admin; a caller matching no entry is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Roles {
    /// GetPosture, GetAttestation, WatchPosture, ListChecks, Authorize.
    pub readers: Vec<String>,
    /// Also Assess and ApproveBaseline.
    pub operators: Vec<String>,
    /// Also Reload and RotateKey.
    pub admins: Vec<String>,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            readers: vec!["group:clawsec".into()],
            operators: Vec::new(),
            admins: Vec::new(),
        }
    }
}

/// What `Authorize` requires before allowing a named action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// For actions not listed in `actions`.
    pub default: ActionPolicy,
    pub actions: std::collections::BTreeMap<String, ActionPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionPolicy {
    /// Lowest trust tier that allows the action.
    pub min_tier: String,
    /// Domains that must have no failing or erroring critical check.
    pub no_critical_in: Vec<String>,
    /// Oldest posture the decision may rest on, in seconds.
    pub max_age_secs: u64,
}

impl Default for ActionPolicy {
    fn default() -> Self {
        ActionPolicy {
            min_tier: "LOW".into(),
            no_critical_in: Vec::new(),
            max_age_secs: 900,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        let rule = |tier: &str, domains: &[&str]| ActionPolicy {
            min_tier: tier.into(),
            no_critical_in: domains.iter().map(|d| (*d).to_owned()).collect(),
            max_age_secs: 900,
        };
        Policy {
            default: ActionPolicy::default(),
            actions: [
                ("exec", rule("MEDIUM", &["incident", "skills"])),
                ("fs.write", rule("LOW", &["integrity"])),
                ("network.egress", rule("MEDIUM", &["secrets", "network"])),
                ("secrets.read", rule("HIGH", &["secrets"])),
                ("deploy", rule("HIGH", &["code", "integrity", "secrets"])),
                ("payment", rule("HIGH", &["incident", "secrets", "social"])),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }
}

/// Where to look for agents beyond what is found on its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Discovery {
    /// Extra agent workspaces (host paths) to inspect.
    pub workspaces: Vec<PathBuf>,
    /// Extra process names (comm or argv[0] basename) that count as agents.
    pub agent_process_names: Vec<String>,
    /// Extra skill directories (host paths).
    pub skill_dirs: Vec<PathBuf>,
}

/// Per-domain weights in the overall score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scoring {
    pub domain_weights: DomainWeights,
}

/// One weight per domain; the overall score is their weighted mean. Default 1 each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomainWeights {
    pub physical: u32,
    pub network: u32,
    pub secrets: u32,
    pub code: u32,
    pub logs: u32,
    pub skills: u32,
    pub integrity: u32,
    pub social: u32,
    pub incident: u32,
}

/// An operator's acceptance of a check's risk, until an expiry date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub check: String,
    pub reason: String,
    /// Last day the waiver holds, `YYYY-MM-DD` (UTC).
    pub expires: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            agent_id: String::new(),
            host_root: PathBuf::from("/"),
            state_dir: PathBuf::from("/var/lib/clawsec"),
            socket: PathBuf::from("/run/clawsec/clawsecd.sock"),
            limits: Limits::default(),
            attestation: AttestationConfig::default(),
            server: Server::default(),
            schedule: Schedule::default(),
            events: Events::default(),
            roles: Roles::default(),
            policy: Policy::default(),
            discovery: Discovery::default(),
            scoring: Scoring::default(),
            advisories: Advisories::default(),
            waivers: Vec::new(),
            skills: SkillsPolicy::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 1024 * 1024,
            max_dir_entries: 65_536,
            max_depth: 128,
            max_walk_entries: 4_000_000,
            max_total_bytes: 64 * 1024 * 1024,
            max_processes: 32_768,
            check_timeout_ms: 10_000,
        }
    }
}

impl Default for DomainWeights {
    fn default() -> Self {
        DomainWeights {
            physical: 1,
            network: 1,
            secrets: 1,
            code: 1,
            logs: 1,
            skills: 1,
            integrity: 1,
            social: 1,
            incident: 1,
        }
    }
}

impl DomainWeights {
    pub fn get(&self, domain: Domain) -> u32 {
        match domain {
            Domain::Physical => self.physical,
            Domain::Network => self.network,
            Domain::Secrets => self.secrets,
            Domain::Code => self.code,
            Domain::Logs => self.logs,
            Domain::Skills => self.skills,
            Domain::Integrity => self.integrity,
            Domain::Social => self.social,
            Domain::Incident => self.incident,
        }
    }
}

/// Where a config came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// No file: built-in defaults.
    Defaults,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Defaults => f.write_str("built-in defaults"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A config that could not be used. Displays as one line: `file:line:column: key: message`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a regular file ({kind}); a config must be a regular file")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: {size} bytes is larger than a config may be ({cap} bytes)")]
    TooLarge { path: PathBuf, size: u64, cap: u64 },
    #[error("{path}: not UTF-8 text; is this a config file?")]
    NotText { path: PathBuf },
    /// Every problem `validate` found, one per line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<ConfigError>),
    #[error("{path}:{line}:{column}: {key}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
}

/// A loaded, validated configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub source: Source,
    /// The exact bytes the config was parsed from (empty for defaults), for its digest.
    pub text: String,
    /// True when running unprivileged without a config: paths are per-user and
    /// discovery covers only the invoking user.
    pub dev_mode: bool,
}

impl Loaded {
    /// `sha256:<hex>` of the settings that shape an assessment (what is inspected, the
    /// caps, the scoring, the waivers), so two postures can be compared. Where state is
    /// kept, the socket and attestation validity do not change a posture and are left out.
    pub fn digest(&self) -> String {
        let mut view = serde_json::to_value(&self.config).unwrap_or_default();
        if let Some(obj) = view.as_object_mut() {
            for key in [
                "state_dir",
                "socket",
                "attestation",
                "server",
                "schedule",
                "events",
                "roles",
                "policy",
            ] {
                obj.remove(key);
            }
        }
        crate::digest::sha256_prefixed(&serde_json::to_vec(&view).unwrap_or_default())
    }
}

/// Loads the configuration the way `clawsecd` does: the given file, else the system file
/// when it exists, else built-in defaults (in dev mode when not root).
pub fn load(explicit: Option<&Path>, known_checks: &[&str]) -> Result<Loaded, ConfigError> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        let dev_mode = !nix::unistd::geteuid().is_root();
        let mut config = Config::default();
        if dev_mode {
            apply_dev_paths(&mut config, &std::env::vars().collect::<Vec<_>>());
        }
        return Ok(Loaded {
            config,
            source: Source::Defaults,
            text: String::new(),
            dev_mode,
        });
    };
    let text = read_config(&path)?;
    let config = parse(&text, &path.display().to_string(), known_checks)?;
    Ok(Loaded {
        config,
        source: Source::File(path),
        text,
        dev_mode: false,
    })
}

/// Largest config file read, in bytes: far more than any real config, and small enough
/// that a path pointing at `/dev/zero` or a huge file cannot grow the daemon.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a config file, refusing at once (without blocking) anything that is not a
/// regular file of text under [`MAX_CONFIG_BYTES`]: a FIFO would wedge a reload, a
/// device would never end.
pub fn read_config(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    let t = meta.file_type();
    if !t.is_file() {
        let kind = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else {
            "a socket or special file"
        };
        return Err(ConfigError::NotRegular {
            path: path.to_path_buf(),
            kind,
        });
    }
    let too_large = |size| ConfigError::TooLarge {
        path: path.to_path_buf(),
        size,
        cap: MAX_CONFIG_BYTES,
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| ConfigError::NotText {
        path: path.to_path_buf(),
    })
}

/// Parses and validates config text. `origin` names the file in errors.
pub fn parse(text: &str, origin: &str, known_checks: &[&str]) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let (line, column) = line_col(text, offset);
        // The text may not be a config at all (a path pointing at /etc/shadow): name
        // only something shaped like a config key, and never quote the text itself.
        let key = key_at(text, offset)
            .filter(|k| looks_like_key(k))
            .unwrap_or_else(|| "(document)".into());
        let first = ConfigError::Invalid {
            path: origin.into(),
            line,
            column,
            key: key.clone(),
            message: clean_message(e.message()),
        };
        // serde stops at the first bad value; find the others, each in isolation, so
        // one run names every one of them.
        let mut all = vec![first];
        for (other, message) in shape_errors(text) {
            if other != key && looks_like_key(&other) {
                let (line, column) = locate_key(text, &other);
                all.push(ConfigError::Invalid {
                    path: origin.into(),
                    line,
                    column,
                    key: other,
                    message: clean_message(&message),
                });
            }
        }
        if all.len() == 1 {
            all.remove(0)
        } else {
            ConfigError::Several(all)
        }
    })?;
    config.validate(known_checks).map_err(|all| {
        let mut errors: Vec<ConfigError> = all
            .into_iter()
            .map(|v| {
                let (line, column) = locate_key(text, &v.key);
                ConfigError::Invalid {
                    path: origin.into(),
                    line,
                    column,
                    key: v.key,
                    message: v.message,
                }
            })
            .collect();
        if errors.len() == 1 {
            errors.remove(0)
        } else {
            ConfigError::Several(errors)
        }
    })?;
    Ok(config)
}

/// A deserializer's message made safe to print: one line, secrets redacted, bounded.
fn clean_message(message: &str) -> String {
    crate::secrets::redact(&first_line(message))
        .chars()
        .take(200)
        .collect()
}

/// Every key of a syntactically valid TOML text whose value does not fit the config's
/// shape (unknown key, wrong type), as (dotted key, message): each value is tried alone
/// with everything else at its default, narrowing into tables to the innermost culprit.
/// Empty when the text is not TOML at all (the first error says that).
fn shape_errors(text: &str) -> Vec<(String, String)> {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in &table {
        narrow(&mut vec![k.clone()], v, &mut out);
    }
    out
}

fn narrow(path: &mut Vec<String>, value: &toml::Value, out: &mut Vec<(String, String)>) {
    let mut wrapped = value.clone();
    for k in path.iter().rev() {
        let mut t = toml::Table::new();
        t.insert(k.clone(), wrapped);
        wrapped = toml::Value::Table(t);
    }
    let Err(e) = wrapped.try_into::<Config>() else {
        return;
    };
    let message = e.message().to_owned();
    if let toml::Value::Table(t) = value {
        let before = out.len();
        for (k, child) in t {
            path.push(k.clone());
            narrow(path, child, out);
            path.pop();
        }
        // A child alone may lack its siblings ("missing field"): such errors belong to
        // the table, which is reported whole below when no child is to blame.
        let mut i = before;
        while i < out.len() {
            if out[i].1.starts_with("missing field") {
                out.remove(i);
            } else {
                i += 1;
            }
        }
        if out.len() > before {
            return;
        }
    }
    out.push((dotted(path), message));
}

/// `policy.actions."fs.write"`: a path of keys as the config's errors name it.
fn dotted(path: &[String]) -> String {
    path.iter()
        .map(|k| {
            if !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                k.clone()
            } else {
                format!("{k:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A value that parsed but cannot be used; `key` is the dotted path, e.g. `waivers[1].expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Config {
    /// Rejects values that parse but cannot work. `known_checks` are the catalogue's ids,
    /// so a waiver for a misspelt check is an error rather than a silent no-op.
    pub fn validate(&self, known_checks: &[&str]) -> Result<(), Vec<Invalid>> {
        let mut errors: Vec<Invalid> = Vec::new();
        let mut bad = |key: &str, message: String| {
            errors.push(Invalid {
                key: key.into(),
                message,
            })
        };
        if !self.host_root.is_absolute() {
            bad("host_root", "must be an absolute path".into());
        }
        if !self.state_dir.is_absolute() {
            bad("state_dir", "must be an absolute path".into());
        }
        if !self.socket.is_absolute() {
            bad("socket", "must be an absolute path".into());
        }
        if !self.advisories.path.is_absolute() {
            bad("advisories.path", "must be an absolute path".into());
        }
        let l = &self.limits;
        let sv = &self.server;
        let ev = &self.events;
        // Every number has a range: past these, a value is a typo or an attack (a
        // validity that overflows a timestamp, a budget that lets one read exhaust memory).
        for (key, value, max) in [
            ("limits.max_file_bytes", l.max_file_bytes, 1 << 30),
            (
                "limits.max_dir_entries",
                u64::from(l.max_dir_entries),
                10_000_000,
            ),
            ("limits.max_depth", u64::from(l.max_depth), 4096),
            ("limits.max_walk_entries", l.max_walk_entries, 1_000_000_000),
            ("limits.max_total_bytes", l.max_total_bytes, 1 << 36),
            (
                "limits.max_processes",
                u64::from(l.max_processes),
                4_194_304,
            ),
            ("limits.check_timeout_ms", l.check_timeout_ms, 3_600_000),
            (
                "attestation.validity_secs",
                self.attestation.validity_secs,
                31_622_400,
            ),
            (
                "server.max_request_bytes",
                u64::from(sv.max_request_bytes),
                16 << 20,
            ),
            ("server.request_timeout_ms", sv.request_timeout_ms, 600_000),
            (
                "server.max_concurrent_per_connection",
                u64::from(sv.max_concurrent_per_connection),
                1024,
            ),
            (
                "server.assess_per_minute",
                u64::from(sv.assess_per_minute),
                600,
            ),
            ("server.assess_burst", u64::from(sv.assess_burst), 100),
            (
                "server.max_watches_per_uid",
                u64::from(sv.max_watches_per_uid),
                100_000,
            ),
            (
                "server.max_connections_per_uid",
                u64::from(sv.max_connections_per_uid),
                8_192,
            ),
            (
                "server.max_connections",
                u64::from(sv.max_connections),
                8_192,
            ),
            (
                "server.handshake_timeout_ms",
                sv.handshake_timeout_ms,
                60_000,
            ),
            ("server.idle_timeout_secs", sv.idle_timeout_secs, 86_400),
            ("events.debounce_ms", ev.debounce_ms, 60_000),
            ("events.proc_poll_ms", ev.proc_poll_ms, 3_600_000),
            ("events.queue", u64::from(ev.queue), 1_000_000),
        ] {
            if value == 0 {
                bad(key, "must be greater than 0".into());
            } else if value > max {
                bad(key, format!("must be at most {max}"));
            }
        }
        if l.max_total_bytes < l.max_file_bytes {
            bad(
                "limits.max_total_bytes",
                "must be at least limits.max_file_bytes".into(),
            );
        }
        let intervals = Domain::ALL
            .iter()
            .map(|d| (format!("schedule.{}", d.id()), self.schedule.interval(*d)))
            .chain([("schedule.tree_walks".to_owned(), self.schedule.tree_walks)]);
        for (key, secs) in intervals {
            if !(5..=604_800).contains(&secs) {
                bad(&key, "must be between 5 seconds and a week (604800)".into());
            }
        }
        if self.schedule.splay_percent > 50 {
            bad("schedule.splay_percent", "must be at most 50".into());
        }
        for (list, entries) in [
            ("roles.readers", &self.roles.readers),
            ("roles.operators", &self.roles.operators),
            ("roles.admins", &self.roles.admins),
        ] {
            for e in entries {
                let ok = match e.split_once(':') {
                    Some(("uid" | "gid", n)) => n.parse::<u32>().is_ok(),
                    Some(("user" | "group", n)) => !n.is_empty(),
                    _ => false,
                };
                if !ok {
                    bad(
                        list,
                        format!("{e:?} is not uid:N, user:NAME, gid:N or group:NAME"),
                    );
                }
            }
        }
        let tiers = ["HIGH", "MEDIUM", "LOW", "UNTRUSTED"];
        for (name, p) in std::iter::once(("default", &self.policy.default))
            .chain(self.policy.actions.iter().map(|(k, v)| (k.as_str(), v)))
        {
            let key = if name == "default" {
                "policy.default".to_owned()
            } else {
                format!("policy.actions.{name}")
            };
            if !tiers.contains(&p.min_tier.as_str()) {
                bad(
                    &format!("{key}.min_tier"),
                    format!("{:?} is not HIGH, MEDIUM, LOW or UNTRUSTED", p.min_tier),
                );
            }
            if let Some(d) = p.no_critical_in.iter().find(|d| Domain::parse(d).is_none()) {
                bad(
                    &format!("{key}.no_critical_in"),
                    format!("{d:?} is not a domain id"),
                );
            }
            if !(1..=31_622_400).contains(&p.max_age_secs) {
                bad(
                    &format!("{key}.max_age_secs"),
                    "must be between 1 and 31622400 (a year)".into(),
                );
            }
        }
        if Domain::ALL
            .iter()
            .all(|d| self.scoring.domain_weights.get(*d) == 0)
        {
            bad(
                "scoring.domain_weights",
                "at least one domain needs a weight above 0".into(),
            );
        }
        for (i, w) in self.waivers.iter().enumerate() {
            if !known_checks.contains(&w.check.as_str()) {
                bad(
                    &format!("waivers[{i}].check"),
                    format!("no check has the id {:?}", w.check),
                );
            }
            if w.reason.trim().is_empty() {
                bad(
                    &format!("waivers[{i}].reason"),
                    "a waiver needs a reason".into(),
                );
            }
            if let Err(e) = Date::parse(&w.expires) {
                bad(&format!("waivers[{i}].expires"), e.to_string());
            }
        }
        for entry in &self.skills.deny {
            let hex = entry.strip_prefix("sha256:");
            let well_formed = match hex {
                Some(h) => h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
                None => !entry.trim().is_empty(),
            };
            if !well_formed {
                bad(
                    "skills.deny",
                    format!("{entry:?} is neither a skill name nor sha256:<64 hex digits>"),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Dev-mode paths: per-user runtime and state directories, so an unprivileged
/// `cargo run` needs no root.
fn apply_dev_paths(config: &mut Config, env: &[(String, String)]) {
    let var = |name: &str| {
        env.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| PathBuf::from(v))
    };
    let home = var("HOME").unwrap_or_else(|| PathBuf::from("/tmp"));
    let state = var("XDG_STATE_HOME").unwrap_or_else(|| home.join(".local/state"));
    config.state_dir = state.join("clawsec");
    let runtime = var("XDG_RUNTIME_DIR").unwrap_or_else(|| config.state_dir.join("run"));
    config.socket = runtime.join("clawsec/clawsecd.sock");
}

/// A dotted config key as `key_at` reports it (`limits.max_depth`, `waivers[1].expires`,
/// `policy.actions."fs.write"`), short and made of key characters only.
fn looks_like_key(k: &str) -> bool {
    k.len() <= 80
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.[]\"".contains(c))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_owned()
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key a byte offset belongs to: the enclosing table header plus the key on
/// that line (or the header itself when the offset is in it).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let mut table = String::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    for l in text[..line_start].lines() {
        if let Some(h) = header(l) {
            table = h.name.clone();
            if h.array {
                let n = index.entry(h.name.clone()).or_insert(0);
                *n += 1;
                table = format!("{}[{}]", h.name, *n - 1);
            }
        }
    }
    if let Some(h) = header(line) {
        return Some(h.name);
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return (!table.is_empty()).then_some(table);
    }
    Some(if table.is_empty() {
        key.to_owned()
    } else {
        format!("{table}.{key}")
    })
}

struct Header {
    name: String,
    array: bool,
}

fn header(line: &str) -> Option<Header> {
    let l = line.trim();
    if let Some(inner) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
        return Some(Header {
            name: inner.trim().to_owned(),
            array: true,
        });
    }
    let inner = l.strip_prefix('[')?.split(']').next()?;
    Some(Header {
        name: inner.trim().to_owned(),
        array: false,
    })
}

/// Finds where a dotted key (as produced by `validate`) is written, for error positions.
/// Falls back to the start of the file when the key is not written (a default).
fn locate_key(text: &str, key: &str) -> (usize, usize) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if !trimmed.starts_with('[') && trimmed.contains('=') {
            if key_at(text, offset + indent).as_deref() == Some(key) {
                return line_col(text, offset + indent);
            }
        } else if header(trimmed).is_some_and(|h| h.name == key) {
            return line_col(text, offset + indent);
        }
        offset += line.len();
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: &[&str] = &["NET-001", "SEC-001"];

    fn err(text: &str) -> String {
        parse(text, "/etc/clawsec/clawsecd.toml", CHECKS)
            .expect_err("config should be rejected")
            .to_string()
    }

    #[test]
    fn every_value_of_the_wrong_shape_is_named_not_only_the_first() {
        let text = "agent_id = 5\nbogus_key = 1\n[limits]\nmax_depth = \"x\"\nmax_file_bytes = 10\n[policy.actions.\"fs.write\"]\nmin_tier = 7\n";
        let e = err(text);
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 4, "{e}");
        assert!(
            lines[0].starts_with("/etc/clawsec/clawsecd.toml:1:12: agent_id: invalid type"),
            "{e}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("/etc/clawsec/clawsecd.toml:2:1: bogus_key: unknown field")),
            "{e}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l
                    .starts_with("/etc/clawsec/clawsecd.toml:4:1: limits.max_depth: invalid type")),
            "{e}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("policy.actions.\"fs.write\".min_tier: ")),
            "{e}"
        );
    }

    #[test]
    fn skills_deny_entries_are_names_or_sha256() {
        let e = err("[skills]\ndeny = [\"ok-name\", \"sha256:abc\"]\n");
        assert!(
            e.starts_with("/etc/clawsec/clawsecd.toml:2:1: skills.deny: \"sha256:abc\" is neither"),
            "{e}"
        );
        let good = format!(
            "[skills]\ndeny = [\"weather-pro\", \"sha256:{}\"]\n",
            "a".repeat(64)
        );
        assert_eq!(parse(&good, "x", CHECKS).unwrap().skills.deny.len(), 2);
    }

    #[test]
    fn empty_config_is_the_defaults() {
        assert_eq!(parse("", "x", CHECKS).unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_names_file_line_column_and_key() {
        let e = err("agent_id = \"a\"\n\n[limits]\nmax_file_bytes = 10\nmax_fil_bytes = 3\n");
        assert!(
            e.starts_with("/etc/clawsec/clawsecd.toml:5:1: limits.max_fil_bytes: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = err("[limits]\ncheck_timeout_ms = \"soon\"\n");
        assert!(
            e.starts_with("/etc/clawsec/clawsecd.toml:2:20: limits.check_timeout_ms: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_has_a_position() {
        let e = err("agent_id = \"unterminated\n");
        assert!(e.starts_with("/etc/clawsec/clawsecd.toml:1:"), "{e}");
    }

    #[test]
    fn validation_errors_point_at_the_key() {
        let text = "[[waivers]]\ncheck = \"NET-001\"\nreason = \"lab host\"\nexpires = \"2026-12-31\"\n\n[[waivers]]\ncheck = \"SEC-001\"\nreason = \"rotating\"\nexpires = \"2026-02-30\"\n";
        let e = err(text);
        assert!(
            e.starts_with("/etc/clawsec/clawsecd.toml:9:1: waivers[1].expires: expected a date"),
            "{e}"
        );
        let e = err("[[waivers]]\ncheck = \"NOPE-1\"\nreason = \"x\"\nexpires = \"2026-12-31\"\n");
        assert!(
            e.contains(":2:1: waivers[0].check: no check has the id"),
            "{e}"
        );
        let e = err("[limits]\nmax_depth = 0\n");
        assert!(
            e.contains(":2:1: limits.max_depth: must be greater than 0"),
            "{e}"
        );
        let e = err("[advisories]\npath = \"osv\"\n");
        assert!(
            e.contains(":2:1: advisories.path: must be an absolute path"),
            "{e}"
        );
        let e = err("host_root = \"relative/dir\"\n");
        assert!(
            e.contains(":1:1: host_root: must be an absolute path"),
            "{e}"
        );
    }

    #[test]
    fn unknown_domain_weight_is_rejected() {
        let e = err("[scoring.domain_weights]\nnetwrk = 2\n");
        assert!(
            e.contains(":2:1: scoring.domain_weights.netwrk: unknown field"),
            "{e}"
        );
    }

    /// The shipped example documents every key with its default value.
    #[test]
    fn example_config_is_the_defaults() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/clawsecd.example.toml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let parsed = parse(&text, path, CHECKS).unwrap();
        assert_eq!(
            parsed,
            Config::default(),
            "config/clawsecd.example.toml drifted from Config::default()"
        );
        // Every key the defaults serialize to is written out (uncommented) in the example.
        let defaults: toml::Table =
            toml::from_str(&toml::to_string(&Config::default()).unwrap()).unwrap();
        let example: toml::Table = toml::from_str(&text).unwrap();
        fn keys(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
            for (k, v) in t {
                let key = format!("{prefix}{k}");
                if let toml::Value::Table(inner) = v {
                    keys(inner, &format!("{key}."), out);
                } else {
                    out.push(key);
                }
            }
        }
        let (mut want, mut have) = (Vec::new(), Vec::new());
        keys(&defaults, "", &mut want);
        keys(&example, "", &mut have);
        want.sort();
        have.sort();
        assert_eq!(
            want, have,
            "keys missing from or extra in the example config"
        );
    }

    #[test]
    fn dev_paths_follow_xdg() {
        let mut c = Config::default();
        let env = vec![
            ("HOME".to_owned(), "/home/ada".to_owned()),
            ("XDG_RUNTIME_DIR".to_owned(), "/run/user/1000".to_owned()),
        ];
        apply_dev_paths(&mut c, &env);
        assert_eq!(c.state_dir, PathBuf::from("/home/ada/.local/state/clawsec"));
        assert_eq!(
            c.socket,
            PathBuf::from("/run/user/1000/clawsec/clawsecd.sock")
        );
    }
}
