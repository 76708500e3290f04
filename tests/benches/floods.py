#!/usr/bin/env python3
"""Floods on the daemon's socket, and what a legitimate caller sees meanwhile.

The release daemon runs as root on the live host with its own socket and state directory;
the socket's group is `nogroup`, so `nobody` may connect. The flooder is one uid (root,
whose calls count against the same per-uid caps as anyone's); during each flood
`nobody` (another caller in the socket group) runs `clawsecctl posture` 200 times. The
table gives its p50 and p99, how many of those calls failed, the daemon's RSS before, at
its highest during, and 25 s after, and how many log lines the flood cost.

Floods (each for the time the 200 legitimate calls take, at least 10 s):
  idle     2,000 connections that never send a byte, re-opened as they are closed
  preface  2,000 connections that send half an HTTP/2 preface and stall, re-opened
  watch    40,000 WatchPosture streams from one reader over 64 connections
  refused  10,000 Assess calls, 64 at a time: past the per-uid rate limit's burst,
           each is refused (RESOURCE_EXHAUSTED)

Usage: sudo python3 tests/benches/floods.py
Needs: root, a release build (cargo build --release -p clawsecd -p clawsecctl), python
grpcio (pip install grpcio).
"""
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = os.path.join(ROOT, "target", "release")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTLE = 25  # seconds after a flood before "after" is read


# ---- flooders (run as nobody) -------------------------------------------------------

async def hold(sock_path: str, n: int, send: bytes, seconds: float) -> None:
    """Keeps `n` connections open, each sending `send` once; re-opens closed ones."""
    stop = time.monotonic() + seconds
    opened = refused = 0

    async def one():
        nonlocal opened, refused
        while time.monotonic() < stop:
            try:
                reader, writer = await asyncio.open_unix_connection(sock_path)
            except OSError:
                refused += 1
                await asyncio.sleep(0.05)
                continue
            opened += 1
            if send:
                writer.write(send)
            try:
                await asyncio.wait_for(reader.read(), timeout=max(0.1, stop - time.monotonic()))
            except (asyncio.TimeoutError, OSError):
                pass
            writer.close()

    await asyncio.gather(*(one() for _ in range(n)))
    print(f"opened {opened}, failed to connect {refused}", file=sys.stderr)


async def watches(sock_path: str, n: int, seconds: float) -> None:
    import grpc
    # One connection per channel (no shared subchannel), so the streams really are spread
    # over 64 connections, up to 32 each.
    options = [("grpc.default_authority", "localhost"), ("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(f"unix://{sock_path}", options=options) for _ in range(64)]
    ok = failed = 0
    stop = time.monotonic() + seconds

    async def one(ch):
        nonlocal ok, failed
        call = ch.unary_stream("/clawsec.v1.ClawSec/WatchPosture", request_serializer=lambda _: b"", response_deserializer=lambda b: b)(None)
        try:
            async for _ in call:
                ok += 1
                await asyncio.sleep(max(0.0, stop - time.monotonic()))
                break
        except grpc.aio.AioRpcError:
            failed += 1
        call.cancel()

    await asyncio.gather(*(one(channels[i % 64]) for i in range(n)))
    print(f"streams opened {ok}, refused {failed}", file=sys.stderr)


async def refused_calls(sock_path: str, n: int) -> None:
    import grpc
    channels = [grpc.aio.insecure_channel(f"unix://{sock_path}", options=[("grpc.default_authority", "localhost")]) for _ in range(8)]
    codes: dict = {}
    sem = asyncio.Semaphore(64)

    async def one(i):
        async with sem:
            rpc = channels[i % 8].unary_unary("/clawsec.v1.ClawSec/Assess", request_serializer=lambda _: b"", response_deserializer=lambda b: b)
            try:
                await rpc(None, timeout=60)
                codes["OK"] = codes.get("OK", 0) + 1
            except grpc.aio.AioRpcError as e:
                codes[e.code().name] = codes.get(e.code().name, 0) + 1

    t = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(n)))
    print(f"{n} calls in {time.monotonic() - t:.1f} s: {codes}", file=sys.stderr)


def flood_main(kind: str, sock_path: str, seconds: float) -> None:
    if kind == "idle":
        asyncio.run(hold(sock_path, 2000, b"", seconds))
    elif kind == "preface":
        asyncio.run(hold(sock_path, 2000, PREFACE[:16], seconds))
    elif kind == "watch":
        asyncio.run(watches(sock_path, 40000, seconds))
    elif kind == "refused":
        asyncio.run(refused_calls(sock_path, 10000))


# ---- the driver (root) --------------------------------------------------------------

def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def posture_calls(sock_path: str, n: int, pid: int):
    lat, failed, peak = [], 0, rss_kib(pid)
    for _ in range(n):
        t = time.monotonic()
        r = subprocess.run([f"{BIN}/clawsecctl", "--socket", sock_path, "posture", "--json"],
                           capture_output=True, preexec_fn=as_nobody)
        lat.append((time.monotonic() - t) * 1000)
        if r.returncode != 0:
            failed += 1
            if failed == 1:
                print(f"a legitimate call failed: {r.stderr.decode().strip()}", file=sys.stderr)
        peak = max(peak, rss_kib(pid))
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99) - 1], failed, peak


def main() -> int:
    if len(sys.argv) == 4:
        flood_main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
        return 0
    if os.geteuid() != 0:
        print("run as root: the flooder runs as another uid (nobody)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp()
    os.chmod(work, 0o755)
    sock = os.path.join(work, "s.sock")
    with open(os.path.join(work, "c.toml"), "w") as f:
        f.write(f'state_dir = "{work}/state"\nsocket = "{sock}"\n[server]\nsocket_group = "nogroup"\n[roles]\nreaders = ["group:nogroup"]\n')
    log = open(os.path.join(work, "daemon.log"), "w")
    # As the unit runs it: glibc arenas capped at two (systemd/clawsecd.service).
    env = dict(os.environ, MALLOC_ARENA_MAX="2")
    daemon = subprocess.Popen([f"{BIN}/clawsecd", "--config", f"{work}/c.toml"], stdout=log, stderr=log, env=env)
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    time.sleep(5)

    def log_lines():
        with open(os.path.join(work, "daemon.log")) as f:
            return sum(1 for _ in f)

    print("| flood | legitimate `clawsecctl posture` p50 / p99 | failed | RSS before / peak / 25 s after | log lines | flooder's view |")
    print("|---|---:|---:|---|---:|---|")
    before = rss_kib(daemon.pid)
    p50, p99, failed, peak = posture_calls(sock, 200, daemon.pid)
    print(f"| none | {p50:.1f} / {p99:.1f} ms | {failed} | {before / 1024:.1f} / {peak / 1024:.1f} MiB | | |")
    for kind in ["idle", "preface", "watch", "refused"]:
        before, lines0 = rss_kib(daemon.pid), log_lines()

        def many_files():
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

        flooder = subprocess.Popen([sys.executable, os.path.abspath(__file__), kind, sock, "20"],
                                   preexec_fn=many_files, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        p50, p99, failed, peak = posture_calls(sock, 200, daemon.pid)
        try:
            _, view = flooder.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            flooder.kill()
            _, view = flooder.communicate()
        time.sleep(SETTLE)
        after = rss_kib(daemon.pid)
        view = " ".join(view.strip().splitlines()[-1:])
        print(f"| {kind} | {p50:.1f} / {p99:.1f} ms | {failed} | {before / 1024:.1f} / {peak / 1024:.1f} / {after / 1024:.1f} MiB | {log_lines() - lines0} | {view} |")
    daemon.terminate()
    daemon.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
