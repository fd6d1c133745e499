"""What a client can choose from: the answer of ``GET /api/options``."""

from __future__ import annotations

from typing import Any

from engine.activations import ACTIVATIONS, OUTPUT_ONLY
from engine.datasets import DATASETS
from engine.initializers import INITIALIZERS
from engine.layers import LAYER_BUILDERS
from engine.losses import LOSSES
from engine.optimizers import OPTIMIZER_DEFAULTS
from engine.schedules import SCHEDULES
from server.protocol import PROTOCOL_VERSION, jsonable
from server.settings import Settings

__all__ = ["options"]

_LIMIT_FIELDS = (
    "max_sessions",
    "max_layers",
    "max_units",
    "max_parameters",
    "max_samples",
    "max_steps_per_request",
    "max_batch_size",
    "max_viewers_per_session",
    "max_body_bytes",
    "max_ws_message_bytes",
    "max_predict_rows",
    "session_ttl_seconds",
    "frame_max_parameters",
)


def _dataset_info(info: Any) -> Any:
    if hasattr(info, "to_dict"):
        return info.to_dict()
    if hasattr(info, "__dataclass_fields__"):
        return {k: getattr(info, k) for k in info.__dataclass_fields__}
    return info


def options(settings: Settings) -> dict[str, Any]:
    hidden = [name for name in ACTIVATIONS if name not in OUTPUT_ONLY]
    output_activations = {
        name: ([loss.requires_activation] if loss.requires_activation else list(ACTIVATIONS))
        for name, loss in LOSSES.items()
    }
    answer: dict[str, Any] = jsonable(
        {
            "activations": hidden,
            "output_activations": output_activations,
            "losses": {
                name: {"requires_activation": loss.requires_activation, "formula": loss.formula}
                for name, loss in LOSSES.items()
            },
            "optimizers": {name: dict(defaults) for name, defaults in OPTIMIZER_DEFAULTS.items()},
            "schedules": list(SCHEDULES),
            "initializers": list(INITIALIZERS),
            "layer_types": sorted(LAYER_BUILDERS),
            "datasets": {name: _dataset_info(info) for name, info in DATASETS.items()},
            "limits": {field: getattr(settings, field) for field in _LIMIT_FIELDS},
            "protocol": PROTOCOL_VERSION,
        }
    )
    return answer
