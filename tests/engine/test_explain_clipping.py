"""A clipped step's explanation shows the clipping factor, and (Σ + regularization) × factor is ∂L/∂w.

Also: an output δ that the loss gives directly, (a − y)/N, comes without an unused f′(z).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.explain import clip_scale, explain_node, explain_parameter
from engine.network import Network
from engine.session import TrainingSession
from engine.trace import StepTrace

CLIP = 0.01


def traced(config: dict[str, Any], steps: int = 2) -> tuple[Network, StepTrace]:
    s = TrainingSession(config)
    s.step(steps - 1)
    trace = s.step(1, "full").trace
    assert trace is not None
    return s.network, trace


def playground(**training: Any) -> tuple[Network, StepTrace]:
    """The default 2-8-8-1 tanh/sigmoid playground on circle, in float64."""
    return traced({"model": {"dtype": "float64"}, "training": training, "seed": 0})


@pytest.mark.parametrize(
    "regularization",
    [{"kind": "l1", "rate": 0.01}, {"kind": "l2", "rate": 0.05}, {"kind": "none", "rate": 0.0}],
)
def test_a_clipped_weight_gradient_is_the_batch_sum_plus_the_regularizer_times_the_clip_factor(
    regularization: dict[str, Any],
) -> None:
    net, trace = playground(clip_norm=CLIP, regularization=regularization)
    assert trace.summary.clipped and trace.summary.grad_norm > CLIP
    for layer, index in ((0, (1, 4)), (1, (3, 6)), (2, (5, 0))):
        e = explain_parameter(net, trace, layer, "W", index)
        assert e["clipped"] is True
        assert e["grad"] == trace.layers[layer]["grad_W"][index]
        assert e["clip_scale"] == pytest.approx(CLIP / trace.summary.grad_norm, rel=1e-13)
        assert (e["grad_data"] + e["grad_reg"]) * e["clip_scale"] == pytest.approx(
            e["grad"], rel=1e-12, abs=1e-18
        )
        assert "clip_scale" in e["formula"]


def test_clipping_scales_the_regularizer_too_because_the_step_clips_after_adding_it() -> None:
    # the walkthrough's case: a weight whose L1 term is as large as its data gradient
    net, trace = playground(clip_norm=CLIP, regularization={"kind": "l1", "rate": 0.01})
    e = explain_parameter(net, trace, 0, "W", (1, 4))
    assert e["grad_reg"] == pytest.approx(0.01 * np.sign(e["value_before"]))
    reg_left_unscaled = e["grad_data"] * e["clip_scale"] + e["grad_reg"]
    assert abs(reg_left_unscaled - e["grad"]) > 1e-3 * abs(e["grad_reg"])
    assert (e["grad_data"] + e["grad_reg"]) * e["clip_scale"] == pytest.approx(e["grad"], rel=1e-12)


def test_a_clipped_bias_gradient_is_the_batch_sum_of_delta_times_the_clip_factor() -> None:
    net, trace = playground(clip_norm=CLIP, regularization={"kind": "l2", "rate": 0.05})
    e = explain_parameter(net, trace, 1, "b", (2,))
    assert e["grad_reg"] == 0.0
    assert e["grad_data"] * e["clip_scale"] == pytest.approx(e["grad"], rel=1e-12, abs=1e-18)
    assert e["grad"] == trace.layers[1]["grad_b"][2]


def test_an_unclipped_step_has_a_clip_factor_of_exactly_one() -> None:
    net, trace = playground(clip_norm=1e6, regularization={"kind": "l1", "rate": 0.01})
    assert not trace.summary.clipped
    e = explain_parameter(net, trace, 0, "W", (1, 4))
    assert e["clipped"] is False and e["clip_scale"] == 1.0
    assert "clip_scale" not in e["formula"]
    assert e["grad_data"] + e["grad_reg"] == pytest.approx(e["grad"], rel=1e-12)


def test_the_clip_factor_of_a_recurrent_network_counts_only_its_parameters_gradients() -> None:
    # a recurrent layer's trace also holds per-step gradient shares: they are not part of ‖g‖
    net, trace = traced(
        {
            "model": {"layers": [{"type": "rnn", "units": 3}, {"type": "dense", "units": 1}], "loss": "mse"},
            "data": {"dataset": "sine-next", "length": 6, "samples": 50, "target": "last"},
            "training": {"clip_norm": 1e-3, "batch_size": 4},
            "seed": 2,
        }
    )
    assert trace.summary.clipped
    assert "grad_W_h_per_step" in trace.layers[0]
    assert clip_scale(net, trace) == pytest.approx(1e-3 / trace.summary.grad_norm, rel=1e-12)
    e = explain_parameter(net, trace, 0, "W_h", (1, 2))
    assert e["clip_scale"] == clip_scale(net, trace)


@pytest.mark.parametrize(
    ("units", "activation", "loss"), [(1, "sigmoid", "bce"), (3, "softmax", "cross_entropy")]
)
def test_an_output_delta_the_loss_gives_directly_has_no_f_prime_factor(
    units: int, activation: str, loss: str
) -> None:
    dataset = {"dataset": "blobs", "classes": 3} if units == 3 else {"dataset": "xor"}
    net, trace = traced(
        {
            "model": {
                "layers": [
                    {"type": "dense", "units": 4, "activation": "tanh"},
                    {"type": "dense", "units": units, "activation": activation},
                ],
                "loss": loss,
            },
            "data": {**dataset, "samples": 60},
            "training": {"batch_size": 6},
        }
    )
    factors = explain_node(net, trace, 1, 0)["delta_factors"]
    assert factors["source"] == "loss"
    assert "fprime" not in factors
    assert "f′(z)" in factors["fprime_note"]
    np.testing.assert_allclose(factors["delta"], (factors["a"] - factors["target"]) / 6, rtol=1e-12)


def test_an_mse_output_delta_uses_f_prime_and_shows_it() -> None:
    net, trace = traced(
        {
            "model": {
                "layers": [
                    {"type": "dense", "units": 4, "activation": "tanh"},
                    {"type": "dense", "units": 1, "activation": "sigmoid"},
                ],
                "loss": "mse",
            },
            "data": {"dataset": "xor", "samples": 60},
            "training": {"batch_size": 6},
        }
    )
    factors = explain_node(net, trace, 1, 0)["delta_factors"]
    assert "fprime_note" not in factors
    expected = 2 * (factors["a"] - factors["target"]) / 6 * factors["fprime"]
    np.testing.assert_allclose(factors["delta"], expected, rtol=1e-12)
