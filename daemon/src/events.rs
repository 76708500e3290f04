//! Reacting to changes as they happen: file events (inotify, through `notify`) on every
//! path the catalogue reads, and a `/proc` diff for new processes and listening sockets.
//! The scheduled scans stay the safety net.
//!
//! The watch set is derived from each check's declared `reads` — there is no second,
//! hand-kept list. Exact paths are watched through their parent directory (so atomic
//! rename-writes and re-creation are seen); globbed directories are watched (recursively
//! for `**`); a path that does not exist yet is covered by its nearest existing ancestor,
//! and the plan is rebuilt when something is created there. Patterns under `/proc`, `/sys`
//! or with `<pid>` are left to the process poll; whole homes and temp trees (`~/**`,
//! `/tmp/**`) are left to the schedule, since recursive watches on them would not survive
//! an `npm install`.
//!
//! Bursts are coalesced (a quiet period, with a maximum delay) and at most one targeted
//! run happens at a time; the event queue is bounded, and overflowing it — or the kernel's
//! own queue overflowing, or a watch failing — is never silent: it is counted and
//! answered with a full re-scan and a fresh set of watches. So is a watched directory
//! deleted or recreated (what was written before its new watch existed went unseen); its
//! domains are marked stale until then.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use notify::event::{CreateKind, RemoveKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use crate::checks::{Check, Domain};
use crate::config::Events as EventsConfig;
use crate::probe::proc_connector::ProcEvent;
use crate::probe::{HostFs, Kind};
use crate::service::Service;

/// What a rule watches for, in host paths.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// This path (a file, or a directory and its direct entries).
    Exact(PathBuf),
    /// Anything under this directory (direct entries only unless `recursive`).
    Under { dir: PathBuf, recursive: bool },
}

impl Target {
    fn matches(&self, path: &Path) -> bool {
        match self {
            Target::Exact(p) => path == p || path.parent() == Some(p.as_path()),
            Target::Under {
                dir,
                recursive: true,
            } => path.starts_with(dir),
            Target::Under {
                dir,
                recursive: false,
            } => path.parent() == Some(dir.as_path()) || path == dir,
        }
    }
}

/// Which checks a change to which paths affects.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    pub rules: BTreeMap<Target, BTreeSet<&'static str>>,
    /// The workspaces `<workspace>` was expanded over.
    pub workspaces: Vec<PathBuf>,
    /// Files that record workspaces (`facts::workspaces::WORKSPACE_SOURCES`, the
    /// OpenClaw configs): a change to one may add a workspace, so it re-plans.
    pub sources: BTreeSet<PathBuf>,
}

/// Trees too broad to watch recursively; the schedule covers them.
fn too_broad(dir: &Path, homes: &[PathBuf]) -> bool {
    dir == Path::new("/")
        || homes.iter().any(|h| h == dir)
        || ["/tmp", "/var/tmp", "/dev/shm", "/home", "/root"]
            .iter()
            .any(|t| dir == Path::new(t))
}

impl Plan {
    /// Expands every check's `reads` over the discovered homes and workspaces.
    pub fn build(catalog: &[&'static Check], homes: &[PathBuf], workspaces: &[PathBuf]) -> Plan {
        let mut plan = Plan {
            workspaces: workspaces.to_vec(),
            ..Plan::default()
        };
        for home in homes {
            for source in crate::facts::workspaces::WORKSPACE_SOURCES
                .iter()
                .chain(crate::facts::OPENCLAW_CONFIGS)
            {
                let path = home.join(source.trim_start_matches("~/"));
                // Watched like any read file, with no check of its own.
                plan.rules.entry(Target::Exact(path.clone())).or_default();
                plan.sources.insert(path);
            }
        }
        for check in catalog {
            for pattern in check.reads() {
                // "path (schedule: why)": read, but deliberately left to the schedule.
                if pattern.contains(" (schedule") {
                    continue;
                }
                // "path (config key)": the annotation names where the path comes from.
                let pattern = pattern.split(" (").next().unwrap_or(pattern).trim();
                if pattern.contains("<pid>")
                    || pattern.contains("<path>")
                    || ["/proc", "/sys", "/dev"]
                        .iter()
                        .any(|p| pattern.starts_with(p))
                {
                    continue;
                }
                let expanded: Vec<PathBuf> = if let Some(rest) = pattern.strip_prefix("~/") {
                    homes.iter().map(|h| h.join(rest)).collect()
                } else if let Some(rest) = pattern.strip_prefix("<workspace>") {
                    let rest = rest.trim_start_matches('/');
                    workspaces
                        .iter()
                        .map(|w| {
                            if rest.is_empty() {
                                w.clone()
                            } else {
                                w.join(rest)
                            }
                        })
                        .collect()
                } else if pattern.starts_with('/') {
                    vec![PathBuf::from(pattern)]
                } else {
                    Vec::new()
                };
                for path in expanded {
                    if let Some(t) = target_of(&path, homes) {
                        plan.rules.entry(t).or_default().insert(check.id);
                    }
                }
            }
        }
        plan
    }

    /// Whether creating or removing `path` changes what must be watched: it is a watched
    /// directory, or lies on the way to one (a deleted and recreated skills directory).
    pub fn is_structural(&self, path: &Path) -> bool {
        self.rules.keys().any(|t| match t {
            Target::Exact(p) => p.parent().is_some_and(|d| d.starts_with(path)) || p == path,
            Target::Under { dir, .. } => dir.starts_with(path),
        })
    }

    /// The checks that read anything under `dirs` (host paths).
    pub fn checks_under(&self, dirs: &[PathBuf]) -> BTreeSet<&'static str> {
        self.rules
            .iter()
            .filter(|(t, _)| {
                let watched = match t {
                    Target::Exact(p) => p,
                    Target::Under { dir, .. } => dir,
                };
                dirs.iter().any(|d| watched.starts_with(d))
            })
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect()
    }

