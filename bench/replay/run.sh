#!/usr/bin/env bash
# bench/replay: frames per second of `vigil replay CLIP` (decode + ring +
# motion gate on every frame + publish, lossless) against
# `ffmpeg -threads 2 -i CLIP -f null -` (decode only) on the same clip, in
# one run, at 720p and 1080p. Each pair runs --reps times (default 3),
# alternating which goes first; the medians are compared. Goal: ratio >= 0.95
# at 720p. A benchmark, not a test: it prints figures and never fails on them.
#
# Usage: bench/replay/run.sh [--reps N] [--vigil PATH] [--sizes "720p 1080p"]
#                            [--analysis-fps F] [--config C]
#   --vigil         the vigil binary (default: $VIGIL_BUILD_DIR/tools/vigil, else
#                   the newest build*/tools/vigil built without sanitizers)
#   --analysis-fps  frames per second through the motion gate (default 10:
#                   every frame of the 10 fps clips)
#   --config        pass camera settings (e.g. decode_threads) to vigil replay
# Wall time is measured around each process (both pay their start-up); fps
# = frames decoded / wall. CPU is user+sys of the process (getrusage via
# /usr/bin/time).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
reps=3 vigil="" sizes="720p 1080p" afps=10 config=()
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --vigil) vigil=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --analysis-fps) afps=$2; shift 2 ;;
    --config) config=(--config "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench/replay: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
. "$root/scripts/newest-bin.sh"
[ -n "$vigil" ] || vigil=$(newest_bin tools/vigil)
[ -x "$vigil" ] || { echo "bench/replay: no vigil binary (build the 'vigil' target or pass --vigil)" >&2; exit 1; }
"$root/scripts/make-clips.sh" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# run_ffmpeg CLIP -> "frames wall cpu"
run_ffmpeg() {
  /usr/bin/time -f "%e %U %S" -o "$work/time" \
    ffmpeg -nostdin -hide_banner -loglevel error -threads 2 -i "$1" -f null - \
    -progress "$work/progress" >/dev/null
  local frames; frames=$(awk -F= '$1=="frame"{f=$2} END{print f+0}' "$work/progress")
  awk -v f="$frames" '{printf "%d %.3f %.3f\n", f, $1, $2+$3}' "$work/time"
}
# run_vigil CLIP -> "frames wall cpu"
run_vigil() {
  /usr/bin/time -f "%e %U %S" -o "$work/time" \
    "$vigil" replay "$1" "${config[@]}" --analysis-fps "$afps" --quiet 2>"$work/summary"
  local frames
  frames=$(sed -n 's/.*: \([0-9][0-9]*\) frames decoded.*/\1/p' "$work/summary" | tail -1)
  [ -n "$frames" ] || { echo "bench/replay: vigil replay gave no summary:" >&2; cat "$work/summary" >&2; exit 1; }
  awk -v f="$frames" '{printf "%d %.3f %.3f\n", f, $1, $2+$3}' "$work/time"
}

echo "bench/replay: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $reps reps, vigil=$vigil"
echo "  vigil replay --analysis-fps $afps ${config[*]:-} vs ffmpeg -threads 2 -f null"
printf "%-6s %-14s %7s %9s %10s  %s\n" size tool frames "fps(med)" "cpu ms/fr" "wall s per rep"
for size in $sizes; do
  clip="$CACHE/footage/vtest-$size.mp4"
  [ -s "$clip" ] || { echo "bench/replay: no $clip" >&2; exit 1; }
  : >"$work/ff" ; : >"$work/vg"
  for r in $(seq "$reps"); do
    if [ $((r % 2)) -eq 1 ]; then
      run_ffmpeg "$clip" >>"$work/ff"; run_vigil "$clip" >>"$work/vg"
    else
      run_vigil "$clip" >>"$work/vg"; run_ffmpeg "$clip" >>"$work/ff"
    fi
  done
  for t in ff vg; do
    name=$([ $t = ff ] && echo "ffmpeg" || echo "vigil replay")
    frames=$(awk '{print $1}' "$work/$t" | median)
    fps=$(awk '{print $1/$2}' "$work/$t" | median)
    cpu=$(awk '{print 1000*$3/$1}' "$work/$t" | median)
    walls=$(awk '{printf "%s ", $2}' "$work/$t")
    printf "%-6s %-14s %7.0f %9.1f %10.2f  %s\n" "$size" "$name" "$frames" "$fps" "$cpu" "$walls"
    eval "fps_$t=$fps; frames_$t=$frames"
  done
  if [ "${frames_ff%.*}" != "${frames_vg%.*}" ]; then
    echo "  warning: frame counts differ (ffmpeg $frames_ff, vigil $frames_vg)"
  fi
  # paired ratios (same rep, back to back) are less noisy than a ratio of medians
  paste "$work/vg" "$work/ff" | awk '{print ($1/$2)/($4/$5)}' > "$work/ratios"
  pr=$(median <"$work/ratios")
  printf "%-6s RATIO vigil/ffmpeg fps = %.3f (paired reps: %s-> median %.3f)%s\n" "$size" \
    "$(awk -v a="$fps_vg" -v b="$fps_ff" 'BEGIN{print a/b}')" \
    "$(awk '{printf "%.3f ", $1}' "$work/ratios")" "$pr" \
    "$([ "$size" = 720p ] && echo "; goal >= 0.95" || true)"
  # CPU per frame is less disturbed by other load on a shared machine than
  # wall time; >1 means vigil spends less CPU per frame than ffmpeg.
  printf "%-6s cpu-per-frame ratio ffmpeg/vigil = %.3f\n" "$size" \
    "$(paste "$work/ff" "$work/vg" | awk '{print ($3/$1)/($6/$4)}' | median)"
done
echo "bench/replay: load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
