"""engine.datasets: generated, bundled and inline data, and targets shaped for each loss."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.datasets import DATASETS, FEATURES, DataSet, apply_features, load_dataset
from engine.datasets.base import MAX_VALUES
from engine.datasets.images import load_digit_arrays
from engine.datasets.inline import MAX_ROWS
from engine.datasets.plane import CIRCLE_RADIUS
from engine.datasets.sequences import corpus

ARRAY_FIELDS = (
    "x_train",
    "y_train",
    "x_test",
    "y_test",
    "points_train",
    "points_test",
    "labels_train",
    "labels_test",
)
SMALL = {"digits": 200, "shapes": 90, "text": 60}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def small_spec(name: str, **extra: Any) -> dict[str, Any]:
    return {"dataset": name, "samples": SMALL.get(name, 120), **extra}


def natural_output(name: str, target: str = "last") -> tuple[str, tuple[int, ...]]:
    """A loss and output shape that every dataset of this task accepts."""
    info = DATASETS[name]
    lead = (info.defaults["length"],) if target == "sequence" else ()
    if info.task == "regression":
        return "mse", (*lead, 1)
    assert info.n_classes is not None
    return "cross_entropy", (*lead, info.n_classes)


def load(name: str, seed: int = 0, **extra: Any) -> DataSet:
    loss, out = natural_output(name, extra.get("target", "last"))
    return load_dataset(small_spec(name, **extra), rng(seed), loss, out)


def all_labels(ds: DataSet) -> np.ndarray[Any, Any]:
    assert ds.labels_train is not None and ds.labels_test is not None
    return np.concatenate([ds.labels_train, ds.labels_test])


def all_points(ds: DataSet) -> np.ndarray[Any, Any]:
    assert ds.points_train is not None and ds.points_test is not None
    return np.concatenate([ds.points_train, ds.points_test])


# --- determinism -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_same_seed_gives_identical_arrays(name: str) -> None:
    a, b = load(name, seed=7), load(name, seed=7)
    for field in ARRAY_FIELDS:
        first, second = getattr(a, field), getattr(b, field)
        if first is None:
            assert second is None
        else:
            np.testing.assert_array_equal(first, second, err_msg=field)
    assert a.info == b.info


@pytest.mark.parametrize("name", list(DATASETS))
def test_a_different_seed_gives_different_data(name: str) -> None:
    a, b = load(name, seed=1), load(name, seed=2)
    assert a.x_train.shape == b.x_train.shape
    assert not np.array_equal(a.x_train, b.x_train)


# --- shapes for every dataset and loss ------------------------------------------------


def compatible_outputs(name: str) -> list[tuple[str, str, tuple[int, ...]]]:
    """(target mode, loss, output shape) combinations the dataset must accept."""
    info = DATASETS[name]
    cases = []
    for target in info.targets or ("last",):
        lead = (info.defaults["length"],) if target == "sequence" else ()
        if info.task == "regression":
            cases.append((target, "mse", (*lead, 1)))
            if name in ("counting",):
                cases.append((target, "bce", (*lead, 1)))
        else:
            k = info.n_classes
            assert k is not None
            cases += [
                (target, "cross_entropy", (*lead, k)),
                (target, "mse", (*lead, k)),
                (target, "bce", (*lead, k)),
            ]
            if k == 2:
                cases += [(target, "bce", (*lead, 1)), (target, "mse", (*lead, 1))]
    return cases


SHAPE_CASES = [(name, *case) for name in DATASETS for case in compatible_outputs(name)]


@pytest.mark.parametrize(("name", "target", "loss", "output_shape"), SHAPE_CASES)
def test_every_dataset_gives_arrays_shaped_for_the_loss_and_output(
    name: str, target: str, loss: str, output_shape: tuple[int, ...]
) -> None:
    spec = small_spec(name, **({"target": target} if DATASETS[name].targets else {}))
    ds = load_dataset(spec, rng(), loss, output_shape)
    n_train, n_test = len(ds.x_train), len(ds.x_test)
    assert n_train + n_test == spec["samples"]
    assert ds.x_train.shape == (n_train, *ds.input_shape)
    assert ds.x_test.shape == (n_test, *ds.input_shape)
    assert ds.y_train.shape == (n_train, *output_shape)
    assert ds.y_test.shape == (n_test, *output_shape)
    assert ds.target_shape == output_shape
    for arr in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        assert arr.dtype == np.float64 and np.all(np.isfinite(arr))
    assert ds.kind == DATASETS[name].kind
    if ds.task == "regression":
        assert ds.labels_train is None and ds.n_classes is None
    else:
        assert ds.labels_train is not None and ds.labels_train.dtype == np.int64
        assert ds.labels_train.shape == (n_train, *output_shape[:-1])
        assert ds.class_names is not None and len(ds.class_names) == ds.n_classes
        if output_shape[-1] == 1:
            np.testing.assert_array_equal(ds.y_train[..., 0], ds.labels_train)
        else:
            np.testing.assert_array_equal(ds.y_train.argmax(axis=-1), ds.labels_train)
            np.testing.assert_array_equal(ds.y_train.sum(axis=-1), 1.0)
    if ds.kind in ("plane", "line"):
        assert ds.domain == (-6.0, 6.0)
        assert ds.points_train is not None and ds.points_train.shape == (
            n_train,
            2 if ds.kind == "plane" else 1,
        )


def test_plane_inputs_and_drawing_points_stay_inside_the_domain() -> None:
    for name, info in DATASETS.items():
        if info.kind == "plane":
            points = all_points(load(name, noise=1.0))
            assert points.min() >= -6.0 and points.max() <= 6.0, name


def test_the_listing_describes_every_dataset_and_its_defaults_load() -> None:
    listing = json.loads(json.dumps([info.describe() for info in DATASETS.values()]))
    assert {entry["name"] for entry in listing} == set(DATASETS)
    for entry in listing:
        assert entry["keys"][0] == "dataset" and set(entry["defaults"]) == set(entry["keys"][1:])
        assert entry["description"]
    for name in DATASETS:
        loss, out = natural_output(name)
        ds = load_dataset({"dataset": name}, rng(), loss, out)
        assert len(ds.x_train) + len(ds.x_test) == DATASETS[name].defaults["samples"]
        assert ds.n_classes == DATASETS[name].n_classes


def test_train_fraction_splits_the_samples_and_one_leaves_the_test_set_empty() -> None:
    half = load_dataset({"dataset": "circle", "samples": 200, "train_fraction": 0.5}, rng(), "bce", (1,))
    assert len(half.x_train) == len(half.x_test) == 100
    full = load_dataset({"dataset": "circle", "samples": 200, "train_fraction": 1}, rng(), "bce", (1,))
    assert full.x_train.shape == (200, 2)
    assert full.x_test.shape == (0, 2) and full.y_test.shape == (0, 1)
    assert full.labels_test is not None and full.labels_test.shape == (0,)
    tiny = load_dataset({"dataset": "circle", "samples": 1, "train_fraction": 0.1}, rng(), "bce", (1,))
    assert len(tiny.x_train) == 1


# --- class balance and labels ---------------------------------------------------------


@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "spiral", "moons", "checkerboard", "spiral3"])
def test_classes_get_equal_shares_of_the_samples(name: str) -> None:
    ds = load(name, samples=300)
    counts = np.bincount(all_labels(ds))
    assert len(counts) == DATASETS[name].n_classes and counts.max() == counts.min()


def test_blobs_makes_as_many_balanced_classes_as_asked() -> None:
    ds = load_dataset({"dataset": "blobs", "classes": 5, "samples": 502}, rng(), "cross_entropy", (5,))
    counts = np.bincount(all_labels(ds), minlength=5)
    assert len(counts) == 5 and counts.max() - counts.min() <= 1
    assert ds.n_classes == 5 and ds.task == "multiclass"
    binary = load_dataset({"dataset": "blobs", "classes": 2}, rng(), "bce", (1,))
    assert binary.task == "binary"


def test_a_shuffled_split_puts_every_class_in_both_sets() -> None:
    ds = load_dataset({"dataset": "spiral3", "samples": 300}, rng(), "cross_entropy", (3,))
    assert ds.labels_train is not None and ds.labels_test is not None
    assert set(ds.labels_train) == set(ds.labels_test) == {0, 1, 2}
    assert 0.25 < np.mean(ds.labels_train == 0) < 0.42


# --- noise-free data follows its rule ----------------------------------------------------


def test_circle_without_noise_is_labelled_by_the_radius_rule() -> None:
    ds = load_dataset({"dataset": "circle", "samples": 400, "noise": 0.0}, rng(), "bce", (1,))
    radius = np.hypot(*all_points(ds).T)
    np.testing.assert_array_equal(all_labels(ds), (radius < 0.6 * CIRCLE_RADIUS).astype(int))
    assert radius.max() <= CIRCLE_RADIUS + 1e-12


def test_circle_with_noise_has_points_on_the_wrong_side_of_the_rule() -> None:
    ds = load_dataset({"dataset": "circle", "samples": 400, "noise": 0.5}, rng(), "bce", (1,))
    radius = np.hypot(*all_points(ds).T)
    assert np.any(all_labels(ds) != (radius < 0.6 * CIRCLE_RADIUS))


def test_xor_without_noise_labels_by_whether_the_signs_agree() -> None:
    ds = load_dataset({"dataset": "xor", "samples": 400, "noise": 0.0}, rng(), "bce", (1,))
    points = all_points(ds)
    np.testing.assert_array_equal(all_labels(ds), (points[:, 0] * points[:, 1] > 0).astype(int))


def test_checkerboard_without_noise_labels_by_cell_parity() -> None:
    ds = load_dataset({"dataset": "checkerboard", "samples": 400, "noise": 0.0}, rng(), "bce", (1,))
    cells = np.floor((all_points(ds) + 6.0) / 3.0).astype(int)
    np.testing.assert_array_equal(all_labels(ds), cells.sum(axis=1) % 2)


def test_gauss_without_noise_is_split_by_the_diagonal() -> None:
    ds = load_dataset({"dataset": "gauss", "samples": 400, "noise": 0.0}, rng(), "bce", (1,))
    points = all_points(ds)
    np.testing.assert_array_equal(all_labels(ds), (points.sum(axis=1) > 0).astype(int))


def test_regression_sets_without_noise_are_their_exact_functions() -> None:
    plane = load_dataset({"dataset": "reg-plane", "noise": 0.0}, rng(), "mse", (1,))
    assert plane.points_train is not None
    np.testing.assert_allclose(plane.y_train[:, 0], plane.points_train.sum(axis=1) / 12.0)
    assert plane.y_train.min() >= -1.0 and plane.y_train.max() <= 1.0
    sine = load_dataset({"dataset": "sine", "noise": 0.0}, rng(), "mse", (1,))
    np.testing.assert_allclose(sine.y_train, np.sin(sine.x_train))
    noisy = load_dataset({"dataset": "sine", "noise": 0.3}, rng(), "mse", (1,))
    assert 0.2 < np.std(noisy.y_train - np.sin(noisy.x_train)) < 0.4


def test_reg_gauss_has_bumps_of_both_signs() -> None:
    ds = load_dataset({"dataset": "reg-gauss", "noise": 0.0, "samples": 2000}, rng(), "mse", (1,))
    assert ds.y_train.min() < -0.8 and ds.y_train.max() > 0.8


# --- features ------------------------------------------------------------------------


def test_apply_features_computes_each_named_feature_as_a_column() -> None:
    points = np.array([[1.0, 2.0], [-3.0, 0.5]])
    out = apply_features(points, list(FEATURES))
    x1, x2 = points.T
    expected = np.stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)], axis=1)
    np.testing.assert_allclose(out, expected)
    assert out.shape == (2, 7)


def test_ascii_feature_aliases_mean_the_canonical_features() -> None:
    points = np.array([[1.5, -2.0]])
    np.testing.assert_array_equal(
        apply_features(points, ["x1^2", "x2^2", "x1*x2", "sin x1"]),
        apply_features(points, ["x1²", "x2²", "x1·x2", "sin(x1)"]),
    )


def test_a_plane_dataset_feeds_the_network_the_chosen_features_of_its_points() -> None:
    spec = {"dataset": "spiral", "features": ["x1", "x1^2", "x1*x2", "sin(x2)"]}
    ds = load_dataset(spec, rng(), "bce", (1,))
    assert ds.feature_names == ["x1", "x1²", "x1·x2", "sin(x2)"]
    assert ds.input_shape == (4,)
    assert ds.points_train is not None
    p = ds.points_train
    np.testing.assert_allclose(
        ds.x_train, np.stack([p[:, 0], p[:, 0] ** 2, p[:, 0] * p[:, 1], np.sin(p[:, 1])], 1)
    )
    default = load_dataset({"dataset": "spiral"}, rng(), "bce", (1,))
    assert default.feature_names == ["x1", "x2"]


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (["x3"], "unknown feature 'x3'"),
        (["x1", "x1"], "listed twice"),
        (["x1^2", "x1²"], "listed twice"),
        ([], "non-empty list"),
        ("x1", "non-empty list"),
        ([1], "names"),
    ],
)
def test_bad_feature_lists_are_refused(features: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset({"dataset": "circle", "features": features}, rng(), "bce", (1,))


def test_apply_features_refuses_points_that_are_not_two_columns() -> None:
    with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
        apply_features(np.zeros((4, 3)), ["x1"])


# --- targets for each loss -----------------------------------------------------------


def test_binary_labels_become_one_column_of_zeros_and_ones_for_bce_and_mse() -> None:
    for loss in ("bce", "mse"):
        ds = load_dataset({"dataset": "circle"}, rng(), loss, (1,))
        assert set(np.unique(ds.y_train)) == {0.0, 1.0}
        assert ds.labels_train is not None
        np.testing.assert_array_equal(ds.y_train[:, 0], ds.labels_train)


def test_cross_entropy_targets_are_one_hot_rows() -> None:
    ds = load_dataset({"dataset": "blobs", "classes": 4}, rng(), "cross_entropy", (4,))
    assert ds.labels_train is not None
    np.testing.assert_array_equal(ds.y_train, np.eye(4)[ds.labels_train])


@pytest.mark.parametrize(
    ("spec", "loss", "output_shape", "message"),
    [
        (
            {"dataset": "blobs"},
            "cross_entropy",
            (2,),
            "dataset 'blobs' has 3 classes but the output layer has 2 units",
        ),
        (
            {"dataset": "circle"},
            "cross_entropy",
            (1,),
            "'circle' has 2 classes but the output layer has 1 units",
        ),
        ({"dataset": "circle"}, "bce", (3,), "use 1 unit .0/1 targets. or 2 units"),
        ({"dataset": "blobs"}, "mse", (1,), "with mse use 3 units"),
        ({"dataset": "sine"}, "cross_entropy", (1,), "needs a classification dataset"),
        ({"dataset": "reg-plane"}, "mse", (2,), r"targets of shape \[1\] per sample"),
        ({"dataset": "reg-plane"}, "bce", (1,), r"needs targets in \[0, 1\]"),
        ({"dataset": "parity", "target": "sequence"}, "bce", (1,), r"one target per time step .8 steps."),
        ({"dataset": "parity"}, "bce", (8, 1), "one target per sample"),
        ({"dataset": "counting", "target": "sequence"}, "mse", (1,), r"shape \[10, 1\] per sample"),
        ({"dataset": "circle"}, "hinge", (1,), "unknown loss 'hinge'"),
        ({"dataset": "circle"}, "bce", (), "output_shape must be non-empty"),
        ({"dataset": "circle"}, "bce", (0,), "output_shape must be non-empty positive"),
    ],
)
def test_targets_that_do_not_fit_the_loss_or_output_are_refused(
    spec: dict[str, Any], loss: str, output_shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(spec, rng(), loss, output_shape)


# --- spec validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dataset": "circles"}, "unknown dataset 'circles'; choose one of: circle, xor"),
        ({"dataset": 3}, "unknown dataset 3"),
        ({"samples": 10}, "needs 'dataset'"),
        ({"dataset": "circle", "colour": "red"}, r"does not take \['colour'\]; it takes: dataset, samples"),
        ({"dataset": "adding", "noise": 0.1}, r"'adding' does not take \['noise'\]"),
        ({"dataset": "circle", "x": [[1, 2]]}, r"does not take \['x'\]"),
        ({"dataset": "circle", "samples": 0}, "samples must be in 1..10000, got 0"),
        ({"dataset": "circle", "samples": 10_001}, "samples must be in 1..10000"),
        ({"dataset": "circle", "samples": 10.5}, "samples must be an integer"),
        ({"dataset": "circle", "samples": True}, "samples must be an integer"),
        ({"dataset": "circle", "samples": "500"}, "samples must be an integer"),
        ({"dataset": "digits", "samples": 1798}, "samples must be in 1..1797"),
        ({"dataset": "circle", "noise": 1.5}, "noise must be in 0..1"),
        ({"dataset": "circle", "noise": -0.1}, "noise must be in 0..1"),
        ({"dataset": "circle", "noise": float("nan")}, "noise must be finite"),
        ({"dataset": "circle", "train_fraction": 0}, r"train_fraction must be in \(0, 1\]"),
        ({"dataset": "circle", "train_fraction": 1.2}, "train_fraction must be in 0..1"),
        ({"dataset": "blobs", "classes": 9}, "classes must be in 2..8"),
        ({"dataset": "adding", "target": "sequence"}, "target must be 'last', got 'sequence'"),
        ({"dataset": "parity", "target": "all"}, "target must be 'last' or 'sequence'"),
        ({"dataset": "parity", "length": 0}, "length must be in 1..64"),
        ({"dataset": "shapes", "size": 5}, "size must be in 6..32"),
        ({"dataset": "shapes", "samples": 5000, "size": 32}, "more than the limit of 4,000,000"),
        ({"dataset": "text", "samples": 10_000, "length": 64}, "use fewer samples or smaller inputs"),
    ],
)
def test_bad_specs_are_refused_with_a_message_naming_the_value(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(spec, rng(), "cross_entropy", (3,))


def test_a_spec_that_is_not_an_object_or_an_rng_that_is_not_a_generator_is_refused() -> None:
    with pytest.raises(ValueError, match="data must be an object"):
        load_dataset([1, 2], rng(), "bce", (1,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"numpy\.random\.Generator"):
        load_dataset({"dataset": "circle"}, 0, "bce", (1,))  # type: ignore[arg-type]


def test_the_size_limit_counts_every_input_number() -> None:
    vocabulary = len(corpus()[1])
    ok = MAX_VALUES // (64 * vocabulary)
    ds = load_dataset({"dataset": "text", "samples": ok, "length": 64}, rng(), "cross_entropy", (vocabulary,))
    assert ds.x_train.size + ds.x_test.size <= MAX_VALUES


# --- inline arrays --------------------------------------------------------------------


def test_inline_class_indices_become_one_hot_and_a_missing_test_set_is_empty() -> None:
    spec = {"x": [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], "y": [0, 2, 1]}
    ds = load_dataset(spec, rng(), "cross_entropy", (3,))
    assert ds.kind == "table" and ds.name == "inline" and ds.task == "multiclass"
    np.testing.assert_array_equal(ds.y_train, np.eye(3)[[0, 2, 1]])
    assert ds.labels_train is not None and ds.labels_train.tolist() == [0, 2, 1]
    assert ds.x_test.shape == (0, 2) and ds.y_test.shape == (0, 3)
    assert ds.points_train is not None and ds.domain is not None
    assert ds.domain[0] < 0.0 and ds.domain[1] > 2.0


def test_inline_one_hot_targets_and_a_test_set_are_accepted() -> None:
    spec = {"x": [[1.0], [2.0]], "y": [[1, 0], [0, 1]], "x_test": [[3.0]], "y_test": [[0.0, 1.0]]}
    ds = load_dataset(spec, rng(), "cross_entropy", (2,))
    assert ds.task == "binary" and ds.n_classes == 2
    assert ds.labels_test is not None and ds.labels_test.tolist() == [1]
    assert ds.x_test.shape == (1, 1) and ds.y_test.shape == (1, 2)


def test_inline_regression_accepts_flat_lists_for_one_input_and_one_output() -> None:
    ds = load_dataset({"x": [0.0, 0.5, 1.0], "y": [1.0, 2.0, 3.0]}, rng(), "mse", (1,))
    assert ds.x_train.shape == (3, 1) and ds.y_train.shape == (3, 1)
    assert ds.task == "regression" and ds.labels_train is None


def test_inline_bce_targets_give_labels_only_when_they_are_zero_or_one() -> None:
    hard = load_dataset({"x": [[0.0], [1.0]], "y": [0, 1]}, rng(), "bce", (1,))
    assert hard.labels_train is not None and hard.labels_train.tolist() == [0, 1]
    soft = load_dataset({"x": [[0.0], [1.0]], "y": [0.2, 1.0]}, rng(), "bce", (1,))
    assert soft.labels_train is None and soft.labels_test is None
    np.testing.assert_array_equal(soft.y_train, [[0.2], [1.0]])


def test_inline_points_can_be_given_playground_features() -> None:
    spec = {"x": [[1.0, 2.0], [-1.0, 3.0]], "y": [0, 1], "features": ["x1^2", "x1*x2"]}
    ds = load_dataset(spec, rng(), "bce", (1,))
    np.testing.assert_allclose(ds.x_train, [[1.0, 2.0], [1.0, -3.0]])
    assert ds.feature_names == ["x1²", "x1·x2"] and ds.input_shape == (2,)
    assert ds.points_train is not None and ds.points_train.tolist() == [[1.0, 2.0], [-1.0, 3.0]]


def test_inline_points_keep_the_plane_they_were_clicked_on_widened_to_hold_them() -> None:
    spec = {"x": [[0.5, 0.5], [1.0, -1.0]], "y": [0, 1], "x_test": [[7.5, 0.0]], "y_test": [1]}
    ds = load_dataset({**spec, "domain": [-6, 6]}, rng(), "bce", (1,))
    assert ds.domain == (-6.0, 7.5)  # the plane shown, not the two points' corner of it
    assert load_dataset(spec, rng(), "bce", (1,)).domain == pytest.approx((-1.85, 8.35))  # range + 10 %


def test_inline_sequences_keep_their_shape() -> None:
    x = np.zeros((4, 5, 3))
    ds = load_dataset({"x": x.tolist(), "y": np.ones((4, 5, 2)).tolist()}, rng(), "mse", (5, 2))
    assert ds.input_shape == (5, 3) and ds.y_train.shape == (4, 5, 2)
    assert ds.points_train is None and ds.domain is None


@pytest.mark.parametrize(
    ("spec", "loss", "message"),
    [
        ({"x": [[1, 2], [3]], "y": [0, 1]}, "bce", "x is ragged"),
        ({"x": [[1, 2], [3, None]], "y": [0, 1]}, "bce", "x must be a rectangular array of numbers"),
        ({"x": [[1, float("nan")]], "y": [0]}, "bce", r"x holds NaN or infinite values \(first in row 0\)"),
        (
            {"x": [[1, 2], [1, float("inf")]], "y": [0, 1]},
            "bce",
            r"NaN or infinite values \(first in row 1\)",
        ),
        ({"x": [["a", "b"]], "y": [0]}, "bce", "x must hold only numbers, found strings"),
        ({"x": [[True, False]], "y": [0]}, "bce", "found true/false"),
        ({"x": 3, "y": [0]}, "bce", "x must be an array"),
        ({"x": [], "y": []}, "bce", "x has no rows"),
        ({"x": [[]], "y": [0]}, "bce", "x rows are empty"),
        ({"x": [[1, 2]]}, "bce", "'y' is missing"),
        ({"y": [1]}, "bce", "'x' is missing"),
        ({"x": [[1, 2]], "y": [0], "x_test": [[1, 2]]}, "bce", "give both 'x_test' and 'y_test'"),
        ({"x": [[1, 2]], "y": [0], "z": 1}, "bce", r"does not take \['z'\]"),
        ({"x": [[1, 2], [3, 4]], "y": [0]}, "bce", "y has 1 rows but its inputs have 2"),
        (
            {"x": [[1, 2]], "y": [0], "x_test": [[1, 2, 3]], "y_test": [1]},
            "bce",
            r"x_test rows have shape \[3\]",
        ),
        (
            {"x": [[1, 2]], "y": [3]},
            "cross_entropy",
            "class index 3 in y is out of range.*indices must be 0..2",
        ),
        ({"x": [[1, 2]], "y": [-1]}, "cross_entropy", "class index -1 in y is out of range"),
        ({"x": [[1, 2]], "y": [1.5]}, "cross_entropy", "whole class indices, got 1.5"),
        ({"x": [[1, 2]], "y": [[0.5, 0.2, 0.1]]}, "cross_entropy", "sum to 1"),
        ({"x": [[1, 2]], "y": [[0, 1]]}, "cross_entropy", r"class indices of shape \[1\] or one-hot rows"),
        ({"x": [[1, 2]], "y": [2]}, "bce", r"targets in \[0, 1\] for loss 'bce'"),
        ({"x": [[1, 2]], "y": [[1, 2]]}, "mse", r"y must have shape \[1, 1\] or \[1\]"),
        ({"x": [[1, 2, 3]], "y": [0], "features": ["x1"]}, "bce", "features need x with 2 columns"),
        ({"x": [[1, 2]], "y": [0], "features": ["x9"]}, "bce", "unknown feature 'x9'"),
        ({"x": [[1, 2]], "y": [0], "domain": [3, -3]}, "bce", r"two finite numbers \[lo, hi\] with lo < hi"),
        ({"x": [[1, 2]], "y": [0], "domain": [0, float("inf")]}, "bce", "domain must be two finite numbers"),
        ({"x": [[1, 2]], "y": [0], "domain": [1]}, "bce", "domain must be two finite numbers"),
        ({"x": [[1, 2, 3]], "y": [0], "domain": [0, 1]}, "bce", "domain is the range of points"),
    ],
)
def test_bad_inline_arrays_are_refused_with_a_message(spec: dict[str, Any], loss: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(spec, rng(), loss, (3,) if loss == "cross_entropy" else (1,))


def test_inline_arrays_past_the_row_limit_are_refused() -> None:
    with pytest.raises(ValueError, match=f"more than the limit of {MAX_ROWS:,}"):
        load_dataset({"x": np.zeros((MAX_ROWS + 1, 1)), "y": np.zeros(MAX_ROWS + 1)}, rng(), "mse", (1,))


# --- images --------------------------------------------------------------------------


def test_digits_are_the_1797_real_images_in_ten_classes_scaled_to_unit_range() -> None:
    ds = load_dataset({"dataset": "digits"}, rng(), "cross_entropy", (10,))
    x = np.concatenate([ds.x_train, ds.x_test])
    assert x.shape == (1797, 1, 8, 8) and ds.input_shape == (1, 8, 8)
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x * 16, np.round(x * 16))
    counts = np.bincount(all_labels(ds))
    assert len(counts) == 10 and counts.min() > 150
    assert ds.class_names == [str(d) for d in range(10)] and ds.n_classes == 10
    # the classes differ on average: a zero has an empty middle, a one a full centre column
    mean = {d: x[all_labels(ds) == d, 0].mean(axis=0) for d in (0, 1)}
    assert mean[0][3:5, 3:5].mean() < mean[1][3:5, 3:5].mean()


def test_digits_samples_draws_a_seeded_subset_of_the_stored_images() -> None:
    pixels, _ = load_digit_arrays()
    stored = {row.tobytes() for row in pixels.reshape(len(pixels), -1).astype(np.float64) / 16}

    def pick(seed: int, samples: int) -> np.ndarray[Any, Any]:
        ds = load_dataset({"dataset": "digits", "samples": samples}, rng(seed), "cross_entropy", (10,))
        return np.concatenate([ds.x_train, ds.x_test]).reshape(samples, -1)

    subset = pick(3, 300)
    assert all(row.tobytes() in stored for row in subset)
    np.testing.assert_array_equal(subset, pick(3, 300))
    assert not np.array_equal(np.sort(subset, axis=0), np.sort(pick(4, 300), axis=0))
    # all of them: each stored image exactly once, in a shuffled order
    everything = pick(5, 1797)
    expected = pixels.reshape(len(pixels), -1).astype(np.float64) / 16
    np.testing.assert_array_equal(np.unique(everything, axis=0), np.unique(expected, axis=0))
    assert not np.array_equal(everything, expected)


def test_digit_noise_perturbs_pixels_but_keeps_them_in_unit_range() -> None:
    noisy = load_dataset({"dataset": "digits", "noise": 0.2, "samples": 100}, rng(), "cross_entropy", (10,))
    assert noisy.x_train.min() >= 0.0 and noisy.x_train.max() <= 1.0
    assert not np.array_equal(noisy.x_train * 16, np.round(noisy.x_train * 16))


def test_shapes_makes_three_balanced_classes_of_the_requested_size() -> None:
    ds = load_dataset(
        {"dataset": "shapes", "size": 12, "samples": 300, "noise": 0.0}, rng(), "cross_entropy", (3,)
    )
    x = np.concatenate([ds.x_train, ds.x_test])
    assert ds.input_shape == (1, 12, 12) and x.min() >= 0.0 and x.max() <= 1.0
    assert np.bincount(all_labels(ds)).tolist() == [100, 100, 100]
    assert ds.class_names == ["bar", "cross", "ring"]
    labels = all_labels(ds)
    ink = x.reshape(300, 12, 12)
    bars, crosses = ink[labels == 0], ink[labels == 1]
    # a bar fills part of one row or column; a cross fills both a row and a column
    assert all(((im > 0).sum(0) > 0).sum() == 1 or ((im > 0).sum(1) > 0).sum() == 1 for im in bars)
    assert all(((im > 0).sum(0) > 0).sum() > 1 and ((im > 0).sum(1) > 0).sum() > 1 for im in crosses)
    assert all(im.sum() > 0 for im in ink)


# --- sequences -----------------------------------------------------------------------


def test_adding_targets_are_the_sum_of_the_two_marked_values() -> None:
    ds = load_dataset({"dataset": "adding", "samples": 200, "length": 15}, rng(), "mse", (1,))
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    assert x.shape == (200, 15, 2)
    values, marker = x[..., 0], x[..., 1]
    np.testing.assert_array_equal(marker.sum(axis=1), 2.0)
    assert set(np.unique(marker)) == {0.0, 1.0}
    assert values.min() >= 0.0 and values.max() <= 1.0
    np.testing.assert_allclose(y[:, 0], (values * marker).sum(axis=1))


def test_parity_targets_are_the_parity_of_the_bits() -> None:
    last = load_dataset({"dataset": "parity", "samples": 200, "length": 7}, rng(), "bce", (1,))
    bits = last.x_train[..., 0]
    assert set(np.unique(bits)) <= {0.0, 1.0}
    np.testing.assert_array_equal(last.y_train[:, 0], bits.sum(axis=1) % 2)
    assert last.labels_train is not None and 0.3 < last.labels_train.mean() < 0.7
    running = load_dataset({"dataset": "parity", "length": 7, "target": "sequence"}, rng(), "bce", (7, 1))
    np.testing.assert_array_equal(running.y_train[..., 0], np.cumsum(running.x_train[..., 0], axis=1) % 2)
    assert running.labels_train is not None and running.labels_train.shape == (len(running.x_train), 7)


def test_counting_targets_are_the_fraction_of_ones() -> None:
    last = load_dataset({"dataset": "counting", "length": 12}, rng(), "mse", (1,))
    np.testing.assert_allclose(last.y_train[:, 0], last.x_train[..., 0].sum(axis=1) / 12)
    assert last.y_train.min() < 0.2 and last.y_train.max() > 0.8
    running = load_dataset({"dataset": "counting", "length": 12, "target": "sequence"}, rng(), "mse", (12, 1))
    np.testing.assert_allclose(running.y_train[..., 0], np.cumsum(running.x_train[..., 0], axis=1) / 12)


def test_sine_next_targets_are_the_following_value_of_the_wave() -> None:
    spec = {"dataset": "sine-next", "length": 10, "noise": 0.0, "target": "sequence"}
    ds = load_dataset(spec, rng(), "mse", (10, 1))
    np.testing.assert_allclose(ds.y_train[:, :-1, 0], ds.x_train[:, 1:, 0])
    last = load_dataset({**spec, "target": "last"}, rng(), "mse", (1,))
    x = last.x_train[..., 0]
    # three equally spaced samples of a sine satisfy s[t+1] = 2cos(ω)s[t] − s[t−1]
    two_cos = (x[:, 2] + x[:, 0]) / x[:, 1]
    np.testing.assert_allclose(last.y_train[:, 0], two_cos * x[:, -1] - x[:, -2], atol=1e-6)


def test_text_windows_predict_the_next_character_of_the_corpus() -> None:
    text, vocabulary = corpus()
    k = len(vocabulary)
    assert 20 <= k <= 40 and len(text) > 1500
    ds = load_dataset({"dataset": "text", "length": 12}, rng(), "cross_entropy", (k,))
    assert ds.x_train.shape[1:] == (12, k) and ds.class_names == list(vocabulary)
    assert ds.info["vocabulary"] == vocabulary
    np.testing.assert_array_equal(ds.x_train.sum(axis=-1), 1.0)
    assert ds.labels_train is not None
    for window, label in zip(ds.x_train[:20], ds.labels_train[:20], strict=True):
        chars = "".join(vocabulary[i] for i in window.argmax(axis=-1)) + vocabulary[label]
        assert chars in text
    running = load_dataset(
        {"dataset": "text", "length": 12, "target": "sequence"}, rng(), "cross_entropy", (12, k)
    )
    np.testing.assert_array_equal(running.y_train[:, :-1], running.x_train[:, 1:])


def test_the_text_is_our_own_prose_about_backpropagation() -> None:
    text, _ = corpus()
    assert "backpropagation" in text and "chain rule" in text
    assert text == text.lower() and "  " not in text


# --- package boundaries ----------------------------------------------------------------


def test_the_datasets_package_imports_only_numpy_and_the_standard_library() -> None:
    package = Path(__file__).resolve().parents[2] / "engine" / "datasets"
    allowed = {"numpy", "engine", "__future__", "collections", "copy", "dataclasses", "functools", "math"}
    allowed |= {"pathlib", "typing"}
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
                if name.startswith("engine."):
                    assert name.startswith("engine.datasets"), f"{path.name} imports {name}"


def test_the_bundled_data_files_are_small() -> None:
    data = Path(__file__).resolve().parents[2] / "engine" / "datasets" / "data"
    assert (data / "digits.npz").stat().st_size < 100_000
    assert (data / "backprop.txt").stat().st_size < 10_000
