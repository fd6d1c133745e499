"""Per-message deflate on or off: frames per second and bytes for backprop-lab-like binary frames.

Runs uvicorn (the pinned websockets-sansio implementation) on 127.0.0.1 with a one-route app that
sends ``--frames`` binary frames of float32 weights as fast as the client reads them, once with
``ws_per_message_deflate=False`` (what ``backprop-lab serve`` pins) and once with ``True`` while the
client offers deflate as browsers do.

    python benchmarks/ws_deflate.py [--frames 2000] [--floats 2500]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect


def make_app(frames: list[bytes]) -> Starlette:
    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        for frame in frames:
            await ws.send_bytes(frame)
        await ws.close()

    return Starlette(routes=[WebSocketRoute("/ws", stream)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(app: Starlette, deflate: bool) -> tuple[uvicorn.Server, int]:
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        log_level="warning",
        ws_per_message_deflate=deflate,
        ws_max_size=1 << 24,
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    return server, port


async def read_all(port: int, offer_deflate: bool) -> tuple[int, float, str | None]:
    received = 0
    async with connect(
        f"ws://127.0.0.1:{port}/ws", compression="deflate" if offer_deflate else None, max_size=None
    ) as ws:
        assert ws.response is not None
        extension = ws.response.headers.get("Sec-WebSocket-Extensions")
        start = time.perf_counter()
        try:
            while True:
                await ws.recv()
                received += 1
        except Exception:
            pass
        return received, time.perf_counter() - start, extension


def frames_of(count: int, floats: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    # Weights after some training: float32, as frames carry them.
    return [rng.normal(0, 0.5, floats).astype(np.float32).tobytes() for _ in range(count)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--floats", type=int, default=2500)
    args = parser.parse_args(argv)
    frames = frames_of(args.frames, args.floats)
    results: dict[str, Any] = {}
    for deflate in (False, True):
        server, port = serve(make_app(frames), deflate)
        count, seconds, extension = asyncio.run(read_all(port, offer_deflate=True))
        server.should_exit = True
        ratio = None
        if extension:
            import zlib

            packer = zlib.compressobj(wbits=-15)
            packed = sum(len(packer.compress(f) + packer.flush(zlib.Z_SYNC_FLUSH)) for f in frames[:200])
            ratio = packed / sum(len(f) for f in frames[:200])
        results["deflate on" if deflate else "deflate off"] = (count / seconds, extension, ratio)
        time.sleep(0.3)
    size = len(frames[0])
    print(f"{args.frames} binary frames of {size} bytes ({args.floats} float32), client offers deflate:")
    for name, (rate, extension, ratio) in results.items():
        shown = f", compressed to {ratio:.2f} of their size" if ratio else ""
        print(f"  {name:12s} {rate:8.0f} frames/s  negotiated: {extension or 'nothing'}{shown}")
    return results


if __name__ == "__main__":
    main()
