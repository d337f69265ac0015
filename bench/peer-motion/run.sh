#!/usr/bin/env bash
# bench/peer-motion: CPU time per frame of vigild (RTSP decode + motion gate on
# every frame + publish) against Debian's Motion 4.5 (the classic C monitoring
# daemon; motion detection only: no pictures, no movies, no stream/web
# servers), both on the same 720p 10 fps RTSP stream from
# tests/servers/rtsp_server.py, measured over the same window.
#
# Usage: bench/peer-motion/run.sh [--seconds 60] [--warmup 5] [--sequential]
#            [--vigild PATH] [--vigil PATH] [--motion-only]
#   --vigild/--vigil  default: $VIGIL_BUILD_DIR, else the newest build*/ made
#                     without sanitizers
#   default: both run at the same time, each on its own RTSP session of the
#   same server (each costs a few % of one core, so they barely compete, and
#   they see the same machine noise), with a third session decoded by
#   `ffmpeg -threads 1 -f null` as the decode-only floor; --sequential runs
#   vigild, then Motion (no ffmpeg).
#   CPU = utime+stime from /proc/PID/stat (all threads) over the window.
#   Frames: vigild's own count (frames.decoded of its `stats` messages, read
#   with `vigil events --topic stats`; the window starts and ends on a stats
#   message); Motion: its loop rate (framerate 10) x window, as Motion logs no
#   frame counter. RSS: VmRSS/VmHWM from /proc/PID/status at the window's end.
# Goal (issue 2): vigild at most half of Motion's ms/frame (Motion measured
# 4.1 ms/frame on this kind of machine). A benchmark: prints, never fails on
# figures. Installs Debian's `motion` if missing (root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
secs=60 warmup=5 sequential=0 vigild="" vigil="" motion_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) secs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --sequential) sequential=1; shift ;;
    --vigild) vigild=$2; shift 2 ;;
    --vigil) vigil=$2; shift 2 ;;
    --motion-only) motion_only=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "peer-motion: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
. "$root/scripts/newest-bin.sh"
[ -n "$vigild" ] || vigild=$(newest_bin daemon/vigild)
[ -n "$vigil" ] || vigil=$(newest_bin tools/vigil)
if [ $motion_only -eq 0 ] && { [ ! -x "$vigild" ] || [ ! -x "$vigil" ]; }; then
  echo "peer-motion: vigild/vigil not built (build targets vigild and vigil, or pass --vigild/--vigil); measuring Motion only" >&2
  motion_only=1
fi

if ! command -v motion >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "peer-motion: Debian package 'motion' is missing; install it as root" >&2; exit 1; }
  echo "peer-motion: installing Debian package motion"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends motion >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends motion >/dev/null; }
fi
"$root/scripts/make-clips.sh" >/dev/null
clip="$CACHE/footage/vtest-720p10-cam.mp4"

work=$(mktemp -d /tmp/peer-motion.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)

# cpu_ticks PID: utime+stime of the whole process (fields 14, 15 of
# /proc/PID/stat; counted after the ')' that ends the command name)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
now() { date +%s.%N; }
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
alive() { kill -0 "$1" 2>/dev/null || { echo "peer-motion: $2 died; its log:" >&2; tail -20 "$3" >&2; exit 1; }; }

# ---- the stream ---------------------------------------------------------
total=$(( (warmup + secs + 30) * 2 + 60 ))
/usr/bin/python3 "$root/tests/servers/rtsp_server.py" --clip "$clip" --loop \
  --max-seconds "$total" >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^READY' "$work/server.out" && break; sleep 0.1; done
url=$(awk '/^READY/{print $2}' "$work/server.out")
[ -n "$url" ] || { echo "peer-motion: RTSP server did not start:" >&2; cat "$work/server.err" >&2; exit 1; }

