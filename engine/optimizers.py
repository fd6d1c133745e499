"""Optimizers over the flat parameter vector, following the rules documented for ``torch.optim``.

Every optimizer works on the network's one flat ``theta`` and its gradient ``grad``
(see :mod:`engine.network`) and writes the change it would make, Δθ = θ_new − θ_old,
into a preallocated ``update`` array; the caller applies ``theta += update`` and
shows ``update`` on every weight. ``step`` never touches ``theta`` or ``grad``.

Notation: g = ∂L/∂θ, lr = learning rate of this step, t = step count (1 on the
first step), wd = weight_decay. Where a rule says "g ← g + wd·θ" this is PyTorch's
coupled L2 weight decay, applied before anything else; AdamW decays θ directly.

- ``sgd``:     b ← g on the first momentum step, then b ← μ·b + (1−τ)·g;
               Δθ = −lr·d with d = g (μ = 0), b, or g + μ·b (nesterov).
- ``adam``:    m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
               m̂ = m/(1−β1^t), v̂ = v/(1−β2^t) (amsgrad: v_max ← max(v_max, v), v̂ = v_max/(1−β2^t)),
               Δθ = −lr·m̂/(√v̂ + ε).
- ``adamw``:   Adam without g ← g + wd·θ, plus the decoupled decay: Δθ = −lr·wd·θ − lr·m̂/(√v̂ + ε).
- ``rmsprop``: v ← α·v + (1−α)·g²; centered: ḡ ← α·ḡ + (1−α)·g, ṽ = v − ḡ², else ṽ = v;
               μ > 0: b ← μ·b + g/(√ṽ + ε), Δθ = −lr·b; else Δθ = −lr·g/(√ṽ + ε).
- ``adagrad``: lr_t = lr/(1 + (t−1)·lr_decay), s ← s + g² (s starts at initial_accumulator_value),
               Δθ = −lr_t·g/(√s + ε).

Speed: ``step`` is on the training loop's hot path, so each rule is a handful of
in-place NumPy calls with no allocation. ``update`` doubles as scratch space until
its final value is written (it must not alias ``theta`` or ``grad``); one more
scratch array holds the decayed gradient g + wd·θ (AdamW: the decay term −lr·wd·θ),
which :meth:`Optimizer.explain` reads back when it is not given θ. Adam's ε is folded as
−lr·m̂/(√v̂ + ε) = −(lr·√bc2/bc1)·m/(√v + ε·√bc2), the same number up to rounding.
``lr`` is not re-checked per step: it comes from a validated config and schedule.

Deliberate differences from ``torch.optim``: ε must be > 0 (ε = 0 turns a zero
gradient into 0/0); β, α and momentum must be < 1; centered RMSprop clamps the
variance estimate v − ḡ² at 0, where rounding can make it a hair negative and
PyTorch would return NaN.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "OPTIMIZERS",
    "OPTIMIZER_DEFAULTS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "make_optimizer",
]

Array = NDArray[np.floating]
Hyper = dict[str, float | bool]


@dataclass(frozen=True)
class _Param:
    """One hyperparameter: its default and, for numbers, the allowed range."""

    default: float | bool
    range_text: str = ""
    accepts: Callable[[float], bool] = lambda x: True

    def parse(self, optimizer: str, key: str, value: object) -> float | bool:
        if isinstance(self.default, bool):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{optimizer} {key} must be true or false, got {value!r}")
            return bool(value)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(f"{optimizer} {key} must be a number, got {value!r}")
        x = float(value)
        if not math.isfinite(x) or not self.accepts(x):
            raise ValueError(f"{optimizer} {key} must be a finite number {self.range_text}, got {value!r}")
        return x


def _nonneg(default: float) -> _Param:
    return _Param(default, "≥ 0", lambda x: x >= 0.0)


def _positive(default: float) -> _Param:
    return _Param(default, "> 0", lambda x: x > 0.0)


def _fraction(default: float) -> _Param:
    return _Param(default, "in [0, 1)", lambda x: 0.0 <= x < 1.0)


def _flag(default: bool) -> _Param:
    return _Param(default)


def _float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}") from None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float64 or float32, got {dt.name}")
    return dt


class Optimizer(ABC):
    """Update rule with its state over a flat parameter vector of ``size`` entries.

    ``t`` counts the steps taken; ``hyper`` holds the current hyperparameters (lr is
    passed to each step, so a schedule can change it). Buffers are named as in
    PyTorch's state dicts and keep their values across :meth:`set_hyper`.
    """

    name: ClassVar[str]
    HYPER: ClassVar[dict[str, _Param]]
    BUFFERS: ClassVar[tuple[str, ...]]
    NONNEGATIVE: ClassVar[frozenset[str]] = frozenset()
    OPTIONAL: ClassVar[frozenset[str]] = frozenset()  # may be absent from a saved state

    def __init__(self, size: int, dtype: DTypeLike = np.float64, **hyper: float | bool) -> None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f"optimizer size must be an integer ≥ 0, got {size!r}")
        self.size = int(size)
        self.dtype = _float_dtype(dtype)
        self._hyper = self._validated({k: p.default for k, p in self.HYPER.items()}, hyper)
        self.t = 0
        self._buffers = {name: np.zeros(self.size, self.dtype) for name in self.BUFFERS}
        # g + wd·θ of the last step (AdamW: −lr·wd·θ), written at step _scratch_t; explain() reads it.
        self._scratch = np.zeros(self.size, self.dtype)
        self._scratch_t = -1
        self._configure()
        self.reset_state()

    # --- hyperparameters -------------------------------------------------------

    @property
    def hyper(self) -> Hyper:
        """A copy of the current hyperparameters (change them with :meth:`set_hyper`)."""
        return dict(self._hyper)

    def _validated(self, current: Hyper, changes: dict[str, Any]) -> Hyper:
        merged = dict(current)
        for key, value in changes.items():
            if key not in self.HYPER:
                known = ", ".join(self.HYPER)
                raise ValueError(f"unknown {self.name} hyperparameter {key!r}; known: {known}")
            merged[key] = self.HYPER[key].parse(self.name, key, value)
        self._check_combination(merged)
        return merged

    def _check_combination(self, hyper: Hyper) -> None:  # noqa: B027 (optional hook)
        """Refuse combinations of individually valid values (SGD's nesterov)."""

    @abstractmethod
    def _configure(self) -> None:
        """Copy the hyperparameters into plain attributes for the hot path."""

    def set_hyper(self, **changes: float | bool) -> None:
        """Change hyperparameters live; buffers and t are kept. All-or-nothing on error."""
        self._hyper = self._validated(self._hyper, changes)
        self._configure()

    # --- the update --------------------------------------------------------------

    @abstractmethod
    def step(self, theta: Array, grad: Array, lr: float, update: Array) -> None:
        """Write Δθ for this step into ``update`` and advance the state; theta and grad are read only."""

    def update_norm_bound(self, lr: float, grad_norm: float) -> float:
        """A bound on ‖Δθ‖₂ of the next step given ‖g‖₂, or ``inf`` where the rule gives none.

        Lets the caller skip scanning Δθ for inf/NaN when the bound already rules them out.
        """
        return math.inf

    # --- state -------------------------------------------------------------------

    def buffers(self) -> dict[str, Array]:
        """Live views of the buffers the current hyperparameters use, by PyTorch's names."""
        return {name: self._buffers[name] for name in self._active()}

    def _active(self) -> tuple[str, ...]:
        return self.BUFFERS

    def _saved(self) -> tuple[str, ...]:
        return self.BUFFERS

    def state(self) -> dict[str, Any]:
        """``{"t", "buffers", "hyper"}`` with copies of the buffers: enough for an exact resume."""
        return {
            "t": self.t,
            "buffers": {name: self._buffers[name].copy() for name in self._saved()},
            "hyper": self.hyper,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state` exactly; everything is checked before anything changes."""
        if not isinstance(state, dict) or set(state) != {"t", "buffers", "hyper"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"optimizer state must have keys ['buffers', 'hyper', 't'], got {got}")
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"optimizer state t must be an integer ≥ 0, got {t!r}")
        hyper = state["hyper"]
        if not isinstance(hyper, dict) or set(hyper) != set(self.HYPER):
            found = sorted(hyper) if isinstance(hyper, dict) else type(hyper).__name__
            raise ValueError(f"{self.name} state hyper must have keys {sorted(self.HYPER)}, got {found}")
        new_hyper = self._validated(self._hyper, hyper)
        given = state["buffers"]
        if not isinstance(given, dict):
            raise ValueError(
                f"optimizer state buffers must be an object of arrays, got {type(given).__name__}"
            )
        required = set(self.BUFFERS) - self.OPTIONAL
        if not required <= set(given) <= set(self.BUFFERS):
            raise ValueError(
                f"{self.name} state buffers must be {sorted(required)}"
                + (f" (optionally {sorted(self.OPTIONAL)})" if self.OPTIONAL else "")
                + f", got {sorted(given)}"
            )
        staged: dict[str, Array] = {}
        for name, value in given.items():
            try:
                array = np.asarray(value, dtype=self.dtype)
            except (TypeError, ValueError):
                raise ValueError(f"optimizer buffer {name}: not an array of numbers") from None
            if array.shape != (self.size,):
                raise ValueError(
                    f"optimizer buffer {name}: expected shape [{self.size}], got {list(array.shape)}"
                )
            if not np.all(np.isfinite(array)):
                raise ValueError(f"optimizer buffer {name}: values must be finite")
            if name in self.NONNEGATIVE and np.any(array < 0):
                raise ValueError(f"optimizer buffer {name}: values must be ≥ 0")
            staged[name] = array
        self.reset_state()
        self._hyper = new_hyper
        self._configure()
        self.t = int(t)
        for name, array in staged.items():
            np.copyto(self._buffers[name], array)
        self._loaded(set(staged))

    def _loaded(self, names: set[str]) -> None:  # noqa: B027 (optional hook)
        """Hook after :meth:`load_state` copied the buffers ``names``."""

    def reset_state(self) -> None:
        """Back to step 0: buffers zeroed (Adagrad's sum refilled), t = 0; hyperparameters kept."""
        for buffer in self._buffers.values():
            buffer.fill(0.0)
        self.t = 0
        self._scratch_t = -1

    # --- explain -----------------------------------------------------------------

    def explain(
        self, index: int, grad_value: float, lr: float, theta_value: float | None = None
    ) -> dict[str, float | str]:
        """The numbers behind parameter ``index``'s last update, read after :meth:`step`.

        ``grad_value`` is ∂L/∂θ at ``index`` for that step, ``lr`` the rate it used and
        ``theta_value`` the parameter *before* the step. Weight decay makes the update
        depend on θ: without ``theta_value`` it is read from the live optimizer's record of
        its last step, which an optimizer rebuilt by :meth:`load_state` does not have
        (``ValueError`` then). Always has ``optimizer``, ``rule``, ``t``, ``lr``, ``grad``,
        ``effective_grad``, ``update`` (Δθ recomputed in scalar arithmetic from the
        buffers) and each active buffer's value.
        """
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < self.size:
            raise ValueError(f"parameter index must be an integer in [0, {self.size}), got {index!r}")
        if self.t == 0:
            raise ValueError(f"{self.name} has taken no step yet: nothing to explain")
        values: dict[str, float | str] = {
            "optimizer": self.name,
            "rule": self._rule(),
            "t": self.t,
            "lr": float(lr),
            "grad": float(grad_value),
        }
        values.update({name: float(buf[index]) for name, buf in self.buffers().items()})
        theta = None if theta_value is None else float(theta_value)
        values.update(self._explain(int(index), float(grad_value), float(lr), theta))
        return values

    def _last_scratch(self, index: int) -> float:
        """The scratch value the last step wrote at ``index``, if this optimizer took that step."""
        if self._scratch_t != self.t:
            raise ValueError(
                f"{self.name} with weight_decay needs theta_value (θ before the step) to explain it"
            )
        return float(self._scratch[index])

    def _effective_grad(self, index: int, grad_value: float, theta_value: float | None) -> float:
        """g + wd·θ for coupled weight decay."""
        wd = float(self._hyper["weight_decay"])
        if not wd:
            return grad_value
        if theta_value is not None:
            return grad_value + wd * theta_value
        return self._last_scratch(index)

    @abstractmethod
    def _rule(self) -> str:
        """The update rule for the current hyperparameters, in symbols."""

    @abstractmethod
    def _explain(self, index: int, grad_value: float, lr: float, theta: float | None) -> dict[str, float]:
        """Optimizer-specific intermediate values at ``index`` (including ``update``)."""


def _decay_rule(wd: float) -> str:
    return "g = ∂L/∂θ + wd·θ; " if wd else "g = ∂L/∂θ; "


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay.

    As in PyTorch, the momentum buffer does not exist until the first step taken with
    momentum > 0, which sets it to g (no dampening on that step).
    """

    name = "sgd"
    HYPER: ClassVar[dict[str, _Param]] = {
        "momentum": _fraction(0.0),
        "dampening": _Param(0.0, "in [0, 1]", lambda x: 0.0 <= x <= 1.0),
        "nesterov": _flag(False),
        "weight_decay": _nonneg(0.0),
    }
    BUFFERS = ("momentum_buffer",)
    OPTIONAL = frozenset({"momentum_buffer"})

    def _check_combination(self, hyper: Hyper) -> None:
        if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
            raise ValueError(
                f"sgd nesterov needs momentum > 0 and dampening 0, got momentum {hyper['momentum']} "
                f"and dampening {hyper['dampening']}"
            )

    def _configure(self) -> None:
        h = self._hyper
        self._momentum = float(h["momentum"])
        self._keep = 1.0 - float(h["dampening"])
        self._nesterov = bool(h["nesterov"])
        self._wd = float(h["weight_decay"])
        self._plain = self._momentum == 0.0 and self._wd == 0.0
        self._buf = self._buffers["momentum_buffer"]

    def reset_state(self) -> None:
        super().reset_state()
        self._buf_ready = False

    def _active(self) -> tuple[str, ...]:
        return self.BUFFERS if self._momentum else ()

    def _saved(self) -> tuple[str, ...]:
        return self.BUFFERS if self._buf_ready else ()

    def _loaded(self, names: set[str]) -> None:
        self._buf_ready = "momentum_buffer" in names

    def update_norm_bound(self, lr: float, grad_norm: float) -> float:
        # plain SGD: Δθ = −lr·g, so ‖Δθ‖ = lr·‖g‖ up to rounding
        return lr * grad_norm if self._plain else math.inf

    def step(self, theta: Array, grad: Array, lr: float, update: Array) -> None:
        if self._plain:
            np.multiply(grad, -lr, out=update)
            self.t += 1
            return
        g = grad
        if self._wd:
            g = self._scratch
            np.multiply(theta, self._wd, out=g)
            g += grad
            self._scratch_t = self.t + 1
        mu = self._momentum
        if not mu:
            np.multiply(g, -lr, out=update)
        else:
            buf = self._buf
            if not self._buf_ready:
                np.copyto(buf, g)
                self._buf_ready = True
            elif self._keep == 1.0:
                buf *= mu
                buf += g
            else:
                np.multiply(g, self._keep, out=update)
                buf *= mu
                buf += update
            if self._nesterov:
                np.multiply(buf, mu, out=update)
                update += g
                update *= -lr
            else:
                np.multiply(buf, -lr, out=update)
        self.t += 1

    def _rule(self) -> str:
        rule = _decay_rule(self._wd)
        if not self._momentum:
            return rule + "Δθ = −lr·g"
        damp = "(1−τ)·g" if self._keep != 1.0 else "g"
        rule += f"b ← μ·b + {damp} (b = g on the first step); "
        return rule + ("Δθ = −lr·(g + μ·b)" if self._nesterov else "Δθ = −lr·b")

    def _explain(self, index: int, grad_value: float, lr: float, theta: float | None) -> dict[str, float]:
        g = self._effective_grad(index, grad_value, theta)
        direction = g
        if self._momentum:
            buf = float(self._buf[index])
            direction = g + self._momentum * buf if self._nesterov else buf
        return {"effective_grad": g, "update": -lr * direction}


class Adam(Optimizer):
    """Adam with bias-corrected moments, optional AMSGrad and coupled L2 weight decay."""

    name = "adam"
    HYPER: ClassVar[dict[str, _Param]] = {
        "beta1": _fraction(0.9),
        "beta2": _fraction(0.999),
        "eps": _positive(1e-8),
        "weight_decay": _nonneg(0.0),
        "amsgrad": _flag(False),
    }
    BUFFERS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    NONNEGATIVE = frozenset({"exp_avg_sq", "max_exp_avg_sq"})
    DECOUPLED: ClassVar[bool] = False

    def _configure(self) -> None:
        h = self._hyper
        self._beta1, self._beta2 = float(h["beta1"]), float(h["beta2"])
        self._eps, self._wd, self._amsgrad = float(h["eps"]), float(h["weight_decay"]), bool(h["amsgrad"])
        self._m, self._v = self._buffers["exp_avg"], self._buffers["exp_avg_sq"]
        self._vmax = self._buffers["max_exp_avg_sq"]

    def _active(self) -> tuple[str, ...]:
        return self.BUFFERS if self._amsgrad else self.BUFFERS[:2]

    def step(self, theta: Array, grad: Array, lr: float, update: Array) -> None:
        t = self.t + 1
        b1, b2, wd = self._beta1, self._beta2, self._wd
        m, v = self._m, self._v
        g = grad
        if wd and not self.DECOUPLED:
            g = self._scratch
            np.multiply(theta, wd, out=g)
            g += grad
            self._scratch_t = t
        # update is scratch space until its final value below.
        np.multiply(g, 1.0 - b1, out=update)
        m *= b1
        m += update
        np.multiply(g, g, out=update)
        update *= 1.0 - b2
        v *= b2
        v += update
        if self._amsgrad:
            np.maximum(self._vmax, v, out=self._vmax)
            v = self._vmax
        bc1 = 1.0 - b1**t
        sqrt_bc2 = math.sqrt(1.0 - b2**t)
        # −lr·m̂/(√v̂ + ε) = −(lr·√bc2/bc1)·m/(√v + ε·√bc2)
        np.sqrt(v, out=update)
        update += self._eps * sqrt_bc2
        np.divide(m, update, out=update)
        update *= -lr * sqrt_bc2 / bc1
        if wd and self.DECOUPLED:
            np.multiply(theta, -lr * wd, out=self._scratch)
            update += self._scratch
            self._scratch_t = t
        self.t = t

    def _rule(self) -> str:
        rule = _decay_rule(0.0 if self.DECOUPLED else self._wd)  # AdamW decays θ itself, below
        rule += "m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; m̂ = m/(1−β1^t); "
        if self._amsgrad:
            rule += "v_max ← max(v_max, v); v̂ = v_max/(1−β2^t); "
        else:
            rule += "v̂ = v/(1−β2^t); "
        decay = " − lr·wd·θ" if self.DECOUPLED and self._wd else ""
        return rule + f"Δθ = −lr·m̂/(√v̂ + ε){decay}"

    def _explain(self, index: int, grad_value: float, lr: float, theta: float | None) -> dict[str, float]:
        bc1 = 1.0 - self._beta1**self.t
        bc2 = 1.0 - self._beta2**self.t
        m_hat = float(self._m[index]) / bc1
        v_hat = float((self._vmax if self._amsgrad else self._v)[index]) / bc2
        denominator = math.sqrt(v_hat) + self._eps
        values = {
            "bias_correction1": bc1,
            "bias_correction2": bc2,
            "m_hat": m_hat,
            "v_hat": v_hat,
            "denominator": denominator,
        }
        update = -lr * m_hat / denominator
        if self.DECOUPLED:
            decay = 0.0
            if self._wd:
                decay = -lr * self._wd * theta if theta is not None else self._last_scratch(index)
            values.update(effective_grad=grad_value, decay_term=decay)
            update += decay
        else:
            values["effective_grad"] = self._effective_grad(index, grad_value, theta)
        values["update"] = update
        return values


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ·(1 − lr·wd) before the Adam step."""

    name = "adamw"
    HYPER: ClassVar[dict[str, _Param]] = {**Adam.HYPER, "weight_decay": _nonneg(0.01)}
    DECOUPLED = True


class RMSprop(Optimizer):
    """RMSprop with optional momentum, centering and coupled L2 weight decay."""

    name = "rmsprop"
    HYPER: ClassVar[dict[str, _Param]] = {
        "alpha": _fraction(0.99),
        "eps": _positive(1e-8),
        "momentum": _fraction(0.0),
        "centered": _flag(False),
        "weight_decay": _nonneg(0.0),
    }
    BUFFERS = ("square_avg", "momentum_buffer", "grad_avg")
    NONNEGATIVE = frozenset({"square_avg"})

    def _configure(self) -> None:
        h = self._hyper
        self._alpha, self._eps = float(h["alpha"]), float(h["eps"])
        self._momentum, self._centered = float(h["momentum"]), bool(h["centered"])
        self._wd = float(h["weight_decay"])
        self._v = self._buffers["square_avg"]
        self._buf, self._gavg = self._buffers["momentum_buffer"], self._buffers["grad_avg"]

    def _active(self) -> tuple[str, ...]:
        names = ["square_avg"]
        if self._momentum:
            names.append("momentum_buffer")
        if self._centered:
            names.append("grad_avg")
        return tuple(names)

    def step(self, theta: Array, grad: Array, lr: float, update: Array) -> None:
        a = self._alpha
        g = grad
        if self._wd:
            g = self._scratch
            np.multiply(theta, self._wd, out=g)
            g += grad
            self._scratch_t = self.t + 1
        v = self._v
        # update is scratch space until its final value below.
        np.multiply(g, g, out=update)
        update *= 1.0 - a
        v *= a
        v += update
        if self._centered:
            gavg = self._gavg
            np.multiply(g, 1.0 - a, out=update)
            gavg *= a
            gavg += update
            np.multiply(gavg, gavg, out=update)
            np.subtract(v, update, out=update)
            np.maximum(update, 0.0, out=update)  # v − ḡ² ≥ 0 in exact arithmetic only
            np.sqrt(update, out=update)
        else:
            np.sqrt(v, out=update)
        update += self._eps
        np.divide(g, update, out=update)
        if self._momentum:
            buf = self._buf
            buf *= self._momentum
            buf += update
            np.multiply(buf, -lr, out=update)
        else:
            update *= -lr
        self.t += 1

    def _rule(self) -> str:
        rule = _decay_rule(self._wd) + "v ← α·v + (1−α)·g²; "
        if self._centered:
            rule += "ḡ ← α·ḡ + (1−α)·g; ṽ = v − ḡ²; "
        else:
            rule += "ṽ = v; "
        if self._momentum:
            return rule + "b ← μ·b + g/(√ṽ + ε); Δθ = −lr·b"
        return rule + "Δθ = −lr·g/(√ṽ + ε)"

    def _explain(self, index: int, grad_value: float, lr: float, theta: float | None) -> dict[str, float]:
        g = self._effective_grad(index, grad_value, theta)
        variance = float(self._v[index])
        if self._centered:
            variance = max(variance - float(self._gavg[index]) ** 2, 0.0)
        denominator = math.sqrt(variance) + self._eps
        if self._momentum:
            update = -lr * float(self._buf[index])
        else:
            update = -lr * g / denominator
        return {"effective_grad": g, "v_tilde": variance, "denominator": denominator, "update": update}


class Adagrad(Optimizer):
    """Adagrad with learning-rate decay, an initial accumulator and coupled L2 weight decay.

    :meth:`reset_state` refills ``sum`` with ``initial_accumulator_value``; changing that
    value with :meth:`set_hyper` takes effect at the next reset.
    """

    name = "adagrad"
    HYPER: ClassVar[dict[str, _Param]] = {
        "lr_decay": _nonneg(0.0),
        "weight_decay": _nonneg(0.0),
        "initial_accumulator_value": _nonneg(0.0),
        "eps": _positive(1e-10),
    }
    BUFFERS = ("sum",)
    NONNEGATIVE = frozenset({"sum"})

    def _configure(self) -> None:
        h = self._hyper
        self._lr_decay, self._wd, self._eps = float(h["lr_decay"]), float(h["weight_decay"]), float(h["eps"])
        self._sum = self._buffers["sum"]

    def reset_state(self) -> None:
        super().reset_state()
        self._sum.fill(self._hyper["initial_accumulator_value"])

    def step(self, theta: Array, grad: Array, lr: float, update: Array) -> None:
        t = self.t + 1
        g = grad
        if self._wd:
            g = self._scratch
            np.multiply(theta, self._wd, out=g)
            g += grad
            self._scratch_t = self.t + 1
        s = self._sum
        # update is scratch space until its final value below.
        np.multiply(g, g, out=update)
        s += update
        np.sqrt(s, out=update)
        update += self._eps
        np.divide(g, update, out=update)
        update *= -lr / (1.0 + (t - 1) * self._lr_decay)
        self.t = t

    def _rule(self) -> str:
        decayed = "lr_t = lr/(1 + (t−1)·lr_decay); " if self._lr_decay else "lr_t = lr; "
        return _decay_rule(self._wd) + decayed + "s ← s + g²; Δθ = −lr_t·g/(√s + ε)"

    def _explain(self, index: int, grad_value: float, lr: float, theta: float | None) -> dict[str, float]:
        g = self._effective_grad(index, grad_value, theta)
        clr = lr / (1.0 + (self.t - 1) * self._lr_decay)
        denominator = math.sqrt(float(self._sum[index])) + self._eps
        return {
            "effective_grad": g,
            "decayed_lr": clr,
            "denominator": denominator,
            "update": -clr * g / denominator,
        }


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}

OPTIMIZER_DEFAULTS: dict[str, dict[str, float | bool]] = {
    name: {key: param.default for key, param in cls.HYPER.items()} for name, cls in OPTIMIZERS.items()
}


def make_optimizer(name: str, size: int, dtype: DTypeLike = np.float64, **hyper: float | bool) -> Optimizer:
    """Build the optimizer called ``name``; unknown names and hyperparameters raise ``ValueError``."""
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}") from None
    return cls(size, dtype, **hyper)
