//! `clawsecctl verify`: check an attestation or an exported chain with a public key.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clawsec_proto::attestation::verify::{Line, Policy};
use clawsec_proto::attestation::{parse_public_keys, verify, verify_chain};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The attestation: JSON document, JWS compact or DSSE envelope.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "chain",
        conflicts_with = "chain"
    )]
    file: Option<PathBuf>,
    /// An exported chain (`clawsecd --export-chain`): checks every signature, seq
    /// continuity and every prev digest.
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    /// Public key: SPKI PEM, JWK or JWKS (all keys of a rotated history) [default: this
    /// host's daemon's keys: attestation.jwks, else attestation.pub, in your dev-mode
    /// state (~/.local/state/clawsec/keys/) and in /var/lib/clawsec/keys/; root looks in
    /// the system one first].
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Reject an attestation signed longer ago than this (e.g. 90s, 15m, 1h, 2d).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    max_age: Option<Duration>,
    /// Require this nonce (the one you asked the daemon to sign).
    #[arg(long, value_name = "N")]
    nonce: Option<String>,
    /// Require at least this trust tier.
    #[arg(long, value_name = "TIER", value_parser = ["HIGH", "MEDIUM", "LOW", "UNTRUSTED"], ignore_case = true)]
    min_tier: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
}

/// Parses `90`, `90s`, `15m`, `1h`, `2d`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.trim().split_at(
        s.trim()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(s.trim().len()),
    );
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 15m, 1h or 2d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => return Err(format!("unknown unit {other:?} (use s, m, h or d)")),
    };
    Ok(Duration::from_secs(secs))
}

const VALID: u8 = 0;
const INVALID: u8 = 1;
const UNUSABLE: u8 = 2;

fn unusable(json: bool, what: &str, message: &str) -> ExitCode {
    if json {
        println!(
            "{}",
            json!({ "valid": false, "unusable": true, "error": format!("{what}: {message}") })
        );
    }
    eprintln!("clawsecctl: {what}: {message}");
    ExitCode::from(UNUSABLE)
}

/// Where this host's daemon keeps its public keys, in the order to look: the caller's
/// dev-mode state first, then the system's (root: the other way round); in each, the
/// JWKS (every key, retired ones too) before the single current key.
fn default_keys(root: bool, env: &dyn Fn(&str) -> Option<PathBuf>) -> Vec<PathBuf> {
    let home = env("HOME").unwrap_or_else(|| PathBuf::from("/tmp"));
    let dev = env("XDG_STATE_HOME")
        .unwrap_or_else(|| home.join(".local/state"))
        .join("clawsec/keys");
    let system = PathBuf::from("/var/lib/clawsec/keys");
    let dirs = if root { [system, dev] } else { [dev, system] };
    dirs.iter()
        .flat_map(|d| [d.join("attestation.jwks"), d.join("attestation.pub")])
        .collect()
}

pub fn run(args: Args) -> ExitCode {
    let key_path = match &args.key {
        Some(k) => k.clone(),
        None => {
            let env = |k: &str| {
                std::env::var_os(k)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            };
            let looked = default_keys(crate::client::is_root(), &env);
            match looked.iter().find(|p| p.exists()) {
                Some(p) => {
                    if !args.json {
                        eprintln!(
                            "clawsecctl: using this host's daemon keys from {}",
                            p.display()
                        );
                    }
                    p.clone()
                }
                None => {
                    let list: Vec<String> =
                        looked.iter().map(|p| p.display().to_string()).collect();
                    return unusable(
                        args.json,
                        "--key",
                        &format!(
                            "not given, and no daemon public key found (looked for {}); pass --key FILE",
                            list.join(", ")
                        ),
                    );
                }
            }
        }
    };
    let key_text = match std::fs::read_to_string(&key_path) {
        Ok(t) => t,
        Err(e) => return unusable(args.json, &key_path.display().to_string(), &e.to_string()),
    };
    let keys = match parse_public_keys(&key_text) {
        Ok(k) => k,
        Err(e) => return unusable(args.json, &key_path.display().to_string(), &e.to_string()),
    };
    let path = args
        .chain
        .as_ref()
        .or(args.file.as_ref())
        .cloned()
        .unwrap_or_default();
    let input = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return unusable(args.json, &path.display().to_string(), &e.to_string()),
    };
    let (valid, lines, extra) = if args.chain.is_some() {
        match verify_chain(&String::from_utf8_lossy(&input), &keys) {
            Ok(v) => (
                v.valid(),
                v.lines.clone(),
                json!({ "count": v.count, "epochs": v.epochs }),
            ),
            Err(e) => return unusable(args.json, &path.display().to_string(), &e.to_string()),
        }
    } else {
        let policy = Policy {
            now: SystemTime::now(),
            max_age: args.max_age,
            nonce: args.nonce.clone(),
            min_tier: args.min_tier.as_ref().map(|t| t.to_ascii_uppercase()),
        };
        match verify(&input, &keys, &policy) {
            Ok(v) => (
                v.valid(),
                v.lines.clone(),
                json!({
                    "form": v.form,
                    "seq": v.attestation.seq,
                    "trust_tier": v.attestation.posture.trust_tier,
                    "overall_score": v.attestation.posture.overall_score,
                    "agent_id": v.attestation.agent_id,
                }),
            ),
            Err(e) => return unusable(args.json, &path.display().to_string(), &e.to_string()),
        }
    };
    if args.json {
        let reasons: Vec<_> = lines
            .iter()
            .map(|l: &Line| json!({ "ok": l.ok, "reason": l.text }))
            .collect();
        println!(
            "{}",
            json!({ "valid": valid, "file": path.display().to_string(), "key": key_path.display().to_string(), "checks": reasons, "attestation": extra })
        );
    } else {
        for l in &lines {
            println!("{} {}", if l.ok { "ok  " } else { "FAIL" }, l.text);
        }
        println!(
            "{}: {}",
            path.display(),
            if valid { "VALID" } else { "INVALID" }
        );
    }
    ExitCode::from(if valid { VALID } else { INVALID })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn the_jwks_comes_before_the_pem_and_a_user_looks_at_their_own_state_first() {
        let env = |k: &str| (k == "HOME").then(|| PathBuf::from("/home/ada"));
        let user = default_keys(false, &env);
        assert_eq!(
            user[0],
            PathBuf::from("/home/ada/.local/state/clawsec/keys/attestation.jwks")
        );
        assert_eq!(
            user[1],
            PathBuf::from("/home/ada/.local/state/clawsec/keys/attestation.pub")
        );
        assert_eq!(
            default_keys(true, &env)[0],
            PathBuf::from("/var/lib/clawsec/keys/attestation.jwks")
        );
    }
}
