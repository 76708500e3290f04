//! Property-based fuzzing, on the stable toolchain, of everything that parses input an
//! attacker can shape: the config parser, the JSON dialect reader, the attestation
//! verifiers (JSON, JWS, DSSE, chain), the `/proc` and `/proc/net` readers, and the
//! agent and MCP config readers with the whole catalogue behind them. Inputs are
//! arbitrary bytes and single-digit mutations of genuine documents (a real config, real
//! signed attestations), so both the edges and the deep paths are reached.
//!
//! The properties: nothing panics; errors name their origin; a verifier never calls a
//! changed document valid unless what was signed is unchanged; a check never passes
//! on a broken input without saying so, and never fails internally.
//!
//! Each property runs a bounded number of cases in CI (a few seconds each). For a long
//! run: `PROPTEST_CASES=20000 cargo nextest run -p clawsec-tests --test fuzz` (see
//! BENCHMARKS.md). A failure prints the minimal input; it then becomes a test here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use clawsec_proto::attestation::verify::{Policy, verify, verify_chain};
use clawsec_proto::attestation::{PublicKey, canonical, document, keys};
use clawsec_tests::{bin, materialize_host_dir, text, workspace};
use clawsecd::checks::{ErrorKind, Status};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// `cases` unless `PROPTEST_CASES` says otherwise; failures are reported, not stored.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Up to eight edits (replace, insert or delete one byte) of `seed`.
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8).prop_map(move |edits| {
        let mut out = seed.clone();
        for (at, byte, op) in edits {
            let i = if out.is_empty() { 0 } else { at % out.len() };
            match op {
                0 if !out.is_empty() => out[i] = byte,
                1 => out.insert(i, byte),
                _ if !out.is_empty() => {
                    out.remove(i);
                }
                _ => out.push(byte),
            }
        }
        out
    })
}

/// Arbitrary bytes, or a mutation of one of `seeds`.
fn hostile(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let mutations = prop::sample::select(seeds).prop_flat_map(mutated);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..1024),
        3 => mutations,
    ]
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---- config ----------------------------------------------------------------------

fn example_config() -> Vec<u8> {
    std::fs::read(workspace().join("config/clawsecd.example.toml")).unwrap()
}

fn check_ids() -> Vec<&'static str> {
    clawsecd::checks::catalog().iter().map(|c| c.id).collect()
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn the_config_parser_never_panics_and_every_error_names_the_file(
        input in hostile(vec![example_config(), b"[limits]\nmax_depth = 3\n".to_vec()])
    ) {
        let ids = check_ids();
        match clawsecd::config::parse(&lossy(&input), "fuzz.toml", &ids) {
            Ok(config) => {
                if let Err(problems) = config.validate(&ids) {
                    for p in problems {
                        prop_assert!(!p.key.is_empty() && !p.message.is_empty(), "{p:?}");
                    }
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with("fuzz.toml"), "{e}"),
        }
    }
}

// ---- the JSON dialects -----------------------------------------------------------

const JSON5_SEED: &str = r#"{
  // OpenClaw's own dialect: comments, trailing commas, unquoted keys
  gateway: { bind: "loopback", port: 18789, auth: { mode: 'token', }, },
  /* block */ "channels": { "telegram": { "dmPolicy": "pairing", "allowFrom": [1, 2e3, -0.5,] } },
  "mcpServers": { "x": { "command": "npx", "args": ["-y", "pkg@1.2.3"], "env": { "A": "b\u00e9\n" } } }
}"#;

proptest! {
    #![proptest_config(config(5000))]

    #[test]
    fn the_dialect_reader_never_panics_and_agrees_with_strict_json(
        input in hostile(vec![JSON5_SEED.as_bytes().to_vec(), br#"{"a":[1,{"b":null}],"c":"\ud83d\ude00"}"#.to_vec()])
    ) {
        let text = lossy(&input);
        let ours = clawsecd::jsonc::parse(&text);
        // Where the text is strict JSON with distinct keys, the dialect reader must read
        // exactly what a strict reader reads (no value hidden from a check by a quirk).
        if let Ok(strict) = canonical::parse_strict(&text) {
            prop_assert_eq!(ours, Ok(strict));
        }
    }
}

// ---- the attestation verifiers ---------------------------------------------------

/// Genuine signed attestations (JSON, JWS, DSSE), an exported chain and the key set,
/// made once by the real `clawsecd --assess-only`.
struct Signed {
    json: Vec<u8>,
    jws: Vec<u8>,
    dsse: Vec<u8>,
    chain: Vec<u8>,
    keys: Vec<PublicKey>,
    _dir: tempfile::TempDir,
}

fn signed() -> &'static Signed {
    static SIGNED: OnceLock<Signed> = OnceLock::new();
    SIGNED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("host");
        materialize_host_dir(&workspace().join("tests/fixtures/hosts/hardened"), &host);
        let state = dir.path().join("state");
        let config = dir.path().join("clawsecd.toml");
        std::fs::write(&config, "").unwrap();
        let assess = |format: &str| {
            let out_file = dir.path().join(format!("att.{format}"));
            let out = std::process::Command::new(bin("clawsecd"))
                .args(["--assess-only", "--config"])
                .arg(&config)
                .arg("--host-root")
                .arg(&host)
                .arg("--state-dir")
                .arg(&state)
                .args(["--format", format, "--out"])
                .arg(&out_file)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            std::fs::read(&out_file).unwrap()
        };
        let (json, jws, dsse) = (assess("json"), assess("jws"), assess("dsse"));
        let out = std::process::Command::new(bin("clawsecd"))
            .arg("--export-chain")
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(&state)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let jwks = std::fs::read_to_string(state.join("keys/attestation.jwks")).unwrap();
        Signed {
            json,
            jws,
            dsse,
            chain: out.stdout,
            keys: keys::parse_public_keys(&jwks).unwrap(),
            _dir: dir,
        }
    })
}

