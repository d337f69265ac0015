"""The HTTP API against a real vigild on vtest.avi: every endpoint, status
codes, pagination, live JPEG/MJPEG, SSE latency against the ZeroMQ stream,
credentials never shown, slow clients, and login off loopback.
Footage: a second vigild records vtest.avi (record.mode continuous,
snapshots on): events from the index, their snapshots and clips, range
requests, recordings with segments, clips that ffprobe decodes.
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
from vigild import CACHE, CLIP, Vigild, make_users  # noqa: E402

CAM_CLIP = os.path.join(CACHE, "footage", "vtest-720p10-cam.mp4")

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


def ffprobe_frames(data):
    """Frames ffprobe decodes from an MP4 in memory (0 when it cannot)."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(data)
        f.flush()
        p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames,codec_name", "-of", "json", f.name],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            return 0
        st = json.loads(p.stdout)["streams"]
        return int(st[0]["nb_read_frames"]) if st else 0


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

    def test_nothing_recorded(self):
        # record.mode off: events come from memory, there is no footage
        self.assertEqual(self.json("/api/events")["source"], "memory")
        self.assertEqual(self.json("/api/recordings")["cameras"], [])
        for path in ("/api/recordings/street/clip.mp4?from=2026-01-01T00:00:00Z",
                     "/api/events/x/snapshot.jpg", "/api/events/x/clip.mp4"):
            self.assertEqual(self.json(path, 404)["status"], 404, path)

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


