"""The loss-landscape slice: directions, projection, grid and the loss over it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from engine.landscape import (
    filter_normalized_direction,
    grid_axes,
    loss_surface,
    network_loss,
    principal_directions,
    project,
)
from engine.session import TrainingSession


@dataclass(frozen=True)
class Slot:
    offset: int
    shape: tuple[int, ...]
    role: str


def test_filter_normalised_direction_gives_each_unit_the_norm_of_its_weights() -> None:
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4)) * np.array([0.1, 1.0, 5.0, 20.0])  # unit j = column j
    b = rng.standard_normal(4)
    theta = np.concatenate([W.ravel(), b])
    d = filter_normalized_direction(theta, [Slot(0, (3, 4), "weight"), Slot(12, (4,), "bias")], rng)
    dW = d[:12].reshape(3, 4)
    np.testing.assert_allclose(np.linalg.norm(dW, axis=0), np.linalg.norm(W, axis=0), rtol=1e-9)
    assert np.all(d[12:] == 0.0)  # biases are left out of the direction


def test_filter_normalised_direction_normalises_conv_kernels_per_filter() -> None:
    rng = np.random.default_rng(1)
    K = rng.standard_normal((2, 3, 3, 3)) * np.array([0.5, 7.0])[:, None, None, None]
    d = filter_normalized_direction(K.ravel(), [Slot(0, K.shape, "weight")], rng).reshape(K.shape)
    np.testing.assert_allclose(
        np.linalg.norm(d.reshape(2, -1), axis=1), np.linalg.norm(K.reshape(2, -1), axis=1), rtol=1e-9
    )


def test_principal_directions_recover_the_plane_a_path_moves_in() -> None:
    rng = np.random.default_rng(2)
    size = 10
    e1, e2 = np.zeros(size), np.zeros(size)
    e1[3], e2[7] = 1.0, 1.0
    t = np.linspace(0, 1, 40)
    center = rng.standard_normal(size)
    path = center + np.outer(4 * t - 2, e1) + np.outer(np.sin(6 * t), e2)
    d1, d2, shares = principal_directions(path, center)
    basis = np.stack([d1, d2])
    for e in (e1, e2):  # both directions the path moves in lie in the plane found
        assert np.linalg.norm(basis @ e) == pytest.approx(1.0, abs=1e-9)
    assert abs(d1 @ d2) < 1e-9
    assert shares[0] >= shares[1] > 0 and shares.sum() == pytest.approx(1.0)
    coords = project(path, center, d1, d2)
    assert coords[0, 0] < 0 and coords[0, 1] < 0  # the start sits left and below
    np.testing.assert_allclose(
        center + coords @ basis, path, atol=1e-9
    )  # no part of the path is off the plane


def test_principal_directions_of_a_path_that_has_not_moved_still_span_a_plane() -> None:
    center = np.arange(6.0)
    d1, d2, shares = principal_directions(np.tile(center, (3, 1)), center)
    assert abs(np.linalg.norm(d1) - 1) < 1e-12 and abs(np.linalg.norm(d2) - 1) < 1e-12
    assert abs(d1 @ d2) < 1e-12
    assert list(shares) == [0.0, 0.0]


def test_project_inverts_a_point_built_in_the_plane_even_for_skewed_directions() -> None:
    rng = np.random.default_rng(3)
    center, d1, d2 = rng.standard_normal((3, 8))
    point = center + 0.3 * d1 - 1.7 * d2
    np.testing.assert_allclose(project(point, center, d1, d2), [[0.3, -1.7]], atol=1e-12)
    with pytest.raises(ValueError, match="parallel"):
        project(point, center, d1, 2 * d1)


def test_grid_axes_are_symmetric_and_hold_every_point() -> None:
    alphas, betas = grid_axes(np.array([[0.5, -0.1], [-2.0, 0.05]]), 9)
    assert len(alphas) == len(betas) == 9
    assert alphas[0] == -alphas[-1] and alphas[4] == 0.0
    assert alphas[-1] >= 2.0 and betas[-1] >= 0.1
    with pytest.raises(ValueError, match="res"):
        grid_axes(np.zeros((1, 2)), 2)


def test_loss_surface_evaluates_a_quadratic_bowl_at_every_grid_point() -> None:
    center = np.array([1.0, 2.0, 3.0])
    d1, d2 = np.array([1.0, 0, 0]), np.array([0, 0, 2.0])
    alphas, betas = np.linspace(-1, 1, 5), np.linspace(-0.5, 0.5, 3)
    grid = loss_surface(lambda th: float(np.sum((th - center) ** 2)), center, d1, d2, alphas, betas)
    assert grid.shape == (3, 5)
    expected = alphas[None, :] ** 2 + (2 * betas[:, None]) ** 2
    np.testing.assert_allclose(grid, expected)


def test_network_loss_at_the_current_weights_equals_the_sessions_evaluated_train_loss() -> None:
    session = TrainingSession(
        {
            "model": {
                "layers": [
                    {"type": "dense", "units": 4, "activation": "tanh"},
                    {"type": "dense", "units": 1, "activation": "sigmoid"},
                ]
            },
            "data": {"dataset": "circle", "samples": 80},
            "seed": 4,
        }
    )
    session.step(30)
    twin = session.network.clone()
    loss_at = network_loss(twin, session.data.x_train, session.data.y_train)
    assert loss_at(session.network.theta.copy()) == pytest.approx(session.evaluate()["train_loss"], rel=1e-12)
    # the centre of a slice through the current weights is the current loss
    d1, d2, _ = principal_directions(session.network.theta[None, :], session.network.theta)
    grid = loss_surface(loss_at, session.network.theta.copy(), d1, d2, np.array([0.0]), np.array([0.0]))
    assert grid[0, 0] == pytest.approx(session.evaluate()["train_loss"], rel=1e-12)