/// What a document's signature covers, as the verifier reads it: the digest of the
/// JSON form, or the decoded payload of a JWS or DSSE envelope.
fn signed_content(input: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(input).ok()?.trim();
    let value = canonical::parse_strict(text).ok();
    match value {
        Some(v) if v.get("payloadType").is_some() => v["payload"].as_str().map(str::to_owned),
        Some(v) => document::digest(&v).ok(),
        None => text.split('.').nth(1).map(str::to_owned),
    }
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn a_verifier_never_calls_a_changed_attestation_valid(
        input in {
            let s = signed();
            hostile(vec![s.json.clone(), s.jws.clone(), s.dsse.clone()])
        }
    ) {
        let s = signed();
        let policy = Policy::at(SystemTime::now());
        if let Ok(verdict) = verify(&input, &s.keys, &policy)
            && verdict.valid()
        {
            // Valid only when what was signed is exactly what was signed before:
            // whitespace around a document is not a change, a different byte is.
            let content = signed_content(&input);
            let genuine = [&s.json, &s.jws, &s.dsse]
                .iter()
                .map(|g| signed_content(g))
                .collect::<Vec<_>>();
            prop_assert!(
                content.is_some() && genuine.contains(&content),
                "a changed document verified: {}",
                lossy(&input)
            );
        }
    }

    #[test]
    fn the_chain_verifier_never_panics_and_never_passes_a_changed_link(
        input in hostile(vec![signed().chain.clone()])
    ) {
        let s = signed();
        if let Ok(verdict) = verify_chain(&lossy(&input), &s.keys)
            && verdict.valid()
        {
            let digests = |t: &[u8]| -> Vec<Option<String>> {
                lossy(t).lines().filter(|l| !l.trim().is_empty()).map(|l| signed_content(l.as_bytes())).collect()
            };
            prop_assert_eq!(digests(&input), digests(&s.chain));
        }
    }
}

// ---- /proc and /proc/net ---------------------------------------------------------

const STATUS_SEED: &str = "Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t27 1000\nNoNewPrivs:\t0\nSeccomp:\t0\nCapEff:\t0000000000000000\n";
const STAT_SEED: &str = "4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 5 3 0 0 20 0 11 0 12345 1000000 5000 18446744073709551615\n";
const TCP_SEED: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0\n";
const MOUNTINFO_SEED: &str = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n36 22 0:32 / /home/a\\040b rw - tmpfs tmpfs rw\n";

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn the_proc_readers_never_panic_and_never_invent_a_process(
        status in hostile(vec![STATUS_SEED.as_bytes().to_vec()]),
        stat in hostile(vec![STAT_SEED.as_bytes().to_vec()]),
        cmdline in hostile(vec![b"node\0/usr/bin/openclaw\0gateway\0".to_vec()]),
        tcp in hostile(vec![TCP_SEED.as_bytes().to_vec()]),
        mountinfo in hostile(vec![MOUNTINFO_SEED.as_bytes().to_vec()]),
    ) {
        let root = tempfile::tempdir().unwrap();
        let pid = root.path().join("proc/4242");
        std::fs::create_dir_all(pid.join("net")).unwrap();
        for (name, bytes) in [
            ("status", &status),
            ("stat", &stat),
            ("cmdline", &cmdline),
            ("environ", &cmdline),
            ("mountinfo", &mountinfo),
            ("net/tcp", &tcp),
            ("net/tcp6", &tcp),
        ] {
            std::fs::write(pid.join(name), bytes).unwrap();
        }
        let fs = clawsecd::probe::HostFs::open(root.path(), clawsecd::config::Limits::default()).unwrap();
        if let Ok(p) = clawsecd::probe::proc::read(&fs, 4242) {
            prop_assert_eq!(p.pid, 4242);
        }
        let _ = clawsecd::probe::proc::environ(&fs, 4242);
        let _ = clawsecd::probe::procfs::mountinfo(&fs, 4242);
        let _ = clawsecd::probe::net::tcp_listeners(&fs, 4242);
        let _ = clawsecd::probe::net::parse_tcp(Path::new("/proc/4242/net/tcp"), &lossy(&tcp));
    }
}

