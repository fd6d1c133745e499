"""rnn and lstm: forward equations, BPTT gradients, truncation, traces, errors, learning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.layers import LSTM, Array, SimpleRNN, build_layer
from engine.layers.recurrent import Recurrent
from engine.network import Network

# --- helpers -------------------------------------------------------------------


def make_net(
    input_shape: tuple[int, ...], layers: list[dict[str, Any]], seed: int, dtype: str = "float64"
) -> Network:
    net = Network(input_shape, layers, "mse", dtype=dtype)
    rng = np.random.default_rng(seed)
    net.initialize(rng, "glorot_uniform")
    net.theta += (0.2 * rng.standard_normal(net.size)).astype(net.dtype)
    return net


def fd_check(net: Network, X: Array, Y: Array, indices: Any = None, eps: float = 1e-6) -> tuple[float, float]:
    """(relative error max|g − n|/max|n|, max|n|) over the chosen entries of θ."""
    net.gradients(X, Y)
    chosen = np.arange(net.size) if indices is None else np.asarray(indices)
    analytic = net.grad[chosen].copy()
    numeric = np.empty(len(chosen))
    for m, j in enumerate(chosen):
        old = net.theta[j]
        net.theta[j] = old + eps
        up = net.total_loss(X, Y)
        net.theta[j] = old - eps
        down = net.total_loss(X, Y)
        net.theta[j] = old
        numeric[m] = (up - down) / (2 * eps)
    scale = float(np.max(np.abs(numeric)))
    return float(np.max(np.abs(analytic - numeric)) / scale), scale


def data(net: Network, batch: int, seed: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, *net.input_shape)), rng.standard_normal((batch, *net.output_shape))


def sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


def rnn_reference(
    layer: SimpleRNN, X: Array, dA: Array, truncate: int | None
) -> tuple[Array, dict[str, Array], Array, Array]:
    """Forward by the recurrence, then truncated BPTT one loss term at a time, with explicit loops.

    Returns (every h_t, parameter gradients, ∂L/∂X, ∂L/∂h_t that was propagated).
    """
    Wx, Wh, b = (layer.params[k] for k in ("W_x", "W_h", "b"))
    n, T, _ = X.shape
    relu = layer.activation.name == "relu"
    h = [np.zeros((n, layer.units))]
    z = []
    for t in range(T):
        z.append(X[:, t] @ Wx + h[t] @ Wh + b)
        h.append(np.maximum(z[t], 0) if relu else np.tanh(z[t]))
    slope = [(z[t] > 0).astype(float) if relu else 1 - h[t + 1] ** 2 for t in range(T)]
    grads = {k: np.zeros_like(v) for k, v in layer.params.items()}
    dX, dh = np.zeros_like(X), np.zeros((n, T, layer.units))
    k = T if truncate is None else truncate
    terms = range(T) if layer.return_sequences else [T - 1]
    for origin in terms:
        g = dA[:, origin] if layer.return_sequences else dA
        for t in range(origin, max(origin - k, -1), -1):  # at most k steps: origin, …, origin − k + 1
            dh[:, t] += g
            d = g * slope[t]
            grads["W_x"] += X[:, t].T @ d
            grads["W_h"] += h[t].T @ d
            grads["b"] += d.sum(axis=0)
            dX[:, t] += d @ Wx.T
            g = d @ Wh.T
    return np.stack(h[1:], axis=1), grads, dX, dh


def lstm_reference(
    layer: LSTM, X: Array, dA: Array, truncate: int | None
) -> tuple[dict[str, Array], dict[str, Array], Array, Array]:
    """PyTorch's LSTM equations written out, then truncated BPTT one loss term at a time."""
    Wx, Wh, b = (layer.params[k] for k in ("W_x", "W_h", "b"))
    n, T, _ = X.shape
    u = layer.units
    h: list[Array] = [np.zeros((n, u))]
    c: list[Array] = [np.zeros((n, u))]
    gates: dict[str, list[Array]] = {"i": [], "f": [], "g": [], "o": []}
    for t in range(T):
        z = X[:, t] @ Wx + h[t] @ Wh + b
        i, f, g, o = (
            sigmoid(z[:, :u]),
            sigmoid(z[:, u : 2 * u]),
            np.tanh(z[:, 2 * u : 3 * u]),
            sigmoid(z[:, 3 * u :]),
        )
        for key, value in zip("ifgo", (i, f, g, o), strict=True):
            gates[key].append(value)
        c.append(f * c[t] + i * g)
        h.append(o * np.tanh(c[t + 1]))
    forward = {key: np.stack(v, axis=1) for key, v in gates.items()}
    forward["c"], forward["h"] = np.stack(c[1:], axis=1), np.stack(h[1:], axis=1)
    grads = {key: np.zeros_like(v) for key, v in layer.params.items()}
    dX, dh = np.zeros_like(X), np.zeros((n, T, u))
    k = T if truncate is None else truncate
    terms = range(T) if layer.return_sequences else [T - 1]
    for origin in terms:
        gh = dA[:, origin] if layer.return_sequences else dA
        gc = np.zeros((n, u))
        for t in range(origin, max(origin - k, -1), -1):
            i, f, g, o = (gates[key][t] for key in "ifgo")
            tc = np.tanh(c[t + 1])
            dh[:, t] += gh
            dc = gh * o * (1 - tc**2) + gc
            dz = np.concatenate(
                [dc * g * i * (1 - i), dc * c[t] * f * (1 - f), dc * i * (1 - g**2), gh * tc * o * (1 - o)],
                axis=1,
            )
            grads["W_x"] += X[:, t].T @ dz
            grads["W_h"] += h[t].T @ dz
            grads["b"] += dz.sum(axis=0)
            dX[:, t] += dz @ Wx.T
            gh, gc = dz @ Wh.T, dc * f
    return forward, grads, dX, dh


