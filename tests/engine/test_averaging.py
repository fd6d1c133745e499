"""Exponential moving average of the weights against its recurrence, computed element by element."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from engine.averaging import WeightAverage

_rng = np.random.default_rng(7)
THETAS = _rng.normal(size=(12, 5))


def reference_ema(thetas: np.ndarray, decay: float) -> list[float]:
    ema = [float(x) for x in thetas[0]]  # the first update copies θ
    for theta in thetas[1:]:
        ema = [decay * e + (1 - decay) * float(x) for e, x in zip(ema, theta, strict=True)]
    return ema


@pytest.mark.parametrize("decay", [0.5, 0.9, 0.999])
def test_average_follows_the_ema_recurrence_after_copying_the_first_weights(decay: float) -> None:
    average = WeightAverage(5, np.float64, decay)
    for k, theta in enumerate(THETAS, start=1):
        average.update(theta)
        assert average.count == k
        np.testing.assert_allclose(average.values, reference_ema(THETAS[:k], decay), rtol=1e-12)


def test_first_update_gives_the_weights_themselves_not_a_fraction_of_them() -> None:
    average = WeightAverage(5, np.float64, 0.99)
    average.update(THETAS[0])
    np.testing.assert_allclose(average.values, THETAS[0], rtol=1e-15)


def test_two_updates_match_hand_computed_numbers() -> None:
    average = WeightAverage(2, np.float64, 0.75)
    average.update(np.array([4.0, -8.0]))
    average.update(np.array([0.0, 8.0]))
    # 0.75·4 + 0.25·0 = 3; 0.75·(−8) + 0.25·8 = −4
    np.testing.assert_allclose(average.values, [3.0, -4.0], rtol=1e-15)


def test_values_is_a_copy_and_update_does_not_touch_theta() -> None:
    average = WeightAverage(5, np.float64, 0.9)
    theta = THETAS[0].copy()
    average.update(theta)
    values = average.values
    values[:] = 100.0
    np.testing.assert_allclose(average.values, THETAS[0], rtol=1e-15)
    np.testing.assert_array_equal(theta, THETAS[0])


def test_float32_average_stays_float32() -> None:
    average = WeightAverage(5, np.float32, 0.9)
    for theta in THETAS:
        average.update(theta.astype(np.float32))
    assert average.values.dtype == np.float32
    np.testing.assert_allclose(average.values, reference_ema(THETAS, 0.9), rtol=1e-5)


def test_state_round_trip_continues_bit_for_bit() -> None:
    average = WeightAverage(5, np.float64, 0.95)
    for theta in THETAS[:4]:
        average.update(theta)
    saved = average.state()
    carried = json.loads(json.dumps({**saved, "discounted_sum": saved["discounted_sum"].tolist()}))
    for theta in THETAS[4:]:
        average.update(theta)
    resumed = WeightAverage(5, np.float64, 0.95)
    resumed.load_state(carried)
    assert resumed.count == 4
    for theta in THETAS[4:]:
        resumed.update(theta)
    np.testing.assert_array_equal(resumed.values, average.values)
    assert resumed.count == average.count == len(THETAS)


def test_reset_forgets_every_update() -> None:
    average = WeightAverage(5, np.float64, 0.9)
    average.update(THETAS[0])
    average.reset()
    assert average.count == 0
    average.update(THETAS[1])
    np.testing.assert_allclose(average.values, THETAS[1], rtol=1e-15)


def test_values_before_any_update_are_refused() -> None:
    with pytest.raises(ValueError, match="before its first update"):
        _ = WeightAverage(5, np.float64, 0.9).values


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5, math.nan, math.inf, True, "0.9"])
def test_decay_outside_the_open_unit_interval_is_refused(decay: Any) -> None:
    with pytest.raises(ValueError, match=f"decay must be a number in \\(0, 1\\), got {decay!r}"):
        WeightAverage(5, np.float64, decay)


def test_wrong_shape_size_dtype_or_state_is_refused() -> None:
    average = WeightAverage(5, np.float64, 0.9)
    with pytest.raises(ValueError, match=r"shape \[5\], got \[4\]"):
        average.update(np.zeros(4))
    with pytest.raises(ValueError, match=r"size .*-2"):
        WeightAverage(-2, np.float64, 0.9)
    with pytest.raises(ValueError, match="int64"):
        WeightAverage(5, np.int64, 0.9)
    good = {"count": 1, "decay": 0.9, "discounted_sum": [0.0] * 5}
    for bad, message in [
        ({**good, "decay": 0.5}, "decay 0.5"),
        ({**good, "count": -1}, "count must be an integer"),
        ({**good, "discounted_sum": [0.0] * 4}, r"shape \[5\], got \[4\]"),
        ({**good, "discounted_sum": [math.nan] * 5}, "finite"),
        ({"count": 1, "decay": 0.9}, "must have keys"),
    ]:
        with pytest.raises(ValueError, match=message):
            average.load_state(bad)
    assert average.count == 0
