"""Layer types and the one function that builds a layer from its config dict.

A layer config is the plain dict of the API contract, e.g.
``{"type": "dense", "units": 8, "activation": "tanh"}``. Each layer module
registers a builder here; :func:`build_layer` checks the keys and hands the
builder the input shape that the previous layer produces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.activations import OUTPUT_ONLY, get_activation
from engine.layers.base import ActivatedLayer, Array, Layer, ParamSpec
from engine.layers.conv import PADDINGS, Conv2D
from engine.layers.dense import Dense
from engine.layers.lstm import DEFAULT_FORGET_BIAS, LSTM
from engine.layers.pooling import AvgPool2D, Flatten, MaxPool2D
from engine.layers.rnn import SimpleRNN

__all__ = [
    "LAYER_BUILDERS",
    "LSTM",
    "ActivatedLayer",
    "Array",
    "AvgPool2D",
    "Conv2D",
    "Dense",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "ParamSpec",
    "SimpleRNN",
    "build_layer",
]

Builder = Callable[[dict[str, Any], tuple[int, ...], np.dtype[Any], bool], Layer]


def _int_field(spec: dict[str, Any], key: str, default: int | None = None, minimum: int = 1) -> int:
    value = spec.get(key, default)
    if value is None:
        raise ValueError(f"{spec.get('type')} layer needs {key!r}")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{spec.get('type')} layer: {key} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{spec.get('type')} layer: {key} must be ≥ {minimum}, got {value}")
    return int(value)


def _activation_field(spec: dict[str, Any], is_output: bool, default: str = "linear") -> Any:
    name = spec.get("activation", default)
    activation = get_activation(str(name))
    if activation.name in OUTPUT_ONLY and not is_output:
        raise ValueError(f"{activation.name} is allowed only on the output layer")
    return activation


def _build_dense(
    spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
) -> Layer:
    units = _int_field(spec, "units")
    return Dense(input_shape, units, _activation_field(spec, is_output), dtype)


def _check_keys(spec: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse keys a layer does not take (a misspelt "kernal" must not fall back to a default)."""
    unknown = sorted(set(spec) - {"type", *allowed})
    if unknown:
        takes = f"it takes {', '.join(allowed)}" if allowed else "it takes no settings"
        raise ValueError(f"{spec.get('type')} layer: unknown keys {unknown}; {takes}")


def _bool_field(spec: dict[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{spec.get('type')} layer: {key} must be true or false, got {value!r}")
    return bool(value)


def _number_field(spec: dict[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{spec.get('type')} layer: {key} must be a number, got {value!r}")
    return float(value)


def _truncate_field(spec: dict[str, Any]) -> int | None:
    return None if spec.get("truncate") is None else _int_field(spec, "truncate")


def _kernel_field(spec: dict[str, Any]) -> tuple[int, int]:
    value = spec.get("kernel")
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"conv2d layer: kernel must be an integer or [height, width], got {list(value)}")
        kh = _int_field({"type": "conv2d", "kernel height": value[0]}, "kernel height")
        kw = _int_field({"type": "conv2d", "kernel width": value[1]}, "kernel width")
        return kh, kw
    k = _int_field(spec, "kernel")
    return k, k


def _build_conv2d(
    spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
) -> Layer:
    _check_keys(spec, ("filters", "kernel", "stride", "padding", "activation"))
    activation = _activation_field(spec, is_output)
    if activation.name == "softmax":
        raise ValueError(
            "conv2d cannot use softmax (it would normalise over the width axis); "
            "add flatten and a dense softmax layer"
        )
    padding = spec.get("padding", "valid")
    if padding not in PADDINGS:
        raise ValueError(f"conv2d layer: padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
    return Conv2D(
        input_shape,
        _int_field(spec, "filters"),
        _kernel_field(spec),
        _int_field(spec, "stride", 1),
        str(padding),
        activation,
        dtype,
    )


def _build_pool(cls: type[MaxPool2D] | type[AvgPool2D]) -> Builder:
    def build(
        spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
    ) -> Layer:
        _check_keys(spec, ("size", "stride"))
        size = _int_field(spec, "size")
        return cls(input_shape, size, _int_field(spec, "stride", size), dtype)

    return build


def _build_flatten(
    spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
) -> Layer:
    _check_keys(spec, ())
    return Flatten(input_shape, dtype)


def _build_rnn(
    spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
) -> Layer:
    _check_keys(spec, ("units", "activation", "return_sequences", "truncate"))
    return SimpleRNN(
        input_shape,
        _int_field(spec, "units"),
        _activation_field(spec, is_output, default="tanh"),
        _bool_field(spec, "return_sequences", False),
        _truncate_field(spec),
        dtype,
    )


def _build_lstm(
    spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
) -> Layer:
    _check_keys(spec, ("units", "return_sequences", "forget_bias", "truncate"))
    return LSTM(
        input_shape,
        _int_field(spec, "units"),
        _bool_field(spec, "return_sequences", False),
        _truncate_field(spec),
        _number_field(spec, "forget_bias", DEFAULT_FORGET_BIAS),
        dtype,
    )


LAYER_BUILDERS: dict[str, Builder] = {
    "dense": _build_dense,
    "conv2d": _build_conv2d,
    "maxpool2d": _build_pool(MaxPool2D),
    "avgpool2d": _build_pool(AvgPool2D),
    "flatten": _build_flatten,
    "rnn": _build_rnn,
    "lstm": _build_lstm,
}


def build_layer(
    spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
) -> Layer:
    """Build one layer from its config dict; mistakes raise ``ValueError`` naming the field."""
    if not isinstance(spec, dict):
        raise ValueError(f"a layer must be an object like {{'type': 'dense', ...}}, got {spec!r}")
    kind = spec.get("type")
    builder = LAYER_BUILDERS.get(str(kind))
    if builder is None:
        known = ", ".join(sorted(LAYER_BUILDERS))
        raise ValueError(f"unknown layer type {kind!r}; choose one of: {known}")
    return builder(spec, input_shape, dtype, is_output)
