#!/usr/bin/env python3
"""Open a page in headless Chromium and say what a person would see.

usage: cdp.py PAGE.html OUTDIR

Drives /usr/bin/chromium (or $CHROMIUM) over the DevTools protocol on
--remote-debugging-pipe (the browser reads commands on fd 3 and writes
replies and events on fd 4, each a JSON message ended by a NUL byte).
Loads file://PAGE, waits for its load event, and for a phone-sized
(390x844) and a desktop-sized (1280x900) window measures the bounding
boxes of the run's header, the graph and the timeline and the page's
scroll width, and takes a screenshot (OUTDIR/phone.png, desktop.png);
then prints the page to OUTDIR/print.pdf.  Meanwhile it collects every
console error, uncaught exception, error log entry and every network
request for anything but file: and data:.  Prints one JSON object:
{"errors": [...], "requests": [...], "phone": VIEW, "desktop": VIEW,
"pdf_bytes": N}, VIEW = {"width", "scroll_width", "boxes": {NAME:
{"x", "y", "width", "height"}|null}, "bars": [{"name", "x", "y", "width",
"height"}]} (bars: the timeline's branch bars, by their data-branch).  Nothing waits on a clock: each
step waits for the reply or event it needs (a 60 s guard only stops a
browser that hangs).
"""
import base64
import json
import os
import select
import subprocess
import sys
import tempfile

GUARD_S = 60


class Browser:
    def __init__(self, outdir):
        exe = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        self.profile = tempfile.mkdtemp(prefix="cdp-profile-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--hide-scrollbars",
                "--user-data-dir=" + self.profile, "--remote-debugging-pipe"]
        self.log = open(os.path.join(outdir, "chromium.log"), "wb")

        def fds():
            # Out of the way first: either end may already be 3 or 4.
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     preexec_fn=fds, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self):
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.from_chrome], [], [], GUARD_S)
            if not ready:
                raise SystemExit("cdp.py: the browser said nothing for %d s" % GUARD_S)
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise SystemExit("cdp.py: the browser went away (see chromium.log)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        """Send a command and return its result; events that come first are kept."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.to_chrome, data):]
        while True:
            m = self._read_message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise SystemExit("cdp.py: %s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method):
        """The first event METHOD not seen yet, kept or to come."""
        for i, m in enumerate(self.events):
            if m.get("method") == method and not m.get("_seen"):
                m["_seen"] = True
                return m
        while True:
            m = self._read_message()
            self.events.append(m)
            if m.get("method") == method:
                m["_seen"] = True
                return m

    def close(self):
        try:
            self.send("Browser.close")
        except SystemExit:
            pass
        self.proc.wait()
        self.log.close()
        subprocess.run(["rm", "-rf", self.profile])


MEASURE = """JSON.stringify({
  width: window.innerWidth,
  scroll_width: document.documentElement.scrollWidth,
  boxes: Object.fromEntries([["header", "header#run"], ["graph", "#graph svg"], ["timeline", "#timeline .tl"]]
    .map(([name, sel]) => { const e = document.querySelector(sel); if (!e) return [name, null];
      const r = e.getBoundingClientRect(); return [name, {x: r.x, y: r.y, width: r.width, height: r.height}]; })),
  bars: Array.from(document.querySelectorAll("#timeline [data-branch]")).map(e => {
    const r = e.getBoundingClientRect(); return {name: e.dataset.branch, x: r.x, y: r.y, width: r.width, height: r.height}; })
})"""


def view(b, s, outdir, name, width, height, mobile):
    b.send("Emulation.setDeviceMetricsOverride",
           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, s)
    r = b.send("Runtime.evaluate", {"expression": MEASURE, "returnByValue": True}, s)
    v = json.loads(r["result"]["value"])
    shot = b.send("Page.captureScreenshot", {"format": "png"}, s)
    with open(os.path.join(outdir, name + ".png"), "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    # The whole page at that width too, so one picture shows header, graph and timeline.
    m = b.send("Page.getLayoutMetrics", {}, s)
    size = m.get("cssContentSize") or m["contentSize"]
    v["full_height"] = size["height"]
    full = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                  "clip": {"x": 0, "y": 0, "width": width, "height": min(size["height"], 16384), "scale": 1}}, s)
    with open(os.path.join(outdir, name + "-full.png"), "wb") as f:
        f.write(base64.b64decode(full["data"]))
    return v


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: cdp.py PAGE.html OUTDIR")
    page, outdir = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    b = Browser(outdir)
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(domain + ".enable", {}, s)
        b.send("Page.navigate", {"url": "file://" + page}, s)
        b.wait_event("Page.loadEventFired")
        out = {"phone": view(b, s, outdir, "phone", 390, 844, True),
               "desktop": view(b, s, outdir, "desktop", 1280, 900, False)}
        pdf = base64.b64decode(b.send("Page.printToPDF", {"printBackground": True}, s)["data"])
        with open(os.path.join(outdir, "print.pdf"), "wb") as f:
            f.write(pdf)
        out["pdf_bytes"] = len(pdf)
        errors, requests = [], []
        for m in b.events:
            p, meth = m.get("params", {}), m.get("method")
            if meth == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append("%s %s" % (d.get("text", "exception"), d.get("exception", {}).get("description", "")))
            elif meth == "Runtime.consoleAPICalled" and p.get("type") == "error":
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif meth == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(p["entry"].get("text", ""))
            elif meth == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not url.startswith(("file:", "data:")):
                    requests.append(url)
        out["errors"], out["requests"] = errors, requests
        print(json.dumps(out))
    finally:
        b.close()


if __name__ == "__main__":
    main()
