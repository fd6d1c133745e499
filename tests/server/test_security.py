"""No one in where they don't belong: tokens, origins, hosts, CORS, body caps, CSP, pinned socket options."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from procserver import REPO_ROOT, ServerProcess, bearer
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server import api
from server.cli import build_parser, settings_from, uvicorn_options
from server.client import Client
from server.settings import Settings

WAIT_SECONDS = 15.0
Maker = Callable[..., tuple[str, str]]


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> ServerProcess:
        server = ServerProcess(None, env=env, args=args)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.ensure_stopped()


def raw_handshake(port: int, path: str, headers: dict[str, str]) -> str:
    """Send a websocket upgrade request by hand (to set any Host) and return the status line."""
    lines = [
        f"GET {path} HTTP/1.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


# --- control tokens ------------------------------------------------------------------------


def test_control_tokens_are_32_random_bytes_and_differ_between_sessions(make_session: Maker) -> None:
    tokens = [make_session()[1] for _ in range(3)]
    raw = [base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)) for t in tokens]
    assert [len(r) for r in raw] == [32, 32, 32]
    assert len(set(raw)) == 3


def test_tokens_are_compared_with_a_constant_time_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return a == b

    monkeypatch.setattr("secrets.compare_digest", spy)

    class Session:
        token = "right"

    assert api.token_matches(Session(), "right") is True  # type: ignore[arg-type]
    assert api.token_matches(Session(), "wrong") is False  # type: ignore[arg-type]
    assert calls == [(b"right", b"right"), (b"wrong", b"right")]


def test_a_token_in_the_query_string_authorizes_nothing(server_url: str, make_session: Maker) -> None:
    sid, token = make_session()
    with httpx.Client(base_url=server_url, timeout=30.0) as http:
        for query in (f"token={token}", f"control_token={token}", f"authorization=Bearer%20{token}"):
            response = http.post(f"/api/sessions/{sid}/step?{query}", json={"steps": 1})
            assert response.status_code == 401, query
        assert http.get(f"/api/sessions/{sid}").json()["step"] == 0
    with Client(server_url) as client:  # the "watch it in a browser" link a script prints
        assert token not in client.attach(sid, token).url


def test_no_control_token_ever_reaches_the_server_log(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(args=("--log-level", "debug"))
    with server.http() as http:
        created = http.post(
            "/api/sessions",
            json={
                "data": {"dataset": "xor"},
                "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]},
            },
        )
        sid, token = created.json()["id"], created.json()["control_token"]
        assert (
            http.post(f"/api/sessions/{sid}/step", json={"steps": 2}, headers=bearer(token)).status_code
            == 200
        )
        assert (
            http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer("x" + token)).status_code
            == 403
        )

    async def over_the_socket() -> None:
        async with connect(f"{server.ws_base}/ws/sessions/{sid}", compression=None, max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token, "id": 1}))
            await ws.send(json.dumps({"type": "control", "action": "step", "token": token, "id": 2}))
            await ws.send(json.dumps({"type": "control", "action": "step", "token": token + "x", "id": 3}))
            seen: set[Any] = set()
            for _ in range(200):
                raw = await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
                if isinstance(raw, str):
                    seen.add(json.loads(raw).get("id"))
                if {1, 2, 3} <= seen:
                    return

    asyncio.run(over_the_socket())
    assert server.terminate()
    assert "POST /api/sessions" in server.output  # the access log was on
    assert token not in server.output


# --- origins, hosts, CORS ----------------------------------------------------------------


def test_a_websocket_from_an_origin_on_the_allow_list_is_accepted_and_others_are_refused(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(args=("--allow-origin", "http://allowed.example"))
    with server.http() as http:
        sid = http.post("/api/sessions", json={"data": {"dataset": "xor"}}).json()["id"]
    url = f"{server.ws_base}/ws/sessions/{sid}"

    async def hello(origin: str) -> str:
        async with connect(url, origin=origin, compression=None, max_size=None) as ws:  # type: ignore[arg-type]
            message: str = json.loads(await asyncio.wait_for(ws.recv(), WAIT_SECONDS))["type"]
            return message

    assert asyncio.run(hello("http://allowed.example")) == "hello"
    assert asyncio.run(hello(server.url)) == "hello"  # its own origin
    for origin in ("http://evil.example", "null", f"http://localhost.evil.example:{server.port}"):
        with pytest.raises(InvalidStatus) as refused:
            asyncio.run(hello(origin))
        assert refused.value.response.status_code == 403, origin


def test_a_foreign_host_header_is_refused_on_loopback_against_dns_rebinding(
    server_url: str, make_session: Maker
) -> None:
    sid, _ = make_session()
    port = port_of(server_url)
    with httpx.Client(base_url=server_url, timeout=30.0) as http:
        refused = http.get("/api/sessions", headers={"host": f"rebound.evil.example:{port}"})
        assert refused.status_code == 421
        assert "not allowed" in refused.json()["detail"]
        assert http.get("/", headers={"host": "attacker.example"}).status_code == 421
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
            assert http.get("/api/sessions", headers={"host": host}).status_code == 200, host
    path = f"/ws/sessions/{sid}"
    assert " 403 " in raw_handshake(port, path, {"Host": f"rebound.evil.example:{port}"}) + " "
    assert " 101 " in raw_handshake(port, path, {"Host": f"localhost:{port}"}) + " "


def test_cors_headers_go_only_to_configured_origins(
    server_url: str, start_server: Callable[..., ServerProcess]
) -> None:
    preflight = {
        "origin": "http://allowed.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }
    with httpx.Client(base_url=server_url, timeout=30.0) as http:
        assert "access-control-allow-origin" not in http.options("/api/sessions", headers=preflight).headers
        assert (
            "access-control-allow-origin"
            not in http.get("/api/sessions", headers={"origin": "http://a.example"}).headers
        )
    server = start_server(args=("--allow-origin", "http://allowed.example"))
    with server.http() as http:
        answer = http.options("/api/sessions", headers=preflight)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "http://allowed.example"
        other = http.options("/api/sessions", headers={**preflight, "origin": "http://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "http://evil.example"


# --- body caps ---------------------------------------------------------------------------


def _routes(schema: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(method, path, takes a body) of every operation in the OpenAPI schema."""
    out = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                out.append((method.upper(), path, "requestBody" in operation))
    return out


