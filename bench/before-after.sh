#!/usr/bin/env bash
# bench/before-after: the benches a rework must not make worse, run on two
# builds of vigil in turns (before, after, before, after ...) in one go, so
# both see the same machine: bench/infer (engine vs OpenCV DNN and PyTorch),
# bench/detect (whole detection path), bench/replay (vigil replay vs ffmpeg),
# bench/correct (correction kernels), and bench/actor (4 live cameras,
# detector on every frame: analysed fps and capture-to-event p50/p99).
# Prints each bench's own table per build; compare the rows.
#
# Usage: bench/before-after.sh --before BUILD_DIR --after BUILD_DIR [--rounds 1]
#            [--only "infer detect replay correct actor"]
# BUILD_DIR: a configured and built cmake folder (without sanitizers), e.g.
# a worktree of the old commit: git worktree add /tmp/old REV && cmake -S
# /tmp/old -B /tmp/old/build && cmake --build /tmp/old/build.
# A benchmark: prints figures, never fails on them; run on a quiet machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
before="" after="" rounds=1 only="infer detect replay correct actor"
while [ $# -gt 0 ]; do
  case "$1" in
    --before) before=$(cd "$2" && pwd); shift 2 ;;
    --after) after=$(cd "$2" && pwd); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "before-after: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$before" ] && [ -n "$after" ] || { echo "before-after: give --before and --after build folders" >&2; exit 2; }
echo "before: $before"
echo "after:  $after"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for bench in $only; do
    for side in before after; do
      b=${!side}
      echo
      echo "=== round $r: $bench, $side"
      case $bench in
        infer) sh "$here/infer/run.sh" "$b" --runs 10 --models mobilenet_v2,resnet18 ;;
        detect) sh "$here/detect/run.sh" "$b" --frames 100 ;;
        replay) bash "$here/replay/run.sh" --vigil "$b/tools/vigil" --reps 3 ;;
        correct) "$b/bench/correct/bench_correct" --no-opencv ;;
        actor) [ "$side" = after ] && bash "$here/actor/run.sh" --build "before=$before/daemon/vigild" \
                 --build "after=$after/daemon/vigild" --seconds 30 --warmup 8 --rounds 2 ;;
      esac
    done
  done
done
