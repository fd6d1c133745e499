"""Sequences for recurrent networks (kind ``"sequence"``): ``x: (n, T, F)``, T = ``length`` steps.

Key ``target`` picks the shape of the targets:

- ``"last"`` (many-to-one): one target per sample, ``y: (n, K)``;
- ``"sequence"`` (many-to-many): one target per step, ``y: (n, T, K)``; the network
  must output ``(T, K)`` (a recurrent layer with ``return_sequences``).

=========  =====  ==========  ==============================================  ==================
dataset    F      task        target "last"                                   "sequence"
=========  =====  ==========  ==============================================  ==================
sine-next  1      regression  the value after the last one                    the next value at
                                                                              every step
adding     2      regression  sum of the two marked values                    — (not supported)
parity     1      binary      parity of all the bits (1 = odd number of ones)  running parity
counting   1      regression  number of ones / T                              running count / T
text       V      multiclass  the character after the window                  the next character
                                                                              at every step
=========  =====  ==========  ==============================================  ==================

``sine-next``: sin(ω·t + φ) with ω ∈ U(0.15, 0.6) rad per step and φ ∈ U(0, 2π) per
sample; ``noise`` adds Gaussian noise of that standard deviation to the inputs only.
``adding``: channel 0 holds values from U(0, 1), channel 1 marks exactly two steps
with 1. ``counting`` draws each sample's bits with its own chance of a one, so the
targets spread over [0, 1]. ``text``: windows of a short text about backpropagation
(``data/backprop.txt``, lower-cased, whitespace collapsed to single spaces), each
character one-hot over the text's vocabulary of V characters.

Spec keys: ``samples`` (1..10,000, default 500), ``train_fraction`` (default 0.8),
``length``, ``target``, and ``noise`` for ``sine-next``. The inputs may hold at most
:data:`~engine.datasets.base.MAX_VALUES` numbers.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from engine.datasets.base import Builder, DatasetInfo, IntArray, Params, Samples, Task, check_size
from engine.datasets.targets import one_hot

__all__ = ["BUILDERS", "INFOS", "TEXT_PATH", "corpus"]

TEXT_PATH = Path(__file__).resolve().parent / "data" / "backprop.txt"
MAX_SAMPLES = 10_000


@functools.cache
def corpus() -> tuple[str, str]:
    """The normalized text and its vocabulary (its distinct characters, sorted)."""
    text = " ".join(TEXT_PATH.read_text(encoding="utf-8").lower().split())
    return text, "".join(sorted(set(text)))


@functools.cache
def _codes() -> IntArray:
    text, vocabulary = corpus()
    lookup = {c: i for i, c in enumerate(vocabulary)}
    codes = np.array([lookup[c] for c in text], dtype=np.int64)
    codes.setflags(write=False)
    return codes


def _info(p: Params, channels: list[str]) -> dict[str, Any]:
    return {"length": p["length"], "target": p["target"], "channels": channels}


def _sine_next(p: Params, rng: np.random.Generator) -> Samples:
    n, t = p["samples"], p["length"]
    check_size("sine-next", n, (t, 1))
    omega = rng.uniform(0.15, 0.6, (n, 1))
    phase = rng.uniform(0.0, 2 * math.pi, (n, 1))
    wave = np.sin(omega * np.arange(t + 1) + phase)  # (n, T + 1)
    x = wave[:, :t, None].copy()
    if p["noise"] > 0:
        x += rng.normal(0.0, p["noise"], x.shape)
    values = wave[:, t:] if p["target"] == "last" else wave[:, 1:, None]
    return Samples(x=x, values=values, info=_info(p, ["value"]))


def _adding(p: Params, rng: np.random.Generator) -> Samples:
    n, t = p["samples"], p["length"]
    check_size("adding", n, (t, 2))
    numbers = rng.uniform(0.0, 1.0, (n, t))
    marked = np.argsort(rng.random((n, t)), axis=1)[:, :2]  # two distinct steps per sample
    marker = np.zeros((n, t))
    np.put_along_axis(marker, marked, 1.0, axis=1)
    values = (numbers * marker).sum(axis=1, keepdims=True)
    return Samples(x=np.stack([numbers, marker], axis=2), values=values, info=_info(p, ["value", "marker"]))


def _parity(p: Params, rng: np.random.Generator) -> Samples:
    n, t = p["samples"], p["length"]
    check_size("parity", n, (t, 1))
    bits = rng.integers(0, 2, (n, t), dtype=np.int64)
    labels = bits.sum(axis=1) % 2 if p["target"] == "last" else np.cumsum(bits, axis=1) % 2
    return Samples(
        x=bits[:, :, None].astype(np.float64),
        labels=labels,
        class_names=["even", "odd"],
        info=_info(p, ["bit"]),
    )


def _counting(p: Params, rng: np.random.Generator) -> Samples:
    n, t = p["samples"], p["length"]
    check_size("counting", n, (t, 1))
    chance = rng.uniform(0.0, 1.0, (n, 1))
    bits = (rng.random((n, t)) < chance).astype(np.float64)
    values = (
        bits.sum(axis=1, keepdims=True) / t
        if p["target"] == "last"
        else np.cumsum(bits, axis=1)[:, :, None] / t
    )
    return Samples(x=bits[:, :, None], values=values, info=_info(p, ["bit"]))


def _text(p: Params, rng: np.random.Generator) -> Samples:
    n, t = p["samples"], p["length"]
    text, vocabulary = corpus()
    check_size("text", n, (t, len(vocabulary)))
    codes = _codes()
    starts = rng.integers(0, len(codes) - t, n)
    windows = codes[starts[:, None] + np.arange(t + 1)]  # (n, T + 1)
    labels = windows[:, t] if p["target"] == "last" else windows[:, 1:]
    info = {**_info(p, list(vocabulary)), "vocabulary": vocabulary, "text_length": len(text)}
    return Samples(
        x=one_hot(windows[:, :t], len(vocabulary)), labels=labels, class_names=list(vocabulary), info=info
    )


def _sequence(
    name: str,
    task: Task,
    description: str,
    length: tuple[int, int, int],
    targets: tuple[str, ...],
    n_classes: int | None = None,
    noise: bool = False,
) -> DatasetInfo:
    """``length`` is (default, lowest, highest)."""
    defaults: dict[str, Any] = {"samples": 500, "train_fraction": 0.8, "length": length[0], "target": "last"}
    limits = {
        "samples": (1.0, float(MAX_SAMPLES)),
        "train_fraction": (0.0, 1.0),
        "length": (float(length[1]), float(length[2])),
    }
    if noise:
        defaults["noise"] = 0.05
        limits["noise"] = (0.0, 1.0)
    return DatasetInfo(name, "sequence", task, description, defaults, limits, n_classes, targets)


_BOTH = ("last", "sequence")

INFOS = [
    _sequence(
        "sine-next", "regression", "Predict the next value of a sine wave.", (20, 2, 200), _BOTH, noise=True
    ),
    _sequence(
        "adding", "regression", "The adding problem: sum the two marked values.", (20, 2, 200), ("last",)
    ),
    _sequence("parity", "binary", "Is the number of ones in the bits odd?", (8, 1, 64), _BOTH, 2),
    _sequence("counting", "regression", "Count the ones, as a fraction of the length.", (10, 1, 200), _BOTH),
    _sequence(
        "text",
        "multiclass",
        "Next-character prediction on a text about backpropagation.",
        (16, 1, 64),
        _BOTH,
        len(corpus()[1]),
    ),
]

BUILDERS: dict[str, Builder] = {
    "sine-next": _sine_next,
    "adding": _adding,
    "parity": _parity,
    "counting": _counting,
    "text": _text,
}
