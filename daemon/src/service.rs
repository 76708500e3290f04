//! The service layer: every call of the local API, independent of transport. gRPC (and
//! later REST) convert requests into these calls and results back; they hold no state
//! and make no decisions of their own.
//!
//! The current posture and attestation live in a `watch` channel as one immutable
//! snapshot, so reading it never waits for a scan. Assessments run one at a time (a
//! mutex), on blocking threads, and merge per-domain partial runs into the full result
//! set before re-scoring, storing and re-signing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use clawsec_proto::attestation::keyfiles;
use clawsec_proto::attestation::{Attestation, HostIdentity, PublicKey};
use clawsec_proto::time::Date;
use tokio::sync::watch;

use crate::attest::{self, Format, Signer};
use crate::authorize::{self, Decision};
use crate::checks::{self, Check, Domain, ErrorKind, Status};
use crate::config::{self, Loaded};
use crate::engine::{self, CheckRun, Plan};
use crate::posture::PostureDoc;
use crate::roles::{Caller, Role, RoleTable, role_of};
use crate::scoring::Tier;
use crate::store::Store;

/// Why a call was refused or failed. Each transport maps every variant to its own status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("permission denied: {caller} needs the {needed} role")]
    PermissionDenied { caller: String, needed: Role },
    #[error(
        "rate limited: {caller} may ask for new work on the host (an assessment, a fresh attestation or an inventory) again in {retry_after_secs} s"
    )]
    RateLimited {
        caller: String,
        retry_after_secs: u64,
    },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("not available: {0}")]
    Unavailable(String),
    #[error("too many: {0}")]
    TooMany(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The current posture, its signed attestation and when it was assessed.
#[derive(Debug)]
pub struct Snapshot {
    pub posture: PostureDoc,
    pub attestation: Attestation,
    /// The attestation as JSON, as written to disk.
    pub attestation_json: String,
    /// `sha256:<hex>` of the attestation (what Authorize decisions cite).
    pub attestation_digest: String,
    /// When the posture was assessed (monotonic, for its age).
    pub assessed_at: Instant,
    /// Checks whose outcome changed in the assessment that produced this snapshot.
    pub changed_checks: Vec<String>,
    /// The posture in its protobuf form, built by the first `GetPosture` that needs it:
    /// readers then share one conversion per snapshot instead of one per call.
    pub proto: std::sync::OnceLock<clawsec_proto::pb::Posture>,
    /// The posture as the `clawsec.posture/v1` document (`--assess-only --json`'s very
    /// bytes), built by the first reader that asks for it.
    pub document: std::sync::OnceLock<String>,
}

impl Snapshot {
    pub fn age(&self) -> Duration {
        self.assessed_at.elapsed()
    }
}

/// What an assessment runs: whole domains (the schedule, `Assess`) or named checks
/// (a file or process event affecting only them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Domains(Vec<Domain>),
    /// A scheduled run of these domains: whole-tree walks that ran recently keep their
    /// result (`schedule.tree_walks`).
    Scheduled(Vec<Domain>),
    Checks(std::collections::BTreeSet<&'static str>),
}

impl Selection {
    fn includes(&self, c: &Check) -> bool {
        match self {
            Selection::Domains(d) | Selection::Scheduled(d) => d.contains(&c.domain),
            Selection::Checks(ids) => ids.contains(c.id),
        }
    }

    fn domains(&self) -> Option<&[Domain]> {
        match self {
            Selection::Domains(d) | Selection::Scheduled(d) => Some(d),
            Selection::Checks(_) => None,
        }
    }
}

/// Whether a run must end in a new signed attestation. Scheduled runs and `Assess`
/// always sign (the design: re-signed after every assessment); runs triggered by file or
/// process events sign only when the result changed, or a busy host's process churn would
/// append a chain link many times a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signing {
    Always,
    IfChanged,
}

/// A token bucket per caller uid, for `Assess`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The daemon's state and the calls on it.
#[derive(Debug)]
pub struct Service {
    catalog: Vec<&'static Check>,
    loaded: RwLock<Arc<Loaded>>,
    config_path: Option<PathBuf>,
    host_root: Option<PathBuf>,
    state_dir: PathBuf,
    signer: RwLock<Arc<Signer>>,
    keys: RwLock<Vec<PublicKey>>,
    store: Mutex<Store>,
    host: RwLock<HostIdentity>,
    runs: Mutex<BTreeMap<&'static str, CheckRun>>,
    timeouts: Mutex<HashMap<&'static str, u32>>,
    latest: watch::Sender<Arc<Snapshot>>,
    roles: RwLock<Arc<RoleTable>>,
    /// Event counters (shared with the events task) and domains whose results may be out
    /// of date because events were lost, until their re-scan completes.
    counters: Arc<crate::events::Counters>,
    stale: Mutex<std::collections::BTreeSet<Domain>>,
    assess_lock: tokio::sync::Mutex<()>,
    busy_since: Mutex<Option<Instant>>,
    limiter: Mutex<HashMap<u32, Bucket>>,
    /// Open posture watches per caller uid (`server.max_watches_per_uid`).
    watches: Arc<Mutex<HashMap<u32, u32>>>,
    daemon_uid: u32,
}

