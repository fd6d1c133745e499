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