    /// The domains of the checks that read anything under `dirs` (host paths).
    pub fn domains_under(&self, dirs: &[PathBuf], catalog: &[&'static Check]) -> Vec<Domain> {
        let ids = self.checks_under(dirs);
        let domains: BTreeSet<Domain> = catalog
            .iter()
            .filter(|c| ids.contains(c.id))
            .map(|c| c.domain)
            .collect();
        domains.into_iter().collect()
    }

    /// The checks a change at `path` (a host path) affects.
    pub fn affected(&self, path: &Path) -> BTreeSet<&'static str> {
        self.rules
            .iter()
            .filter(|(t, _)| t.matches(path))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect()
    }
}

/// A host path pattern as a watch target; `None` when it is too broad to watch.
fn target_of(path: &Path, homes: &[PathBuf]) -> Option<Target> {
    let comps: Vec<Component> = path.components().collect();
    let glob_at = comps
        .iter()
        .position(|c| c.as_os_str().to_string_lossy().contains('*'));
    let Some(i) = glob_at else {
        return Some(Target::Exact(path.to_path_buf()));
    };
    let dir: PathBuf = comps[..i].iter().collect();
    let recursive = path.to_string_lossy().contains("**") || i + 1 < comps.len();
    if recursive && too_broad(&dir, homes) {
        return None;
    }
    Some(Target::Under { dir, recursive })
}

/// Counters for health and metrics: events never go missing silently.
#[derive(Debug, Default)]
pub struct Counters {
    /// File events are set up and being followed.
    pub watching: AtomicBool,
    pub events: AtomicU64,
    pub targeted_runs: AtomicU64,
    pub overflows: AtomicU64,
    pub lost_watches: AtomicU64,
    pub full_rescans: AtomicU64,
    pub process_runs: AtomicU64,
    /// Process starts and exits seen, and those that could change a verdict.
    pub process_events: AtomicU64,
    pub process_events_relevant: AtomicU64,
    /// The kernel's process connector is in use.
    pub kernel_process_events: AtomicBool,
    /// Paths that could not be watched (permissions, the inotify limit). Each is warned
    /// about and counted in `lost_watches` once, when it first fails; failing again on
    /// a re-plan is no news (the schedule covers it) and triggers no re-scan.
    pub unwatchable: std::sync::Mutex<BTreeSet<PathBuf>>,
}

impl Counters {
    /// The counters as JSON, named as in the `EventCounters` message.
    pub fn to_json(&self) -> serde_json::Value {
        use std::sync::atomic::Ordering::Relaxed;
        serde_json::json!({
            "watching": self.watching.load(Relaxed),
            "events": self.events.load(Relaxed),
            "targeted_runs": self.targeted_runs.load(Relaxed),
            "overflows": self.overflows.load(Relaxed),
            "lost_watches": self.lost_watches.load(Relaxed),
            "full_rescans": self.full_rescans.load(Relaxed),
            "process_runs": self.process_runs.load(Relaxed),
            "process_events": self.process_events.load(Relaxed),
            "process_events_relevant": self.process_events_relevant.load(Relaxed),
            "kernel_process_events": self.kernel_process_events.load(Relaxed),
        })
    }
}

/// The real path of a host path under `root`.
fn real(root: &Path, host: &Path) -> PathBuf {
    let mut p = root.to_path_buf();
    for c in host.components() {
        if let Component::Normal(n) = c {
            p.push(n);
        }
    }
    p
}

/// The host path of a real path under `root`, if it is under it.
fn host_of(root: &Path, real_path: &Path) -> Option<PathBuf> {
    real_path
        .strip_prefix(root)
        .ok()
        .map(|rel| Path::new("/").join(rel))
}