# ---- the two daemons ----------------------------------------------------
start_vigild() {
  pub_port=$(/usr/bin/python3 "$root/tests/servers/free_port.py")
  endpoint="tcp://127.0.0.1:$pub_port"
  cat >"$work/vigil.yaml" <<YAML
daemon:
  publish: $endpoint
  control: ""
  state_dir: $work
  stats_interval: 1s
cameras:
  peer:
    url: $url
    rtsp_transport: tcp
    analysis_fps: 10        # every frame of the 10 fps stream, as Motion does
    decode_threads: 1
    correct: off
    detect: { model: "", when: never }
YAML
  "$vigild" --config "$work/vigil.yaml" >"$work/vigild.log" 2>&1 &
  vg_pid=$!; pids+=($vg_pid)
  "$vigil" events --endpoint "$endpoint" --topic stats >"$work/stats.jsonl" 2>"$work/events.err" &
  pids+=($!)
}
start_motion() {
  mkdir -p "$work/motion"
  # Debian's example config, minus every key set below, plus: the stream,
  # its size and rate, and every output off.
  set_keys="daemon setup_mode log_file log_level target_dir video_device netcam_url netcam_params width height framerate picture_output movie_output snapshot_interval webcontrol_port stream_port text_left text_right"
  grep -v -E "^[[:space:]]*($(echo "$set_keys" | tr ' ' '|'))([[:space:]]|$)" /etc/motion/motion.conf >"$work/motion.conf"
  cat >>"$work/motion.conf" <<CONF
daemon off
setup_mode off
log_level 6
target_dir $work/motion
netcam_url $url
netcam_params rtsp_transport=tcp
width 1280
height 720
framerate 10
picture_output off
movie_output off
snapshot_interval 0
webcontrol_port 0
stream_port 0
text_left
text_right
CONF
  motion -n -c "$work/motion.conf" -l "$work/motion.log" >"$work/motion.out" 2>&1 &
  mo_pid=$!; pids+=($mo_pid)
}

start_ffmpeg() {  # decode-only floor: the same stream through libavcodec, 1 thread
  ffmpeg -nostdin -hide_banner -loglevel error -rtsp_transport tcp -threads 1 -i "$url" \
    -f null - -stats_period 0.1 -progress "$work/ff.progress" >"$work/ff.log" 2>&1 &
  ff_pid=$!; pids+=($ff_pid)
}
ff_frames() { awk -F= '$1 == "frame" {f = $2} END {print f + 0}' "$work/ff.progress"; }

# the next stats line of vigild: prints "decoded rss_bytes"
wait_stats() {
  local n; n=$(wc -l <"$work/stats.jsonl")
  for _ in $(seq 500); do
    [ "$(wc -l <"$work/stats.jsonl")" -gt "$n" ] && break
    sleep 0.01
  done
  tail -1 "$work/stats.jsonl" | /usr/bin/python3 -c 'import json,sys; m=json.loads(sys.stdin.read()); print(m["frames"]["decoded"], m["process"]["rss_bytes"], m["frames"]["analysed"])'
}

measure() {  # measure vigild|motion|both
  local what=$1
  # Connected first (up to 60 s: a loaded machine makes RTSP set-up slow),
  # then the warm-up.
  for _ in $(seq 600); do
    local ok=1
    if [ "$what" != vigild ]; then
      alive "$mo_pid" motion "$work/motion.log"
      grep -q 'connected' "$work/motion.log" 2>/dev/null || ok=0
    fi
    if [ "$what" != motion ]; then
      alive "$vg_pid" vigild "$work/vigild.log"
      grep -q '"state":"streaming"' "$work/stats.jsonl" 2>/dev/null || ok=0
    fi
    [ $ok -eq 1 ] && break
    sleep 0.1
  done
  if [ "$what" != vigild ] && ! grep -q 'connected' "$work/motion.log"; then
    echo "peer-motion: Motion did not connect to $url in 60 s:" >&2; tail "$work/motion.log" >&2; exit 1
  fi
  if [ "$what" != motion ] && ! grep -q '"state":"streaming"' "$work/stats.jsonl"; then
    echo "peer-motion: vigild did not stream $url in 60 s:" >&2; tail "$work/vigild.log" >&2; exit 1
  fi
  sleep "$warmup"
  if [ "$what" != motion ]; then
    alive "$vg_pid" vigild "$work/vigild.log"
    read -r vg_dec0 _ vg_an0 < <(wait_stats); vg_cpu0=$(cpu_ticks "$vg_pid"); vg_t0=$(now)
  fi
  if [ "$what" != vigild ]; then mo_cpu0=$(cpu_ticks "$mo_pid"); mo_t0=$(now); fi
  if [ -n "${ff_pid:-}" ]; then ff_cpu0=$(cpu_ticks "$ff_pid"); ff_f0=$(ff_frames); ff_t0=$(now); fi
  # vigild: a second short, then its next stats message closes the window
  if [ "$what" = motion ]; then sleep "$secs"; else sleep "$((secs - 1))"; fi
  if [ "$what" != motion ]; then
    read -r vg_dec1 vg_rss_stats vg_an1 < <(wait_stats); vg_cpu1=$(cpu_ticks "$vg_pid"); vg_t1=$(now)
    vg_rss=$(rss_kb "$vg_pid" VmRSS); vg_hwm=$(rss_kb "$vg_pid" VmHWM)
  fi
  if [ "$what" != vigild ]; then
    mo_cpu1=$(cpu_ticks "$mo_pid"); mo_t1=$(now)
    mo_rss=$(rss_kb "$mo_pid" VmRSS); mo_hwm=$(rss_kb "$mo_pid" VmHWM)
  fi
  if [ -n "${ff_pid:-}" ]; then
    ff_cpu1=$(cpu_ticks "$ff_pid"); ff_f1=$(ff_frames); ff_t1=$(now)
    ff_rss=$(rss_kb "$ff_pid" VmRSS); ff_hwm=$(rss_kb "$ff_pid" VmHWM)
  fi
}