// ---- agent and MCP configs, through the whole catalogue --------------------------

/// The agent and MCP client files the fuzzer rewrites, each with a genuine seed.
fn agent_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("home/alice/.claude.json", br#"{"mcpServers":{"gh":{"command":"npx","args":["-y","@modelcontextprotocol/server-github@1.0.0"],"env":{"GITHUB_TOKEN":"${GITHUB_TOKEN}"}}},"projects":{"/home/alice/w":{"mcpServers":{"f":{"type":"http","url":"https://mcp.example.com/mcp?team=a"}}}}}"#.to_vec()),
        ("home/alice/.claude/settings.json", br#"{"permissions":{"allow":["Bash(git:*)"],"deny":["Read(./.env)"]},"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"clawsecctl gate --hook claude-code"}]}]},"env":{"ANTHROPIC_BASE_URL":"https://api.anthropic.com"}}"#.to_vec()),
        ("home/alice/.cursor/mcp.json", br#"{"mcpServers":{"db":{"url":"http://10.0.0.5:8080/sse","headers":{"Authorization":"Bearer ${TOKEN}"}}}}"#.to_vec()),
        ("home/alice/.codex/config.toml", b"model = \"o4\"\n[mcp_servers.fs]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem@0.6.2\", \"/home/alice/w\"]\n[shell_environment_policy]\ninherit = \"core\"\n".to_vec()),
        ("home/alice/.gemini/settings.json", br#"{"mcpServers":{"py":{"command":"uvx","args":["mcp-server-fetch"],"trust":true}},"telemetry":{"enabled":false}}"#.to_vec()),
        ("home/alice/.openclaw/openclaw.json", JSON5_SEED.as_bytes().to_vec()),
    ]
}

/// A hardened host materialized once; each case rewrites the agent files in place.
fn agent_host() -> &'static (tempfile::TempDir, PathBuf) {
    static HOST: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    HOST.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("host");
        materialize_host_dir(&workspace().join("tests/fixtures/hosts/hardened"), &root);
        (dir, root)
    })
}

fn file_contents() -> impl Strategy<Value = Vec<Vec<u8>>> {
    agent_files()
        .into_iter()
        .map(|(_, seed)| hostile(vec![seed]).boxed())
        .collect::<Vec<_>>()
}

proptest! {
    #![proptest_config(config(40))]

    #[test]
    fn hostile_agent_configs_never_crash_a_check_nor_pass_one_unread(contents in file_contents()) {
        let (_dir, root) = agent_host();
        for ((path, _), bytes) in agent_files().iter().zip(&contents) {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        let loaded = clawsec_tests::default_loaded();
        let catalog = clawsecd::checks::catalog();
        let setup = clawsecd::cli::setup(&loaded, Some(root), &catalog).unwrap();
        let plan = clawsecd::engine::Plan {
            checks: &catalog,
            waivers: &[],
            weights: &loaded.config.scoring.domain_weights,
            timeout: Duration::from_secs(30),
            today: clawsec_proto::time::Date::of(SystemTime::now()),
        };
        let assessment = clawsecd::engine::assess(Arc::clone(&setup.facts), &plan);
        prop_assert_eq!(assessment.runs.len(), catalog.len());
        // An MCP config that cannot be read is never a pass for the check of MCP
        // transports (NET-002 reads every client's file).
        let cursor = &contents[2];
        if clawsecd::jsonc::parse(&lossy(cursor)).is_err() {
            let net002 = assessment.runs.iter().find(|r| r.check.id == "NET-002").unwrap();
            prop_assert!(
                !matches!(net002.status, Status::Pass | Status::NotApplicable),
                "NET-002 {:?} on an unreadable .cursor/mcp.json",
                net002.status
            );
        }
        for run in &assessment.runs {
            prop_assert!(
                run.error_kind != Some(ErrorKind::Internal) && run.error_kind != Some(ErrorKind::Timeout),
                "{} failed internally: {:?}",
                run.check.id,
                run.reason
            );
            if run.status == Status::Error {
                prop_assert!(run.reason.as_deref().is_some_and(|r| !r.is_empty()), "{} errored without a reason", run.check.id);
            }
        }
    }
}
