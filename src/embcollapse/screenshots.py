"""Look at a built book as a reader would: headless Chromium, every page, desktop and phone.

``python -m embcollapse.screenshots build/book/smoke/_build/html`` (``make screenshots``) writes
``<page>-desktop.png`` (1366 px wide) and ``<page>-phone.png`` (390 px wide) of every HTML page
into ``build/screenshots/`` and ``report.json`` beside them, with what a reader would stumble on:

* ``raw_math``: math left as LaTeX source (MathJax did not run);
* ``wide``: tables wider than the text column (cut off, or scrolling sideways where a reader
  reading down does not see it), figures, code or math cut off;
* ``errors``: pages that failed to load.

The browser runs with every host name unresolvable, so the pages are seen as by a reader with no
network (MathJax must come from the book itself). Chromium is the Debian package ``chromium``;
nothing is installed here. The browser is driven through its DevTools protocol over a websocket
(tornado's client, which Jupyter already brings).
"""
from __future__ import annotations

import argparse
import base64
import asyncio
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WIDTHS = {"desktop": 1366, "phone": 390}
MAX_HEIGHT = 16000      # px; longer pages are cut here in the screenshot (the checks see all)
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")

# what the page reports: its height, unrendered math, and elements a reader cannot see whole
INSPECT = r"""
(() => {
  const article = document.querySelector('article') || document.body;
  const limit = article.getBoundingClientRect().right + 2;
  const scrollable = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p).overflowX;
      if ((s === 'auto' || s === 'scroll') && p.getBoundingClientRect().right <= limit) return true;
    }
    return false;
  };
  const viewport = document.documentElement.clientWidth;
  const wide = [];
  for (const el of article.querySelectorAll('table, img, pre, .math')) {
    const r = el.getBoundingClientRect();
    const table = el.tagName === 'TABLE';
    // a table's cells can overflow the table itself: its right edge is its last cell's
    const right = table ? Math.max(r.right, ...Array.from(el.querySelectorAll('tr:first-child > *'))
                                    .map((c) => c.getBoundingClientRect().right)) : r.right;
    // full-width cells may use the margin, up to the window's edge
    const edge = el.closest('.tag_full-width') ? viewport + 2 : limit;
    // a table that only scrolls sideways hides columns from a reader scrolling down
    // printed output (not code) that scrolls sideways is cut off for a reader too
    const printed = el.tagName === 'PRE' && el.closest('.cell_output');
    if (r.width > 0 && right > edge && (table || printed || !scrollable(el)))
      wide.push(`${el.tagName.toLowerCase()} ${Math.round(right - r.left)}px wide, ` +
                `${Math.round(right - edge)}px beyond the text column` +
                (scrollable(el) ? ' (scrolls sideways)' : ' (cut off)') + ': ' +
                (el.innerText || el.getAttribute('src') || '').slice(0, 60).replace(/\s+/g, ' '));
  }
  const raw = [];
  for (const el of document.querySelectorAll('.math, span.math, div.math')) {
    if (!el.querySelector('mjx-container') && /\\[(\[]|\$/.test(el.textContent))
      raw.push(el.textContent.slice(0, 60));
  }
  const small = [];
  for (const img of article.querySelectorAll('img')) {
    const r = img.getBoundingClientRect();
    if (img.naturalWidth > 0 && r.width < 0.45 * Math.min(img.naturalWidth, article.clientWidth))
      small.push(`${img.getAttribute('src')} shown ${Math.round(r.width)}px of ${img.naturalWidth}px`);
  }
  return {height: document.documentElement.scrollHeight,
          math: document.querySelectorAll('mjx-container').length,
          raw_math: raw, wide: wide, small_figures: small};
})()
"""

# resolves when MathJax (if the page loads it) has typeset the page
MATH_DONE = """
(window.MathJax && MathJax.startup && MathJax.startup.promise)
  ? MathJax.startup.promise.then(() => true) : Promise.resolve(!!window.MathJax)
"""


def find_chromium() -> str | None:
    for name in CHROMIUM:
        path = shutil.which(name)
        if path:
            return path
    return None


