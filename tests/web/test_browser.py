"""The web UI in a real browser: Debian's chromium, headless, driven by
chromedriver through python3-selenium, against a real vigild on vtest.avi.
The grid loads without console errors and its live view changes over 3 s,
events appear in the list, the health page draws its charts, the pages fit
a phone-width screen, and the login page protects a non-loopback listener.
With recording on (a second vigild): an event shows its snapshot and its
clip plays (readyState >= 2, currentTime advances), the recordings page
draws the segments and a click on the timeline plays from there.
Screenshots of each page go to <build>/web-artifacts/.
Run: /usr/bin/python3 tests/web/test_browser.py (ctest: web_browser)."""
import os
import shutil
import sys
import tempfile
import time
import unittest

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(__file__))
from vigild import BUILD, CACHE, Vigild, make_users  # noqa: E402

CAM_CLIP = os.path.join(CACHE, "footage", "vtest-720p10-cam.mp4")

ART = os.path.join(BUILD, "web-artifacts")


def browser(profile):
    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
              f"--user-data-dir={profile}", "--window-size=1280,900"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=o)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    return driver


def wait(driver, what, fn, timeout=20):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: fn(d), message=what)


class Browser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(ART, exist_ok=True)
        cls.profile = tempfile.mkdtemp(prefix="vigil-chromium-")
        cls.d = Vigild().start()
        cls.b = browser(cls.profile)

    @classmethod
    def tearDownClass(cls):
        cls.b.quit()
        cls.d.stop()
        shutil.rmtree(cls.profile, ignore_errors=True)

    def shot(self, name):
        path = os.path.join(ART, name)
        self.b.save_screenshot(path)
        return path

    def errors(self):
        return [e for e in self.b.get_log("browser") if e["level"] == "SEVERE"]

    def test_1_grid_live_view_changes(self):
        b = self.b
        b.get(self.d.url("/#/cameras"))
        img = wait(b, "a live view with a picture", lambda d: next(
            (i for i in d.find_elements(By.CSS_SELECTOR, "img.live")
             if d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i)), None))
        self.assertEqual(img.get_attribute("data-camera"), "street")
        badge = b.find_element(By.CSS_SELECTOR, ".card .badge")
        wait(b, "the camera's badge says streaming", lambda d: badge.text == "streaming")
        first = img.screenshot_as_png
        time.sleep(3)
        second = img.screenshot_as_png
        self.assertNotEqual(first, second, "the live view did not change in 3 s")
        self.shot("grid.png")
        self.assertEqual(self.errors(), [], "console errors on the grid page")

    def test_2_events_appear(self):
        b = self.b
        b.get(self.d.url("/#/events"))
        rows = wait(b, "an event row", lambda d: d.find_elements(By.CSS_SELECTOR, "#events tr[data-id]"), timeout=30)
        cells = rows[0].find_elements(By.TAG_NAME, "td")
        self.assertEqual(cells[2].text, "street")
        self.assertTrue(cells[3].text)  # the label
        # the start time is shown in the browser's zone, not as the API's UTC text
        t = cells[1].find_element(By.TAG_NAME, "time")
        self.assertNotEqual(t.text, t.get_attribute("datetime"))
        # new events arrive over SSE without a reload
        n0 = len(b.find_elements(By.CSS_SELECTOR, "#events tr[data-id]"))
        wait(b, "a live update of the list", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#events tr[data-id]")) > n0
             or d.execute_script("return document.querySelector('#conn').textContent") == "live", timeout=20)
        self.shot("events.png")
        self.assertEqual(self.errors(), [], "console errors on the events page")

    def test_3_health_and_camera_pages(self):
        b = self.b
        b.get(self.d.url("/#/health"))
        wait(b, "charts", lambda d: len(d.find_elements(By.CSS_SELECTOR, "svg.chart polyline")) >= 5)
        self.assertIn("fps analysed", b.find_element(By.CSS_SELECTOR, "[data-camera=street] .info").text)
        self.shot("health.png")
        b.get(self.d.url("/#/camera/street"))
        wait(b, "the MJPEG view", lambda d: d.execute_script(
            "const i = document.querySelector('img.live.large'); return i && i.naturalWidth > 0"))
        self.shot("camera.png")
        b.get(self.d.url("/#/cameras"))
        self.assertEqual(self.errors(), [], "console errors on the health or camera page")

    def test_4_phone_width(self):
        b = self.b
        b.set_window_size(390, 844)
        try:
            for page, ready in (("cameras", "img.live"), ("events", "#events tr"), ("health", "svg.chart")):
                b.get(self.d.url(f"/#/{page}"))
                wait(b, page, lambda d: d.find_elements(By.CSS_SELECTOR, ready))
                over = b.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                self.assertLessEqual(over, 0, f"{page} is wider than a phone by {over} px")
                self.shot(f"phone-{page}.png")
        finally:
            b.set_window_size(1280, 900)

    def test_5_login_protects_non_loopback(self):
        users = make_users(os.path.join(self.d.dir, "users"), "alice", "correct-horse")
        with Vigild(http="0.0.0.0:0", users=users) as d:
            b = self.b
            b.get(d.url("/"))
            wait(b, "the login page", lambda d_: d_.current_url.endswith("/login.html"))
            b.find_element(By.ID, "user").send_keys("alice")
            b.find_element(By.ID, "password").send_keys("wrong-horse")
            b.find_element(By.ID, "submit").click()
            wait(b, "the error", lambda d_: d_.find_element(By.ID, "error").text)
            self.shot("login.png")
            pw = b.find_element(By.ID, "password")
            pw.clear()
            pw.send_keys("correct-horse")
            b.find_element(By.ID, "submit").click()
            wait(b, "the grid after login", lambda d_: d_.find_elements(By.CSS_SELECTOR, "img.live"))
            wait(b, "the user's name on the logout button", lambda d_: "alice" in d_.find_element(By.ID, "logout").text)
            # the session cookie is not readable from scripts (HttpOnly)
            self.assertNotIn("vigil_session", b.execute_script("return document.cookie"))
            self.shot("after-login.png")
            # the wrong password's 401 is the one expected console error
            errs = [e for e in self.errors() if "/api/login" not in e["message"]]
            self.assertEqual(errs, [])


