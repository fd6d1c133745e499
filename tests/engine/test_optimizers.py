"""Optimizers against their published update rules (torch.optim's documented algorithms).

The references below are written from the formulas, one scalar at a time, with no
NumPy and nothing shared with the engine, so a slip in the engine's vectorized,
rearranged arithmetic shows up as a mismatch.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from engine.optimizers import OPTIMIZER_DEFAULTS, OPTIMIZERS, Optimizer, make_optimizer

# --- scalar references, straight from the documented algorithms ------------------


class RefSGD:
    def __init__(
        self,
        n: int,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.mu, self.tau, self.nesterov, self.wd = momentum, dampening, nesterov, weight_decay
        self.buf: list[float | None] = [None] * n

    def step(self, theta: list[float], grad: list[float], lr: float) -> list[float]:
        out = []
        for i, (p, g) in enumerate(zip(theta, grad, strict=True)):
            if self.wd != 0:
                g = g + self.wd * p
            if self.mu != 0:
                prev = self.buf[i]
                b = g if prev is None else self.mu * prev + (1 - self.tau) * g
                self.buf[i] = b
                g = g + self.mu * b if self.nesterov else b
            out.append(-lr * g)
        return out


class RefAdam:
    def __init__(
        self,
        n: int,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        decoupled: bool = False,
    ) -> None:
        self.b1, self.b2, self.eps, self.wd, self.amsgrad, self.decoupled = (
            beta1,
            beta2,
            eps,
            weight_decay,
            amsgrad,
            decoupled,
        )
        self.t = 0
        self.m, self.v, self.vmax = [0.0] * n, [0.0] * n, [0.0] * n

    def step(self, theta: list[float], grad: list[float], lr: float) -> list[float]:
        self.t += 1
        out = []
        for i, (p, g) in enumerate(zip(theta, grad, strict=True)):
            decay = 0.0
            if self.decoupled:
                decay = -lr * self.wd * p  # θ ← θ·(1 − lr·wd)
            elif self.wd != 0:
                g = g + self.wd * p
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g
            m_hat = self.m[i] / (1 - self.b1**self.t)
            if self.amsgrad:
                self.vmax[i] = max(self.vmax[i], self.v[i])
                v_hat = self.vmax[i] / (1 - self.b2**self.t)
            else:
                v_hat = self.v[i] / (1 - self.b2**self.t)
            out.append(decay - lr * m_hat / (math.sqrt(v_hat) + self.eps))
        return out


class RefAdamW(RefAdam):
    def __init__(self, n: int, weight_decay: float = 0.01, **kw: Any) -> None:
        super().__init__(n, weight_decay=weight_decay, decoupled=True, **kw)


class RefRMSprop:
    def __init__(
        self,
        n: int,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.alpha, self.eps, self.mu, self.centered, self.wd = alpha, eps, momentum, centered, weight_decay
        self.v, self.gavg, self.buf = [0.0] * n, [0.0] * n, [0.0] * n

    def step(self, theta: list[float], grad: list[float], lr: float) -> list[float]:
        out = []
        for i, (p, g) in enumerate(zip(theta, grad, strict=True)):
            if self.wd != 0:
                g = g + self.wd * p
            self.v[i] = self.alpha * self.v[i] + (1 - self.alpha) * g * g
            v_tilde = self.v[i]
            if self.centered:
                self.gavg[i] = self.alpha * self.gavg[i] + (1 - self.alpha) * g
                v_tilde = v_tilde - self.gavg[i] ** 2
            if self.mu > 0:
                self.buf[i] = self.mu * self.buf[i] + g / (math.sqrt(v_tilde) + self.eps)
                out.append(-lr * self.buf[i])
            else:
                out.append(-lr * g / (math.sqrt(v_tilde) + self.eps))
        return out


class RefAdagrad:
    def __init__(
        self,
        n: int,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        self.lr_decay, self.wd, self.eps = lr_decay, weight_decay, eps
        self.sum = [initial_accumulator_value] * n
        self.t = 0

    def step(self, theta: list[float], grad: list[float], lr: float) -> list[float]:
        self.t += 1
        clr = lr / (1 + (self.t - 1) * self.lr_decay)
        out = []
        for i, (p, g) in enumerate(zip(theta, grad, strict=True)):
            if self.wd != 0:
                g = g + self.wd * p
            self.sum[i] = self.sum[i] + g * g
            out.append(-clr * g / (math.sqrt(self.sum[i]) + self.eps))
        return out


REFERENCES: dict[str, Any] = {
    "sgd": RefSGD,
    "adam": RefAdam,
    "adamw": RefAdamW,
    "rmsprop": RefRMSprop,
    "adagrad": RefAdagrad,
}

CASES: list[tuple[str, dict[str, Any]]] = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.8, "dampening": 0.3}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.7, "nesterov": True, "weight_decay": 0.05}),
    ("sgd", {"momentum": 0.6, "dampening": 0.5, "weight_decay": 0.2}),
    ("adam", {}),
    ("adam", {"beta1": 0.5, "beta2": 0.8, "eps": 1e-3}),
    ("adam", {"weight_decay": 0.1}),
    ("adam", {"amsgrad": True}),
    ("adam", {"amsgrad": True, "beta2": 0.6, "weight_decay": 0.05}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.3, "beta1": 0.7}),
    ("adamw", {"amsgrad": True, "beta2": 0.5}),
    ("adamw", {"weight_decay": 0.0}),
    ("rmsprop", {}),
    ("rmsprop", {"alpha": 0.7, "eps": 1e-3}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.8}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "alpha": 0.8}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.3}),
    ("adagrad", {"initial_accumulator_value": 0.5}),
    ("adagrad", {"weight_decay": 0.2, "eps": 1e-3}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.2, "weight_decay": 0.1}),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in hyper.items()) or 'defaults'}" for name, hyper in CASES]

N = 6
_rng = np.random.default_rng(1234)
THETA0 = _rng.normal(size=N)
# Gradient scales rise and fall so AMSGrad's running max matters; one entry is exactly 0.
GRADS = _rng.normal(size=(7, N)) * np.array([1.0, 0.1, 2.0, 0.05, 0.5, 0.01, 1.5])[:, None]
GRADS[2, 3] = 0.0
LRS = [0.1, 0.05, 0.2, 0.1, 0.01, 0.3, 0.07]


def run_engine(
    name: str, hyper: dict[str, Any], dtype: type = np.float64, steps: int = len(LRS)
) -> tuple[Optimizer, np.ndarray, np.ndarray]:
    """Updates of every step (steps × N) and the final θ, applying θ += update."""
    opt = make_optimizer(name, N, dtype, **hyper)
    theta = THETA0.astype(dtype)
    update = np.empty_like(theta)
    updates = []
    for grad, lr in zip(GRADS[:steps], LRS[:steps], strict=True):
        opt.step(theta, grad.astype(dtype), lr, update)
        updates.append(update.copy())
        theta += update
    return opt, np.array(updates), theta


def run_reference(name: str, hyper: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    ref = REFERENCES[name](N, **hyper)
    theta = [float(x) for x in THETA0]
    updates = []
    for grad, lr in zip(GRADS, LRS, strict=True):
        delta = ref.step(theta, [float(g) for g in grad], lr)
        updates.append(delta)
        theta = [p + d for p, d in zip(theta, delta, strict=True)]
    return np.array(updates), np.array(theta)


# --- the published rules -----------------------------------------------------------


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_each_optimizer_option_matches_published_rule_over_several_steps(
    name: str, hyper: dict[str, Any]
) -> None:
    _, updates, theta = run_engine(name, hyper)
    expected_updates, expected_theta = run_reference(name, hyper)
    np.testing.assert_allclose(updates, expected_updates, rtol=1e-12, atol=0)
    np.testing.assert_allclose(theta, expected_theta, rtol=1e-12, atol=0)
    if hyper:  # the option must change the trajectory, or this case proves nothing about it
        _, default_updates, _ = run_engine(name, {})
        assert not np.allclose(updates, default_updates, rtol=1e-9, atol=0)


def test_default_hyperparameters_are_pytorchs() -> None:
    assert OPTIMIZER_DEFAULTS == {
        "sgd": {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
        "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
        "adamw": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False},
        "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0},
        "adagrad": {"lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
    }
    assert set(OPTIMIZERS) == {"sgd", "adam", "adamw", "rmsprop", "adagrad"}
    for name, defaults in OPTIMIZER_DEFAULTS.items():
        assert make_optimizer(name, 3, np.float64).hyper == defaults


def test_amsgrad_uses_running_max_of_v_when_gradients_shrink() -> None:
    _, plain, _ = run_engine("adam", {"beta2": 0.5})
    _, ams, _ = run_engine("adam", {"beta2": 0.5, "amsgrad": True})
    np.testing.assert_array_equal(plain[0], ams[0])  # identical until v first falls below its max
    assert np.all(np.abs(ams[1]) < np.abs(plain[1]))  # step 2's gradients are 10x smaller: max(v) is larger


def _one(name: str, grads: list[float], lr: float, theta: float = 0.0, **hyper: Any) -> list[float]:
    """Scalar updates of a one-parameter run, θ += update between steps."""
    opt = make_optimizer(name, 1, np.float64, **hyper)
    th, up, out = np.array([theta]), np.empty(1), []
    for g in grads:
        opt.step(th, np.array([g]), lr, up)
        out.append(float(up[0]))
        th += up
    return out


def test_sgd_momentum_nesterov_and_dampening_match_hand_computed_numbers() -> None:
    # b1 = g = 1, Δ = −0.1; b2 = 0.9·1 + 1 = 1.9, Δ = −0.19
    assert _one("sgd", [1, 1], 0.1, momentum=0.9) == pytest.approx([-0.1, -0.19], rel=1e-14)
    # nesterov: d = g + μ·b: 1 + 0.9 = 1.9, then 1 + 0.9·1.9 = 2.71
    assert _one("sgd", [1, 1], 0.1, momentum=0.9, nesterov=True) == pytest.approx([-0.19, -0.271], rel=1e-14)
    # dampening 0.5: first step copies g (no dampening), then b = 0.9 + 0.5·1 = 1.4
    assert _one("sgd", [1, 1], 0.1, momentum=0.9, dampening=0.5) == pytest.approx([-0.1, -0.14], rel=1e-14)
    # weight decay: g = 0.5 + 0.1·2 = 0.7
    assert _one("sgd", [0.5], 0.1, theta=2.0, weight_decay=0.1) == pytest.approx([-0.07], rel=1e-14)


def test_adam_bias_correction_matches_hand_computed_numbers() -> None:
    # constant g: m̂ = g and v̂ = g² at every t, so Δ = −lr·g/(|g| + ε)
    expected = -0.1 * 2 / (2 + 1e-8)
    assert _one("adam", [2, 2, 2], 0.1) == pytest.approx([expected] * 3, rel=1e-14)
    # g = 1 then −1: m = 0.9·0.1 − 0.1 = −0.01, m̂ = −0.01/0.19 = −1/19; v = 0.001999, v̂ = 1
    assert _one("adam", [1, -1], 0.1)[1] == pytest.approx(0.1 / 19 / (1 + 1e-8), rel=1e-12)


def test_adamw_decays_weights_directly_by_lr_times_weight_decay() -> None:
    # θ = 1: Δ = −lr·wd·θ − lr·m̂/(√v̂ + ε) = −0.001 − 0.1·2/(2 + 1e-8)
    assert _one("adamw", [2], 0.1, theta=1.0) == pytest.approx([-0.001 - 0.2 / (2 + 1e-8)], rel=1e-14)
    # Adam with the same weight_decay adds wd·θ to g instead: g = 2.01, Δ = −0.1·2.01/(2.01 + 1e-8)
    assert _one("adam", [2], 0.1, theta=1.0, weight_decay=0.01) == pytest.approx(
        [-0.201 / (2.01 + 1e-8)], rel=1e-14
    )


def test_rmsprop_and_centered_rmsprop_match_hand_computed_numbers() -> None:
    # v = 0.01·1² = 0.01, Δ = −0.01·1/(0.1 + 1e-8)
    assert _one("rmsprop", [1], 0.01) == pytest.approx([-0.01 / (0.1 + 1e-8)], rel=1e-14)
    # centered: ḡ = 0.01, ṽ = 0.01 − 0.0001 = 0.0099
    assert _one("rmsprop", [1], 0.01, centered=True) == pytest.approx(
        [-0.01 / (math.sqrt(0.0099) + 1e-8)], rel=1e-14
    )


def test_adagrad_accumulates_squares_and_decays_lr_like_hand_computed_numbers() -> None:
    # s = 9, Δ = −0.1·3/(3 + ε); then s = 25, lr_t = 0.1/(1 + 0.5), Δ = −(0.1/1.5)·4/(5 + ε)
    got = _one("adagrad", [3, 4], 0.1, lr_decay=0.5)
    assert got == pytest.approx([-0.3 / (3 + 1e-10), -(0.1 / 1.5) * 4 / (5 + 1e-10)], rel=1e-14)
    # initial accumulator 16: s = 16 + 9 = 25
    assert _one("adagrad", [3], 0.1, initial_accumulator_value=16.0) == pytest.approx(
        [-0.3 / (5 + 1e-10)], rel=1e-14
    )


def test_centered_rmsprop_clamps_a_rounding_negative_variance_instead_of_returning_nan() -> None:
    opt = make_optimizer("rmsprop", 1, np.float64, centered=True)
    # ḡ² a hair above v: after the step ṽ = v − ḡ² < 0, where sqrt would give NaN
    opt.load_state(
        {
            "t": 5,
            "buffers": {"square_avg": [0.25], "grad_avg": [0.5 + 1e-9], "momentum_buffer": [0.0]},
            "hyper": opt.hyper,
        }
    )
    update = np.empty(1)
    opt.step(np.zeros(1), np.array([0.5]), 0.01, update)
    assert update[0] == pytest.approx(-0.01 * 0.5 / 1e-8, rel=1e-12)


# --- contract of step -------------------------------------------------------------


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_step_leaves_theta_and_grad_untouched(name: str, hyper: dict[str, Any]) -> None:
    opt = make_optimizer(name, N, np.float64, **hyper)
    theta, update = THETA0.copy(), np.empty(N)
    for grad, lr in zip(GRADS, LRS, strict=True):
        g = grad.copy()
        opt.step(theta, g, lr, update)
        np.testing.assert_array_equal(theta, THETA0)
        np.testing.assert_array_equal(g, grad)
    assert opt.t == len(LRS)


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_float32_parameters_stay_float32_and_follow_the_rule(name: str, hyper: dict[str, Any]) -> None:
    opt, updates, theta = run_engine(name, hyper, dtype=np.float32)
    assert updates.dtype == np.float32 and theta.dtype == np.float32
    assert all(b.dtype == np.float32 for b in opt.buffers().values())
    expected, _ = run_reference(name, hyper)
    np.testing.assert_allclose(updates, expected, rtol=2e-4, atol=1e-6)


# --- state ------------------------------------------------------------------------


def _continue(opt: Optimizer, start: int) -> np.ndarray:
    theta = THETA0 + start  # any θ: both runs see the same one
    update, out = np.empty(N), []
    for grad, lr in zip(GRADS[start:], LRS[start:], strict=True):
        opt.step(theta, grad, lr, update)
        out.append(update.copy())
        theta = theta + update
    return np.array(out)


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_state_round_trip_continues_bit_for_bit(name: str, hyper: dict[str, Any]) -> None:
    opt, _, _ = run_engine(name, hyper, steps=3)
    saved = opt.state()
    # through JSON, as an export file would carry it
    carried = json.loads(
        json.dumps({**saved, "buffers": {k: v.tolist() for k, v in saved["buffers"].items()}})
    )
    expected = _continue(opt, 3)
    fresh = make_optimizer(name, N, np.float64)
    fresh.load_state(carried)
    assert fresh.t == 3 and fresh.hyper == opt.hyper
    np.testing.assert_array_equal(_continue(fresh, 3), expected)


def test_state_holds_copies_not_live_buffers() -> None:
    opt, _, _ = run_engine("adam", {}, steps=2)
    saved = opt.state()
    before = saved["buffers"]["exp_avg"].copy()
    opt.step(THETA0, GRADS[2], 0.1, np.empty(N))
    np.testing.assert_array_equal(saved["buffers"]["exp_avg"], before)
    assert saved["t"] == 2


def test_sgd_momentum_buffer_appears_in_state_only_after_a_momentum_step_like_torch() -> None:
    opt = make_optimizer("sgd", N, np.float64, momentum=0.9)
    assert opt.state()["buffers"] == {}
    opt.step(THETA0, GRADS[0], 0.1, np.empty(N))
    np.testing.assert_array_equal(opt.state()["buffers"]["momentum_buffer"], GRADS[0])


def test_loading_a_state_without_momentum_buffer_starts_the_buffer_at_the_next_gradient() -> None:
    opt, _, _ = run_engine("sgd", {"momentum": 0.9}, steps=3)  # its buffer is live
    donor, _, _ = run_engine("sgd", {}, steps=2)
    donor.set_hyper(momentum=0.9, dampening=0.5)  # momentum on, but no momentum step taken yet
    opt.load_state(donor.state())
    update = np.empty(N)
    opt.step(THETA0, GRADS[2], 0.1, update)
    np.testing.assert_array_equal(opt.buffers()["momentum_buffer"], GRADS[2])
    np.testing.assert_array_equal(update, GRADS[2] * -0.1)


def test_sgd_momentum_switched_on_mid_run_starts_its_buffer_at_the_gradient() -> None:
    opt = make_optimizer("sgd", N, np.float64)
    update = np.empty(N)
    opt.step(THETA0, GRADS[0], 0.1, update)
    opt.set_hyper(momentum=0.9)
    opt.step(THETA0, GRADS[1], 0.1, update)
    np.testing.assert_array_equal(opt.buffers()["momentum_buffer"], GRADS[1])
    np.testing.assert_array_equal(update, GRADS[1] * -0.1)


def test_set_hyper_keeps_buffers_and_the_next_step_uses_the_new_values() -> None:
    opt, _, _ = run_engine("adam", {}, steps=2)
    m_before = opt.buffers()["exp_avg"].copy()
    v_before = opt.buffers()["exp_avg_sq"].copy()
    opt.set_hyper(beta1=0.5)
    assert opt.t == 2 and opt.hyper["beta1"] == 0.5 and opt.hyper["beta2"] == 0.999
    np.testing.assert_array_equal(opt.buffers()["exp_avg"], m_before)
    np.testing.assert_array_equal(opt.buffers()["exp_avg_sq"], v_before)
    opt.step(THETA0, GRADS[2], 0.1, np.empty(N))
    np.testing.assert_allclose(opt.buffers()["exp_avg"], 0.5 * m_before + 0.5 * GRADS[2], rtol=1e-15)


def test_set_hyper_is_all_or_nothing_when_one_value_is_invalid() -> None:
    opt = make_optimizer("adam", N, np.float64)
    with pytest.raises(ValueError, match="beta2"):
        opt.set_hyper(beta1=0.5, beta2=1.5)
    assert opt.hyper == OPTIMIZER_DEFAULTS["adam"]


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_reset_state_restarts_as_a_fresh_optimizer(name: str, hyper: dict[str, Any]) -> None:
    opt, first_run, _ = run_engine(name, hyper, steps=3)
    opt.reset_state()
    assert opt.t == 0
    theta, update, again = THETA0.copy(), np.empty(N), []
    for grad, lr in zip(GRADS[:3], LRS[:3], strict=True):
        opt.step(theta, grad, lr, update)
        again.append(update.copy())
        theta += update
    np.testing.assert_array_equal(np.array(again), first_run)


def test_adagrad_reset_refills_sum_with_the_initial_accumulator_value() -> None:
    opt, _, _ = run_engine("adagrad", {"initial_accumulator_value": 0.25}, steps=2)
    opt.reset_state()
    np.testing.assert_array_equal(opt.buffers()["sum"], np.full(N, 0.25))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"t": -1}, "t must be an integer"),
        ({"t": 1.5}, "t must be an integer"),
        ({"buffers": {"exp_avg": [0.0] * N}}, "state buffers must be"),
        (
            {"buffers": {"exp_avg": [0.0] * 3, "exp_avg_sq": [0.0] * N, "max_exp_avg_sq": [0.0] * N}},
            r"shape \[6\]",
        ),
        ({"buffers": {"exp_avg": [0.0] * N, "exp_avg_sq": [-1.0] * N, "max_exp_avg_sq": [0.0] * N}}, "≥ 0"),
        (
            {"buffers": {"exp_avg": [math.nan] * N, "exp_avg_sq": [0.0] * N, "max_exp_avg_sq": [0.0] * N}},
            "finite",
        ),
        ({"hyper": {"beta1": 0.9}}, "hyper must have keys"),
        ({"hyper": {**OPTIMIZER_DEFAULTS["adam"], "beta1": 2.0}}, "beta1"),
    ],
)
def test_load_state_rejects_malformed_state_and_changes_nothing(change: dict[str, Any], message: str) -> None:
    opt, _, _ = run_engine("adam", {}, steps=2)
    before = opt.state()
    with pytest.raises(ValueError, match=message):
        opt.load_state({**opt.state(), **change})
    after = opt.state()
    assert after["t"] == before["t"] and after["hyper"] == before["hyper"]
    for name, buffer in before["buffers"].items():
        np.testing.assert_array_equal(after["buffers"][name], buffer)


# --- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [
        ("sgd", {"momentum": -0.1}, "momentum .*-0.1"),
        ("sgd", {"momentum": 1.0}, "momentum .*1.0"),
        ("sgd", {"momentum": math.nan}, "momentum .*nan"),
        ("sgd", {"weight_decay": math.inf}, "weight_decay .*inf"),
        ("sgd", {"weight_decay": -1}, "weight_decay .*-1"),
        ("sgd", {"dampening": 1.5}, "dampening .*1.5"),
        ("sgd", {"momentum": "0.9"}, "momentum must be a number, got '0.9'"),
        ("sgd", {"momentum": True}, "momentum must be a number, got True"),
        ("sgd", {"nesterov": 1}, "nesterov must be true or false, got 1"),
        ("sgd", {"nesterov": True}, "nesterov needs momentum > 0"),
        ("sgd", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov needs .*dampening 0.1"),
        ("sgd", {"lr": 0.1}, "unknown sgd hyperparameter 'lr'"),
        ("adam", {"beta1": 1.0}, "beta1 .*1.0"),
        ("adam", {"beta2": -0.5}, "beta2 .*-0.5"),
        ("adam", {"eps": 0.0}, "eps .*> 0"),
        ("adam", {"betas": (0.9, 0.99)}, "unknown adam hyperparameter 'betas'"),
        ("adamw", {"weight_decay": -0.01}, "weight_decay"),
        ("adamw", {"amsgrad": "yes"}, "amsgrad must be true or false"),
        ("rmsprop", {"alpha": 1.0}, "alpha .*1.0"),
        ("rmsprop", {"momentum": -1.0}, "momentum"),
        ("rmsprop", {"eps": -1e-8}, "eps"),
        ("adagrad", {"lr_decay": -0.1}, "lr_decay .*-0.1"),
        ("adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value .*-1.0"),
        ("adagrad", {"eps": math.inf}, "eps .*inf"),
    ],
)
def test_invalid_hyperparameters_raise_value_error_naming_them(
    name: str, hyper: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_optimizer(name, N, np.float64, **hyper)
    opt = make_optimizer(name, N, np.float64)
    with pytest.raises(ValueError, match=message.split(" ")[0]):
        opt.set_hyper(**hyper)


def test_unknown_optimizer_size_or_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        make_optimizer("lion", N, np.float64)
    with pytest.raises(ValueError, match=r"size .*-1"):
        make_optimizer("sgd", -1, np.float64)
    with pytest.raises(ValueError, match="float16"):
        make_optimizer("sgd", N, np.float16)


# --- explain ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_explain_reports_the_buffers_and_update_at_that_index(name: str, hyper: dict[str, Any]) -> None:
    opt = make_optimizer(name, N, np.float64, **hyper)
    theta, update = THETA0.copy(), np.empty(N)
    for grad, lr in zip(GRADS[:3], LRS[:3], strict=True):
        old_theta = theta.copy()
        opt.step(theta, grad, lr, update)
        theta += update
    index = 4
    info = opt.explain(index, float(GRADS[2][index]), LRS[2])
    assert info["optimizer"] == name and info["t"] == 3 and isinstance(info["rule"], str)
    assert info["grad"] == GRADS[2][index] and info["lr"] == LRS[2]
    assert opt.buffers() or (name == "sgd" and not opt.hyper["momentum"])  # state to show, or none exists
    for buffer_name, buffer in opt.buffers().items():
        assert info[buffer_name] == buffer[index]
    assert info["update"] == pytest.approx(update[index], rel=1e-12)
    wd = opt.hyper["weight_decay"]
    if name == "adamw":
        assert info["decay_term"] == pytest.approx(-LRS[2] * wd * old_theta[index], rel=1e-15)
    else:
        assert info["effective_grad"] == pytest.approx(GRADS[2][index] + wd * old_theta[index], rel=1e-15)
    assert all(isinstance(v, (int, float, str)) for v in info.values())


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_explain_on_an_optimizer_rebuilt_from_state_matches_the_live_one_given_theta(
    name: str, hyper: dict[str, Any]
) -> None:
    live = make_optimizer(name, N, np.float64, **hyper)
    theta, update = THETA0.copy(), np.empty(N)
    for grad, lr in zip(GRADS[:3], LRS[:3], strict=True):
        old_theta = theta.copy()
        live.step(theta, grad, lr, update)
        theta += update
    rebuilt = make_optimizer(name, N, np.float64)
    rebuilt.load_state(live.state())
    args = (2, float(GRADS[2][2]), LRS[2])
    expected = live.explain(*args)
    got = rebuilt.explain(*args, theta_value=float(old_theta[2]))
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == (value if isinstance(value, str) else pytest.approx(value, rel=1e-14)), key
    if live.hyper["weight_decay"]:  # the update depends on θ, which a saved state does not hold
        with pytest.raises(ValueError, match="needs theta_value"):
            rebuilt.explain(*args)
    else:
        assert rebuilt.explain(*args) == expected


def test_explain_refuses_a_stale_weight_decay_record_without_theta() -> None:
    opt, _, _ = run_engine("sgd", {"momentum": 0.9}, steps=2)
    opt.set_hyper(weight_decay=0.1)  # no step has used it yet
    with pytest.raises(ValueError, match="needs theta_value"):
        opt.explain(0, 0.5, 0.1)
    info = opt.explain(0, 0.5, 0.1, theta_value=2.0)
    assert info["effective_grad"] == pytest.approx(0.7, rel=1e-15)


def test_explain_gives_adam_bias_corrections_and_corrected_moments() -> None:
    opt, _, _ = run_engine("adam", {"beta1": 0.8, "beta2": 0.9}, steps=3)
    info = opt.explain(1, float(GRADS[2][1]), LRS[2])
    assert info["bias_correction1"] == pytest.approx(1 - 0.8**3, rel=1e-15)
    assert info["bias_correction2"] == pytest.approx(1 - 0.9**3, rel=1e-15)
    assert info["m_hat"] == pytest.approx(opt.buffers()["exp_avg"][1] / (1 - 0.8**3), rel=1e-15)
    assert info["v_hat"] == pytest.approx(opt.buffers()["exp_avg_sq"][1] / (1 - 0.9**3), rel=1e-15)
    assert info["denominator"] == pytest.approx(math.sqrt(float(info["v_hat"])) + 1e-8, rel=1e-15)


def test_explain_before_any_step_or_out_of_range_is_refused() -> None:
    opt = make_optimizer("adam", N, np.float64)
    with pytest.raises(ValueError, match="no step yet"):
        opt.explain(0, 0.0, 0.1)
    opt.step(THETA0, GRADS[0], 0.1, np.empty(N))
    with pytest.raises(ValueError, match=r"index .*6"):
        opt.explain(N, 0.0, 0.1)


# --- against PyTorch itself, when it happens to be installed -----------------------


@pytest.mark.parametrize(("name", "hyper"), CASES, ids=CASE_IDS)
def test_matches_torch_optim_when_torch_is_installed(name: str, hyper: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    classes = {
        "sgd": torch.optim.SGD,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "rmsprop": torch.optim.RMSprop,
        "adagrad": torch.optim.Adagrad,
    }
    kwargs = {k: v for k, v in hyper.items() if k not in ("beta1", "beta2")}
    if name in ("adam", "adamw"):
        kwargs["betas"] = (hyper.get("beta1", 0.9), hyper.get("beta2", 0.999))
    param = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    reference = classes[name]([param], lr=LRS[0], **kwargs)
    _, updates, _ = run_engine(name, hyper)
    for k, (grad, lr) in enumerate(zip(GRADS, LRS, strict=True)):
        for group in reference.param_groups:
            group["lr"] = lr
        before = param.detach().clone()
        param.grad = torch.tensor(grad, dtype=torch.float64)
        reference.step()
        np.testing.assert_allclose(updates[k], (param.detach() - before).numpy(), rtol=1e-9, atol=1e-13)