/// Registers the watches a plan needs; returns (real path, mode) registered and the
/// ancestors watched in place of missing paths.
fn register(
    watcher: &mut notify::RecommendedWatcher,
    root: &Path,
    plan: &Plan,
    counters: &Counters,
) -> HashSet<PathBuf> {
    let mut wanted: BTreeMap<PathBuf, bool> = BTreeMap::new();
    let mut stand_ins = HashSet::new();
    let mut want =
        |p: PathBuf, recursive: bool, stand_ins: &mut HashSet<PathBuf>, target_exists: bool| {
            if !target_exists {
                stand_ins.insert(p.clone());
            }
            let e = wanted.entry(p).or_insert(false);
            *e |= recursive;
        };
    for target in plan.rules.keys() {
        let (path, recursive) = match target {
            Target::Exact(p) => {
                if real(root, p).is_dir() {
                    want(real(root, p), false, &mut stand_ins, true);
                }
                (p.parent().map(Path::to_path_buf).unwrap_or_default(), false)
            }
            Target::Under { dir, recursive } => (dir.clone(), *recursive),
        };
        // Walk up to the nearest existing ancestor for paths that do not exist yet.
        let mut host = path.clone();
        let mut exists = true;
        while !real(root, &host).is_dir() {
            exists = false;
            match host.parent() {
                Some(parent) if parent != host => host = parent.to_path_buf(),
                _ => break,
            }
        }
        want(
            real(root, &host),
            recursive && exists,
            &mut stand_ins,
            exists,
        );
    }
    for (path, recursive) in wanted {
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        let result = watcher.watch(&path, mode);
        let Ok(mut unwatchable) = counters.unwatchable.lock() else {
            continue;
        };
        match result {
            Ok(()) => {
                unwatchable.remove(&path);
            }
            Err(e) if unwatchable.insert(path.clone()) => {
                counters.lost_watches.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(path = %path.display(), error = %e, "cannot watch; relying on the schedule for it");
            }
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "still cannot watch");
            }
        }
    }
    stand_ins
}

/// What the process poll compares between rounds.
#[derive(Debug, Default, PartialEq, Eq)]
struct ProcState {
    pids: BTreeSet<u32>,
    listeners: BTreeSet<(String, u16)>,
}

/// One round of the process poll, through a fresh reader: a `HostFs` carries one
/// assessment's read budget and cap notes, so a long-lived one would run dry.
fn proc_state(root: &Path, limits: &crate::config::Limits, max: usize) -> Option<ProcState> {
    let fs = &HostFs::open(root, limits.clone()).ok()?;
    let listing = fs.list_dir_capped(Path::new("/proc"), max).ok()?;
    let pids = listing
        .iter()
        .filter(|e| e.kind == Kind::Dir)
        .filter_map(|e| e.name.to_str()?.parse().ok())
        .collect();
    let listeners = crate::probe::net::tcp_listeners(fs, 1)
        .map(|(_, l)| {
            l.into_iter()
                .map(|l| (l.addr.to_string(), l.port))
                .collect()
        })
        .unwrap_or_default();
    Some(ProcState { pids, listeners })
}

/// Watches in place and the first process snapshot taken, ready to run. Built before
/// the daemon reports READY, so no change made after READY can go unseen.
pub struct Prepared {
    watcher: notify::RecommendedWatcher,
    rx: mpsc::Receiver<notify::Result<notify::Event>>,
    overflowed: Arc<AtomicBool>,
    plan: Plan,
    stand_ins: HashSet<PathBuf>,
    limits: crate::config::Limits,
    last_proc: Option<ProcState>,
    cfg: EventsConfig,
    counters: Arc<Counters>,
    /// The kernel's exec and exit events (live host, privileged only).
    kernel_procs: Option<KernelEvents>,
    /// Live processes that could change a verdict (`checks::process_matters`): only
    /// their exits need a re-check.
    mattering: BTreeSet<u32>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("rules", &self.plan.rules.len())
            .finish()
    }
}

fn rebuild(
    service: &Service,
    watcher: &mut notify::RecommendedWatcher,
    root: &Path,
    counters: &Counters,
) -> (Plan, HashSet<PathBuf>) {
    let (homes, workspaces) = service.discovered_roots();
    let plan = Plan::build(service.catalog(), &homes, &workspaces);
    let stand_ins = register(watcher, root, &plan, counters);
    tracing::debug!(rules = plan.rules.len(), "file watches in place");
    (plan, stand_ins)
}

