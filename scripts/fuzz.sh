#!/usr/bin/env bash
# Long fuzz runs (the test command only replays the seeds for a few seconds):
#   scripts/fuzz.sh config|control|onnx_loader [SECONDS] [JOBS]
# Builds the targets with clang in build-fuzz (ASan+UBSan+libFuzzer) and runs
# one for SECONDS (default 600), keeping what it finds in build-fuzz/fuzz-corpus/
# and crash reproducers in build-fuzz/fuzz-crashes/. A crash: add its input to
# tests/fuzz/corpus/<target>/ with the fix, so that CI replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh config|control|onnx_loader [SECONDS] [JOBS]}
seconds=${2:-600}
jobs=${3:-1}
export VIGIL_CACHE_DIR="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
CC=clang cmake -S . -B build-fuzz -DVIGIL_CACHE_DIR="$VIGIL_CACHE_DIR" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$target"
seeds=tests/fuzz/corpus/$target
[ "$target" = onnx_loader ] && seeds=tests/fuzz/corpus/onnx
dict=()
[ "$target" = config ] && dict=(-dict=tests/fuzz/config.dict)
mkdir -p "build-fuzz/fuzz-corpus/fuzz_$target" build-fuzz/fuzz-crashes
exec "build-fuzz/tests/fuzz_$target" -max_total_time="$seconds" -jobs="$jobs" "${dict[@]}" \
  -artifact_prefix=build-fuzz/fuzz-crashes/ "build-fuzz/fuzz-corpus/fuzz_$target" "$seeds"
