"""The HTTP API against a real vigild on vtest.avi: every endpoint, status
codes, pagination, live JPEG/MJPEG, SSE latency against the ZeroMQ stream,
credentials never shown, slow clients, and login off loopback.
Run: /usr/bin/python3 tests/web/test_api.py (ctest: web_api)."""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import cv2
import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(__file__))
from vigild import CLIP, Vigild, make_users  # noqa: E402

SECRET = "s3cretpw"


def get(url, headers=None, method="GET", data=None, timeout=10):
    """(status, headers, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def until(what, fn, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # a second camera whose URL carries credentials and cannot connect
        cls.d = Vigild(cameras={"street": CLIP, "locked": f"rtsp://admin:{SECRET}@127.0.0.1:1/stream"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def json(self, path, status=200):
        st, h, body = get(self.d.url(path))
        self.assertEqual(st, status, f"{path}: {body[:300]}")
        self.assertTrue(h["Content-Type"].startswith("application/json"), h["Content-Type"])
        return json.loads(body)

    def test_static_files_and_errors(self):
        st, h, body = get(self.d.url("/"))
        self.assertEqual(st, 200)
        self.assertIn("text/html", h["Content-Type"])
        self.assertIn(b"app.js", body)
        self.assertIn("default-src 'self'", h["Content-Security-Policy"])
        for path in ("/app.js", "/style.css", "/login.html"):
            self.assertEqual(get(self.d.url(path))[0], 200, path)
        for path in ("/nope.html", "/api/nope", "/../etc/passwd", "/.hidden", "/api/cameras/nope/latest.jpg",
                     "/api/events/nope"):
            j = self.json(path, 404)
            self.assertEqual(j["status"], 404)
            self.assertTrue(j["error"])
        self.assertEqual(self.json("/api/stats")["cameras"][0]["name"], "street")
        st, _, body = get(self.d.url("/api/stats"), method="POST", data=b"{}")
        self.assertIn(st, (404, 405))
        self.assertIn(b"error", body)
        st, _, body = get(self.d.url("/api/cameras"), method="DELETE")
        self.assertEqual(st, 405)
        self.assertEqual(json.loads(body)["status"], 405)

    def test_metrics_and_stats(self):
        st, h, body = get(self.d.url("/metrics"))
        self.assertEqual(st, 200)
        self.assertIn("version=0.0.4", h["Content-Type"])
        self.assertIn(b'vigil_fps{camera="street",stage="analysed"}', body)
        s = self.json("/api/stats")
        self.assertGreater(s["process"]["rss_bytes"], 1 << 20)
        self.assertEqual({c["name"] for c in s["cameras"]}, {"street", "locked"})
        self.assertIn("analysed", s["cameras"][0]["counters"])
        hist = self.json("/api/stats/history")
        self.assertEqual(hist["interval_s"], 10)
        self.assertGreaterEqual(len(hist["samples"]), 1)
        self.assertIn("street", hist["samples"][-1]["cameras"])

    def test_cameras_without_credentials(self):
        cams = until("fps > 0", lambda: (lambda j: j if j["cameras"][0]["fps_analysed"] > 0 else None)(
            self.json("/api/cameras")))["cameras"]
        street = next(c for c in cams if c["name"] == "street")
        self.assertEqual(street["state"], "streaming")
        self.assertEqual((street["width"], street["height"]), (768, 576))
        self.assertGreater(street["fps_analysed"], 2)
        for k in ("dropped", "latency_ms", "reason", "recording", "fps_decoded"):
            self.assertIn(k, street)
        locked = until("the locked camera's reason", lambda: next(
            (c for c in self.json("/api/cameras")["cameras"] if c["name"] == "locked" and c["reason"]), None))
        self.assertNotEqual(locked["state"], "streaming")
        _, _, body = get(self.d.url("/api/cameras"))
        self.assertNotIn(SECRET.encode(), body)
        self.assertNotIn(b"admin:", body)

    def test_latest_jpeg(self):
        st, h, body = get(self.d.url("/api/cameras/street/latest.jpg?boxes=1"))
        self.assertEqual(st, 200, body[:200])
        self.assertEqual(h["Content-Type"], "image/jpeg")
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        self.assertEqual(img.shape, (576, 768, 3))
        st, _, body = get(self.d.url("/api/cameras/street/latest.jpg?width=320"))
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        self.assertEqual(img.shape[:2], (240, 320))
        # boxes drawn: the boxed and plain pictures of one moment differ in
        # saturated box colours only where boxes are; count very green pixels
        boxed = cv2.imdecode(np.frombuffer(get(self.d.url("/api/cameras/street/latest.jpg?boxes=1"))[2], np.uint8), 1)
        g = (boxed[:, :, 1] > 180) & (boxed[:, :, 0] < 80) & (boxed[:, :, 2] < 80)
        self.assertGreater(int(g.sum()), 50, "no box outline in the boxed picture")

    def test_live_mjpeg(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=5)
        conn.request("GET", "/api/cameras/street/live.mjpeg?width=320")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn("multipart/x-mixed-replace", r.getheader("Content-Type"))
        data = b""
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            data += r.read1(65536)
        conn.close()
        parts = [p for p in data.split(b"--vigilframe\r\n") if p]
        self.assertGreaterEqual(len(parts), 5, f"{len(parts)} frames in 2 s at live_fps 5")
        head, _, rest = parts[1].partition(b"\r\n\r\n")
        n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        img = cv2.imdecode(np.frombuffer(rest[:n], np.uint8), cv2.IMREAD_COLOR)
        self.assertEqual(img.shape[:2], (240, 320))

    def test_recordings_are_not_there_yet(self):
        for path in ("/api/recordings", "/api/recordings/street/clip.mp4?from=2026-01-01T00:00:00Z",
                     "/api/events/x/snapshot.jpg", "/api/events/x/clip.mp4"):
            j = self.json(path, 503)
            self.assertEqual(j["error"], "recording index not available yet")

    def test_events_pagination_and_filters(self):
        until("3 events", lambda: len(self.json("/api/events")["events"]) >= 3, timeout=30)
        page1 = self.json("/api/events?limit=2")
        self.assertEqual(len(page1["events"]), 2)
        self.assertTrue(page1["next"])
        page2 = self.json(f"/api/events?limit=2&before={page1['next']}")
        ids1 = [e["id"] for e in page1["events"]]
        ids2 = [e["id"] for e in page2["events"]]
        self.assertFalse(set(ids1) & set(ids2), "pages overlap")
        everything = [e["id"] for e in self.json("/api/events?limit=500")["events"]]
        self.assertEqual(everything[:len(ids1 + ids2)], ids1 + ids2, "pages are not the newest-first list")
        starts = [e["start"] for e in self.json("/api/events?limit=500")["events"]]
        self.assertEqual(starts, sorted(starts, reverse=True))
        label = page1["events"][0]["label"]
        only = self.json(f"/api/events?label={label}&limit=500")["events"]
        self.assertTrue(only and all(e["label"] == label for e in only))
        self.assertEqual(self.json("/api/events?camera=nope")["events"], [])
        self.assertEqual(self.json("/api/events?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")["events"], [])
        self.assertEqual(len(self.json("/api/events?from=2000-01-01T00:00:00Z")["events"]), min(50, len(everything)))
        self.assertEqual(self.json("/api/events?limit=0", 400)["status"], 400)
        self.assertEqual(self.json("/api/events?from=yesterday", 400)["status"], 400)
        one = self.json(f"/api/events/{ids1[0]}")
        self.assertEqual(one["id"], ids1[0])
        self.assertEqual(one["camera"], "street")

    def test_sse_delivers_within_a_second(self):
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"event.")
        sub.connect(self.d.publish)
        got_zmq, got_sse = {}, {}
        stop = threading.Event()

        def read_sse():
            conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=10)
            conn.request("GET", "/api/events/stream")
            r = conn.getresponse()
            assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"
            buf = b""
            while not stop.is_set():
                try:
                    chunk = r.read1(65536)
                except (http.client.HTTPException, OSError):
                    break
                if not chunk:
                    break
                buf += chunk
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    lines = dict(l.split(b": ", 1) for l in block.split(b"\n") if b": " in l and not l.startswith(b":"))
                    if lines.get(b"event") == b"event":
                        m = json.loads(lines[b"data"])
                        got_sse.setdefault((m["camera"], m["seq"]), time.monotonic())
            conn.close()

        t = threading.Thread(target=read_sse, daemon=True)
        t.start()
        time.sleep(0.5)  # both subscribed
        deadline = time.monotonic() + 20
        matched = []
        while time.monotonic() < deadline and len(matched) < 3:
            if sub.poll(200):
                topic, body = sub.recv_multipart()[:2]
                m = json.loads(body)
                got_zmq[(m["camera"], m["seq"])] = time.monotonic()
            matched = [k for k in got_zmq if k in got_sse]
        stop.set()
        sub.close()
        self.assertGreaterEqual(len(matched), 1, f"no event seen on both: zmq {len(got_zmq)}, sse {len(got_sse)}")
        for k in matched:
            self.assertLess(got_sse[k] - got_zmq[k], 1.0, f"SSE {got_sse[k] - got_zmq[k]:.3f} s behind ZeroMQ")

    def test_slow_clients_do_not_lock_others_out(self):
        # more connections than the listener's total (128) that never send a
        # request, from 127.0.0.1 (the per-client limit holds 16 of them) ...
        idle = []
        for _ in range(150):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", self.d.port))
                idle.append(s)
            except OSError:
                s.close()
        try:
            # ... do not keep another address out
            s = socket.create_connection(("127.0.0.1", self.d.port), timeout=3, source_address=("127.0.0.2", 0))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            t0 = time.monotonic()
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
            self.assertLess(time.monotonic() - t0, 2.0)
        finally:
            for s in idle:
                s.close()


class Auth(unittest.TestCase):
    def test_beyond_loopback_needs_users(self):
        d = Vigild(http="0.0.0.0:0", wait_ready=False).start()
        try:
            d.proc.wait(timeout=20)
        finally:
            d.stop()
        self.assertEqual(d.proc.returncode, 1)
        self.assertIn("http_users", d.stderr())

    def test_login_protects_a_non_loopback_listener(self):
        tmp = tempfile.mkdtemp()
        users = make_users(os.path.join(tmp, "users"), "alice", "correct-horse")
        with Vigild(http="0.0.0.0:0", users=users) as d:
            # the host's own LAN address, when it has one, reaches it too
            host = "127.0.0.1"
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.connect(("192.0.2.1", 9))
                host = s.getsockname()[0]
                s.close()
            except OSError:
                pass
            st, _, body = get(d.url("/api/cameras", host))
            self.assertEqual(st, 401, body)
            self.assertEqual(json.loads(body)["status"], 401)
            self.assertEqual(get(d.url("/metrics", host))[0], 401)
            opener = urllib.request.build_opener(NoRedirect)
            try:
                opener.open(d.url("/", host), timeout=5)
                self.fail("/ without a session must redirect")
            except urllib.error.HTTPError as e:
                self.assertEqual(e.code, 303)
                self.assertEqual(e.headers["Location"], "/login.html")
            self.assertEqual(get(d.url("/login.html", host))[0], 200)
            sess = json.loads(get(d.url("/api/session", host))[2])
            self.assertEqual((sess["auth"], sess["logged_in"]), (True, False))
            login = lambda pw: get(d.url("/api/login", host), method="POST",  # noqa: E731
                                   headers={"Content-Type": "application/json"},
                                   data=json.dumps({"user": "alice", "password": pw}).encode())
            st, h, body = login("correct-horse")
            self.assertEqual(st, 200, body)
            cookie = h["Set-Cookie"]
            for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
                self.assertIn(flag, cookie)
            token = json.loads(body)["token"]
            session = cookie.split(";")[0]
            self.assertEqual(get(d.url("/api/cameras", host), headers={"Cookie": session})[0], 200)
            self.assertEqual(get(d.url("/api/cameras", host), headers={"Authorization": f"Bearer {token}"})[0], 200)
            import base64
            basic = base64.b64encode(b"alice:correct-horse").decode()
            self.assertEqual(get(d.url("/metrics", host), headers={"Authorization": f"Basic {basic}"})[0], 200)
            self.assertEqual(get(d.url("/api/cameras", host), headers={"Authorization": "Bearer " + "0" * 64})[0], 401)
            self.assertEqual(get(d.url("/api/logout", host), method="POST", headers={"Cookie": session},
                                 data=b"")[0], 200)
            self.assertEqual(get(d.url("/api/cameras", host), headers={"Cookie": session})[0], 401)
            # failed logins are logged and rate-limited
            codes = [login("wrong-horse")[0] for _ in range(6)]
            self.assertEqual(codes[:5], [401] * 5)
            self.assertEqual(codes[5], 429)
            self.assertEqual(login("correct-horse")[0], 429, "blocked addresses wait even with the right password")
            self.assertIn("failed login for 'alice'", d.stderr())


if __name__ == "__main__":
    unittest.main(verbosity=2)
