"""What every layer is: shapes known at construction, parameters as views, forward/backward.

A layer never owns its parameter memory. The :class:`~engine.network.Network`
lays every parameter of every layer out in one flat array ``theta`` (weights
first, then biases, so regularization and the optimizer update are each one
NumPy call) and hands each layer *views* into it through :meth:`Layer.bind`.
Gradients live in a second flat array with the same layout.

Contract of a layer (shapes are per batch, batch axis first):

- ``forward(X)`` with ``X: (batch, *input_shape)`` returns ``A: (batch, *output_shape)``
  and keeps what ``backward`` needs;
- ``backward(dA, need_dX)`` takes ∂L/∂A, *writes* (not accumulates) ∂L/∂param into
  ``self.grads`` and returns ∂L/∂X (or ``None`` when ``need_dX`` is false: the first
  layer skips that product);
- ``infer(X)`` is a pure forward pass that keeps nothing, returning the layer's
  named intermediate arrays (at least ``"a"``) for predictions, heatmaps and explain;
- ``trace()`` returns copies of the intermediates of the last forward/backward
  pass (``z``, ``a``, ``delta`` and layer-specific extras) for a full trace.

Layers with an activation (``dense``, ``conv2d``) also take
``backward_delta(delta, need_dX)`` so a fused output loss can hand them
∂L/∂z directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from engine.activations import Activation

__all__ = ["ActivatedLayer", "Array", "Layer", "ParamSpec", "PassBuffers"]

Array = NDArray[np.floating]
Role = Literal["weight", "bias"]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter tensor of a layer.

    ``role`` decides regularization (weights only) and initialization;
    ``fan_in``/``fan_out`` feed the Glorot and He initializers.
    """

    name: str
    shape: tuple[int, ...]
    role: Role
    fan_in: int
    fan_out: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class Layer(ABC):
    """Base class: subclasses set ``kind``, shapes and ``param_specs`` in ``__init__``."""

    kind: ClassVar[str]

    def __init__(self, input_shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape: tuple[int, ...] = self.input_shape
        self.dtype = dtype
        self.param_specs: list[ParamSpec] = []
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}

    # --- parameters ----------------------------------------------------------

    def bind(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """Receive views into the network's flat parameter and gradient arrays."""
        for spec in self.param_specs:
            if params[spec.name].shape != spec.shape or grads[spec.name].shape != spec.shape:
                raise AssertionError(f"bound {spec.name} with the wrong shape")
        self.params = params
        self.grads = grads

    def initial_bias(self, spec: ParamSpec) -> float | Array:
        """The starting value of a bias; a subclass may override (LSTM forget gate)."""
        return 0.0

    # --- computation ---------------------------------------------------------

    @abstractmethod
    def forward(self, X: Array) -> Array: ...

    @abstractmethod
    def backward(self, dA: Array, need_dX: bool) -> Array | None: ...

    @abstractmethod
    def infer(self, X: Array) -> dict[str, Array]: ...

    def trace(self) -> dict[str, Array]:
        """Copies of the last pass's intermediates; layers without any return {}."""
        return {}

    def describe(self) -> dict[str, Any]:
        """A plain description for the page: kind, shapes, parameter shapes."""
        return {
            "type": self.kind,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "params": {s.name: list(s.shape) for s in self.param_specs},
        }


class PassBuffers(Protocol):
    """The scratch arrays an activated layer keeps from its last pass."""

    z: Array
    a: Array
    delta: Array


class ActivatedLayer(Layer):
    """A layer whose output is ``a = f(z)``; it can start its backward pass from δ = ∂L/∂z.

    Subclasses keep the last pass's ``z``, ``a`` and ``δ`` in ``self._buf`` and implement
    :meth:`_backward_from_buffer` (parameter gradients and ∂L/∂X from ``_buf.delta``).
    """

    activation: Activation
    _buf: PassBuffers | None

    @abstractmethod
    def _backward_from_buffer(self, need_dX: bool) -> Array | None: ...

    def backward_delta(self, delta: Array, need_dX: bool) -> Array | None:
        """Backward from δ = ∂L/∂z (a fused output loss computes it directly)."""
        buf = self._buf
        assert buf is not None, "backward before forward"
        if delta is not buf.delta:
            np.copyto(buf.delta, delta.reshape(buf.delta.shape))
        return self._backward_from_buffer(need_dX)

    def delta_buffer(self) -> Array:
        """Where a fused loss may write δ directly, saving a copy."""
        assert self._buf is not None, "delta_buffer before forward"
        return self._buf.delta

    def last_z_a(self) -> tuple[Array, Array]:
        """The pre-activation and activation of the last ``forward`` (live buffers)."""
        assert self._buf is not None, "last_z_a before forward"
        return self._buf.z, self._buf.a

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["activation"] = self.activation.name
        return d
