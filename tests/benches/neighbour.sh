#!/usr/bin/env bash
# What clawsecd costs a live, busy agent host: the release daemon as root on the live
# host (host_root = "/", so the kernel's process connector is used), default config but
# for its own socket and state directory.
#
#   (a) idle: daemon CPU (share of one core) and RSS over IDLE_SECS (default 600);
#   (b) workloads agents run all day, each run twice in one go — once without the
#       daemon running, once with it — side by side: wall time and CPU of the workload, the
#       daemon's CPU during it as a share of the workload's CPU, and the event counters
#       (how many process events were seen, how many could change a verdict, how many
#       event-triggered runs happened).
#
# Usage: sudo [PAIRS=N] tests/benches/neighbour.sh [IDLE_SECS]
#   PAIRS (default 1): how many times each workload runs without and with the daemon
#   (without first in odd pairs, with first in even ones); with more than one, a line
#   compares the median wall times.
#   IDLE_SECS 0 skips (a); ONLY=cargo or ONLY=npm runs just that workload; EVENTS=off
#   runs the daemon with [events] enabled = false.
# Needs: root, a release build (cargo build --release -p clawsecd -p clawsecctl), npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
idle_secs=${1:-600}
pairs=${PAIRS:-1}
bin=target/release
[ "$(id -u)" = 0 ] || { echo "run as root: the process connector needs it" >&2; exit 2; }
[ -x $bin/clawsecd ] && [ -x $bin/clawsecctl ] || { echo "build the release binaries first" >&2; exit 2; }
tck=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $daemon 2>/dev/null || true; rm -rf "$work"' EXIT

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
start_daemon() {
  mkdir -p "$work/state"
  printf 'state_dir = "%s/state"\nsocket = "%s/s.sock"\n' "$work" "$work" > "$work/c.toml"
  # EVENTS=off: the daemon without file and process events (schedule only), to tell
  # what the events themselves cost a workload.
  [ "${EVENTS:-on}" = off ] && printf '[events]\nenabled = false\n' >> "$work/c.toml"
  $bin/clawsecd --config "$work/c.toml" > "$work/daemon.log" 2>&1 &
  daemon=$!
  for _ in $(seq 100); do [ -S "$work/s.sock" ] && break; sleep 0.1; done
  sleep 5 # the first assessment and the watches
}
events() { $bin/clawsecctl --socket "$work/s.sock" posture --json | python3 -c '
import json, sys
e = json.load(sys.stdin)["daemon"]["events"]
print(e["process_events"], e["process_events_relevant"], e["process_runs"], e["targeted_runs"], e["full_rescans"])'; }

if [ "$idle_secs" -gt 0 ]; then
start_daemon
echo "(a) idle live host, ${idle_secs} s"
t0=$(cpu_ticks $daemon); s0=$(date +%s.%N)
sleep "$idle_secs"
t1=$(cpu_ticks $daemon); s1=$(date +%s.%N)
rss=$(awk '/VmRSS/{print $2}' /proc/$daemon/status)
read -r pe rel pr tr fr <<<"$(events)"
python3 -c "print('| idle | %.0f s | daemon CPU %.3f %% of one core | RSS %.1f MiB | %s process events, %s relevant, %s process runs, %s file runs, %s re-scans |' % ($s1-$s0, 100*($t1-$t0)/$tck/($s1-$s0), $rss/1024, '$pe', '$rel', '$pr', '$tr', '$fr'))"
kill $daemon; wait $daemon 2>/dev/null || true; rm -rf "$work/state" "$work/s.sock"
fi

# Each workload starts from the same clean state in both runs.
run_workload() { # name, setup, command
  local name=$1 setup=$2 cmd=$3
  local walls="$work/walls.$(echo "$name" | tr -c 'A-Za-z0-9' _)"
  : >"$walls"
  for pair in $(seq "$pairs"); do
  # The order alternates too (without first in odd pairs, with first in even ones), so
  # whatever the first run of a pair leaves behind (page cache, writeback) falls on both.
  order="no yes"; [ $((pair % 2)) = 0 ] && order="yes no"
  for with in $order; do
    bash -c "$setup" >/dev/null 2>&1
    if [ $with = yes ]; then
      start_daemon
      read -r pe0 rel0 pr0 tr0 _ <<<"$(events)"; d0=$(cpu_ticks $daemon)
    fi
    s0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$work/time" bash -c "$cmd" >/dev/null 2>&1
    s1=$(date +%s.%N)
    read -r u s <"$work/time"
    if [ $with = yes ]; then
      d1=$(cpu_ticks $daemon)
      read -r pe rel pr tr _ <<<"$(events)"
      python3 -c "
w=$u+$s; d=($d1-$d0)/$tck
print('| %s | with daemon | %.1f s wall | %.1f s CPU | daemon %.2f s CPU = %.3f %% of the workload | %d process events, %d relevant, %d process runs, %d file runs |' % ('$name', $s1-$s0, w, d, 100*d/w, $pe-$pe0, $rel-$rel0, $pr-$pr0, $tr-$tr0))"
      kill $daemon; wait $daemon 2>/dev/null || true; rm -rf "$work/state" "$work/s.sock"
    else
      python3 -c "print('| %s | without | %.1f s wall | %.1f s CPU | | |' % ('$name', $s1-$s0, $u+$s))"
    fi
    echo "$with $(python3 -c "print($s1-$s0)")" >>"$walls"
  done
  done
  # Alternating pairs: the difference of the medians beside the spread of each side.
  python3 - "$walls" "$name" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
no = sorted(float(w) for k, w in rows if k == "no")
yes = sorted(float(w) for k, w in rows if k == "yes")
if len(no) > 1:
    print("| %s | %d alternating pairs | median wall without %.1f s (%.1f–%.1f), with %.1f s (%.1f–%.1f): difference %+.1f %% | | |" % (
        sys.argv[2], len(no), statistics.median(no), no[0], no[-1], statistics.median(yes), yes[0], yes[-1],
        100 * (statistics.median(yes) / statistics.median(no) - 1)))
PY
}
echo "(b) workloads"
only=${ONLY:-}
[ -z "$only" ] || [ "$only" = cargo ] && run_workload "cargo build -p clawsec-proto (clean)" \
  "CARGO_TARGET_DIR=$work/target cargo clean -p clawsec-proto; rm -rf $work/target" \
  "CARGO_TARGET_DIR=$work/target cargo build --release -p clawsec-proto"
[ -z "$only" ] || [ "$only" = npm ] && run_workload "npm install @modelcontextprotocol/inspector (clean)" \
  "rm -rf $work/npm; mkdir -p $work/npm; npm cache clean --force" \
  "cd $work/npm && npm install --no-audit --no-fund @modelcontextprotocol/inspector"
