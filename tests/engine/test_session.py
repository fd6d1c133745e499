"""A training session: deterministic, resumable bit for bit, stable, and honest about divergence."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from engine.session import TrainingSession


def playground(**training: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "loss": "bce",
        },
        "data": {
            "dataset": "circle",
            "samples": 200,
            "noise": 0.1,
            "train_fraction": 0.5,
            "features": ["x1", "x2"],
        },
        "training": {"optimizer": {"name": "sgd", "lr": 0.03}, "batch_size": 10},
        "seed": 7,
    }
    config["training"].update(training)
    return config


def test_same_seed_gives_byte_identical_weights_after_1000_steps() -> None:
    a = TrainingSession(playground(optimizer={"name": "adam", "lr": 0.01}))
    b = TrainingSession(playground(optimizer={"name": "adam", "lr": 0.01}))
    a.step(1000)
    b.step(1000)
    assert a.network.theta.tobytes() == b.network.theta.tobytes()
    c = TrainingSession({**playground(), "seed": 8})
    c.step(10)
    a2 = TrainingSession(playground())
    a2.step(10)
    assert c.network.theta.tobytes() != a2.network.theta.tobytes()


@pytest.mark.parametrize(
    "training",
    [
        {"optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}},
        {
            "optimizer": {"name": "adam", "lr": 0.01, "amsgrad": True},
            "schedule": {"name": "cosine", "t_max": 50},
        },
        {
            "optimizer": {"name": "rmsprop", "lr": 0.01, "centered": True, "momentum": 0.5},
            "regularization": {"kind": "l2", "rate": 0.001},
            "clip_norm": 1.0,
            "ema_decay": 0.9,
        },
        {"optimizer": {"name": "adagrad", "lr": 0.1}, "batch_size": 7},
    ],
)
def test_state_then_from_state_continues_bitwise_equal_to_an_uninterrupted_run(
    training: dict[str, Any],
) -> None:
    straight = TrainingSession(playground(**training))
    straight.step(137)
    resumed_from = TrainingSession(playground(**training))
    resumed_from.step(60)
    state = copy.deepcopy(resumed_from.state())
    resumed = TrainingSession.from_state(state)
    resumed.step(77)
    assert resumed.network.theta.tobytes() == straight.network.theta.tobytes()
    assert resumed.step_count == straight.step_count and resumed.epoch == straight.epoch
    np.testing.assert_array_equal(resumed.history.steps.column("loss"), straight.history.steps.column("loss"))
    if straight.ema is not None:
        assert resumed.ema is not None
        assert resumed.ema.values.tobytes() == straight.ema.values.tobytes()


def test_reset_replays_exactly_the_same_initial_weights_and_batches() -> None:
    s = TrainingSession(playground())
    start = s.network.theta.copy()
    first = s.step(30).losses.copy()
    s.reset()
    assert s.step_count == 0 and s.epoch == 0
    np.testing.assert_array_equal(s.network.theta, start)
    np.testing.assert_array_equal(s.step(30).losses, first)


def test_live_changes_keep_the_weights_and_apply_at_once() -> None:
    s = TrainingSession(playground(optimizer={"name": "sgd", "lr": 0.03, "momentum": 0.9}))
    s.step(20)
    before = s.network.theta.copy()
    buf = s.optimizer.buffers()["momentum_buffer"].copy()
    s.apply_training_changes(
        {"optimizer": {"lr": 0.5}, "batch_size": 3, "regularization": {"kind": "l1", "rate": 0.01}}
    )
    np.testing.assert_array_equal(s.network.theta, before)
    np.testing.assert_array_equal(s.optimizer.buffers()["momentum_buffer"], buf)
    result = s.step(1, "summary")
    assert result.summary is not None and result.summary.lr == 0.5
    assert s.batch_size == 3 and s.network.reg_kind == "l1"
    with pytest.raises(ValueError):
        s.apply_training_changes({"optimizer": {"lr": float("nan")}})
    assert s.base_lr == 0.5


def test_a_full_trace_holds_copies_that_later_steps_never_change() -> None:
    s = TrainingSession(playground())
    trace = s.step(1, "full").trace
    assert trace is not None
    snapshot = copy.deepcopy(trace.layers)
    s.step(50)
    for kept, now in zip(snapshot, trace.layers):
        for key in kept:
            np.testing.assert_array_equal(kept[key], now[key])


def test_full_trace_fields_are_consistent_with_the_update_rule() -> None:
    s = TrainingSession(
        playground(optimizer={"name": "sgd", "lr": 0.1}, regularization={"kind": "l2", "rate": 0.01})
    )
    before = [p["W"].copy() for p in s.network.get_params()]
    trace = s.step(1, "full").trace
    assert trace is not None
    for k, layer in enumerate(trace.layers):
        assert set(layer) >= {"z", "a", "delta", "grad_W", "grad_b", "update_W", "update_b"}
        np.testing.assert_allclose(layer["update_W"], -0.1 * layer["grad_W"], rtol=1e-12)
        np.testing.assert_allclose(s.network.get_params()[k]["W"], before[k] + layer["update_W"], rtol=1e-12)
    assert len(trace.indices) == 10 and trace.X.shape == (10, 2)
    summary = trace.summary
    assert summary.step == 1 and summary.reg_loss > 0
    assert summary.loss == pytest.approx(summary.data_loss + summary.reg_loss)


@pytest.mark.parametrize("lr", [10.0, 1e6])
def test_a_huge_learning_rate_is_reported_as_divergence_and_recovery_restores_the_best_weights(
    lr: float,
) -> None:
    s = TrainingSession(playground(optimizer={"name": "sgd", "lr": lr}))
    result = s.step(2000)
    assert result.divergence is not None
    assert result.steps_done < 2000
    assert np.all(np.isfinite(s.network.theta))
    assert "learning rate" in result.divergence.message
    assert s.step(5).steps_done == 0  # refuses until recovered
    best_step = result.divergence.details.get("best_step", 0)
    restored_from = s.recover(lr=0.03)
    assert restored_from == best_step
    assert s.evaluate()["train_loss"] < 0.8  # back to the healthy weights, not the blown-up ones
    # the loss reported from now on is that of the restored weights, not the diverged ones
    last = s.history.evals.last()
    assert last is not None and last["step"] == s.step_count
    assert last["train_loss"] == s.evaluate()["train_loss"]
    assert last["test_loss"] == s.evaluate()["test_loss"]
    assert s.step(5).steps_done == 5


def test_a_healthy_run_never_reports_divergence() -> None:
    s = TrainingSession(playground(optimizer={"name": "sgd", "lr": 0.1}))
    assert s.step(3000).divergence is None


def test_relu_mse_regression_at_lr_ten_diverges_and_reports_where() -> None:
    config = {
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "relu"},
                {"type": "dense", "units": 1, "activation": "linear"},
            ],
            "loss": "mse",
        },
        "data": {"dataset": "reg-plane", "samples": 200, "noise": 0.0},
        "training": {"optimizer": {"name": "sgd", "lr": 10.0}, "batch_size": 10},
    }
    s = TrainingSession(config)
    result = s.step(500)
    assert result.divergence is not None
    assert result.divergence.quantity in ("loss", "gradient", "update")
    assert np.all(np.isfinite(s.network.theta))


@pytest.mark.parametrize(
    "data",
    [
        {"x": [[1.0, 1.0]] * 20, "y": [1.0] * 10 + [0.0] * 10},  # all-equal inputs
        {"x": [[0.0, 0.0]] * 20, "y": [0.0] * 20},  # zero-variance data and targets
        {"x": [[1e6, -1e6], [-1e6, 1e6]] * 10, "y": [1.0, 0.0] * 10},  # huge inputs → saturated logits
    ],
)
def test_degenerate_data_never_raises_anything_but_a_divergence_report(data: dict[str, Any]) -> None:
    config = playground()
    config["data"] = data
    s = TrainingSession(config)
    result = s.step(300)
    assert result.divergence is None or np.all(np.isfinite(s.network.theta))
    assert all(np.isfinite(result.losses))


def test_history_is_bounded_and_evenly_thinned() -> None:
    s = TrainingSession(playground(batch_size=100))
    s.history.steps.capacity = s.history.steps.capacity  # default capacity
    s.step(20_000)
    steps = s.history.steps.steps
    assert len(steps) <= s.history.steps.capacity
    gaps = np.diff(steps)
    assert gaps.min() == gaps.max() == s.history.steps.stride


def test_evaluation_records_train_and_test_loss_and_accuracy_each_epoch() -> None:
    s = TrainingSession(playground())
    s.step(30)  # 100 training points, batch 10: 3 epochs
    evals = s.history.evals
    assert list(evals.steps) == [0, 10, 20, 30]
    last = evals.last()
    assert last is not None and 0 <= last["test_accuracy"] <= 1 and last["train_loss"] > 0


def test_caller_mistakes_raise_value_errors_naming_the_value() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        TrainingSession(playground(batch_size=0))
    with pytest.raises(ValueError, match="lr"):
        TrainingSession(playground(optimizer={"name": "sgd", "lr": -1}))
    with pytest.raises(ValueError, match="unknown"):
        TrainingSession(
            {
                "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}], "loss": "bce"},
                "oops": 1,
            }
        )
    s = TrainingSession(playground())
    with pytest.raises(ValueError, match="steps"):
        s.step(-1)
    with pytest.raises(ValueError, match="trace"):
        s.step(1, "everything")  # type: ignore[arg-type]


def test_a_data_seed_redraws_the_data_but_keeps_the_initial_weights() -> None:
    base = playground()
    a = TrainingSession({**base, "data": {**base["data"], "seed": 3}})
    b = TrainingSession({**base, "data": {**base["data"], "seed": 4}})
    assert a.network.theta.tobytes() == b.network.theta.tobytes()
    assert not np.array_equal(a.data.x_train, b.data.x_train)
    with pytest.raises(ValueError, match=r"data\.seed"):
        TrainingSession({**base, "data": {**base["data"], "seed": -1}})


@pytest.mark.parametrize("batch_size", [1, 7, 10, 64, 500])
def test_steps_until_epoch_is_exactly_the_steps_that_complete_it(batch_size: int) -> None:
    config = playground()
    config["training"]["batch_size"] = batch_size
    s = TrainingSession(config)
    s.step(3)  # start mid-epoch
    for target in (s.epoch + 1, s.epoch + 3):
        left = s.steps_until_epoch(target)
        if left > 1:
            s.step(left - 1)
            assert s.epoch == target - 1  # one step short is still the epoch before
            left = 1
        s.step(left)
        assert s.epoch == target and s.steps_until_epoch(target) == 0
