"""Binary frame layout shared with ``frontend/js/protocol.js`` (see ``docs/protocol.md``).

    u32 LE header length | UTF-8 JSON header | spaces to 8-byte alignment | arrays, each 8-aligned

Typed arrays in the browser are views over the received buffer: no parsing of
number text, and float32 is 2.7–5× smaller than JSON numbers. Heatmaps may
travel as ``q8``: one byte a value, with each channel's offset and step in the
header (4× smaller again, within half a step of the float).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["QUANTIZED", "WIRE_DTYPES", "decode_frame", "dequantize", "encode_frame", "quantize"]

WIRE_DTYPES: dict[str, np.dtype[Any]] = {
    "f4": np.dtype("<f4"),
    "f8": np.dtype("<f8"),
    "i4": np.dtype("<i4"),
    "u1": np.dtype("u1"),
}
_PAD = 8
QUANTIZED = "q8"  # 8-bit codes, value = lo[c] + code · scale[c] per channel c (axis 0 of a 3-D array)


def _wire_code(array: NDArray[Any]) -> str:
    kind = array.dtype.kind
    if kind == "f":
        return "f8" if array.dtype.itemsize == 8 else "f4"
    if kind in "iu" and array.dtype.itemsize == 1 and kind == "u":
        return "u1"
    if kind in "iub":
        return "i4"
    raise ValueError(f"cannot send arrays of dtype {array.dtype}")


def quantize(array: NDArray[Any]) -> tuple[NDArray[np.uint8], list[float], list[float]] | None:
    """8-bit codes of a 2-D map or a stack of them (axis 0), each channel over its own min–max.

    Returns ``None`` when a value is not finite (the caller sends float32 then): a code has no
    spelling for NaN or ±inf, and a diverged network's maps must not look plausible.
    """
    values = np.asarray(array, dtype=np.float64)
    channels = values.reshape(1 if values.ndim < 3 else values.shape[0], -1)
    if not np.isfinite(channels).all():
        return None
    lo = channels.min(axis=1)
    scale = (channels.max(axis=1) - lo) / 255.0
    safe = np.where(scale > 0, scale, 1.0)
    codes = np.rint((channels - lo[:, None]) / safe[:, None]).astype(np.uint8)
    return codes.reshape(values.shape), lo.tolist(), scale.tolist()


def encode_frame(header: dict[str, Any], arrays: Sequence[tuple[str, NDArray[Any], str | None]]) -> bytes:
    """Encode ``header`` plus ``(name, array, wire dtype or None = keep)`` into one binary message.

    The wire dtype ``q8`` quantizes the array (see :func:`quantize`), or sends it as ``f4`` when
    it holds a value that is not finite.
    """
    specs = []
    parts = []  # (array, wire dtype, offset from the end of the header)
    offset = 0
    for name, array, code in arrays:
        code = code or _wire_code(array)
        spec: dict[str, Any] = {"name": name, "dtype": code, "shape": list(array.shape), "offset": offset}
        if code == QUANTIZED:
            packed = quantize(array)
            if packed is None:
                code = spec["dtype"] = "f4"
            else:
                array, spec["lo"], spec["scale"] = packed
                code = "u1"
        dtype = WIRE_DTYPES[code]
        specs.append(spec)
        parts.append((array, dtype, offset))
        size = array.size * dtype.itemsize
        offset += size + (-size) % _PAD
    head = json.dumps({**header, "arrays": specs}, separators=(",", ":"), allow_nan=False).encode()
    head += b" " * ((-(4 + len(head))) % _PAD)
    base = 4 + len(head)
    # One buffer, each array cast straight into its place: no per-array bytes and no join.
    message = bytearray(base + offset)
    struct.pack_into("<I", message, 0, len(head))
    message[4:base] = head
    for array, dtype, at in parts:
        if array.size:
            np.frombuffer(message, dtype, array.size, base + at).reshape(array.shape)[...] = array
    return bytes(message)


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
        quantized = spec["dtype"] == QUANTIZED
        dtype = WIRE_DTYPES["u1" if quantized else spec["dtype"]]
        count = int(np.prod(spec["shape"], dtype=np.int64))
        start = base + int(spec["offset"])
        array = np.frombuffer(message, dtype, count, start).reshape(spec["shape"])
        if quantized:
            array = dequantize(array, spec["lo"], spec["scale"])
        arrays[spec["name"]] = array
    return header, arrays


def dequantize(codes: NDArray[Any], lo: Sequence[float], scale: Sequence[float]) -> NDArray[np.float32]:
    """float32 values of ``q8`` codes: lo[c] + code · scale[c], c along axis 0 of a 3-D array."""
    channels = codes.reshape(len(lo), -1).astype(np.float64)
    lows, steps = (np.asarray(v, dtype=np.float64)[:, None] for v in (lo, scale))
    values = lows + channels * steps
    return values.astype(np.float32).reshape(codes.shape)