/// One open posture watch, counted against its caller's uid until dropped.
#[derive(Debug)]
pub struct WatchPermit {
    uid: u32,
    watches: Arc<Mutex<HashMap<u32, u32>>>,
}

impl Drop for WatchPermit {
    fn drop(&mut self) {
        if let Ok(mut w) = self.watches.lock()
            && let Some(n) = w.get_mut(&self.uid)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                w.remove(&self.uid);
            }
        }
    }
}

/// How a service is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_path: Option<PathBuf>,
    pub host_root: Option<PathBuf>,
    pub state_dir: PathBuf,
}

/// After this many consecutive timeouts a check is skipped (reported as backed off) for
/// that many scheduled runs, doubling each time, up to `MAX_BACKOFF_RUNS`.
const TIMEOUTS_BEFORE_BACKOFF: u32 = 3;
const MAX_BACKOFF_RUNS: u32 = 32;

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub config_digest: String,
    /// One line per changed key that keeps its running value until a restart.
    pub restart_required: Vec<String>,
}

impl Service {
    /// Opens keys and store, runs the first full assessment and signs it. Nothing is
    /// served before this returns, so a connected client always sees a signed posture.
    pub fn start(loaded: Loaded, opts: Options) -> Result<Arc<Service>, ServiceError> {
        keyfiles::create_private_dir(&opts.state_dir).map_err(internal)?;
        let keys_dir = attest::keys_dir(&opts.state_dir);
        keyfiles::check_state_dir(&opts.state_dir, &keys_dir).map_err(internal)?;
        let signer = Signer::from_state_dir(&keys_dir).map_err(internal)?;
        let mut keys = keyfiles::load_public_keys(&keys_dir).map_err(internal)?;
        if !keys.contains(signer.public()) {
            keys.push(signer.public().clone());
        }
        let store = Store::open(&opts.state_dir).map_err(internal)?;
        let catalog = checks::catalog();
        let (tx, _) = watch::channel(Arc::new(Snapshot {
            posture: placeholder_posture(),
            attestation: placeholder_attestation(),
            attestation_json: String::new(),
            attestation_digest: String::new(),
            assessed_at: Instant::now(),
            changed_checks: Vec::new(),
            proto: Default::default(),
            document: Default::default(),
        }));
        let svc = Arc::new(Service {
            catalog,
            roles: RwLock::new(Arc::new(RoleTable::resolve(&loaded.config.roles))),
            counters: Arc::new(crate::events::Counters::default()),
            stale: Mutex::new(std::collections::BTreeSet::new()),
            loaded: RwLock::new(Arc::new(loaded)),
            config_path: opts.config_path,
            host_root: opts.host_root,
            state_dir: opts.state_dir,
            signer: RwLock::new(Arc::new(signer)),
            keys: RwLock::new(keys),
            store: Mutex::new(store),
            host: RwLock::new(HostIdentity {
                hostname: String::new(),
                machine_id_sha256: String::new(),
                boot_id: String::new(),
            }),
            runs: Mutex::new(BTreeMap::new()),
            timeouts: Mutex::new(HashMap::new()),
            latest: tx,
            assess_lock: tokio::sync::Mutex::new(()),
            busy_since: Mutex::new(None),
            limiter: Mutex::new(HashMap::new()),
            watches: Arc::new(Mutex::new(HashMap::new())),
            daemon_uid: nix::unistd::geteuid().as_raw(),
        });
        svc.assess_now(&Selection::Domains(Domain::ALL.to_vec()), Signing::Always)?;
        Ok(svc)
    }

    pub fn config(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .map(|l| Arc::clone(&l))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }

