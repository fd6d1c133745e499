"""Soak: many sessions × many viewers on one server for a few minutes, with bad behaviour mixed in.

Starts ``backprop-lab serve`` on 127.0.0.1 (a fresh temporary data dir, so checkpointing runs as in
real use) and, from one asyncio client process:

- ``--sessions`` long-lived sessions, playing (half as fast as possible, half at 300 steps/s);
- ``--viewers`` sockets on each: most read every frame; ``--stall`` of them stop reading for good
  after a while (the server must evict them, not buffer for them); ``--churn`` of them disconnect
  (half abruptly, without a close frame) and reconnect every few seconds;
- a REST poller reading info, history, params and traces of random sessions, timing each call;
- a churner that creates a session every few seconds, plays it, watches it, and deletes it with
  the viewer still attached.

Every second it samples the server's RSS and CPU time from /proc and writes a row to
``soak.csv``; at the end it writes ``soak.json`` (the figures) and ``soak.svg`` (RSS, frames/s
and REST p99 over time, drawn here: no plotting library needed) into ``--out``.

    python benchmarks/soak.py --minutes 2 --sessions 8 --viewers 6 --out soak-results
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG: dict[str, Any] = {
    "model": {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
    },
    "data": {"dataset": "spiral", "samples": 400, "noise": 0.1},
    "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 10},
}
STALL_AFTER = (2.0, 10.0)  # seconds of reading before a staller stops for good
CHURN_EVERY = (1.0, 5.0)  # seconds a churning viewer stays connected
SAMPLE_SECONDS = 1.0
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Counters:
    frames: int = 0  # binary frames received by all viewers
    frame_bytes: int = 0
    texts: int = 0
    hellos: int = 0
    connects: int = 0
    reconnects: int = 0
    evictions: int = 0  # stalled sockets the server hung up on (it must, rather than buffer for them)
    reader_evictions: int = 0  # sockets that kept reading yet were closed with 1013 (should stay 0)
    refused: int = 0  # handshakes refused (e.g. the session was being deleted)
    closes: dict[int, int] = field(default_factory=dict)
    http: dict[int, int] = field(default_factory=dict)
    http_errors: int = 0  # transport errors (no answer at all)
    latencies: list[float] = field(default_factory=list)  # REST seconds since the last sample
    created: int = 0
    deleted: int = 0
    per_viewer: dict[str, int] = field(default_factory=dict)  # reading viewer → frames

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.http.items() if status >= 500) + self.closes.get(1011, 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_and_cpu(pid: int) -> tuple[float, float]:
    """(resident MB, user+system CPU seconds) of a process, from /proc."""
    with open(f"/proc/{pid}/statm") as f:
        rss_pages = int(f.read().split()[1])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    return rss_pages * PAGE / 2**20, cpu


class Soak:
    def __init__(self, args: argparse.Namespace, base: str) -> None:
        self.args = args
        self.base = base
        self.ws_base = "ws" + base[4:]
        self.c = Counters()
        self.stop = asyncio.Event()
        self.sessions: dict[str, str] = {}
        self.rng = random.Random(args.seed)

    # --- helpers -----------------------------------------------------------------------

    async def request(
        self, http: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = await http.request(method, path, **kwargs)
        except httpx.HTTPError:
            self.c.http_errors += 1
            return None
        self.c.latencies.append(time.perf_counter() - start)
        self.c.http[response.status_code] = self.c.http.get(response.status_code, 0) + 1
        return response

    async def create(self, http: httpx.AsyncClient, speed: float | None) -> tuple[str, str] | None:
        config = {**CONFIG, "seed": self.rng.randrange(2**31)}
        response = await self.request(http, "POST", "/api/sessions", json=config)
        if response is None or response.status_code != 201:
            return None
        body = response.json()
        sid, token = body["id"], body["control_token"]
        play = {"speed": speed} if speed else {}
        await self.request(http, "POST", f"/api/sessions/{sid}/play", json=play, headers=bearer(token))
        self.c.created += 1
        return sid, token

    def closed(self, exc: ConnectionClosed) -> None:
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        self.c.closes[code] = self.c.closes.get(code, 0) + 1
        if code == 1013:
            self.c.reader_evictions += 1

    async def open(self, sid: str, max_queue: int | None = 16) -> ClientConnection | None:
        try:
            ws = await connect(
                f"{self.ws_base}/ws/sessions/{sid}",
                compression=None,
                max_size=None,
                max_queue=max_queue,
                open_timeout=30,
            )
        except (InvalidStatus, OSError, TimeoutError):
            self.c.refused += 1
            return None
        self.c.connects += 1
        return ws

    async def read(self, ws: ClientConnection, name: str, until: float) -> bool:
        """Count what arrives until ``until`` (loop time); False when the server closed the socket."""
        loop = asyncio.get_running_loop()
        try:
            while not self.stop.is_set():
                left = until - loop.time()
                if left <= 0:
                    return True
                try:
                    message = await asyncio.wait_for(ws.recv(), min(left, 1.0))
                except TimeoutError:
                    continue
                if isinstance(message, bytes):
                    self.c.frames += 1
                    self.c.frame_bytes += len(message)
                    self.c.per_viewer[name] = self.c.per_viewer.get(name, 0) + 1
                else:
                    self.c.texts += 1
                    if message.startswith('{"type":"hello"'):
                        self.c.hellos += 1
        except ConnectionClosed as exc:
            self.closed(exc)
            return False
        return True

    # --- the actors ----------------------------------------------------------------------

    async def reader(self, sid: str, name: str) -> None:
        while not self.stop.is_set():
            ws = await self.open(sid)
            if ws is None:
                await asyncio.sleep(1.0)
                continue
            still_open = await self.read(ws, name, float("inf"))
            with contextlib.suppress(Exception):
                await ws.close()
            if not still_open and not self.stop.is_set():
                self.c.reconnects += 1
                await asyncio.sleep(0.5)

    async def staller(self, sid: str) -> None:
        """Reads a little, then never again: the server must drop it (1013), not queue for it."""
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            ws = await self.open(sid, max_queue=1)
            if ws is None:
                await asyncio.sleep(1.0)
                continue
            if not await self.read(ws, "staller", loop.time() + self.rng.uniform(*STALL_AFTER)):
                continue
            try:  # stop reading; wait for the server to give up on us
                await asyncio.wait_for(ws.wait_closed(), timeout=self.args.minutes * 60)
            except TimeoutError:
                ws.transport.abort()
                continue
            # The close frame may sit behind unread frames: the code seen here is often 1006.
            code = ws.close_code if ws.close_code is not None else 1006
            self.c.closes[code] = self.c.closes.get(code, 0) + 1
            self.c.evictions += 1

    async def churner(self, sid: str) -> None:
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            ws = await self.open(sid)
            if ws is None:
                await asyncio.sleep(1.0)
                continue
            await self.read(ws, "churner", loop.time() + self.rng.uniform(*CHURN_EVERY))
            if self.rng.random() < 0.5:
                ws.transport.abort()  # vanish without a close frame
            else:
                with contextlib.suppress(Exception):
                    await ws.close()
            self.c.reconnects += 1
            await asyncio.sleep(0.2)

    async def poller(self, http: httpx.AsyncClient) -> None:
        paths = ["", "/history?max_points=500", "/params", "/trace"]
        while not self.stop.is_set():
            if self.sessions:
                sid = self.rng.choice(list(self.sessions))
                await self.request(http, "GET", f"/api/sessions/{sid}{self.rng.choice(paths)}")
            await self.request(http, "GET", "/api/sessions")
            await asyncio.sleep(0.1)

    async def session_churn(self, http: httpx.AsyncClient) -> None:
        """Create, play, watch and delete a short-lived session every few seconds."""
        loop = asyncio.get_running_loop()
        while not self.stop.is_set():
            made = await self.create(http, None)
            if made is not None:
                sid, token = made
                ws = await self.open(sid)
                if ws is not None:
                    await self.read(ws, "churn-session", loop.time() + self.rng.uniform(1.0, 4.0))
                response = await self.request(http, "DELETE", f"/api/sessions/{sid}", headers=bearer(token))
                if response is not None and response.status_code == 200:
                    self.c.deleted += 1
                if ws is not None:
                    await self.read(ws, "churn-session", loop.time() + 2.0)  # hears "deleted", then 1000
                    with contextlib.suppress(Exception):
                        await ws.close()
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))

    # --- the run -------------------------------------------------------------------------

    async def run(self, pid: int, out: Path) -> dict[str, Any]:
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(base_url=self.base, timeout=30.0, limits=limits) as http:
            for n in range(self.args.sessions):
                made = await self.create(http, None if n % 2 == 0 else 300.0)
                if made is None:
                    raise RuntimeError("could not create the soak's sessions")
                self.sessions[made[0]] = made[1]
            tasks = [asyncio.create_task(self.poller(http)), asyncio.create_task(self.session_churn(http))]
            for sid in self.sessions:
                for v in range(self.args.viewers):
                    if v < self.args.stall:
                        tasks.append(asyncio.create_task(self.staller(sid)))
                    elif v < self.args.stall + self.args.churn:
                        tasks.append(asyncio.create_task(self.churner(sid)))
                    else:
                        tasks.append(asyncio.create_task(self.reader(sid, f"{sid}/{v}")))
            rows = await self.sample(pid, out / "soak.csv")
            self.stop.set()
            await asyncio.wait(tasks, timeout=15)
            for task in tasks:
                task.cancel()
            listed = await self.request(http, "GET", "/api/sessions")
            steps, stopped = {}, []
            if listed is not None and listed.status_code == 200:
                steps = {s["id"]: s["step"] for s in listed.json()["sessions"]}
                stopped = [
                    s["id"]
                    for s in listed.json()["sessions"]
                    if s["id"] in self.sessions and not s["playing"]
                ]
        lost = [sid for sid in self.sessions if sid not in steps]
        summary = self.summary(rows, lost, steps)
        summary["sessions_that_stopped_playing"] = stopped  # should be none: nothing pauses them
        return summary

    async def sample(self, pid: int, path: Path) -> list[dict[str, float]]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + self.args.minutes * 60
        rows: list[dict[str, float]] = []
        last_frames, last_cpu, last_t = 0, rss_and_cpu(pid)[1], start
        last_client = time.process_time()
        with open(path, "w", newline="") as f:
            writer: csv.DictWriter[str] | None = None
            while loop.time() < end:
                await asyncio.sleep(SAMPLE_SECONDS)
                now = loop.time()
                rss, cpu = rss_and_cpu(pid)
                lat = sorted(self.c.latencies)
                self.c.latencies.clear()
                row = {
                    "t": round(now - start, 2),
                    "rss_mb": round(rss, 2),
                    "cpu_percent": round(100 * (cpu - last_cpu) / (now - last_t), 1),
                    "client_cpu_percent": round(
                        100 * (time.process_time() - last_client) / (now - last_t), 1
                    ),
                    "frames_per_s": round((self.c.frames - last_frames) / (now - last_t), 1),
                    "frames_total": self.c.frames,
                    "rest_p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else 0.0,
                    "rest_p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2)
                    if lat
                    else 0.0,
                    "rest_calls": len(lat),
                    "evictions": self.c.evictions,
                    "server_errors": self.c.server_errors,
                    "sessions_created": self.c.created,
                    "sessions_deleted": self.c.deleted,
                }
                last_frames, last_cpu, last_t = self.c.frames, cpu, now
                last_client = time.process_time()
                rows.append(row)
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                f.flush()
        return rows

    def summary(self, rows: list[dict[str, float]], lost: list[str], steps: dict[str, int]) -> dict[str, Any]:
        # Warm-up: the first half. Histories fill, allocators settle; after that RSS should be flat.
        warm = [r for r in rows if r["t"] >= rows[-1]["t"] / 2] or rows
        rss = [r["rss_mb"] for r in warm]
        readers = [n for name, n in self.c.per_viewer.items() if "/" in name]
        seconds = rows[-1]["t"]
        p99s = [r["rest_p99_ms"] for r in warm if r["rest_calls"]]
        return {
            "minutes": self.args.minutes,
            "sessions": self.args.sessions,
            "viewers_per_session": self.args.viewers,
            "stalling_per_session": self.args.stall,
            "churning_per_session": self.args.churn,
            "frames_delivered": self.c.frames,
            "frames_per_second": round(self.c.frames / seconds, 1),
            "mean_frame_kb": round(self.c.frame_bytes / max(1, self.c.frames) / 1024, 2),
            "reading_viewer_fps_median": round(statistics.median(readers) / seconds, 1) if readers else 0.0,
            "reading_viewer_fps_min": round(min(readers) / seconds, 1) if readers else 0.0,
            "evictions": self.c.evictions,
            "reader_evictions": self.c.reader_evictions,
            "reconnects": self.c.reconnects,
            "connects": self.c.connects,
            "hellos": self.c.hellos,
            "close_codes": {str(k): v for k, v in sorted(self.c.closes.items())},
            "http_statuses": {str(k): v for k, v in sorted(self.c.http.items())},
            "http_5xx": sum(n for s, n in self.c.http.items() if s >= 500),
            "http_no_answer": self.c.http_errors,
            "ws_1011": self.c.closes.get(1011, 0),
            "rest_p99_ms_median_over_samples": round(statistics.median(p99s), 1) if p99s else None,
            "server_cpu_percent_mean": round(statistics.mean(r["cpu_percent"] for r in warm), 1),
            "client_cpu_percent_mean": round(statistics.mean(r["client_cpu_percent"] for r in warm), 1),
            "rss_mb_start": rows[0]["rss_mb"],
            "rss_mb_second_half": {"min": min(rss), "max": max(rss), "last": rss[-1]},
            "rss_growth_mb_per_minute_second_half": round(_slope([r["t"] for r in warm], rss) * 60, 2),
            "sessions_created": self.c.created,
            "sessions_deleted": self.c.deleted,
            "sessions_lost": lost,
            "min_step_of_long_lived_sessions": min((steps.get(s, 0) for s in self.sessions), default=0),
        }


def _slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the plot ------------------------------------------------------------------------------


def svg_plot(rows: list[dict[str, float]], title: str) -> str:
    """Three stacked panels over time: server RSS, frames delivered per second, REST p99."""
    width, panel, left, gap = 760, 150, 64, 34
    right = width - 20
    panels = [
        ("rss_mb", "server RSS (MB)", "#1f77b4"),
        ("frames_per_s", "frames delivered / s", "#2ca02c"),
        ("rest_p99_ms", "REST p99 (ms)", "#d62728"),
    ]
    height = 40 + len(panels) * (panel + gap)
    t_max = max(r["t"] for r in rows) or 1.0

    def x_of(t: float) -> float:
        return left + (right - left) * t / t_max

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="13" font-weight="bold">{_escape(title)}</text>',
    ]
    for k, (key, label, colour) in enumerate(panels):
        top = 36 + k * (panel + gap)
        hi = max(r[key] for r in rows) * 1.1 or 1.0

        def y_of(v: float, top: float = top, hi: float = hi) -> float:
            return top + panel - panel * v / hi

        out.append(
            f'<rect x="{left}" y="{top}" width="{right - left}" height="{panel}" fill="none" stroke="#999"/>'
        )
        for i in range(5):
            v = hi * i / 4
            out.append(
                f'<line x1="{left}" y1="{y_of(v):.1f}" x2="{right}" y2="{y_of(v):.1f}" stroke="#eee"/>'
            )
            out.append(f'<text x="{left - 6}" y="{y_of(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
        points = " ".join(f"{x_of(r['t']):.1f},{y_of(r[key]):.1f}" for r in rows)
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        out.append(f'<text x="{left + 6}" y="{top + 14}" fill="{colour}">{label}</text>')
        for i in range(6):
            t = t_max * i / 5
            out.append(
                f'<text x="{x_of(t):.1f}" y="{top + panel + 14}" text-anchor="middle">{t:.0f} s</text>'
            )
    out.append("</svg>")
    return "\n".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=2.0, help="how long to soak (default 2)")
    parser.add_argument("--sessions", type=int, default=8, help="long-lived sessions (default 8)")
    parser.add_argument("--viewers", type=int, default=6, help="sockets per session (default 6)")
    parser.add_argument("--stall", type=int, default=1, help="of those, how many stop reading (default 1)")
    parser.add_argument("--churn", type=int, default=1, help="of those, how many reconnect again and again")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("soak-results"), help="where the CSV, JSON, SVG go")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.minutes > 60:
        parser.error("--minutes must be in (0, 60]")
    args.out.mkdir(parents=True, exist_ok=True)

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="soak-data-") as data_dir:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        log_path = args.out / "server.log"
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--data-dir",
                    data_dir,
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/health", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("the server did not start")
            soak = Soak(args, base)
            summary = asyncio.run(soak.run(server.pid, args.out))
            t0 = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            summary["shutdown_seconds"] = round(time.monotonic() - t0, 2)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)
    log_text = log_path.read_text()
    summary["server_tracebacks"] = log_text.count("Traceback")
    with open(args.out / "soak.csv") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    title = (
        f"soak: {args.sessions} sessions × {args.viewers} viewers ({args.stall} stalling, {args.churn} "
        f"churning), {args.minutes:g} min, 127.0.0.1"
    )
    (args.out / "soak.svg").write_text(svg_plot(rows, title))
    (args.out / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
