"""Time travel: any recorded step is rebuilt bit for bit; gradient checks catch wrong gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.gradcheck import gradient_check
from engine.layers import LAYER_BUILDERS, Dense
from engine.network import Network
from engine.recording import Recorder
from engine.session import TrainingSession

CONFIG: dict[str, Any] = {
    "model": {
        "layers": [
            {"type": "dense", "units": 6, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "bce",
    },
    "data": {"dataset": "moons", "samples": 120, "noise": 0.1},
    "training": {"optimizer": {"name": "adam", "lr": 0.02}, "batch_size": 8},
    "seed": 5,
}


def test_reconstructing_any_step_equals_the_state_the_run_had_there() -> None:
    live = TrainingSession(CONFIG)
    recorder = Recorder(min_gap=7, max_snapshots=8)
    recorder.capture(live, pin=True)
    seen: dict[int, bytes] = {}
    for chunk in (5, 9, 13, 3, 21, 8, 40, 17, 30, 11):
        for _ in range(chunk):
            live.step(1)
            seen[live.step_count] = live.network.theta.tobytes()
        recorder.capture(live)
    assert len(recorder.snapshots) <= 8
    first = recorder.first_step
    assert first is not None
    for step in (first + 1, 20, 57, 100, live.step_count - 1, live.step_count):
        rebuilt, result = recorder.reconstruct(step)
        assert rebuilt.step_count == step
        assert rebuilt.network.theta.tobytes() == seen[step]
        assert result is not None and result.trace is not None and result.trace.step == step


def test_changes_pinned_between_snapshots_replay_with_the_rules_of_their_time() -> None:
    live = TrainingSession(CONFIG)
    recorder = Recorder(min_gap=50)
    recorder.capture(live, pin=True)
    live.step(30)
    live.apply_training_changes({"optimizer": {"lr": 0.2}, "batch_size": 3})
    recorder.capture(live, pin=True)
    live.step(25)
    expected = live.network.theta.tobytes()
    rebuilt, _ = recorder.reconstruct(55)
    assert rebuilt.network.theta.tobytes() == expected


def test_spacing_thins_out_with_age_within_the_snapshot_budget() -> None:
    live = TrainingSession(CONFIG)
    recorder = Recorder(min_gap=1, max_snapshots=32)
    for _ in range(600):
        live.step(1)
        recorder.capture(live)
    steps = recorder.steps()
    assert len(steps) == 32
    gaps = np.diff(steps)
    assert gaps[:8].mean() > gaps[-8:].mean()  # old snapshots sparse, recent ones dense
    assert steps[-1] == 600


def test_steps_before_the_recorded_range_are_refused() -> None:
    live = TrainingSession(CONFIG)
    live.step(10)
    recorder = Recorder()
    recorder.capture(live)
    with pytest.raises(ValueError, match="before the recorded range"):
        recorder.reconstruct(3)


def test_gradient_check_passes_on_healthy_networks_in_float32_sessions_too() -> None:
    for dtype in ("float64", "float32"):
        config = {**CONFIG, "model": {**CONFIG["model"], "dtype": dtype}}
        s = TrainingSession(config)
        s.step(20)
        trace = s.step(1, "full").trace
        assert trace is not None
        check = gradient_check(s.network, trace.X, trace.Y)
        assert check.ok, check.relative_error
        assert check.relative_error <= 1e-6


class _WrongDense(Dense):
    """A test-only layer whose weight gradient is off by 1 %."""

    def backward(self, dA: Any, need_dX: bool) -> Any:
        dX = super().backward(dA, need_dX)
        self.grads["W"] *= 1.01
        return dX


def test_gradient_check_flags_a_deliberately_wrong_gradient() -> None:
    from engine.activations import get_activation

    def build(spec: dict[str, Any], shape: tuple[int, ...], dtype: Any, is_output: bool) -> Any:
        return _WrongDense(shape, int(spec["units"]), get_activation(spec.get("activation", "linear")), dtype)

    LAYER_BUILDERS["wrong_dense"] = build
    try:
        net = Network(
            [2],
            [
                {"type": "wrong_dense", "units": 4, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "bce",
        )
        net.initialize(np.random.default_rng(0))
        X = np.random.default_rng(1).normal(size=(6, 2))
        Y = (X[:, :1] > 0).astype(float)
        check = gradient_check(net, X, Y)
        assert not check.ok
        assert check.relative_error > 1e-3
    finally:
        del LAYER_BUILDERS["wrong_dense"]
