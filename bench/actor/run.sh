#!/usr/bin/env bash
# bench/actor: what the inference actor gained (issue 9, item 2). Several
# cameras (default 4) replay vtest.avi live (realtime, looped), each with the
# default detector on EVERY analysed frame (detect.when: always), so the
# detector is the bottleneck; vigild is run once per build given, in turns
# (A B A B ...), on the same config, and for each run prints:
#   analysed fps    det.<camera> messages per second over the window, summed
#                   over the cameras (one per analysed frame)
#   detected fps    those whose detector ran (detected: true)
#   p50/p99 ms      capture-to-event latency: the subscriber's receive time
#                   minus the frame's decode time (`time` of the message),
#                   every det message of the window (exact, not the stats
#                   histogram)
#   drops           frames.dropped.* and detect.dropped of the last stats
#
# Usage: bench/actor/run.sh --build NAME=VIGILD [--build NAME=VIGILD ...]
#            [--cameras 4] [--fps 10] [--seconds 40] [--warmup 8] [--rounds 2]
#            [--batch 1]
# e.g.   bench/actor/run.sh --build before=/work/old/build/daemon/vigild \
#                           --build after=build/daemon/vigild
# A benchmark: prints, never fails on figures. Run it on a quiet machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
cams=4 fps=10 secs=40 warmup=8 rounds=2 batch=1
names=() bins=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) names+=("${2%%=*}"); bins+=("${2#*=}"); shift 2 ;;
    --cameras) cams=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench/actor: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ ${#bins[@]} -gt 0 ] || { echo "bench/actor: give at least one --build NAME=VIGILD" >&2; exit 2; }
clip="$CACHE/footage/vtest.avi" model="$CACHE/models/nanodet.onnx"
for f in "$clip" "$model" "${bins[@]}"; do
  [ -e "$f" ] || { echo "bench/actor: missing $f (scripts/fetch-footage.sh, fetch-models.sh, a build)" >&2; exit 2; }
done
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
{
  echo "daemon: { publish: tcp://127.0.0.1:$port, control: '', stats_interval: 2s, inference_batch: $batch, state_dir: $work }"
  echo "models:"
  echo "  detector: { path: $model, head: nanodet, input: [416, 416] }"
  echo "cameras:"
  for i in $(seq 1 "$cams"); do
    echo "  cam$i: { url: $clip, realtime: true, loop: true, analysis_fps: $fps, detect: { model: detector, when: always } }"
  done
} > "$work/vigil.yaml"

echo "bench/actor: $cams cameras x vtest.avi (768x576, realtime, looped), analysis_fps $fps, detector on every"
echo "analysed frame, inference_batch $batch; window ${secs}s after ${warmup}s; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
printf '%-10s %5s %12s %12s %9s %9s %s\n' build round "analysed/s" "detected/s" "p50 ms" "p99 ms" "drops (ring, detect)"
for round in $(seq 1 "$rounds"); do
  for k in "${!bins[@]}"; do
    "${bins[$k]}" --config "$work/vigil.yaml" 2>"$work/vigild.log" &
    pid=$!
    /usr/bin/python3 "$root/bench/actor/measure.py" "tcp://127.0.0.1:$port" "$warmup" "$secs" > "$work/out.txt" || true
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    pid=""
    printf '%-10s %5s %s\n' "${names[$k]}" "$round" "$(cat "$work/out.txt")"
  done
done
