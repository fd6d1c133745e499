"""The engine really learns: the classic playground problems are solved with fixed seeds."""

from __future__ import annotations

from typing import Any

import pytest

from engine.session import TrainingSession


def dense(*units_activation: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"type": "dense", "units": u, "activation": a} for u, a in units_activation]


def test_xor_with_a_2_4_1_tanh_network_reaches_full_train_accuracy() -> None:
    s = TrainingSession(
        {
            "model": {"layers": dense((4, "tanh"), (1, "sigmoid")), "loss": "bce"},
            "data": {"x": [[0, 0], [0, 1], [1, 0], [1, 1]], "y": [0, 1, 1, 0]},
            "training": {"optimizer": {"name": "sgd", "lr": 0.5}, "batch_size": 4},
            "seed": 1,
        }
    )
    s.step(2000)
    assert s.evaluate()["train_accuracy"] == 1.0


@pytest.mark.parametrize(
    "dataset,layers,steps",
    [
        ("circle", dense((8, "tanh"), (8, "tanh"), (1, "sigmoid")), 3000),
        ("spiral", dense((16, "tanh"), (16, "tanh"), (16, "tanh"), (1, "sigmoid")), 12000),
    ],
)
def test_circle_and_spiral_reach_95_percent_test_accuracy(
    dataset: str, layers: list[dict[str, Any]], steps: int
) -> None:
    features = (
        ["x1", "x2"] if dataset == "circle" else ["x1", "x2", "x1²", "x2²", "x1·x2", "sin(x1)", "sin(x2)"]
    )
    s = TrainingSession(
        {
            "model": {"layers": layers, "loss": "bce"},
            "data": {
                "dataset": dataset,
                "samples": 500,
                "noise": 0.0,
                "train_fraction": 0.5,
                "features": features,
            },
            "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 10},
            "seed": 0,
        }
    )
    s.step(steps)
    assert s.evaluate()["test_accuracy"] >= 0.95
