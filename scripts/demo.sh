#!/usr/bin/env bash
# vigil's main job on a fresh Debian 12 machine (as root): installs the
# Debian packages, fetches the sample footage and the default models, builds,
# starts vigild on a sample street clip (paced as a live camera), and prints
# every message it publishes as one JSON line until the clip ends.
#   VIGIL_DEMO_CLIP=FILE   another clip (default: opencv-doc's vtest.avi)
#   VIGIL_DEMO_FAST=1      replay as fast as possible instead of in real time
set -euo pipefail
cd "$(dirname "$0")/.."
export VIGIL_CACHE_DIR="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
log() { printf 'demo: %s\n' "$*" >&2; }

bash scripts/install-deps.sh >&2
bash scripts/fetch-footage.sh >&2
bash scripts/fetch-models.sh >&2
log "building"
cmake -S . -B build -DVIGIL_CACHE_DIR="$VIGIL_CACHE_DIR" >/dev/null
cmake --build build -j"$(nproc)" --target vigild vigil >&2

clip="${VIGIL_DEMO_CLIP:-$VIGIL_CACHE_DIR/footage/vtest.avi}"
realtime=true
[ "${VIGIL_DEMO_FAST:-0}" = 1 ] && realtime=false
run=$(mktemp -d /tmp/vigil-demo-XXXXXX)
trap 'kill "$daemon" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$run"' EXIT
endpoint="ipc://$run/pub"
sed -e "s|@ENDPOINT@|$endpoint|" -e "s|@CLIP@|$clip|" -e "s|@REALTIME@|$realtime|" \
    -e "s|@MODELS@|$VIGIL_CACHE_DIR/models|" -e "s|@RUN@|$run|g" scripts/demo.yaml.in > "$run/vigil.yaml"
./build/daemon/vigild --check-config "$run/vigil.yaml" >&2

# The subscriber starts first, so that no message is missed.
./build/tools/vigil events --endpoint "$endpoint" --until-eof &
events=$!
sleep 0.5
log "vigild on $clip (realtime: $realtime); messages follow, one JSON line each"
./build/daemon/vigild --config "$run/vigil.yaml" &
daemon=$!
wait "$events" || true
kill -TERM "$daemon"
wait "$daemon"
log "clip ended; vigild stopped cleanly; $(ls "$run/snapshots/street" 2>/dev/null | wc -l) event snapshots were written"
