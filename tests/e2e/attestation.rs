//! End-to-end tests of signed attestations: what `clawsecd --assess-only` signs is
//! verified by tools nobody here wrote (Python `cryptography`, `openssl`, `joserfc`), by
//! `clawsecctl verify`, and survives tampering, broken chains and `kill -9`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use clawsec_tests::{bin, materialize_host_dir, run, text, workspace};
use serde_json::Value;

/// A fixture host, a config, a state directory and an output directory for one test.
struct Env {
    host: tempfile::TempDir,
    state: tempfile::TempDir,
    out: tempfile::TempDir,
    config: PathBuf,
}

impl Env {
    fn new(config: &str) -> Env {
        let host = tempfile::tempdir().unwrap();
        materialize_host_dir(
            &workspace().join("tests/fixtures/hosts/hardened"),
            host.path(),
        );
        let out = tempfile::tempdir().unwrap();
        let config_path = out.path().join("clawsecd.toml");
        std::fs::write(&config_path, config).unwrap();
        Env {
            host,
            state: tempfile::tempdir().unwrap(),
            out,
            config: config_path,
        }
    }

    /// An environment whose chain already holds `n` attestations.
    fn chained(n: usize) -> Env {
        let env = Env::new("");
        for i in 0..n {
            env.assess_ok(&format!("a{i}.json"), &[]);
        }
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.out.path().join(name)
    }

    fn keys(&self, name: &str) -> PathBuf {
        self.state.path().join("keys").join(name)
    }

    fn assess_args(&self, out: &Path) -> Vec<String> {
        [
            "--assess-only",
            "--json",
            "--config",
            self.config.to_str().unwrap(),
            "--host-root",
            self.host.path().to_str().unwrap(),
            "--state-dir",
            self.state.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    /// Runs one assessment writing `name`; extra arguments are appended.
    fn assess(&self, name: &str, extra: &[&str]) -> Output {
        let mut args = self.assess_args(&self.path(name));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run("clawsecd", &refs)
    }

    fn assess_ok(&self, name: &str, extra: &[&str]) -> PathBuf {
        let out = self.assess(name, extra);
        assert!(
            out.status.success(),
            "clawsecd failed: {}",
            text(&out.stderr)
        );
        self.path(name)
    }

    fn verify(&self, args: &[&str]) -> (i32, String) {
        let out = run("clawsecctl", &[&["verify"], args].concat());
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout) + &text(&out.stderr),
        )
    }

    /// Exports the chain and verifies it against the state directory's key set.
    fn verify_chain(&self) -> (i32, String) {
        let chain = self.export_chain();
        self.verify(&[
            "--chain",
            chain.to_str().unwrap(),
            "--key",
            self.keys("attestation.jwks").to_str().unwrap(),
        ])
    }

