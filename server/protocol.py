"""Websocket message types and the subscription a client asks for (docs/protocol.md).

The frontend's ``frontend/js/protocol.js`` uses the same type names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "CLIENT_TYPES",
    "CONTROL_ACTIONS",
    "PROTOCOL_VERSION",
    "TENSORS",
    "ProtocolError",
    "Subscription",
    "SubscriptionKey",
    "jsonable",
]

PROTOCOL_VERSION = 1
TENSORS = ("params", "grads", "updates", "activations", "deltas")
CLIENT_TYPES = ("subscribe", "control", "auth", "ping", "view")
CONTROL_ACTIONS = ("play", "pause", "step", "reset", "set", "recover")
MIN_FPS, MAX_FPS = 1.0, 60.0
MIN_HEAT, MAX_HEAT = 4, 200
HEAT_BITS = (8, 32)  # heatmaps as q8 codes (the page) or float32 (the default)

# (tensors, output resolution, node resolution, heatmap bits): clients with equal keys share a frame
SubscriptionKey = tuple[tuple[str, ...], int, int, int]


class ProtocolError(Exception):
    """A client message that cannot be honoured; ``code`` follows HTTP's meaning."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Subscription:
    fps: float = 30.0
    tensors: tuple[str, ...] = TENSORS
    heat_output: int = 50
    heat_nodes: int = 20
    heat_bits: int = 32
    lockstep: bool = False

    @property
    def key(self) -> SubscriptionKey:
        """Clients with equal keys share one encoded frame."""
        return (self.tensors, self.heat_output, self.heat_nodes, self.heat_bits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fps": self.fps,
            "tensors": list(self.tensors),
            "heatmaps": {"output": self.heat_output, "nodes": self.heat_nodes, "bits": self.heat_bits},
            "lockstep": self.lockstep,
        }

    def updated(self, message: dict[str, Any]) -> Subscription:
        """A copy with the fields of a ``subscribe`` message applied; bad values raise ProtocolError."""
        sub = self
        unknown = set(message) - {"type", "fps", "tensors", "heatmaps", "lockstep", "token", "id"}
        if unknown:
            raise ProtocolError(400, f"subscribe: unknown field(s) {sorted(unknown)}")
        if "fps" in message:
            fps = message["fps"]
            if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps):
                raise ProtocolError(400, f"subscribe: fps must be a number from 1 to 60, got {fps!r}")
            if not MIN_FPS <= fps <= MAX_FPS:
                raise ProtocolError(400, f"subscribe: fps must be from 1 to 60, got {fps}")
            sub = replace(sub, fps=float(fps))
        if "tensors" in message:
            tensors = message["tensors"]
            if not isinstance(tensors, list) or any(t not in TENSORS for t in tensors):
                raise ProtocolError(400, f"subscribe: tensors must be a list drawn from {list(TENSORS)}")
            sub = replace(sub, tensors=tuple(t for t in TENSORS if t in tensors))
        if "heatmaps" in message:
            heat = message["heatmaps"]
            if not isinstance(heat, dict) or set(heat) - {"output", "nodes", "bits"}:
                raise ProtocolError(
                    400, "subscribe: heatmaps must be an object with 'output', 'nodes' and/or 'bits'"
                )
            bits = heat.get("bits", sub.heat_bits)
            if isinstance(bits, bool) or bits not in HEAT_BITS:
                raise ProtocolError(400, f"subscribe: heatmaps.bits must be 8 or 32, got {bits!r}")
            for key in ("output", "nodes"):
                if key not in heat:
                    continue
                value = heat[key]
                ok = isinstance(value, int) and not isinstance(value, bool)
                if not ok or not (value == 0 or MIN_HEAT <= value <= MAX_HEAT):
                    raise ProtocolError(400, f"subscribe: heatmaps.{key} must be 0 or 4–200, got {value!r}")
            sub = replace(
                sub,
                heat_output=heat.get("output", sub.heat_output),
                heat_nodes=heat.get("nodes", sub.heat_nodes),
                heat_bits=int(bits),
            )
        if "lockstep" in message:
            if not isinstance(message["lockstep"], bool):
                raise ProtocolError(400, "subscribe: lockstep must be true or false")
            sub = replace(sub, lockstep=message["lockstep"])
        return sub


def jsonable(value: Any) -> Any:
    """Plain JSON values: NaN and ±inf become null (JSON has no spelling for them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return value