def random_layer(kind: str, seed: int, **config: Any) -> Recurrent:
    """One recurrent layer with random parameters bound to its own arrays."""
    spec = {"type": kind, **config}
    layer = build_layer(spec, (5, 3), np.dtype("float64"), False)
    assert isinstance(layer, Recurrent)
    rng = np.random.default_rng(seed)
    layer.bind(
        {s.name: 0.6 * rng.standard_normal(s.shape) for s in layer.param_specs},
        {s.name: np.full(s.shape, np.nan) for s in layer.param_specs},  # backward must overwrite every entry
    )
    return layer


# --- forward -------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_rnn_forward_follows_the_recurrence(activation: str, return_sequences: bool) -> None:
    layer = random_layer("rnn", 1, units=4, activation=activation, return_sequences=return_sequences)
    assert isinstance(layer, SimpleRNN)
    X = np.random.default_rng(2).standard_normal((3, 5, 3))
    h, *_ = rnn_reference(layer, X, np.zeros((3, *layer.output_shape)), None)
    out = layer.forward(X)
    expected = h if return_sequences else h[:, -1]
    np.testing.assert_allclose(out, expected, atol=1e-12)
    inferred = layer.infer(X)
    np.testing.assert_allclose(inferred["a"], expected, atol=1e-12)
    np.testing.assert_allclose(inferred["h"], h, atol=1e-12)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_lstm_forward_follows_the_gate_equations(return_sequences: bool) -> None:
    layer = random_layer("lstm", 3, units=4, return_sequences=return_sequences)
    assert isinstance(layer, LSTM)
    X = np.random.default_rng(4).standard_normal((2, 5, 3))
    ref, *_ = lstm_reference(layer, X, np.zeros((2, *layer.output_shape)), None)
    out = layer.forward(X)
    np.testing.assert_allclose(out, ref["h"] if return_sequences else ref["h"][:, -1], atol=1e-12)
    inferred = layer.infer(X)
    for key in ("i", "f", "g", "o", "c", "h"):
        np.testing.assert_allclose(inferred[key], ref[key], atol=1e-12, err_msg=key)
    z = inferred["z"]
    np.testing.assert_allclose(1 / (1 + np.exp(-z[..., 4:8])), ref["f"], atol=1e-12)


def test_lstm_starts_the_forget_gate_bias_at_forget_bias() -> None:
    for config, expected in (({}, 1.0), ({"forget_bias": 0}, 0.0), ({"forget_bias": 2.5}, 2.5)):
        net = Network((4, 2), [{"type": "lstm", "units": 3, **config}, {"type": "dense", "units": 1}], "mse")
        net.initialize(np.random.default_rng(0))
        b = net.layers[0].params["b"]
        np.testing.assert_array_equal(b, [0, 0, 0, expected, expected, expected, 0, 0, 0, 0, 0, 0])
        assert net.layers[0].describe()["forget_bias"] == expected


