"""conv2d, maxpool2d, avgpool2d and flatten: forward maths, gradients, routing, errors, learning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.activations import get_activation
from engine.layers import Array, AvgPool2D, Conv2D, MaxPool2D, build_layer
from engine.network import Network

# --- helpers -------------------------------------------------------------------


def make_net(
    input_shape: tuple[int, ...], layers: list[dict[str, Any]], loss: str, seed: int, dtype: str = "float64"
) -> Network:
    net = Network(input_shape, layers, loss, dtype=dtype)
    rng = np.random.default_rng(seed)
    net.initialize(rng, "glorot_uniform")
    net.theta += (0.1 * rng.standard_normal(net.size)).astype(net.dtype)  # non-zero biases too
    return net


def targets(net: Network, n: int, rng: np.random.Generator) -> Array:
    if net.loss.name == "cross_entropy":
        k = net.output_shape[-1]
        return np.eye(k)[rng.integers(0, k, n)]
    return rng.standard_normal((n, *net.output_shape))


def fd_relative_error(net: Network, X: Array, Y: Array, eps: float = 1e-6) -> float:
    """max|g − n| / max|n| of backprop's ∂L/∂θ against central differences of the total loss."""
    net.gradients(X, Y)
    analytic = net.grad.copy()
    numeric = np.empty(net.size)
    for j in range(net.size):
        old = net.theta[j]
        net.theta[j] = old + eps
        up = net.total_loss(X, Y)
        net.theta[j] = old - eps
        down = net.total_loss(X, Y)
        net.theta[j] = old
        numeric[j] = (up - down) / (2 * eps)
    assert np.max(np.abs(numeric)) > 1e-8, "a gradient check on a flat loss proves nothing"
    return float(np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric)))


def direct_conv(X: Array, W: Array, b: Array, stride: int, padding: str) -> Array:
    """The textbook loop: zero-pad (TensorFlow's split), then z = Σ W·window + b."""
    n, c, h, w = X.shape
    f, _, kh, kw = W.shape
    if padding == "same":
        ho, wo = -(-h // stride), -(-w // stride)
        ph, pw = max((ho - 1) * stride + kh - h, 0), max((wo - 1) * stride + kw - w, 0)
        Xp = np.zeros((n, c, h + ph, w + pw))
        Xp[:, :, ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w] = X
    else:
        ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
        Xp = X
    z = np.empty((n, f, ho, wo))
    for y in range(ho):
        for x in range(wo):
            window = Xp[:, :, y * stride : y * stride + kh, x * stride : x * stride + kw]
            z[:, :, y, x] = np.einsum("ncij,fcij->nf", window, W) + b
    return z


def pool_window_gap(a: Array, size: int, stride: int) -> float:
    """Smallest gap between the two largest values of any pooling window (∞ for size 1)."""
    if size == 1:
        return np.inf
    n, c, h, w = a.shape
    gaps = []
    for y in range(0, h - size + 1, stride):
        for x in range(0, w - size + 1, stride):
            top = np.sort(a[:, :, y : y + size, x : x + size].reshape(n, c, -1), axis=-1)
            gaps.append(np.min(top[..., -1] - top[..., -2]))
    return float(min(gaps))


CNN_HEAD: list[dict[str, Any]] = [{"type": "flatten"}, {"type": "dense", "units": 3, "activation": "softmax"}]


# --- forward -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [
        ((1, 5, 5), 3, 1, "valid"),
        ((2, 6, 7), 3, 1, "same"),
        ((2, 6, 7), [3, 2], 2, "same"),
        ((3, 7, 6), [2, 3], 2, "valid"),
        ((1, 8, 8), 4, 3, "same"),
        ((2, 5, 4), 1, 2, "valid"),
    ],
)
def test_conv_forward_matches_the_direct_loop(
    shape: tuple[int, int, int], kernel: Any, stride: int, padding: str
) -> None:
    net = make_net(
        shape,
        [{"type": "conv2d", "filters": 3, "kernel": kernel, "stride": stride, "padding": padding}, *CNN_HEAD],
        "cross_entropy",
        seed=1,
    )
    X = np.random.default_rng(2).standard_normal((4, *shape))
    conv = net.layers[0]
    z = net.predict(X)[0]["z"]
    assert z.shape == (4, *conv.output_shape)
    np.testing.assert_allclose(
        z, direct_conv(X, conv.params["W"], conv.params["b"], stride, padding), atol=1e-12
    )
    # the training forward pass computes the same thing
    np.testing.assert_allclose(conv.forward(X), z, atol=1e-12)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "out", "pads"),
    [
        (8, 3, 1, "same", 8, (1, 1)),
        (8, 4, 1, "same", 8, (1, 2)),  # even kernel: the extra row goes at the bottom
        (6, 3, 2, "same", 3, (0, 1)),  # ⌈6/2⌉ = 3, total padding 1, all at the bottom
        (7, 3, 2, "same", 4, (1, 1)),
        (7, 3, 2, "valid", 3, (0, 0)),
        (8, 3, 3, "valid", 2, (0, 0)),  # the last two rows are never read
    ],
)
def test_conv_output_sizes_follow_the_documented_padding_rule(
    size: int, kernel: int, stride: int, padding: str, out: int, pads: tuple[int, int]
) -> None:
    conv = build_layer(
        {"type": "conv2d", "filters": 2, "kernel": kernel, "stride": stride, "padding": padding},
        (1, size, size),
        np.dtype("float64"),
        False,
    )
    assert isinstance(conv, Conv2D)
    assert conv.output_shape == (2, out, out)
    assert conv.pads == (pads, pads)
    assert conv.describe()["padding"] == padding