class DevTools:
    """A minimal DevTools-protocol client for one page target."""

    def __init__(self, connection: Any) -> None:
        self.connection, self.ids = connection, itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        key = next(self.ids)
        await self.connection.write_message(json.dumps({"id": key, "method": method,
                                                        "params": params}))
        while True:
            message = await self.connection.read_message()
            if message is None:
                raise RuntimeError(f"Chromium closed the connection during {method}")
            reply = json.loads(message)
            if reply.get("id") == key:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def evaluate(self, expression: str, timeout: float = 20.0) -> Any:
        result = await asyncio.wait_for(self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True),
            timeout)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")


async def _page_target(port: int) -> str:
    """The websocket URL of the browser's first page."""
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient()
    for _ in range(100):
        try:
            response = await client.fetch(f"http://127.0.0.1:{port}/json/list")
            pages = [t for t in json.loads(response.body) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("Chromium started but offers no page to drive")


async def _shoot(chromium: str, pages: list[Path], out: Path) -> dict[str, Any]:
    from tornado.websocket import websocket_connect

    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            for _ in range(150):
                if port_file.is_file() and port_file.read_text().strip():
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError("Chromium did not open its DevTools port")
            port = int(port_file.read_text().split()[0])
            tools = DevTools(await websocket_connect(await _page_target(port),
                                                     max_message_size=1 << 30))
            await tools.call("Page.enable")
            for page in pages:
                entry: dict[str, Any] = {}
                for label, width in WIDTHS.items():
                    await tools.call("Emulation.setDeviceMetricsOverride", width=width,
                                     height=900, deviceScaleFactor=1, mobile=width < 600)
                    try:
                        await tools.call("Page.navigate", url=page.resolve().as_uri())
                        for _ in range(100):
                            if await tools.evaluate("document.readyState") == "complete":
                                break
                            await asyncio.sleep(0.1)
                        await tools.evaluate(MATH_DONE)
                        seen = await tools.evaluate(INSPECT)
                        height = min(int(seen["height"]), MAX_HEIGHT)
                        shot = await tools.call(
                            "Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
                    except (RuntimeError, asyncio.TimeoutError) as err:
                        entry[label] = {"errors": [str(err)]}
                        continue
                    name = out / f"{page.stem}-{label}.png"
                    name.write_bytes(base64.b64decode(shot["data"]))
                    entry[label] = {**seen, "screenshot": name.name}
                report[str(page)] = entry
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return report


def book_pages(html_dir: Path) -> list[Path]:
    """The HTML pages of a built book (not search, genindex or the redirecting index)."""
    skip = {"search.html", "genindex.html", "index.html"}
    return sorted(p for p in html_dir.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and
                  "_sources" not in p.parts)


def take(html_dir: Path, out: Path, pages: list[Path] | None = None) -> dict[str, Any]:
    """Screenshot every page of the book in ``html_dir`` (or only ``pages``) into ``out``;
    returns the report (also written to ``out/report.json``), keyed by page path."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("headless Chromium is needed and was not found; on Debian or "
                                "Ubuntu: sudo apt-get install chromium")
    pages = pages if pages is not None else book_pages(html_dir)
    if not pages:
        raise FileNotFoundError(f"{html_dir}: no HTML pages; build the book first "
                                f"(make book PROFILE=smoke)")
    out.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(_shoot(chromium, pages, out))
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def problems(report: dict[str, Any]) -> list[str]:
    """One line per thing a reader would stumble on, per page and width."""
    lines = []
    for page, widths in report.items():
        for label, seen in widths.items():
            for kind in ("errors", "raw_math", "wide", "small_figures"):
                for item in seen.get(kind, []):
                    if label == "phone" and item.endswith("sideways)", 0, item.find(":")):
                        continue    # on a phone a wide table scrolling sideways is expected
                    lines.append(f"{Path(page).name} ({label}) {kind}: {item}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m embcollapse.screenshots",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", type=Path, nargs="?",
                        default=Path("build/book/smoke/_build/html"))
    parser.add_argument("--out", type=Path, default=Path("build/screenshots"))
    args = parser.parse_args(argv)
    try:
        report = take(args.html_dir, args.out)
    except FileNotFoundError as err:
        print(f"screenshots: {err}", file=sys.stderr)
        return 2
    found = problems(report)
    shots = sum(1 for widths in report.values() for seen in widths.values()
                if "screenshot" in seen)
    print(f"{shots} screenshots of {len(report)} pages in {args.out}/ (report.json)")
    for line in found:
        print(f"  {line}")
    print(f"{len(found)} problem(s) found" if found else "nothing a reader would stumble on "
          "was found (look at the screenshots all the same)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