    /// The latest snapshot. Never blocks on a scan.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.latest.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.latest.subscribe()
    }

    /// A reader's posture watch: its subscription and the permit that counts it. Each
    /// uid may hold `server.max_watches_per_uid` at once, so one reader cannot open
    /// tens of thousands of streams and grow the daemon without bound.
    pub fn open_watch(
        &self,
        caller: &Caller,
    ) -> Result<(watch::Receiver<Arc<Snapshot>>, WatchPermit), ServiceError> {
        self.get_posture(caller)?;
        let max = self.config().config.server.max_watches_per_uid;
        let mut w = self.watches.lock().map_err(internal)?;
        let n = w.entry(caller.uid).or_insert(0);
        if *n >= max {
            return Err(ServiceError::TooMany(format!(
                "uid {} already has {max} open posture watches (server.max_watches_per_uid)",
                caller.uid
            )));
        }
        *n += 1;
        Ok((
            self.subscribe(),
            WatchPermit {
                uid: caller.uid,
                watches: Arc::clone(&self.watches),
            },
        ))
    }

    /// How long the current assessment has been running, if one is.
    pub fn busy_for(&self) -> Option<Duration> {
        self.busy_since
            .lock()
            .ok()
            .and_then(|b| b.map(|t| t.elapsed()))
    }

    pub fn catalog(&self) -> &[&'static Check] {
        &self.catalog
    }

    /// Checks that the caller holds at least `needed`.
    pub fn require(&self, caller: &Caller, needed: Role) -> Result<Role, ServiceError> {
        let table = self
            .roles
            .read()
            .map(|t| Arc::clone(&t))
            .unwrap_or_default();
        match role_of(caller, &table, self.daemon_uid) {
            Some(r) if r >= needed => Ok(r),
            _ => Err(ServiceError::PermissionDenied {
                caller: caller.to_string(),
                needed,
            }),
        }
    }

    pub fn get_posture(&self, caller: &Caller) -> Result<Arc<Snapshot>, ServiceError> {
        self.require(caller, Role::Reader)?;
        Ok(self.snapshot())
    }

    pub fn list_checks(&self, caller: &Caller) -> Result<&[&'static Check], ServiceError> {
        self.require(caller, Role::Reader)?;
        Ok(&self.catalog)
    }

    /// The latest attestation, or a fresh one bound to `nonce`, in the requested form.
    pub async fn get_attestation(
        self: &Arc<Self>,
        caller: &Caller,
        nonce: Option<String>,
        format: Format,
    ) -> Result<(String, String), ServiceError> {
        self.require(caller, Role::Reader)?;
        let snap = match nonce {
            None => self.snapshot(),
            Some(n) => {
                crate::cli::parse_nonce(&n).map_err(ServiceError::InvalidArgument)?;
                // Each fresh attestation is a signature and a new link in the chain: it
                // shares Assess's per-caller budget, so no reader can flood the store.
                self.take_assess_token(caller)?;
                let me = Arc::clone(self);
                tokio::task::spawn_blocking(move || me.resign(Some(n)))
                    .await
                    .map_err(internal)??
            }
        };
        let signer = self.signer();
        let text = match format {
            Format::Json => snap.attestation_json.clone(),
            other => signer
                .render(&snap.attestation, other)
                .map_err(ServiceError::Internal)?,
        };
        Ok((text, snap.attestation_digest.clone()))
    }

    /// Runs an assessment now (all domains, or those named) and returns the new snapshot.
    pub async fn assess(
        self: &Arc<Self>,
        caller: &Caller,
        domains: &[String],
    ) -> Result<Arc<Snapshot>, ServiceError> {
        self.require(caller, Role::Operator)?;
        let domains = if domains.is_empty() {
            Domain::ALL.to_vec()
        } else {
            domains
                .iter()
                .map(|d| {
                    Domain::parse(d).ok_or_else(|| {
                        ServiceError::InvalidArgument(format!("{d:?} is not a domain id"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        self.take_assess_token(caller)?;
        self.run(domains).await
    }

    /// Runs the named domains (used by `Assess` and the scheduler), one run at a time.
    pub async fn run(
        self: &Arc<Self>,
        domains: Vec<Domain>,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        self.run_one(Selection::Domains(domains), Signing::Always)
            .await
    }

    /// A scheduled run of the named domains: like [`Service::run`], except that a
    /// whole-tree walk whose result is younger than `schedule.tree_walks` keeps it.
    pub async fn run_scheduled(
        self: &Arc<Self>,
        domains: Vec<Domain>,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        self.run_one(Selection::Scheduled(domains), Signing::Always)
            .await
    }

    /// Runs the named domains after a process event: signs only if the result changed.
    pub async fn run_on_event(
        self: &Arc<Self>,
        domains: Vec<Domain>,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        self.run_one(Selection::Domains(domains), Signing::IfChanged)
            .await
    }

    /// Runs only the named checks (what a file or process event affects).
    pub async fn run_checks(
        self: &Arc<Self>,
        ids: std::collections::BTreeSet<&'static str>,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        self.run_one(Selection::Checks(ids), Signing::IfChanged)
            .await
    }

    /// One assessment on a blocking thread; runs never overlap.
    async fn run_one(
        self: &Arc<Self>,
        selection: Selection,
        signing: Signing,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        let _one_at_a_time = self.assess_lock.lock().await;
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || me.assess_now(&selection, signing))
            .await
            .map_err(internal)?
    }

    pub fn counters(&self) -> Arc<crate::events::Counters> {
        Arc::clone(&self.counters)
    }

    /// Marks domains as possibly out of date (events were lost) until they are re-run.
    pub fn mark_stale(&self, domains: &[Domain]) {
        if let Ok(mut s) = self.stale.lock() {
            s.extend(domains.iter().copied());
        }
        // Subscribers (WatchPosture) hear of it now, with the same results marked stale;
        // the re-scan that clears the marks publishes again.
        self.latest.send_modify(|_| {});
    }

    /// Every domain currently marked stale, read under one lock.
    /// The `clawsec.posture/v1` document of `snap` with the daemon's additive `daemon`
    /// section: the posture's age, the domains that may be stale, the event counters
    /// (docs/posture.md). What `clawsecctl posture --json` prints.
    pub fn posture_document(&self, snap: &Snapshot) -> String {
        let doc = snap
            .document
            .get_or_init(|| serde_json::to_string_pretty(&snap.posture).unwrap_or_default());
        let stale: Vec<&str> = self.stale_domains().iter().map(|d| d.id()).collect();
        let section = serde_json::json!({
            "age_ms": snap.age().as_millis() as u64,
            "stale_domains": stale,
            "events": self.counters().to_json(),
        });
        crate::posture::with_section(doc, "daemon", &section)
    }

    pub fn stale_domains(&self) -> std::collections::BTreeSet<Domain> {
        self.stale.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The host root assessments inspect, and the directories whose changes must not
    /// trigger them (ClawSec's own state).
    pub fn host_root(&self) -> PathBuf {
        self.host_root
            .clone()
            .unwrap_or_else(|| self.config().config.host_root.clone())
    }

    pub fn state_dir(&self) -> &std::path::Path {
        &self.state_dir
    }

    /// The inventory of the host (`format` "json" or "cyclonedx"), read fresh. Reader
    /// role; it reads the host, so it takes a token from the caller's assess bucket.
    pub async fn inventory(
        self: &Arc<Self>,
        caller: &Caller,
        format: &str,
    ) -> Result<String, ServiceError> {
        self.require(caller, Role::Reader)?;
        let cyclonedx = match format {
            "" | "json" => false,
            "cyclonedx" => true,
            other => {
                return Err(ServiceError::InvalidArgument(format!(
                    "{other:?} is not an inventory format (json, cyclonedx)"
                )));
            }
        };
        self.take_assess_token(caller)?;
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let loaded = me.config();
            let setup = crate::cli::setup(&loaded, me.host_root.as_deref(), &me.catalog)
                .map_err(internal)?;
            let inv = crate::inventory::build(
                &setup.facts,
                &setup.context.hostname,
                &me.host_root(),
                &clawsec_proto::time::format_rfc3339(std::time::SystemTime::now()),
            );
            let doc = if cyclonedx {
                crate::inventory::cyclonedx(&inv)
            } else {
                serde_json::to_value(&inv).map_err(internal)?
            };
            serde_json::to_string_pretty(&doc).map_err(internal)
        })
        .await
        .map_err(internal)?
    }

    /// The homes and workspaces the catalogue's `~` and `<workspace>` stand for, as the
    /// next assessment would discover them.
    pub fn discovered_roots(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let loaded = self.config();
        match crate::cli::setup(&loaded, self.host_root.as_deref(), &self.catalog) {
            Ok(setup) => (
                setup.facts.homes().iter().map(|h| h.path.clone()).collect(),
                setup.facts.code_workspaces().to_vec(),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        }
    }

    /// Re-signs the current posture (before it expires, or with a nonce).
    pub async fn refresh_attestation(self: &Arc<Self>) -> Result<Arc<Snapshot>, ServiceError> {
        let _one_at_a_time = self.assess_lock.lock().await;
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || me.resign(None))
            .await
            .map_err(internal)?
    }

    pub fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        min_tier: Option<Tier>,
    ) -> Result<(Decision, Arc<Snapshot>), ServiceError> {
        self.require(caller, Role::Reader)?;
        if action.is_empty()
            || action.len() > 128
            || !action
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:/".contains(c))
        {
            return Err(ServiceError::InvalidArgument(format!(
                "{action:?} is not an action name (letters, digits and ._-:/, at most 128)"
            )));
        }
        let snap = self.snapshot();
        let decision = authorize::decide(
            &self.config().config.policy,
            action,
            min_tier,
            &snap.posture,
            snap.age(),
        );
        Ok((decision, snap))
    }

    /// Re-reads the config file. A bad file keeps the running config and says why.
    pub fn reload(&self, caller: &Caller) -> Result<Reloaded, ServiceError> {
        self.require(caller, Role::Admin)?;
        self.reload_config()
    }

    /// Reload without a caller (SIGHUP). A config that does not load, validate, or
    /// names a `host_root` that is not an existing directory is refused whole, and the
    /// daemon keeps running on the previous one. Keys that only take effect on restart
    /// (`state_dir`, `socket`) keep their running value and are named in the answer.
    pub fn reload_config(&self) -> Result<Reloaded, ServiceError> {
        let ids: Vec<&str> = self.catalog.iter().map(|c| c.id).collect();
        let mut fresh = config::load(self.config_path.as_deref(), &ids)
            .map_err(|e| ServiceError::InvalidArgument(e.to_string()))?;
        let old = self.config();
        if self.host_root.is_none() {
            let root = &fresh.config.host_root;
            if !std::fs::metadata(root).is_ok_and(|m| m.is_dir()) {
                return Err(ServiceError::InvalidArgument(format!(
                    "{}: host_root: {} is not an existing directory; reload refused, still \
                     assessing {}",
                    fresh.source,
                    root.display(),
                    old.config.host_root.display()
                )));
            }
        }
        // Paths that the running daemon has bound or opened do not change on reload.
        let mut restart_required = Vec::new();
        for (key, new, running) in [
            ("state_dir", &fresh.config.state_dir, &old.config.state_dir),
            ("socket", &fresh.config.socket, &old.config.socket),
        ] {
            if new != running {
                restart_required.push(format!(
                    "{key} = {} takes effect only on restart; still using {}",
                    new.display(),
                    running.display()
                ));
            }
        }
        // The socket's settings and the event watching are set up once, at start: name
        // each one that changed, and keep running (and digesting) the values in force.
        {
            let (n, r) = (&fresh.config.server, &old.config.server);
            let (ne, re) = (&fresh.config.events, &old.config.events);
            let changed: [(&str, String, String); 12] = [
                (
                    "server.socket_group",
                    n.socket_group.clone(),
                    r.socket_group.clone(),
                ),
                (
                    "server.max_request_bytes",
                    n.max_request_bytes.to_string(),
                    r.max_request_bytes.to_string(),
                ),
                (
                    "server.request_timeout_ms",
                    n.request_timeout_ms.to_string(),
                    r.request_timeout_ms.to_string(),
                ),
                (
                    "server.max_concurrent_per_connection",
                    n.max_concurrent_per_connection.to_string(),
                    r.max_concurrent_per_connection.to_string(),
                ),
                (
                    "server.max_connections_per_uid",
                    n.max_connections_per_uid.to_string(),
                    r.max_connections_per_uid.to_string(),
                ),
                (
                    "server.max_connections",
                    n.max_connections.to_string(),
                    r.max_connections.to_string(),
                ),
                (
                    "server.handshake_timeout_ms",
                    n.handshake_timeout_ms.to_string(),
                    r.handshake_timeout_ms.to_string(),
                ),
                (
                    "server.idle_timeout_secs",
                    n.idle_timeout_secs.to_string(),
                    r.idle_timeout_secs.to_string(),
                ),
                (
                    "events.enabled",
                    ne.enabled.to_string(),
                    re.enabled.to_string(),
                ),
                (
                    "events.debounce_ms",
                    ne.debounce_ms.to_string(),
                    re.debounce_ms.to_string(),
                ),
                (
                    "events.proc_poll_ms",
                    ne.proc_poll_ms.to_string(),
                    re.proc_poll_ms.to_string(),
                ),
                ("events.queue", ne.queue.to_string(), re.queue.to_string()),
            ];
            for (key, new, running) in changed {
                if new != running {
                    restart_required.push(format!(
                        "{key} = {new} takes effect only on restart; still using {running}"
                    ));
                }
            }
        }
        let live = (
            fresh.config.server.max_watches_per_uid,
            fresh.config.server.assess_per_minute,
            fresh.config.server.assess_burst,
        );
        fresh.config.server = old.config.server.clone();
        (
            fresh.config.server.max_watches_per_uid,
            fresh.config.server.assess_per_minute,
            fresh.config.server.assess_burst,
        ) = live;
        fresh.config.events = old.config.events.clone();
        fresh.config.state_dir = old.config.state_dir.clone();
        fresh.config.socket = old.config.socket.clone();
        fresh.dev_mode = old.dev_mode;
        let config_digest = fresh.digest();
        if let Ok(mut r) = self.roles.write() {
            *r = Arc::new(RoleTable::resolve(&fresh.config.roles));
        }
        if let Ok(mut l) = self.loaded.write() {
            *l = Arc::new(fresh);
        }
        Ok(Reloaded {
            config_digest,
            restart_required,
        })
    }

    /// Replaces the signing key, keeping the old public key for history.
    pub async fn rotate_key(
        self: &Arc<Self>,
        caller: &Caller,
    ) -> Result<(String, String), ServiceError> {
        self.require(caller, Role::Admin)?;
        let _one_at_a_time = self.assess_lock.lock().await;
        let dir = attest::keys_dir(&self.state_dir);
        let (old, new) = keyfiles::rotate(&dir).map_err(internal)?;
        let signer = Signer::from_state_dir(&dir).map_err(internal)?;
        if let Ok(mut s) = self.signer.write() {
            *s = Arc::new(signer);
        }
        if let Ok(mut k) = self.keys.write()
            && !k.contains(&new)
        {
            k.push(new.clone());
        }
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || me.resign(None))
            .await
            .map_err(internal)??;
        Ok((new.kid().to_owned(), old.kid().to_owned()))
    }

    fn signer(&self) -> Arc<Signer> {
        self.signer
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }

    fn take_assess_token(&self, caller: &Caller) -> Result<(), ServiceError> {
        let cfg = self.config();
        let (per_min, burst) = (
            f64::from(cfg.config.server.assess_per_minute),
            f64::from(cfg.config.server.assess_burst),
        );
        let mut buckets = self.limiter.lock().map_err(internal)?;
        let b = buckets.entry(caller.uid).or_insert(Bucket {
            tokens: burst,
            at: Instant::now(),
        });
        let now = Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per_min / 60.0).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) * 60.0 / per_min).ceil() as u64;
            Err(ServiceError::RateLimited {
                caller: caller.to_string(),
                retry_after_secs: wait.max(1),
            })
        }
    }

    /// Runs the checks of `domains` (skipping backed-off ones), merges them into the
    /// latest results, scores, stores, signs and publishes. Blocking.
    fn assess_now(
        &self,
        selection: &Selection,
        signing: Signing,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        if let Ok(mut b) = self.busy_since.lock() {
            *b = Some(Instant::now());
        }
        let result = self.assess_inner(selection, signing);
        if let Ok(mut b) = self.busy_since.lock() {
            *b = None;
        }
        result
    }

    fn assess_inner(
        &self,
        selection: &Selection,
        signing: Signing,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        let loaded = self.config();
        let backed_off = self.backed_off();
        let fresh_walks = self.fresh_tree_walks(selection, &loaded);
        let due: Vec<&'static Check> = self
            .catalog
            .iter()
            .copied()
            .filter(|c| {
                selection.includes(c) && !backed_off.contains(&c.id) && !fresh_walks.contains(&c.id)
            })
            .collect();
        let mut setup = crate::cli::setup(&loaded, self.host_root.as_deref(), &self.catalog)
            .map_err(internal)?;
        let baselines = self.baselines(&loaded);
        if let (Some(b), Some(facts)) = (baselines.clone(), Arc::get_mut(&mut setup.facts)) {
            facts.set_baselines(b);
        }
        let plan = Plan {
            checks: &due,
            waivers: &loaded.config.waivers,
            weights: &loaded.config.scoring.domain_weights,
            timeout: Duration::from_millis(loaded.config.limits.check_timeout_ms),
            today: Date::of(SystemTime::now()),
        };
        let fresh = engine::assess(Arc::clone(&setup.facts), &plan);
        self.note_timeouts(&fresh.runs);
        if let (Some(done), Ok(mut stale)) = (selection.domains(), self.stale.lock()) {
            stale.retain(|d| !done.contains(d));
        }
        if let Some(b) = baselines {
            crate::cli::record_first_baselines(&self.state_dir, b, setup.facts.take_observed());
        }
        let mut runs = self.runs.lock().map_err(internal)?;
        let mut changed = Vec::new();
        for r in fresh.runs {
            if runs
                .get(r.check.id)
                .is_none_or(|old| old.status != r.status)
            {
                changed.push(r.check.id.to_owned());
            }
            runs.insert(r.check.id, r);
        }
        for id in &backed_off {
            if let Some(r) = runs.get_mut(id) {
                r.status = Status::Error;
                r.error_kind = Some(ErrorKind::Timeout);
                r.reason = Some("skipped: backed off after repeated timeouts".into());
            }
        }
        let merged: Vec<CheckRun> = self
            .catalog
            .iter()
            .filter_map(|c| runs.get(c.id).cloned())
            .collect();
        drop(runs);
        let assessment = engine::summarize(
            merged,
            &loaded.config.scoring.domain_weights,
            fresh.coverage,
            fresh.caps,
            fresh.duration,
        );
        let posture = PostureDoc::build(&assessment, &setup.context);
        if let Ok(mut h) = self.host.write() {
            *h = setup.host.clone();
        }
        if signing == Signing::IfChanged {
            let current = self.snapshot();
            let same = current.attestation.seq > 0
                && current.posture.checks_digest == posture.checks_digest
                && current.posture.trust_tier == posture.trust_tier
                && current.posture.overall_score == posture.overall_score;
            if same {
                // Nothing changed: the signed attestation still holds (and is re-signed
                // before it expires); only the posture's age is renewed.
                let snap = Arc::new(Snapshot {
                    posture,
                    attestation: current.attestation.clone(),
                    attestation_json: current.attestation_json.clone(),
                    attestation_digest: current.attestation_digest.clone(),
                    assessed_at: Instant::now(),
                    changed_checks: Vec::new(),
                    proto: Default::default(),
                    document: Default::default(),
                });
                self.latest.send_replace(Arc::clone(&snap));
                return Ok(snap);
            }
        }
        if let Ok(mut store) = self.store.lock() {
            let json = serde_json::to_string(&posture).unwrap_or_default();
            store
                .record_assessment(
                    &posture.generated_at,
                    posture.trust_tier.id(),
                    posture.overall_score,
                    &json,
                )
                .map_err(internal)?;
        }
        self.publish(posture, None, changed, Instant::now())
    }

    /// On a scheduled run, the whole-tree walks whose last result is younger than
    /// `schedule.tree_walks`: they keep it (the posture shows its `assessed_at`).
    fn fresh_tree_walks(&self, selection: &Selection, loaded: &Loaded) -> Vec<&'static str> {
        if !matches!(selection, Selection::Scheduled(_)) {
            return Vec::new();
        }
        let max_age = Duration::from_secs(loaded.config.schedule.tree_walks);
        let Ok(runs) = self.runs.lock() else {
            return Vec::new();
        };
        crate::checks::TREE_WALKS
            .iter()
            .filter_map(|id| runs.get_key_value(id))
            .filter(|(_, r)| r.finished_at.elapsed().is_ok_and(|age| age < max_age))
            .map(|(id, _)| *id)
            .collect()
    }

    /// The approved baselines of the configured host; `None` when inspecting another tree
    /// (a baseline describes one host) or when the file cannot be used (logged; nothing is
    /// recorded over it, so the evidence survives).
    fn baselines(&self, loaded: &Loaded) -> Option<crate::baseline::Baselines> {
        if let Some(root) = &self.host_root {
            let canon = |p: &std::path::Path| std::fs::canonicalize(p).ok();
            if canon(root).is_none() || canon(root) != canon(&loaded.config.host_root) {
                return None;
            }
        }
        match crate::baseline::Baselines::load(&self.state_dir) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::error!(error = %e, "baselines unusable; drift checks run without them");
                None
            }
        }
    }

    /// Approves what the drift checks observe now as their baseline (all, or `ids`).
    pub async fn approve_baseline(
        self: &Arc<Self>,
        caller: &Caller,
        ids: Vec<String>,
    ) -> Result<Vec<String>, ServiceError> {
        self.require(caller, Role::Operator)?;
        let _one_at_a_time = self.assess_lock.lock().await;
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let loaded = me.config();
            let Some(mut baselines) = me.baselines(&loaded) else {
                return Err(ServiceError::Unavailable("baselines apply to the configured host root only, and the baseline file must be readable".into()));
            };
            let setup = crate::cli::setup(&loaded, me.host_root.as_deref(), &me.catalog).map_err(internal)?;
            let plan = Plan {
                checks: &me.catalog,
                waivers: &loaded.config.waivers,
                weights: &loaded.config.scoring.domain_weights,
                timeout: Duration::from_millis(loaded.config.limits.check_timeout_ms),
                today: Date::of(SystemTime::now()),
            };
            engine::assess(Arc::clone(&setup.facts), &plan);
            let observed = setup.facts.take_observed();
            if let Some(unknown) = ids.iter().find(|id| !observed.contains_key(*id)) {
                return Err(ServiceError::InvalidArgument(format!(
                    "{unknown} is not a drift check; drift checks: {}",
                    observed.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            let mut approved = Vec::new();
            for (check, items) in observed {
                if ids.is_empty() || ids.contains(&check) {
                    approved.push(check.clone());
                    baselines.checks.insert(check, items);
                }
            }
            baselines.save(&me.state_dir).map_err(internal)?;
            Ok(approved)
        })
        .await
        .map_err(internal)?
    }

    fn resign(&self, nonce: Option<String>) -> Result<Arc<Snapshot>, ServiceError> {
        let current = self.snapshot();
        self.publish(
            current.posture.clone(),
            nonce,
            Vec::new(),
            current.assessed_at,
        )
    }

    /// Signs `posture` into the chain and makes it the current snapshot.
    fn publish(
        &self,
        posture: PostureDoc,
        nonce: Option<String>,
        changed: Vec<String>,
        assessed_at: Instant,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        let signer = self.signer();
        let keys = self.keys.read().map(|k| k.clone()).unwrap_or_default();
        let host = self.host.read().map(|h| h.clone()).map_err(internal)?;
        let validity = Duration::from_secs(self.config().config.attestation.validity_secs);
        let attestation = {
            let mut store = self.store.lock().map_err(internal)?;
            store
                .append(&keys, |link| {
                    signer.sign(attest::unsigned(
                        &posture,
                        &host,
                        link,
                        SystemTime::now(),
                        validity,
                        nonce.clone(),
                    ))
                })
                .map_err(internal)?
        };
        let attestation_json = signer
            .render(&attestation, Format::Json)
            .map_err(ServiceError::Internal)?;
        let attestation_digest = attestation.digest().map_err(internal)?;
        let snap = Arc::new(Snapshot {
            posture,
            attestation,
            attestation_json,
            attestation_digest,
            assessed_at,
            changed_checks: changed,
            proto: Default::default(),
            document: Default::default(),
        });
        self.latest.send_replace(Arc::clone(&snap));
        Ok(snap)
    }

    fn note_timeouts(&self, runs: &[CheckRun]) {
        let Ok(mut t) = self.timeouts.lock() else {
            return;
        };
        for r in runs {
            if r.error_kind == Some(ErrorKind::Timeout) {
                *t.entry(r.check.id).or_insert(0) += 1;
            } else {
                t.remove(r.check.id);
            }
        }
    }

    /// Checks that timed out too often in a row: skipped for a while so they cannot
    /// hold up every run. Each skipped run counts down their penalty.
    fn backed_off(&self) -> Vec<&'static str> {
        let Ok(mut t) = self.timeouts.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (id, n) in t.iter_mut() {
            if *n >= TIMEOUTS_BEFORE_BACKOFF {
                let penalty = (1u32 << (*n - TIMEOUTS_BEFORE_BACKOFF).min(5)).min(MAX_BACKOFF_RUNS);
                if *n < TIMEOUTS_BEFORE_BACKOFF + penalty {
                    out.push(*id);
                }
                *n += 1;
            }
        }
        out
    }
}

