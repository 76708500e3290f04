//! The `clawsecd` command line: argument parsing and the one-shot modes
//! (`--assess-only`, `--check-config`, `--list-checks`).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use clawsec_proto::time::Date;

use crate::baseline::{Baselines, Items};
use crate::checks::{self, Check};
use crate::config::{self, ConfigError, Loaded};
use crate::engine::{self, Plan};
use crate::facts::{Facts, Scope};
use crate::posture::{Context, PostureDoc};
use crate::probe::{HostFs, ProbeError};
use crate::report::{self, Style};
use crate::store::{Store, StoreError};
use clawsec_proto::attestation::HostIdentity;
use clawsec_proto::attestation::keyfiles::{self, KeyFileError};

/// ClawSec security posture daemon for machines that run AI agents.
///
/// Checks nine security domains (physical, network, secrets, code, logs, skills,
/// integrity, social, incident), scores them 0-100 into a trust tier (HIGH, MEDIUM,
/// LOW, UNTRUSTED) and reports what failed and how to fix it.
///
/// Without --config, /etc/clawsec/clawsecd.toml is read when it exists; otherwise the
/// built-in defaults apply, and when not root ClawSec runs in dev mode: it inspects
/// only your own home and processes and says so in the report.
#[derive(Debug, Parser)]
#[command(name = "clawsecd", version, after_help = EXAMPLES)]
pub struct Cli {
    /// Run one assessment, print the report and exit (no server).
    #[arg(long)]
    pub assess_only: bool,

    /// With --assess-only or --list-checks: print JSON instead of the human report.
    #[arg(long)]
    pub json: bool,

    /// With --assess-only: show every evidence line and every limit reached in the human
    /// report, instead of the first few of each and how many more.
    #[arg(long, requires = "assess_only")]
    pub verbose: bool,

    /// Config file [default: /etc/clawsec/clawsecd.toml if it exists].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Inspect the host tree rooted here instead of / (e.g. a mounted image or a fixture).
    #[arg(long, value_name = "DIR")]
    pub host_root: Option<PathBuf>,

    /// With --assess-only: assess a repository checkout (for CI, e.g. with --format
    /// sarif): DIR is the host root and its one agent workspace, and only the checks that
    /// judge workspace content run (MCP entries in .mcp.json, skills, instruction files,
    /// lockfiles, hooks, npmrc); host checks (processes, firewall, accounts) are left out.
    #[arg(
        long,
        value_name = "DIR",
        requires = "assess_only",
        conflicts_with = "host_root"
    )]
    pub checkout: Option<PathBuf>,

    /// Validate the config, print every problem, one per line, as
    /// file:line:column: key: message, and exit (1 if there is any).
    #[arg(long)]
    pub check_config: bool,

    /// Print the check catalogue without running anything.
    #[arg(long)]
    pub list_checks: bool,

    /// The gRPC socket instead of the config's `socket`.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// State directory (keys, database) instead of the config's `state_dir`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// With --assess-only: where to write the signed attestation.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "attestation.json",
        requires = "assess_only"
    )]
    pub out: PathBuf,

    /// With --assess-only: sign with this private key (PKCS#8 PEM, mode 0600) instead of
    /// the state directory's `keys/attestation.key`.
    #[arg(long, value_name = "FILE", requires = "assess_only")]
    pub key: Option<PathBuf>,

    /// With --assess-only: the attestation's form (json, jws, dsse), or `sarif` to print
    /// a SARIF 2.1.0 log on standard output instead of the report (for CI code scanning;
    /// the attestation is then written as json).
    #[arg(long, value_enum, default_value = "json", requires = "assess_only")]
    pub format: FormatArg,

    /// With --assess-only: bind the attestation to this freshness nonce (at least 16
    /// random bytes, base64url), so a verifier given `--nonce` knows it was made for them.
    #[arg(long, value_name = "NONCE", value_parser = parse_nonce, requires = "assess_only")]
    pub nonce: Option<String>,

    /// Print the stored attestation chain (one JSON document per line) for
    /// `clawsecctl verify --chain`, and exit.
    #[arg(long)]
    pub export_chain: bool,

    /// Run one assessment and approve what the drift checks observed as their baseline
    /// (offline equivalent of `clawsecctl baseline approve`).
    #[arg(long)]
    pub approve_baseline: bool,

    /// With --approve-baseline: approve only this drift check's baseline.
    #[arg(long, value_name = "ID", requires = "approve_baseline")]
    pub check: Option<String>,

    /// Print this command's man page (roff) and exit; used to build the package.
    #[arg(long, hide = true)]
    pub man_page: bool,
}

