#!/bin/sh
# Whole detection path per frame: vigil (decode -> fused prep -> engine ->
# head, fp32 and bf16) beside OpenCV DNN (decode -> blobFromImage -> forward,
# one thread) on the same ONNX and the same clips, in one run; prints ratios.
# Not a test: figures depend on the machine's load.
# usage: bench/detect/run.sh [BUILD_DIR] [--frames N] [--model NAME]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ $# -gt 0 ] && shift
frames=200
model=nanodet
while [ $# -gt 0 ]; do
  case "$1" in
    --frames) frames=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    *) echo "usage: run.sh [BUILD_DIR] [--frames N] [--model NAME]" >&2; exit 2 ;;
  esac
done
cache=${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}
onnx=$cache/models/$model.onnx
[ -s "$onnx" ] || { echo "run.sh: no $onnx (scripts/fetch-models.sh)" >&2; exit 1; }
[ -s "$cache/footage/vtest.avi" ] || sh "$here/../../scripts/fetch-footage.sh"
[ -s "$cache/footage/vtest-720p.mp4" ] || bash "$here/../../scripts/make-clips.sh"
cmake --build "$build" -j2 --target bench_detect >/dev/null

field() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }

printf '%-16s %-14s %7s %8s %8s %8s %10s\n' clip runtime fps p50_ms p95_ms p99_ms infer_p50
for clip in vtest.avi vtest-720p.mp4; do
  v=$cache/footage/$clip
  ocv=$(/usr/bin/python3 "$here/opencv_ref.py" "$v" "$onnx" --frames "$frames")
  printf '%-16s %-14s %7s %8s %8s %8s %10s\n' "$clip" "opencv-dnn" "$(field "$ocv" fps)" \
    "$(field "$ocv" 'total_ms[0]')" "$(field "$ocv" 'total_ms[1]')" "$(field "$ocv" 'total_ms[2]')" \
    "$(field "$ocv" 'forward_ms[0]')"
  for cell in "fp32 1 1" "bf16 1 1" "fp32 4 1" "fp32 1 2" "fp32 4 2" "bf16 4 2"; do
    set -- $cell
    prec=$1
    vg=$("$build/bench/detect/bench_detect" "$v" "$onnx" --precision $1 --batch $2 --threads $3 --frames "$frames")
    printf '%-16s %-14s %7s %8s %8s %8s %10s\n' "$clip" "vigil-$1-b$2-t$3" "$(field "$vg" fps)" \
      "$(field "$vg" 'total_ms[0]')" "$(field "$vg" 'total_ms[1]')" "$(field "$vg" 'total_ms[2]')" \
      "$(field "$vg" 'detector_ms[0]')"
    printf '%-16s %-14s %7s   (fps ratio vigil/opencv; p50 ratio opencv/vigil: %s)\n' "" "ratio-$prec" \
      "$(/usr/bin/python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print('%.2fx' % (a['fps']/b['fps']))" "$vg" "$ocv")" \
      "$(/usr/bin/python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print('%.2fx' % (b['total_ms'][0]/a['total_ms'][0]))" "$vg" "$ocv")"
  done
done
echo "vigil: libavcodec decode (1 thread) + fused prep + engine + head/NMS; bN = N frames per engine run, tN = oneDNN threads (per-frame figures = per-run / N)."
echo "opencv-dnn: cv2.VideoCapture (1 thread) + blobFromImage + forward (no head decode), cv2.setNumThreads(1)."
