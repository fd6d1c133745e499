"""The explanation of a gradient is the trace's own numbers, and its factors multiply back to it."""

from __future__ import annotations

import numpy as np
import pytest

from engine.explain import explain_node, explain_parameter, explain_sample
from engine.session import TrainingSession


@pytest.fixture(params=["sgd-momentum", "adam"])
def traced(request: pytest.FixtureRequest) -> TrainingSession:
    optimizer = (
        {"name": "sgd", "lr": 0.1, "momentum": 0.9}
        if request.param == "sgd-momentum"
        else {"name": "adam", "lr": 0.01}
    )
    s = TrainingSession(
        {
            "model": {
                "layers": [
                    {"type": "dense", "units": 3, "activation": "tanh"},
                    {"type": "dense", "units": 2, "activation": "tanh"},
                    {"type": "dense", "units": 1, "activation": "sigmoid"},
                ],
                "loss": "bce",
            },
            "data": {"dataset": "xor", "samples": 100, "noise": 0.1},
            "training": {
                "optimizer": optimizer,
                "batch_size": 5,
                "regularization": {"kind": "l2", "rate": 0.01},
            },
            "seed": 3,
        }
    )
    s.step(7)
    s.step(1, "full")
    return s


def test_weight_gradient_is_the_sum_of_a_i_times_delta_j_plus_the_regularizer(
    traced: TrainingSession,
) -> None:
    trace = traced.last_trace
    assert trace is not None
    for layer, (i, j) in ((0, (1, 2)), (1, (2, 0)), (2, (1, 0))):
        e = explain_parameter(traced.network, trace, layer, "W", (i, j))
        assert e["kind"] == "weight"
        np.testing.assert_allclose(e["products"], e["a_i"] * e["delta_factors"]["delta"])
        assert e["grad_data"] + e["grad_reg"] == pytest.approx(e["grad"], rel=1e-12, abs=1e-15)
        assert e["grad"] == trace.layers[layer]["grad_W"][i, j]
        assert e["update"] == trace.layers[layer]["update_W"][i, j]
        assert e["value_after"] == pytest.approx(traced.network.get_params()[layer]["W"][i, j], rel=1e-14)


def test_hidden_delta_is_f_prime_times_the_downstream_sum(traced: TrainingSession) -> None:
    trace = traced.last_trace
    assert trace is not None
    factors = explain_node(traced.network, trace, 1, 1)["delta_factors"]
    np.testing.assert_allclose(factors["delta"], factors["fprime"] * factors["downstream"], rtol=1e-12)
    output = explain_node(traced.network, trace, 2, 0)["delta_factors"]
    assert output["source"] == "loss"
    np.testing.assert_allclose(output["delta"], (output["a"] - output["target"]) / 5, rtol=1e-12)


def test_optimizer_state_shown_is_the_state_after_the_step(traced: TrainingSession) -> None:
    trace = traced.last_trace
    assert trace is not None
    e = explain_parameter(traced.network, trace, 0, "W", (0, 0))
    flat = traced.network.slot(0, "W").offset
    buffers = traced.optimizer.buffers()
    name = "momentum_buffer" if "momentum_buffer" in buffers else "exp_avg"
    assert e["optimizer"][name] == pytest.approx(float(buffers[name][flat]), rel=1e-14)


def test_one_sample_explanation_is_a_batch_of_one(traced: TrainingSession) -> None:
    x = traced.data.x_train[0]
    y = traced.data.y_train[0]
    layers = explain_sample(traced.network, x, y)
    out = layers[-1]
    np.testing.assert_allclose(out["delta"][0], out["a"][0] - y, rtol=1e-12)


def test_explaining_outside_the_network_is_a_clear_error(traced: TrainingSession) -> None:
    trace = traced.last_trace
    assert trace is not None
    with pytest.raises(ValueError, match="outside"):
        explain_parameter(traced.network, trace, 0, "W", (5, 0))
    with pytest.raises(ValueError, match="does not exist"):
        explain_parameter(traced.network, trace, 9, "W", (0, 0))
    with pytest.raises(ValueError, match="no parameter"):
        explain_parameter(traced.network, trace, 0, "Q", (0, 0))
