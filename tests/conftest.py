"""Fixtures shared by every test package.

``live_server`` / ``server_url`` start the real server (``python -m server.cli serve``) once per test
run on a free loopback port, exactly as a user would; tests talk to it over HTTP and websockets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30.0
SHUTDOWN_SECONDS = 10.0


@dataclass(frozen=True)
class LiveServer:
    url: str  # e.g. http://127.0.0.1:43121, no trailing slash
    pid: int
    process: subprocess.Popen[bytes]

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before it answered")
        try:
            if httpx.get(f"{url}/api/options", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer GET /api/options within {STARTUP_SECONDS:g} s")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real server as a subprocess on 127.0.0.1 at a free port, sessions in memory only."""
    port = _free_port()
    # One server serves the whole suite, and page tests create sessions they never delete:
    # room for all of them, so no test meets a limit another test used up.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "BACKPROP_LAB_MAX_SESSIONS": "5000"}
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--memory"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process)
        yield LiveServer(url, process.pid, process)
    finally:
        process.terminate()
        try:
            process.wait(SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(SHUTDOWN_SECONDS)


@pytest.fixture(scope="session")
def server_url(live_server: LiveServer) -> str:
    """Base URL of the live server, e.g. ``http://127.0.0.1:43121`` (no trailing slash)."""
    return live_server.url


def _small_config() -> dict[str, Any]:
    config: dict[str, Any] = {
        "model": {
            "input_shape": [2],
            "layers": [
                {"type": "dense", "units": 4, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "loss": "bce",
        },
        "data": {
            "dataset": "circle",
            "samples": 100,
            "noise": 0.1,
            "train_fraction": 0.5,
            "features": ["x1", "x2"],
        },
        "training": {"optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 10},
        "seed": 3,
    }
    return config


@pytest.fixture
def small_config() -> dict[str, Any]:
    """A fresh copy of a quick playground config: 2-4-1 tanh/sigmoid on 100 circle points, batch 10."""
    return _small_config()


SessionMaker = Callable[..., tuple[str, str]]


@pytest.fixture
def make_session(server_url: str) -> Iterator[SessionMaker]:
    """``make_session(config=None) -> (id, control_token)``; every session made is deleted afterwards."""
    made: list[tuple[str, str]] = []
    with httpx.Client(base_url=server_url, timeout=30.0) as http:

        def make(config: dict[str, Any] | None = None) -> tuple[str, str]:
            response = http.post("/api/sessions", json=_small_config() if config is None else config)
            assert response.status_code == 201, response.text
            body = response.json()
            made.append((body["id"], body["control_token"]))
            return body["id"], body["control_token"]

        yield make
        for session_id, token in made:
            http.delete(f"/api/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"})
