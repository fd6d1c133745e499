"""The session config: defaults filled in, every value checked, as a plain dict.

The shape is the API contract's (``../shared/PRODUCT.md``)::

    {"model": {"input_shape", "layers", "loss", "initializer", "init_scale", "dtype"},
     "data": {...dataset spec...},
     "training": {"optimizer": {"name", "lr", ...}, "batch_size",
                  "regularization": {"kind", "rate"}, "schedule": {...} | None,
                  "clip_norm": float | None, "ema_decay": float | None, "eval_every": int},
     "seed": int}

The engine keeps the config as plain data so it can be exported, compared and
sent as JSON by the server without any translation layer.
"""

from __future__ import annotations

import copy
import math
from typing import Any

__all__ = ["DEFAULT_CONFIG", "check_number", "normalize_config"]

DEFAULT_CONFIG: dict[str, Any] = {
    "model": {
        "input_shape": None,
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": None,
        "initializer": "glorot_uniform",
        "init_scale": 0.5,
        "dtype": "float64",
    },
    "data": {
        "dataset": "circle",
        "samples": 500,
        "noise": 0.1,
        "train_fraction": 0.5,
        "features": ["x1", "x2"],
    },
    "training": {
        "optimizer": {"name": "sgd", "lr": 0.03},
        "batch_size": 10,
        "regularization": {"kind": "none", "rate": 0.0},
        "schedule": None,
        "clip_norm": None,
        "ema_decay": None,
        "eval_every": 0,
    },
    "seed": 0,
}

_SECTIONS = {"model", "data", "training", "seed"}
_MODEL_KEYS = set(DEFAULT_CONFIG["model"])
_TRAINING_KEYS = set(DEFAULT_CONFIG["training"])
MAX_SEED = 2**63 - 1


def check_number(
    value: Any, name: str, *, low: float | None = None, high: float | None = None, strict_low: bool = False
) -> float:
    """A finite real number within bounds, or ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v <= low if strict_low else v < low):
        raise ValueError(f"{name} must be {'>' if strict_low else '≥'} {low:g}, got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be ≤ {high:g}, got {value!r}")
    return v


def _check_int(value: Any, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def _merge(section: str, given: Any, defaults: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    if given is None:
        return copy.deepcopy(defaults)
    if not isinstance(given, dict):
        raise ValueError(f"{section} must be an object, got {type(given).__name__}")
    unknown = set(given) - allowed
    if unknown:
        raise ValueError(f"{section}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    merged = copy.deepcopy(defaults)
    merged.update(copy.deepcopy(given))
    return merged


def normalize_training(training: Any) -> dict[str, Any]:
    """Fill and check the ``training`` section (also used for live changes)."""
    t = _merge("training", training, DEFAULT_CONFIG["training"], _TRAINING_KEYS)
    opt = t["optimizer"]
    if not isinstance(opt, dict) or "name" not in opt:
        raise ValueError(
            "training.optimizer must be an object with a 'name', e.g. {'name': 'sgd', 'lr': 0.03}"
        )
    opt = dict(opt)
    opt.setdefault("lr", 0.03)
    opt["lr"] = check_number(opt["lr"], "training.optimizer.lr", low=0.0)
    t["optimizer"] = opt
    t["batch_size"] = _check_int(t["batch_size"], "training.batch_size", 1)
    reg = t["regularization"] or {"kind": "none", "rate": 0.0}
    if not isinstance(reg, dict):
        raise ValueError("training.regularization must be an object like {'kind': 'l2', 'rate': 0.001}")
    unknown = set(reg) - {"kind", "rate"}
    if unknown:
        raise ValueError(f"training.regularization: unknown field(s) {sorted(unknown)}")
    kind = reg.get("kind", "none")
    if kind not in ("none", "l1", "l2"):
        raise ValueError(f"training.regularization.kind must be 'none', 'l1' or 'l2', got {kind!r}")
    t["regularization"] = {
        "kind": kind,
        "rate": check_number(reg.get("rate", 0.0), "training.regularization.rate", low=0.0),
    }
    if t["clip_norm"] is not None:
        t["clip_norm"] = check_number(t["clip_norm"], "training.clip_norm", low=0.0, strict_low=True)
    if t["ema_decay"] is not None:
        t["ema_decay"] = check_number(
            t["ema_decay"], "training.ema_decay", low=0.0, high=1.0, strict_low=True
        )
        if t["ema_decay"] >= 1.0:
            raise ValueError("training.ema_decay must be < 1")
    t["eval_every"] = _check_int(t["eval_every"], "training.eval_every", 0)
    if t["schedule"] is not None and not isinstance(t["schedule"], dict):
        raise ValueError("training.schedule must be an object like {'name': 'cosine', 't_max': 1000} or null")
    return t


def normalize_config(config: Any) -> dict[str, Any]:
    """Return a complete, checked copy of ``config``; the first mistake raises ``ValueError``.

    Checks that need the built network or data (layer fields, loss/activation
    pairs, dataset keys, optimizer hyperparameters) happen when the session
    builds them, with messages of the same kind.
    """
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValueError("the session config must be an object with model, data, training and seed")
    unknown = set(config) - _SECTIONS
    if unknown:
        raise ValueError(f"unknown config section(s) {sorted(unknown)}; allowed: {sorted(_SECTIONS)}")
    model = _merge("model", config.get("model"), DEFAULT_CONFIG["model"], _MODEL_KEYS)
    if not isinstance(model["layers"], list) or not model["layers"]:
        raise ValueError("model.layers must be a non-empty list of layers")
    if model["input_shape"] is not None:
        shape = model["input_shape"]
        if not isinstance(shape, list) or not shape:
            raise ValueError(f"model.input_shape must be a list of positive sizes, got {shape!r}")
        model["input_shape"] = [_check_int(d, "model.input_shape[]", 1) for d in shape]
    if model["loss"] is None:
        # Left out: the loss that goes with the output activation.
        last = model["layers"][-1]
        out = last.get("activation") if isinstance(last, dict) else None
        model["loss"] = {"sigmoid": "bce", "softmax": "cross_entropy"}.get(str(out), "mse")
    if model["dtype"] not in ("float64", "float32"):
        raise ValueError(f"model.dtype must be 'float64' or 'float32', got {model['dtype']!r}")
    model["init_scale"] = check_number(model["init_scale"], "model.init_scale", low=0.0)
    data = config.get("data")
    if data is None:
        data = copy.deepcopy(DEFAULT_CONFIG["data"])
    if not isinstance(data, dict):
        raise ValueError("data must be an object: a dataset spec or inline arrays")
    seed = config.get("seed", 0)
    return {
        "model": model,
        "data": copy.deepcopy(data),
        "training": normalize_training(config.get("training")),
        "seed": _check_int(seed, "seed", 0, MAX_SEED),
    }
