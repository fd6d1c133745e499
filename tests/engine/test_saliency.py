"""∂L/∂X of the network's input agrees with central finite differences of the step's data loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.saliency import input_gradient
from engine.session import TrainingSession
from engine.trace import StepTrace

IMAGE = {"dataset": "digits", "samples": 60}
# Max pooling is not differentiable where a window ties (digits have runs of 0 pixels): random
# images without ties for the networks that pool.
_rng = np.random.default_rng(11)
RANDOM_IMAGES = {"x": _rng.normal(size=(30, 1, 8, 8)).tolist(), "y": _rng.integers(0, 10, 30).tolist()}
SEQUENCE = {"dataset": "adding", "samples": 40, "length": 6}

CASES: dict[str, tuple[list[dict[str, Any]], str, dict[str, Any], list[int] | None]] = {
    "conv valid": (
        [
            {"type": "conv2d", "filters": 3, "kernel": 3, "activation": "tanh"},
            {"type": "flatten"},
            {"type": "dense", "units": 10, "activation": "softmax"},
        ],
        "cross_entropy",
        IMAGE,
        None,
    ),
    "conv same stride 2": (
        [
            {
                "type": "conv2d",
                "filters": 2,
                "kernel": [2, 3],
                "stride": 2,
                "padding": "same",
                "activation": "tanh",
            },
            {"type": "maxpool2d", "size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 10, "activation": "softmax"},
        ],
        "cross_entropy",
        RANDOM_IMAGES,
        None,
    ),
    "flatten first": (
        [{"type": "flatten"}, {"type": "dense", "units": 10, "activation": "softmax"}],
        "cross_entropy",
        IMAGE,
        None,
    ),
    "max pool first": (
        [
            {"type": "maxpool2d", "size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 10, "activation": "softmax"},
        ],
        "cross_entropy",
        RANDOM_IMAGES,
        None,
    ),
    "avg pool first": (
        [
            {"type": "avgpool2d", "size": 3, "stride": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 10, "activation": "softmax"},
        ],
        "cross_entropy",
        IMAGE,
        None,
    ),
    "lstm": (
        [{"type": "lstm", "units": 4}, {"type": "dense", "units": 1, "activation": "linear"}],
        "mse",
        SEQUENCE,
        None,
    ),
    "stacked rnn": (
        [
            {"type": "rnn", "units": 4, "return_sequences": True},
            {"type": "rnn", "units": 3},
            {"type": "dense", "units": 1, "activation": "linear"},
        ],
        "mse",
        SEQUENCE,
        None,
    ),
    "dense on plane data": (
        [
            {"type": "dense", "units": 5, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "bce",
        {"dataset": "circle", "samples": 60},
        [2],
    ),
}


def traced(
    layers: list[dict[str, Any]], loss: str, data: dict[str, Any], input_shape: list[int] | None
) -> tuple[Any, StepTrace]:
    model: dict[str, Any] = {"layers": layers, "loss": loss}
    if input_shape is not None:
        model["input_shape"] = input_shape
    s = TrainingSession(
        {
            "model": model,
            "data": data,
            "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 3},
            "seed": 4,
        }
    )
    s.step(2)
    trace = s.step(1, "full").trace
    assert trace is not None
    return s.network, trace


def numeric_gradient(net: Any, trace: StepTrace, eps: float = 1e-6) -> Any:
    twin = net.clone()
    twin.theta[...] = trace.theta_before  # the parameters the step used
    X = trace.X.copy()
    grad = np.zeros_like(X)
    for index in np.ndindex(*X.shape):
        keep = X[index]
        X[index] = keep + eps
        up = twin.total_loss(X, trace.Y)
        X[index] = keep - eps
        down = twin.total_loss(X, trace.Y)
        X[index] = keep
        grad[index] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("case", list(CASES))
def test_the_input_gradient_matches_central_differences_of_the_loss(case: str) -> None:
    net, trace = traced(*CASES[case])
    analytic = input_gradient(net, trace)
    assert analytic.shape == trace.X.shape
    numeric = numeric_gradient(net, trace)
    scale = max(float(np.abs(numeric).max()), 1e-12)
    assert float(np.abs(analytic - numeric).max()) / scale < 1e-6
    assert float(np.abs(analytic).max()) > 0


def test_the_input_gradient_needs_a_full_trace() -> None:
    net, trace = traced(*CASES["conv valid"])
    short = StepTrace(
        summary=trace.summary,
        indices=trace.indices,
        X=trace.X,
        Y=trace.Y,
        layers=trace.layers[:1],
        theta_before=trace.theta_before,
        optimizer_state=trace.optimizer_state,
        optimizer_name=trace.optimizer_name,
    )
    with pytest.raises(ValueError, match="full trace"):
        input_gradient(net, short)


def test_under_truncation_the_input_gradient_is_the_one_truncated_bptt_propagates() -> None:
    # many-to-one, k = 2: the last two inputs get their exact gradient, the earlier ones none
    layers = [
        {"type": "rnn", "units": 4, "truncate": 2},
        {"type": "dense", "units": 1, "activation": "linear"},
    ]
    net, trace = traced(layers, "mse", SEQUENCE, None)
    analytic = input_gradient(net, trace)
    numeric = numeric_gradient(net, trace)
    scale = float(np.abs(numeric).max())
    assert float(np.abs(analytic[:, -2:] - numeric[:, -2:]).max()) / scale < 1e-6
    assert not analytic[:, :-2].any()
    assert np.abs(numeric[:, :-2]).max() > 1e-6  # the true gradient does reach them
