#!/usr/bin/env bash
# The layers of DESIGN.md §2, checked on the #include lines so they stay true:
#   models/   includes only models/ (it knows no frames, streams, pipeline,
#             config files or sockets);
#   capture/  includes capture/ and the base library (pipeline/ring.h,
#             pipeline/frame.h), nothing else of ours;
#   pipeline/ includes pipeline/ and models/;
#   none of them includes daemon/ or tools/;
#   augment/  (data amplification) includes only augment/: the trainer loads
#             it alone as a shared library, and models/ does not know it;
# capture/ links the base library, not the pipeline (no oneDNN in it); and
# the libraries use no compiled-in machine paths (VIGIL_SOURCE_DIR, ...).
# Prints every edge against the rule; exit 1 when there is one.
set -euo pipefail
src="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
bad=0
check() { # layer dir, allowed include prefixes (regex)
    local dir=$1 allowed=$2 f line inc
    while IFS= read -r f; do
        while IFS= read -r line; do
            inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
            # only our own top-level folders are layers; system and same-folder headers are not
            [[ $inc =~ ^(augment|capture|pipeline|models|daemon|tools|tests|bench)/ ]] || continue
            if ! [[ $inc =~ $allowed ]]; then
                echo "layer violation: ${f#$src/} includes \"$inc\""
                bad=1
            fi
        done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
    done < <(find "$src/$dir" -name '*.[ch]' | sort)
}
check models '^models/'
check augment '^augment/'
check capture '^(capture/|pipeline/(ring|frame)\.h$)'
check pipeline '^(pipeline/|models/)'
# the libraries take paths from their callers: no compiled-in machine paths
while IFS= read -r hit; do
    echo "layer violation: ${hit#$src/} uses a machine path macro (the caller passes paths)"
    bad=1
done < <(grep -rnE '\bVIGIL_(SOURCE|CACHE|LABELS|DATA)_DIR\b' "$src/capture" "$src/pipeline" "$src/models" "$src/augment" \
             --include='*.c' --include='*.h' || true)
if grep -Eq 'target_link_libraries\(vigil_capture[^)]*vigil_pipeline' "$src/capture/CMakeLists.txt"; then
    echo "layer violation: vigil_capture links vigil_pipeline (it needs only vigil_base)"
    bad=1
fi
# the base library must stay free of the pipeline's other modules
for f in "$src/pipeline/ring.c" "$src/pipeline/ring.h" "$src/pipeline/frame.c" "$src/pipeline/frame.h"; do
    while IFS= read -r inc; do
        [[ $inc =~ ^pipeline/(ring|frame)\.h$ ]] || { echo "layer violation: ${f#$src/} (base) includes \"$inc\""; bad=1; }
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' "$f")
done
[[ $bad == 0 ]] && echo "layers: every #include follows DESIGN.md §2"
exit $bad
