#!/usr/bin/env bash
# Fetches vigil's sample footage from Debian's opencv-doc package into the
# cache (no install: apt-get download + dpkg-deb -x), and makes the H.264
# clips the tests and benchmarks use. Idempotent.
#   vtest.avi          768x576 street scene, 795 frames (MPEG-4 part 2)
#   Megamind_bugy.avi  a deliberately corrupted stream
#   tree.avi           a second scene
#   vtest.mp4          vtest.avi as H.264 in MP4 (for RTSP/HTTP servers)
# and two photos with faces into $CACHE/images (the face cascade's tests):
#   facereg.jpg        200x200, four faces in a 2x2 grid (OpenCV's facemark tutorial)
#   messi5.jpg         548x342, a football player on the pitch
set -euo pipefail
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
DEST="$CACHE/footage"
IMAGES="$CACHE/images"
mkdir -p "$DEST" "$IMAGES"

need=(vtest.avi Megamind_bugy.avi tree.avi)
images=(facereg.jpg messi5.jpg)
have_all=1
for f in "${need[@]}"; do [ -s "$DEST/$f" ] || have_all=0; done
for f in "${images[@]}"; do [ -s "$IMAGES/$f" ] || have_all=0; done

if [ $have_all -eq 0 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "fetch-footage: downloading Debian package opencv-doc"
  if ! (cd "$work" && apt-get download opencv-doc >/dev/null 2>&1); then
    # the package lists may be stale on a fresh machine
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$work" && apt-get download opencv-doc >/dev/null) || {
      echo "fetch-footage: cannot download Debian package 'opencv-doc' (apt-get download opencv-doc failed)" >&2
      exit 1
    }
  fi
  dpkg-deb -x "$work"/opencv-doc_*.deb "$work/x"
  for f in "${need[@]}"; do
    src=$(find "$work/x" -name "$f" -print -quit)
    if [ -z "$src" ]; then
      echo "fetch-footage: '$f' not found in opencv-doc" >&2
      exit 1
    fi
    cp "$src" "$DEST/$f"
  done
  for f in "${images[@]}"; do
    src=$(find "$work/x" -name "$f" -print -quit)
    if [ -z "$src" ]; then
      echo "fetch-footage: '$f' not found in opencv-doc" >&2
      exit 1
    fi
    cp "$src" "$IMAGES/$f"
  done
fi

if [ ! -s "$DEST/vtest.mp4" ]; then
  echo "fetch-footage: making vtest.mp4 (H.264)"
  ffmpeg -nostdin -loglevel error -y -i "$DEST/vtest.avi" -c:v libx264 -preset veryfast \
    -pix_fmt yuv420p -g 50 -bf 0 "$DEST/vtest.mp4.tmp.mp4"
  mv "$DEST/vtest.mp4.tmp.mp4" "$DEST/vtest.mp4"
fi
echo "fetch-footage: $DEST"