def test_pooling_floors_sizes_that_do_not_divide() -> None:
    for kind in ("maxpool2d", "avgpool2d"):
        pool = build_layer({"type": kind, "size": 2}, (3, 7, 5), np.dtype("float64"), False)
        assert pool.output_shape == (3, 3, 2)
        pool = build_layer({"type": kind, "size": 3, "stride": 2}, (1, 8, 7), np.dtype("float64"), False)
        assert pool.output_shape == (1, 3, 3)


def test_avgpool_averages_each_window_and_spreads_the_gradient_evenly() -> None:
    pool = build_layer({"type": "avgpool2d", "size": 2}, (1, 4, 5), np.dtype("float64"), False)
    X = np.arange(20.0).reshape(1, 1, 4, 5)
    A = pool.forward(X)
    np.testing.assert_allclose(A[0, 0], [[3.0, 5.0], [13.0, 15.0]])
    dX = pool.backward(np.ones((1, 1, 2, 2)), True)
    assert dX is not None
    expected = np.zeros((4, 5))
    expected[:, :4] = 0.25  # the fifth column is dropped by the floor and gets no gradient
    np.testing.assert_allclose(dX[0, 0], expected)


# --- gradients -----------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    channels=st.integers(1, 3),
    filters=st.integers(1, 3),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    extra_h=st.integers(0, 4),
    extra_w=st.integers(0, 4),
    stride=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same"]),
    pool=st.sampled_from(["none", "maxpool2d", "avgpool2d"]),
    pool_size=st.integers(1, 2),
    pool_stride=st.integers(1, 2),
    batch=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_conv_network_gradients_match_finite_differences(
    channels: int,
    filters: int,
    kh: int,
    kw: int,
    extra_h: int,
    extra_w: int,
    stride: int,
    padding: str,
    pool: str,
    pool_size: int,
    pool_stride: int,
    batch: int,
    seed: int,
) -> None:
    shape = (channels, kh + extra_h, kw + extra_w)
    conv = {
        "type": "conv2d",
        "filters": filters,
        "kernel": [kh, kw],
        "stride": stride,
        "padding": padding,
        "activation": "tanh",
    }
    probe = build_layer(conv, shape, np.dtype("float64"), False)
    layers: list[dict[str, Any]] = [conv]
    if pool != "none":
        size = min(pool_size, *probe.output_shape[1:])
        layers.append({"type": pool, "size": size, "stride": pool_stride})
    net = make_net(shape, [*layers, *CNN_HEAD], "cross_entropy", seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch, *shape))
    if pool == "maxpool2d":  # a max is not differentiable at a tie: keep the check away from one
        a = net.predict(X)[0]["a"]
        assume(pool_window_gap(a, layers[1]["size"], pool_stride) > 1e-4)
    assert fd_relative_error(net, X, targets(net, batch, rng)) <= 1e-6


