"""Conv and recurrent explanations are the trace's own numbers, and their products sum to its gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.explain_spatial import (
    conv_input_gradient,
    explain_conv_input,
    explain_conv_kernel,
    explain_conv_position,
    explain_recurrent_step,
    layer_output_gradient,
)
from engine.network import Network
from engine.session import TrainingSession
from engine.trace import StepTrace

GEOMETRIES = [(1, "valid"), (1, "same"), (2, "valid"), (2, "same")]


def conv_session(
    stride: int, padding: str, pool: dict[str, Any] | None = None, activation: str = "relu", **training: Any
) -> tuple[Network, StepTrace]:
    """conv(3 filters, 3×3) → conv(2 filters, 2×3, 3 input channels) [→ pool] → flatten → softmax, traced."""
    layers: list[dict[str, Any]] = [
        {
            "type": "conv2d",
            "filters": 3,
            "kernel": 3,
            "stride": stride,
            "padding": padding,
            "activation": "tanh",
        },
        {
            "type": "conv2d",
            "filters": 2,
            "kernel": [2, 3],
            "stride": stride,
            "padding": padding,
            "activation": activation,
        },
    ]
    if pool is not None:
        layers.append(pool)
    layers += [{"type": "flatten"}, {"type": "dense", "units": 10, "activation": "softmax"}]
    s = TrainingSession(
        {
            "model": {"input_shape": [1, 8, 8], "layers": layers, "loss": "cross_entropy"},
            "data": {"dataset": "digits", "samples": 100},
            "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 4, **training},
            "seed": 1,
        }
    )
    s.step(3)
    trace = s.step(1, "full").trace
    assert trace is not None
    return s.network, trace


def weights_before(net: Network, trace: StepTrace, layer: int, name: str) -> Any:
    slot = net.slot(layer, name)
    return trace.theta_before[slot.offset : slot.stop].reshape(slot.shape)


# --- conv: forward -----------------------------------------------------------------


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_a_feature_map_value_is_the_patch_times_the_kernel_summed_plus_the_bias(
    stride: int, padding: str
) -> None:
    net, trace = conv_session(stride, padding)
    for layer in (0, 1):
        arrays = trace.layers[layer]
        x = arrays["input"]
        _, ho, wo = net.layers[layer].output_shape
        for n, f, r, c in [(0, 0, 0, 0), (1, 1, ho - 1, wo - 1), (3, 1, ho // 2, wo - 1), (2, 0, ho - 1, 0)]:
            e = explain_conv_position(net, trace, layer, n, f, r, c)
            np.testing.assert_array_equal(e["kernel"], weights_before(net, trace, layer, "W")[f])
            np.testing.assert_array_equal(e["products"], e["patch"] * e["kernel"])
            assert e["sum"] + e["bias"] == pytest.approx(arrays["z"][n, f, r, c], rel=1e-12, abs=1e-14)
            assert (e["z"], e["a"]) == (arrays["z"][n, f, r, c], arrays["a"][n, f, r, c])
            for i, row in enumerate(e["input_rows"]):  # the patch is the input under the kernel, 0 on padding
                for j, col in enumerate(e["input_cols"]):
                    expected = 0.0 if row < 0 or col < 0 else x[n, :, row, col]
                    np.testing.assert_array_equal(e["patch"][:, i, j], expected)


def test_same_padding_puts_the_odd_extra_row_at_the_bottom_at_stride_2() -> None:
    net, trace = conv_session(2, "same")
    # 8 rows, kernel 3, stride 2: 4 outputs, padding 1 in all, 0 on top and 1 at the bottom
    assert list(explain_conv_position(net, trace, 0, 0, 0, 0, 0)["input_rows"]) == [0, 1, 2]
    assert list(explain_conv_position(net, trace, 0, 0, 0, 3, 3)["input_rows"]) == [6, 7, -1]


# --- conv: backward ----------------------------------------------------------------


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_a_kernel_gradient_is_the_input_correlated_with_delta(stride: int, padding: str) -> None:
    net, trace = conv_session(stride, padding, regularization={"kind": "l2", "rate": 0.01})
    for layer in (0, 1):
        grad_W = trace.layers[layer]["grad_W"]
        for index in np.ndindex(*grad_W.shape):
            e = explain_conv_kernel(net, trace, layer, *index)
            np.testing.assert_array_equal(e["products"], e["inputs"] * e["delta"])
            assert e["grad"] == grad_W[index]
            assert e["update"] == trace.layers[layer]["update_W"][index]
            assert e["grad_reg"] == pytest.approx(0.01 * e["value_before"], rel=1e-12)
            assert e["grad_data"] + e["grad_reg"] == pytest.approx(grad_W[index], rel=1e-10, abs=1e-15)


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_each_positions_share_of_the_kernel_gradient_adds_up_to_grad_W(stride: int, padding: str) -> None:
    net, trace = conv_session(stride, padding)
    layer = 1
    filters, ho, wo = net.layers[layer].output_shape
    for f in range(filters):
        total = sum(
            explain_conv_position(net, trace, layer, n, f, r, c)["backward"]["kernel_grad_share"]
            for n in range(4)
            for r in range(ho)
            for c in range(wo)
        )
        np.testing.assert_allclose(total, trace.layers[layer]["grad_W"][f], rtol=1e-10, atol=1e-15)


def test_a_clipped_step_scales_the_data_and_regularization_gradient_by_the_clip_factor() -> None:
    net, trace = conv_session(1, "same", clip_norm=1e-3, regularization={"kind": "l2", "rate": 0.01})
    assert trace.summary.clipped
    e = explain_conv_kernel(net, trace, 1, 1, 2, 0, 1)
    assert 0 < e["clip_scale"] < 1
    assert e["clip_scale"] == pytest.approx(1e-3 / trace.summary.grad_norm, rel=1e-10)
    assert (e["grad_data"] + e["grad_reg"]) * e["clip_scale"] == pytest.approx(e["grad"], rel=1e-9)


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_an_input_gradient_is_delta_convolved_with_the_flipped_kernel(stride: int, padding: str) -> None:
    net, trace = conv_session(stride, padding)
    layer = 1
    dX = conv_input_gradient(net, trace, layer)
    channels, h, w = net.layers[layer].input_shape
    K = weights_before(net, trace, layer, "W")
    delta = trace.layers[layer]["delta"]
    for n in (0, 3):
        for c in range(channels):
            for r in range(h):
                for q in range(w):
                    e = explain_conv_input(net, trace, layer, n, c, r, q)
                    np.testing.assert_array_equal(e["flipped_kernel"], K[:, c, ::-1, ::-1])
                    np.testing.assert_array_equal(e["products"], e["delta_window"] * e["flipped_kernel"])
                    assert e["value"] == pytest.approx(dX[n, c, r, q], rel=1e-12, abs=1e-16)
                    for i, y in enumerate(e["out_rows"]):  # the window holds δ where it exists, else 0
                        for j, x in enumerate(e["out_cols"]):
                            expected = delta[n, :, y, x] if y >= 0 and x >= 0 else 0.0
                            np.testing.assert_array_equal(e["delta_window"][:, i, j], expected)


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_each_positions_share_of_the_input_gradient_adds_up_to_dX(stride: int, padding: str) -> None:
    net, trace = conv_session(stride, padding)
    layer = 1
    filters, ho, wo = net.layers[layer].output_shape
    total = np.zeros(net.layers[layer].input_shape)
    for f in range(filters):
        for r in range(ho):
            for c in range(wo):
                e = explain_conv_position(net, trace, layer, 2, f, r, c)
                rows, cols = e["input_rows"], e["input_cols"]
                for i in np.flatnonzero(rows >= 0):
                    for j in np.flatnonzero(cols >= 0):
                        total[:, rows[i], cols[j]] += e["backward"]["input_grad_share"][:, i, j]
    np.testing.assert_allclose(total, conv_input_gradient(net, trace, layer)[2], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_the_input_gradient_matches_finite_differences_of_the_loss(stride: int, padding: str) -> None:
    net, trace = conv_session(stride, padding, activation="tanh")
    dX = conv_input_gradient(net, trace, 0)
    net.theta[...] = trace.theta_before
    X, eps = trace.X.copy(), 1e-6
    numeric = np.empty_like(X)
    for index in np.ndindex(*X.shape):
        old = X[index]
        X[index] = old + eps
        up = net.total_loss(X, trace.Y)
        X[index] = old - eps
        down = net.total_loss(X, trace.Y)
        X[index] = old
        numeric[index] = (up - down) / (2 * eps)
    assert np.max(np.abs(numeric)) > 1e-6
    assert np.max(np.abs(dX - numeric)) / np.max(np.abs(numeric)) <= 1e-6


@pytest.mark.parametrize(("stride", "padding"), GEOMETRIES)
def test_the_upper_conv_layers_input_gradient_is_what_the_lower_layer_received(
    stride: int, padding: str
) -> None:
    net, trace = conv_session(stride, padding)
    lower = trace.layers[0]
    received = conv_input_gradient(net, trace, 1) * (1 - lower["a"] ** 2)  # tanh′ = 1 − a²
    assert np.max(np.abs(lower["delta"])) > 0
    np.testing.assert_allclose(received, lower["delta"], rtol=1e-10, atol=1e-16)


@pytest.mark.parametrize(
    "pool",
    [
        {"type": "maxpool2d", "size": 2},
        {"type": "maxpool2d", "size": 3, "stride": 1},
        {"type": "avgpool2d", "size": 2},
        {"type": "avgpool2d", "size": 2, "stride": 1},
    ],
)
def test_a_conv_delta_is_the_gradient_from_the_pool_above_times_f_prime(pool: dict[str, Any]) -> None:
    net, trace = conv_session(1, "same", pool=pool, activation="tanh")
    arrays = trace.layers[1]
    dA = layer_output_gradient(net, trace, 1)
    np.testing.assert_allclose(dA * (1 - arrays["a"] ** 2), arrays["delta"], rtol=1e-10, atol=1e-16)
    e = explain_conv_position(net, trace, 1, 1, 1, 3, 4)
    assert e["backward"]["source"] == pool["type"]
    assert e["backward"]["dA"] * e["backward"]["fprime"] == pytest.approx(e["backward"]["delta"], rel=1e-10)


def test_bad_conv_requests_raise_value_errors_naming_the_problem() -> None:
    net, trace = conv_session(1, "valid")
    with pytest.raises(ValueError, match="layer 2 is flatten, not conv2d"):
        explain_conv_position(net, trace, 2, 0, 0, 0, 0)
    with pytest.raises(ValueError, match=r"filter must be an integer in \[0, 2\)"):
        explain_conv_position(net, trace, 1, 0, 2, 0, 0)
    with pytest.raises(ValueError, match=r"row must be an integer in \[0, 6\)"):
        explain_conv_input(net, trace, 1, 0, 0, 6, 0)
    with pytest.raises(ValueError, match=r"sample must be an integer in \[0, 4\)"):
        explain_conv_position(net, trace, 0, 4, 0, 0, 0)
    with pytest.raises(ValueError, match="output layer"):
        layer_output_gradient(net, trace, 3)


# --- recurrent ---------------------------------------------------------------------


def recurrent_session(kind: str, sequences: bool, truncate: int | None) -> tuple[Network, StepTrace]:
    """A 3-unit rnn/lstm on 6-step sine sequences; many-to-many stacks a second recurrent layer on top."""
    layers: list[dict[str, Any]] = [
        {"type": kind, "units": 3, "return_sequences": sequences, "truncate": truncate}
    ]
    if sequences:
        layers.append({"type": kind, "units": 2, "return_sequences": True})
    layers.append({"type": "dense", "units": 1})
    s = TrainingSession(
        {
            "model": {"layers": layers, "loss": "mse"},
            "data": {
                "dataset": "sine-next",
                "length": 6,
                "samples": 50,
                "target": "sequence" if sequences else "last",
            },
            "training": {
                "optimizer": {"name": "adam", "lr": 0.01},
                "batch_size": 4,
                "regularization": {"kind": "l2", "rate": 0.01},
            },
            "seed": 2,
        }
    )
    s.step(2)
    trace = s.step(1, "full").trace
    assert trace is not None
    return s.network, trace


RECURRENT_CASES = [
    (kind, sequences, truncate)
    for kind in ("rnn", "lstm")
    for sequences in (False, True)
    for truncate in (None, 1, 2, 6)
]


@pytest.mark.parametrize(("kind", "sequences", "truncate"), RECURRENT_CASES)
def test_the_dh_recursion_reproduces_the_traced_dh_at_every_step(
    kind: str, sequences: bool, truncate: int | None
) -> None:
    net, trace = recurrent_session(kind, sequences, truncate)
    arrays = trace.layers[0]
    assert np.max(np.abs(arrays["dh"])) > 1e-3
    dropped = 0.0
    for n in range(4):
        for t in range(6):
            e = explain_recurrent_step(net, trace, 0, n, t)
            np.testing.assert_array_equal(e["dh"], arrays["dh"][n, t])
            np.testing.assert_allclose(e["dh_built"], e["dh"], rtol=1e-10, atol=1e-15)
            np.testing.assert_allclose(e["carried"], e["delta_next"] @ e["W_h"].T, rtol=1e-12, atol=1e-16)
            if kind == "lstm":
                np.testing.assert_allclose(e["dc_built"], arrays["dc"][n, t], rtol=1e-10, atol=1e-15)
            else:
                kept = e["dh_next"] - e["dropped"]
                np.testing.assert_allclose(e["delta_next"], e["fprime_next"] * kept, rtol=1e-12, atol=1e-16)
            if not sequences and t < 5:  # many-to-one: the loss touches h_T only
                assert not np.any(e["direct"])
            dropped = max(dropped, float(np.max(np.abs(e["dropped"]))))
    # truncation shorter than the sequence must cut something; full BPTT (and k ≥ T) nothing
    assert (dropped > 0) == (truncate is not None and truncate < 6)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_without_truncation_the_delta_built_from_step_t_plus_1_is_the_traced_delta(kind: str) -> None:
    net, trace = recurrent_session(kind, True, None)
    for t in range(5):
        e = explain_recurrent_step(net, trace, 0, 1, t)
        np.testing.assert_allclose(
            e["delta_next"], trace.layers[0]["delta"][1, t + 1], rtol=1e-10, atol=1e-15
        )


def test_many_to_one_truncation_stops_the_gradient_k_steps_before_the_end() -> None:
    net, trace = recurrent_session("rnn", False, 2)
    cut = explain_recurrent_step(net, trace, 0, 0, 3)  # steps 4 and 5 (0-based) are the last k = 2
    np.testing.assert_array_equal(cut["dropped"], cut["dh_next"])
    assert np.any(cut["dh_next"]) and not np.any(cut["dh"])
    live = explain_recurrent_step(net, trace, 0, 0, 4)
    assert not np.any(live["dropped"]) and np.any(live["dh"])


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_each_steps_share_of_grad_W_h_is_h_prev_times_delta_and_they_sum_to_grad_W_h(kind: str) -> None:
    net, trace = recurrent_session(kind, False, None)
    arrays = trace.layers[0]
    shares = []
    for t in range(6):
        per_sample = [explain_recurrent_step(net, trace, 0, n, t) for n in range(4)]
        e = per_sample[0]
        np.testing.assert_allclose(
            sum(p["sample_grad_W_h_step"] for p in per_sample), e["grad_W_h_step"], rtol=1e-10, atol=1e-16
        )
        assert e["grad_W_h_step_norm"] == pytest.approx(float(np.linalg.norm(e["grad_W_h_step"])), rel=1e-12)
        shares.append(e["grad_W_h_step"])
    assert not np.any(shares[0])  # h_0 = 0: the first step adds nothing to ∂L/∂W_h
    W_h = weights_before(net, trace, 0, "W_h")
    np.testing.assert_allclose(sum(shares) + 0.01 * W_h, arrays["grad_W_h"], rtol=1e-10, atol=1e-15)


def test_lstm_step_shows_the_gates_that_made_c_t_and_h_t() -> None:
    net, trace = recurrent_session("lstm", False, None)
    for t in range(6):
        e = explain_recurrent_step(net, trace, 0, 3, t)
        g = e["gates"]
        np.testing.assert_allclose(e["c"], g["f"] * e["c_prev"] + g["i"] * g["g"], rtol=1e-12)
        np.testing.assert_allclose(e["h"], g["o"] * e["tanh_c"], rtol=1e-12)
        assert np.all((g["f"] > 0) & (g["f"] < 1))


def test_bad_recurrent_requests_raise_value_errors_naming_the_problem() -> None:
    net, trace = recurrent_session("rnn", True, None)
    with pytest.raises(ValueError, match="layer 2 is dense, not rnn or lstm"):
        explain_recurrent_step(net, trace, 2, 0, 0)
    with pytest.raises(ValueError, match=r"t must be an integer in \[0, 6\)"):
        explain_recurrent_step(net, trace, 0, 0, 6)
    with pytest.raises(ValueError, match=r"layer must be an integer in \[0, 3\)"):
        explain_recurrent_step(net, trace, 3, 0, 0)
