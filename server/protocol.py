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
    "jsonable",
]

PROTOCOL_VERSION = 1
TENSORS = ("params", "grads", "updates", "activations", "deltas")
CLIENT_TYPES = ("subscribe", "control", "auth", "ping", "view")
CONTROL_ACTIONS = ("play", "pause", "step", "reset", "set", "recover")
MIN_FPS, MAX_FPS = 1.0, 60.0
MIN_HEAT, MAX_HEAT = 4, 200


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
    lockstep: bool = False

    @property
    def key(self) -> tuple[tuple[str, ...], int, int]:
        """Clients with equal keys share one encoded frame."""
        return (self.tensors, self.heat_output, self.heat_nodes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fps": self.fps,
            "tensors": list(self.tensors),
            "heatmaps": {"output": self.heat_output, "nodes": self.heat_nodes},
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
            if not isinstance(heat, dict) or set(heat) - {"output", "nodes"}:
                raise ProtocolError(400, "subscribe: heatmaps must be an object with 'output' and/or 'nodes'")
            for key in heat:
                value = heat[key]
                ok = isinstance(value, int) and not isinstance(value, bool)
                if not ok or not (value == 0 or MIN_HEAT <= value <= MAX_HEAT):
                    raise ProtocolError(400, f"subscribe: heatmaps.{key} must be 0 or 4–200, got {value!r}")
            sub = replace(
                sub,
                heat_output=heat.get("output", sub.heat_output),
                heat_nodes=heat.get("nodes", sub.heat_nodes),
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
