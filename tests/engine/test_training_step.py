"""The training step's fast paths change nothing a user can see: traces, schedules, divergence, dtypes."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from engine.network import Network
from engine.session import TrainingSession


def playground(**training: Any) -> dict[str, Any]:
    return {
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "loss": "bce",
        },
        "data": {"dataset": "circle", "samples": 120, "noise": 0.1, "train_fraction": 0.5},
        "training": {"optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 7, **training},
        "seed": 11,
    }


@pytest.mark.parametrize("level", ["summary", "full"])
def test_tracing_every_step_trains_bit_for_bit_like_not_tracing(level: str) -> None:
    plain = TrainingSession(playground())
    traced = TrainingSession(playground())
    plain.step(40)
    for _ in range(40):
        traced.step(1, level)  # type: ignore[arg-type]
    assert traced.network.theta.tobytes() == plain.network.theta.tobytes()
    np.testing.assert_array_equal(traced.history.steps.column("loss"), plain.history.steps.column("loss"))


def test_a_trace_shows_the_batch_rows_it_trained_on_even_after_later_epochs() -> None:
    s = TrainingSession(playground())
    s.step(5)
    trace = s.step(1, "full").trace
    assert trace is not None
    X, Y, idx = trace.X.copy(), trace.Y.copy(), trace.indices.copy()
    np.testing.assert_array_equal(X, s.data.x_train[idx])
    np.testing.assert_array_equal(Y, s.data.y_train[idx])
    s.step(100)  # many new epochs, each with a new order
    np.testing.assert_array_equal(trace.X, X)
    np.testing.assert_array_equal(trace.Y, Y)
    np.testing.assert_array_equal(trace.indices, idx)


def test_every_sample_is_used_once_per_epoch() -> None:
    s = TrainingSession(playground(batch_size=13))
    n_train = len(s.data.x_train)
    seen = []
    while s.epoch == 0:
        trace = s.step(1, "full").trace
        assert trace is not None
        seen.extend(trace.indices.tolist())
    assert sorted(seen) == list(range(n_train))


def test_switching_from_a_constant_rate_to_a_schedule_takes_effect_at_once() -> None:
    s = TrainingSession(playground())
    assert s.step(3).lrs.tolist() == [0.1, 0.1, 0.1]
    s.apply_training_changes({"schedule": {"name": "step", "step_size": 1, "gamma": 0.5}})
    assert s.step(2).lrs.tolist() == [0.1 * 0.5**3, 0.1 * 0.5**4]
    s.apply_training_changes({"schedule": None, "optimizer": {"lr": 0.2}})
    assert s.step(2).lrs.tolist() == [0.2, 0.2]


def test_plain_sgd_still_reports_an_update_that_overflows() -> None:
    config = playground(optimizer={"name": "sgd", "lr": 1e300})
    config["model"]["dtype"] = "float32"
    s = TrainingSession(config)
    before = s.network.theta.copy()
    result = s.step(3)
    assert result.divergence is not None and result.divergence.quantity == "update"
    assert result.steps_done == 0
    np.testing.assert_array_equal(s.network.theta, before)


def test_a_float32_network_accepts_float64_inputs() -> None:
    layers = [
        {"type": "dense", "units": 4, "activation": "tanh"},
        {"type": "dense", "units": 1, "activation": "sigmoid"},
    ]
    net = Network([2], layers, "bce", "float32")
    net.initialize(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 2))
    Y = (X[:, :1] > 0).astype(np.float64)
    loss, _ = net.gradients(X, Y)
    twin = copy.deepcopy(net)
    loss32, _ = twin.gradients(X.astype(np.float32), Y.astype(np.float32))
    assert loss == pytest.approx(loss32, rel=1e-5)
    np.testing.assert_allclose(net.grad, twin.grad, rtol=1e-4, atol=1e-6)
