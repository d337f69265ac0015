"""Starts and stops a real vigild for the web tests (API and browser).

A vigild on vtest.avi (looped, real time, 5 fps analysed, NanoDet on
motion) with its HTTP listener on a free port; stderr is kept for the
assertions and for the failure message. Everything is bounded in time.
"""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

BUILD = os.environ.get("VIGIL_BUILD_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../build"))
CACHE = os.environ.get("VIGIL_CACHE_DIR") or os.path.expanduser("~/.cache/vigil")
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
VIGILD = os.path.join(BUILD, "daemon", "vigild")
VIGIL = os.path.join(BUILD, "tools", "vigil")
CLIP = os.path.join(CACHE, "footage", "vtest.avi")
MODEL = os.path.join(CACHE, "models", "nanodet.onnx")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Vigild:
    """with Vigild(http="127.0.0.1:0") as d: d.url("/api/cameras")

    camera_extra: YAML lines added to every camera (4 spaces in), e.g.
    "    record: { mode: continuous }\n"."""

    def __init__(self, http="127.0.0.1:0", users=None, extra_daemon="", clip=CLIP, cameras=None, wait_ready=True,
                 camera_extra=""):
        for f in (VIGILD, clip, MODEL):
            if not os.path.exists(f):
                raise RuntimeError(f"missing {f} (build, scripts/fetch-footage.sh, scripts/fetch-models.sh)")
        self.dir = tempfile.mkdtemp(prefix="vigil-web-")
        self.publish = f"tcp://127.0.0.1:{free_port()}"
        cams = cameras or {"street": clip}
        text = (f"daemon:\n  publish: {self.publish}\n  control: \"\"\n  stats_interval: 1s\n"
                f"  http: \"{http}\"\n  state_dir: {self.dir}\n  web_root: {SOURCE}/web\n")
        if users:
            text += f"  http_users: {users}\n"
        text += extra_daemon
        text += (f"models:\n  detector:\n    path: {MODEL}\n    head: nanodet\n    input: [416, 416]\n"
                 "cameras:\n")
        for name, url in cams.items():
            text += (f"  {name}:\n    url: {url}\n    realtime: true\n    loop: true\n    analysis_fps: 5\n"
                     "    detect: { model: detector, when: on_motion }\n" + camera_extra)
        self.config = os.path.join(self.dir, "vigil.yaml")
        with open(self.config, "w") as f:
            f.write(text)
        self.err_path = os.path.join(self.dir, "stderr")
        self.wait_ready = wait_ready
        self.proc = None
        self.port = None

    def start(self):
        self.err = open(self.err_path, "w+")
        self.proc = subprocess.Popen([VIGILD, "--config", self.config], stdout=subprocess.DEVNULL, stderr=self.err)
        if not self.wait_ready:
            return self
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            log = self.stderr()
            m = re.search(r"http on port (\d+)", log)
            if m and "ready after" in log:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"vigild exited {self.proc.returncode}: {log}")
            time.sleep(0.1)
        else:
            raise RuntimeError(f"vigild not ready in 30 s: {self.stderr()}")
        # the first snapshot comes with the first tick (100 ms)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url("/api/session"), timeout=2)
                break
            except Exception:
                time.sleep(0.1)
        return self

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def url(self, path, host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "err", None):
            self.err.close()
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def make_users(path, name="alice", password="correct-horse"):
    p = subprocess.run([VIGIL, "passwd", name, "--file", path], input=password + "\n", text=True,
                       capture_output=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"vigil passwd failed: {p.stderr}")
    return path
