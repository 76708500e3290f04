//! The `clawsecd` command line: argument parsing and the one-shot modes
//! (`--assess-only`, `--check-config`, `--list-checks`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use clawsec_proto::time::Date;

use crate::checks::{self, Check};
use crate::config::{self, ConfigError, Loaded};
use crate::engine::{self, Plan};
use crate::facts::{Facts, Scope};
use crate::posture::{Context, PostureDoc};
use crate::probe::{HostFs, ProbeError};
use crate::report::{self, Style};

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

    /// Config file [default: /etc/clawsec/clawsecd.toml if it exists].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Inspect the host tree rooted here instead of / (e.g. a mounted image or a fixture).
    #[arg(long, value_name = "DIR")]
    pub host_root: Option<PathBuf>,

    /// Validate the config, print the first problem as file:line:column: key: message, and exit.
    #[arg(long)]
    pub check_config: bool,

    /// Print the check catalogue without running anything.
    #[arg(long)]
    pub list_checks: bool,
}

const EXAMPLES: &str = "\
Examples:
  clawsecd --assess-only                     assess this machine, human report
  clawsecd --assess-only --json | jq .trust_tier
  clawsecd --assess-only --host-root /mnt/img  assess a mounted host image
  clawsecd --check-config --config ./clawsecd.toml
  clawsecd --list-checks

Exit status: 0 when the command ran (whatever the tier), 1 when it could not run,
2 on a usage error.";

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("host root {path}: {source}")]
    HostRoot { path: PathBuf, source: ProbeError },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error(
        "the long-running daemon is not built yet; run `clawsecd --assess-only` for a one-shot assessment"
    )]
    DaemonNotBuilt,
}

/// Runs the command line and maps the result to an exit status.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clawsecd: {e}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: &Cli) -> Result<(), Error> {
    let catalog = checks::catalog();
    let ids: Vec<&str> = catalog.iter().map(|c| c.id).collect();
    if cli.list_checks {
        return list_checks(&catalog, cli.json);
    }
    let loaded = config::load(cli.config.as_deref(), &ids)?;
    if cli.check_config {
        println!("{}: ok", loaded.source);
        return Ok(());
    }
    if cli.assess_only {
        return assess_only(cli, loaded, &catalog);
    }
    Err(Error::DaemonNotBuilt)
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
    let context = Context {
        agent_id,
        hostname,
        host_root: host_root.display().to_string(),
        catalog_digest: checks::catalog_digest(catalog),
        config_digest: loaded.digest(),
    };
    let facts = Facts::new(fs, scope, loaded.config.discovery.clone())
        .with_advisories(loaded.config.advisories.path.clone());
    Ok(Setup {
        facts: Arc::new(facts),
        context,
    })
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

/// Runs one assessment of the configured host and returns its document.
pub fn assess(
    loaded: &Loaded,
    host_root: Option<&Path>,
    catalog: &[&'static Check],
) -> Result<(PostureDoc, Duration), Error> {
    let setup = setup(loaded, host_root, catalog)?;
    let plan = Plan {
        checks: catalog,
        waivers: &loaded.config.waivers,
        weights: &loaded.config.scoring.domain_weights,
        timeout: Duration::from_millis(loaded.config.limits.check_timeout_ms),
        today: Date::of(SystemTime::now()),
    };
    let assessment = engine::assess(setup.facts, &plan);
    Ok((
        PostureDoc::build(&assessment, &setup.context),
        assessment.duration,
    ))
}

fn assess_only(cli: &Cli, loaded: Loaded, catalog: &[&'static Check]) -> Result<(), Error> {
    let (doc, took) = assess(&loaded, cli.host_root.as_deref(), catalog)?;
    let mut out = std::io::stdout().lock();
    if cli.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )?;
    } else {
        let style = Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        write!(out, "{}", report::render(&doc, took, style))?;
    }
    Ok(())
}
