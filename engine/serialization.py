"""The session file: a JSON document holding a session's whole state, exactly.

Layout (version 1)::

    {"format": "backprop-lab-session", "version": 1, "state": {...TrainingSession.state()...}}

Arrays are stored as ``{"__array__": dtype, "shape": [...], "data": base64 of the
little-endian bytes}`` so every float survives bit for bit (JSON number text
would not guarantee that, and pickle is never used: a file from a stranger must
not be able to run code).

:func:`load_session_document` trusts nothing. In order, it checks: the format
name and version; that the arrays' dtypes are on a short list, that their data
matches their shape, and that together they stay under a size cap; the config
(through an optional caller hook for server limits, then the engine's own
validation by building a fresh session from it); that every array has exactly
the dtype and shape that fresh session has (history curves may differ in
length); that weights, optimizer buffers and averages are finite; and finally
the engine's :meth:`~engine.session.TrainingSession.load_state` checks of
values and ranges. Every failure is a ``ValueError`` whose message names the
field and says what was expected.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.session import STATE_VERSION, TrainingSession

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT_NAME",
    "decode_state",
    "encode_state",
    "load_session_document",
    "session_document",
    "state_document",
]

FORMAT_NAME = "backprop-lab-session"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_ALLOWED_DTYPES = {"<f8", "<f4", "<i8", "<i4", "|u1", "|b1", "<u8"}
_STATE_KEYS = {
    "version",
    "config",
    "theta",
    "optimizer",
    "ema",
    "order_rng",
    "perm",
    "pos",
    "step",
    "epoch",
    "history",
    "divergence",
    "watch",
}
_REQUIRED_KEYS = {"config", "theta", "optimizer", "order_rng", "perm", "pos", "step", "epoch", "history"}
# Arrays that decide the next step: they must hold finite numbers.
_FINITE = ("theta", "optimizer", "ema", "watch")


def encode_state(value: Any) -> Any:
    """Plain JSON values with arrays (and NumPy scalars) encoded exactly."""
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        arr = arr.astype(dtype, copy=False)
        return {
            "__array__": arr.dtype.str,
            "shape": list(arr.shape),
            "data": base64.b64encode(arr.tobytes()).decode(),
        }
    if isinstance(value, dict):
        return {str(k): encode_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_state(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_state(value: Any, max_bytes: int) -> Any:
    """The inverse of :func:`encode_state`; arrays are checked against ``max_bytes`` in total."""
    budget = [max_bytes]

    def walk(v: Any, where: str) -> Any:
        if isinstance(v, dict):
            if "__array__" in v:
                return _array(v, budget, where)
            return {k: walk(x, f"{where}.{k}") for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, f"{where}[{i}]") for i, x in enumerate(v)]
        return v

    return walk(value, "state")


def _array(spec: dict[str, Any], budget: list[int], where: str) -> np.ndarray[Any, Any]:
    dtype = spec.get("__array__")
    if dtype not in _ALLOWED_DTYPES:
        raise ValueError(
            f"{where}: array dtype {dtype!r} is not allowed in a session file (use one of "
            f"{sorted(_ALLOWED_DTYPES)})"
        )
    shape = spec.get("shape")
    if not isinstance(shape, list) or any(
        isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in shape
    ):
        raise ValueError(f"{where}: array shape must be a list of sizes ≥ 0, got {shape!r}")
    if len(shape) > 8:
        raise ValueError(f"{where}: array has {len(shape)} dimensions, at most 8 are allowed")
    data = spec.get("data", "")
    if not isinstance(data, str):
        raise ValueError(f"{where}: array data must be a base64 string")
    itemsize = np.dtype(dtype).itemsize
    count = 1
    for d in shape:
        count *= d
    needed = count * itemsize
    if needed > budget[0] or len(data) > 4 * (budget[0] // 3 + 1):
        raise ValueError(f"{where}: the session file's arrays exceed the size limit of {budget[0]} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: array data is not valid base64") from None
    if len(raw) != needed:
        raise ValueError(
            f"{where}: array data holds {len(raw)} bytes, shape {shape} of {dtype} needs {needed}"
        )
    budget[0] -= len(raw)
    return np.frombuffer(raw, dtype).reshape(shape).copy()


def state_document(state: dict[str, Any]) -> dict[str, Any]:
    """The session file of a state already taken with :meth:`TrainingSession.state`."""
    return {"format": FORMAT_NAME, "version": STATE_VERSION, "state": encode_state(state)}


def session_document(session: TrainingSession) -> dict[str, Any]:
    """The exportable document of a session's complete state."""
    return state_document(session.state())


