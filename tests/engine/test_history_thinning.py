"""A curve that fills up thins itself evenly, whatever spacing its steps were recorded at."""

from __future__ import annotations

import numpy as np
import pytest

from engine.history import Curve


@pytest.mark.parametrize("every", [1, 3, 20, 64])
def test_a_full_curve_keeps_recording_at_any_step_spacing(every: int) -> None:
    curve = Curve(("loss",), capacity=16)
    for n in range(0, 400 * every, every):
        curve.record(n, float(n))
    assert 8 <= curve.length <= 16
    steps = curve.steps
    assert steps[0] == 0 and np.all(np.diff(steps) > 0)
    spacing = set(np.diff(steps).tolist())
    assert len(spacing) == 1  # evenly spaced
    assert steps[-1] > 400 * every - 2 * spacing.pop()  # and up to date
    assert np.array_equal(curve.column("loss"), steps.astype(float))


def test_amend_replaces_the_last_point_of_the_same_step_and_records_any_other_whatever_the_stride() -> None:
    curve = Curve(("v",), capacity=4)
    for step in range(0, 10):
        curve.record(step, float(step))
    assert curve.stride > 1
    last = curve.last()
    assert last is not None
    curve.amend(int(last["step"]), -1.0)
    assert curve.last() == {"step": last["step"], "v": -1.0}
    curve.amend(11, 5.0)  # 11 is off the stride: an amended value is kept all the same
    assert curve.last() == {"step": 11.0, "v": 5.0}
    for step in range(12, 40):  # and the curve stays bounded after it
        curve.record(step, float(step))
        curve.amend(step, float(step))
    assert curve.length <= 4
