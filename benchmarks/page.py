"""How fast the page draws: frames drawn per second, ms per drawn frame, JS heap over time.

Drives Debian's Chromium (headless, via Playwright) against a server it starts
itself (or ``--url`` of a running one), plays the default 2-8-8-1 network and a
6×8 network (six hidden layers of eight), and reads the page's own counters
(``window.__bpl_stats``, kept by the requestAnimationFrame loop with
performance.now()). Prints a table. Targets (issue 4): 60 fps, ≤ 8 ms per frame,
flat memory over 10 minutes of play (``--duration 600``).

    python benchmarks/page.py                 # 20 s per network
    python benchmarks/page.py --duration 600  # the 10-minute memory check

Headless Chromium without a GPU draws in software: read the frame times as an
upper bound of what a real browser spends.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-precise-memory-info",
]
NETWORKS = {
    "default 2-8-8-1": "net=tanh:8,tanh:8,sigmoid:1",
    "6x8 (2-8-8-8-8-8-8-1)": "net=" + ",".join(["tanh:8"] * 6) + ",sigmoid:1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--memory"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/options", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def measure(browser: Any, url: str, query: str, duration: float, width: int, height: int) -> dict[str, float]:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{url}/?{query}")
    page.wait_for_function(
        "() => window.__bpl && window.__bpl.state.session.status === 'live'", timeout=30_000
    )
    page.click("[data-testid=play]")
    page.wait_for_timeout(2000)  # warm up
    page.evaluate(
        "() => { const s = window.__bpl_stats; s.drawMsMax = 0; s._t0 = performance.now(); s._f0 = s.frames;"
        " s._steps0 = window.__bpl.state.step; s._all = []; }"
    )
    heap: list[float] = []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        page.wait_for_timeout(min(5000, max(100, (end - time.monotonic()) * 1000)))
        heap.append(float(page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")))
        # collect the draw times of the frames drawn since the last look (the page keeps the last 2048)
        page.evaluate("""() => { const s = window.__bpl_stats; const n = s.times.length;
            const from = Math.max(s._seen ?? s._f0, s.frames - n);
            for (let f = from; f < s.frames; f++) s._all.push(s.times[f % n]);
            s._seen = s.frames; }""")
    result = page.evaluate("""() => { const s = window.__bpl_stats;
        const secs = (performance.now() - s._t0) / 1000; const t = s._all.slice().sort((a, b) => a - b);
        const q = (p) => t.length ? t[Math.min(t.length - 1, Math.floor(p * t.length))] : 0;
        return { fps: (s.frames - s._f0) / secs, median: q(0.5), p95: q(0.95), max: s.drawMsMax,
                 steps_per_s: (window.__bpl.state.step - s._steps0) / secs }; }""")
    page.click("[data-testid=pause]")
    page.close()
    result["heap_start_mb"] = heap[0] / 1e6 if heap else 0.0
    result["heap_end_mb"] = heap[-1] / 1e6 if heap else 0.0
    result["heap_max_mb"] = max(heap) / 1e6 if heap else 0.0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds of play per network (default 20)"
    )
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_server()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            rows = [
                (name, measure(browser, url, q, args.duration, args.width, args.height))
                for name, q in NETWORKS.items()
            ]
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    print(
        f"page drawing, {args.width}x{args.height}, {args.duration:g} s of play per network"
        " (headless Chromium, software rendering)"
    )
    head = (
        f"{'network':<24} {'frames/s':>8} {'draw ms p50':>11} {'p95':>6} {'max':>6} {'steps/s':>9}"
        f" {'heap MB start→end (max)':>26}"
    )
    print(head)
    print("-" * len(head))
    for name, r in rows:
        heap = f"{r['heap_start_mb']:.1f} → {r['heap_end_mb']:.1f} ({r['heap_max_mb']:.1f})"
        print(
            f"{name:<24} {r['fps']:>8.1f} {r['median']:>11.2f} {r['p95']:>6.2f} {r['max']:>6.1f}"
            f" {r['steps_per_s']:>9.0f} {heap:>26}"
        )


if __name__ == "__main__":
    main()
