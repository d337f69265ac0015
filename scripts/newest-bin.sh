# Sourced by the benches and scripts/soak.sh (needs $root, the source tree).
# newest_bin REL: the newest build*/REL of a build without sanitizers (an
# ASan/TSan binary would measure the sanitizer); $VIGIL_BUILD_DIR first.
newest_bin() {
  local b
  if [ -n "${VIGIL_BUILD_DIR:-}" ] && [ -x "$VIGIL_BUILD_DIR/$1" ]; then echo "$VIGIL_BUILD_DIR/$1"; return; fi
  for b in $(ls -td "$root"/build*/ 2>/dev/null); do
    [ -x "$b$1" ] || continue
    grep -q '^VIGIL_SANITIZE:STRING=$' "$b/CMakeCache.txt" 2>/dev/null || continue
    echo "$b$1"; return
  done
}
