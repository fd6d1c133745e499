"""Streaming benchmark: frames/s, bytes/frame and frame age for several viewer loads.

    python benchmarks/stream.py                  # all scenarios, ~10 s each
    python benchmarks/stream.py --seconds 5 --scenario one --json out.json

Starts the real server (uvicorn on 127.0.0.1, a free port, sessions in memory),
creates sessions over REST, plays them, and connects websocket viewers from
worker processes (so the viewers' own CPU does not count against the server's
event loop more than a real browser would). Frame age = arrival time − the
``time`` stamp the server put in the frame when that step was computed; both
clocks are this machine's.

Frames/s of a viewer: the frames it received in the ``--seconds`` after its first one.
Heatmaps travel as 8-bit codes, as the page asks for them (``--heat-bits 32``: float32).
Training speed while streaming is taken from the frames themselves: steps between a viewer's
first and last frame over the time between them.

Scenarios:
- ``one``: one session, one viewer at 60 fps with heatmaps (100×100 output, 20×20 per node);
  training speed is compared with the same network trained untraced in-process.
- ``many-viewers``: one session, 200 viewers at 30 fps.
- ``many-sessions``: 20 sessions with one viewer each at 30 fps.
- ``classroom``: one presented session, 200 viewers subscribed like the page (60 fps, heatmaps);
  the presenter's page sends a ``view`` change or a ``step`` every 100 ms over its websocket, and
  each viewer records when it sees that view event or that step's frame. Delay = arrival − the
  presenter's send time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

CONFIG: dict[str, Any] = {
    "model": {
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
    },
    "data": {"dataset": "circle", "samples": 500, "noise": 0.1, "train_fraction": 0.5},
    "training": {"optimizer": {"name": "sgd", "lr": 0.03}, "batch_size": 10},
    "seed": 0,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--memory"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/options", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def header_of(message: bytes) -> dict[str, Any]:
    (length,) = struct.unpack_from("<I", message, 0)
    result: dict[str, Any] = json.loads(message[4 : 4 + length])
    return result


async def _viewer(
    url: str, subscribe: dict[str, Any], seconds: float, out: list[tuple[float, int, int, float]]
) -> None:
    import websockets

    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", **subscribe}))
        # The window is the `seconds` after this viewer's first frame, so connecting (200 sockets
        # take a while) does not count as frames missed; a stall inside the window does.
        # One deadline for the whole read loop: asyncio.wait_for around each recv() would start a
        # task per message, CPU that the viewers, sharing the server's two cores, take from it.
        deadline = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds + 60) as window:
                async for message in ws:
                    if isinstance(message, bytes):
                        now = time.time()
                        head = header_of(message)
                        if head.get("type") == "frame":
                            out.append((now - float(head["time"]), len(message), int(head["step"]), now))
                            if deadline is None:
                                deadline = asyncio.get_running_loop().time() + seconds
                                window.reschedule(deadline)


def _viewer_process(urls: list[str], subscribe: dict[str, Any], seconds: float, queue: Any) -> None:
    async def main() -> list[list[tuple[float, int, int, float]]]:
        results: list[list[tuple[float, int, int, float]]] = [[] for _ in urls]
        await asyncio.gather(*(_viewer(u, subscribe, seconds, r) for u, r in zip(urls, results)))
        return results

    queue.put(asyncio.run(main()))


def run_viewers(
    urls: list[str], subscribe: dict[str, Any], seconds: float, processes: int
) -> list[list[tuple[float, int, int, float]]]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    chunks = [urls[i::processes] for i in range(processes) if urls[i::processes]]
    procs = [ctx.Process(target=_viewer_process, args=(c, subscribe, seconds, queue)) for c in chunks]
    for p in procs:
        p.start()
    results: list[list[tuple[float, int, int, float]]] = []
    for _ in procs:
        results.extend(queue.get(timeout=seconds + 60))
    for p in procs:
        p.join(timeout=10)
    return results


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def untraced_steps_per_second(seconds: float = 2.0) -> float:
    from engine.session import TrainingSession
    from server.cli import keep_freed_memory_mapped

    keep_freed_memory_mapped()  # as the server process does, so both sides allocate alike

    session = TrainingSession(CONFIG)
    session.step(500)
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < seconds / 5:
            session.step(200)
            n += 200
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def scenario(
    base: str, sessions: int, viewers_each: int, subscribe: dict[str, Any], seconds: float
) -> dict[str, Any]:
    client = httpx.Client(base_url=base, timeout=30)
    made = []
    for _ in range(sessions):
        body = client.post("/api/sessions", json=CONFIG).json()
        made.append(body)
    for body in made:
        client.post(
            f"/api/sessions/{body['id']}/play", headers={"Authorization": f"Bearer {body['control_token']}"}
        )
    ws_base = base.replace("http", "ws", 1)
    urls = [f"{ws_base}/ws/sessions/{body['id']}" for body in made for _ in range(viewers_each)]
    results = run_viewers(urls, subscribe, seconds, processes=min(4, max(1, len(urls) // 50 + 1)))
    for body in made:
        client.delete(
            f"/api/sessions/{body['id']}", headers={"Authorization": f"Bearer {body['control_token']}"}
        )
    ages = [age for r in results for age, _, _, _ in r[len(r) // 5 :]]  # skip the warm-up fifth
    sizes = [size for r in results for _, size, _, _ in r]
    fps = [len(r) / seconds for r in results]
    # Training speed while streaming: steps between a viewer's first and last frame over the time
    # between them (so the seconds before the viewers connect, untraced, do not count).
    rates = [
        (r[-1][2] - r[0][2]) / (r[-1][3] - r[0][3]) for r in results if len(r) > 1 and r[-1][3] > r[0][3]
    ]
    steps_per_s = statistics.median(rates) if rates else 0.0
    return {
        "sessions": sessions,
        "viewers": len(urls),
        "fps_median": statistics.median(fps) if fps else 0.0,
        "fps_min": min(fps) if fps else 0.0,
        "bytes_per_frame": statistics.median(sizes) if sizes else 0,
        "age_p50_ms": 1000 * percentile(ages, 0.5),
        "age_p99_ms": 1000 * percentile(ages, 0.99),
        "steps_per_s_per_session": steps_per_s,
    }


async def _class_viewer(url: str, subscribe: dict[str, Any], out: list[tuple[str, int, float]]) -> None:
    """A class member: records (kind, key, arrival) for each view event and each frame's step."""
    import websockets

    async with websockets.connect(url, max_size=None, compression=None, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "subscribe", **subscribe}))
        async with asyncio.timeout(120):  # the presenter ends the run long before
            async for message in ws:
                now = time.time()
                if isinstance(message, bytes):
                    head = header_of(message)
                    if head.get("type") == "frame":
                        out.append(("step", int(head["step"]), now))
                    continue
                event = json.loads(message)
                if event.get("type") == "event" and event.get("event") == "view":
                    view = event["view"]
                    if view.get("end"):
                        return
                    out.append(("view", int(view["seq"]), now))


