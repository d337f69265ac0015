#!/usr/bin/env bash
# Runs every test of vigil on a fresh Debian 12 machine (as root):
# installs the Debian packages, fetches the sample footage and the pretrained
# models, builds, and runs ctest in three builds:
#   build/       -Werror, every test (unit, e2e, fuzz replays, benches' smoke)
#   build-asan/  ASan+UBSan, the 'unit' tests (library code, fast)
#   build-tsan/  TSan, the 'tsan' tests (ring/worker and recorder stress, the whole pipeline)
#   build-fuzz/  clang + libFuzzer, the 'fuzz' tests (seed corpora replayed and
#                mutated for a fixed count: config, ONNX loader, control requests)
# Exit status: 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
export VIGIL_CACHE_DIR="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
start=$(date +%s)
step() { printf '\n== %s (%ds)\n' "$*" $(( $(date +%s) - start )); }

step "dependencies"
bash scripts/install-deps.sh
step "sample footage"
bash scripts/fetch-footage.sh
step "pretrained models"
bash scripts/fetch-models.sh

common=(-DVIGIL_WERROR=ON -DVIGIL_CACHE_DIR="$VIGIL_CACHE_DIR")
step "build (release, -Werror)"
cmake -S . -B build "${common[@]}" >/dev/null
cmake --build build -j"$jobs"
step "tests (release)"
ctest --test-dir build --output-on-failure -j1

step "build (ASan+UBSan)"
cmake -S . -B build-asan "${common[@]}" -DVIGIL_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$jobs"
step "tests (ASan+UBSan, label unit)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -L unit -j1

step "build (TSan)"
cmake -S . -B build-tsan "${common[@]}" -DVIGIL_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs" --target stress_threads stress_record vigil
step "tests (TSan, label tsan)"
TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:halt_on_error=1" \
  ctest --test-dir build-tsan --output-on-failure -L tsan -j1

step "build (clang, fuzz targets)"
CC=clang cmake -S . -B build-fuzz "${common[@]}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_config fuzz_control fuzz_onnx_loader
step "tests (fuzz, fixed counts)"
ctest --test-dir build-fuzz --output-on-failure -L fuzz -j1

step "all tests passed"