echo "peer-motion: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), stream $url (vtest-720p10-cam.mp4, 1280x720 10 fps H.264)"
echo "  window ${secs}s, after connecting and ${warmup}s of warm-up; $([ $sequential -eq 1 ] && echo sequential || echo concurrent)"
if [ $motion_only -eq 1 ]; then
  start_motion; measure motion
elif [ $sequential -eq 1 ]; then
  start_vigild; measure vigild
  kill -TERM "$vg_pid"; wait "$vg_pid" || true
  start_motion; measure motion
else
  start_vigild; start_motion; start_ffmpeg; measure both
fi

report() {  # name cpu_ticks frames seconds rss_kb hwm_kb note
  awk -v n="$1" -v c="$2" -v f="$3" -v s="$4" -v r="$5" -v h="$6" -v t="$tck" -v note="$7" 'BEGIN {
    printf "%-7s %6.2f ms/frame  (%.2f s CPU for %d frames in %.1f s = %.2f fps; %.1f%% of a core)  RSS %.1f MB (peak %.1f MB)  %s\n",
      n, 1000*c/t/f, c/t, f, s, f/s, 100*c/t/s, r/1024, h/1024, note }'
}
if [ $motion_only -eq 0 ]; then
  vg_frames=$((vg_dec1 - vg_dec0))
  vg_secs=$(awk -v a="$vg_t0" -v b="$vg_t1" 'BEGIN{print b-a}')
  report vigild "$((vg_cpu1 - vg_cpu0))" "$vg_frames" "$vg_secs" "$vg_rss" "$vg_hwm" \
    "[frames from stats; analysed $((vg_an1 - vg_an0)); motion gate $(tail -1 "$work/stats.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["analysis_ms"])') ms/frame by its own clock]"
fi
mo_secs=$(awk -v a="$mo_t0" -v b="$mo_t1" 'BEGIN{print b-a}')
mo_frames=$(awk -v s="$mo_secs" 'BEGIN{printf "%d", 10*s + 0.5}')
report motion "$((mo_cpu1 - mo_cpu0))" "$mo_frames" "$mo_secs" "$mo_rss" "$mo_hwm" "[frames = framerate 10 x window]"
if [ -n "${ff_pid:-}" ]; then
  report ffmpeg "$((ff_cpu1 - ff_cpu0))" "$((ff_f1 - ff_f0))" \
    "$(awk -v a="$ff_t0" -v b="$ff_t1" 'BEGIN{print b-a}')" "$ff_rss" "$ff_hwm" \
    "[reference: decode only, -threads 1, frames from -progress]"
fi
if [ $motion_only -eq 0 ]; then
  awk -v a="$((vg_cpu1 - vg_cpu0))" -v fa="$vg_frames" -v b="$((mo_cpu1 - mo_cpu0))" -v fb="$mo_frames" 'BEGIN {
    printf "RATIO vigild/motion CPU per frame = %.3f  (goal <= 0.5)\n", (a/fa)/(b/fb) }'
fi