const EXAMPLES: &str = "\
Examples:
  clawsecd --assess-only                     assess this machine, human report
  clawsecd --assess-only --json | jq .trust_tier
  clawsecd --assess-only --host-root /mnt/img  assess a mounted host image
  clawsecd --assess-only --host-root . --format sarif > clawsec.sarif   for CI code scanning
  clawsecd --check-config --config ./clawsecd.toml
  clawsecd --list-checks

Exit status: 0 when the command ran (whatever the tier), 1 when it could not run or
could not sign or write the attestation (--assess-only still prints its report then),
2 on a usage error.";

/// `--format`: what `--assess-only` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// The signed JSON document.
    Json,
    /// JWS compact serialization (ES256).
    Jws,
    /// A DSSE envelope holding an in-toto Statement v1.
    Dsse,
    /// A SARIF 2.1.0 log on standard output; the attestation as JSON.
    Sarif,
}

impl FormatArg {
    /// The attestation's form.
    pub fn attestation(self) -> crate::attest::Format {
        match self {
            FormatArg::Json | FormatArg::Sarif => crate::attest::Format::Json,
            FormatArg::Jws => crate::attest::Format::Jws,
            FormatArg::Dsse => crate::attest::Format::Dsse,
        }
    }
}

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("host root {path}: {source}")]
    HostRoot { path: PathBuf, source: ProbeError },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot write the attestation: {0}")]
    Write(#[from] clawsec_proto::output::OutputError),
    #[error(
        "cannot write the attestation: {source}; seq {seq} was signed and kept in the chain (`clawsecd --export-chain` prints it); pass --out FILE to write it elsewhere"
    )]
    NotWritten {
        seq: u64,
        source: clawsec_proto::output::OutputError,
    },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot sign the attestation: {0}")]
    Sign(String),
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    #[error("{0}")]
    Usage(String),
}

/// Runs the command line and maps the result to an exit status.
pub fn run(cli: Cli) -> ExitCode {
    // The default panic report prints the message, which may quote input read from the
    // host: say where instead, and the message only when it quotes nothing.
    std::panic::set_hook(Box::new(|info| {
        if clawsec_proto::output::is_broken_pipe(info.payload()) {
            std::process::exit(clawsec_proto::output::BROKEN_PIPE_STATUS);
        }
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        eprintln!(
            "clawsecd: internal error in thread {thread} at {at}: {}",
            crate::engine::printable_panic(info.payload())
        );
    }));
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(clawsec_proto::output::BROKEN_PIPE_STATUS as u8)
        }
        Err(e) => {
            eprintln!("clawsecd: {e}");
            ExitCode::from(if matches!(e, Error::Usage(_)) { 2 } else { 1 })
        }
    }
}

fn dispatch(cli: &Cli) -> Result<(), Error> {
    let catalog = checks::catalog();
    let ids: Vec<&str> = catalog.iter().map(|c| c.id).collect();
    if cli.man_page {
        let man = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).section("8");
        return Ok(man.render(&mut std::io::stdout())?);
    }
    if cli.list_checks {
        return list_checks(&catalog, cli.json);
    }
    // A one-shot flag without its mode must not quietly start the long-running daemon.
    if cli.json && !cli.assess_only {
        return Err(Error::Usage(
            "--json needs --assess-only or --list-checks (without them clawsecd starts the \
             daemon, which prints no report)"
                .into(),
        ));
    }
    if cli.json && cli.format == FormatArg::Sarif {
        return Err(Error::Usage(
            "--json and --format sarif each choose what standard output holds; pick one".into(),
        ));
    }
    let loaded = config::load(cli.config.as_deref(), &ids)?;
    if cli.check_config {
        println!("{}: ok", loaded.source);
        return Ok(());
    }
    if cli.export_chain {
        return export_chain(cli, &loaded);
    }
    if cli.approve_baseline {
        return approve_baseline(cli, &loaded, &catalog);
    }
    if cli.assess_only {
        return assess_only(cli, loaded, &catalog);
    }
    init_logging();
    let settings = crate::server::Settings {
        socket: cli
            .socket
            .clone()
            .unwrap_or_else(|| loaded.config.socket.clone()),
        options: crate::service::Options {
            config_path: cli.config.clone(),
            host_root: cli.host_root.clone(),
            state_dir: state_dir(cli, &loaded),
        },
    };
    tracing::info!(
        socket = %settings.socket.display(),
        state_dir = %settings.options.state_dir.display(),
        config = %loaded.source,
        dev_mode = loaded.dev_mode,
        "clawsecd starting"
    );
    crate::server::run(loaded, settings)?;
    Ok(())
}

