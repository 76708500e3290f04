//! `clawsecctl`: the ClawSec command-line client. Thin: parse arguments, run one
//! subcommand module, map its result to an exit status.

mod assess;
mod attestation;
mod baseline;
mod checks;
mod client;
mod completions;
mod gate;
mod health;
mod inventory;
mod keys;
mod posture;
mod reload;
mod render;
mod verify;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Command-line client for ClawSec, the security posture daemon for AI-agent hosts.
///
/// Asks clawsecd (over its Unix socket) for the posture, signed attestations and
/// allow/deny decisions; verifies attestations offline; manages signing keys.
#[derive(Debug, Parser)]
#[command(name = "clawsecctl", version, after_help = EXAMPLES)]
pub struct Cli {
    /// clawsecd's socket [default: $CLAWSEC_SOCKET, else the first that answers of your
    /// dev-mode socket ($XDG_RUNTIME_DIR/clawsec/clawsecd.sock, or
    /// ~/.local/state/clawsec/run/clawsec/clawsecd.sock without XDG_RUNTIME_DIR) and the
    /// system socket /run/clawsec/clawsecd.sock; root tries the system socket first].
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Give up on the daemon after this long (e.g. 500ms, 5s).
    #[arg(long, global = true, value_name = "DUR", default_value = "5s", value_parser = parse_timeout)]
    timeout: Duration,
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "\
Examples:
  clawsecctl posture                          tier, score, domains, failing checks
  clawsecctl gate --action exec || exit 2     allow (0) or deny (2) before a sensitive action
  clawsecctl attestation --nonce $(head -c16 /dev/urandom | basenc --base64url) --out a.json
  clawsecctl verify --file a.json --key attestation.pub
  clawsecctl watch                            follow posture changes

Exit status: 0 success (gate: allow), 1 error, 2 gate deny or unusable verify input.";

#[derive(Debug, Subcommand)]
enum Command {
    /// The current posture (from the daemon's cache; never waits for a scan).
    Posture,
    /// Run an assessment now and show the new posture (operator role).
    Assess(assess::Args),
    /// Get the latest signed attestation, or a fresh one bound to your nonce.
    Attestation(attestation::Args),
    /// Follow posture changes as they happen.
    Watch,
    /// The check catalogue.
    Checks,
    /// Allow or deny a sensitive action: exit 0 allow, 2 deny (also when the daemon
    /// cannot answer, unless --fail-open). `--hook claude-code` reads a PreToolUse event.
    Gate(gate::Args),
    /// Is the daemon serving?
    Health,
    /// What the agents on this host are made of: agents and versions, MCP servers,
    /// skills (with digests), hooks, model endpoints; no secret values (`--format
    /// cyclonedx` for a CycloneDX 1.6 BOM).
    Inventory(inventory::Args),
    /// Drift-check baselines.
    Baseline(baseline::Args),
    /// Tell the daemon to re-read its configuration (admin role).
    Reload,
    /// Create or rotate attestation signing keys.
    Keys(keys::Args),
    /// Verify an attestation (JSON, JWS or DSSE) or an exported chain, offline.
    ///
    /// Exit status: 0 valid, 1 invalid, 2 unusable input (unreadable, not an attestation,
    /// bad key file).
    Verify(verify::Args),
    /// Print shell completions or the man page.
    Completions(completions::Args),
}

/// What every daemon command needs.
#[derive(Debug)]
pub struct Ctx {
    pub socket: PathBuf,
    pub json: bool,
    pub timeout: Duration,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| format!("{s:?} is not a duration"));
    }
    let secs = s.strip_suffix('s').unwrap_or(s);
    secs.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{s:?} is not a duration like 500ms or 5s"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let gate = matches!(cli.command, Command::Gate(_));
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if gate {
            // A gate that fails must deny: exit 2 is the status every agent treats as
            // "blocked"; any other would let the action through.
            eprintln!("clawsec: gate failed internally; denying");
            std::process::exit(i32::from(gate::DENY));
        }
        if clawsec_proto::output::is_broken_pipe(info.payload()) {
            std::process::exit(clawsec_proto::output::BROKEN_PIPE_STATUS);
        }
        default_hook(info);
    }));
    match cli.command {
        Command::Keys(args) => {
            return keys::run(args, cli.socket.as_deref(), cli.timeout, cli.json);
        }
        Command::Verify(args) => return verify::run(args),
        Command::Completions(args) => return completions::run(args),
        _ => {}
    }
    let ctx = Ctx {
        socket: client::socket_path(cli.socket.as_deref()),
        json: cli.json,
        timeout: cli.timeout,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clawsecctl: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Posture => posture::run(&ctx).await,
            Command::Assess(a) => assess::run(&ctx, a).await,
            Command::Attestation(a) => attestation::run(&ctx, a).await,
            Command::Watch => watch::run(&ctx).await,
            Command::Checks => checks::run(&ctx).await,
            Command::Gate(a) => Ok(gate::run(&ctx, a).await),
            Command::Health => health::run(&ctx).await,
            Command::Inventory(a) => inventory::run(&ctx, a).await,
            Command::Baseline(a) => baseline::run(&ctx, a).await,
            Command::Reload => reload::run(&ctx).await,
            Command::Keys(_) | Command::Verify(_) | Command::Completions(_) => {
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("clawsecctl: {e}");
            ExitCode::from(1)
        }
    }
}