class Footage(unittest.TestCase):
    """vigild recording vtest.avi: the routes on the index of recordings."""

    @classmethod
    def setUpClass(cls):
        # H.264 with a keyframe every second (vtest.avi's MS-MPEG4 has one
        # every 25 s, and no browser plays it): 2 s segments
        cls.d = Vigild(cameras={"street": CAM_CLIP}, camera_extra="    record: { mode: continuous, segment: 2s }\n"
                                    "    snapshots: { enabled: true }\n").start()
        # an event with a snapshot whose footage is indexed (segments close every ~2 s)
        def ready():
            evs = cls.get_json("/api/events?limit=500")["events"]
            segs = cls.get_json("/api/recordings?camera=street")["cameras"]
            if not segs or len(segs[0]["segments"]) < 2:
                return None
            seg_end = max(s["end"] for s in segs[0]["segments"])
            return [e for e in evs if e["has_snapshot"] and e["span_start"] < seg_end]
        deadline = time.monotonic() + 60
        cls.events = None
        while time.monotonic() < deadline and not cls.events:
            cls.events = ready()
            time.sleep(0.5)
        if not cls.events:
            cls.d.stop()
            raise AssertionError(f"no event with a snapshot and footage in 60 s: {cls.d.stderr()[-2000:]}")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    @classmethod
    def get_json(cls, path):
        st, h, body = get(cls.d.url(path))
        assert st == 200, f"{path}: {st} {body[:300]}"
        return json.loads(body)

    def test_events_from_the_index(self):
        j = self.get_json("/api/events?limit=500")
        self.assertEqual(j["source"], "index")
        starts = [e["start"] for e in j["events"]]
        self.assertEqual(starts, sorted(starts, reverse=True))
        ev = self.events[0]
        for k in ("id", "camera", "label", "start", "end", "top_score", "zones", "span_start", "span_end"):
            self.assertIn(k, ev)
        one = self.get_json(f"/api/events/{ev['id']}")
        self.assertEqual((one["id"], one["camera"], one["label"]), (ev["id"], "street", ev["label"]))
        self.assertEqual(get(self.d.url("/api/events/no-such-event"))[0], 404)
        # pagination over the index: pages in order, no overlap
        n = len(j["events"])
        if n >= 3:
            p1 = self.get_json("/api/events?limit=2")
            self.assertTrue(p1["next"])
            p2 = self.get_json(f"/api/events?limit=2&before={p1['next']}")
            ids = [e["id"] for e in p1["events"] + p2["events"]]
            self.assertEqual(ids, [e["id"] for e in j["events"]][:len(ids)])
            self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual(self.get_json(f"/api/events?label={ev['label']}&camera=street&limit=500")["events"][0]
                         ["label"], ev["label"])
        self.assertEqual(self.get_json("/api/events?camera=nope")["events"], [])

    def test_snapshot(self):
        ev = self.events[0]
        st, h, body = get(self.d.url(f"/api/events/{ev['id']}/snapshot.jpg"))
        self.assertEqual(st, 200)
        self.assertEqual(h["Content-Type"], "image/jpeg")
        with open(os.path.join(self.d.dir, "snapshots", "street", ev["id"] + ".jpg"), "rb") as f:
            self.assertEqual(body, f.read(), "not the file the analysis wrote")
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        self.assertEqual(img.shape[:2], (720, 1280))
        self.assertEqual(get(self.d.url("/api/events/no-such-event/snapshot.jpg"))[0], 404)

    def test_event_clip_and_ranges(self):
        ev = self.events[0]
        path = f"/api/events/{ev['id']}/clip.mp4"
        st, h, full = get(self.d.url(path))
        self.assertEqual(st, 200, full[:300])
        self.assertEqual(h["Content-Type"], "video/mp4")
        self.assertEqual(h["Accept-Ranges"], "bytes")
        self.assertEqual(int(h["Content-Length"]), len(full))
        self.assertGreater(ffprobe_frames(full), 5, "the clip does not decode")
        # a browser seeking: the middle, an open end, the tail
        n = len(full)
        for rng, (a, b) in ((f"bytes=100-1099", (100, 1099)), (f"bytes={n - 500}-", (n - 500, n - 1)),
                            ("bytes=-300", (n - 300, n - 1)), (f"bytes=10-{n + 5000}", (10, n - 1))):
            st, h, part = get(self.d.url(path), headers={"Range": rng})
            self.assertEqual(st, 206, rng)
            self.assertEqual(h["Content-Range"], f"bytes {a}-{b}/{n}", rng)
            self.assertEqual(part, full[a:b + 1], rng)
        st, h, _ = get(self.d.url(path), headers={"Range": f"bytes={n}-"})
        self.assertEqual(st, 416)
        self.assertEqual(h["Content-Range"], f"bytes */{n}")
        self.assertEqual(get(self.d.url("/api/events/no-such-event/clip.mp4"))[0], 404)

    def test_recordings_and_span_clip(self):
        j = self.get_json("/api/recordings?camera=street")
        self.assertEqual([c["name"] for c in j["cameras"]], ["street"])
        segs = j["cameras"][0]["segments"]
        self.assertGreaterEqual(len(segs), 2)
        for s in segs:
            self.assertLess(s["start"], s["end"])
            self.assertEqual(s["mode"], "continuous")
            self.assertGreater(s["bytes"], 0)
        self.assertEqual([s["start"] for s in segs], sorted(s["start"] for s in segs))
        self.assertIsInstance(j["cameras"][0]["gaps"], list)
        self.assertEqual(self.get_json("/api/recordings?camera=nope")["cameras"], [])
        self.assertEqual(self.get_json("/api/recordings?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")
                         ["cameras"], [])
        self.assertEqual(get(self.d.url("/api/recordings?from=yesterday"))[0], 400)
        # a clip of the first two segments
        frm, to = segs[0]["start"], segs[1]["end"]
        st, h, body = get(self.d.url(f"/api/recordings/street/clip.mp4?from={frm}&to={to}"))
        self.assertEqual(st, 200, body[:300])
        self.assertEqual(h["Content-Type"], "video/mp4")
        frames = ffprobe_frames(body)
        self.assertGreater(frames, 10, "the clip does not decode")
        st, h, part = get(self.d.url(f"/api/recordings/street/clip.mp4?from={frm}&to={to}"),
                          headers={"Range": "bytes=0-99"})
        self.assertEqual((st, part), (206, body[:100]))
        self.assertEqual(get(self.d.url("/api/recordings/street/clip.mp4"))[0], 400)
        self.assertEqual(get(self.d.url("/api/recordings/street/clip.mp4?from=2000-01-01T00:00:00Z&"
                                        "to=2000-01-01T00:01:00Z"))[0], 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
