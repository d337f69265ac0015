#!/usr/bin/env bash
# Serve one clip as MPEG-TS over HTTP on loopback (one client), for vigil's
# tests and benches: a wrapper around
#   ffmpeg -re -i CLIP -c copy -f mpegts -listen 1 http://HOST:PORT/PATH
#
# Usage: tests/servers/http_server.sh --clip FILE [--port P] [--host 127.0.0.1]
#                                     [--path /cam.ts] [--loop] [--max-seconds S]
# --port 0 (default) picks a free port (free_port.py; a small race remains).
# Prints "READY http://HOST:PORT/PATH" on stdout once ffmpeg listens (its socket
# is seen in LISTEN state in /proc/net/tcp, so no probe connection is used up).
# ffmpeg serves ONE client, paced at the clip's rate (-re), then exits; --loop
# repeats the clip (-stream_loop -1). SIGTERM/SIGINT stop it (exit 0); it also
# stops after --max-seconds (default 300) so that nothing runs unbounded.
# Exit codes: 0 clip served / stopped, 2 bad arguments, 3 could not listen,
# otherwise ffmpeg's code.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
clip="" port=0 host=127.0.0.1 path=/cam.ts loop=() max=300
while [ $# -gt 0 ]; do
  case "$1" in
    --clip) clip=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --host) host=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --loop) loop=(-stream_loop -1); shift ;;
    --max-seconds) max=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "http_server: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$clip" ] || { echo "http_server: --clip FILE is required" >&2; exit 2; }
[ -f "$clip" ] || { echo "http_server: clip '$clip' not found" >&2; exit 2; }
case "$path" in /*) ;; *) path="/$path" ;; esac
if [ "$port" = 0 ]; then port=$(/usr/bin/python3 "$here/free_port.py" --host "$host") || exit 3; fi

timeout --signal=TERM "$max" ffmpeg -nostdin -hide_banner -loglevel error -re "${loop[@]}" \
  -i "$clip" -c copy -f mpegts -listen 1 "http://$host:$port$path" &
ff=$!
stop() { kill -TERM "$ff" 2>/dev/null; wait "$ff" 2>/dev/null; exit 0; }
trap stop TERM INT

# Wait (up to 10 s) for ffmpeg's socket to be in LISTEN state (st 0A) on
# host:port, as hex in /proc/net/tcp.
hexport=$(printf '%04X' "$port")
hexhost=$(printf '%02X' $(echo "$host" | tr . ' ' | awk '{print $4, $3, $2, $1}'))
ready=0
for _ in $(seq 100); do
  if awk -v a="$hexhost:$hexport" '$2 == a && $4 == "0A" {f=1} END {exit !f}' /proc/net/tcp; then
    ready=1; break
  fi
  kill -0 "$ff" 2>/dev/null || break
  sleep 0.1
done
if [ $ready -eq 0 ]; then
  echo "http_server: ffmpeg did not listen on $host:$port" >&2
  kill -TERM "$ff" 2>/dev/null; wait "$ff" 2>/dev/null
  exit 3
fi
echo "READY http://$host:$port$path"
wait "$ff"; rc=$?
# wait returns >128 when our trap interrupted it; timeout(1) returns 124.
[ $rc -eq 124 ] && { echo "http_server: stopping (max-seconds)" >&2; exit 0; }
exit $rc