/// Logs go to the journal when systemd connected our stderr to it, to stderr otherwise.
/// `RUST_LOG` filters (default `info`).
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let journald = std::env::var_os("JOURNAL_STREAM")
        .is_some()
        .then(|| tracing_journald::layer().ok())
        .flatten();
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match journald {
        Some(layer) => registry.with(layer).try_init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal()),
            )
            .try_init(),
    };
}

fn list_checks(catalog: &[&'static Check], json: bool) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    if json {
        let infos: Vec<_> = catalog.iter().map(|c| c.info()).collect();
        let doc = serde_json::json!({
            "schema": "clawsec.catalog/v1",
            "catalog_digest": checks::catalog_digest(catalog),
            "checks": infos,
        });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )?;
    } else {
        for c in catalog {
            writeln!(
                out,
                "{:<9} {:<10} {:<8} {}",
                c.id,
                c.domain.id(),
                c.severity.id(),
                c.title
            )?;
        }
    }
    Ok(())
}

/// Everything an assessment needs, resolved from config and flags.
#[derive(Debug)]
pub struct Setup {
    pub host: HostIdentity,
    pub facts: Arc<Facts>,
    pub context: Context,
}

/// Opens the host root and builds the facts and document context for an assessment.
pub fn setup(
    loaded: &Loaded,
    host_root_flag: Option<&Path>,
    catalog: &[&'static Check],
) -> Result<Setup, Error> {
    let host_root = match host_root_flag {
        Some(p) => std::fs::canonicalize(p).map_err(|e| Error::HostRoot {
            path: p.to_path_buf(),
            source: ProbeError::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            },
        })?,
        None => loaded.config.host_root.clone(),
    };
    let fs = HostFs::open(&host_root, loaded.config.limits.clone()).map_err(|source| {
        Error::HostRoot {
            path: host_root.clone(),
            source,
        }
    })?;
    // Dev mode narrows discovery only on the live host; an explicit tree is inspected whole.
    let scope = if loaded.dev_mode && host_root == Path::new("/") {
        Scope {
            reduced: true,
            uid: nix::unistd::geteuid().as_raw(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    } else {
        Scope::full()
    };
    let hostname = hostname(&fs);
    let agent_id = if loaded.config.agent_id.is_empty() {
        hostname.clone()
    } else {
        loaded.config.agent_id.clone()
    };
    let host = host_identity(&fs, &hostname);
    let context = Context {
        agent_id,
        hostname,
        host_root: host_root.display().to_string(),
        catalog_digest: checks::catalog_digest(catalog),
        config_digest: loaded.digest(),
    };
    let mut facts = Facts::new(fs, scope, loaded.config.discovery.clone())
        .with_advisories(loaded.config.advisories.path.clone());
    facts.set_skill_deny(loaded.config.skills.deny.clone());
    Ok(Setup {
        host,
        facts: Arc::new(facts),
        context,
    })
}

/// The host's identity for attestations: its hostname, a digest of its machine id (the
/// id itself is not disclosed) and the current boot id.
fn host_identity(fs: &HostFs, hostname: &str) -> HostIdentity {
    let read = |p: &str| {
        fs.read_text(Path::new(p))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let machine_id = read("/etc/machine-id");
    HostIdentity {
        hostname: hostname.to_owned(),
        machine_id_sha256: if machine_id.is_empty() {
            String::new()
        } else {
            crate::digest::sha256_hex(machine_id.as_bytes())
        },
        boot_id: read("/proc/sys/kernel/random/boot_id"),
    }
}

fn hostname(fs: &HostFs) -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            fs.read_text(Path::new(p))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// One assessment's results.
#[derive(Debug)]
pub struct Assessed {
    pub doc: PostureDoc,
    pub took: Duration,
    pub host: HostIdentity,
    /// What drift checks observed, by check id (for recording baselines).
    pub observed: BTreeMap<String, Items>,
}

/// Runs one assessment of the configured host and returns its document.
pub fn assess(
    loaded: &Loaded,
    host_root: Option<&Path>,
    catalog: &[&'static Check],
) -> Result<(PostureDoc, Duration, HostIdentity), Error> {
    let a = assess_with_baselines(loaded, host_root, catalog, None)?;
    Ok((a.doc, a.took, a.host))
}

/// Runs one assessment with the approved baselines drift checks compare against.
pub fn assess_with_baselines(
    loaded: &Loaded,
    host_root: Option<&Path>,
    catalog: &[&'static Check],
    baselines: Option<Baselines>,
) -> Result<Assessed, Error> {
    let mut setup = setup(loaded, host_root, catalog)?;
    if let (Some(b), Some(facts)) = (baselines, Arc::get_mut(&mut setup.facts)) {
        facts.set_baselines(b);
    }
    let plan = Plan {
        checks: catalog,
        waivers: &loaded.config.waivers,
        weights: &loaded.config.scoring.domain_weights,
        timeout: Duration::from_millis(loaded.config.limits.check_timeout_ms),
        today: Date::of(SystemTime::now()),
    };
    let assessment = engine::assess(Arc::clone(&setup.facts), &plan);
    Ok(Assessed {
        doc: PostureDoc::build(&assessment, &setup.context),
        took: assessment.duration,
        observed: setup.facts.take_observed(),
        host: setup.host,
    })
}

/// The baselines of the configured host, or `None` when `--host-root` points at another
/// tree (a mounted image): a baseline describes one host and is neither applied to nor
/// recorded from another.
fn baselines_for(cli: &Cli, loaded: &Loaded) -> Result<Option<Baselines>, Error> {
    if let Some(flag) = &cli.host_root {
        let canon = |p: &Path| std::fs::canonicalize(p).ok();
        if canon(flag).is_none() || canon(flag) != canon(&loaded.config.host_root) {
            return Ok(None);
        }
    }
    Ok(Some(Baselines::load(&state_dir(cli, loaded))?))
}

/// Records the first baseline of every drift check that has none yet. A failure to write
/// is reported but does not fail the assessment it follows.
pub fn record_first_baselines(
    state_dir: &Path,
    mut baselines: Baselines,
    observed: BTreeMap<String, Items>,
) {
    let mut changed = false;
    for (check, items) in observed {
        if baselines.get(&check).is_none() {
            baselines.checks.insert(check, items);
            changed = true;
        }
    }
    if changed && let Err(e) = baselines.save(state_dir) {
        tracing::warn!(error = %e, "cannot record first baselines");
        eprintln!("clawsecd: warning: {e}");
    }
}

/// `--approve-baseline [--check ID]`: assess, then approve what drift checks observed.
fn approve_baseline(cli: &Cli, loaded: &Loaded, catalog: &[&'static Check]) -> Result<(), Error> {
    let Some(mut baselines) = baselines_for(cli, loaded)? else {
        return Err(Error::Usage(
            "baselines belong to the configured host_root; set host_root in the config \
             instead of passing a different --host-root"
                .into(),
        ));
    };
    let observed = assess_with_baselines(loaded, cli.host_root.as_deref(), catalog, None)?.observed;
    if let Some(id) = &cli.check
        && !observed.contains_key(id)
    {
        return Err(Error::Usage(format!(
            "{id} is not a drift check; drift checks: {}",
            observed.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut approved = Vec::new();
    for (check, items) in observed {
        if cli.check.as_ref().is_none_or(|id| *id == check) {
            approved.push(format!("{check} ({} items)", items.len()));
            baselines.checks.insert(check, items);
        }
    }
    let dir = state_dir(cli, loaded);
    baselines.save(&dir)?;
    println!(
        "approved baseline in {}: {}",
        Baselines::path(&dir).display(),
        approved.join(", ")
    );
    Ok(())
}

/// A nonce is at least 16 bytes of randomness, base64url-encoded (padding optional).
pub fn parse_nonce(s: &str) -> Result<String, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))?;
    if bytes.len() < 16 {
        return Err(format!(
            "{} bytes; a nonce needs at least 16 random bytes",
            bytes.len()
        ));
    }
    Ok(s.to_owned())
}

fn state_dir(cli: &Cli, loaded: &Loaded) -> PathBuf {
    cli.state_dir
        .clone()
        .unwrap_or_else(|| loaded.config.state_dir.clone())
}

/// The checks `--checkout` runs: those that read something in an agent workspace.
pub fn checkout_checks(catalog: &[&'static Check]) -> Vec<&'static Check> {
    catalog
        .iter()
        .filter(|c| c.reads().iter().any(|r| r.starts_with("<workspace>")))
        .copied()
        .collect()
}

fn assess_only(cli: &Cli, mut loaded: Loaded, catalog: &[&'static Check]) -> Result<(), Error> {
    let only_checkout;
    let (host_root, catalog, baselines) = match &cli.checkout {
        // A checkout is one workspace at the root of its own tree; it has no baselines
        // (they describe one host), like any ad hoc host root.
        Some(dir) => {
            loaded.config.discovery.workspaces = vec![PathBuf::from("/")];
            only_checkout = checkout_checks(catalog);
            (Some(dir.as_path()), only_checkout.as_slice(), None)
        }
        None => (
            cli.host_root.as_deref(),
            catalog,
            baselines_for(cli, &loaded)?,
        ),
    };
    let assessed = assess_with_baselines(&loaded, host_root, catalog, baselines.clone())?;
    let (doc, took, host) = (assessed.doc, assessed.took, assessed.host);
    let state_dir = state_dir(cli, &loaded);
    if let Some(b) = baselines {
        record_first_baselines(&state_dir, b, assessed.observed);
    }
    // The report is the result; the attestation is its signed record. The report is
    // printed whatever becomes of the attestation, and a failure to sign, store or
    // write it is then said after it, with exit status 1.
    let attested = attest_and_write(cli, &loaded, &state_dir, &doc, &host);
    let mut out = std::io::stdout().lock();
    if cli.format == FormatArg::Sarif {
        let log = crate::sarif::render(&doc, catalog);
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&log).unwrap_or_default()
        )?;
    } else if cli.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )?;
    } else {
        let style = Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            verbose: cli.verbose,
        };
        write!(out, "{}", report::render(&doc, took, style))?;
    }
    let summary = attested?;
    if cli.json || cli.format == FormatArg::Sarif {
        eprintln!("{summary}");
    } else {
        writeln!(out, "\n{summary}")?;
    }
    Ok(())
}

/// Signs the assessment into the chain and writes the attestation to `--out`; returns
/// the line that says what was written.
fn attest_and_write(
    cli: &Cli,
    loaded: &Loaded,
    state_dir: &Path,
    doc: &crate::posture::PostureDoc,
    host: &HostIdentity,
) -> Result<String, Error> {
    keyfiles::create_private_dir(state_dir)?;
    let keys_dir = crate::attest::keys_dir(state_dir);
    keyfiles::check_state_dir(state_dir, &keys_dir)?;
    let signer = match &cli.key {
        Some(path) => crate::attest::Signer::new(keyfiles::load_signing_key(path)?),
        None => crate::attest::Signer::from_state_dir(&keys_dir)?,
    };
    // Every key this state directory ever used, so the chain's tail can be checked
    // whichever key signed it.
    let mut keys = keyfiles::load_public_keys(&keys_dir)?;
    if !keys.contains(signer.public()) {
        keys.push(signer.public().clone());
    }
    let mut store = Store::open(state_dir)?;
    let posture_json = serde_json::to_string(doc).unwrap_or_default();
    store.record_assessment(
        &doc.generated_at,
        doc.trust_tier.id(),
        doc.overall_score,
        &posture_json,
    )?;
    let validity = Duration::from_secs(loaded.config.attestation.validity_secs);
    let attestation = store.append(&keys, |link| {
        signer.sign(crate::attest::unsigned(
            doc,
            host,
            link,
            SystemTime::now(),
            validity,
            cli.nonce.clone(),
        ))
    })?;
    // A chain that could not be continued is said on stderr whatever the output mode.
    if let Some(epoch) = &attestation.epoch_start {
        eprintln!(
            "warning: the attestation chain could not be continued, seq {} opens a new epoch: {}",
            attestation.seq, epoch.reason
        );
    }
    let rendered = signer
        .render(&attestation, cli.format.attestation())
        .map_err(Error::Sign)?;
    let written = clawsec_proto::output::write_output(&cli.out, rendered.as_bytes(), 0o644)
        .map_err(|e| Error::NotWritten {
            seq: attestation.seq,
            source: e,
        })?;
    Ok(format!(
        "attestation seq {} ({}) written to {}, signed by key {}, expires {}",
        attestation.seq,
        match cli.format.attestation() {
            crate::attest::Format::Json => "json",
            crate::attest::Format::Jws => "jws",
            crate::attest::Format::Dsse => "dsse",
        },
        written,
        attestation.key_id,
        attestation.expires_at
    ))
}

fn export_chain(cli: &Cli, loaded: &Loaded) -> Result<(), Error> {
    let store = Store::open_read(&state_dir(cli, loaded))?;
    let mut out = std::io::stdout().lock();
    for doc in store.chain()? {
        writeln!(out, "{doc}")?;
    }
    Ok(())
}
