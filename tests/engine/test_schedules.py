"""Learning-rate schedules against their closed-form formulas (torch.optim.lr_scheduler's docs)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine.schedules import SCHEDULES, Schedule, make_schedule

BASE = 0.4
STEPS = [0, 1, 2, 5, 9, 10, 11, 29, 30, 31, 99, 100, 101, 250, 1000]


def cosine(t: int, t_max: int, base: float, eta_min: float) -> float:
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2


def test_no_spec_is_the_constant_schedule() -> None:
    schedule = make_schedule(None)
    assert [schedule.lr(t, BASE) for t in STEPS] == [BASE] * len(STEPS)
    assert schedule.describe() == {"name": "constant", "warmup_steps": 0, "warmup_start_factor": 1 / 3}
    assert SCHEDULES == ("constant", "step", "exponential", "cosine")


def test_step_schedule_multiplies_by_gamma_every_step_size_steps() -> None:
    schedule = make_schedule({"name": "step", "step_size": 10, "gamma": 0.5})
    for t in STEPS:
        assert schedule.lr(t, BASE) == pytest.approx(BASE * 0.5 ** (t // 10), rel=1e-15)
    assert schedule.lr(9, BASE) == BASE and schedule.lr(10, BASE) == BASE * 0.5


def test_step_schedule_gamma_defaults_to_torchs_tenth() -> None:
    schedule = make_schedule({"name": "step", "step_size": 3})
    assert schedule.lr(3, 1.0) == pytest.approx(0.1, rel=1e-15)
    assert schedule.describe()["gamma"] == 0.1


def test_exponential_schedule_multiplies_by_gamma_every_step() -> None:
    schedule = make_schedule({"name": "exponential", "gamma": 0.97})
    for t in STEPS:
        assert schedule.lr(t, BASE) == pytest.approx(BASE * 0.97**t, rel=1e-13)


def test_cosine_schedule_follows_half_a_cosine_then_holds_at_eta_min() -> None:
    schedule = make_schedule({"name": "cosine", "t_max": 100, "eta_min": 0.01})
    for t in STEPS:
        expected = cosine(t, 100, BASE, 0.01) if t <= 100 else 0.01
        assert schedule.lr(t, BASE) == pytest.approx(expected, rel=1e-14)
    assert schedule.lr(0, BASE) == BASE
    assert schedule.lr(50, BASE) == pytest.approx((BASE + 0.01) / 2, rel=1e-14)
    assert schedule.lr(100, BASE) == pytest.approx(0.01, rel=1e-14)
    assert schedule.lr(101, BASE) == 0.01 and schedule.lr(10**9, BASE) == 0.01


def test_cosine_warm_restarts_jump_back_to_base_every_period() -> None:
    schedule = make_schedule({"name": "cosine", "t_max": 10, "restarts": True})
    for t in STEPS:
        assert schedule.lr(t, BASE) == pytest.approx(cosine(t % 10, 10, BASE, 0.0), rel=1e-14, abs=1e-17)
    assert schedule.lr(10, BASE) == BASE and schedule.lr(20, BASE) == BASE
    assert schedule.lr(9, BASE) < schedule.lr(8, BASE) < BASE


def test_cosine_warm_restarts_grow_each_period_by_t_mult() -> None:
    # periods 5, 10, 20, 40: restarts at t = 5, 15, 35, 75
    schedule = make_schedule({"name": "cosine", "t_max": 5, "restarts": True, "t_mult": 2, "eta_min": 0.1})
    expected_restart_and_period = [(0, 5), (5, 10), (15, 20), (35, 40), (75, 80)]
    for start, period in expected_restart_and_period:
        assert schedule.lr(start, BASE) == BASE
        for offset in (1, period // 2, period - 1):
            assert schedule.lr(start + offset, BASE) == pytest.approx(
                cosine(offset, period, BASE, 0.1), rel=1e-14
            )


def test_warmup_ramps_linearly_from_start_factor_then_starts_the_inner_schedule_at_its_step_zero() -> None:
    schedule = make_schedule(
        {"name": "step", "step_size": 10, "gamma": 0.5, "warmup_steps": 4, "warmup_start_factor": 0.2}
    )
    ramp = [BASE * (0.2 + 0.8 * t / 4) for t in range(4)]
    assert [schedule.lr(t, BASE) for t in range(4)] == pytest.approx(ramp, rel=1e-15)
    assert schedule.lr(0, BASE) == pytest.approx(0.2 * BASE, rel=1e-15)
    for t in range(4, 40):
        assert schedule.lr(t, BASE) == pytest.approx(BASE * 0.5 ** ((t - 4) // 10), rel=1e-15)


def test_warmup_start_factor_defaults_to_torch_linear_lr_third() -> None:
    schedule = make_schedule({"name": "cosine", "t_max": 20, "warmup_steps": 3})
    assert schedule.lr(0, 0.3) == pytest.approx(0.1, rel=1e-15)
    assert schedule.lr(1, 0.3) == pytest.approx(0.3 * (1 / 3 + (2 / 3) / 3), rel=1e-15)
    assert schedule.lr(3, 0.3) == 0.3  # the cosine's own step 0
    assert schedule.lr(13, 0.3) == pytest.approx(cosine(10, 20, 0.3, 0.0), rel=1e-14)


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "constant", "warmup_steps": 5, "warmup_start_factor": 0.0},
        {"name": "step", "step_size": 7, "gamma": 0.3},
        {"name": "exponential", "gamma": 0.99, "warmup_steps": 2},
        {"name": "cosine", "t_max": 9, "eta_min": 0.001, "restarts": True, "t_mult": 3},
    ],
)
def test_describe_fills_defaults_and_rebuilds_the_same_schedule(spec: dict[str, Any]) -> None:
    schedule = make_schedule(spec)
    described = schedule.describe()
    assert described.items() >= spec.items()
    rebuilt = make_schedule(described)
    assert [rebuilt.lr(t, BASE) for t in STEPS] == [schedule.lr(t, BASE) for t in STEPS]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "linear"}, "unknown schedule 'linear'"),
        ({"name": "step"}, "needs 'step_size'"),
        ({"name": "exponential"}, "needs 'gamma'"),
        ({"name": "cosine"}, "needs 't_max'"),
        ({"name": "step", "step_size": 0}, "step_size must be an integer ≥ 1, got 0"),
        ({"name": "step", "step_size": 2.5}, "step_size must be an integer ≥ 1, got 2.5"),
        ({"name": "step", "step_size": True}, "step_size must be an integer ≥ 1, got True"),
        ({"name": "step", "step_size": 5, "gamma": 0.0}, "gamma must be a number in \\(0, 1\\], got 0.0"),
        ({"name": "exponential", "gamma": 1.5}, "gamma must be a number in \\(0, 1\\], got 1.5"),
        ({"name": "exponential", "gamma": math.nan}, "gamma .*nan"),
        ({"name": "exponential", "gamma": "0.9"}, "gamma .*'0.9'"),
        ({"name": "cosine", "t_max": 0}, "t_max must be an integer ≥ 1, got 0"),
        ({"name": "cosine", "t_max": 10, "eta_min": -0.1}, "eta_min must be a finite number ≥ 0, got -0.1"),
        ({"name": "cosine", "t_max": 10, "eta_min": math.inf}, "eta_min .*inf"),
        ({"name": "cosine", "t_max": 10, "restarts": "yes"}, "restarts must be true or false"),
        ({"name": "cosine", "t_max": 10, "restarts": True, "t_mult": 0}, "t_mult must be an integer ≥ 1"),
        ({"name": "cosine", "t_max": 10, "t_mult": 1.5}, "t_mult must be an integer ≥ 1, got 1.5"),
        ({"name": "constant", "warmup_steps": -1}, "warmup_steps must be an integer ≥ 0, got -1"),
        ({"name": "constant", "warmup_start_factor": 1.5}, "warmup_start_factor .*\\[0, 1\\], got 1.5"),
        ({"name": "step", "step_size": 5, "eta_min": 0.1}, "unknown key 'eta_min'"),
        ({"name": "cosine", "t_max": 5, "T_max": 5}, "unknown key 'T_max'"),
        ({"gamma": 0.5}, "constant schedule: unknown key 'gamma'"),
    ],
)
def test_invalid_specs_raise_value_error_naming_the_key(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_schedule(spec)


def test_negative_step_or_bad_base_lr_is_refused() -> None:
    schedule = Schedule({"name": "exponential", "gamma": 0.9})
    with pytest.raises(ValueError, match="step must be an integer ≥ 0, got -1"):
        schedule.lr(-1, BASE)
    with pytest.raises(ValueError, match=r"base learning rate .*nan"):
        schedule.lr(0, math.nan)
    with pytest.raises(ValueError, match=r"base learning rate .*-0.1"):
        schedule.lr(0, -0.1)
