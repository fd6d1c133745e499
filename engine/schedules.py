"""Learning-rate schedules in closed form: the rate of optimizer step ``t`` (0-based).

A schedule is a plain spec dict, e.g. ``{"name": "cosine", "t_max": 200}``:

- ``constant``:    lr_t = base
- ``step``:        lr_t = base·γ^⌊t/step_size⌋                        (torch StepLR; γ defaults to 0.1)
- ``exponential``: lr_t = base·γ^t                                    (torch ExponentialLR)
- ``cosine``:      lr_t = η_min + (base − η_min)·(1 + cos(π·t/T_max))/2 for t ≤ T_max, then η_min
                   (torch CosineAnnealingLR's closed form, held at η_min past T_max instead of
                   climbing back up); with ``restarts`` (SGDR, torch CosineAnnealingWarmRestarts)
                   t is replaced by t_cur, the steps since the last restart, and T_max by the
                   current period T_i: T_0 = t_max, T_{i+1} = T_i·t_mult, so the rate jumps
                   back to base at t = T_0, T_0 + T_1, …

Any schedule may start with a linear warm-up of ``warmup_steps`` = W steps:
lr_t = base·(f + (1 − f)·t/W) for t < W, where f = ``warmup_start_factor``, and
the inner schedule's own step 0 follows at t = W (lr_t = inner(t − W)). The ramp
is torch's LinearLR chained before the inner schedule with SequentialLR, and f
defaults to LinearLR's 1/3, following the project rule that an omitted constant
takes PyTorch's default.

γ is limited to (0, 1]: these are decay schedules, and γ > 1 would overflow to an
infinite rate on a long run. ``name`` defaults to ``constant``; unknown keys and bad
values raise ``ValueError`` naming them. ``t_mult`` is accepted but inert while
``restarts`` is false, as ``warmup_start_factor`` is while ``warmup_steps`` is 0, so a
form can keep its fields when a toggle goes off.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["SCHEDULES", "Schedule", "make_schedule"]

SCHEDULES = ("constant", "step", "exponential", "cosine")

_COMMON = {"name", "warmup_steps", "warmup_start_factor"}
_KEYS = {
    "constant": set(),
    "step": {"step_size", "gamma"},
    "exponential": {"gamma"},
    "cosine": {"t_max", "eta_min", "restarts", "t_mult"},
}
_REQUIRED = {"constant": (), "step": ("step_size",), "exponential": ("gamma",), "cosine": ("t_max",)}
DEFAULT_WARMUP_START_FACTOR = 1.0 / 3.0


def _integer(name: str, spec: dict[str, Any], key: str, default: int, minimum: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} schedule: {key} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def _real(name: str, spec: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = spec.get(key, default)
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(float(value))
    if not ok or not low <= float(value) <= high:
        where = f"≥ {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{name} schedule: {key} must be a finite number {where}, got {value!r}")
    return float(value)


def _gamma(name: str, spec: dict[str, Any]) -> float:
    value = spec.get("gamma", 0.1)
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(float(value))
    if not ok or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} schedule: gamma must be a number in (0, 1], got {value!r}")
    return float(value)


class Schedule:
    """A validated schedule spec; :meth:`lr` gives the rate of each step in closed form."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise ValueError(f"a schedule must be an object with a 'name', got {type(spec).__name__}")
        name = spec.get("name", "constant")
        if name not in SCHEDULES:
            raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
        unknown = sorted(set(spec) - _COMMON - _KEYS[name])
        if unknown:
            allowed = ", ".join(sorted(_COMMON | _KEYS[name]))
            raise ValueError(f"{name} schedule: unknown key {unknown[0]!r}; allowed: {allowed}")
        for key in _REQUIRED[name]:
            if key not in spec:
                raise ValueError(f"{name} schedule needs {key!r}")
        self.name: str = name
        self.warmup_steps = _integer(name, spec, "warmup_steps", 0, 0)
        self.warmup_start_factor = _real(
            name, spec, "warmup_start_factor", DEFAULT_WARMUP_START_FACTOR, 0.0, 1.0
        )
        self.step_size = _integer(name, spec, "step_size", 1, 1)
        self.gamma = _gamma(name, spec)
        self.t_max = _integer(name, spec, "t_max", 1, 1)
        self.eta_min = _real(name, spec, "eta_min", 0.0, 0.0, math.inf)
        restarts = spec.get("restarts", False)
        if not isinstance(restarts, bool):
            raise ValueError(f"{name} schedule: restarts must be true or false, got {restarts!r}")
        self.restarts = restarts
        self.t_mult = _integer(name, spec, "t_mult", 1, 1)

    def lr(self, step: int, base_lr: float) -> float:
        """The learning rate of optimizer step ``step`` (0-based) for base rate ``base_lr``."""
        # exact-type checks first: the training loop calls this every step, and isinstance
        # against the numbers ABCs is slow
        if not (type(step) is int and step >= 0) and (
            isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0
        ):
            raise ValueError(f"schedule step must be an integer ≥ 0, got {step!r}")
        if not (type(base_lr) is float and 0.0 <= base_lr < math.inf) and (
            not isinstance(base_lr, numbers.Real) or not math.isfinite(base_lr) or base_lr < 0
        ):
            raise ValueError(f"base learning rate must be a finite number ≥ 0, got {base_lr!r}")
        base = float(base_lr)
        warm = self.warmup_steps
        if step < warm:
            f = self.warmup_start_factor
            return self._inner(0, base) * (f + (1.0 - f) * step / warm)
        return self._inner(int(step) - warm, base)

    def _inner(self, t: int, base: float) -> float:
        if self.name == "step":
            return base * self.gamma ** (t // self.step_size)
        if self.name == "exponential":
            return base * self.gamma**t
        if self.name == "cosine":
            period = self.t_max
            if self.restarts:
                if self.t_mult == 1:
                    t %= period
                else:
                    # integer walk through the periods: exact at every restart boundary
                    while t >= period:
                        t -= period
                        period *= self.t_mult
            elif t > period:
                return self.eta_min
            return self.eta_min + (base - self.eta_min) * (1.0 + math.cos(math.pi * t / period)) / 2.0
        return base

    def describe(self) -> dict[str, Any]:
        """The full spec with every default filled in; ``make_schedule`` accepts it back."""
        spec: dict[str, Any] = {"name": self.name}
        if self.name == "step":
            spec.update(step_size=self.step_size, gamma=self.gamma)
        elif self.name == "exponential":
            spec["gamma"] = self.gamma
        elif self.name == "cosine":
            spec.update(t_max=self.t_max, eta_min=self.eta_min, restarts=self.restarts, t_mult=self.t_mult)
        spec.update(warmup_steps=self.warmup_steps, warmup_start_factor=self.warmup_start_factor)
        return spec


def make_schedule(spec: dict[str, Any] | None) -> Schedule:
    """Build a schedule from its spec; ``None`` is the constant schedule."""
    return Schedule(spec)