def plays(b, what):
    """The #player video reaches readyState >= 2 and its currentTime advances."""
    try:
        wait(b, f"{what}: the video has data", lambda d: d.execute_script(
            "const v = document.querySelector('#player'); return v && v.readyState >= 2"), timeout=30)
    except Exception:
        print(what, b.execute_script("const v = document.querySelector('#player');"
                                     "return [v.currentSrc, v.readyState, v.networkState, v.error && v.error.message]"),
              b.get_log("browser"), file=sys.stderr)
        raise
    t0 = b.execute_script("return document.querySelector('#player').currentTime")
    try:
        wait(b, f"{what}: the video plays", lambda d: d.execute_script(
            "return document.querySelector('#player').currentTime") > t0 + 0.5, timeout=20)
    except Exception:
        print(what, t0, b.execute_script("const v = document.querySelector('#player');"
                                         "return [v.currentSrc, v.currentTime, v.duration, v.paused, v.ended,"
                                         " v.readyState, v.muted, v.error && v.error.message]"), file=sys.stderr)
        raise


class Footage(unittest.TestCase):
    """vigild recording H.264 footage with snapshots: clips play, the timeline shows segments."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(ART, exist_ok=True)
        cls.profile = tempfile.mkdtemp(prefix="vigil-chromium-")
        cls.d = Vigild(cameras={"street": CAM_CLIP}, camera_extra="    record: { mode: continuous, segment: 2s }\n"
                                                                  "    snapshots: { enabled: true }\n").start()
        cls.b = browser(cls.profile)
        time.sleep(8)  # a few segments closed and indexed

    @classmethod
    def tearDownClass(cls):
        cls.b.quit()
        cls.d.stop()
        shutil.rmtree(cls.profile, ignore_errors=True)

    def shot(self, name):
        self.b.save_screenshot(os.path.join(ART, name))

    def errors(self):
        return [e for e in self.b.get_log("browser") if e["level"] == "SEVERE"]

    def test_1_event_snapshot_and_clip(self):
        b = self.b
        b.get(self.d.url("/#/events"))
        # rows are replaced as updates arrive (SSE): found and clicked in one script
        find = ("return [...document.querySelectorAll('#events tr.playable')].find((r) => {"
                " const i = r.querySelector('td.thumb img'); return i && i.complete && i.naturalWidth > 0; })")
        wait(b, "an event with its snapshot loaded", lambda d: d.execute_script(find), timeout=40)
        self.shot("footage-events.png")
        ev_id = b.execute_script(find.replace("return ", "const r = ", 1) + "; r.querySelector('td:nth-child(3)').click();"
                                 " return r.dataset.id")
        plays(b, "the event's clip")
        self.assertIn(f"/api/events/{ev_id}/clip.mp4",
                      b.execute_script("return decodeURIComponent(document.querySelector('#player').currentSrc)"))
        self.shot("footage-event-clip.png")
        self.assertEqual(self.errors(), [], "console errors on the events page")

    def test_2_timeline(self):
        b = self.b
        b.get(self.d.url("/#/recordings"))
        track = wait(b, "a timeline with segments", lambda d: next(
            (t for t in d.find_elements(By.CSS_SELECTOR, ".track[data-camera=street]")
             if t.find_elements(By.CSS_SELECTOR, ".seg")), None))
        wait(b, "event marks", lambda d: d.find_elements(By.CSS_SELECTOR, ".track .mark"), timeout=20)
        self.shot("recordings.png")
        # click on the first segment's start (a pixel is seconds): the footage from there plays
        seg = track.find_element(By.CSS_SELECTOR, ".seg")
        b.execute_script("""
            const t = arguments[0], s = arguments[1], r = s.getBoundingClientRect();
            t.dispatchEvent(new MouseEvent('click', {clientX: r.left + 0.5, clientY: r.top + 5, bubbles: true}));
        """, track, seg)
        plays(b, "the footage from the timeline")
        self.assertIn("/api/recordings/street/clip.mp4",
                      b.execute_script("return document.querySelector('#player').currentSrc"))
        self.shot("recordings-clip.png")
        self.assertEqual(self.errors(), [], "console errors on the recordings page")


if __name__ == "__main__":
    unittest.main(verbosity=2)
