#!/usr/bin/env bash
# Every decodable picture format and size is analysed and detected on, with
# corrections on (issue 10 items 3 and 4): 4:4:4, MJPEG 4:2:2, grey, alpha,
# RGB (Debian's own tree.avi is cinepak RGB), 10-bit, 16-bit grey, and
# pictures of 1x1, 3x5 and 8K. Each clip goes through `vigil replay` with the
# default detector on every analysed frame and `correct: auto`; every det
# message must say "detected": true and the summary must count the frames.
# Usage: replay_formats.sh VIGIL CACHE_DIR WORKDIR
set -euo pipefail
vigil=$1 cache=$2 work=$3
mkdir -p "$work"
src="$cache/footage/vtest.avi"
cat > "$work/cfg.yaml" <<YAML
models:
  detector: { path: $cache/models/nanodet.onnx, head: nanodet, input: [416, 416] }
cameras:
  c:
    url: unused
    analysis_fps: 5
    detect: { model: detector, when: always }
    correct: auto
YAML
fail=0
check() { # clip, expected analysed
    local clip=$1 want=$2 out yes no
    out=$("$vigil" replay "$clip" --config "$work/cfg.yaml" 2>&1) || { echo "FAIL $clip: vigil replay exited $?"; fail=1; return; }
    yes=$(grep -c '"detected":true' <<<"$out" || true)
    no=$(grep -c '"detected":false' <<<"$out" || true)
    if [ "$yes" -ne "$want" ] || [ "$no" -ne 0 ]; then
        echo "FAIL $(basename "$clip"): $yes frames detected on, $no without (want $want and 0)"
        tail -1 <<<"$out"
        fail=1
    else
        echo "ok   $(basename "$clip"): $yes frames detected on"
    fi
}
for spec in yuv444p:libx264:mp4 yuvj422p:mjpeg:avi gray:ffv1:mkv yuva420p:ffv1:mkv rgb24:ffv1:mkv \
            yuv420p10le:ffv1:mkv gray16le:ffv1:mkv; do
    IFS=: read -r pf codec ext <<<"$spec"
    ffmpeg -loglevel error -y -i "$src" -frames:v 10 -pix_fmt "$pf" -c:v "$codec" "$work/fmt_$pf.$ext"
    check "$work/fmt_$pf.$ext" 5
done
check "$cache/footage/tree.avi" 68  # cinepak rgb24 at a rate below 5 fps: every frame analysed
for size in 1x1 3x5 7680x4320; do
    ffmpeg -loglevel error -y -i "$src" -frames:v 2 -vf "scale=${size/x/:}" -c:v ffv1 "$work/size_$size.mkv"
    check "$work/size_$size.mkv" 1
done
exit $fail
