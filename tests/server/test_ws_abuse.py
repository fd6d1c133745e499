"""Malformed websocket traffic gets an error message or a close code, never a crash; bystanders watch on."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from procserver import ServerProcess, bearer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.frames import decode_frame

WAIT_SECONDS = 15.0
MAX_VIEWERS = 4
MAX_MESSAGE = 4096


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        "BACKPROP_LAB_MAX_VIEWERS_PER_SESSION": str(MAX_VIEWERS),
        "BACKPROP_LAB_MAX_WS_MESSAGE_BYTES": str(MAX_MESSAGE),
    }
    process = ServerProcess(None, env=env).start()
    yield process
    assert process.terminate()
    assert "Traceback" not in process.output, process.output


@pytest.fixture
def session(server: ServerProcess) -> Iterator[tuple[str, str]]:
    """A session playing slowly (so frames keep coming), deleted afterwards."""
    with server.http() as http:
        body = http.post("/api/sessions", json={"data": {"dataset": "circle", "samples": 60}}).json()
        sid, token = body["id"], body["control_token"]
        assert (
            http.post(f"/api/sessions/{sid}/play", json={"speed": 200}, headers=bearer(token)).status_code
            == 200
        )
    yield sid, token
    with server.http() as http:
        http.delete(f"/api/sessions/{sid}", headers=bearer(token))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
    if isinstance(raw, bytes):
        header, _ = decode_frame(raw)
        return header
    message: dict[str, Any] = json.loads(raw)
    return message


async def answer(
    ws: ClientConnection, want: Callable[[dict[str, Any]], bool], limit: int = 2000
) -> dict[str, Any]:
    for _ in range(limit):
        message = await receive(ws)
        if want(message):
            return message
    raise AssertionError("no such message")


def with_id(wanted: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message.get("id") == wanted


def is_error(message: dict[str, Any]) -> bool:
    return message.get("type") == "error"


async def closed_with(ws: ClientConnection, limit: int = 100_000) -> int | None:
    try:
        for _ in range(limit):
            await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    raise AssertionError("the socket stayed open")


async def still_streaming(ws: ClientConnection) -> int:
    """Wait for two frames with increasing step from a bystander; returns the last step."""
    first = await answer(ws, lambda m: m.get("type") == "frame")
    second = await answer(ws, lambda m: m.get("type") == "frame" and m["step"] > first["step"])
    step: int = second["step"]
    return step


def with_bystander(server: ServerProcess, sid: str, abuse: Callable[[str], Awaitable[None]]) -> None:
    """Run ``abuse(url)`` while another viewer watches; that viewer must keep getting frames."""
    url = f"{server.ws_base}/ws/sessions/{sid}"

    async def scenario() -> None:
        async with connect(url, compression=None, max_size=None) as bystander:
            assert (await receive(bystander))["type"] == "hello"
            before = await still_streaming(bystander)
            await abuse(url)
            assert await still_streaming(bystander) > before
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get(f"/api/sessions/{sid}")).status_code == 200

    asyncio.run(scenario())


def opened(url: str) -> Any:
    return connect(url, compression=None, max_size=None, open_timeout=WAIT_SECONDS)


# --- malformed messages: an error message, and the socket stays usable ----------------------

GARBAGE = [
    pytest.param("not json at all", "JSON", id="not json"),
    pytest.param("[1, 2, 3]", "JSON objects", id="an array"),
    pytest.param('"a string"', "JSON objects", id="a string"),
    pytest.param("{}", "unknown message type", id="no type"),
    pytest.param('{"type": "launch_missiles"}', "unknown message type", id="unknown type"),
    pytest.param('{"type": 7}', "unknown message type", id="a number as type"),
    pytest.param('{"type": "subscribe", "fps": "fast"}', "fps", id="fps not a number"),
    pytest.param('{"type": "subscribe", "fps": 1e309}', "fps", id="infinite fps"),
    pytest.param('{"type": "subscribe", "heatmaps": {"output": 100000}}', "heatmaps", id="huge heatmap"),
    pytest.param('{"type": "subscribe", "tensors": ["secrets"]}', "tensors", id="unknown tensor"),
    pytest.param('{"type": "subscribe", "colour": "red"}', "unknown field", id="unknown field"),
    pytest.param('{"type": "control", "action": "explode", "token": 5}', "token", id="token not a string"),
    pytest.param('{"type": "auth", "token": ["a"]}', "token does not match", id="auth with a list"),
    pytest.param('{"type": "ping", "id": {"nested": true}}', "", id="odd id"),
    pytest.param("[" * 1500 + "]" * 1500, "JSON", id="deeply nested array"),
    pytest.param('{"id": ' + "[" * 1500 + "]" * 1500 + ', "type": "ping"}', "", id="deeply nested id"),
    pytest.param("\x00\x01\x02\ufffd", "JSON", id="control characters"),
]


@pytest.mark.parametrize(("text", "says"), GARBAGE)
def test_a_malformed_text_message_gets_an_error_and_the_socket_keeps_working(
    server: ServerProcess, session: tuple[str, str], text: str, says: str
) -> None:
    sid, _ = session

    async def abuse(url: str) -> None:
        async with opened(url) as ws:
            assert (await receive(ws))["type"] == "hello"
            await ws.send(text)
            reply = await answer(ws, lambda m: m.get("type") in ("error", "pong"))
            if says:
                assert reply["type"] == "error" and reply["code"] in (400, 403) and says in reply["message"]
            await ws.send(json.dumps({"type": "ping"}))
            assert (await answer(ws, lambda m: m.get("type") == "pong"))["type"] == "pong"

    with_bystander(server, sid, abuse)


def test_binary_garbage_gets_an_error_and_the_socket_keeps_working(
    server: ServerProcess, session: tuple[str, str]
) -> None:
    sid, _ = session

    async def abuse(url: str) -> None:
        async with opened(url) as ws:
            await receive(ws)
            for blob in (b"\x00" * 10, bytes(range(256)), b'{"type": "ping"}'):
                await ws.send(blob)
                reply = await answer(ws, is_error)
                assert reply["code"] == 400 and "binary" in reply["message"]
            await ws.send(json.dumps({"type": "ping"}))
            await answer(ws, lambda m: m.get("type") == "pong")

    with_bystander(server, sid, abuse)


def test_a_message_over_the_size_limit_closes_that_socket_with_1009(
    server: ServerProcess, session: tuple[str, str]
) -> None:
    sid, _ = session

    async def abuse(url: str) -> None:
        for huge in (
            "x" * (MAX_MESSAGE + 1),
            b"\x00" * (10 * MAX_MESSAGE),
            json.dumps({"type": "ping", "pad": "y" * 10**6}),
        ):
            async with opened(url) as ws:
                await receive(ws)
                await ws.send(huge)
                assert await closed_with(ws) == 1009

    with_bystander(server, sid, abuse)


# --- control without the right token -------------------------------------------------------


def test_commands_without_the_token_are_refused_and_change_nothing(
    server: ServerProcess, session: tuple[str, str]
) -> None:
    sid, _ = session
    with server.http() as http:
        config = http.get(f"/api/sessions/{sid}").json()["config"]

    async def abuse(url: str) -> None:
        async with opened(url) as ws:
            await receive(ws)
            for n, action in enumerate(("pause", "reset", "step", "set", "recover", "play")):
                command: dict[str, Any] = {
                    "type": "control",
                    "action": action,
                    "id": n,
                    "training": {"optimizer": {"lr": 9.0}},
                }
                await ws.send(json.dumps(command))
                refused = await answer(ws, with_id(n))
                assert refused["type"] == "error" and refused["code"] == 401, refused
                await ws.send(json.dumps({**command, "id": 100 + n, "token": "guessed"}))
                refused = await answer(ws, with_id(100 + n))
                assert refused["type"] == "error" and refused["code"] == 403, refused
            await ws.send(json.dumps({"type": "auth", "token": "guessed", "id": "a"}))
            assert (await answer(ws, with_id("a")))["code"] == 403
            await ws.send(json.dumps({"type": "subscribe", "lockstep": True, "id": "b"}))
            assert (await answer(ws, with_id("b")))["code"] == 403

    with_bystander(server, sid, abuse)  # the bystander's frames kept coming: nothing paused it
    with server.http() as http:
        info = http.get(f"/api/sessions/{sid}").json()
    assert info["playing"] is True and info["lockstep"] is False and info["config"] == config


# --- floods ----------------------------------------------------------------------------------


def test_a_flood_of_commands_is_throttled_then_closed_with_1008(
    server: ServerProcess, session: tuple[str, str]
) -> None:
    sid, _ = session

    async def abuse(url: str) -> None:
        async with opened(url) as ws:
            await receive(ws)
            for _ in range(80):  # past the burst allowance: the rest are refused, one by one
                await ws.send('{"type": "ping"}')
            throttled = await answer(ws, is_error)
            assert throttled["code"] == 429 and "commands per second" in throttled["message"]
            try:
                for _ in range(3000):  # keeps on regardless: the server hangs up
                    await ws.send('{"type": "ping"}')
            except ConnectionClosed:
                pass
            try:
                for _ in range(100_000):
                    await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1008
                assert "too many commands" in closed.rcvd.reason

    with_bystander(server, sid, abuse)


def test_viewers_past_the_limit_are_turned_away_with_a_message(
    server: ServerProcess, session: tuple[str, str]
) -> None:
    sid, _ = session

    async def abuse(url: str) -> None:
        async with contextlib.AsyncExitStack() as stack:  # with the bystander: the limit
            for _ in range(MAX_VIEWERS - 1):
                ws = await stack.enter_async_context(opened(url))
                assert (await receive(ws))["type"] == "hello"
            async with opened(url) as extra:
                refused = await receive(extra)
                assert refused["type"] == "error" and refused["code"] == 429
                assert "max_viewers_per_session" in refused["message"]
                assert await closed_with(extra) == 1013

    with_bystander(server, sid, abuse)


def test_connections_opened_and_dropped_in_a_hurry_leave_no_viewer_behind(
    server: ServerProcess, session: tuple[str, str]
) -> None:
    sid, _ = session

    async def abuse(url: str) -> None:
        for _ in range(30):
            ws = await connect(url, compression=None, max_size=None)
            ws.transport.abort()  # gone without a close frame
        for _ in range(200):  # the server notices each one, and frees its place
            async with httpx.AsyncClient(base_url=server.url) as http:
                viewers = (await http.get(f"/api/sessions/{sid}")).json()["viewers"]
            if viewers == 1:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{viewers} viewers still counted")

    with_bystander(server, sid, abuse)


def test_a_viewer_of_a_deleted_session_hears_about_it_and_is_closed(server: ServerProcess) -> None:
    with server.http() as http:
        body = http.post("/api/sessions", json={"data": {"dataset": "xor"}}).json()
    sid, token = body["id"], body["control_token"]

    async def scenario() -> None:
        async with opened(f"{server.ws_base}/ws/sessions/{sid}") as ws:
            await receive(ws)
            async with httpx.AsyncClient(base_url=server.url) as http:
                assert (await http.delete(f"/api/sessions/{sid}", headers=bearer(token))).status_code == 200
            await answer(ws, lambda m: m.get("event") == "deleted")
            assert await closed_with(ws) == 1000
        async with opened(f"{server.ws_base}/ws/sessions/{sid}") as ws:
            gone = await receive(ws)
            assert gone["type"] == "error" and gone["code"] == 404
            assert await closed_with(ws) == 4404

    asyncio.run(scenario())
