"""Binary frame layout shared with ``frontend/js/protocol.js`` (see ``docs/protocol.md``).

    u32 LE header length | UTF-8 JSON header | spaces to 8-byte alignment | arrays, each 8-aligned

Typed arrays in the browser are views over the received buffer: no parsing of
number text, and float32 is 2.7–5× smaller than JSON numbers.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["WIRE_DTYPES", "decode_frame", "encode_frame"]

WIRE_DTYPES: dict[str, np.dtype[Any]] = {
    "f4": np.dtype("<f4"),
    "f8": np.dtype("<f8"),
    "i4": np.dtype("<i4"),
    "u1": np.dtype("u1"),
}
_PAD = 8


def _wire_code(array: NDArray[Any]) -> str:
    kind = array.dtype.kind
    if kind == "f":
        return "f8" if array.dtype.itemsize == 8 else "f4"
    if kind in "iu" and array.dtype.itemsize == 1 and kind == "u":
        return "u1"
    if kind in "iub":
        return "i4"
    raise ValueError(f"cannot send arrays of dtype {array.dtype}")


def encode_frame(header: dict[str, Any], arrays: Sequence[tuple[str, NDArray[Any], str | None]]) -> bytes:
    """Encode ``header`` plus ``(name, array, wire dtype or None = keep)`` into one binary message."""
    specs = []
    blobs = []
    offset = 0
    for name, array, code in arrays:
        code = code or _wire_code(array)
        data = np.ascontiguousarray(array, dtype=WIRE_DTYPES[code]).tobytes()
        specs.append({"name": name, "dtype": code, "shape": list(array.shape), "offset": offset})
        pad = (-len(data)) % _PAD
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head = json.dumps({**header, "arrays": specs}, separators=(",", ":"), allow_nan=False).encode()
    head += b" " * ((-(4 + len(head))) % _PAD)
    return b"".join([struct.pack("<I", len(head)), head, *blobs])


def decode_frame(message: bytes) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """The inverse of :func:`encode_frame` (for the Python client and tests)."""
    if len(message) < 4:
        raise ValueError("frame shorter than its length prefix")
    (length,) = struct.unpack_from("<I", message, 0)
    if 4 + length > len(message):
        raise ValueError("frame header runs past the end of the message")
    header = json.loads(message[4 : 4 + length])
    base = 4 + length
    arrays: dict[str, NDArray[Any]] = {}
    for spec in header.get("arrays", []):
        dtype = WIRE_DTYPES[spec["dtype"]]
        count = int(np.prod(spec["shape"], dtype=np.int64))
        start = base + int(spec["offset"])
        arrays[spec["name"]] = np.frombuffer(message, dtype, count, start).reshape(spec["shape"])
    return header, arrays
