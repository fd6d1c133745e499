"""Edge protections as plain ASGI middleware: body size caps, Host and Origin checks, CSP.

- Every request body is capped at ``max_body_bytes`` (413 naming the limit),
  counted as it streams in, whatever Content-Length claims.
- When bound to loopback, a ``Host`` that is not a loopback name is refused
  (421): a DNS-rebinding page cannot reach the server through its own name.
- Websocket handshakes are checked against the origin allow-list in the
  websocket route itself: Starlette's CORS middleware does not cover them.
- Pages get a Content-Security-Policy that allows only the app's own scripts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException

__all__ = ["LOOPBACK_NAMES", "EdgeMiddleware", "origin_allowed"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}
# 'self' covers the page's own websocket (ws://same-host) in CSP level 3 browsers.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from jsDelivr and start them with an
# inline script: only those pages get this looser policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class _BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-body. An HTTPException so that FastAPI's body parsing passes it
    on as a 413 instead of wrapping it into "400 There was an error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit max_body_bytes = {limit}")


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]")[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same origin as the server, or on the allow-list; clients without an Origin (scripts) pass."""
    if origin is None:
        return True
    if origin in allowed or "*" in allowed:
        return True
    parts = urlsplit(origin)
    return host is not None and parts.netloc == host and parts.scheme in ("http", "https")


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, check_host: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.check_host = check_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.check_host and _host_name(headers.get("host", "")) not in LOOPBACK_NAMES:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _json(send, 421, f"Host {headers.get('host')!r} is not allowed: use 127.0.0.1 or localhost")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _json(
                send,
                413,
                f"request body of {declared} bytes exceeds the limit max_body_bytes = {self.max_body_bytes}",
            )
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        path = scope.get("path", "")
        policy = DOCS_CSP if path.startswith(("/docs", "/redoc")) else CSP

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [
                    (b"content-security-policy", policy.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, counted_receive, with_headers)
        except _BodyTooLarge as exc:
            if not started:
                await _json(send, 413, exc.detail)


async def _json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
