"""A stack of layers whose parameters live in one flat array.

Layout of ``theta`` (and of ``grad``, which mirrors it): every *weight* tensor of
every layer in layer order, then every *bias* tensor in layer order. Each layer
holds views into it, so

- the optimizer updates all parameters in one call on ``theta``;
- L1/L2 regularization touches ``theta[:weight_size]`` in one call;
- per-layer norms are one ``np.add.reduceat`` over the slots.

``grad`` always holds ∂L/∂θ of the *total* loss once :meth:`Network.gradients`
returns: the data loss's gradient from backprop plus the regularizer's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.initializers import check_initializer, initialize
from engine.layers import ActivatedLayer, Array, Layer, build_layer
from engine.losses import Loss, get_loss

__all__ = ["REGULARIZERS", "Network", "ParamSlot"]

REGULARIZERS = ("none", "l1", "l2")


@dataclass(frozen=True)
class ParamSlot:
    """Where one parameter tensor sits in the flat arrays."""

    layer: int
    name: str
    role: str
    offset: int
    shape: tuple[int, ...]

    # cached: a full trace reads them for every slot of every traced step
    @functools.cached_property
    def size(self) -> int:
        return math.prod(self.shape)

    @functools.cached_property
    def stop(self) -> int:
        return self.offset + self.size


class Network:
    """Layers + loss + regularization over flat parameters.

    ``input_shape`` is per sample (``(2,)`` for the playground, ``(1, 8, 8)`` for
    digits, ``(T, features)`` for sequences). Shapes are fixed here, before any
    data is seen, so a client can draw the network before step 0.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        layer_specs: Sequence[dict[str, Any]],
        loss: str,
        dtype: str = "float64",
    ) -> None:
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        if not layer_specs:
            raise ValueError("a network needs at least one layer")
        shape = tuple(int(d) for d in input_shape)
        if not shape or any(d < 1 for d in shape):
            raise ValueError(f"input_shape must be non-empty positive sizes, got {list(input_shape)}")
        self.dtype = np.dtype(dtype)
        self.input_shape = shape
        self.layer_specs = [dict(spec) for spec in layer_specs]
        self.layers: list[Layer] = []
        for i, spec in enumerate(layer_specs):
            is_output = i == len(layer_specs) - 1
            try:
                layer = build_layer(spec, shape, self.dtype, is_output)
            except ValueError as exc:
                raise ValueError(f"layer {i}: {exc}") from None
            self.layers.append(layer)
            shape = layer.output_shape
        out = self.layers[-1]
        if not isinstance(out, ActivatedLayer):
            raise ValueError(f"the output layer must be dense, got {out.kind!r}")
        self.output_layer: ActivatedLayer = out
        self.loss: Loss = get_loss(loss)
        self.loss.check_output(out.activation.name)
        self.output_shape = out.output_shape

        weights = [
            (i, s) for i, layer in enumerate(self.layers) for s in layer.param_specs if s.role == "weight"
        ]
        biases = [
            (i, s) for i, layer in enumerate(self.layers) for s in layer.param_specs if s.role != "weight"
        ]
        self.slots: list[ParamSlot] = []
        offset = 0
        for i, param in weights + biases:
            self.slots.append(ParamSlot(i, param.name, param.role, offset, param.shape))
            offset += param.size
        self.size = offset
        self.weight_size = sum(s.size for s in self.slots if s.role == "weight")
        self.theta = np.zeros(self.size, self.dtype)
        self.grad = np.zeros(self.size, self.dtype)
        for i, layer in enumerate(self.layers):
            mine = [s for s in self.slots if s.layer == i]
            layer.bind(
                {s.name: self.theta[s.offset : s.stop].reshape(s.shape) for s in mine},
                {s.name: self.grad[s.offset : s.stop].reshape(s.shape) for s in mine},
            )
        # reduceat needs sorted, non-empty segment starts; norms are summed per layer after.
        nonempty = [s for s in self.slots if s.size > 0]
        self._segment_starts = np.array([s.offset for s in nonempty], dtype=np.intp)
        self._segment_layer = np.zeros((len(nonempty), len(self.layers)))
        for k, s in enumerate(nonempty):
            self._segment_layer[k, s.layer] = 1.0
        self.reg_kind = "none"
        self.reg_rate = 0.0
        # The training step's loop, with everything it calls looked up once: bound methods,
        # which layers must pass ∂L/∂X on (not the first), and each layer's slots.
        self._forwards = [layer.forward for layer in self.layers]
        self._backwards = [(self.layers[k].backward, k > 0) for k in range(len(self.layers) - 2, -1, -1)]
        self._loss_train = self.loss.train
        self._output_act = out.activation
        self._loss_tmp: Array | None = None  # scratch for the fused loss, shaped like the output
        self._layer_slots = [[s for s in self.slots if s.layer == i] for i in range(len(self.layers))]

    # --- parameters ------------------------------------------------------------

    def initialize(
        self, rng: np.random.Generator, initializer: str = "glorot_uniform", scale: float = 0.5
    ) -> None:
        """Draw every weight with ``initializer`` and set biases, in slot order."""
        check_initializer(initializer)
        for slot in self.slots:
            layer = self.layers[slot.layer]
            spec = next(s for s in layer.param_specs if s.name == slot.name)
            view = self.theta[slot.offset : slot.stop].reshape(slot.shape)
            if slot.role == "weight":
                view[...] = initialize(initializer, spec, rng, scale)
            else:
                view[...] = layer.initial_bias(spec)

    def clone(self) -> Network:
        """A network with the same structure, loss, regularization and parameters."""
        twin = Network(self.input_shape, self.layer_specs, self.loss.name, self.dtype.name)
        twin.theta[...] = self.theta
        twin.set_regularization(self.reg_kind, self.reg_rate)
        return twin

    def get_params(self) -> list[dict[str, Array]]:
        """Copies of every layer's parameters, in the contract's layout."""
        return [{name: p.copy() for name, p in layer.params.items()} for layer in self.layers]

    def set_params(self, layers: Sequence[dict[str, Any]]) -> None:
        """Replace parameters; every shape and value is checked before anything changes."""
        if len(layers) != len(self.layers):
            raise ValueError(f"expected parameters for {len(self.layers)} layers, got {len(layers)}")
        staged: list[tuple[Array, NDArray[np.float64]]] = []
        for i, (layer, given) in enumerate(zip(self.layers, layers, strict=True)):
            if not isinstance(given, dict):
                raise ValueError(f"layer {i}: parameters must be an object of arrays")
            expected = set(layer.params)
            if set(given) != expected:
                raise ValueError(f"layer {i}: expected parameters {sorted(expected)}, got {sorted(given)}")
            for name, target in layer.params.items():
                try:
                    value = np.asarray(given[name], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"layer {i} {name}: not an array of numbers") from None
                if value.shape != target.shape:
                    raise ValueError(
                        f"layer {i} {name}: expected shape {list(target.shape)}, got {list(value.shape)}"
                    )
                if not np.all(np.isfinite(value)):
                    raise ValueError(f"layer {i} {name}: values must be finite")
                staged.append((target, value))
        for target, value in staged:
            target[...] = value

    def layer_slices(self, layer: int) -> list[ParamSlot]:
        return list(self._layer_slots[layer])

    def slot(self, layer: int, name: str) -> ParamSlot:
        for s in self.slots:
            if s.layer == layer and s.name == name:
                return s
        raise ValueError(f"layer {layer} has no parameter {name!r}")

    def layer_norms(self, flat: Array) -> Array:
        """L2 norm of ``flat`` restricted to each layer's parameters.

        ``flat`` is θ-shaped, ``(size,)`` → ``(layers,)``, or a stack of such rows,
        ``(k, size)`` → ``(k, layers)`` (the trace takes θ, grad and update at once).
        """
        if not len(self._segment_starts):
            return np.zeros((*flat.shape[:-1], len(self.layers)))
        sq = np.add.reduceat(flat * flat, self._segment_starts, axis=-1).astype(np.float64, copy=False)
        norms: Array = np.sqrt(np.dot(sq, self._segment_layer))
        return norms

    # --- computation -----------------------------------------------------------

    def forward(self, X: Array) -> Array:
        """Training forward pass: every layer keeps what its backward needs."""
        for forward in self._forwards:
            X = forward(X)
        return X

    def data_loss_and_backward(self, X: Array, Y: Array) -> float:
        """Forward, data loss, and backprop of ∂L_data/∂θ into ``grad``."""
        for forward in self._forwards:
            X = forward(X)
        out = self.output_layer
        z, a = out.last_z_a()
        if Y.shape != a.shape:
            Y = Y.reshape(a.shape)
        tmp = self._loss_tmp
        if tmp is None or tmp.shape != z.shape:
            tmp = self._loss_tmp = np.empty_like(z)
        delta = out.delta_buffer()
        loss = self._loss_train(z, a, Y, self._output_act, delta, tmp)
        dA = out.backward_delta(delta, len(self.layers) > 1)
        for backward, need_dX in self._backwards:
            assert dA is not None
            dA = backward(dA, need_dX)
        return loss

    def regularization(self) -> float:
        """Add the regularizer's gradient into ``grad`` and return its loss."""
        rate = self.reg_rate
        if self.reg_kind == "none" or rate == 0.0:
            return 0.0
        w = self.theta[: self.weight_size]
        g = self.grad[: self.weight_size]
        if self.reg_kind == "l2":
            # L = rate/2 · Σw², ∂L/∂w = rate·w
            g += rate * w
            return 0.5 * rate * float(np.vdot(w, w))
        # l1: L = rate · Σ|w|, ∂L/∂w = rate·sign(w) (0 at w = 0, the subgradient PyTorch uses)
        g += rate * np.sign(w)
        return rate * float(np.abs(w).sum())

    def set_regularization(self, kind: str, rate: float) -> None:
        if kind not in REGULARIZERS:
            raise ValueError(f"unknown regularization {kind!r}; choose one of: {', '.join(REGULARIZERS)}")
        if not np.isfinite(rate) or rate < 0:
            raise ValueError(f"regularization rate must be a finite number ≥ 0, got {rate}")
        self.reg_kind, self.reg_rate = kind, float(rate)

    def gradients(self, X: Array, Y: Array) -> tuple[float, float]:
        """``grad`` ← ∂(L_data + L_reg)/∂θ; returns (data loss, regularization loss)."""
        data = self.data_loss_and_backward(X, Y)
        return data, self.regularization()

    def total_loss(self, X: Array, Y: Array) -> float:
        """Data + regularization loss at the current θ, without touching ``grad``."""
        acts = self.predict(X)[-1]
        loss = self.loss.value(acts["z"], acts["a"], Y.reshape(acts["a"].shape))
        w = self.theta[: self.weight_size]
        if self.reg_kind == "l2":
            loss += 0.5 * self.reg_rate * float(np.vdot(w, w))
        elif self.reg_kind == "l1":
            loss += self.reg_rate * float(np.abs(w).sum())
        return loss

    def predict(self, X: Array) -> list[dict[str, Array]]:
        """Pure forward pass: each layer's intermediates (at least ``"a"``), nothing kept."""
        X = np.asarray(X, dtype=self.dtype)
        if X.shape[1:] != self.input_shape:
            raise ValueError(
                f"inputs must have shape [n, {', '.join(map(str, self.input_shape))}], got {list(X.shape)}"
            )
        result = []
        for layer in self.layers:
            values = layer.infer(X)
            result.append(values)
            X = values["a"]
        return result

    def describe(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "loss": self.loss.name,
            "dtype": self.dtype.name,
            "parameters": self.size,
            "layers": [layer.describe() for layer in self.layers],
        }
