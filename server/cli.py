"""``backprop-lab serve``: start the app on uvicorn, loopback by default, and print the URL.

Every uvicorn option that decides how websockets behave is pinned here rather than left to
uvicorn's defaults, which have changed between releases (see :func:`uvicorn_options`).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.settings import Settings

__all__ = ["build_parser", "main", "settings_from", "uvicorn_options"]

WS_PING_SECONDS = 20.0
GRACEFUL_SHUTDOWN_SECONDS = 3


def _pin_blas_threads() -> None:
    # Measured: with 2 BLAS threads and the other core busy, sub-millisecond steps stalled
    # for 40–120 ms. Must happen before NumPy loads.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def keep_freed_memory_mapped() -> bool:
    """Ask glibc to keep freed memory mapped instead of returning it to the kernel at once.

    Arrays over 128 KB (a 100×100 heatmap's hidden layer is 640 KB) are otherwise mmapped fresh on
    each allocation and every page faults on first touch; in this machine's VM that made one
    heatmap forward pass 3× slower (1.6 ms instead of 0.5 ms; docs/performance.md). Freed memory
    stays with the process up to the trim threshold, so RSS no longer drops after a peak. A no-op
    (False) where the C library has no ``mallopt``.
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 64 << 20))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backprop-lab", description="Watch backpropagation happen.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the web app")
    serve.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--open", action="store_true", help="open the page in a browser")
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where sessions are stored (default $XDG_DATA_HOME/backprop-lab or ~/.local/share/backprop-lab)",
    )
    serve.add_argument("--memory", action="store_true", help="keep sessions in memory only")
    serve.add_argument(
        "--checkpoint-every-steps",
        type=int,
        default=None,
        metavar="K",
        help="while training, checkpoint each session every K steps (default 5000)",
    )
    serve.add_argument(
        "--checkpoint-every-seconds",
        type=float,
        default=None,
        metavar="T",
        help="… or every T seconds, whichever comes first (default 10)",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=None,
        help="another origin allowed to open websockets and (CORS) call the API; repeatable",
    )
    serve.add_argument("--log-level", default="warning")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the flags; anything not given comes from BACKPROP_LAB_* variables or defaults."""
    from server.settings import Settings

    overrides: dict[str, Any] = {}
    for flag, field in (
        ("host", "host"),
        ("port", "port"),
        ("data_dir", "data_dir"),
        ("checkpoint_every_steps", "checkpoint_every_steps"),
        ("checkpoint_every_seconds", "checkpoint_every_seconds"),
        ("allow_origin", "allowed_origins"),
    ):
        value = getattr(args, flag)
        if value is not None:
            overrides[field] = value
    if args.memory:
        overrides["data_dir"] = None
    return Settings(**overrides)


def uvicorn_options(settings: Settings, log_level: str) -> dict[str, Any]:
    """The keyword arguments for ``uvicorn.Config``, websocket behaviour pinned (docs/security.md)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        # The sans-I/O websockets implementation: its shutdown closes sockets with 1012.
        "ws": "websockets-sansio",
        # Measured: deflate cut binary frame throughput 3–76× and float32 data barely compresses.
        "ws_per_message_deflate": False,
        # Client messages are small JSON commands; anything larger is closed with 1009.
        "ws_max_size": settings.max_ws_message_bytes,
        # A peer that vanished without a close frame is found within ping + timeout seconds.
        "ws_ping_interval": WS_PING_SECONDS,
        "ws_ping_timeout": WS_PING_SECONDS,
        # Ctrl-C / SIGTERM: open connections get this long before they are cut.
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "server_header": False,
        # Proxy headers would let any client claim another address; the server is not behind one.
        "proxy_headers": False,
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _pin_blas_threads()
    keep_freed_memory_mapped()
    import uvicorn

    from server.app import create_app

    settings = settings_from(args)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(settings, args.log_level)))

    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        for srv in getattr(server, "servers", []):
            for sock in srv.sockets:
                host, port = sock.getsockname()[:2]
                shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
                url = f"http://{shown}:{port}/"
                print(f"backprop-lab is running at {url}  (Ctrl-C to stop)", flush=True)
                if args.open:
                    import webbrowser

                    webbrowser.open(url)
                break
            break

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
