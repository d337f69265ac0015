#!/usr/bin/env bash
# Installs every Debian package vigil needs to build, test and run its demo.
# Idempotent: packages already present are skipped, so a second run costs
# one dpkg query. Run as root (CI and the README's commands are root).
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config git ca-certificates clang
  # capture and codecs
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libv4l-dev ffmpeg
  # messaging, config, JSON, ring, snapshots, systemd
  libzmq3-dev libjansson-dev libyaml-dev libcyaml-dev libck-dev
  libturbojpeg0-dev libsystemd-dev libmicrohttpd-dev libsodium-dev systemd
  # index of recordings (and its CLI, used by the recording tests)
  libsqlite3-dev sqlite3
  # inference engine: ONNX schema, protobuf-c, oneDNN
  libonnx-dev protobuf-c-compiler libprotobuf-c-dev libdnnl-dev
  # tests
  libcriterion-dev python3-zmq
  # web UI tests: a real browser, headless (tests/web/test_browser.py)
  chromium chromium-driver python3-selenium
  # reference runtimes and converters (run with /usr/bin/python3)
  python3-onnx python3-numpy python3-opencv python3-torch python3-torchvision
  # vigil train's plots and bench/fashion's data (tests/fashion.cmake)
  python3-matplotlib python3-pil dataset-fashion-mnist
  # network source tests: GStreamer RTSP server
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  motion  # bench/peer-motion: the peer daemon (one package, no new dependencies)
)

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root to apt-get install" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
