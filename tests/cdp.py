"""A small Chrome DevTools Protocol driver for the dashboard tests: headless Debian
Chromium (``/usr/bin/chromium``, installed by .ci/run) spoken to over
``--remote-debugging-pipe`` (NUL-separated JSON on file descriptors 3 and 4), so no
port, no websocket library and no browser download.

Clicks and typing go through ``Input.dispatchMouseEvent`` / ``Input.insertText``, as a
person's would: the element must be visible and on top to receive them.
"""
from __future__ import annotations

import base64
import json
import os
import select
import signal
import time
from pathlib import Path

WAIT = 30.0  # seconds a condition may take before the test gives up (a hang guard)


class BrowserError(RuntimeError):
    """A CDP error answer, a JavaScript exception, or a condition never met."""


class Chromium:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, executable: str, profile: Path, size: tuple[int, int]):
        self.size = size
        to_browser, self._writer = os.pipe()
        self._reader, from_browser = os.pipe()
        # posix_spawn puts the pipe ends on the descriptors Chromium reads (3) and writes
        # (4); unlike a preexec_fn, it is safe beside the test's server thread.
        self.pid = os.posix_spawn(executable, [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--remote-debugging-pipe",
            f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
            "about:blank"], os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, to_browser, 3), (os.POSIX_SPAWN_DUP2, from_browser, 4),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self.session = None
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1],
                  deviceScaleFactor=1, mobile=False)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.session = None
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        deadline = time.monotonic() + WAIT
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        os.close(self._writer)
        os.close(self._reader)

    def send(self, method: str, **params) -> dict:
        """Send one command (to the page once attached) and return its result."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def _receive(self) -> dict:
        deadline = time.monotonic() + WAIT
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reader], [], [], left)[0]:
                raise BrowserError("Chromium did not answer")
            chunk = os.read(self._reader, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        """Navigate and wait for the load event's document."""
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def wait_for(self, condition: str, what: str | None = None):
        """Poll a JavaScript condition until it is truthy; its value."""
        deadline = time.monotonic() + WAIT
        while True:
            value = self.evaluate(condition)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"never true: {what or condition}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real left click in the middle of the element (scrolled into view)."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        if box is None:
            raise BrowserError(f"no element {selector}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def type(self, selector: str, text: str) -> None:
        """Click into a field, select what it holds and type ``text`` over it."""
        self.click(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).select()")
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """A PNG of the page (the whole document when ``full_page``)."""
        params = {"format": "png"}
        if full_page:
            width, height = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        else:
            self.evaluate("window.scrollTo(0, 0)")
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", **params)["data"]))
        return path
