"""Evaluating a split: the confusion matrix counts every sample once, mistakes are real mistakes,
sequences and scatter carry the network's own outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.evaluation import class_indices, confusion_matrix, evaluate_split
from engine.session import TrainingSession


def session(
    data: dict[str, Any], layers: list[dict[str, Any]], loss: str, steps: int = 30
) -> TrainingSession:
    s = TrainingSession(
        {
            "model": {"layers": layers, "loss": loss},
            "data": data,
            "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 16},
            "seed": 2,
        }
    )
    s.step(steps)
    return s


DIGITS_CNN = [
    {"type": "conv2d", "filters": 4, "kernel": 3, "activation": "relu"},
    {"type": "maxpool2d", "size": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 10, "activation": "softmax"},
]


def test_a_confusion_matrix_counts_each_true_and_predicted_pair() -> None:
    true = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    np.testing.assert_array_equal(confusion_matrix(true, predicted, 3), [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError, match="one shape"):
        confusion_matrix(true, predicted[:3], 3)


def test_classes_are_read_by_arg_max_or_by_the_half_way_mark() -> None:
    np.testing.assert_array_equal(
        class_indices("multiclass", np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])), [1, 0]
    )
    np.testing.assert_array_equal(class_indices("binary", np.array([[0.2], [0.8]])), [0, 1])
    with pytest.raises(ValueError, match="no classes"):
        class_indices("regression", np.zeros((2, 1)))


def test_the_digits_confusion_matrix_and_mistakes_agree_with_the_sessions_accuracy() -> None:
    s = session({"dataset": "digits", "samples": 300}, DIGITS_CNN, "cross_entropy")
    result = evaluate_split(s.network, s.data, "test", max_examples=500)
    counts = np.asarray(result["confusion"])
    assert result["split"] == "test" and result["count"] == len(s.data.x_test) == counts.sum()
    assert counts.shape == (10, 10)
    assert result["accuracy"] == pytest.approx(np.trace(counts) / counts.sum())
    assert result["accuracy"] == pytest.approx(s.evaluate()["test_accuracy"])
    mistakes = result["misclassified"]
    assert len(mistakes) == counts.sum() - np.trace(counts)
    outputs = s.network.predict(s.data.x_test)[-1]["a"]
    for m in mistakes:
        assert m["label"] != m["predicted"]
        assert m["label"] == s.data.labels_test[m["index"]]
        assert m["predicted"] == outputs[m["index"]].argmax()
        np.testing.assert_array_equal(m["x"], s.data.x_test[m["index"]])
    confidences = [m["confidence"] for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    assert len(evaluate_split(s.network, s.data, "test", max_examples=3)["misclassified"]) == min(
        3, len(mistakes)
    )


def test_an_empty_test_set_falls_back_to_the_training_set() -> None:
    s = session(
        {"dataset": "shapes", "samples": 40, "train_fraction": 1.0},
        [*DIGITS_CNN[:-1], {"type": "dense", "units": 3, "activation": "softmax"}],
        "cross_entropy",
        steps=2,
    )
    result = evaluate_split(s.network, s.data, "test")
    assert result["split"] == "train" and result["count"] == 40


def test_sequence_examples_carry_inputs_targets_and_outputs() -> None:
    s = session(
        {"dataset": "adding", "samples": 60, "length": 5},
        [{"type": "lstm", "units": 4}, {"type": "dense", "units": 1, "activation": "linear"}],
        "mse",
    )
    result = evaluate_split(s.network, s.data, "train", max_examples=4)
    assert result["confusion"] is None and result["accuracy"] is None
    assert len(result["sequences"]) == 4
    outputs = s.network.predict(s.data.x_train)[-1]["a"]
    first = result["sequences"][0]
    np.testing.assert_array_equal(first["x"], s.data.x_train[0])
    np.testing.assert_array_equal(first["target"], s.data.y_train[0])
    np.testing.assert_allclose(first["output"], outputs[0], rtol=1e-12)
    np.testing.assert_allclose(result["scatter"]["output"], outputs[:, 0], rtol=1e-12)
    np.testing.assert_array_equal(result["scatter"]["target"], s.data.y_train[:, 0])


def test_per_step_classification_counts_every_step() -> None:
    s = session(
        {"dataset": "parity", "samples": 50, "length": 6, "target": "sequence"},
        [
            {"type": "rnn", "units": 4, "return_sequences": True},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        "bce",
    )
    result = evaluate_split(s.network, s.data, "test", max_examples=2)
    assert np.asarray(result["confusion"]).sum() == result["count"] * 6
    assert result["sequences"][0]["label"].shape == (6,)
    assert result["misclassified"] == []  # galleries are for images