@pytest.mark.parametrize(
    ("shape", "layers"),
    [
        (  # relu conv stack: padding on the first, stride 2 on the second, overlapping max windows
            (2, 9, 8),
            [
                {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same", "activation": "relu"},
                {"type": "conv2d", "filters": 4, "kernel": 2, "stride": 2, "activation": "tanh"},
                {"type": "maxpool2d", "size": 3, "stride": 1},
            ],
        ),
        (  # gapped average windows (stride > size) and a remainder
            (3, 8, 9),
            [
                {"type": "conv2d", "filters": 2, "kernel": [2, 3], "stride": 1, "activation": "sigmoid"},
                {"type": "avgpool2d", "size": 2, "stride": 3},
            ],
        ),
        (  # stride-2 same padding with the odd extra row at the bottom
            (1, 6, 6),
            [
                {"type": "conv2d", "filters": 5, "kernel": 3, "stride": 2, "padding": "same"},
                {"type": "maxpool2d", "size": 2},
                {"type": "conv2d", "filters": 2, "kernel": 1, "activation": "tanh"},
            ],
        ),
    ],
)
def test_conv_stacks_gradients_match_finite_differences(
    shape: tuple[int, int, int], layers: list[dict[str, Any]]
) -> None:
    net = make_net(shape, [*layers, *CNN_HEAD], "cross_entropy", seed=3)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, *shape))
    acts = net.predict(X)
    for spec, values in zip(layers, acts[: len(layers)], strict=True):
        if spec.get("activation") == "relu":
            assert np.min(np.abs(values["z"])) > 1e-4  # away from relu's kink
        if spec["type"] == "maxpool2d":
            index = layers.index(spec)
            assert (
                pool_window_gap(acts[index - 1]["a"], spec["size"], spec.get("stride", spec["size"])) > 1e-4
            )
    assert fd_relative_error(net, X, targets(net, 3, rng)) <= 1e-6


