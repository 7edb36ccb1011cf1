"""uniprof -o FILE.svg against our x86_64 test guest under QEMU TCG, and the flame graph opened in
headless Chromium: it draws, names the guest's frames, zooms on a click and highlights a search.

Chromium is driven by chromedriver over the W3C WebDriver protocol (HTTP and JSON, spoken here
with urllib: no client library).  Without chromium or chromedriver the browser tests fail under
CI (which installs them with scripts/install-deps.sh) and are skipped elsewhere; tests/run.sh
counts a skipped test as a failure either way.
"""
import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib

from guestlib import ROOT, load_expected, run_uniprof, tempdir, x86_64_guest

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))
SVG_NS = "{http://www.w3.org/2000/svg}"
FULL_WIDTH = 1180.0  # the image's 1200 px less two margins of 10
HIGHLIGHT = "#e600e6"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the WebDriver key of an element reference


def frames_of(path):
    """The SVG's frames, parsed as XML: [(name, samples, x, y, width)]."""
    frames = []
    for g in ET.parse(path).getroot().iter(SVG_NS + "g"):
        title, rect = g.find(SVG_NS + "title"), g.find(SVG_NS + "rect")
        if title is None or rect is None:
            continue
        m = re.fullmatch(r"(.*) \((\d+) samples?, [\d.]+%\)", title.text, re.S)
        assert m, title.text
        frames.append((m.group(1), int(m.group(2)), float(rect.get("x")), float(rect.get("y")),
                       float(rect.get("width"))))
    return frames


