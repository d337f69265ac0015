#!/bin/sh
# vigil inference engine vs OpenCV DNN vs PyTorch, in one run (see bench_infer.py).
# usage: bench/infer/run.sh [BUILD_DIR] [--runs N] [--models mobilenet_v2,resnet18,...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ $# -gt 0 ] && shift
cmake --build "$build" -j2 --target vg-models >/dev/null
exec /usr/bin/python3 "$here/bench_infer.py" --build "$build" "$@"
