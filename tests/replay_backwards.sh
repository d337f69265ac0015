#!/usr/bin/env bash
# A stream whose timestamps jump back (four copies of a clip cut together, as
# `cat a.ts a.ts a.ts a.ts` makes) is analysed at analysis_fps all along
# (issue 10 item 2: it was 10 of 80 frames, the rest "skipped" until the old
# time came round again). Usage: replay_backwards.sh VIGIL CACHE_DIR WORKDIR
set -euo pipefail
vigil=$1 cache=$2 work=$3
mkdir -p "$work"
ffmpeg -loglevel error -y -i "$cache/footage/vtest.avi" -frames:v 20 -c:v mpeg2video -f mpegts "$work/a.ts"
cat "$work/a.ts" "$work/a.ts" "$work/a.ts" "$work/a.ts" > "$work/backwards.ts"
"$vigil" replay "$work/backwards.ts" --quiet --analysis-fps 5