def png_colours(data):
    """The distinct pixel values of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and not interlace, header
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, colours = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xff
            elif kind == 2:
                line[i] = (line[i] + b) & 0xff
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
        colours.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return colours


class Browser:
    """Headless Chromium behind chromedriver, in a process group of its own that close() kills."""

    def __init__(self, private):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = "http://127.0.0.1:%d" % port
        self.proc = subprocess.Popen([shutil.which("chromedriver"), "--port=%d" % port],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        atexit.register(self.close)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.request("GET", "/status").get("ready"):
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        # As root Chromium needs --no-sandbox; --headless=new is the full browser, headless.
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,600", "--user-data-dir=" + os.path.join(private, "chromium")]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {"binary": shutil.which("chromium"), "args": args}}}}
        self.session = "/session/" + self.request("POST", "/session", caps)["sessionId"]

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError("WebDriver %s %s: %s" % (method, path, e.read().decode()[:500]))

    def do(self, method, path, body=None):
        return self.request(method, self.session + path, body)

    def script(self, code, *args):
        return self.do("POST", "/execute/sync", {"script": code, "args": list(args)})

    def click(self, element):
        self.do("POST", "/element/%s/click" % element[ELEMENT], {})

    def attribute(self, element, name):
        return self.do("GET", "/element/%s/attribute/%s" % (element[ELEMENT], name))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.do("DELETE", "")
            except (RuntimeError, OSError, AttributeError):
                pass
            # chromedriver and every Chromium process it started share its process group.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def frame_element(browser, name):
    """The <g> of the first frame called name, as a WebDriver element reference."""
    return browser.script(
        "for (const g of document.getElementById('frames').children)"
        "  if (g.fname === arguments[0]) return g;"
        "return null;", name)


def rect_of(browser, g):
    return browser.script("return arguments[0].querySelector('rect');", g)


class SvgX86_64(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempdir("uniprof-svg-")
        cls.guest, cls.kernel = x86_64_guest(smp=2)
        cls.flame = os.path.join(cls.tmp, "guest.svg")
        cls.icicle = os.path.join(cls.tmp, "icicle.svg")
        cls.runs = {}
        for path, extra in ((cls.flame, []), (cls.icicle, ["--reverse"])):
            cls.runs[path] = run_uniprof(["--qmp", cls.guest.qmp_path, "-k", cls.kernel, "-F", "250",
                                          "-t", "3", "--per-vcpu", "-o", path] + extra)
        cls.browser = None

    @classmethod
    def tearDownClass(cls):
        if cls.browser:
            cls.browser.close()
        cls.guest.stop()

    def open_browser(self):
        missing = [tool for tool in ("chromium", "chromedriver") if not shutil.which(tool)]
        if missing:
            message = "%s missing: run scripts/install-deps.sh" % " and ".join(missing)
            if os.environ.get("CI"):
                self.fail(message)
            self.skipTest(message)
        if not SvgX86_64.browser:
            SvgX86_64.browser = Browser(self.tmp)
        return SvgX86_64.browser

    def load(self, path):
        browser = self.open_browser()
        rc, _, err = self.runs[path]
        self.assertEqual(rc, 0, err)
        browser.do("POST", "/url", {"url": "file://" + path})
        # init() has run once every frame knows its name.
        self.assertTrue(browser.script("var f = document.getElementById('frames').firstElementChild;"
                                       "return !!f && typeof f.fname === 'string';"))
        return browser

    def test_file_names_the_guest_chains(self):
        rc, _, err = self.runs[self.flame]
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.guest.status(), "running")
        frames = frames_of(self.flame)
        total = frames[0][1]
        self.assertEqual(frames[0][0], "all")
        self.assertEqual(frames[0][4], FULL_WIDTH)
        names = set(f[0] for f in frames)
        for vcpu, chains in EXPECTED.items():
            self.assertIn(vcpu, names)
            for _, chain in chains:
                self.assertLessEqual(set(chain), names)
        # The vCPUs share the samples; each is a frame right above the root.
        vcpus = [f for f in frames if f[0] in EXPECTED]
        self.assertEqual(sum(f[1] for f in vcpus), total)
        self.assertTrue(all(f[3] == frames[0][3] - 16 for f in vcpus))
        # --reverse: the same frames as an icicle, the root at the top.
        icicle = frames_of(self.icicle)
        self.assertEqual(icicle[0][0], "all")
        self.assertEqual(min(f[3] for f in icicle), icicle[0][3])
        self.assertLess(icicle[0][3], max(f[3] for f in icicle))

    def test_draws_and_names_frames(self):
        browser = self.load(self.flame)
        colours = set(c[:3] for c in png_colours(base64.b64decode(browser.do("GET", "/screenshot"))))
        # Not blank: every frame wide enough to see shows in its own colour.
        fills = browser.script("return Array.from(document.querySelectorAll('#frames rect'),"
                               " r => [r.getAttribute('fill'), +r.getAttribute('width')]);")
        wide = set(bytes.fromhex(fill[1:]) for fill, width in fills if width >= 3)
        self.assertGreater(len(wide), 8)
        self.assertEqual(wide - colours, set())
        titles = browser.script("return Array.from(document.querySelectorAll('#frames title'),"
                                " t => t.textContent);")
        names = set(re.sub(r" \(\d+ samples?, [\d.]+%\)$", "", t) for t in titles)
        for vcpu, chains in EXPECTED.items():
            self.assertIn(vcpu, names)
            for _, chain in chains:
                self.assertLessEqual(set(chain), names)

    def check_zoom(self, path, leaf, ancestor, other):
        browser = self.load(path)
        g = frame_element(browser, leaf)
        rect = rect_of(browser, g)
        before = float(self.attribute(rect, "width"))
        self.assertLess(before, FULL_WIDTH - 1)
        browser.click(rect)
        self.assertAlmostEqual(float(self.attribute(rect, "width")), FULL_WIDTH, places=1)
        self.assertAlmostEqual(float(self.attribute(rect, "x")), 10.0, places=1)
        # Its callers stay, dimmed, and full width; frames outside it are hidden.
        up = frame_element(browser, ancestor)
        self.assertIn("parent", self.attribute(up, "class") or "")
        self.assertAlmostEqual(float(self.attribute(rect_of(browser, up), "width")), FULL_WIDTH, places=1)
        self.assertEqual(browser.script("return arguments[0].style.display;",
                                        frame_element(browser, other)), "none")
        unzoom = browser.script("return document.getElementById('unzoom');")
        self.assertNotIn("hide", self.attribute(unzoom, "class"))
        browser.click(unzoom)
        self.assertAlmostEqual(float(self.attribute(rect, "width")), before, places=1)
        self.assertEqual(browser.script("return arguments[0].style.display;",
                                        frame_element(browser, other)), "")

    def attribute(self, element, name):
        return self.browser.attribute(element, name)

    def test_click_zooms(self):
        self.check_zoom(self.flame, "alpha_mid", "cpu0_main", "delta")

    def test_click_zooms_icicle(self):
        self.check_zoom(self.icicle, "delta_mid", "ap_main", "alpha")

    def test_search_highlights(self):
        browser = self.load(self.flame)
        frames = frames_of(self.flame)
        pattern = "^(alpha|beta)_leaf$"
        hits = [f for f in frames if re.search(pattern, f[0])]
        self.assertEqual(len(hits), 2)
        want = 100.0 * sum(f[1] for f in hits) / frames[0][1]
        # Through the page's own controls: the Search button asks with a prompt.
        browser.click(browser.script("return document.getElementById('search');"))
        browser.do("POST", "/alert/text", {"text": pattern})
        browser.do("POST", "/alert/accept", {})
        fills = browser.script(
            "return Array.from(document.getElementById('frames').children,"
            " g => [g.fname, g.querySelector('rect').getAttribute('fill')]);")
        for name, fill in fills:
            self.assertEqual(fill == HIGHLIGHT, bool(re.search(pattern, name)) and name != "all",
                             (name, fill))
        matched = browser.script("return document.getElementById('matched').textContent;")
        m = re.match(r"Matched: ([\d.]+)%", matched)
        self.assertTrue(m, matched)
        self.assertLessEqual(abs(float(m.group(1)) - want), 0.051, (matched, want))
        self.assertEqual(browser.script("return document.getElementById('search').textContent;"),
                         "Reset search")
        # A match inside another match counts once: the whole vCPU and its leaves are vcpu0's share.
        browser.script("search('^(vcpu0|alpha_leaf)$');")
        vcpu0 = next(f for f in frames if f[0] == "vcpu0")
        matched = browser.script("return document.getElementById('matched').textContent;")
        self.assertIn("(%d samples)" % vcpu0[1], matched)


if __name__ == "__main__":
    unittest.main()
