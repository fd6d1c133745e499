"""Hostile and mistaken input: every case answers 4xx with a message naming the problem (or, on a
websocket, an error message or a close code), never a 5xx, and the server keeps training afterwards."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from wsclient import Socket, bearer, open_socket, run

Maker = Any

BASE: dict[str, Any] = {
    "model": {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 4, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
    },
    "data": {"dataset": "circle", "samples": 100},
    "training": {"optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 10},
    "seed": 0,
}


def config(**edits: Any) -> dict[str, Any]:
    """BASE with ``edits`` given as dotted paths, e.g. ``config(**{"model.loss": "hinge"})``."""
    result = copy.deepcopy(BASE)
    for path, value in edits.items():
        *parents, last = path.split(".")
        node: Any = result
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return result


def layers(*units_activation: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"type": "dense", "units": u, "activation": a} for u, a in units_activation]


@dataclass
class Case:
    id: str
    method: str
    path: str  # "{sid}" is filled in with a fresh session's id
    says: tuple[str, ...]  # words the error message must contain (case-insensitive)
    json: Any = None
    content: bytes | None = None  # raw body, sent as application/json
    status: int | None = None  # when None, any 4xx will do
    stepped: bool = field(default=False)  # step the session once before the request


def nan_lr(path: str = "/api/sessions") -> bytes:
    return json.dumps(config()).replace('"lr": 0.1', '"lr": NaN').encode()


NEW = "/api/sessions"
S = "/api/sessions/{sid}"

REST_CASES = [
    # --- wrong types ---
    Case(
        "units is a string",
        "POST",
        NEW,
        ("units",),
        json=config(**{"model.layers.0.units": "eight"}),
        status=422,
    ),
    Case(
        "lr is a string", "POST", NEW, ("lr",), json=config(**{"training.optimizer.lr": "fast"}), status=422
    ),
    Case(
        "layers is an object",
        "POST",
        NEW,
        ("layers",),
        json=config(**{"model.layers": {"dense": 4}}),
        status=422,
    ),
    Case("seed is a float", "POST", NEW, ("seed",), json=config(seed=1.5), status=422),
    Case("body is a list", "POST", NEW, ("body",), json=[1, 2, 3], status=422),
    # --- negative and zero sizes ---
    Case("negative units", "POST", NEW, ("units",), json=config(**{"model.layers.0.units": -3}), status=422),
    Case("zero units", "POST", NEW, ("units",), json=config(**{"model.layers.0.units": 0}), status=422),
    Case("negative samples", "POST", NEW, ("samples",), json=config(**{"data.samples": -10}), status=422),
    Case(
        "zero batch size", "POST", NEW, ("batch_size",), json=config(**{"training.batch_size": 0}), status=422
    ),
    Case("negative lr", "POST", NEW, ("lr",), json=config(**{"training.optimizer.lr": -0.1}), status=422),
    Case("negative seed", "POST", NEW, ("seed",), json=config(seed=-1), status=422),
    # --- huge sizes over the limits ---
    Case(
        "units over max_units",
        "POST",
        NEW,
        ("max_units", "100000"),
        json=config(**{"model.layers.0.units": 100_000}),
    ),
    Case(
        "layers over max_layers",
        "POST",
        NEW,
        ("max_layers", "40"),
        json=config(**{"model.layers": layers(*[(2, "tanh")] * 39, (1, "sigmoid"))}),
    ),
    Case(
        "parameters over max_parameters",
        "POST",
        NEW,
        ("max_parameters",),
        json=config(
            **{"model.layers": layers((1024, "tanh"), (1024, "tanh"), (1024, "tanh"), (1, "sigmoid"))}
        ),
    ),
    Case(
        "samples over max_samples",
        "POST",
        NEW,
        ("max_samples", "1000000"),
        json=config(**{"data.samples": 1_000_000}),
    ),
    Case(
        "batch over max_batch_size",
        "POST",
        NEW,
        ("max_batch_size", "100000"),
        json=config(**{"training.batch_size": 100_000}),
    ),
    Case(
        "inline rows over max_samples",
        "POST",
        NEW,
        ("max_samples",),
        json=config(data={"x": [[0.0, 0.0]] * 20_001, "y": [[0.0]] * 20_001}),
    ),
    # --- NaN and infinity, as raw JSON text ---
    Case("NaN lr", "POST", NEW, ("lr", "finite"), content=nan_lr(), status=422),
    Case(
        "Infinity lr",
        "POST",
        NEW,
        ("lr", "finite"),
        content=json.dumps(config()).replace('"lr": 0.1', '"lr": Infinity').encode(),
        status=422,
    ),
    Case(
        "NaN noise",
        "POST",
        NEW,
        ("noise",),
        content=json.dumps(config()).replace('"samples": 100', '"samples": 100, "noise": NaN').encode(),
        status=422,
    ),
    # --- unknown names ---
    Case(
        "unknown layer type",
        "POST",
        NEW,
        ("transformer",),
        json=config(**{"model.layers.0": {"type": "transformer", "units": 4}}),
        status=422,
    ),
    Case(
        "unknown activation",
        "POST",
        NEW,
        ("swishy",),
        json=config(**{"model.layers.0.activation": "swishy"}),
        status=422,
    ),
    Case("unknown loss", "POST", NEW, ("loss",), json=config(**{"model.loss": "hinge"}), status=422),
    Case(
        "unknown optimizer",
        "POST",
        NEW,
        ("optimizer",),
        json=config(**{"training.optimizer": {"name": "lbfgs", "lr": 0.1}}),
        status=422,
    ),
    Case(
        "unknown dataset",
        "POST",
        NEW,
        ("mnist-huge",),
        json=config(data={"dataset": "mnist-huge"}),
        status=422,
    ),
    Case("unknown top-level field", "POST", NEW, ("epochs",), json=config(epochs=10), status=422),
    Case(
        "unknown layer field",
        "POST",
        NEW,
        ("dropout",),
        json=config(**{"model.layers.0.dropout": 0.5}),
        status=422,
    ),
    # --- invalid combinations ---
    Case(
        "bce with a softmax output",
        "POST",
        NEW,
        ("bce", "sigmoid"),
        json=config(**{"model.layers.1": {"type": "dense", "units": 2, "activation": "softmax"}}),
        status=422,
    ),
    Case(
        "cross_entropy with a sigmoid output",
        "POST",
        NEW,
        ("cross_entropy", "softmax"),
        json=config(**{"model.loss": "cross_entropy"}),
        status=422,
    ),
    Case(
        "softmax in a hidden layer",
        "POST",
        NEW,
        ("softmax",),
        json=config(**{"model.layers.0.activation": "softmax", "model.loss": "mse"}),
        status=422,
    ),
    Case(
        "input shape unlike the data",
        "POST",
        NEW,
        ("input_shape",),
        json=config(**{"model.input_shape": [3]}),
        status=422,
    ),
    Case(
        "conv2d on flat input",
        "POST",
        NEW,
        ("conv2d",),
        json=config(**{"model.layers.0": {"type": "conv2d", "filters": 2, "kernel": 3}}),
        status=422,
    ),
    Case(
        "beta1 of 1",
        "POST",
        NEW,
        ("beta1",),
        json=config(**{"training.optimizer": {"name": "adam", "lr": 0.01, "beta1": 1.0}}),
        status=422,
    ),
    Case(
        "ragged inline x",
        "POST",
        NEW,
        ("x",),
        json=config(data={"x": [[0.0, 1.0], [2.0]], "y": [[0.0], [1.0]]}),
        status=422,
    ),
    Case(
        "inline x and y of different lengths",
        "POST",
        NEW,
        ("y",),
        json=config(data={"x": [[0.0, 1.0], [2.0, 3.0]], "y": [[0.0]]}),
        status=422,
    ),
    # --- malformed and oversized bodies ---
    Case("malformed JSON", "POST", NEW, ("json",), content=b'{"model": {"layers": [', status=422),
    Case("empty body on create", "POST", NEW, ("body",), content=b"", status=422),
    Case(
        "body over max_body_bytes",
        "POST",
        NEW,
        ("max_body_bytes",),
        content=b'{"seed": 0, "pad": "' + b"x" * (9 * 1024 * 1024) + b'"}',
        status=413,
    ),
    Case(
        "import of garbage",
        "POST",
        "/api/sessions/import",
        ("session",),
        content=b"\x00\xffnot json",
        status=422,
    ),
    Case(
        "import of a foreign document",
        "POST",
        "/api/sessions/import",
        ("format",),
        json={"format": "something-else", "version": 1},
        status=422,
    ),
    # --- steps ---
    Case("zero steps", "POST", S + "/step", ("steps",), json={"steps": 0}, status=422),
    Case("negative steps", "POST", S + "/step", ("steps",), json={"steps": -5}, status=422),
    Case("fractional steps", "POST", S + "/step", ("steps",), json={"steps": 1.5}, status=422),
    Case("steps as text", "POST", S + "/step", ("steps",), json={"steps": "ten"}, status=422),
    Case(
        "steps over max_steps_per_request",
        "POST",
        S + "/step",
        ("max_steps_per_request", "10000001"),
        json={"steps": 10_000_001},
        status=413,
    ),
    Case(
        "unknown field in step", "POST", S + "/step", ("repeat",), json={"steps": 1, "repeat": 3}, status=422
    ),
    # --- live changes ---
    Case(
        "NaN lr in PATCH",
        "PATCH",
        S,
        ("lr", "finite"),
        content=b'{"training": {"optimizer": {"lr": NaN}}}',
        status=422,
    ),
    Case(
        "negative batch size in PATCH",
        "PATCH",
        S,
        ("batch_size",),
        json={"training": {"batch_size": -1}},
        status=422,
    ),
    Case(
        "batch over max_batch_size in PATCH",
        "PATCH",
        S,
        ("max_batch_size", "100000"),
        json={"training": {"batch_size": 100_000}},
        status=422,
    ),
    Case(
        "one step's batch over max_batch_size",
        "POST",
        S + "/step",
        ("max_batch_size", "100000"),
        json={"steps": 1, "batch_size": 100_000},
        status=422,
    ),
    Case(
        "unknown field in PATCH",
        "PATCH",
        S,
        ("momentum_schedule",),
        json={"training": {"momentum_schedule": 1}},
        status=422,
    ),
    Case("negative play speed", "POST", S + "/play", ("speed",), json={"speed": -1}, status=422),
    Case("zero max_steps for play", "POST", S + "/play", ("max_steps",), json={"max_steps": 0}, status=422),
    Case("negative lr to recover", "POST", S + "/recover", ("lr",), json={"lr": -1}, status=422),
    # --- parameters ---
    Case(
        "W of the wrong shape",
        "PUT",
        S + "/params",
        ("shape",),
        json={"layers": [{"W": [[0.0] * 4] * 3, "b": [0.0] * 4}, {"W": [[0.0]] * 4, "b": [0.0]}]},
        status=422,
    ),
    Case(
        "a layer missing from params",
        "PUT",
        S + "/params",
        ("layer",),
        json={"layers": [{"W": [[0.0] * 4] * 2, "b": [0.0] * 4}]},
        status=422,
    ),
    Case(
        "an unknown parameter name",
        "PUT",
        S + "/params",
        ("Q",),
        json={"layers": [{"W": [[0.0] * 4] * 2, "b": [0.0] * 4, "Q": [1.0]}, {"W": [[0.0]] * 4, "b": [0.0]}]},
        status=422,
    ),
    Case(
        "NaN in params",
        "PUT",
        S + "/params",
        ("finite",),
        content=b'{"layers": [{"W": [[NaN, 0, 0, 0], [0, 0, 0, 0]], "b": [0, 0, 0, 0]}, '
        b'{"W": [[0], [0], [0], [0]], "b": [0]}]}',
        status=422,
    ),
    Case(
        "params as text",
        "PUT",
        S + "/params",
        ("W",),
        json={"layers": [{"W": "zeros", "b": [0.0] * 4}, {"W": [[0.0]] * 4, "b": [0.0]}]},
        status=422,
    ),
    # --- predict ---
    Case(
        "predict with three features",
        "POST",
        S + "/predict",
        ("shape",),
        json={"x": [[1.0, 2.0, 3.0]]},
        status=422,
    ),
    Case(
        "predict with ragged rows",
        "POST",
        S + "/predict",
        ("x",),
        json={"x": [[1.0, 2.0], [3.0]]},
        status=422,
    ),
    Case("predict with no rows", "POST", S + "/predict", ("x",), json={"x": []}, status=422),
    Case("predict with text", "POST", S + "/predict", ("x",), json={"x": [["a", "b"]]}, status=422),
    Case(
        "predict over max_predict_rows",
        "POST",
        S + "/predict",
        ("max_predict_rows",),
        json={"x": [[0, 0]] * 100_001},
        status=413,
    ),
    # --- explain ---
    Case(
        "explain a layer that does not exist",
        "GET",
        S + "/explain?layer=9&param=W&index=0,0",
        ("layer",),
        stepped=True,
    ),
    Case(
        "explain an index out of range",
        "GET",
        S + "/explain?layer=0&param=W&index=5,9",
        ("index",),
        stepped=True,
    ),
    Case(
        "explain an index that is not numbers",
        "GET",
        S + "/explain?layer=0&param=W&index=a,b",
        ("index",),
        stepped=True,
        status=422,
    ),
    Case(
        "explain an unknown parameter", "GET", S + "/explain?layer=0&param=Q&index=0,0", ("Q",), stepped=True
    ),
    Case("explain a node that does not exist", "GET", S + "/explain?layer=0&node=99", ("99",), stepped=True),
    Case("explain a negative layer", "GET", S + "/explain?layer=-1&node=0", ("layer",), status=422),
    Case(
        "explain with neither param nor node",
        "GET",
        S + "/explain?layer=0",
        ("param",),
        stepped=True,
        status=422,
    ),
    Case("history with max_points 1", "GET", S + "/history?max_points=1", ("max_points",), status=422),
    # --- unknown ids ---
    Case("read an unknown id", "GET", "/api/sessions/no-such-id", ("no-such-id",), status=404),
    Case(
        "step an unknown id",
        "POST",
        "/api/sessions/no-such-id/step",
        ("no-such-id",),
        json={"steps": 1},
        status=404,
    ),
    Case("params of an unknown id", "GET", "/api/sessions/no-such-id/params", ("no-such-id",), status=404),
    Case("delete an unknown id", "DELETE", "/api/sessions/no-such-id", ("no-such-id",), status=404),
]


@pytest.mark.parametrize("case", REST_CASES, ids=[case.id for case in REST_CASES])
def test_a_bad_request_answers_4xx_naming_the_problem(
    http: httpx.Client, make_session: Maker, case: Case
) -> None:
    sid, token = make_session()
    if case.stepped:
        assert (
            http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer(token)).status_code
            == 200
        )
    headers = bearer(token)
    if case.content is not None:
        headers["content-type"] = "application/json"
    response = http.request(
        case.method, case.path.format(sid=sid), json=case.json, content=case.content, headers=headers
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if case.status is not None:
        assert response.status_code == case.status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    for word in case.says:
        assert word.lower() in detail.lower(), detail
    assert http.get("/api/options").status_code == 200


def test_a_refused_change_leaves_the_session_as_it_was(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    http.post(f"/api/sessions/{sid}/step", json={"steps": 3}, headers=bearer(token))
    before = http.get(f"/api/sessions/{sid}").json()
    params = http.get(f"/api/sessions/{sid}/params").json()
    bad = [
        ("PATCH", "", {"training": {"optimizer": {"name": "adam", "beta1": 2.0}}}),
        ("PATCH", "", {"training": {"batch_size": 0}}),
        ("PATCH", "", {"training": {"batch_size": 100_000, "optimizer": {"lr": 0.5}}}),
        (
            "PUT",
            "/params",
            {"layers": [{"W": [[1.0] * 4] * 2, "b": [1.0] * 4}, {"W": [[1.0]] * 3, "b": [1.0]}]},
        ),
    ]
    for method, suffix, body in bad:
        response = http.request(method, f"/api/sessions/{sid}{suffix}", json=body, headers=bearer(token))
        assert response.status_code == 422, response.text
    after = http.get(f"/api/sessions/{sid}").json()
    assert (after["config"], after["step"], after["generation"]) == (
        before["config"],
        3,
        before["generation"],
    )
    assert http.get(f"/api/sessions/{sid}/params").json() == params


# --- websocket garbage -------------------------------------------------------------------------


@dataclass
class WsCase:
    id: str
    message: Any  # dict → JSON text; str → sent as is; bytes → a binary message
    says: tuple[str, ...] = ()
    code: int | None = None  # the error message's code
    close: int | None = None  # or: the close code the socket ends with
    with_token: bool = False  # put the session's token into a dict message


WS_CASES = [
    WsCase("non-JSON text", "hello there", ("json",), 400),
    WsCase("a JSON array", "[1, 2, 3]", ("json", "type"), 400),
    WsCase("a JSON string", '"subscribe"', ("type",), 400),
    WsCase("binary", b"\x00\x01\x02\x03" * 64, ("binary",), 400),
    WsCase("unknown type", {"type": "format_disk"}, ("format_disk",), 400),
    WsCase("no type", {"fps": 30}, ("type",), 400),
    WsCase("fps out of range", {"type": "subscribe", "fps": 1000}, ("fps",), 400),
    WsCase("fps as text", {"type": "subscribe", "fps": "fast"}, ("fps",), 400),
    WsCase("NaN fps", '{"type": "subscribe", "fps": NaN}', ("fps",), 400),
    WsCase("heatmap too fine", {"type": "subscribe", "heatmaps": {"output": 5000}}, ("heatmaps",), 400),
    WsCase("negative heatmap", {"type": "subscribe", "heatmaps": {"nodes": -4}}, ("heatmaps",), 400),
    WsCase("unknown tensor", {"type": "subscribe", "tensors": ["weights"]}, ("tensors",), 400),
    WsCase("unknown subscribe field", {"type": "subscribe", "colour": "red"}, ("colour",), 400),
    WsCase("control without a token", {"type": "control", "action": "step"}, ("token",), 401),
    WsCase(
        "control with a wrong token",
        {"type": "control", "action": "reset", "token": "guess"},
        ("token",),
        403,
    ),
    WsCase(
        "control with a token of the wrong type",
        {"type": "control", "action": "play", "token": 12345},
        ("token",),
        400,
    ),
    WsCase("auth with a wrong token", {"type": "auth", "token": "guess"}, ("token",), 403),
    WsCase("unknown action", {"type": "control", "action": "explode"}, ("explode",), 400, with_token=True),
    WsCase(
        "negative steps", {"type": "control", "action": "step", "steps": -1}, ("steps",), 400, with_token=True
    ),
    WsCase(
        "steps over the limit",
        {"type": "control", "action": "step", "steps": 10**9},
        ("max_steps_per_request",),
        413,
        with_token=True,
    ),
    WsCase(
        "NaN lr in set",
        '{"type": "control", "action": "set", "token": "TOKEN", "training": {"optimizer": {"lr": NaN}}}',
        ("lr",),
        400,
    ),
    WsCase(
        "unknown field in set",
        {"type": "control", "action": "set", "training": {"colour": 1}},
        ("colour",),
        400,
        with_token=True,
    ),
    WsCase(
        "batch over the limit in set",
        {"type": "control", "action": "set", "training": {"batch_size": 100_000}},
        ("max_batch_size",),
        422,  # a limit, as over REST
        with_token=True,
    ),
    WsCase(
        "recover with text lr",
        {"type": "control", "action": "recover", "lr": "small"},
        ("lr",),
        400,
        with_token=True,
    ),
    WsCase("message over max_ws_message_bytes", "x" * (256 * 1024), close=1009),
]


async def _ws_answer(
    server_url: str, sid: str, token: str, case: WsCase
) -> tuple[dict[str, Any] | None, int | None]:
    """The error message the case draws, or the close code that ended the socket."""
    async with open_socket(server_url, sid) as ws:
        socket = Socket(ws)
        assert (await socket.receive())["type"] == "hello"
        message = case.message
        if isinstance(message, dict):
            message = json.dumps({**message, "id": "bad", **({"token": token} if case.with_token else {})})
        elif isinstance(message, str):
            message = message.replace("TOKEN", token)
        await ws.send(message)
        try:
            error = await socket.receive_until(lambda m: m.get("type") == "error")
        except ConnectionClosed as closed:
            return None, closed.rcvd.code if closed.rcvd is not None else None
        # the socket keeps working after an error
        pong = await socket.reply_to({"type": "ping", "id": "after"})
        assert pong["type"] == "pong"
        return error, None


@pytest.mark.parametrize("case", WS_CASES, ids=[case.id for case in WS_CASES])
def test_a_bad_websocket_message_gets_an_error_or_a_close_code(
    server_url: str, http: httpx.Client, make_session: Maker, case: WsCase
) -> None:
    sid, token = make_session()
    error, close = run(_ws_answer(server_url, sid, token, case))
    if case.close is not None:
        assert close == case.close
    else:
        assert error is not None, f"closed with {close}"
        assert error["code"] == case.code, error
        for word in case.says:
            assert word.lower() in error["message"].lower(), error
    info = http.get(f"/api/sessions/{sid}").json()
    assert info["step"] == 0 and info["playing"] is False  # nothing bad was acted on


def test_a_flood_of_commands_is_refused_with_429_then_closed_with_1008(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, _ = make_session()

    async def body() -> tuple[int, int | None]:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            for k in range(400):
                await socket.send({"type": "ping", "id": k})
            refused = 0
            try:
                while True:
                    message = await socket.receive()
                    refused += message.get("type") == "error" and message.get("code") == 429
            except ConnectionClosed as closed:
                return refused, closed.rcvd.code if closed.rcvd is not None else None

    refused, code = run(body())
    assert refused > 0 and code == 1008, (refused, code)
    assert http.get(f"/api/sessions/{sid}").status_code == 200


def test_a_socket_to_an_unknown_id_gets_404(server_url: str) -> None:
    async def body() -> tuple[dict[str, Any], int | None]:
        async with open_socket(server_url, "no-such-id") as ws:
            socket = Socket(ws)
            error = await socket.receive()
            try:
                await socket.receive()
            except ConnectionClosed as closed:
                return error, closed.rcvd.code if closed.rcvd is not None else None
        raise AssertionError("the socket stayed open")

    error, code = run(body())
    assert error["type"] == "error" and error["code"] == 404 and "no-such-id" in error["message"]
    assert code is not None and code >= 4000


# --- and afterwards -------------------------------------------------------------------------------


def test_after_all_that_a_normal_session_still_trains_and_streams(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    body = http.post(f"/api/sessions/{sid}/step", json={"steps": 200}, headers=bearer(token)).json()
    assert body["steps_done"] == 200 and body["losses"][-1] < body["losses"][0] * 1.5

    async def watch() -> dict[str, Any]:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            http.post(f"/api/sessions/{sid}/play", json={"max_steps": 400}, headers=bearer(token))
            return await socket.receive_until(lambda m: m.get("type") == "frame" and m["step"] == 400)

    frame = run(watch())
    assert frame["generation"] == 0 and frame["playing"] is False
    assert asyncio.iscoroutinefunction(watch)