    fn export_chain(&self) -> PathBuf {
        let out = run(
            "clawsecd",
            &[
                "--export-chain",
                "--config",
                self.config.to_str().unwrap(),
                "--state-dir",
                self.state.path().to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let p = self.path("chain.jsonl");
        std::fs::write(&p, &out.stdout).unwrap();
        p
    }
}

fn python(script: &str, args: &[&Path]) -> Output {
    let out = Command::new("python3")
        .arg(workspace().join("tests/python").join(script))
        .args(args)
        .output()
        .expect("python3 is needed for the interoperability tests");
    let err = text(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "missing Python module ({err}); run the suite with `tests/run`, which provisions tests/requirements.txt"
    );
    out
}

#[test]
fn python_cryptography_and_openssl_verify_what_clawsecd_signs() {
    let env = Env::new("");
    let doc = env.assess_ok("attestation.json", &[]);
    let out = python(
        "verify_attestation.py",
        &[
            &doc,
            &env.keys("attestation.pub"),
            &env.keys("attestation.jwk"),
            env.out.path(),
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).starts_with("python-cryptography: VALID seq=1 tier=HIGH"),
        "{}",
        text(&out.stdout)
    );

    // openssl, over the canonical bytes Python produced (not ClawSec's own canonicalizer).
    let openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(env.keys("attestation.pub"))
        .arg("-signature")
        .arg(env.path("sig.der"))
        .arg(env.path("canonical.bin"))
        .output()
        .expect("openssl is needed for this test");
    assert_eq!(
        text(&openssl.stdout).trim(),
        "Verified OK",
        "{}",
        text(&openssl.stderr)
    );

    // And any change to the canonical bytes makes openssl refuse.
    let mut bytes = std::fs::read(env.path("canonical.bin")).unwrap();
    let i = bytes.windows(4).position(|w| w == b"HIGH").unwrap();
    bytes[i..i + 4].copy_from_slice(b"HIGi");
    std::fs::write(env.path("canonical.bin"), bytes).unwrap();
    let openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(env.keys("attestation.pub"))
        .args(["-signature"])
        .arg(env.path("sig.der"))
        .arg(env.path("canonical.bin"))
        .output()
        .unwrap();
    assert!(!openssl.status.success());
}

#[test]
fn a_jws_from_an_independent_jose_library_verifies_and_breaks_on_any_change() {
    let env = Env::new("");
    let doc_path = env.assess_ok("attestation.json", &[]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&doc_path).unwrap()).unwrap();
    let jws = env.path("independent.jws");
    let out = python(
        "sign_jws.py",
        &[
            &env.keys("attestation.key"),
            &doc_path,
            Path::new(doc["key_id"].as_str().unwrap()),
            &jws,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, msg) = env.verify(&[
        "--file",
        jws.to_str().unwrap(),
        "--key",
        env.keys("attestation.jwk").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{msg}");
    assert!(msg.contains("ES256 signature is valid"), "{msg}");

    // Its high-S twin is valid ECDSA too, and refused: one document, one encoding.
    let (code, msg) = env.verify(&[
        "--file",
        env.path("independent.jws.high-s").to_str().unwrap(),
        "--key",
        env.keys("attestation.jwk").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{msg}");
    assert!(msg.contains("high S value"), "{msg}");

    // Flip one character in each part in turn: every change is refused.
    let token = std::fs::read_to_string(&jws).unwrap();
    let parts: Vec<&str> = token.trim().split('.').collect();
    for part in 0..3 {
        let mut changed: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
        let mid = changed[part].len() / 2;
        let c = changed[part].as_bytes()[mid];
        let replacement = if c == b'A' { 'B' } else { 'A' };
        changed[part].replace_range(mid..=mid, &replacement.to_string());
        std::fs::write(&jws, changed.join(".")).unwrap();
        let (code, msg) = env.verify(&[
            "--file",
            jws.to_str().unwrap(),
            "--key",
            env.keys("attestation.jwk").to_str().unwrap(),
        ]);
        assert_ne!(code, 0, "changed part {part} still verified: {msg}");
    }
}

#[test]
fn jws_and_dsse_exports_verify_with_clawsecctl_and_python() {
    let env = Env::new("");
    let key = env.keys("attestation.jwk");
    for format in ["json", "jws", "dsse"] {
        let file = env.assess_ok(&format!("a.{format}"), &["--format", format]);
        let (code, msg) = env.verify(&[
            "--file",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{format}: {msg}");
    }
    let out = python(
        "verify_dsse.py",
        &[&env.path("a.dsse"), &env.keys("attestation.pub")],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout)
            .contains("predicateType=https://clawsec.dev/attestation/posture/v1 seq=3")
    );
}

#[test]
fn tampering_is_caught_with_the_right_reason() {
    let env = Env::new("");
    let nonce = "q83vEjRWeJCrze8SNFZ4kA";
    let first = env.assess_ok("first.json", &[]);
    let doc_path = env.assess_ok("attestation.json", &["--nonce", nonce]);
    let key = env.keys("attestation.jwk");
    let original = std::fs::read_to_string(&doc_path).unwrap();
    let doc: Value = serde_json::from_str(&original).unwrap();
    let other: Value = serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    let wrong_key = env.path("wrong");
    let wrong_pub = wrong_key.join("attestation.pub");
    assert!(
        run(
            "clawsecctl",
            &["keys", "generate", "--out", wrong_key.to_str().unwrap()]
        )
        .status
        .success()
    );

    let (code, msg) = env.verify(&[
        "--file",
        doc_path.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--nonce",
        nonce,
        "--min-tier",
        "high",
        "--max-age",
        "1h",
    ]);
    assert_eq!(code, 0, "{msg}");

    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = doc.clone();
        f(&mut v);
        serde_json::to_string_pretty(&v).unwrap()
    };
    let cases: Vec<(&str, String, Vec<&str>, i32, &str)> = vec![
        (
            "score changed",
            edit(&|v| v["posture"]["overall_score"] = 12.into()),
            vec![],
            1,
            "signature does not verify",
        ),
        (
            "tier changed",
            edit(&|v| v["posture"]["trust_tier"] = "LOW".into()),
            vec![],
            1,
            "signature does not verify",
        ),
        (
            "seq changed",
            edit(&|v| v["seq"] = 99.into()),
            vec![],
            1,
            "signature does not verify",
        ),
        (
            "field added",
            edit(&|v| v["extra"] = true.into()),
            vec![],
            1,
            "signature does not verify",
        ),
        (
            "signature swapped",
            edit(&|v| v["signature"] = other["signature"].clone()),
            vec![],
            1,
            "signature does not verify",
        ),
        (
            "signature garbage",
            edit(&|v| v["signature"] = "bm90IGEgc2lnbmF0dXJl".into()),
            vec![],
            1,
            "not base64 of a DER ECDSA signature",
        ),
        (
            "wrong key",
            original.clone(),
            vec!["--key", wrong_pub.to_str().unwrap()],
            1,
            "is not the given key",
        ),
        (
            "wrong nonce",
            original.clone(),
            vec!["--nonce", "AAAAAAAAAAAAAAAAAAAAAA"],
            1,
            "nonce does not match",
        ),
        (
            "nonce required",
            std::fs::read_to_string(&first).unwrap(),
            vec!["--nonce", nonce],
            1,
            "no nonce",
        ),
        (
            "tier too low",
            edit(&|v| v["posture"]["trust_tier"] = "LOW".into()),
            vec!["--min-tier", "MEDIUM"],
            1,
            "below the minimum MEDIUM",
        ),
        (
            "truncated",
            original[..original.len() / 2].to_owned(),
            vec![],
            2,
            "not a JSON document",
        ),
        (
            "not JSON",
            "hello, verifier".into(),
            vec![],
            2,
            "not a JSON document",
        ),
        ("empty", String::new(), vec![], 2, "empty"),
        (
            "duplicate member",
            original.replacen("\"seq\"", "\"seq\": 1, \"seq\"", 1),
            vec![],
            2,
            "duplicate member",
        ),
        (
            "not an attestation",
            "{\"hello\": 1}".into(),
            vec![],
            2,
            "not an attestation",
        ),
    ];
    for (name, content, extra, want_code, want_reason) in cases {
        let f = env.path("case.json");
        std::fs::write(&f, content).unwrap();
        let mut args = vec!["--file", f.to_str().unwrap()];
        if !extra.contains(&"--key") {
            args.extend(["--key", key.to_str().unwrap()]);
        }
        args.extend(extra.iter().copied());
        let (code, msg) = env.verify(&args);
        assert_eq!(code, want_code, "{name}: {msg}");
        assert!(
            msg.contains(want_reason),
            "{name}: expected {want_reason:?} in {msg}"
        );
    }
}

#[test]
fn expired_attestations_are_refused() {
    let env = Env::new("[attestation]\nvalidity_secs = 1\n");
    let doc = env.assess_ok("attestation.json", &[]);
    std::thread::sleep(Duration::from_millis(2100));
    let (code, msg) = env.verify(&[
        "--file",
        doc.to_str().unwrap(),
        "--key",
        env.keys("attestation.pub").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{msg}");
    assert!(msg.contains("expired at"), "{msg}");
    let (code, msg) = env.verify(&[
        "--file",
        doc.to_str().unwrap(),
        "--key",
        env.keys("attestation.pub").to_str().unwrap(),
        "--max-age",
        "1s",
    ]);
    assert_eq!(code, 1);
    assert!(msg.contains("older than --max-age 1 s"), "{msg}");
}

#[test]
fn the_chain_verifies_and_every_break_is_named() {
    let env = Env::chained(4);
    let chain = env.export_chain();
    let key = env.keys("attestation.jwks");
    let (code, msg) = env.verify(&[
        "--chain",
        chain.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{msg}");
    assert!(msg.contains("4 attestations, seq 1 to 4"), "{msg}");

    let lines: Vec<String> = std::fs::read_to_string(&chain)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let broken = env.path("broken.jsonl");
    std::fs::write(
        &broken,
        [lines[0].clone(), lines[1].clone(), lines[3].clone()].join("\n"),
    )
    .unwrap();
    let (code, msg) = env.verify(&[
        "--chain",
        broken.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{msg}");
    assert!(msg.contains("seq 4 follows seq 2"), "{msg}");

    std::fs::write(
        &broken,
        [
            lines[0].clone(),
            lines[2].clone(),
            lines[1].clone(),
            lines[3].clone(),
        ]
        .join("\n"),
    )
    .unwrap();
    let (code, msg) = env.verify(&[
        "--chain",
        broken.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(msg.contains("is not the digest of seq"), "{msg}");
}

#[test]
fn bad_signing_keys_are_refused_and_nothing_is_written() {
    let env = Env::new("");
    let dir = env.path("k");
    assert!(
        run(
            "clawsecctl",
            &["keys", "generate", "--out", dir.to_str().unwrap()]
        )
        .status
        .success()
    );
    let key = dir.join("attestation.key");
    let mode = |m: u32| {
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap()
    };

    mode(0o644);
    let out = env.assess("never.json", &["--key", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!(
            "{}: private key is readable by group or others (mode 0644)",
            key.display()
        )),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !env.path("never.json").exists(),
        "an attestation was written with a refused key"
    );

    mode(0o600);
    let p384 = env.path("p384.key");
    let keygen = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
        ])
        .arg(&p384)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    std::fs::set_permissions(&p384, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = env.assess("never.json", &["--key", p384.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a P-256 key (curve OID 1.3.132.0.34)"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = env.assess("never.json", &["--key", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a PKCS#8 PEM private key"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.path("never.json").exists());

    // The verifier refuses a private key or a key of the wrong curve as unusable input.
    assert!(env.assess("ok.json", &[]).status.success());
    let (code, msg) = env.verify(&[
        "--file",
        env.path("ok.json").to_str().unwrap(),
        "--key",
        env.keys("attestation.key").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("this is a private key"), "{msg}");
}

#[test]
fn rotated_keys_keep_history_verifiable() {
    let env = Env::new("");
    let before = env.assess_ok("before.json", &[]);
    let keys_dir = env.state.path().join("keys");
    let out = run(
        "clawsecctl",
        &["keys", "rotate", "--dir", keys_dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = env.assess_ok("after.json", &[]);
    let a: Value = serde_json::from_str(&std::fs::read_to_string(&before).unwrap()).unwrap();
    let b: Value = serde_json::from_str(&std::fs::read_to_string(&after).unwrap()).unwrap();
    assert_ne!(a["key_id"], b["key_id"]);
    let jwks = env.keys("attestation.jwks");
    for f in [&before, &after] {
        let (code, msg) = env.verify(&[
            "--file",
            f.to_str().unwrap(),
            "--key",
            jwks.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{msg}");
    }
    // The chain continues across the rotation: seq 2 links to seq 1 signed by the old key.
    let chain = env.export_chain();
    let (code, msg) = env.verify(&[
        "--chain",
        chain.to_str().unwrap(),
        "--key",
        jwks.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{msg}");
    assert!(
        b["epoch_start"].is_null(),
        "rotation must not start a new epoch: {b}"
    );
}

#[test]
fn kill_9_during_writes_never_breaks_the_chain() {
    let env = Env::new("");
    env.assess_ok("warm.json", &[]);
    let args = env.assess_args(&env.path("crash.json"));
    let mut killed = 0;
    for i in 0..40u64 {
        let mut child = Command::new(bin("clawsecd"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the whole run: start-up, assessment, signing, commit, file write.
        std::thread::sleep(Duration::from_micros(500 + (i * 7919) % 25_000));
        if child.try_wait().unwrap().is_none() {
            // SIGKILL: no chance to clean up, as in a crash.
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        killed >= 10,
        "only {killed} of 40 runs were killed mid-way; the test did not exercise crashes"
    );
    env.assess_ok("final.json", &[]);
    let (code, msg) = env.verify_chain();
    assert_eq!(code, 0, "chain broken after {killed} kills: {msg}");
    // A kill between the commit and the high-water mark is not a loss: no false epoch.
    assert!(
        !msg.contains("new epoch"),
        "a crash was taken for a rollback: {msg}"
    );
    let (code, msg) = env.verify(&[
        "--file",
        env.path("final.json").to_str().unwrap(),
        "--key",
        env.keys("attestation.jwks").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{msg}");
}

#[test]
fn kill_9_during_the_first_start_never_leaves_a_partial_key_set() {
    let mut killed = 0;
    for i in 0..25u64 {
        let env = Env::new("");
        let mut child = Command::new(bin("clawsecd"))
            .args(env.assess_args(&env.path("first.json")))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Early: the key set is made before the assessment's result is signed.
        std::thread::sleep(Duration::from_micros(200 + (i * 7919) % 8_000));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        // The next start finds (or makes) a whole, consistent set and signs with it.
        let out = env.assess_ok("next.json", &[]);
        for key in ["attestation.pub", "attestation.jwk", "attestation.jwks"] {
            let (code, msg) = env.verify(&[
                "--file",
                out.to_str().unwrap(),
                "--key",
                env.keys(key).to_str().unwrap(),
            ]);
            assert_eq!(
                code, 0,
                "run {i}: {key} does not verify the next attestation: {msg}"
            );
        }
    }
    assert!(
        killed >= 8,
        "only {killed} of 25 first starts were killed mid-way"
    );
}

#[test]
fn a_tampered_tail_starts_an_explicit_signed_epoch() {
    let env = Env::chained(3);
    // Tamper with the stored tail (seq 3) behind the daemon's back.
    let db = env.state.path().join("clawsec.db");
    let out = Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE attestations SET document=replace(document,'\\\"HIGH\\\"','\\\"LOW\\\"') WHERE seq=3\"); c.commit()")
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let next = env.assess_ok("next.json", &[]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&next).unwrap()).unwrap();
    assert_eq!(doc["seq"], 4);
    assert_eq!(doc["epoch_start"]["previous_seq"], 2, "{doc}");
    assert!(
        doc["epoch_start"]["reason"]
            .as_str()
            .unwrap()
            .contains("seq 3 does not match its recorded digest"),
        "{doc}"
    );
    // The new epoch is itself signed and verifies; the chain shows the break explicitly.
    let (code, msg) = env.verify(&[
        "--file",
        next.to_str().unwrap(),
        "--key",
        env.keys("attestation.pub").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{msg}");
    let chain = env.export_chain();
    let (code, msg) = env.verify(&[
        "--chain",
        chain.to_str().unwrap(),
        "--key",
        env.keys("attestation.pub").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "the tampered link must be reported: {msg}");
    assert!(
        msg.contains("seq 3: signature or key does not verify"),
        "{msg}"
    );
    assert!(msg.contains("seq 4: new epoch declared"), "{msg}");
}

/// Runs a Python snippet on the state directory's database (`sys.argv[1]`).
fn on_db(env: &Env, code: &str) {
    let db = env.state.path().join("clawsec.db");
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The next attestation after damage: its document, and the exported chain's verdict.
fn after_damage(env: &Env) -> (Value, i32, String) {
    let next = env.assess_ok("next.json", &[]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&next).unwrap()).unwrap();
    let (code, msg) = env.verify_chain();
    (doc, code, msg)
}

/// Every seq in the exported chain, in order.
fn exported_seqs(env: &Env) -> Vec<u64> {
    std::fs::read_to_string(env.export_chain())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn deleting_the_chain_tail_is_detected_and_declared_in_a_signed_epoch() {
    let env = Env::chained(5);
    on_db(
        &env,
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM attestations WHERE seq > 3'); c.commit()",
    );
    let (doc, code, msg) = after_damage(&env);
    // No seq is issued twice: the new epoch continues past the lost ones.
    assert_eq!(doc["seq"], 6, "{doc}");
    assert_eq!(doc["epoch_start"]["previous_seq"], 3, "{doc}");
    let reason = doc["epoch_start"]["reason"].as_str().unwrap();
    assert!(reason.contains("seq 4 to 5 lost"), "{reason}");
    assert!(reason.contains("chain-head.json"), "{reason}");
    assert_eq!(code, 0, "{msg}");
    assert!(
        msg.contains("seq 6: new epoch declared") && msg.contains("seq 4 to 5 lost"),
        "the verifier must show the break: {msg}"
    );
    assert_eq!(exported_seqs(&env), vec![1, 2, 3, 6]);
    // Declared once: the next attestation continues the new epoch normally.
    let again = env.assess_ok("again.json", &[]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(doc["seq"], 7);
    assert!(doc["epoch_start"].is_null(), "{doc}");
}

#[test]
fn a_database_truncated_to_nothing_is_detected_and_declared() {
    let env = Env::chained(3);
    let db = env.state.path().join("clawsec.db");
    std::fs::write(&db, b"").unwrap();
    let (doc, code, msg) = after_damage(&env);
    assert_eq!(doc["seq"], 4, "seq 1 must not be issued again: {doc}");
    assert_eq!(doc["epoch_start"]["previous_seq"], 0, "{doc}");
    let reason = doc["epoch_start"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("holds no attestation") && reason.contains("seq 1 to 3 lost"),
        "{reason}"
    );
    assert_eq!(code, 0, "{msg}");
    assert!(msg.contains("seq 4: new epoch declared"), "{msg}");
}

#[test]
fn a_corrupted_database_is_kept_aside_and_the_loss_declared() {
    let env = Env::chained(3);
    // Random bytes over the schema page and the next: SQLite cannot read it any more.
    let db = env.state.path().join("clawsec.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let mut x: u32 = 0x9e37_79b9;
    for b in bytes.iter_mut().take(8192).skip(100) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    std::fs::write(&db, &bytes).unwrap();
    let out = env.assess("next.json", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("integrity check") && stderr.contains("seq 1 to 3 lost"),
        "the damage must be said at start: {stderr}"
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("next.json")).unwrap()).unwrap();
    assert_eq!(doc["seq"], 4, "{doc}");
    let reason = doc["epoch_start"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("failed its integrity check") && reason.contains("seq 1 to 3 lost"),
        "{reason}"
    );
    // Nothing is thrown away: the damaged file is kept beside the fresh one, byte for byte.
    let kept: Vec<PathBuf> = std::fs::read_dir(env.state.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("clawsec.db.damaged-")
                && !name.contains("-wal")
                && !name.contains("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), bytes);
    assert!(reason.contains(&kept[0].display().to_string()), "{reason}");
}

#[test]
fn an_unusable_high_water_mark_is_declared_not_ignored() {
    let env = Env::chained(2);
    let mark = env.state.path().join("chain-head.json");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&mark).unwrap()).unwrap();
    assert_eq!(recorded["seq"], 2, "{recorded}");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&mark).unwrap().permissions())
            & 0o777,
        0o600
    );
    std::fs::write(&mark, b"{\"seq\": \"many\"}").unwrap();
    let (doc, code, msg) = after_damage(&env);
    assert_eq!(doc["seq"], 3);
    let reason = doc["epoch_start"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("high-water mark") && reason.contains("unusable"),
        "{reason}"
    );
    assert_eq!(code, 0, "{msg}");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&mark).unwrap()).unwrap();
    assert_eq!(
        recorded["seq"], 3,
        "the mark follows the new epoch: {recorded}"
    );
}

#[test]
fn state_and_key_files_others_could_change_are_refused_before_anything_is_signed() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("");
    env.assess_ok("first.json", &[]);
    let chmod = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let before = exported_seqs(&env);
    for (path, mode, restore, what) in [
        (
            env.state.path().to_path_buf(),
            0o777,
            0o700,
            "the state directory",
        ),
        (
            env.state.path().join("keys"),
            0o770,
            0o700,
            "the key directory",
        ),
        (env.keys("attestation.pub"), 0o666, 0o644, "the public key"),
        (
            env.keys("attestation.jwks"),
            0o646,
            0o644,
            "the public key set",
        ),
    ] {
        chmod(&path, mode);
        let out = env.assess("refused.json", &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what} mode {mode:o} was accepted"
        );
        let err = text(&out.stderr);
        assert!(
            err.contains(&path.display().to_string())
                && err.contains(what)
                && err.contains("writable by group or others")
                && err.contains("chmod go-w"),
            "{err}"
        );
        assert!(!env.path("refused.json").exists());
        chmod(&path, restore);
    }
    assert_eq!(
        exported_seqs(&env),
        before,
        "a refused run must not sign anything"
    );
    env.assess_ok("after.json", &[]);
}

#[test]
fn keys_generate_writes_the_documented_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("keys");
    let out = run(
        "clawsecctl",
        &["keys", "generate", "--out", out_dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(out_dir.join("attestation.key"))
            .unwrap()
            .mode()
            & 0o777,
        0o600
    );
    let pem = std::fs::read_to_string(out_dir.join("attestation.key")).unwrap();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS#8 PEM expected"
    );
    assert!(
        std::fs::read_to_string(out_dir.join("attestation.pub"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let jwk: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("attestation.jwk")).unwrap())
            .unwrap();
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["crv"].as_str(),
            jwk["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(text(&out.stdout).contains(jwk["kid"].as_str().unwrap()));
    let other = dir.path().join("other");
    let out = run(
        "clawsecctl",
        &[
            "--json",
            "keys",
            "generate",
            "--out",
            other.to_str().unwrap(),
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dir"], other.display().to_string());
    assert_eq!(
        v["key_id"].as_str().unwrap().len(),
        43,
        "a base64url sha256 thumbprint"
    );
    // A second generate without --force refuses to overwrite.
    let again = run(
        "clawsecctl",
        &["keys", "generate", "--out", out_dir.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already exists; pass --force"),
        "{}",
        text(&again.stderr)
    );
}

/// `clawsecctl verify` without `--key` uses this host's daemon keys, says which, and
/// when there are none names every place it looked.
#[test]
fn verify_finds_the_daemons_public_key_or_names_where_it_looked() {
    let host = tempfile::tempdir().unwrap();
    materialize_host_dir(
        &workspace().join("tests/fixtures/hosts/hardened"),
        host.path(),
    );
    let xdg_state = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let doc = out.path().join("a.json");
    let config = out.path().join("clawsecd.toml");
    std::fs::write(&config, "").unwrap();
    let assess = Command::new(bin("clawsecd"))
        .args(["--assess-only", "--config"])
        .arg(&config)
        .arg("--host-root")
        .arg(host.path())
        .arg("--state-dir")
        .arg(xdg_state.path().join("clawsec"))
        .arg("--out")
        .arg(&doc)
        .output()
        .unwrap();
    assert!(assess.status.success(), "{}", text(&assess.stderr));
    let verify = |state: &Path| {
        Command::new(bin("clawsecctl"))
            .args(["verify", "--json", "--file"])
            .arg(&doc)
            .env("XDG_STATE_HOME", state)
            .output()
            .unwrap()
    };
    let system_keys = Path::new("/var/lib/clawsec/keys");
    if nix::unistd::geteuid().is_root() && system_keys.exists() {
        eprintln!("skipped: this machine has system daemon keys, which root looks at first");
        return;
    }
    let ok = verify(xdg_state.path());
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(
        v["key"],
        xdg_state
            .path()
            .join("clawsec/keys/attestation.jwks")
            .display()
            .to_string()
    );

    let empty = tempfile::tempdir().unwrap();
    let none = verify(empty.path());
    assert_eq!(none.status.code(), Some(2), "unusable input");
    let err = text(&none.stderr);
    assert!(
        err.contains(&format!(
            "{}",
            empty.path().join("clawsec/keys/attestation.pub").display()
        )) && err.contains("/var/lib/clawsec/keys/attestation.jwks")
            && err.contains("pass --key FILE"),
        "{err}"
    );
}
