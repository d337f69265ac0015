#!/usr/bin/env bash
# Recording end to end with the real daemon (issue 12), on real streams:
#  1. an RTSP camera recorded continuously; its server is killed and started
#     again: the segment before closes, recording resumes after the
#     reconnect, `vigil recordings` shows the gap; then vigild is killed
#     with SIGKILL while recording: at most the open segment is lost, and
#     after a restart the index matches the files on disk; every segment
#     plays (ffprobe);
#  2. a slow disk (VIGIL_DEBUG_RECORD_DELAY_MS, a writer throttled by a test
#     hook): whole GOPs are dropped and counted (stats dropped.record,
#     health recording_behind) while the analysis of the same camera loses
#     no frame (dropped.ring and dropped.pool stay 0);
#  3. motion recording with pre_capture: an event's clip (`vigil clip ID`)
#     starts pre_capture before the event, or at the first footage there is;
#  4. a disk that refuses bytes (the kernel's file size limit, `ulimit -f`):
#     disk_full on health, recording resumes, the daemon and the analysis
#     run on.
# Usage: test_record_e2e.sh BUILD_DIR SOURCE_DIR CACHE_DIR
set -euo pipefail
build=$1 src=$2 cache=$3
vigild=$build/daemon/vigild vigil=$build/tools/vigil py=/usr/bin/python3
tmp=$(mktemp -d /tmp/vigil-rec-e2e-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

# An H.264 clip with a keyframe every second, as a camera sends.
ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=10 -t 20 \
    -c:v libx264 -preset ultrafast -g 10 -keyint_min 10 -sc_threshold 0 -pix_fmt yuv420p "$tmp/cam.mp4"

start_server() { # port
    "$py" "$src/tests/servers/rtsp_server.py" --clip "$tmp/cam.mp4" --port "$1" --loop --max-seconds 120 \
        >"$tmp/srv.out" 2>"$tmp/srv.err" &
    srv=$!
    pids+=("$srv")
    for _ in $(seq 100); do grep -q READY "$tmp/srv.out" && return 0; sleep 0.1; done
    cat "$tmp/srv.err" >&2
    fail "the RTSP server did not start"
}

# ---------------------------------------------------------------- 1
say "RTSP camera: server restarted, vigild killed -9"
port=$("$py" "$src/tests/servers/free_port.py")
start_server "$port"
state=$tmp/state1
cat >"$tmp/rtsp.yaml" <<EOF
daemon: { publish: "ipc://$tmp/pub1", control: "", state_dir: "$state", stats_interval: 1s }
cameras:
  door:
    url: rtsp://127.0.0.1:$port/cam
    timeout: 2s
    analysis_fps: 2
    record: { mode: continuous, segment: 2s }
EOF
"$vigild" --config "$tmp/rtsp.yaml" 2>"$tmp/vigild1.err" &
d=$!
pids+=("$d")
sleep 6
kill -9 "$srv"
sleep 4
start_server "$port"
sleep 7
kill -9 "$d"
wait "$d" 2>/dev/null || true
parts=$(find "$state/recordings" -name '*.part' | wc -l)
(( parts <= 1 )) || fail "$parts segments were open at the kill (at most one)"
# restart: the index is brought in line with the disk
"$vigild" --config "$tmp/rtsp.yaml" 2>"$tmp/vigild2.err" &
d=$!
pids+=("$d")
sleep 3
kill -TERM "$d"
wait "$d" || fail "vigild did not stop cleanly: $(cat "$tmp/vigild2.err")"
kill "$srv" 2>/dev/null || true
(cd "$state/recordings" && find . -name '*.mp4' | sed 's|^\./||' | sort) >"$tmp/disk.txt"
sqlite3 "$state/index.sqlite" "SELECT path FROM segments ORDER BY path" >"$tmp/index.txt"
diff -u "$tmp/disk.txt" "$tmp/index.txt" || fail "the index does not match the files on disk"
[[ -z $(find "$state/recordings" -name '*.part') ]] || fail ".part files left after a clean stop"
n=$(wc -l <"$tmp/disk.txt")
(( n >= 4 )) || fail "only $n segments recorded: $(cat "$tmp/vigild1.err")"
while read -r f; do
    dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$state/recordings/$f")
    # 2 s cut at 1 s GOPs; shorter where the server went away or vigild was killed
    awk -v d="$dur" 'BEGIN { exit !(d > 0 && d < 4.5) }' || fail "$f: duration $dur (2 s segments cut at 1 s GOPs)"
done <"$tmp/disk.txt"
"$vigil" recordings --state-dir "$state" --camera door >"$tmp/rec.txt" 2>"$tmp/rec.err"
grep -q ' gap$' "$tmp/rec.txt" || { cat "$tmp/rec.txt"; fail "vigil recordings shows no gap for the server's restart"; }
grep -q 'segments, [1-9][0-9]* gap' "$tmp/rec.err" || fail "no gap counted"
# recording resumed after the reconnect: footage after the gap
awk '/ gap$/ { g = 1; next } g { n++ } END { exit !(n >= 1) }' "$tmp/rec.txt" || fail "nothing recorded after the gap"
"$vigil" storage --state-dir "$state" | grep -q '^door  *continuous' || fail "vigil storage lists no footage"
echo "segments: $n, every one plays; gap shown; index == disk after kill -9 and restart"

# ---------------------------------------------------------------- 2
say "slow disk: GOPs dropped, analysis loses nothing"
state=$tmp/state2
cat >"$tmp/slow.yaml" <<EOF
daemon: { publish: "ipc://$tmp/pub2", control: "", state_dir: "$state", stats_interval: 1s, workers: 2 }
cameras:
  street:
    url: $tmp/cam.mp4
    realtime: true
    analysis_fps: 5
    record: { mode: continuous, segment: 2s }
storage: { queue_size: 64K }
EOF
# 10 packets a second come in; the hook lets the writer write 5
"$vigil" events --endpoint "ipc://$tmp/pub2" --topic stats --topic health >"$tmp/slow.jsonl" 2>/dev/null &
ev=$!
pids+=("$ev")
sleep 0.5
VIGIL_DEBUG_RECORD_DELAY_MS=200 "$vigild" --config "$tmp/slow.yaml" 2>"$tmp/vigild3.err" &
d=$!
pids+=("$d")
sleep 12
kill -TERM "$d"
wait "$d" || true
sleep 0.5
kill "$ev" 2>/dev/null || true
last=$(grep '"topic":"stats"' "$tmp/slow.jsonl" | tail -1)
[[ -n $last ]] || fail "no stats received"
field() { "$py" -c 'import json, sys; m = json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, m))' "$last" "$1"; }
rec_dropped=$(field 'dropped["record"]')
ring=$(field 'dropped["ring"] + dropped["pool"]')
analysed=$(field 'frames["analysed"]')
gops=$(field 'record["gops_dropped"]')
echo "record dropped $rec_dropped packets in $gops GOPs; ring+pool dropped $ring; analysed $analysed"
(( rec_dropped > 0 && gops > 0 )) || fail "the slow disk dropped nothing"
(( ring == 0 )) || fail "analysis lost $ring frames while the disk was slow"
(( analysed >= 45 )) || fail "only $analysed frames analysed in ~11 s at 5 fps"
grep -q '"state":"recording_behind"' "$tmp/slow.jsonl" || fail "no recording_behind on health"
for f in $(find "$state/recordings" -name '*.mp4'); do
    ffprobe -v error "$f" || fail "$f does not play"
done

# ---------------------------------------------------------------- 3
say "motion recording: an event's clip has its pre-roll"
state=$tmp/state3
cat >"$tmp/motion.yaml" <<EOF
daemon: { publish: "ipc://$tmp/pub3", control: "", state_dir: "$state" }
cameras:
  street:
    url: $cache/footage/vtest.mp4
    realtime: true
    analysis_fps: 5
    record: { mode: motion, segment: 10s, pre_capture: 3s, post_capture: 2s }
EOF
"$vigild" --config "$tmp/motion.yaml" 2>"$tmp/vigild4.err" &
d=$!
pids+=("$d")
sleep 14
kill -TERM "$d"
wait "$d" || fail "vigild: $(cat "$tmp/vigild4.err")"
ev=$(sqlite3 "$state/index.sqlite" "SELECT id FROM events ORDER BY start_us DESC LIMIT 1")
[[ -n $ev ]] || fail "no event in the index"
ev_start=$(sqlite3 "$state/index.sqlite" "SELECT start_us FROM events WHERE id='$ev'")
first=$(sqlite3 "$state/index.sqlite" "SELECT min(start_us) FROM segments WHERE camera='street'")
"$vigil" clip "$ev" --state-dir "$state" -o "$tmp/event.mp4" 2>"$tmp/clip.err" || fail "$(cat "$tmp/clip.err")"
ffprobe -v error "$tmp/event.mp4" || fail "the event's clip does not play"
clip_start=$(sqlite3 "$state/index.sqlite" "SELECT span_start_us FROM events WHERE id='$ev'")
# the clip opens at the keyframe at or before span_start = start - pre_capture
line=$(cat "$tmp/clip.err")
echo "$line"
start_iso=$(sed -E 's/.*: ([0-9T:.-]+Z) \.\. .*/\1/' <<<"$line")
start_us=$(date -u -d "$start_iso" +%s%6N)
(( start_us <= ev_start - 3000000 || start_us <= first )) ||
    fail "the clip starts $(( (ev_start - start_us) / 1000 )) ms before the event (pre_capture 3 s); footage from $first"
(( clip_start == ev_start - 3000000 )) || fail "the event's span does not include pre_capture"
# ---------------------------------------------------------------- 4
say "a disk that refuses bytes: disk_full, recording resumes"
state=$tmp/state4
cat >"$tmp/full.yaml" <<EOF
daemon: { publish: "ipc://$tmp/pub4", control: "", state_dir: "$state", stats_interval: 1s }
cameras:
  street:
    url: $tmp/cam.mp4
    realtime: true
    analysis_fps: 5
    record: { mode: continuous, segment: 30s }
EOF
"$vigil" events --endpoint "ipc://$tmp/pub4" --topic stats --topic health >"$tmp/full.jsonl" 2>/dev/null &
ev=$!
pids+=("$ev")
sleep 0.5
# files stop at 96 KiB: a segment of this stream reaches it in ~3 s
(ulimit -f 96; exec "$vigild" --config "$tmp/full.yaml" 2>"$tmp/vigild5.err") &
d=$!
pids+=("$d")
sleep 9
kill -0 "$d" || fail "vigild died: $(cat "$tmp/vigild5.err")"
kill -TERM "$d"
wait "$d" || fail "vigild did not stop cleanly: $(cat "$tmp/vigild5.err")"
sleep 0.5
kill "$ev" 2>/dev/null || true
grep -q '"state":"disk_full"' "$tmp/full.jsonl" || fail "no disk_full on health"
last=$(grep '"topic":"stats"' "$tmp/full.jsonl" | tail -1)
errors=$(field 'record["write_errors"]')
analysed=$(field 'frames["analysed"]')
echo "write errors $errors, analysed $analysed, $(find "$state/recordings" -name '*.mp4*' | wc -l) files"
files=$(find "$state/recordings" -name '*.mp4*' | wc -l)
(( errors >= 1 )) || fail "no write failed"
(( files >= 2 )) || fail "recording did not resume after the failed write ($files files)"
(( analysed >= 35 )) || fail "analysis stopped: $analysed frames"
grep -q "no space left" "$tmp/vigild5.err" || fail "the journal does not say the disk is full"

echo "PASS"