fn placeholder_posture() -> PostureDoc {
    PostureDoc {
        schema: crate::posture::SCHEMA,
        agent_id: String::new(),
        hostname: String::new(),
        host_root: String::new(),
        generated_at: String::new(),
        trust_tier: Tier::Untrusted,
        overall_score: 0,
        score_capped: false,
        critical_failures: Vec::new(),
        domains: BTreeMap::new(),
        checks: Vec::new(),
        waived: Vec::new(),
        coverage: crate::posture::CoverageDoc {
            mode: "full",
            notes: Vec::new(),
        },
        limits_reached: Vec::new(),
        catalog_digest: String::new(),
        config_digest: String::new(),
        checks_digest: String::new(),
    }
}

fn placeholder_attestation() -> Attestation {
    Attestation {
        version: 1,
        agent_id: String::new(),
        host: HostIdentity {
            hostname: String::new(),
            machine_id_sha256: String::new(),
            boot_id: String::new(),
        },
        timestamp: String::new(),
        expires_at: String::new(),
        seq: 0,
        prev: String::new(),
        nonce: None,
        epoch_start: None,
        posture: clawsec_proto::attestation::PostureSummary {
            trust_tier: String::new(),
            overall_score: 0,
            domains: BTreeMap::new(),
            critical_failures: Vec::new(),
            waived: Vec::new(),
        },
        checks_digest: String::new(),
        catalog_digest: String::new(),
        config_digest: String::new(),
        key_id: String::new(),
        alg: String::new(),
        signature: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service on an empty host with the built-in configuration.
    fn started(dir: &std::path::Path) -> Arc<Service> {
        let host = dir.join("host");
        std::fs::create_dir(&host).unwrap();
        let config = dir.join("config.toml");
        std::fs::write(&config, "").unwrap();
        let ids: Vec<&str> = checks::catalog().iter().map(|c| c.id).collect();
        let loaded = config::load(Some(&config), &ids).unwrap();
        let opts = Options {
            config_path: Some(config),
            host_root: Some(host),
            state_dir: dir.join("state"),
        };
        Service::start(loaded, opts).unwrap()
    }

    #[tokio::test]
    async fn stale_domains_clear_only_when_their_domain_runs_again() {
        let dir = tempfile::tempdir().unwrap();
        let service = started(dir.path());
        assert!(service.stale_domains().is_empty());

        service.mark_stale(&[Domain::Network, Domain::Secrets]);
        let want: std::collections::BTreeSet<_> = [Domain::Network, Domain::Secrets].into();
        assert_eq!(service.stale_domains(), want);

        // Re-running single checks (an event run) does not vouch for a whole domain.
        let one = service
            .catalog()
            .iter()
            .find(|c| c.domain == Domain::Network)
            .unwrap()
            .id;
        service.run_checks([one].into()).await.unwrap();
        assert_eq!(service.stale_domains(), want);

        service.run(vec![Domain::Network]).await.unwrap();
        assert_eq!(service.stale_domains(), [Domain::Secrets].into());
    }

    #[tokio::test]
    async fn scheduled_runs_keep_a_fresh_tree_walk_and_explicit_runs_repeat_it() {
        let dir = tempfile::tempdir().unwrap();
        let service = started(dir.path());
        let assessed_at = |s: &Snapshot, id: &str| {
            s.posture
                .checks
                .iter()
                .find(|c| c.id == id)
                .unwrap()
                .assessed_at
                .clone()
        };
        for id in checks::TREE_WALKS {
            assert!(
                service.catalog().iter().any(|c| c.id == *id),
                "{id} is no check"
            );
        }
        let first = service.snapshot();
        // RFC 3339 has whole seconds: wait for the next one so a re-run shows.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let scheduled = service.run_scheduled(vec![Domain::Incident]).await.unwrap();
        let other = service
            .catalog()
            .iter()
            .find(|c| c.domain == Domain::Incident && !checks::TREE_WALKS.contains(&c.id))
            .unwrap()
            .id;
        assert_eq!(
            assessed_at(&scheduled, "INC-007"),
            assessed_at(&first, "INC-007")
        );
        assert_ne!(assessed_at(&scheduled, other), assessed_at(&first, other));
        let explicit = service.run(vec![Domain::Incident]).await.unwrap();
        assert_ne!(
            assessed_at(&explicit, "INC-007"),
            assessed_at(&first, "INC-007")
        );
    }

    #[tokio::test]
    async fn subscribers_hear_when_domains_turn_stale() {
        let dir = tempfile::tempdir().unwrap();
        let service = started(dir.path());
        let mut rx = service.subscribe();
        rx.borrow_and_update();
        service.mark_stale(&[Domain::Skills]);
        tokio::time::timeout(Duration::from_secs(1), rx.changed())
            .await
            .expect("no notification when a domain turned stale")
            .unwrap();
        assert_eq!(service.stale_domains(), [Domain::Skills].into());
    }

    #[tokio::test]
    async fn each_snapshot_builds_its_protobuf_form_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let service = started(dir.path());
        let first = service.snapshot();
        assert!(first.proto.get().is_none(), "built before anyone asked");
        first.proto.get_or_init(Default::default);
        let second = service.run(vec![Domain::Network]).await.unwrap();
        assert!(
            second.proto.get().is_none(),
            "a new snapshot reuses the old conversion"
        );
    }
}
