#!/usr/bin/env bash
# bench/record: what recording costs (issue 12). Serves the 720p and 1080p
# camera-like clips (scripts/make-clips.sh) from tests/servers/rtsp_server.py
# and runs bench_record against them: 1 camera at 720p and at 1080p (CPU of
# recording per frame, goal <= 0.1 ms), then 16 cameras at 1080p at once
# (goal: no dropped packet), then bytes on disk per hour against the stream
# and the time of a 1-minute clip. A benchmark, not a test: it prints figures.
#
# Usage: bench/record/run.sh [--seconds S] [--cameras N] [--bench PATH]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
seconds=70 cameras=16 bench=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --cameras) cameras=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench/record: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
. "$root/scripts/newest-bin.sh"
[ -n "$bench" ] || bench=$(newest_bin bench/record/bench_record)
[ -x "$bench" ] || { echo "bench/record: no bench_record binary (build the 'bench_record' target)" >&2; exit 1; }
"$root/scripts/make-clips.sh" >/dev/null
work=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$work"' EXIT

# 1080p camera-like clip (no B-frames, an IDR a second), made here once
cam1080="$CACHE/footage/vtest-1080p10-cam.mp4"
if [ ! -s "$cam1080" ]; then
  ffmpeg -nostdin -loglevel error -y -i "$CACHE/footage/vtest-720p10-cam.mp4" -vf scale=1920:1080 \
    -c:v libx264 -preset fast -crf 23 -profile:v main -bf 0 -g 10 -keyint_min 10 -sc_threshold 0 \
    -movflags +faststart "$cam1080.tmp.mp4"
  mv "$cam1080.tmp.mp4" "$cam1080"
fi

serve() { # clip -> sets srv and url
  /usr/bin/python3 "$root/tests/servers/rtsp_server.py" --clip "$1" --loop --max-seconds $((seconds * 3 + 60)) \
    >"$work/srv.out" 2>"$work/srv.err" &
  srv=$!
  for _ in $(seq 100); do grep -q READY "$work/srv.out" && break; sleep 0.1; done
  url=$(sed -n 's/^READY //p' "$work/srv.out")
  [ -n "$url" ] || { cat "$work/srv.err" >&2; exit 1; }
}

for clip in "$CACHE/footage/vtest-720p10-cam.mp4" "$cam1080"; do
  serve "$clip"
  echo "== $(basename "$clip"): 1 camera"
  "$bench" "$url" --cameras 1 --seconds "$seconds"
  if [[ $clip == "$cam1080" ]]; then
    echo "== $(basename "$clip"): $cameras cameras at once"
    "$bench" "$url" --cameras "$cameras" --seconds "$((seconds / 2))"
  fi
  kill $srv; wait $srv 2>/dev/null || true; srv=""
done
