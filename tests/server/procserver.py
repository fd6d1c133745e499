"""A server subprocess with options of the test's choosing (imported by the persistence, security and
abuse tests): its own ``--data-dir``, a fixed port to restart on, extra environment settings.

The shared ``live_server`` fixture (tests/conftest.py) is one memory-only server for the whole run;
tests that kill, restart or reconfigure a server start their own with :class:`ServerProcess`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0
EXIT_SECONDS = 15.0  # the longest a test waits for the process to end


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """``python -m server.cli serve`` on 127.0.0.1; its output is kept in :attr:`output`."""

    def __init__(
        self,
        data_dir: Path | None,
        port: int | None = None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        self.env = env or {}
        self.args = args
        self._lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        store = ["--data-dir", str(self.data_dir)] if self.data_dir is not None else ["--memory"]
        command = [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "info",
            *store,
            *self.args,
        ]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1", **self.env}
        self._lines = []
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self._reader.start()
        self._wait_ready()
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self._lines.append(line)

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS:g} s:\n{self.output}")

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def http(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def terminate(self) -> bool:
        """SIGTERM; True when the process then shut down cleanly (fails past EXIT_SECONDS).

        uvicorn runs the whole shutdown and then re-raises the signal it caught, so a clean exit
        is status -SIGTERM (or 0), with uvicorn's closing line in the output.
        """
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(EXIT_SECONDS)
        self._reader.join(EXIT_SECONDS)
        return code in (0, -signal.SIGTERM) and "Finished server process" in self.output

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(EXIT_SECONDS)
        self._reader.join(EXIT_SECONDS)

    def ensure_stopped(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(EXIT_SECONDS)
        if self.process is not None:
            self._reader.join(EXIT_SECONDS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
