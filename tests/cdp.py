"""A minimal headless-Chromium driver over the DevTools protocol (stdlib only).

Chromium is started with ``--remote-debugging-pipe``: it reads protocol
messages from fd 3 and writes to fd 4, NUL-terminated JSON. No websocket
library, no chromedriver, no network port. Used by tests/test_browser.py and
to refresh the README screenshots (docs/img).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-pipe"]


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


class CDPError(RuntimeError):
    pass


class Browser:
    """One headless Chromium process with one page.

    Args:
        binary: Chromium executable.
        width, height: Viewport size in CSS px.
        timeout: Seconds to wait for any protocol reply or page load.
    """

    def __init__(self, binary: str, width: int = 1366, height: int = 900, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="xinde-chromium-")
        cmd_r, cmd_w = os.pipe()   # we write commands → chromium reads fd 3
        ev_r, ev_w = os.pipe()     # chromium writes fd 4 → we read

        def child():  # runs in the forked child: put the pipe ends on fds 3 and 4
            a, b = os.dup(cmd_r), os.dup(ev_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child)  # other fds are non-inheritable (PEP 446)
        os.close(cmd_r)
        os.close(ev_w)
        self._w = os.fdopen(cmd_w, "wb", buffering=0)
        self._r = ev_r
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    # -- protocol -------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("timed out waiting for Chromium")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise CDPError("Chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, **params) -> dict:
        """Send one command and return its result (events seen meanwhile are kept)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        self._w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise CDPError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method: str, since: int = 0) -> dict:
        """Wait for the first event ``method`` at index ≥ ``since`` in :attr:`events`."""
        deadline = time.monotonic() + self.timeout
        while True:
            for ev in self.events[since:]:
                if ev["method"] == method:
                    return ev
            m = self._read_message(deadline)
            if "method" in m:
                self.events.append(m)

    # -- conveniences -----------------------------------------------------------
    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        n = len(self.events)
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", since=n)

    def eval(self, expr: str):
        """Evaluate ``expr`` in the page and return its JSON value."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise CDPError(f"page exception: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first element matching ``selector``."""
        box = self.eval(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "e.scrollIntoView({block:'center'});var r=e.getClientRects()[0];"
            "return [r.left+r.width/2, r.top+r.height/2];})()")
        x, y = box
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def screenshot(self, path: Path | str, full_page: bool = False,
                   max_height: int = 4000) -> Path:
        """Save a PNG of the viewport (or the page, up to ``max_height`` px)."""
        params: dict = {"format": "png"}
        if full_page:
            w, h = self.eval("[document.documentElement.scrollWidth,"
                             "document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": w, "height": min(h, max_height),
                                "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        out = []
        for ev in self.events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}), ensure_ascii=False)[:500])
            elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args", []), ensure_ascii=False)[:500])
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", "")[:500])
        return out

    def close(self) -> None:
        try:
            self.session = None  # Browser.close goes to the browser target
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self._w,):
            try:
                f.close()
            except OSError:
                pass
        try:
            os.close(self._r)
        except OSError:
            pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def readme_screenshots(report_dir: Path | str, img_dir: Path | str, essay_id: str = "E0017",
                       kind: str = "template") -> list[Path]:
    """Refresh docs/img/report.png and essay.png from a report folder.

    Usage: ``.venv/bin/python tests/cdp.py OUT docs/img [ESSAY_ID [KIND]]`` after
    ``make run OUT=OUT``.
    """
    report_dir, img_dir = Path(report_dir), Path(img_dir)
    img_dir.mkdir(parents=True, exist_ok=True)
    with Browser(find_chromium(), width=1366, height=900) as b:
        b.goto((report_dir / "index.html").as_uri())
        shots = [b.screenshot(img_dir / "report.png")]
        b.goto((report_dir / "essays" / f"{essay_id}.html").as_uri())
        b.click(f"#text .hl.k-{kind}")
        b.eval("window.scrollTo(0, document.getElementById('legend').offsetTop - 12)")
        shots.append(b.screenshot(img_dir / "essay.png"))
        errors = b.console_errors()
    if errors:
        raise CDPError(f"console errors: {errors}")
    return shots


if __name__ == "__main__":  # pragma: no cover - maintenance helper
    import sys

    print(*readme_screenshots(*sys.argv[1:]), sep="\n")
