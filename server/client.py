"""A small Python client for scripted training (httpx + websockets).

    from server.client import Client
    with Client("http://127.0.0.1:8000") as bl:
        run = bl.create({"model": {...}, "data": {"dataset": "xor"}})
        run.step(100)
        trace = run.trace()              # numpy arrays
        print(trace["layers"][0]["grad_W"])
        print("watch it:", run.url)      # open in a browser to see the same session live

Traces, params and predictions come back as NumPy arrays; frames from
:meth:`Run.frames` are decoded binary frames ``(header, arrays)``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx
import numpy as np

from server.frames import decode_frame

__all__ = ["ApiError", "Client", "Run"]


class ApiError(RuntimeError):
    """The server answered 4xx/5xx; ``status`` and ``detail`` say why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def _arrays(value: Any) -> Any:
    """Nested lists of numbers become NumPy arrays; dicts and other values are walked."""
    if isinstance(value, dict):
        return {k: _arrays(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, (int, float, list)) for v in value):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):  # ragged
            return [_arrays(v) for v in value]
        if array.dtype.kind in "iuf":  # integer lists (indices, steps) stay integers
            return array
        return [_arrays(v) for v in value]
    if isinstance(value, list):
        return [_arrays(v) for v in value]
    return value


class Client:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(
        self, method: str, path: str, token: str | None = None, raw: bool = False, **kwargs: Any
    ) -> Any:
        """One API call; the parsed JSON answer (``raw``: the body's bytes), or :class:`ApiError`."""
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, str(detail))
        if not raw and response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def options(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/api/options")
        return result

    def create(self, config: dict[str, Any]) -> Run:
        body = self.request("POST", "/api/sessions", json=config)
        return Run(self, body["id"], body["control_token"])

    def attach(self, session_id: str, token: str | None = None) -> Run:
        """A handle on an existing session; without the token it can only read and watch."""
        return Run(self, session_id, token)

    def import_file(self, document: bytes | dict[str, Any]) -> Run:
        content = document if isinstance(document, bytes) else json.dumps(document).encode()
        body = self.request(
            "POST", "/api/sessions/import", content=content, headers={"content-type": "application/json"}
        )
        return Run(self, body["id"], body["control_token"])

    def sessions(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.request("GET", "/api/sessions")["sessions"]
        return result


class Run:
    """One session on the server."""

    def __init__(self, client: Client, session_id: str, token: str | None) -> None:
        self.client = client
        self.id = session_id
        self.token = token

    @property
    def url(self) -> str:
        """The page that shows this session live."""
        return f"{self.client.base_url}/?session={self.id}"

    def _call(self, method: str, suffix: str = "", **kwargs: Any) -> Any:
        return self.client.request(method, f"/api/sessions/{self.id}{suffix}", token=self.token, **kwargs)

    def info(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET")
        return result

    def step(self, steps: int = 1) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/step", json={"steps": steps})
        return result

    def play(self, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/play", json=options)
        return result

    def pause(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/pause")
        return result

    def reset(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/reset")
        return result

    def set(self, **training: Any) -> dict[str, Any]:
        """Live changes, e.g. ``run.set(optimizer={"lr": 0.1}, batch_size=5)``."""
        result: dict[str, Any] = self._call("PATCH", json={"training": training})
        return result

    def params(self) -> list[dict[str, np.ndarray]]:
        layers = self._call("GET", "/params")["layers"]
        return [{k: np.asarray(v, dtype=np.float64) for k, v in layer.items()} for layer in layers]

    def set_params(self, layers: list[dict[str, Any]]) -> None:
        plain = [{k: np.asarray(v).tolist() for k, v in layer.items()} for layer in layers]
        self._call("PUT", "/params", json={"layers": plain})

    def trace(self) -> dict[str, Any]:
        result: dict[str, Any] = _arrays(self._call("GET", "/trace"))
        return result

    def history(self, max_points: int = 2000) -> dict[str, Any]:
        result: dict[str, Any] = _arrays(self._call("GET", "/history", params={"max_points": max_points}))
        return result

    def predict(self, x: Any) -> dict[str, Any]:
        result: dict[str, Any] = _arrays(self._call("POST", "/predict", json={"x": np.asarray(x).tolist()}))
        return result

    def explain(self, layer: int, param: str, index: tuple[int, ...]) -> dict[str, Any]:
        """The chain rule's factors of the last step's gradient of ``param[index]`` in ``layer``."""
        result: dict[str, Any] = self._call(
            "GET", "/explain", params={"layer": layer, "param": param, "index": ",".join(map(str, index))}
        )
        return result

    def explain_node(self, layer: int, node: int) -> dict[str, Any]:
        """How the last step's δ (∂L/∂z) of one node was made."""
        result: dict[str, Any] = self._call("GET", "/explain", params={"layer": layer, "node": node})
        return result

    def recover(self, lr: float | None = None) -> dict[str, Any]:
        """Clear a divergence (optionally with a new, smaller learning rate)."""
        result: dict[str, Any] = self._call("POST", "/recover", json={} if lr is None else {"lr": lr})
        return result

    def at(self, step: int) -> dict[str, Any]:
        """The run as it was after a recorded ``step``: params, eval and that step's trace."""
        result: dict[str, Any] = _arrays(self._call("GET", f"/at/{step}"))
        return result

    def fork(self, step: int | None = None, **training: Any) -> Run:
        """A new session from now (or a recorded ``step``), with optional training changes."""
        body: dict[str, Any] = {} if step is None else {"step": step}
        if training:
            body["training"] = training
        created = self.client.request("POST", f"/api/sessions/{self.id}/fork", json=body)
        return Run(self.client, created["id"], created["control_token"])

    def gradcheck(self, **options: Any) -> dict[str, Any]:
        """Finite differences beside backprop, e.g. ``run.gradcheck(layer=0, param="W", index=[0, 1])``."""
        result: dict[str, Any] = self._call("POST", "/gradcheck", json=options)
        return result

    def export(self) -> bytes:
        """The whole session as a file (config, weights, optimizer state, RNG, history) to import again."""
        data: bytes = self._call("GET", "/export", raw=True)
        return data

    def delete(self) -> None:
        self._call("DELETE")

    async def frames(
        self, subscribe: dict[str, Any] | None = None
    ) -> AsyncGenerator[tuple[dict[str, Any], dict[str, np.ndarray]], None]:
        """Decoded frames as they arrive (text messages are yielded as ``(message, {})``)."""
        import websockets

        url = self.client.base_url.replace("http", "ws", 1) + f"/ws/sessions/{self.id}"
        async with websockets.connect(url, max_size=None, compression=None) as ws:
            if subscribe:
                await ws.send(json.dumps({"type": "subscribe", **subscribe}))
            async for message in ws:
                if isinstance(message, bytes):
                    yield decode_frame(message)
                else:
                    yield json.loads(message), {}