def test_conv_as_the_output_layer_trains_on_mse() -> None:
    net = make_net(
        (2, 5, 5),
        [
            {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same", "activation": "tanh"},
            {"type": "conv2d", "filters": 2, "kernel": 2, "stride": 2, "activation": "linear"},
        ],
        "mse",
        seed=5,
    )
    rng = np.random.default_rng(6)
    X = rng.standard_normal((2, 2, 5, 5))
    assert fd_relative_error(net, X, targets(net, 2, rng)) <= 1e-6


# --- max-pool routing at ties ---------------------------------------------------


def test_maxpool_ties_send_the_whole_gradient_to_the_first_maximum_in_row_major_order() -> None:
    pool = build_layer({"type": "maxpool2d", "size": 2}, (1, 4, 4), np.dtype("float64"), False)
    X = np.array(
        [
            [
                [
                    [1.0, 3.0, 5.0, 5.0],
                    [3.0, 0.0, 5.0, 5.0],
                    [2.0, 2.0, 0.0, 7.0],
                    [9.0, 2.0, 7.0, 1.0],
                ]
            ]
        ]
    )
    np.testing.assert_array_equal(pool.forward(X)[0, 0], [[3.0, 5.0], [9.0, 7.0]])
    dA = np.array([[[[10.0, 20.0], [30.0, 40.0]]]])
    dX = pool.backward(dA, True)
    assert dX is not None
    expected = np.zeros((4, 4))
    expected[0, 1] = 10.0  # 3 at (0,1) and (1,0): the first in row-major order wins
    expected[0, 2] = 20.0  # four 5s: the top-left one
    expected[3, 0] = 30.0  # no tie
    expected[2, 3] = 40.0  # 7 at (2,3) and (3,2): row 2 comes first
    np.testing.assert_array_equal(dX[0, 0], expected)
    np.testing.assert_array_equal(pool.trace()["argmax"][0, 0], [[1, 2], [12, 11]])


def test_maxpool_ties_in_overlapping_windows_accumulate_on_each_windows_first_maximum() -> None:
    pool = build_layer({"type": "maxpool2d", "size": 2, "stride": 1}, (2, 3, 4), np.dtype("float64"), False)
    assert isinstance(pool, MaxPool2D)
    X = np.ones((1, 2, 3, 4))  # every window is one big tie
    pool.forward(X)
    dA = np.arange(1.0, 13.0).reshape(1, 2, 2, 3)
    dX = pool.backward(dA, True)
    assert dX is not None
    expected = np.zeros((1, 2, 3, 4))
    expected[:, :, :2, :3] = dA  # each window's top-left input takes that window's gradient
    np.testing.assert_array_equal(dX, expected)
    flat = np.arange(2)[:, None] * 4 + np.arange(3)[None, :]
    np.testing.assert_array_equal(pool.trace()["argmax"][0, 1], flat)
    np.testing.assert_array_equal(pool.infer(X)["argmax"], pool.trace()["argmax"])


def test_maxpool_gradient_lands_on_each_windows_maximum_without_ties() -> None:
    rng = np.random.default_rng(7)
    pool = build_layer({"type": "maxpool2d", "size": 3, "stride": 2}, (2, 7, 8), np.dtype("float64"), False)
    X = rng.standard_normal((3, 2, 7, 8))
    A = pool.forward(X)
    dA = rng.standard_normal(A.shape)
    dX = pool.backward(dA, True)
    assert dX is not None
    expected = np.zeros_like(X)
    argmax = pool.trace()["argmax"]
    for n in range(3):
        for c in range(2):
            for y in range(A.shape[2]):
                for x in range(A.shape[3]):
                    r, q = divmod(int(argmax[n, c, y, x]), 8)
                    assert X[n, c, r, q] == A[n, c, y, x]
                    assert 2 * y <= r < 2 * y + 3 and 2 * x <= q < 2 * x + 3
                    expected[n, c, r, q] += dA[n, c, y, x]
    np.testing.assert_allclose(dX, expected)


# --- dtypes, traces, errors -----------------------------------------------------


def test_float32_network_agrees_with_float64() -> None:
    layers = [
        {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same", "activation": "tanh"},
        {"type": "maxpool2d", "size": 2},
        {"type": "conv2d", "filters": 3, "kernel": 2, "stride": 2, "activation": "relu"},
        {"type": "avgpool2d", "size": 1},
        *CNN_HEAD,
    ]
    net64 = make_net((2, 8, 8), layers, "cross_entropy", seed=8)
    net32 = Network((2, 8, 8), layers, "cross_entropy", dtype="float32")
    net32.theta[...] = net64.theta
    rng = np.random.default_rng(9)
    X = rng.standard_normal((5, 2, 8, 8))
    Y = targets(net64, 5, rng)
    for a64, a32 in zip(net64.predict(X), net32.predict(X.astype(np.float32)), strict=True):
        assert a32["a"].dtype == np.float32
        np.testing.assert_allclose(a32["a"], a64["a"], atol=1e-5)
    net64.gradients(X, Y)
    net32.gradients(X.astype(np.float32), Y.astype(np.float32))
    assert net32.grad.dtype == np.float32
    np.testing.assert_allclose(net32.grad, net64.grad, atol=1e-5 * np.max(np.abs(net64.grad)))


def test_traces_expose_maps_input_and_argmax() -> None:
    net = make_net(
        (2, 6, 6),
        [
            {"type": "conv2d", "filters": 3, "kernel": 3, "activation": "relu"},
            {"type": "maxpool2d", "size": 2},
            *CNN_HEAD,
        ],
        "cross_entropy",
        seed=10,
    )
    rng = np.random.default_rng(11)
    X = rng.standard_normal((4, 2, 6, 6))
    net.gradients(X, targets(net, 4, rng))
    conv, pool = net.layers[0].trace(), net.layers[1].trace()
    assert {"z", "a", "delta", "input"} <= set(conv)
    for key in ("z", "a", "delta"):
        assert conv[key].shape == (4, 3, 4, 4)
    np.testing.assert_array_equal(conv["input"], X)
    np.testing.assert_array_equal(conv["a"], np.maximum(conv["z"], 0))
    assert pool["argmax"].shape == (4, 3, 2, 2)
    np.testing.assert_array_equal(
        np.take_along_axis(conv["a"].reshape(4, 3, 16), pool["argmax"].reshape(4, 3, 4).astype(np.intp), -1),
        pool["a"].reshape(4, 3, 4),
    )
    # ∂L/∂b of the conv is the sum of its δ maps
    np.testing.assert_allclose(net.layers[0].grads["b"], conv["delta"].sum(axis=(0, 2, 3)))


@pytest.mark.parametrize(
    ("input_shape", "spec", "message"),
    [
        ((8,), {"type": "conv2d", "filters": 2, "kernel": 3}, "channels, height, width"),
        ((1, 2, 8), {"type": "conv2d", "filters": 2, "kernel": 3}, "larger than the input"),
        ((1, 8, 8), {"type": "conv2d", "filters": 0, "kernel": 3}, "filters"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2}, "kernel"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2, "kernel": [3]}, "kernel"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2, "kernel": [3, 0]}, "kernel width"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2, "kernel": 3, "stride": 0}, "stride"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2, "kernel": 3, "padding": "full"}, "padding"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2, "kernel": 3, "padding": 1}, "padding"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2, "kernal": 3}, "kernal"),
        ((1, 8, 8), {"type": "conv2d", "filters": 2, "kernel": 3, "activation": "softmax"}, "softmax"),
        ((8, 8), {"type": "maxpool2d", "size": 2}, "channels, height, width"),
        ((1, 8, 3), {"type": "maxpool2d", "size": 4}, "larger than"),
        ((1, 8, 8), {"type": "avgpool2d", "size": 2, "stride": 0}, "stride"),
        ((1, 8, 8), {"type": "maxpool2d"}, "size"),
        ((1, 8, 8), {"type": "flatten", "units": 3}, "units"),
    ],
)
def test_bad_configs_raise_value_errors_that_name_the_problem(
    input_shape: tuple[int, ...], spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_layer(spec, input_shape, np.dtype("float64"), True)


def test_inputs_of_the_wrong_shape_raise_value_errors() -> None:
    net = make_net((1, 6, 6), [{"type": "conv2d", "filters": 2, "kernel": 3}, *CNN_HEAD], "cross_entropy", 0)
    with pytest.raises(ValueError, match=r"\[n, 1, 6, 6\]"):
        net.predict(np.zeros((2, 1, 6, 5)))
    with pytest.raises(ValueError, match=r"conv2d expects inputs of shape \[n, 1, 6, 6\]"):
        net.layers[0].forward(np.zeros((2, 6, 6)))
    pool = MaxPool2D((2, 4, 4), 2, 2, np.dtype("float64"))
    with pytest.raises(ValueError, match="maxpool2d expects"):
        pool.forward(np.zeros((1, 2, 4, 3)))
    with pytest.raises(ValueError, match="avgpool2d expects"):
        AvgPool2D((2, 4, 4), 2, 2, np.dtype("float64")).infer(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="conv2d kernel sizes"):
        Conv2D((1, 4, 4), 2, (0, 2), 1, "valid", get_activation("relu"), np.dtype("float64"))


# --- learning -------------------------------------------------------------------


def bars(n: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """6×6 images holding one vertical (class 0) or horizontal (class 1) bar, plus noise."""
    X = 0.1 * rng.standard_normal((n, 1, 6, 6))
    labels = rng.integers(0, 2, n)
    where = rng.integers(0, 6, n)
    for i in range(n):
        if labels[i]:
            X[i, 0, where[i], :] += 1.0
        else:
            X[i, 0, :, where[i]] += 1.0
    return X, np.eye(2)[labels]


def test_a_tiny_cnn_learns_to_tell_vertical_from_horizontal_bars() -> None:
    rng = np.random.default_rng(12)
    net = Network(
        (1, 6, 6),
        [
            {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d", "size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 2, "activation": "softmax"},
        ],
        "cross_entropy",
    )
    net.initialize(rng, "he_uniform")
    X, Y = bars(64, rng)
    first = net.total_loss(X, Y)
    for _ in range(300):
        batch = rng.choice(64, 16, replace=False)
        net.gradients(X[batch], Y[batch])
        net.theta -= 0.1 * net.grad
    X_test, Y_test = bars(200, rng)
    predicted = net.predict(X_test)[-1]["a"].argmax(axis=1)
    assert net.total_loss(X, Y) < 0.1 * first
    assert np.mean(predicted == Y_test.argmax(axis=1)) >= 0.95