def load_session_document(
    document: Any,
    max_bytes: int = DEFAULT_MAX_BYTES,
    check_config: Callable[[dict[str, Any]], None] | None = None,
) -> TrainingSession:
    """Validate and rebuild a session from :func:`session_document` output (or its JSON text).

    ``check_config`` sees the file's config before anything is built from it (a server
    uses it to refuse configs beyond its limits); it raises ``ValueError`` to refuse.
    """
    try:
        return _load(document, max_bytes, check_config)
    except RecursionError:
        raise ValueError("the session file is nested too deeply") from None
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError) as exc:
        raise ValueError(f"the session file is incomplete or malformed: {exc!r}") from None


def _load(
    document: Any, max_bytes: int, check_config: Callable[[dict[str, Any]], None] | None
) -> TrainingSession:
    if isinstance(document, (str, bytes, bytearray)):
        try:
            document = json.loads(document)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"the session file is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ValueError(f"not a session file: expected an object with format {FORMAT_NAME!r}")
    version = document.get("version")
    if version != STATE_VERSION or isinstance(version, bool):
        raise ValueError(
            f"session file version {version!r} is not supported (this server reads version {STATE_VERSION})"
        )
    unknown = set(document) - {"format", "version", "state"}
    if unknown:
        raise ValueError(f"the session file has unknown top-level field(s) {sorted(unknown)}")
    state = decode_state(document.get("state"), max_bytes)
    if not isinstance(state, dict):
        raise ValueError("the session file has no state object")
    missing = _REQUIRED_KEYS - set(state)
    if missing:
        raise ValueError(f"the session file's state lacks {sorted(missing)}")
    unknown = set(state) - _STATE_KEYS
    if unknown:
        raise ValueError(f"the session file's state has unknown field(s) {sorted(unknown)}")
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"state.version {state.get('version')!r} is not supported (need {STATE_VERSION})")
    config = state["config"]
    if not isinstance(config, dict):
        raise ValueError("state.config must be an object (the session's config)")
    if check_config is not None:
        check_config(config)
    try:
        fresh = TrainingSession(config)
    except ValueError as exc:
        raise ValueError(f"state.config is not a valid session config: {exc}") from None
    _match_template(state, fresh.state(), "state")
    for key in _FINITE:
        _check_finite(state.get(key), f"state.{key}")
    fresh.load_state(state)
    return fresh


def _match_template(value: Any, template: Any, where: str) -> None:
    """Every array in ``template`` must be matched by an array of the same dtype and shape."""
    if isinstance(template, np.ndarray):
        if not isinstance(value, np.ndarray):
            raise ValueError(
                f"{where} must be an array of {template.dtype} with shape {list(template.shape)}"
            )
        if value.dtype != template.dtype:
            raise ValueError(f"{where} has dtype {value.dtype}, this session needs {template.dtype}")
        same = value.shape == template.shape
        if where.startswith("state.history") and value.ndim == template.ndim:
            same = value.shape[:-1] == template.shape[:-1]  # curves differ only in length
        if not same:
            raise ValueError(
                f"{where} has shape {list(value.shape)}, this session needs {list(template.shape)}"
            )
        return
    if isinstance(template, dict) and isinstance(value, dict):
        for key, sub in template.items():
            if key in value:
                _match_template(value[key], sub, f"{where}.{key}")
    elif isinstance(template, dict) and value is not None and where != "state.divergence":
        raise ValueError(f"{where} must be an object")


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ValueError(f"{where} holds NaN or infinite values")
    elif isinstance(value, dict):
        for key, sub in value.items():
            _check_finite(sub, f"{where}.{key}")
    elif isinstance(value, float) and value != value:
        raise ValueError(f"{where} is NaN")