/// Sets up watching. `None` (logged) when file events are unavailable: the schedule then
/// stays in charge; the daemon never stops over it.
pub fn prepare(service: &Service, cfg: EventsConfig, counters: Arc<Counters>) -> Option<Prepared> {
    let root = service.host_root();
    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>(cfg.queue as usize);
    let overflowed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&overflowed);
    let mut watcher =
        match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            // Opening and closing a file is not a change, and every process start opens
            // files in watched directories (/etc/ld.so.cache): drop those here, so a build's
            // thousands of process starts can neither fill the queue nor wake the loop.
            if res
                .as_ref()
                .is_ok_and(|ev| matches!(ev.kind, EventKind::Access(_)))
            {
                return;
            }
            // Never block the notify thread: a full queue is an overflow, answered by a rescan.
            if tx.try_send(res).is_err() {
                flag.store(true, Ordering::Relaxed);
            }
        }) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "file events unavailable; relying on the schedule");
                return None;
            }
        };
    let (plan, stand_ins) = rebuild(service, &mut watcher, &root, &counters);
    // Said once; re-plans (a directory appeared, a re-scan) are DEBUG.
    tracing::info!(rules = plan.rules.len(), "file watches in place");
    counters.watching.store(true, Ordering::Relaxed);
    let limits = service.config().config.limits.clone();
    let max_procs = service.config().config.limits.max_processes as usize * 2;
    let last_proc = proc_state(&root, &limits, max_procs);
    let kernel_procs = (root == Path::new("/"))
        .then(|| kernel_process_events(Arc::clone(&counters)))
        .flatten();
    counters
        .kernel_process_events
        .store(kernel_procs.is_some(), Ordering::Relaxed);
    let mattering = mattering_processes(service, None);
    Some(Prepared {
        watcher,
        rx,
        overflowed,
        plan,
        stand_ins,
        limits,
        last_proc,
        cfg,
        counters,
        kernel_procs,
        mattering,
    })
}

/// The kernel's process events, gathered by their thread into `changes` (so a storm
/// never waits on the event loop, and nothing is dropped); `wake` says there are some.
struct KernelEvents {
    wake: mpsc::Receiver<()>,
    changes: Arc<std::sync::Mutex<ProcChanges>>,
}

/// Most distinct pids one coalescing window holds before it is treated as lost (and
/// every process is looked at again), so a storm cannot grow it without bound.
const MAX_WINDOW_PIDS: usize = 65_536;

/// Process starts and exits waiting to be judged.
#[derive(Debug, Default)]
struct ProcChanges {
    started: BTreeSet<u32>,
    exited: BTreeSet<u32>,
    /// Some events were lost: every process must be looked at again.
    lost: bool,
}

/// The processes among `pids` (all of them when `None`) that could change a verdict,
/// read through a fresh reader. A pid that is gone by now is not among them: no check
/// could see it either.
fn mattering_processes(service: &Service, pids: Option<&BTreeSet<u32>>) -> BTreeSet<u32> {
    // Only the process reader and the agent names are needed: no assessment set-up
    // (digests, host identity), since a busy host has a window to judge every 100 ms.
    let loaded = service.config();
    let Ok(fs) = HostFs::open(&service.host_root(), loaded.config.limits.clone()) else {
        return BTreeSet::new();
    };
    let f = &crate::facts::Facts::new(
        fs,
        crate::facts::Scope::full(),
        loaded.config.discovery.clone(),
    );
    let read: Vec<crate::probe::proc::Process> = match pids {
        Some(pids) => pids
            .iter()
            .filter_map(|pid| crate::probe::proc::read(&f.fs, *pid).ok())
            .collect(),
        None => f.processes().map(<[_]>::to_vec).unwrap_or_default(),
    };
    read.iter()
        .filter(|p| crate::checks::process_matters(f, p))
        .map(|p| p.pid)
        .collect()
}

/// Judges the process changes of one coalescing window: how many of them could change
/// a verdict (a started process that matters, the exit of one that mattered; lost
/// events count as one). Keeps `mattering` current.
fn judge(service: &Service, changes: ProcChanges, mattering: &mut BTreeSet<u32>) -> usize {
    if changes.lost {
        *mattering = mattering_processes(service, None);
        return 1;
    }
    let mut relevant = 0;
    for pid in &changes.exited {
        relevant += usize::from(mattering.remove(pid));
    }
    // A process that started and exited within the window is gone: nothing to judge.
    let started: BTreeSet<u32> = changes
        .started
        .difference(&changes.exited)
        .copied()
        .collect();
    // One that mattered and ran a new program may no longer match what was judged.
    let mut again = BTreeSet::new();
    for pid in &started {
        if mattering.remove(pid) {
            again.insert(*pid);
        }
    }
    if !started.is_empty() {
        let new = mattering_processes(service, Some(&started));
        relevant += new.union(&again).count();
        mattering.extend(new);
    }
    relevant
}

