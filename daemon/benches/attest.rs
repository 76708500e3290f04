//! Sign and verify cost per operation (canonicalization included), printed as figures.
//! Run: `cargo bench -p clawsecd --bench attest`

use std::hint::black_box;
use std::time::{Duration, Instant};

use clawsec_proto::attestation::document::GENESIS_PREV;
use clawsec_proto::attestation::keyfiles;
use clawsec_proto::attestation::verify::{Policy, verify_json};
use clawsec_proto::attestation::{Attestation, HostIdentity, PostureSummary};
use clawsecd::attest::Signer;

fn sample() -> Attestation {
    Attestation {
        version: 1,
        agent_id: "agent-001".into(),
        host: HostIdentity {
            hostname: "agentbox".into(),
            machine_id_sha256: "0035969ec53f6e7f0fb40f08cc9ed4783aa99c2000cf1ebe4187c10dd0d8370f"
                .into(),
            boot_id: "6e3a51e4-887d-4f07-9267-5def2cfc544a".into(),
        },
        timestamp: "2026-11-24T22:00:00Z".into(),
        expires_at: "2026-11-24T22:15:00Z".into(),
        seq: 42,
        prev: GENESIS_PREV.into(),
        nonce: Some("q83vEjRWeJCrze8SNFZ4kA".into()),
        epoch_start: None,
        posture: PostureSummary {
            trust_tier: "MEDIUM".into(),
            overall_score: 75,
            domains: [
                "physical",
                "network",
                "secrets",
                "code",
                "logs",
                "skills",
                "integrity",
                "social",
                "incident",
            ]
            .iter()
            .map(|d| ((*d).to_owned(), 80))
            .collect(),
            critical_failures: vec![],
            waived: vec!["NET-001".into()],
        },
        checks_digest: format!("sha256:{}", "ab".repeat(32)),
        catalog_digest: format!("sha256:{}", "cd".repeat(32)),
        config_digest: format!("sha256:{}", "ef".repeat(32)),
        key_id: String::new(),
        alg: "ES256".into(),
        signature: String::new(),
    }
}

fn measure(name: &str, n: u32, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    let total: Duration = samples.iter().sum();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    println!(
        "{name:<28} n={n:<6} mean {:>7.1} µs  p50 {:>7.1} µs  p99 {:>7.1} µs  ({:>6.0} ops/s)",
        total.as_secs_f64() * 1e6 / f64::from(n),
        p(0.5),
        p(0.99),
        f64::from(n) / total.as_secs_f64()
    );
}

fn main() {
    let signer = Signer::new(keyfiles::generate());
    let keys = vec![signer.public().clone()];
    let signed = signer.sign(sample()).expect("sign");
    let value = signed.to_value();
    let policy = Policy::at(std::time::UNIX_EPOCH);
    println!("attestation sign/verify, ES256 (p256 crate), one core");
    measure("canonicalize (RFC 8785)", 20_000, || {
        black_box(signed.signing_input().expect("canonical"));
    });
    measure("sign (canonicalize + ECDSA)", 2_000, || {
        black_box(signer.sign(sample()).expect("sign"));
    });
    measure("verify JSON (full checks)", 2_000, || {
        black_box(verify_json(&value, &keys, &policy).expect("verify"));
    });
    measure("sign JWS", 2_000, || {
        black_box(signer.jws(&signed).expect("jws"));
    });
    measure("sign DSSE", 2_000, || {
        black_box(signer.dsse(&signed).expect("dsse"));
    });
}
