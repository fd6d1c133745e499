"""Backprop through dense networks agrees with central finite differences in float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.activations import ACTIVATIONS
from engine.network import Network

HIDDEN = [name for name in ACTIVATIONS if name != "softmax"]
OUTPUTS = [("mse", a) for a in ACTIVATIONS] + [("bce", "sigmoid"), ("cross_entropy", "softmax")]
REGULARIZERS = ["none", "l1", "l2"]
TOLERANCE = 1e-6


def numeric_gradient(net: Network, X: np.ndarray, Y: np.ndarray, h: float = 1e-6) -> np.ndarray:
    num = np.zeros(net.size)
    for i in range(net.size):
        keep = net.theta[i]
        net.theta[i] = keep + h
        plus = net.total_loss(X, Y)
        net.theta[i] = keep - h
        minus = net.total_loss(X, Y)
        net.theta[i] = keep
        num[i] = (plus - minus) / (2 * h)
    return num


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    return float(np.max(np.abs(analytic - numeric)) / max(np.max(np.abs(numeric)), 1e-8))


def targets(loss: str, rng: np.random.Generator, rows: int, k: int) -> np.ndarray:
    if loss == "cross_entropy":
        return np.eye(k)[rng.integers(0, k, rows)]
    if loss == "bce":
        return rng.integers(0, 2, (rows, k)).astype(float)
    return rng.normal(size=(rows, k))


def build(
    hidden: str, loss: str, output: str, widths: list[int], k: int, reg: str, rng: np.random.Generator
) -> Network:
    layers = [{"type": "dense", "units": w, "activation": hidden} for w in widths]
    layers.append({"type": "dense", "units": k, "activation": output})
    net = Network([3], layers, loss)
    net.initialize(rng)
    net.theta += rng.normal(0, 0.2, net.size)  # non-zero biases, away from relu kinks at 0
    net.set_regularization(reg, 0.05)
    return net


def nudge_off_kinks(net: Network, X: np.ndarray) -> None:
    """Move pre-activations away from relu/leaky_relu/elu kinks, where no derivative exists."""
    for _ in range(20):
        z_all = [values["z"] for values in net.predict(X)]
        if min(float(np.min(np.abs(z))) for z in z_all) > 1e-4:
            return
        net.theta += 1e-3


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss,output", OUTPUTS)
@pytest.mark.parametrize("reg", REGULARIZERS)
def test_every_activation_loss_and_regularizer_matches_finite_differences(
    hidden: str, loss: str, output: str, reg: str
) -> None:
    rng = np.random.default_rng(hash((hidden, loss, output, reg)) % 2**32)
    k = 3 if output == "softmax" else 2
    net = build(hidden, loss, output, [4, 3], k, reg, rng)
    X = rng.normal(size=(5, 3))
    nudge_off_kinks(net, X)
    Y = targets(loss, rng, 5, k)
    net.gradients(X, Y)
    assert relative_error(net.grad.copy(), numeric_gradient(net, X, Y)) <= TOLERANCE


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 9),
    widths=st.lists(st.integers(1, 6), min_size=0, max_size=3),
    hidden=st.sampled_from(["tanh", "sigmoid", "gelu", "softplus", "sin", "linear"]),
    head=st.sampled_from(OUTPUTS),
    reg=st.sampled_from(REGULARIZERS),
)
def test_random_shapes_batches_and_seeds_match_finite_differences(
    seed: int, batch: int, widths: list[int], hidden: str, head: tuple[str, str], reg: str
) -> None:
    loss, output = head
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 4)) if output == "softmax" else int(rng.integers(1, 4))
    net = build(hidden, loss, output, widths, k, reg, rng)
    X = rng.normal(size=(batch, 3))
    Y = targets(loss, rng, batch, k)
    net.gradients(X, Y)
    assert relative_error(net.grad.copy(), numeric_gradient(net, X, Y)) <= TOLERANCE


def test_gradients_overwrite_instead_of_accumulating() -> None:
    rng = np.random.default_rng(1)
    net = build("tanh", "mse", "linear", [4], 2, "l2", rng)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    net.gradients(X, Y)
    first = net.grad.copy()
    net.gradients(X, Y)
    np.testing.assert_array_equal(net.grad, first)


def test_bce_and_cross_entropy_stay_finite_for_logits_of_a_thousand() -> None:
    for loss, output, k in (("bce", "sigmoid", 1), ("cross_entropy", "softmax", 3)):
        net = Network([2], [{"type": "dense", "units": k, "activation": output}], loss)
        net.theta[:] = 0.0
        W = net.layers[0].params["W"]
        W[0, 0] = 1000.0
        W[1, 0] = -1000.0
        X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
        Y = np.zeros((3, k))
        Y[1, 0] = 1.0  # the logit of -1000 points the wrong way: the loss is large but finite
        data_loss, _ = net.gradients(X, Y)
        assert np.isfinite(data_loss) and data_loss > 100
        assert np.all(np.isfinite(net.grad))


def test_invalid_activation_and_loss_pairs_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="needs a 'sigmoid' output"):
        Network([2], [{"type": "dense", "units": 1, "activation": "tanh"}], "bce")
    with pytest.raises(ValueError, match="needs a 'softmax' output"):
        Network([2], [{"type": "dense", "units": 3, "activation": "sigmoid"}], "cross_entropy")
    with pytest.raises(ValueError, match="only on the output layer"):
        Network(
            [2],
            [
                {"type": "dense", "units": 3, "activation": "softmax"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "bce",
        )
    with pytest.raises(ValueError, match="unknown activation"):
        Network([2], [{"type": "dense", "units": 1, "activation": "swishy"}], "mse")
    with pytest.raises(ValueError, match="units must be an integer"):
        Network([2], [{"type": "dense", "units": "8", "activation": "tanh"}], "mse")


def test_parameters_are_laid_out_as_the_contract_says() -> None:
    net = Network(
        [2],
        [
            {"type": "dense", "units": 3, "activation": "tanh"},
            {"type": "dense", "units": 1, "activation": "linear"},
        ],
        "mse",
    )
    rng = np.random.default_rng(0)
    net.initialize(rng)
    params = net.get_params()
    assert params[0]["W"].shape == (2, 3) and params[0]["b"].shape == (3,)
    X = np.array([[0.5, -1.0]])
    z = X @ params[0]["W"] + params[0]["b"]
    np.testing.assert_allclose(net.predict(X)[0]["z"], z)
    # weights first, then biases: regularization touches one contiguous block
    assert net.weight_size == 2 * 3 + 3 * 1