# --- gradients -----------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    steps=st.integers(1, 5),
    features=st.integers(1, 3),
    units=st.integers(1, 4),
    batch=st.integers(1, 3),
    activation=st.sampled_from(["tanh", "relu"]),
    return_sequences=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_rnn_network_gradients_match_finite_differences(
    steps: int, features: int, units: int, batch: int, activation: str, return_sequences: bool, seed: int
) -> None:
    rnn = {"type": "rnn", "units": units, "activation": activation, "return_sequences": return_sequences}
    net = make_net((steps, features), [rnn, {"type": "dense", "units": 2}], seed)
    X, Y = data(net, batch, seed + 1)
    if activation == "relu":  # relu has a kink at 0: keep the check away from it
        assume(np.min(np.abs(net.predict(X)[0]["z"])) > 1e-4)
    error, scale = fd_check(net, X, Y)
    assert scale > 1e-8
    assert error <= 1e-6


@settings(max_examples=25, deadline=None)
@given(
    steps=st.integers(1, 5),
    features=st.integers(1, 3),
    units=st.integers(1, 3),
    batch=st.integers(1, 3),
    return_sequences=st.booleans(),
    forget_bias=st.sampled_from([0.0, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_lstm_network_gradients_match_finite_differences(
    steps: int, features: int, units: int, batch: int, return_sequences: bool, forget_bias: float, seed: int
) -> None:
    lstm = {"type": "lstm", "units": units, "return_sequences": return_sequences, "forget_bias": forget_bias}
    net = make_net((steps, features), [lstm, {"type": "dense", "units": 2, "activation": "tanh"}], seed)
    X, Y = data(net, batch, seed + 1)
    error, scale = fd_check(net, X, Y)
    assert scale > 1e-8
    assert error <= 1e-6


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("gate", ["i", "f", "g", "o"])
@pytest.mark.parametrize("param", ["W_x", "W_h", "b"])
def test_every_lstm_gate_slice_matches_finite_differences(
    return_sequences: bool, gate: str, param: str
) -> None:
    units = 3
    net = make_net(
        (4, 2),
        [
            {"type": "lstm", "units": units, "return_sequences": return_sequences},
            {"type": "dense", "units": 2},
        ],
        5,
    )
    slot = net.slot(0, param)
    block = "ifgo".index(gate)
    columns = np.arange(block * units, (block + 1) * units)
    rows = np.arange(slot.shape[0]) if len(slot.shape) == 2 else np.array([0])
    width = slot.shape[-1]
    indices = (
        slot.offset + (rows[:, None] * width + columns[None, :]).ravel()
        if len(slot.shape) == 2
        else (slot.offset + columns)
    )
    X, Y = data(net, 3, 6)
    error, scale = fd_check(net, X, Y, indices)
    assert scale > 1e-6, f"{param}[{gate}] has no gradient to check"
    assert error <= 1e-6


@pytest.mark.parametrize(
    "layers",
    [
        [
            {"type": "rnn", "units": 3, "return_sequences": True},
            {"type": "lstm", "units": 3, "return_sequences": True},
            {"type": "dense", "units": 2},
        ],
        [
            {"type": "lstm", "units": 2, "return_sequences": True},
            {"type": "rnn", "units": 4, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        [
            {"type": "rnn", "units": 3, "return_sequences": True, "truncate": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ],
    ],
)
def test_stacked_recurrent_layers_pass_exact_input_gradients(layers: list[dict[str, Any]]) -> None:
    net = make_net((4, 2), layers, seed=7)
    X, Y = data(net, 3, 8)
    if net.layers[0].describe()["truncate"] is not None:
        # truncation changes the first layer's own parameter gradients, not the ∂L/∂X it hands back:
        # check every parameter of the later layers (their gradients flow through exact input gradients)
        first = {s.name for s in net.layer_slices(0)}
        indices = [
            j for s in net.slots if not (s.layer == 0 and s.name in first) for j in range(s.offset, s.stop)
        ]
        error, _ = fd_check(net, X, Y, indices)
    else:
        error, _ = fd_check(net, X, Y)
    assert error <= 1e-6


# --- truncated BPTT -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn-tanh", "rnn-relu", "lstm"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("truncate", [1, 2, 3, 5, 9, None])
def test_truncated_bptt_matches_a_per_loss_term_reference(
    kind: str, return_sequences: bool, truncate: int | None
) -> None:
    name, _, activation = kind.partition("-")
    config: dict[str, Any] = {"units": 3, "return_sequences": return_sequences, "truncate": truncate}
    if activation:
        config["activation"] = activation
    layer = random_layer(name, 9, **config)
    rng = np.random.default_rng(10)
    X = rng.standard_normal((2, 5, 3))
    dA = rng.standard_normal((2, *layer.output_shape))
    layer.forward(X)
    dX = layer.backward(dA, True)
    assert dX is not None
    if isinstance(layer, LSTM):
        _, grads, ref_dX, ref_dh = lstm_reference(layer, X, dA, truncate)
    else:
        assert isinstance(layer, SimpleRNN)
        _, grads, ref_dX, ref_dh = rnn_reference(layer, X, dA, truncate)
    for key, expected in grads.items():
        np.testing.assert_allclose(layer.grads[key], expected, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(dX, ref_dX, atol=1e-12)
    np.testing.assert_allclose(layer.trace()["dh"], ref_dh, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_truncation_changes_gradients_and_k_of_at_least_T_is_full_bptt(kind: str) -> None:
    def grads(truncate: int | None) -> Array:
        layer = random_layer(kind, 11, units=3, return_sequences=True, truncate=truncate)
        rng = np.random.default_rng(12)
        X = rng.standard_normal((2, 5, 3))
        layer.forward(X)
        layer.backward(rng.standard_normal((2, 5, 3)), False)
        return np.concatenate([g.ravel() for g in layer.grads.values()])

    full = grads(None)
    np.testing.assert_allclose(grads(5), full, atol=1e-14)
    np.testing.assert_allclose(grads(50), full, atol=1e-14)
    assert np.max(np.abs(grads(2) - full)) > 1e-3
    # k = 1 cuts every recurrent path, so ∂L/∂h_t is only the loss's own gradient on h_t
    layer = random_layer(kind, 11, units=3, return_sequences=True, truncate=1)
    X, dA = np.ones((1, 5, 3)), np.random.default_rng(13).standard_normal((1, 5, 3))
    layer.forward(X)
    layer.backward(dA, False)
    np.testing.assert_allclose(layer.trace()["dh"], dA, atol=1e-14)


# --- traces -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_traces_hold_every_step(kind: str) -> None:
    layer = random_layer(kind, 14, units=3, return_sequences=False)
    rng = np.random.default_rng(15)
    X = rng.standard_normal((2, 5, 3))
    dA = rng.standard_normal((2, 3))
    layer.forward(X)
    layer.backward(dA, False)
    trace = layer.trace()
    gates = 4 if kind == "lstm" else 1
    for key in ("h", "dh"):
        assert trace[key].shape == (2, 5, 3)
    assert trace["z"].shape == trace["delta"].shape == (2, 5, 3 * gates)
    assert trace["grad_W_h_per_step"].shape == (5, 3, 3 * gates)
    np.testing.assert_allclose(trace["grad_W_h_per_step"].sum(axis=0), layer.grads["W_h"], atol=1e-12)
    np.testing.assert_allclose(
        trace["grad_W_h_step_norm"], np.linalg.norm(trace["grad_W_h_per_step"].reshape(5, -1), axis=1)
    )
    np.testing.assert_allclose(trace["dh"][:, -1], dA)  # the loss reaches h_T directly
    np.testing.assert_allclose(trace["a"], trace["h"][:, -1])
    if kind == "lstm":
        for key in ("i", "f", "g", "o", "c"):
            assert trace[key].shape == (2, 5, 3)
        np.testing.assert_allclose(trace["h"], trace["o"] * np.tanh(trace["c"]), atol=1e-12)


# --- dtypes, errors -------------------------------------------------------------


@pytest.mark.parametrize(
    "layers",
    [
        [{"type": "rnn", "units": 8, "return_sequences": True}, {"type": "dense", "units": 2}],
        [{"type": "lstm", "units": 8, "truncate": 3}, {"type": "dense", "units": 2}],
        [
            {"type": "lstm", "units": 4, "return_sequences": True, "truncate": 2},
            {"type": "rnn", "units": 3},
            {"type": "dense", "units": 1},
        ],
    ],
)
def test_float32_agrees_with_float64(layers: list[dict[str, Any]]) -> None:
    net64 = make_net((6, 3), layers, seed=16)
    net32 = Network((6, 3), layers, "mse", dtype="float32")
    net32.theta[...] = net64.theta
    X, Y = data(net64, 4, 17)
    for a64, a32 in zip(net64.predict(X), net32.predict(X.astype(np.float32)), strict=True):
        assert a32["a"].dtype == np.float32
        np.testing.assert_allclose(a32["a"], a64["a"], atol=1e-5)
    net64.gradients(X, Y)
    net32.gradients(X.astype(np.float32), Y.astype(np.float32))
    assert net32.grad.dtype == np.float32
    np.testing.assert_allclose(net32.grad, net64.grad, atol=1e-5 * np.max(np.abs(net64.grad)))


@pytest.mark.parametrize(
    ("input_shape", "spec", "message"),
    [
        ((8,), {"type": "rnn", "units": 3}, "time steps, features"),
        ((2, 3, 4), {"type": "lstm", "units": 3}, "time steps, features"),
        ((5, 2), {"type": "rnn", "units": 0}, "units"),
        ((5, 2), {"type": "rnn", "units": 3, "activation": "sigmoid"}, "tanh, relu"),
        ((5, 2), {"type": "rnn", "units": 3, "activation": "swish"}, "unknown activation"),
        ((5, 2), {"type": "rnn", "units": 3, "return_sequences": "yes"}, "return_sequences"),
        ((5, 2), {"type": "rnn", "units": 3, "truncate": 0}, "truncate"),
        ((5, 2), {"type": "lstm", "units": 3, "truncate": True}, "truncate"),
        ((5, 2), {"type": "lstm", "units": 3, "truncate": 2.5}, "truncate"),
        ((5, 2), {"type": "lstm", "units": 3, "forget_bias": "one"}, "forget_bias"),
        ((5, 2), {"type": "lstm", "units": 3, "forget_bias": float("nan")}, "forget_bias"),
        ((5, 2), {"type": "lstm", "units": 3, "activation": "relu"}, "activation"),
        ((5, 2), {"type": "lstm", "unit": 3}, "unit"),
    ],
)
def test_bad_configs_raise_value_errors_that_name_the_problem(
    input_shape: tuple[int, ...], spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_layer(spec, input_shape, np.dtype("float64"), False)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_inputs_of_the_wrong_shape_raise_value_errors(kind: str) -> None:
    layer = random_layer(kind, 0, units=2)
    for bad in (np.zeros((2, 4, 3)), np.zeros((2, 5)), np.zeros((2, 5, 2))):
        with pytest.raises(ValueError, match=rf"{kind} expects inputs of shape \[n, 5, 3\]"):
            layer.forward(bad)
        with pytest.raises(ValueError, match=rf"{kind} expects inputs of shape \[n, 5, 3\]"):
            layer.infer(bad)


def test_a_recurrent_layer_cannot_be_the_output_layer() -> None:
    with pytest.raises(ValueError, match="output layer"):
        Network((5, 2), [{"type": "rnn", "units": 1}], "mse")


# --- learning -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_a_recurrent_net_learns_to_output_the_last_input(kind: str) -> None:
    rng = np.random.default_rng(18)
    net = Network((6, 1), [{"type": kind, "units": 8}, {"type": "dense", "units": 1}], "mse")
    net.initialize(rng)
    X = rng.uniform(-1, 1, (256, 6, 1))
    Y = X[:, -1, :]
    first = net.total_loss(X, Y)
    for _ in range(400):
        batch = rng.choice(256, 32, replace=False)
        net.gradients(X[batch], Y[batch])
        net.theta -= 0.2 * net.grad
    X_test = rng.uniform(-1, 1, (200, 6, 1))
    assert net.total_loss(X_test, X_test[:, -1, :]) < 0.05 * first
