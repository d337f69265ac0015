#!/usr/bin/env bash
# Makes the H.264 clips the benchmarks and stream-server tests use, from the
# sample footage (scripts/fetch-footage.sh), into $VIGIL_CACHE_DIR/footage.
# Idempotent: a clip that exists is kept (delete it to remake it).
#   vtest-720p.mp4        1280x720, 10 fps, 795 frames, H.264 High (x264
#                         preset fast, default B-frames): a typical file
#   vtest-1080p.mp4       1920x1080, same settings
#   vtest-720p10-cam.mp4  1280x720, 10 fps, like an IP camera's stream: no
#                         B-frames, an IDR every second (so an RTSP client
#                         joining or looping decodes within 1 s), for
#                         bench/peer-motion through tests/servers/rtsp_server.py
# vtest.avi is 768x576 (4:3); it is scaled to 16:9 without cropping, which is
# fine for what these clips measure (decode and motion cost per pixel).
set -euo pipefail
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
DEST="$CACHE/footage"
src="$DEST/vtest.avi"
if [ ! -s "$src" ]; then
  "$(dirname "$0")/fetch-footage.sh"
fi

# make NAME W H X264-OPTIONS...
make() {
  local name=$1 w=$2 h=$3; shift 3
  [ -s "$DEST/$name" ] && return 0
  echo "make-clips: making $name (${w}x${h})"
  # Written under a temporary name and renamed, so that an interrupted run
  # never leaves a truncated clip that the idempotence check would keep.
  ffmpeg -nostdin -loglevel error -y -i "$src" -an \
    -vf "scale=${w}:${h}:flags=bicubic,setsar=1" -r 10 \
    -c:v libx264 -pix_fmt yuv420p -threads 2 "$@" \
    -movflags +faststart "$DEST/$name.tmp.mp4"
  mv "$DEST/$name.tmp.mp4" "$DEST/$name"
}

make vtest-720p.mp4        1280 720  -preset fast -crf 23
make vtest-1080p.mp4       1920 1080 -preset fast -crf 23
make vtest-720p10-cam.mp4  1280 720  -preset fast -crf 23 -profile:v main -bf 0 -g 10 -keyint_min 10 -sc_threshold 0
echo "make-clips: $DEST"
