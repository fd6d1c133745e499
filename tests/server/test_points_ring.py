"""The ring of loss points: what ``since`` returns, against a plain list of every point written."""

from __future__ import annotations

import numpy as np
import pytest

from server.points import PointsRing


def written(ring: PointsRing, chunks: list[int], start: int = 0) -> list[tuple[float, float, float]]:
    """Write ``chunks`` of consecutive steps from ``start``; return every point as (step, loss, lr)."""
    points = []
    step = start
    for n in chunks:
        losses = np.arange(step + 1, step + n + 1) * 0.5
        lrs = np.arange(step + 1, step + n + 1) * 0.25
        ring.extend(step, losses, lrs)
        points += [(float(k), float(k) * 0.5, float(k) * 0.25) for k in range(step + 1, step + n + 1)]
        step += n
    return points


def as_points(result: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[tuple[float, float, float]]:
    return list(zip(*(column.tolist() for column in result), strict=True))


@pytest.mark.parametrize("chunks", [[1], [5, 3], [7, 7, 7], [10, 1, 1, 13], [3, 40], [64]])
def test_since_returns_the_held_points_after_a_step_oldest_first(chunks: list[int]) -> None:
    ring = PointsRing(capacity=16)
    points = written(ring, chunks, start=100)
    held = points[-16:]
    for after in [-1.0, 99.0, 100.0, held[0][0] - 1, held[0][0], 110.5, held[-1][0] - 1, held[-1][0], 1e9]:
        want = [p for p in held if p[0] > after]
        got = as_points(ring.since(after))
        assert got == want, (chunks, after)
    assert ring.last_step == points[-1][0]


def test_an_empty_or_cleared_ring_has_no_points() -> None:
    ring = PointsRing(capacity=8)
    assert as_points(ring.since(-1)) == [] and ring.last_step == -1.0
    written(ring, [5])
    ring.clear()
    assert as_points(ring.since(-1)) == []
    assert as_points(ring.since(3)) == []
    points = written(ring, [3], start=0)
    assert as_points(ring.since(-1)) == points


def test_one_write_longer_than_the_ring_keeps_its_newest_points() -> None:
    ring = PointsRing(capacity=4)
    points = written(ring, [10], start=20)
    assert as_points(ring.since(0)) == points[-4:]
    assert as_points(ring.since(points[-2][0])) == points[-1:]


def test_since_gives_copies_not_views_of_the_ring() -> None:
    ring = PointsRing(capacity=4)
    written(ring, [3])
    steps, losses, _ = ring.since(0)
    written(ring, [4], start=3)  # overwrites every slot
    assert steps.tolist() == [1.0, 2.0, 3.0] and losses.tolist() == [0.5, 1.0, 1.5]
