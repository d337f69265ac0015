#!/usr/bin/env bash
# Installs the TF.js reference runtime (@tensorflow/tfjs and tfjs-backend-wasm
# 4.22.0, pinned by package-lock.json beside this script) into
# $VIGIL_CACHE_DIR/npm/tfjs-ref with `npm ci`. Idempotent: nothing happens when
# the installed lock file is this one. Prints the folder to use as VIGIL_TFJS_DIR.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
DIR="$CACHE/npm/tfjs-ref"
if ! cmp -s "$HERE/package-lock.json" "$DIR/package-lock.json" || [ ! -d "$DIR/node_modules/@tensorflow/tfjs" ]; then
  command -v npm >/dev/null || { echo "setup-tfjs: npm not found (needed for @tensorflow/tfjs 4.22.0)" >&2; exit 1; }
  rm -rf "$DIR"
  mkdir -p "$DIR"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$DIR/"
  if ! (cd "$DIR" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
    echo "setup-tfjs: npm ci of @tensorflow/tfjs 4.22.0 failed:" >&2
    tail -5 "$DIR/npm.log" >&2
    rm -f "$DIR/package-lock.json"
    exit 1
  fi
fi
echo "$DIR"