def test_every_route_refuses_a_body_over_the_cap_with_413_however_it_is_sent(
    start_server: Callable[..., ServerProcess],
) -> None:
    cap = 4096
    server = start_server(env={"BACKPROP_LAB_MAX_BODY_BYTES": str(cap)})
    with server.http() as http:
        created = http.post("/api/sessions", json={"data": {"dataset": "xor"}}).json()
        sid, token = created["id"], created["control_token"]
        routes = _routes(http.get("/openapi.json").json())
        assert len(routes) >= 10
        headers = {**bearer(token), "content-type": "application/json"}
        oversized = b'{"x": [' + b"1," * cap + b"1]}"

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(oversized), 1000):
                yield oversized[start : start + 1000]

        for method, template, takes_body in routes:
            path = template.replace("{session_id}", sid)
            declared = http.request(method, path, content=oversized, headers=headers)
            assert declared.status_code == 413, (method, path, declared.text)
            assert f"max_body_bytes = {cap}" in declared.json()["detail"]
            if takes_body:  # a chunked body has no length up front: it is counted as it is read
                streamed = http.request(method, path, content=chunks(), headers=headers)
                assert streamed.status_code == 413, (method, path, streamed.text)
        assert http.get(f"/api/sessions/{sid}").status_code == 200  # nothing was deleted or changed
        assert http.get(f"/api/sessions/{sid}").json()["step"] == 0


# --- the page ------------------------------------------------------------------------------


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def test_the_page_may_run_only_its_own_scripts(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=30.0) as http:
        page = http.get("/")
        api_answer = http.get("/api/options")
        docs = http.get("/docs")
    assert page.status_code == 200
    policy = _directives(page.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "connect-src" in policy and all("*" not in s for s in policy["connect-src"])
    assert _directives(api_answer.headers["content-security-policy"])["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in docs.headers["content-security-policy"]  # only Swagger UI's page
    # …and the page needs nothing more: every script it loads is a file of its own.
    html = (REPO_ROOT / "frontend" / "index.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts
    for attributes, body in scripts:
        source = re.search(r'src="([^"]+)"', attributes)
        assert source is not None and not body.strip(), "inline scripts would be blocked"
        assert "//" not in source.group(1), "scripts come from the app itself, never a CDN"
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), "inline event handlers would be blocked"


# --- uvicorn's websocket options -----------------------------------------------------------


def test_uvicorn_websocket_options_are_pinned_not_left_to_defaults() -> None:
    settings = settings_from(build_parser().parse_args(["serve", "--memory"]))
    options = uvicorn_options(settings, "info")
    assert options["ws"] == "websockets-sansio"
    assert options["ws_per_message_deflate"] is False
    assert options["ws_max_size"] == Settings().max_ws_message_bytes
    assert options["ws_ping_interval"] > 0 and options["ws_ping_timeout"] > 0
    assert options["timeout_graceful_shutdown"] <= 5
    assert options["host"] == "127.0.0.1"


def test_a_client_offering_compression_gets_an_uncompressed_socket(
    server_url: str, make_session: Maker
) -> None:
    sid, _ = make_session()

    async def extensions() -> str | None:
        url = "ws" + server_url[4:] + f"/ws/sessions/{sid}"
        async with connect(url, compression="deflate", max_size=None) as ws:  # what browsers offer
            assert ws.response is not None
            await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
            return ws.response.headers.get("Sec-WebSocket-Extensions")

    assert asyncio.run(extensions()) is None
