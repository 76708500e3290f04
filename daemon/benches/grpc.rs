//! `GetPosture` latency and throughput over the Unix socket at 1, 8 and 64 concurrent
//! callers, for the real clawsecd and, in the same run, a bare tonic server that returns
//! a constant message — the very posture message clawsecd serves, so both send the same
//! bytes and the difference is ClawSec's own per-call work.
//!
//! Run: `cargo bench -p clawsecd --bench grpc` (as root or not; uses temp dirs).
//! Both servers run in their own processes; the load generator runs here.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clawsec_proto::pb;
use clawsec_proto::pb::claw_sec_client::ClawSecClient;
use clawsec_proto::pb::claw_sec_server::{ClawSec, ClawSecServer};
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::net::{UnixListener, UnixStream};
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Response, Status};

const RUN: Duration = Duration::from_secs(3);

async fn channel(path: &Path) -> Channel {
    let path = path.to_path_buf();
    Endpoint::try_from("http://localhost")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let p = path.clone();
            async move { UnixStream::connect(p).await.map(TokioIo::new) }
        }))
        .await
        .expect("connect")
}

/// Serves `GetPosture` with a constant response; every other call is unimplemented.
struct Bare(Arc<pb::GetPostureResponse>);

#[tonic::async_trait]
impl ClawSec for Bare {
    async fn get_posture(
        &self,
        _: Request<pb::GetPostureRequest>,
    ) -> Result<Response<pb::GetPostureResponse>, Status> {
        Ok(Response::new((*self.0).clone()))
    }
    async fn get_attestation(
        &self,
        _: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn assess(
        &self,
        _: Request<pb::AssessRequest>,
    ) -> Result<Response<pb::AssessResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    type WatchPostureStream = tokio_stream::Empty<Result<pb::PostureEvent, Status>>;
    async fn watch_posture(
        &self,
        _: Request<pb::WatchPostureRequest>,
    ) -> Result<Response<Self::WatchPostureStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn list_checks(
        &self,
        _: Request<pb::ListChecksRequest>,
    ) -> Result<Response<pb::ListChecksResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn authorize(
        &self,
        _: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn approve_baseline(
        &self,
        _: Request<pb::ApproveBaselineRequest>,
    ) -> Result<Response<pb::ApproveBaselineResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn reload(
        &self,
        _: Request<pb::ReloadRequest>,
    ) -> Result<Response<pb::ReloadResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn rotate_key(
        &self,
        _: Request<pb::RotateKeyRequest>,
    ) -> Result<Response<pb::RotateKeyResponse>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_inventory(
        &self,
        _: Request<pb::GetInventoryRequest>,
    ) -> Result<Response<pb::GetInventoryResponse>, Status> {
        Err(Status::unimplemented(""))
    }
}

/// `grpc --bare SOCKET RESPONSE_FILE`: the bare server process.
fn bare_server(socket: &Path, response: &Path) {
    let bytes = std::fs::read(response).expect("response file");
    let resp = pb::GetPostureResponse::decode(bytes.as_slice()).expect("decode");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = UnixListener::bind(socket).expect("bind");
        tonic::transport::Server::builder()
            .add_service(ClawSecServer::new(Bare(Arc::new(resp))))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener))
            .await
            .expect("serve");
    });
}

fn wait_for(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} never came up",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(Debug)]
struct Figures {
    calls: usize,
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

async fn load(socket: &Path, callers: usize) -> Figures {
    let mut tasks = Vec::new();
    let start = Instant::now() + Duration::from_millis(200);
    for _ in 0..callers {
        let ch = channel(socket).await;
        tasks.push(tokio::spawn(async move {
            let mut client = ClawSecClient::new(ch).max_decoding_message_size(16 << 20);
            tokio::time::sleep_until(start.into()).await;
            let mut lat = Vec::new();
            while start.elapsed() < RUN {
                let t = Instant::now();
                client
                    .get_posture(pb::GetPostureRequest::default())
                    .await
                    .expect("GetPosture");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let q = |p: f64| all[((all.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    Figures {
        calls: all.len(),
        per_sec: all.len() as f64 / RUN.as_secs_f64(),
        p50_us: q(0.5),
        p99_us: q(0.99),
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--bare") {
        bare_server(Path::new(&args[i + 1]), Path::new(&args[i + 2]));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let daemon_sock = d.join("clawsecd.sock");
    let bare_sock = d.join("bare.sock");
    std::fs::write(
        d.join("clawsecd.toml"),
        format!(
            "state_dir = {:?}\nsocket = {:?}\n",
            d.join("state").display().to_string(),
            daemon_sock.display().to_string()
        ),
    )
    .unwrap();
    let daemon = Kill(
        Command::new(env!("CARGO_BIN_EXE_clawsecd"))
            .arg("--config")
            .arg(d.join("clawsecd.toml"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("clawsecd"),
    );
    wait_for(&daemon_sock);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The constant the bare server will serve: exactly what clawsecd answers.
    let response: pb::GetPostureResponse = rt.block_on(async {
        let mut c =
            ClawSecClient::new(channel(&daemon_sock).await).max_decoding_message_size(16 << 20);
        c.get_posture(pb::GetPostureRequest::default())
            .await
            .expect("posture")
            .into_inner()
    });
    let resp_file: PathBuf = d.join("response.bin");
    std::fs::write(&resp_file, response.encode_to_vec()).unwrap();
    let bare = Kill(
        Command::new(std::env::current_exe().unwrap())
            .arg("--bare")
            .arg(&bare_sock)
            .arg(&resp_file)
            .stdout(Stdio::null())
            .spawn()
            .expect("bare server"),
    );
    wait_for(&bare_sock);
    println!(
        "GetPosture over a Unix socket, {} s per point, response {} bytes ({} checks); servers in their own processes",
        RUN.as_secs(),
        response.encoded_len(),
        response.posture.as_ref().map_or(0, |p| p.checks.len())
    );
    println!(
        "{:<10} {:>8} {:>12} {:>10} {:>10}   {:>12} {:>10} {:>10}   {:>7} {:>7}",
        "callers",
        "",
        "clawsecd/s",
        "p50 µs",
        "p99 µs",
        "bare/s",
        "p50 µs",
        "p99 µs",
        "thr×",
        "p99×"
    );
    for callers in [1usize, 8, 64] {
        // Alternate so both servers see the same machine conditions.
        let bare_f = rt.block_on(load(&bare_sock, callers));
        let ours = rt.block_on(load(&daemon_sock, callers));
        println!(
            "{:<10} {:>8} {:>12.0} {:>10.1} {:>10.1}   {:>12.0} {:>10.1} {:>10.1}   {:>7.2} {:>7.2}",
            callers,
            "",
            ours.per_sec,
            ours.p50_us,
            ours.p99_us,
            bare_f.per_sec,
            bare_f.p50_us,
            bare_f.p99_us,
            ours.per_sec / bare_f.per_sec,
            ours.p99_us / bare_f.p99_us
        );
        let _ = (ours.calls, bare_f.calls);
    }
    println!(
        "clawsecd resident memory after the run: {} KiB (bare server: {} KiB)",
        rss_kib(daemon.0.id()),
        rss_kib(bare.0.id())
    );
}
