"""Element-wise activations and their derivatives, side by side.

Each activation is a pair of functions over preallocated arrays:

- ``forward(z, out)`` writes ``a = f(z)`` into ``out``;
- ``backward(z, a, dA, out)`` writes ``delta = dA · f'(z)`` (∂L/∂z) into ``out``.

``backward`` receives both ``z`` and ``a`` so each derivative can use whichever
is cheaper (tanh' = 1 − a², relu' = [z > 0]). Arrays have shape ``(batch, units)``
or any shape; softmax works over the last axis and its backward is the
Jacobian-vector product, so it is exact for any upstream gradient.

``derivative(z, a)`` returns f'(z) itself for the element-wise ones (the
explain panel shows it as a factor); softmax has a Jacobian, not a scalar
derivative, and ``derivative`` refuses it.

Constants follow PyTorch's defaults: leaky_relu slope 0.01, elu α = 1,
gelu in its exact erf form, softplus β = 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ACTIVATIONS", "OUTPUT_ONLY", "Activation", "get_activation"]

Array = NDArray[np.floating]

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
SOFTPLUS_BETA = 1.0
_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _erf_array(x: Array) -> Array:
    # NumPy has no erf ufunc; math.erf per element is exact and gelu nets are small.
    out: Array = _erf(x).astype(x.dtype, copy=False)
    return out


# --- forward ------------------------------------------------------------------


def _linear_f(z: Array, out: Array) -> None:
    np.copyto(out, z)


def _relu_f(z: Array, out: Array) -> None:
    np.maximum(z, 0, out=out)


def _leaky_relu_f(z: Array, out: Array) -> None:
    np.multiply(z, LEAKY_SLOPE, out=out)
    np.maximum(z, out, out=out)


def _elu_f(z: Array, out: Array) -> None:
    # expm1 on min(z, 0) never overflows; positive entries are copied back.
    np.minimum(z, 0, out=out)
    np.expm1(out, out=out)
    out *= ELU_ALPHA
    np.copyto(out, z, where=z > 0)


def _gelu_f(z: Array, out: Array) -> None:
    out[...] = 0.5 * z * (1.0 + _erf_array(z * _SQRT_HALF))


def _tanh_f(z: Array, out: Array) -> None:
    np.tanh(z, out=out)


def _sigmoid_f(z: Array, out: Array) -> None:
    # σ(z) = (1 + tanh(z/2)) / 2: no overflow for any z, no warnings.
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def _softplus_f(z: Array, out: Array) -> None:
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|), stable for |z| large.
    bz = z * SOFTPLUS_BETA
    np.abs(bz, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(bz, 0)
    out /= SOFTPLUS_BETA


def _sin_f(z: Array, out: Array) -> None:
    np.sin(z, out=out)


def _softmax_f(z: Array, out: Array) -> None:
    np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)


# --- derivative f'(z) ---------------------------------------------------------


def _linear_d(z: Array, a: Array) -> Array:
    return np.ones_like(z)


def _relu_d(z: Array, a: Array) -> Array:
    return (z > 0).astype(z.dtype)


def _leaky_relu_d(z: Array, a: Array) -> Array:
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


def _elu_d(z: Array, a: Array) -> Array:
    # for z ≤ 0, f'(z) = α·e^z = f(z) + α
    return np.where(z > 0, 1.0, a + ELU_ALPHA).astype(z.dtype)


def _gelu_d(z: Array, a: Array) -> Array:
    cdf = 0.5 * (1.0 + _erf_array(z * _SQRT_HALF))
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return (cdf + z * pdf).astype(z.dtype)


def _tanh_d(z: Array, a: Array) -> Array:
    return 1.0 - a * a


def _sigmoid_d(z: Array, a: Array) -> Array:
    return a * (1.0 - a)


def _softplus_d(z: Array, a: Array) -> Array:
    # d/dz softplus = σ(βz)
    s = np.empty_like(z)
    _sigmoid_f(z * SOFTPLUS_BETA, s)
    return s


def _sin_d(z: Array, a: Array) -> Array:
    return np.cos(z)


# --- backward: delta = dA · f'(z), written into out ---------------------------


def _generic_backward(derivative: Callable[[Array, Array], Array]) -> Callable[..., None]:
    def backward(z: Array, a: Array, dA: Array, out: Array) -> None:
        np.multiply(dA, derivative(z, a), out=out)

    return backward


def _linear_b(z: Array, a: Array, dA: Array, out: Array) -> None:
    np.copyto(out, dA)


def _tanh_b(z: Array, a: Array, dA: Array, out: Array) -> None:
    # hot path of the playground nets: three calls, no temporaries.
    np.multiply(a, a, out=out)
    np.subtract(1.0, out, out=out)
    out *= dA


def _sigmoid_b(z: Array, a: Array, dA: Array, out: Array) -> None:
    np.subtract(1.0, a, out=out)
    out *= a
    out *= dA


def _relu_b(z: Array, a: Array, dA: Array, out: Array) -> None:
    np.multiply(dA, z > 0, out=out)


def _softmax_b(z: Array, a: Array, dA: Array, out: Array) -> None:
    # Jacobian-vector product of softmax: a ⊙ (dA − Σ_k dA_k a_k)
    np.subtract(dA, (dA * a).sum(axis=-1, keepdims=True), out=out)
    out *= a


def _no_derivative(z: Array, a: Array) -> Array:
    raise ValueError("softmax has a Jacobian, not an element-wise derivative")


@dataclass(frozen=True)
class Activation:
    """One activation: its name, forward, backward and element-wise derivative."""

    name: str
    forward: Callable[[Array, Array], None]
    backward: Callable[[Array, Array, Array, Array], None]
    derivative: Callable[[Array, Array], Array]
    formula: str
    derivative_formula: str


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("linear", _linear_f, _linear_b, _linear_d, "z", "1"),
        Activation("relu", _relu_f, _relu_b, _relu_d, "max(z, 0)", "[z > 0]"),
        Activation(
            "leaky_relu",
            _leaky_relu_f,
            _generic_backward(_leaky_relu_d),
            _leaky_relu_d,
            f"max(z, {LEAKY_SLOPE}·z)",
            f"1 if z > 0 else {LEAKY_SLOPE}",
        ),
        Activation(
            "elu", _elu_f, _generic_backward(_elu_d), _elu_d, "z if z > 0 else e^z − 1", "1 if z > 0 else e^z"
        ),
        Activation("gelu", _gelu_f, _generic_backward(_gelu_d), _gelu_d, "z·Φ(z)", "Φ(z) + z·φ(z)"),
        Activation("tanh", _tanh_f, _tanh_b, _tanh_d, "tanh(z)", "1 − a²"),
        Activation("sigmoid", _sigmoid_f, _sigmoid_b, _sigmoid_d, "1 / (1 + e^−z)", "a·(1 − a)"),
        Activation(
            "softplus",
            _softplus_f,
            _generic_backward(_softplus_d),
            _softplus_d,
            "log(1 + e^z)",
            "σ(z)",
        ),
        Activation("sin", _sin_f, _generic_backward(_sin_d), _sin_d, "sin(z)", "cos(z)"),
        Activation("softmax", _softmax_f, _softmax_b, _no_derivative, "e^z_j / Σ_k e^z_k", "Jacobian"),
    )
}

OUTPUT_ONLY = frozenset({"softmax"})


def get_activation(name: str) -> Activation:
    """Return the activation called ``name``; unknown names raise ``ValueError``."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; choose one of: {known}") from None
