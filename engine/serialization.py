"""The session file: a JSON document holding a session's whole state, exactly.

Arrays are stored as ``{"__array__": dtype, "shape": [...], "data": base64 of the
little-endian bytes}`` so every float survives bit for bit (JSON number text
would not guarantee that, and pickle is never used: a file from a stranger must
not be able to run code). ``load_session_document`` checks the format name,
version, dtypes, shapes, finiteness of the weights and a size cap before
anything is built.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from engine.session import STATE_VERSION, TrainingSession

__all__ = ["FORMAT_NAME", "session_document", "load_session_document", "encode_state", "decode_state"]

FORMAT_NAME = "backprop-lab-session"
_ALLOWED_DTYPES = {"<f8", "<f4", "<i8", "<i4", "|u1", "|b1", "<u8"}


def encode_state(value: Any) -> Any:
    """Plain JSON values with arrays (and NumPy scalars) encoded exactly."""
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        arr = arr.astype(dtype, copy=False)
        return {"__array__": arr.dtype.str, "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode()}
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

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if "__array__" in v:
                return _array(v, budget)
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def _array(spec: dict[str, Any], budget: list[int]) -> np.ndarray[Any, Any]:
    dtype = spec.get("__array__")
    if dtype not in _ALLOWED_DTYPES:
        raise ValueError(f"array dtype {dtype!r} is not allowed in a session file")
    shape = spec.get("shape")
    if not isinstance(shape, list) or any(not isinstance(d, int) or d < 0 for d in shape):
        raise ValueError(f"array shape must be a list of sizes, got {shape!r}")
    try:
        raw = base64.b64decode(spec.get("data", ""), validate=True)
    except (ValueError, TypeError):
        raise ValueError("array data is not valid base64") from None
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) != count * np.dtype(dtype).itemsize:
        raise ValueError(f"array data holds {len(raw)} bytes, shape {shape} of {dtype} needs {count * np.dtype(dtype).itemsize}")
    budget[0] -= len(raw)
    if budget[0] < 0:
        raise ValueError("the session file's arrays exceed the size limit")
    return np.frombuffer(raw, dtype).reshape(shape).copy()


def session_document(session: TrainingSession, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The exportable document of a session's complete state."""
    return {
        "format": FORMAT_NAME,
        "version": STATE_VERSION,
        "state": encode_state(session.state()),
        **({"extra": extra} if extra else {}),
    }


def load_session_document(document: Any, max_bytes: int = 256 * 1024 * 1024) -> TrainingSession:
    """Validate and rebuild a session from :func:`session_document` output (or its JSON text)."""
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the session file is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ValueError(f"not a session file: expected format {FORMAT_NAME!r}")
    if document.get("version") != STATE_VERSION:
        raise ValueError(f"session file version {document.get('version')!r} is not supported (need {STATE_VERSION})")
    state = decode_state(document.get("state"), max_bytes)
    if not isinstance(state, dict):
        raise ValueError("the session file has no state object")
    missing = {"config", "theta", "optimizer", "order_rng", "perm", "pos", "step", "epoch", "history"} - set(state)
    if missing:
        raise ValueError(f"the session file lacks {sorted(missing)}")
    try:
        return TrainingSession.from_state(state)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the session file is incomplete or malformed: {exc!r}") from None
