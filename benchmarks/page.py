"""How fast the page draws: frames drawn per second, ms per drawn frame, memory over time.

Drives Debian's Chromium (headless, via Playwright) against a server it starts
itself (or ``--url`` of a running one), plays the default 2-8-8-1 network and a
6×8 network (six hidden layers of eight), and reads the page's own counters
(``window.__bpl_stats``, kept by the requestAnimationFrame loop with
performance.now()). Prints two tables. Targets (issue 4): 60 fps, ≤ 8 ms per
frame, flat memory over 10 minutes of play (``--duration 600``).

"frames/s" counts the frames the page drew, "received/s" the binary messages that
reached it (training frames and catch-up points): the page cannot draw more
distinct frames than it receives. "draw ms" is the JavaScript of one drawn frame
(what the loop measures); the canvases are rasterised afterwards, outside it.
"main thread busy" is the share of the time the page's main thread spent in tasks
of any kind (CDP ``Performance.getMetrics`` TaskDuration): near 100 % the page
cannot draw more frames, whatever the draw time. All of these are counted between
the memory samples only: a forced collection stops the page for up to ~200 ms,
which would otherwise be charged to the page's drawing.

Memory is sampled every ``--sample`` seconds through the Chrome DevTools
Protocol: the JS heap in use just before a forced full collection (garbage
included: how high the heap climbs between collections), then
``HeapProfiler.collectGarbage`` and the heap that survives it (what the page
retains: flat if nothing grows), DOM nodes and JS event listeners
(``Performance.getMetrics``).

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


def memory_sample(cdp: Any) -> dict[str, float]:
    """JS heap before and after a forced full GC (bytes), DOM nodes and event listeners, via CDP."""
    before = float(cdp.send("Runtime.getHeapUsage")["usedSize"])
    cdp.send("HeapProfiler.collectGarbage")
    after = float(cdp.send("Runtime.getHeapUsage")["usedSize"])
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {
        "heap_before_gc": before,
        "heap_after_gc": after,
        "nodes": float(metrics.get("Nodes", 0)),
        "listeners": float(metrics.get("JSEventListeners", 0)),
    }


def task_seconds(cdp: Any) -> float:
    """Seconds the page's main thread has spent running tasks (script, style, layout, paint, canvas)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics.get("TaskDuration", 0.0))


def quantile(values: list[float], p: float) -> float:
    """The value at rank ⌊p·n⌋ of the sorted values (0 when there are none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


def measure(
    browser: Any, url: str, query: str, duration: float, width: int, height: int, every: float = 5.0
) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": width, "height": height})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(f"{url}/?{query}")
    page.wait_for_function(
        "() => window.__bpl && window.__bpl.state.session.status === 'live'", timeout=30_000
    )
    page.click("[data-testid=play]")
    page.wait_for_timeout(2000)  # warm up
    mem = [memory_sample(cdp)]
    # Counters read at both ends of every window between two memory samples.
    counters = """() => { const s = window.__bpl_stats, st = window.__bpl.state;
        return { t: performance.now(), frames: s.frames, received: st.stats.messages, step: st.step }; }"""
    # The draw times of the frames drawn since the last look (the page keeps the last 2048), kept
    # here rather than in the page, so the heap measured holds none of the benchmark's own data.
    collect = """() => { const s = window.__bpl_stats; const n = s.times.length; const out = [];
        for (let f = Math.max(s._seen, s.frames - n); f < s.frames; f++) out.push(s.times[f % n]);
        s._seen = s.frames; return out; }"""
    page.evaluate("() => { const s = window.__bpl_stats; s.drawMsMax = 0; s._seen = s.frames; }")
    totals = {"secs": 0.0, "frames": 0.0, "received": 0.0, "steps": 0.0, "busy": 0.0}
    times: list[float] = []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        start, busy = page.evaluate(counters), task_seconds(cdp)
        page.wait_for_timeout(min(every, max(0.1, end - time.monotonic())) * 1000)
        stop, busy = page.evaluate(counters), task_seconds(cdp) - busy
        totals["secs"] += (stop["t"] - start["t"]) / 1000
        for k in ("frames", "received"):
            totals[k] += stop[k] - start[k]
        totals["steps"] += max(0, stop["step"] - start["step"])
        totals["busy"] += busy
        times += page.evaluate(collect)
        if time.monotonic() < end - 0.5:  # the last sample is taken after the counters stop
            mem.append(memory_sample(cdp))
    secs = totals["secs"]
    result: dict[str, Any] = {
        "fps": totals["frames"] / secs,
        "received": totals["received"] / secs,
        "steps_per_s": totals["steps"] / secs,
        "busy": totals["busy"] / secs,
        "max": page.evaluate("window.__bpl_stats.drawMsMax"),
        "median": quantile(times, 0.5),
        "p95": quantile(times, 0.95),
    }
    mem.append(memory_sample(cdp))
    page.click("[data-testid=pause]")
    page.close()
    after = [m["heap_after_gc"] / 1e6 for m in mem]
    result.update(
        heap_start_mb=after[0],
        heap_mid_mb=after[len(after) // 2],
        heap_end_mb=after[-1],
        heap_max_mb=max(after),
        heap_peak_mb=max(m["heap_before_gc"] for m in mem) / 1e6,
        nodes=(mem[0]["nodes"], mem[-1]["nodes"], max(m["nodes"] for m in mem)),
        listeners=(mem[0]["listeners"], mem[-1]["listeners"], max(m["listeners"] for m in mem)),
        samples=len(mem),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds of play per network (default 20)"
    )
    parser.add_argument(
        "--sample", type=float, default=5.0, help="seconds between memory samples (default 5)"
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
                (name, measure(browser, url, q, args.duration, args.width, args.height, args.sample))
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
        f"{'network':<24} {'frames/s':>8} {'received/s':>10} {'draw ms p50':>11} {'p95':>6} {'max':>6}"
        f" {'steps/s':>9} {'main thread busy':>16}"
    )
    print(head)
    print("-" * len(head))
    for name, r in rows:
        print(
            f"{name:<24} {r['fps']:>8.1f} {r['received']:>10.1f} {r['median']:>11.2f} {r['p95']:>6.2f}"
            f" {r['max']:>6.1f} {r['steps_per_s']:>9.0f} {r['busy']:>15.0%}"
        )
    print()
    print(
        f"memory (CDP): JS heap after a forced GC (HeapProfiler.collectGarbage) every {args.sample:g} s,"
        " from the end of warm-up;\npeak = largest heap just before one of those collections (garbage"
        " included); DOM nodes and JS event listeners from Performance.getMetrics"
    )
    head = (
        f"{'network':<24} {'heap MB start → mid → end (max)':>32} {'peak':>6}"
        f" {'DOM nodes start → end (max)':>28} {'listeners start → end (max)':>28}"
    )
    print(head)
    print("-" * len(head))
    for name, r in rows:
        heap = "{:.1f} → {:.1f} → {:.1f} ({:.1f})".format(
            r["heap_start_mb"], r["heap_mid_mb"], r["heap_end_mb"], r["heap_max_mb"]
        )
        nodes = "{:.0f} → {:.0f} ({:.0f})".format(*r["nodes"])
        listeners = "{:.0f} → {:.0f} ({:.0f})".format(*r["listeners"])
        print(f"{name:<24} {heap:>32} {r['heap_peak_mb']:>6.1f} {nodes:>28} {listeners:>28}")


if __name__ == "__main__":
    main()
