#!/usr/bin/env bash
# Builds vigil and installs it as a systemd service on this machine (root).
#   scripts/install.sh [--prefix /usr/local] [--build-dir DIR] [--no-deps]
#                      [--with-footage] [--enable]
# Steps: install-deps (unless --no-deps), configure and build vigild and vigil
# (Release), cmake --install (binaries, unit, sysusers.d, tmpfiles.d, labels,
# the models converted in the cache; /etc/vigil/vigil.yaml only if there is
# none), systemd-sysusers (user vigil, in group video), systemd-tmpfiles
# (/var/lib/vigil), then systemctl daemon-reload when systemd is running.
#   --with-footage  copy the sample vtest.avi to /var/lib/vigil/footage/, the
#                   camera of the example config
#   --enable        systemctl enable --now vigil (after checking the config)
# For a .deb instead: build, then `cpack -G DEB` in the build dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local build="$root/build-install" deps=1 footage=0 enable=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --no-deps) deps=0; shift ;;
    --with-footage) footage=1; shift ;;
    --enable) enable=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "install: run as root (it writes $prefix, /etc/vigil, /var/lib/vigil)" >&2; exit 1; }

[ $deps -eq 1 ] && "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$build" -j2 --target vigild vigil
cmake --install "$build"

# User and directories now, so that models and footage can be put in place
# before the first start (the unit's StateDirectory= would also create them).
systemd-sysusers "$prefix/lib/sysusers.d/vigil.conf"
systemd-tmpfiles --create "$prefix/lib/tmpfiles.d/vigil.conf"
chown -R vigil:vigil /var/lib/vigil

if [ $footage -eq 1 ]; then
  "$root/scripts/fetch-footage.sh"
  install -D -o vigil -g vigil -m 0640 "${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/footage/vtest.avi" \
    /var/lib/vigil/footage/vtest.avi
fi

"$prefix/bin/vigild" --check-config /etc/vigil/vigil.yaml || echo "install: fix /etc/vigil/vigil.yaml before starting vigil" >&2

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ $enable -eq 1 ]; then
    systemctl enable --now vigil.service
    systemctl --no-pager status vigil.service | head -5
  else
    echo "install: done; start with: systemctl enable --now vigil"
  fi
else
  echo "install: done; systemd is not running here, so the unit is installed but not loaded"
fi