/// Follows the kernel's process connector on a thread of its own, gathering exec and
/// exit events into one window the event loop takes and judges.
fn kernel_process_events(counters: Arc<Counters>) -> Option<KernelEvents> {
    let connector = match crate::probe::proc_connector::Connector::open() {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(error = %e, "no kernel process events; polling /proc instead");
            return None;
        }
    };
    let (tx, wake) = mpsc::channel(1);
    let changes = Arc::new(std::sync::Mutex::new(ProcChanges::default()));
    let window = Arc::clone(&changes);
    let spawned = std::thread::Builder::new()
        .name("proc-events".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match connector.next(&mut buf) {
                    Ok(events) if events.is_empty() => {}
                    Ok(events) => {
                        counters
                            .process_events
                            .fetch_add(events.len() as u64, Ordering::Relaxed);
                        if let Ok(mut w) = window.lock() {
                            for ev in events {
                                match ev {
                                    ProcEvent::Exec(pid) => w.started.insert(pid),
                                    ProcEvent::Exit(pid) => w.exited.insert(pid),
                                };
                            }
                            if w.started.len() + w.exited.len() > MAX_WINDOW_PIDS {
                                *w = ProcChanges {
                                    lost: true,
                                    ..ProcChanges::default()
                                };
                            }
                        }
                        if let Err(mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
                            return;
                        }
                    }
                    // The socket's buffer overflowed (the daemon was starved or frozen):
                    // events were lost, so every process is looked at again.
                    Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                        if let Ok(mut w) = window.lock() {
                            w.lost = true;
                        }
                        let _ = tx.try_send(());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "kernel process events stopped; polling /proc");
                        return;
                    }
                }
            }
        });
    match spawned {
        Ok(_) => {
            tracing::info!("following the kernel's process events");
            Some(KernelEvents { wake, changes })
        }
        Err(_) => None,
    }
}

/// How often the event loop says, at INFO, what it has done since it last said so.
const SUMMARY_EVERY: Duration = Duration::from_secs(600);

/// The counters a summary line reports.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Activity {
    events: u64,
    process_events: u64,
    relevant: u64,
    targeted: u64,
    process_runs: u64,
    rescans: u64,
}

impl Activity {
    fn of(c: &Counters) -> Activity {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Activity {
            events: get(&c.events),
            process_events: get(&c.process_events),
            relevant: get(&c.process_events_relevant),
            targeted: get(&c.targeted_runs),
            process_runs: get(&c.process_runs),
            rescans: get(&c.full_rescans),
        }
    }

    fn log_since(&self, before: &Activity) {
        tracing::info!(
            file_events = self.events - before.events,
            process_events = self.process_events - before.process_events,
            relevant_process_changes = self.relevant - before.relevant,
            file_rechecks = self.targeted - before.targeted,
            process_rechecks = self.process_runs - before.process_runs,
            full_rescans = self.rescans - before.rescans,
            minutes = SUMMARY_EVERY.as_secs() / 60,
            "event activity since the last summary"
        );
    }
}

/// Whether `path` is one of the daemon's own writes in its state directory (the database
/// and its journal files, baselines): every run writes them, so reacting to them would
/// re-check forever. The directory itself and its keys are not: a changed mode there is
/// what INT-007 is about, and the daemon writes keys only when an admin rotates them.
fn own_write(state_dir: &Path, path: &Path) -> bool {
    path.starts_with(state_dir) && path != state_dir && !path.starts_with(state_dir.join("keys"))
}

