"""Small grey images (kind ``"image"``), one channel: ``x: (n, 1, H, W)`` with pixels in [0, 1].

- ``digits``: the 1,797 real 8×8 handwritten digits (UCI "Optical Recognition of
  Handwritten Digits", E. Alpaydin and C. Kaynak, CC BY 4.0), read from
  ``data/digits.npz`` (written by ``scripts/make_digits.py`` from scikit-learn's
  copy). Stored pixels are 0..16 and are divided by 16. ``samples`` draws a seeded
  subset without replacement.
- ``shapes``: drawn from the seed: a bar (horizontal or vertical), a plus-shaped
  cross, or a ring, at a random position and size on a ``size × size`` canvas.

Both take ``noise`` (0..1): Gaussian pixel noise of that standard deviation, clipped
back to [0, 1]. Spec keys: ``samples``, ``noise``, ``train_fraction`` (default 0.8),
and ``size`` for ``shapes`` (6..32, default 8).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from engine.datasets.base import Builder, DatasetInfo, FloatArray, Params, Samples, check_size, class_counts

__all__ = ["BUILDERS", "DIGITS_PATH", "INFOS", "load_digit_arrays"]

DIGITS_PATH = Path(__file__).resolve().parent / "data" / "digits.npz"
DIGITS_COUNT = 1797
MAX_SHAPES = 5_000


@functools.cache
def load_digit_arrays() -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The stored digits, read once: pixels ``(1797, 8, 8)`` uint8 in 0..16, labels ``(1797,)`` uint8.

    The cached arrays are read-only; callers copy what they change.
    """
    with np.load(DIGITS_PATH) as data:
        pixels = np.asarray(data["pixels"], dtype=np.uint8)
        labels = np.asarray(data["labels"], dtype=np.uint8)
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def _pixel_noise(images: FloatArray, noise: float, rng: np.random.Generator) -> FloatArray:
    if noise > 0:
        images = np.clip(images + rng.normal(0.0, noise, images.shape), 0.0, 1.0)
    return images


def _digits(p: Params, rng: np.random.Generator) -> Samples:
    pixels, labels = load_digit_arrays()
    chosen = np.sort(rng.choice(len(labels), size=p["samples"], replace=False))
    x = pixels[chosen, None].astype(np.float64) / 16.0
    return Samples(
        x=_pixel_noise(x, p["noise"], rng),
        labels=labels[chosen].astype(np.int64),
        class_names=[str(d) for d in range(10)],
        info={"source": "UCI optical recognition of handwritten digits (CC BY 4.0), 8×8, via scikit-learn"},
    )


# --- shapes: each drawer paints one sample onto a zeroed (size, size) canvas ---


def _stroke(size: int) -> int:
    return max(1, size // 10)


def _draw_bar(img: FloatArray, rng: np.random.Generator) -> None:
    size, width = img.shape[0], _stroke(img.shape[0])
    length = int(rng.integers(max(3, size // 2), size + 1))
    along = int(rng.integers(0, size - length + 1))
    across = int(rng.integers(0, size - width + 1))
    if rng.random() < 0.5:
        img[across : across + width, along : along + length] = 1.0
    else:
        img[along : along + length, across : across + width] = 1.0


def _draw_cross(img: FloatArray, rng: np.random.Generator) -> None:
    size, width = img.shape[0], _stroke(img.shape[0])
    arm = int(rng.integers(max(1, size // 8), (size - width) // 2 + 1))  # the cross spans 2·arm + width
    span = 2 * arm + width
    top, left = (int(v) for v in rng.integers(0, size - span + 1, 2))
    img[top + arm : top + arm + width, left : left + span] = 1.0
    img[top : top + span, left + arm : left + arm + width] = 1.0


def _draw_ring(img: FloatArray, rng: np.random.Generator) -> None:
    size, width = img.shape[0], _stroke(img.shape[0])
    radius = rng.uniform(1.5, (size - 1) / 2)
    cy, cx = rng.uniform(radius, size - 1 - radius, 2)
    rows, cols = np.indices(img.shape)
    distance = np.hypot(rows - cy, cols - cx)
    # anti-aliased: full intensity within width/2 of the circle, fading over one pixel
    img[...] = np.clip(width / 2 + 0.5 - np.abs(distance - radius), 0.0, 1.0)


SHAPE_DRAWERS = (_draw_bar, _draw_cross, _draw_ring)
SHAPE_NAMES = ["bar", "cross", "ring"]


def _shapes(p: Params, rng: np.random.Generator) -> Samples:
    n, size = p["samples"], p["size"]
    check_size("shapes", n, (1, size, size))
    labels = np.repeat(np.arange(3, dtype=np.int64), class_counts(n, 3))
    x = np.zeros((n, 1, size, size))
    for i, label in enumerate(labels):
        SHAPE_DRAWERS[label](x[i, 0], rng)
    return Samples(x=_pixel_noise(x, p["noise"], rng), labels=labels, class_names=list(SHAPE_NAMES))


INFOS = [
    DatasetInfo(
        "digits",
        "image",
        "multiclass",
        "1,797 real 8×8 handwritten digits, 0–9.",
        {"samples": DIGITS_COUNT, "noise": 0.0, "train_fraction": 0.8},
        {"samples": (1.0, float(DIGITS_COUNT)), "noise": (0.0, 1.0), "train_fraction": (0.0, 1.0)},
        10,
    ),
    DatasetInfo(
        "shapes",
        "image",
        "multiclass",
        "Synthetic images: a bar, a cross or a ring at a random place and size.",
        {"samples": 600, "noise": 0.1, "train_fraction": 0.8, "size": 8},
        {
            "samples": (1.0, float(MAX_SHAPES)),
            "noise": (0.0, 1.0),
            "train_fraction": (0.0, 1.0),
            "size": (6.0, 32.0),
        },
        3,
    ),
]

BUILDERS: dict[str, Builder] = {"digits": _digits, "shapes": _shapes}
