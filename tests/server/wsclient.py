"""Helpers for talking to the live server over websockets (imported by the server tests)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from server.frames import decode_frame

WAIT_SECONDS = 15.0  # the longest any test waits for one expected message


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Socket:
    """A websocket client that decodes what arrives: text → dict, binary → (header, arrays)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The next message; a binary frame comes back as its header with ``arrays`` decoded."""
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(raw, bytes):
            header, arrays = decode_frame(raw)
            return {**header, "specs": header.get("arrays", []), "arrays": arrays, "bytes": len(raw)}
        message: dict[str, Any] = json.loads(raw)
        return message

    async def receive_until(
        self, want: Any, timeout: float = WAIT_SECONDS, limit: int = 5000
    ) -> dict[str, Any]:
        """Read until ``want(message)`` is true; fails after ``timeout`` seconds or ``limit`` messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for _ in range(limit):
            message = await self.receive(max(0.01, deadline - loop.time()))
            if want(message):
                return message
        raise AssertionError(f"no matching message among {limit}")

    async def reply_to(self, message: dict[str, Any], timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """Send a message carrying an ``id``; return the reply (ack, error, subscribed, pong) echoing it."""
        await self.send(message)
        return await self.receive_until(
            lambda m: (
                m.get("id") == message["id"] and m.get("type") in ("ack", "error", "subscribed", "pong")
            ),
            timeout,
        )


def ws_url(server_url: str, session_id: str) -> str:
    return "ws" + server_url[len("http") :] + f"/ws/sessions/{session_id}"


def open_socket(server_url: str, session_id: str, **kwargs: Any) -> Any:
    """``async with open_socket(url, id) as ws`` — no compression, as browsers are told.

    A client that stopped reading cannot see the server's answer to its close frame, so leaving
    such a socket waits ``close_timeout``: kept short, the tests never rely on a graceful close.
    """
    options: dict[str, Any] = {
        "compression": None,
        "max_size": None,
        "open_timeout": WAIT_SECONDS,
        "close_timeout": 1,
    }
    return connect(ws_url(server_url, session_id), **{**options, **kwargs})


def run(coroutine: Any) -> Any:
    """Run one test's async body to completion on a fresh event loop."""
    return asyncio.run(coroutine)
