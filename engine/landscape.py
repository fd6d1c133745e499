"""A 2-D slice of the loss landscape, and weight paths projected onto it.

The slice is the plane ``θ(α, β) = center + α·d₁ + β·d₂`` through ``center`` spanned by two
fixed directions, either

- **principal** (:func:`principal_directions`): the top two principal directions of the
  weight path(s) about ``center`` — the plane that the visited weights lie closest to, so the
  paths show their true shape; or
- **filter-normalised random** (:func:`filter_normalized_direction`, Li et al. 2018, "Visualizing
  the Loss Landscape of Neural Nets"): a Gaussian direction whose every filter (one unit's
  incoming weights) is rescaled to the norm of the same filter in θ, biases left out, so the
  picture does not depend on how each layer happens to be scaled.

A path point θ is drawn at the least-squares coordinates of ``θ − center`` in the basis
(d₁, d₂) (:func:`project`). Points off the plane are drawn where they project; the loss under
them is the loss of the plane, not theirs.

Pure NumPy: the loss is any callable ``θ → float`` (:func:`network_loss` makes one from a
network and a fixed data set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SlotLike",
    "filter_normalized_direction",
    "grid_axes",
    "loss_surface",
    "network_loss",
    "principal_directions",
    "project",
]

Array = NDArray[np.float64]


class SlotLike(Protocol):
    """Where one parameter tensor sits in θ (``engine.network.ParamSlot`` is one)."""

    @property
    def offset(self) -> int: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def role(self) -> str: ...


def _filters(view: Array) -> Array:
    """The tensor as rows of filters: a conv kernel [F, C, kh, kw] → F rows; a dense-like
    [inputs, units] matrix → one row per unit (its column); a vector → one row."""
    if view.ndim >= 3:
        return view.reshape(view.shape[0], -1)
    if view.ndim == 2:
        return view.T
    return view.reshape(1, -1)


def filter_normalized_direction(theta: Array, slots: Sequence[SlotLike], rng: np.random.Generator) -> Array:
    """A random direction, θ-shaped, with each filter's norm equal to that filter's norm in θ.

    Bias (non-weight) entries are 0: Li et al. leave them out of the direction.
    """
    theta = np.asarray(theta, dtype=np.float64)
    direction = np.zeros_like(theta)
    for slot in slots:
        size = int(np.prod(slot.shape))
        if slot.role != "weight" or size == 0:
            continue
        w = theta[slot.offset : slot.offset + size].reshape(slot.shape)
        d = rng.standard_normal(slot.shape)
        d_rows, w_rows = _filters(d), _filters(w)
        scale = np.linalg.norm(w_rows, axis=1) / (np.linalg.norm(d_rows, axis=1) + 1e-12)
        normalised = d_rows * scale[:, None]
        back = normalised.T if d.ndim == 2 else normalised.reshape(slot.shape)
        direction[slot.offset : slot.offset + size] = back.reshape(-1)
    return direction


def principal_directions(
    points: Array, center: Array, rng: np.random.Generator | None = None
) -> tuple[Array, Array, Array]:
    """The top two principal directions of ``points − center`` (unit vectors) and the share of
    the spread each explains.

    ``points``: (n, size). When the points span fewer than two directions (a path that has not
    moved yet), the missing ones are random unit vectors orthogonal to the found ones, with share 0.
    Signs are fixed so that the *first* point has negative coordinates: the start sits left and below.
    """
    points = np.asarray(points, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != center.shape[0]:
        raise ValueError(f"points must have shape (n, {center.shape[0]}), got {list(points.shape)}")
    size = center.shape[0]
    if size < 2:
        raise ValueError(f"a 2-D slice needs at least 2 parameters, the network has {size}")
    centred = points - center
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(s**2))
    tol = max(s[0] if len(s) else 0.0, 1.0) * 1e-9
    found = [vt[k] for k in range(min(2, len(s))) if s[k] > tol]
    shares = [float(s[k] ** 2 / total) for k in range(len(found))]
    rng = rng or np.random.default_rng(0)
    while len(found) < 2:
        v = rng.standard_normal(size)
        for u in found:
            v -= np.dot(v, u) * u
        found.append(v / np.linalg.norm(v))
        shares.append(0.0)
    d1, d2 = found
    first = centred[0] if len(centred) else np.zeros(size)
    if np.dot(first, d1) > 0:
        d1 = -d1
    if np.dot(first, d2) > 0:
        d2 = -d2
    return d1, d2, np.array(shares)


def project(points: Array, center: Array, d1: Array, d2: Array) -> Array:
    """Least-squares coordinates (α, β) of each ``point − center`` in the basis (d₁, d₂): (n, 2)."""
    basis = np.stack([np.asarray(d1, np.float64), np.asarray(d2, np.float64)], axis=1)  # (size, 2)
    offsets = np.atleast_2d(np.asarray(points, np.float64)) - center
    gram = basis.T @ basis
    if abs(np.linalg.det(gram)) <= 1e-12 * gram[0, 0] * gram[1, 1]:
        raise ValueError("the two directions are parallel (or zero): they span no plane")
    coords = np.linalg.solve(gram, basis.T @ offsets.T).T
    return np.asarray(coords, dtype=np.float64)


def grid_axes(
    coords: Array, res: int, margin: float = 0.3, min_half_width: float = 1e-3
) -> tuple[Array, Array]:
    """Grid coordinates for α and β: ``res`` values each, symmetric about 0 (the center), wide enough
    to hold every projected point with ``margin`` (a fraction) to spare."""
    if res < 3:
        raise ValueError(f"res must be at least 3, got {res}")
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    finite = coords[np.all(np.isfinite(coords), axis=1)]
    reach = np.max(np.abs(finite), axis=0) if len(finite) else np.zeros(2)
    half = np.maximum(reach * (1.0 + margin), min_half_width)
    return np.linspace(-half[0], half[0], res), np.linspace(-half[1], half[1], res)


def loss_surface(
    loss_at: Callable[[Array], float], center: Array, d1: Array, d2: Array, alphas: Array, betas: Array
) -> Array:
    """``grid[i, j] = loss_at(center + alphas[j]·d₁ + betas[i]·d₂)``: rows follow β, columns α.

    Non-finite losses (the slice can reach weights where the network overflows) stay as NaN/inf.
    """
    grid = np.empty((len(betas), len(alphas)))
    theta = np.empty_like(np.asarray(center, np.float64))
    for i, b in enumerate(betas):
        row = center + b * d2
        for j, a in enumerate(alphas):
            np.add(row, a * d1, out=theta)
            grid[i, j] = loss_at(theta)
    return grid


class _NetworkLike(Protocol):
    theta: Any

    def predict(self, X: Any) -> list[dict[str, Any]]: ...

    @property
    def loss(self) -> Any: ...


def network_loss(network: _NetworkLike, X: Array, Y: Array) -> Callable[[Array], float]:
    """``θ → data loss of `network` on (X, Y)`` (no regularization). ``network`` is changed by each
    call (its θ is overwritten): pass a clone."""

    def loss_at(theta: Array) -> float:
        network.theta[...] = theta
        with np.errstate(all="ignore"):
            out = network.predict(X)[-1]
            value = float(network.loss.value(out["z"], out["a"], Y.reshape(out["a"].shape)))
        return value

    return loss_at