def _class_viewer_process(urls: list[str], subscribe: dict[str, Any], queue: Any) -> None:
    async def main() -> list[list[tuple[str, int, float]]]:
        results: list[list[tuple[str, int, float]]] = [[] for _ in urls]
        await asyncio.gather(*(_class_viewer(u, subscribe, r) for u, r in zip(urls, results)))
        return results

    queue.put(asyncio.run(main()))


def classroom(base: str, viewers: int, seconds: float, subscribe: dict[str, Any]) -> dict[str, Any]:
    """Presenter actions (view changes and steps, alternating every 100 ms) to ``viewers`` followers."""
    import websockets

    client = httpx.Client(base_url=base, timeout=60)
    made = client.post("/api/sessions", json=CONFIG).json()
    sid, token = made["id"], made["control_token"]
    auth = {"Authorization": f"Bearer {token}"}
    client.post(f"/api/sessions/{sid}/present", headers=auth)
    url = base.replace("http", "ws", 1) + f"/ws/sessions/{sid}"
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    processes = 4
    chunks = [[url] * len(range(k, viewers, processes)) for k in range(processes)]
    procs = [ctx.Process(target=_class_viewer_process, args=(c, subscribe, queue)) for c in chunks if c]
    for proc in procs:
        proc.start()
    sent: dict[tuple[str, int], float] = {}

    async def present() -> None:
        async with websockets.connect(url, max_size=None, compression=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await ws.send(json.dumps({"type": "subscribe", "fps": 1, "heatmaps": {"output": 0, "nodes": 0}}))

            async def drain() -> None:
                async for _ in ws:
                    pass

            reader = asyncio.create_task(drain())
            deadline = time.monotonic() + 120
            while client.get(f"/api/sessions/{sid}").json()["viewers"] < viewers + 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("the viewers did not all connect within 120 s")
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # let the greetings and first frames settle
            seq = step = 0
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if seq <= step:
                    seq += 1
                    sent[("view", seq)] = time.time()
                    view = {"seq": seq, "edge": ["weight", "grad", "update"][seq % 3], "explain": None}
                    await ws.send(json.dumps({"type": "view", "view": view}))
                else:
                    step += 1
                    sent[("step", step)] = time.time()
                    await ws.send(json.dumps({"type": "control", "action": "step", "steps": 1}))
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            await ws.send(json.dumps({"type": "view", "view": {"end": True}}))
            await asyncio.sleep(0.5)
            reader.cancel()

    asyncio.run(present())
    results: list[list[tuple[str, int, float]]] = []
    for _ in procs:
        results.extend(queue.get(timeout=180))
    for proc in procs:
        proc.join(timeout=10)
    client.delete(f"/api/sessions/{sid}", headers=auth)
    delays: dict[str, list[float]] = {"view": [], "step": []}
    missed = {"view": 0, "step": 0}
    for seen in results:
        first: dict[tuple[str, int], float] = {}
        for kind, key, at in seen:
            first.setdefault((kind, key), at)
        for (kind, key), t0 in sent.items():
            if (kind, key) in first:
                delays[kind].append(first[(kind, key)] - t0)
            else:
                missed[kind] += 1
    both = delays["view"] + delays["step"]
    return {
        "viewers": len(results),
        "actions": len(sent),
        "view_p50_ms": 1000 * percentile(delays["view"], 0.5),
        "view_p95_ms": 1000 * percentile(delays["view"], 0.95),
        "step_p50_ms": 1000 * percentile(delays["step"], 0.5),
        "step_p95_ms": 1000 * percentile(delays["step"], 0.95),
        "all_p95_ms": 1000 * percentile(both, 0.95),
        "all_max_ms": 1000 * max(both) if both else float("nan"),
        "missed_views": missed["view"],
        "missed_steps": missed["step"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--scenario", choices=["all", "one", "many-viewers", "many-sessions", "classroom"], default="all"
    )
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the `one` scenario (median kept)")
    parser.add_argument(
        "--heat-bits",
        type=int,
        choices=[8, 32],
        default=8,
        help="heatmaps as q8 codes (8, what the page asks for) or float32 (32)",
    )
    args = parser.parse_args()

    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r} "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')!r}"
    )
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    rows: dict[str, dict[str, Any]] = {}
    try:
        bits = args.heat_bits
        heat = {"fps": 60, "heatmaps": {"output": 100, "nodes": 20, "bits": bits}}
        light = {"fps": 30, "heatmaps": {"output": 50, "nodes": 20, "bits": bits}}
        if args.scenario in ("all", "one"):
            # Rounds of (untraced engine, streaming server) back to back: on a shared machine the
            # load moves between minutes, so each round's ratio compares like with like.
            rounds = []
            for _ in range(args.rounds):
                reference = untraced_steps_per_second()
                run = scenario(base, 1, 1, heat, args.seconds)
                run["engine_untraced_steps_per_s"] = reference
                run["training_speed_ratio"] = run["steps_per_s_per_session"] / reference
                rounds.append(run)
            row = sorted(rounds, key=lambda r: r["training_speed_ratio"])[len(rounds) // 2]
            row["round_ratios"] = [r["training_speed_ratio"] for r in rounds]
            rows["one session, 1 viewer, 60 fps + heatmaps"] = row
        if args.scenario in ("all", "many-viewers"):
            rows[f"one session, {args.viewers} viewers, 30 fps"] = scenario(
                base, 1, args.viewers, light, args.seconds
            )
        if args.scenario in ("all", "many-sessions"):
            rows[f"{args.sessions} sessions × 1 viewer, 30 fps"] = scenario(
                base, args.sessions, 1, light, args.seconds
            )
        if args.scenario in ("all", "classroom"):
            page = {"fps": 60, "heatmaps": {"output": 64, "nodes": 24, "bits": 8}}  # what the page subscribes
            rows[f"classroom: presenter → {args.viewers} viewers"] = classroom(
                base, args.viewers, args.seconds, page
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    print(
        f"{'scenario':48} {'fps med':>8} {'fps min':>8} {'bytes/frame':>12} "
        f"{'age p50':>9} {'age p99':>9} {'steps/s':>10}"
    )
    for name, r in rows.items():
        if "all_p95_ms" in r:
            print(
                f"{name:48} view p50 {r['view_p50_ms']:.1f} ms, p95 {r['view_p95_ms']:.1f} ms; "
                f"step p50 {r['step_p50_ms']:.1f} ms, p95 {r['step_p95_ms']:.1f} ms; "
                f"all p95 {r['all_p95_ms']:.1f} ms, "
                f"max {r['all_max_ms']:.1f} ms; {r['actions']} actions × {r['viewers']} viewers, "
                f"missed {r['missed_views']} views / {r['missed_steps']} step frames"
            )
            continue
        print(
            f"{name:48} {r['fps_median']:8.1f} {r['fps_min']:8.1f} {r['bytes_per_frame']:12.0f} "
            f"{r['age_p50_ms']:7.1f}ms {r['age_p99_ms']:7.1f}ms {r['steps_per_s_per_session']:10.0f}"
        )
        if "training_speed_ratio" in r:
            each = ", ".join(f"{x:.0%}" for x in r["round_ratios"])
            print(
                f"{'':48} training while streaming = {r['training_speed_ratio']:.0%} "
                f"of untraced engine speed ({r['engine_untraced_steps_per_s']:.0f} steps/s "
                f"in-process), the median round of: {each}"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