/// Runs the event loop until `stop`.
pub async fn run(prepared: Prepared, service: Arc<Service>, mut stop: watch::Receiver<bool>) {
    let Prepared {
        mut watcher,
        mut rx,
        overflowed,
        mut plan,
        mut stand_ins,
        limits,
        mut last_proc,
        cfg,
        counters,
        mut kernel_procs,
        mut mattering,
    } = prepared;
    let root = service.host_root();
    let state_dir = service.state_dir().to_path_buf();
    let max_procs = service.config().config.limits.max_processes as usize * 2;
    // With the kernel's process events, the poll is left with listening sockets only,
    // and reading /proc/net/tcp walks the kernel's whole socket hash table (about
    // 0.4 ms a read on a 24 GiB host): it then runs a tenth as often. A new process
    // that matters is judged from its exec event at once either way.
    let poll_every = if kernel_procs.is_some() {
        Duration::from_millis(cfg.proc_poll_ms.saturating_mul(10))
    } else {
        Duration::from_millis(cfg.proc_poll_ms)
    };
    let mut poll = tokio::time::interval(poll_every);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let quiet = Duration::from_millis(cfg.debounce_ms);
    let max_delay = Duration::from_millis(cfg.debounce_ms * 10);

    // Checks waiting for their turn, and when the next targeted run may start: each run
    // waits at least as long as the previous one took, so however long a storm lasts,
    // targeted re-checks use at most about half a core (events keep accumulating).
    let mut pending: BTreeSet<&'static str> = BTreeSet::new();
    let mut not_before = tokio::time::Instant::now();
    let mut rescan_due = false;
    let mut pending_domains: Vec<Domain> = Vec::new();
    // Process starts and exits are judged once per coalescing window: most of what
    // agents spawn (compilers, test runners) is gone by then and cannot change a verdict.
    let proc_checks: BTreeSet<&'static str> = service
        .catalog()
        .iter()
        .filter(|c| c.reads().iter().any(|r| r.contains("<pid>")))
        .map(|c| c.id)
        .collect();
    let mut changes = ProcChanges::default();
    let mut decide_at: Option<tokio::time::Instant> = None;
    // Checks pending because of a file change, and because of a process change.
    let (mut file_pending, mut proc_pending) = (false, false);
    let mut summary = tokio::time::interval(SUMMARY_EVERY);
    summary.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_summary = Activity::of(&counters);
    loop {
        let mut checks: BTreeSet<&'static str> = BTreeSet::new();
        let mut rescan = false;
        let mut replan = false;
        // Watched directories (or directories on the way to one) that were created or
        // removed: what happened inside before the new watch was in place is unseen.
        let mut moved_dirs: Vec<PathBuf> = Vec::new();
        let mut domains: Vec<Domain> = Vec::new();
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
            first = rx.recv() => {
                let Some(first) = first else { return };
                let started = tokio::time::Instant::now();
                let mut next = Some(first);
                // Coalesce: keep taking events until the burst goes quiet (or too long).
                while let Some(ev) = next.take() {
                    counters.events.fetch_add(1, Ordering::Relaxed);
                    match ev {
                        Ok(ev) if ev.need_rescan() => rescan = true,
                        // Opening and closing files is not a change — and our own checks
                        // open every watched file, so counting it would re-check forever.
                        Ok(ev) if matches!(ev.kind, EventKind::Access(_)) => {}
                        Ok(ev) => {
                            for p in &ev.paths {
                                if own_write(&state_dir, p) {
                                    continue;
                                }
                                let host = host_of(&root, p);
                                let structural = host.as_ref().is_some_and(|h| plan.is_structural(h));
                                if matches!(ev.kind, EventKind::Create(_) | EventKind::Remove(_))
                                    && (structural || p.parent().is_some_and(|d| stand_ins.contains(d)))
                                {
                                    replan = true;
                                }
                                let Some(host) = host else { continue };
                                if plan.sources.contains(&host) {
                                    replan = true;
                                }
                                if structural
                                    && matches!(
                                        ev.kind,
                                        EventKind::Create(CreateKind::Folder)
                                            | EventKind::Remove(RemoveKind::Folder)
                                    )
                                {
                                    moved_dirs.push(host.clone());
                                }
                                checks.extend(plan.affected(&host));
                            }
                        }
                        Err(e) => {
                            counters.lost_watches.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(error = %e, "file watch error");
                            rescan = true;
                        }
                    }
                    if started.elapsed() >= max_delay { break; }
                    if let Ok(Some(ev)) = tokio::time::timeout(quiet, rx.recv()).await {
                        next = Some(ev);
                    }
                }
            }
            _ = tokio::time::sleep_until(not_before), if !pending.is_empty() || rescan_due || !pending_domains.is_empty() => {}
            Some(()) = async {
                match kernel_procs.as_mut() {
                    Some(k) => k.wake.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(w) = kernel_procs.as_ref().and_then(|k| k.changes.lock().ok().map(|mut w| std::mem::take(&mut *w))) {
                    changes.started.extend(w.started);
                    changes.exited.extend(w.exited);
                    changes.lost |= w.lost;
                }
                decide_at.get_or_insert_with(|| tokio::time::Instant::now() + quiet);
            }
            _ = async {
                match decide_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                decide_at = None;
                let window = std::mem::take(&mut changes);
                let service = Arc::clone(&service);
                let mut known = std::mem::take(&mut mattering);
                let (relevant, known) = tokio::task::spawn_blocking(move || {
                    let relevant = judge(&service, window, &mut known);
                    (relevant, known)
                })
                .await
                .unwrap_or((1, BTreeSet::new()));
                mattering = known;
                if relevant > 0 {
                    counters.process_events_relevant.fetch_add(relevant as u64, Ordering::Relaxed);
                    pending.extend(proc_checks.iter().copied());
                    proc_pending = true;
                }
            }
            _ = summary.tick() => {
                let now = Activity::of(&counters);
                if now != last_summary {
                    now.log_since(&last_summary);
                    last_summary = now;
                }
                continue;
            }
            _ = poll.tick() => {
                let now = proc_state(&root, &limits, max_procs);
                if let (Some(before), Some(after)) = (&last_proc, &now) {
                    // Without the kernel's events, the poll is how processes are seen:
                    // new ones may be threats, vanished ones may have been (an exited
                    // reverse shell must stop failing the posture). Both are judged
                    // like the kernel's events.
                    if kernel_procs.is_none() && after.pids != before.pids {
                        let started: BTreeSet<u32> = after.pids.difference(&before.pids).copied().collect();
                        let exited: BTreeSet<u32> = before.pids.difference(&after.pids).copied().collect();
                        counters.process_events.fetch_add((started.len() + exited.len()) as u64, Ordering::Relaxed);
                        changes.started.extend(started);
                        changes.exited.extend(exited);
                        decide_at.get_or_insert_with(tokio::time::Instant::now);
                    }
                    if after.listeners != before.listeners {
                        domains.push(Domain::Network);
                    }
                }
                if now.is_some() { last_proc = now; }
            }
        }
        if overflowed.swap(false, Ordering::Relaxed) || rescan {
            if !rescan_due {
                counters.overflows.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("file events were lost; re-watching and re-scanning everything");
            }
            rescan_due = true;
            // Until the re-scan has run, every domain may be out of date; say so.
            service.mark_stale(&Domain::ALL);
            // Drop whatever is queued: the full re-scan covers it.
            while rx.try_recv().is_ok() {}
            pending.clear();
        }
        if rescan_due {
            // Re-scans go through the same gate as targeted runs: a storm that keeps
            // overflowing the queue cannot turn into back-to-back full scans.
            if tokio::time::Instant::now() >= not_before {
                rescan_due = false;
                pending.clear();
                pending_domains.clear();
                counters.full_rescans.fetch_add(1, Ordering::Relaxed);
                (plan, stand_ins) = rebuild(&service, &mut watcher, &root, &counters);
                let started = tokio::time::Instant::now();
                if let Err(e) = service.run(Domain::ALL.to_vec()).await {
                    tracing::error!(error = %e, "re-scan failed");
                }
                not_before = tokio::time::Instant::now() + started.elapsed();
            }
            continue;
        }
        moved_dirs.sort();
        moved_dirs.dedup();
        if !moved_dirs.is_empty() && !rescan_due {
            // A watched directory deleted and recreated: its domains may be out of date
            // until a full re-scan (with fresh watches) has run.
            let domains = plan.domains_under(&moved_dirs, service.catalog());
            tracing::info!(dirs = ?moved_dirs, domains = ?domains, "a watched directory was removed or created; re-watching and re-scanning");
            service.mark_stale(&domains);
            rescan_due = true;
            continue;
        }
        if replan {
            let lost_before = counters.lost_watches.load(Ordering::Relaxed);
            let known = std::mem::take(&mut plan.workspaces);
            (plan, stand_ins) = rebuild(&service, &mut watcher, &root, &counters);
            // A workspace just recorded (a repository opened with an agent for the first
            // time) was never judged: its checks run now, not at the next schedule.
            let new: Vec<PathBuf> = plan
                .workspaces
                .iter()
                .filter(|w| !known.contains(w))
                .cloned()
                .collect();
            if !new.is_empty() {
                tracing::debug!(workspaces = ?new, "new workspaces recorded; checking them");
                checks.extend(plan.checks_under(&new));
            }
            if counters.lost_watches.load(Ordering::Relaxed) > lost_before {
                // A watch could not be added (typically the inotify watch limit): what it
                // would have covered may change unseen, so say so and re-scan everything
                // once. Re-scans themselves never trigger this, so a hard limit cannot
                // turn into a loop; the schedule covers those paths from then on.
                tracing::warn!("a watch could not be added; re-scanning everything once");
                service.mark_stale(&Domain::ALL);
                rescan_due = true;
                continue;
            }
        }
        file_pending |= !checks.is_empty();
        pending.extend(checks);
        if !pending.is_empty() && tokio::time::Instant::now() >= not_before {
            let checks = std::mem::take(&mut pending);
            if std::mem::take(&mut file_pending) {
                counters.targeted_runs.fetch_add(1, Ordering::Relaxed);
            }
            let after_process = std::mem::take(&mut proc_pending);
            if after_process {
                counters.process_runs.fetch_add(1, Ordering::Relaxed);
            }
            let started = tokio::time::Instant::now();
            let result = service.run_checks(checks.clone()).await;
            not_before = tokio::time::Instant::now() + started.elapsed();
            if after_process && let Some(now) = proc_state(&root, &limits, max_procs) {
                // What this run saw is the new baseline for the poll.
                last_proc = Some(now);
            }
            // Per-run lines are for debugging; posture changes and the periodic
            // summary are what a person reads.
            match result {
                Ok(s) => {
                    tracing::debug!(checks = ?checks, tier = s.posture.trust_tier.id(), score = s.posture.overall_score, seq = s.attestation.seq, "re-checked after a change")
                }
                Err(e) => tracing::error!(error = %e, "re-check failed"),
            }
        }
        pending_domains.extend(domains);
        if !pending_domains.is_empty() && tokio::time::Instant::now() >= not_before {
            let mut domains = std::mem::take(&mut pending_domains);
            domains.sort();
            domains.dedup();
            counters.targeted_runs.fetch_add(1, Ordering::Relaxed);
            let started = tokio::time::Instant::now();
            let result = service.run_on_event(domains.clone()).await;
            not_before = tokio::time::Instant::now() + started.elapsed();
            // What this run saw is the new baseline for the poll, so it does not re-trigger.
            if let Some(now) = proc_state(&root, &limits, max_procs) {
                last_proc = Some(now);
            }
            match result {
                Ok(s) => tracing::debug!(
                    domains = ?domains.iter().map(|d| d.id()).collect::<Vec<_>>(),
                    tier = s.posture.trust_tier.id(),
                    seq = s.attestation.seq,
                    "re-checked after a listener change"
                ),
                Err(e) => tracing::error!(error = %e, "re-check failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_poll_never_runs_out_of_read_budget() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("proc/1/net")).unwrap();
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n";
        std::fs::write(root.path().join("proc/1/net/tcp"), tcp.repeat(4)).unwrap();
        let limits = crate::config::Limits {
            max_total_bytes: 4096,
            max_file_bytes: 4096,
            ..Default::default()
        };
        // Far more rounds than one budget covers: each round reads afresh.
        for _ in 0..50 {
            let state = proc_state(root.path(), &limits, 100).expect("poll");
            assert!(state.pids.contains(&1));
            assert!(state.listeners.contains(&("127.0.0.1".to_owned(), 8080)));
        }
    }

    #[test]
    fn the_daemons_own_database_writes_are_ignored_but_its_keys_are_not() {
        let state = Path::new("/var/lib/clawsec");
        for own in [
            "clawsec.db",
            "clawsec.db-wal",
            "clawsec.db-shm",
            "baselines.json",
        ] {
            assert!(own_write(state, &state.join(own)), "{own}");
        }
        for watched in ["", "keys", "keys/attestation.key", "keys/attestation.jwks"] {
            assert!(!own_write(state, &state.join(watched)), "{watched:?}");
        }
        assert!(!own_write(state, Path::new("/var/lib/clawsec-other/x")));
    }

    #[test]
    fn plan_comes_from_the_checks_reads() {
        let homes = vec![PathBuf::from("/home/alice")];
        let plan = Plan::build(
            &crate::checks::catalog(),
            &homes,
            &[PathBuf::from("/srv/ws")],
        );
        let ids = |p: &str| plan.affected(Path::new(p));
        assert!(ids("/home/alice/.claude.json").contains("SEC-001"));
        assert!(ids("/home/alice/.aws/credentials").contains("SEC-002"));
        assert!(ids("/home/alice/.claude/skills/x/SKILL.md").contains("SKL-001"));
        assert!(ids("/etc/ssh/sshd_config.d/10-x.conf").contains("NET-001"));
        assert!(
            ids("/srv/ws/package-lock.json").contains("CODE-002")
                || ids("/srv/ws/package-lock.json").contains("CODE-003")
        );
        assert!(
            ids("/home/alice/notes.txt").is_empty(),
            "{:?}",
            ids("/home/alice/notes.txt")
        );
        // Whole homes and temp trees are never watched recursively.
        assert!(!plan.rules.keys().any(|t| matches!(t, Target::Under { dir, recursive: true } if dir == Path::new("/home/alice") || dir == Path::new("/tmp"))));
        // Files that record workspaces are followed even when no check reads them, and
        // a new workspace's checks can be found from its directory.
        for source in [
            "/home/alice/.claude.json",
            "/home/alice/.gemini/trustedFolders.json",
            "/home/alice/.codex/config.toml",
            "/home/alice/.openclaw/openclaw.json",
        ] {
            assert!(plan.sources.contains(Path::new(source)), "{source}");
            assert!(
                plan.rules
                    .contains_key(&Target::Exact(PathBuf::from(source)))
            );
        }
        let under = plan.checks_under(&[PathBuf::from("/srv/ws")]);
        assert!(
            under.contains("SKL-011") && under.contains("CODE-003"),
            "{under:?}"
        );
        assert!(
            !plan
                .checks_under(&[PathBuf::from("/srv/other")])
                .contains("SKL-011")
        );
    }
}
