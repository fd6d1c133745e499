"""docs/cnn-rnn.md names every field the conv and recurrent explanations return, and the lstm defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from engine.explain_spatial import (
    explain_conv_input,
    explain_conv_kernel,
    explain_conv_position,
    explain_recurrent_step,
)
from engine.layers import build_layer
from engine.layers.lstm import DEFAULT_FORGET_BIAS
from engine.session import TrainingSession

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cnn-rnn.md").read_text()
DOCUMENTED = set(re.findall(r"`([a-zA-Z_]+)`", DOC))


def traced(config: dict[str, Any]) -> TrainingSession:
    s = TrainingSession(config)
    s.step(1, "full")
    return s


def undocumented(result: dict[str, Any]) -> set[str]:
    keys = set(result)
    for nested in ("backward", "gates"):
        keys |= set(result.get(nested, {}))
    return keys - DOCUMENTED


def test_every_field_of_every_explanation_is_documented() -> None:
    cnn = traced(
        {
            "model": {
                "input_shape": [1, 8, 8],
                "layers": [
                    {"type": "conv2d", "filters": 2, "kernel": 3, "activation": "relu"},
                    {"type": "maxpool2d", "size": 2},
                    {"type": "flatten"},
                    {"type": "dense", "units": 10, "activation": "softmax"},
                ],
            },
            "data": {"dataset": "digits", "samples": 40},
            "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 4},
        }
    )
    net, trace = cnn.network, cnn.last_trace
    assert trace is not None
    results = [
        explain_conv_position(net, trace, 0, 0, 0, 1, 1),
        explain_conv_kernel(net, trace, 0, 0, 0, 1, 1),
        explain_conv_input(net, trace, 0, 0, 0, 1, 1),
    ]
    for kind in ("rnn", "lstm"):
        rnn = traced(
            {
                "model": {"layers": [{"type": kind, "units": 2}, {"type": "dense", "units": 1}]},
                "data": {"dataset": "adding", "length": 4, "samples": 20},
                "training": {"optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 4},
            }
        )
        assert rnn.last_trace is not None
        results.append(explain_recurrent_step(rnn.network, rnn.last_trace, 0, 0, 1))
    for result in results:
        assert undocumented(result) == set(), result["kind"]


def test_the_documented_lstm_gate_order_and_forget_bias_are_the_engines() -> None:
    assert "Gate order **(i, f, g, o)**" in DOC
    assert f"default **{DEFAULT_FORGET_BIAS}**" in DOC
    lstm = build_layer({"type": "lstm", "units": 3}, (5, 2), np.dtype("float64"), False)
    assert lstm.describe()["gate_order"] == ["i", "f", "g", "o"]
