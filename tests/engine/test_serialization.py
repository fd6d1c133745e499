"""The session file: export → import → continue is bit-exact; a bad file is refused with a clear reason."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.serialization import load_session_document, session_document
from engine.session import TrainingSession

HIDDEN = ("tanh", "relu", "leaky_relu", "sigmoid", "elu", "gelu", "softplus", "linear")
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {
        "momentum": st.sampled_from([0.0, 0.9]),
        "nesterov": st.booleans(),
        "weight_decay": st.sampled_from([0, 1e-3]),
    },
    "adam": {"amsgrad": st.booleans(), "weight_decay": st.sampled_from([0, 1e-3])},
    "adamw": {"amsgrad": st.booleans()},
    "rmsprop": {"momentum": st.sampled_from([0.0, 0.5]), "centered": st.booleans()},
    "adagrad": {"lr_decay": st.sampled_from([0.0, 0.01])},
}
SCHEDULES = [
    {"name": "constant"},
    {"name": "step", "step_size": 5, "gamma": 0.5},
    {"name": "exponential", "gamma": 0.97},
    {"name": "cosine", "t_max": 12, "restarts": True},
]
TASKS = [  # (data, output layer) pairs that the engine accepts
    ({"dataset": "spiral", "samples": 40}, {"type": "dense", "units": 1, "activation": "sigmoid"}),
    (
        {"dataset": "blobs", "samples": 45, "classes": 3},
        {"type": "dense", "units": 3, "activation": "softmax"},
    ),
    ({"dataset": "reg-plane", "samples": 40}, {"type": "dense", "units": 1, "activation": "linear"}),
]


@st.composite
def small_configs(draw: st.DrawFn) -> dict[str, Any]:
    data, output = draw(st.sampled_from(TASKS))
    hidden = [
        {"type": "dense", "units": draw(st.integers(1, 5)), "activation": draw(st.sampled_from(HIDDEN))}
        for _ in range(draw(st.integers(0, 2)))
    ]
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    optimizer = {"name": name, "lr": draw(st.sampled_from([0.003, 0.03, 0.1]))}
    optimizer.update({key: draw(values) for key, values in OPTIMIZERS[name].items()})
    if name == "sgd" and optimizer["nesterov"] and not optimizer["momentum"]:
        optimizer["nesterov"] = False  # nesterov needs momentum
    return {
        "model": {
            "input_shape": [2],
            "layers": [*hidden, output],
            "dtype": draw(st.sampled_from(["float64", "float32"])),
        },
        "data": {**data, "noise": 0.1, "train_fraction": 0.6},
        "training": {
            "optimizer": optimizer,
            "batch_size": draw(st.integers(1, 11)),
            "schedule": draw(st.sampled_from(SCHEDULES)),
            "regularization": draw(
                st.sampled_from(
                    [
                        {"kind": "none", "rate": 0.0},
                        {"kind": "l2", "rate": 0.01},
                        {"kind": "l1", "rate": 0.001},
                    ]
                )
            ),
            "clip_norm": draw(st.sampled_from([None, 1.0])),
            "ema_decay": draw(st.sampled_from([None, 0.9])),
        },
        "seed": draw(st.integers(0, 2**32)),
    }


def roundtrip(session: TrainingSession) -> TrainingSession:
    """Through JSON text, as a file on disk or an HTTP body would carry it."""
    return load_session_document(json.dumps(session_document(session)))


@given(config=small_configs(), k=st.integers(0, 25), m=st.integers(1, 25))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_export_import_continue_equals_an_uninterrupted_run_bit_for_bit(
    config: dict[str, Any], k: int, m: int
) -> None:
    uninterrupted = TrainingSession(config)
    uninterrupted.step(k + m)

    first = TrainingSession(config)
    first.step(k)
    resumed = roundtrip(first)
    resumed.step(m)

    assert resumed.step_count == uninterrupted.step_count and resumed.epoch == uninterrupted.epoch
    assert resumed.network.theta.tobytes() == uninterrupted.network.theta.tobytes()
    for name, buffer in uninterrupted.optimizer.buffers().items():
        assert resumed.optimizer.buffers()[name].tobytes() == buffer.tobytes(), name
    if uninterrupted.ema is not None:
        assert resumed.ema is not None
        assert resumed.ema.values.tobytes() == uninterrupted.ema.values.tobytes()
    assert np.array_equal(resumed.history.steps.column("loss"), uninterrupted.history.steps.column("loss"))


def test_a_recurrent_session_resumes_bit_for_bit() -> None:
    config = {
        "model": {
            "layers": [{"type": "lstm", "units": 4}, {"type": "dense", "units": 1, "activation": "linear"}]
        },
        "data": {"dataset": "sine-next", "samples": 40, "length": 6},
        "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 5},
        "seed": 3,
    }
    uninterrupted = TrainingSession(config)
    uninterrupted.step(17)
    first = TrainingSession(config)
    first.step(9)
    resumed = roundtrip(first)
    resumed.step(8)
    assert resumed.network.theta.tobytes() == uninterrupted.network.theta.tobytes()


# --- what a bad file gets --------------------------------------------------------------------


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    session = TrainingSession(
        {
            "model": {
                "input_shape": [2],
                "layers": [
                    {"type": "dense", "units": 3, "activation": "tanh"},
                    {"type": "dense", "units": 1, "activation": "sigmoid"},
                ],
            },
            "data": {"dataset": "xor", "samples": 30},
            "training": {"optimizer": {"name": "adam", "lr": 0.05}, "ema_decay": 0.9},
        }
    )
    session.step(5)
    return session_document(session)


def array(values: Any, dtype: str) -> dict[str, Any]:
    arr = np.asarray(values, dtype=dtype)
    return {
        "__array__": arr.dtype.str,
        "shape": list(arr.shape),
        "data": base64.b64encode(arr.tobytes()).decode(),
    }


def theta_of(doc: dict[str, Any]) -> np.ndarray[Any, Any]:
    spec = doc["state"]["theta"]
    return np.frombuffer(base64.b64decode(spec["data"]), spec["__array__"]).copy()


def broken(doc: dict[str, Any], change: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    change(out)
    return out


BAD_FILES: list[Any] = [
    pytest.param(lambda d: d.update(version=2), "version 2 is not supported", id="a newer version"),
    pytest.param(lambda d: d.update(format="pickle"), "not a session file", id="another format"),
    pytest.param(lambda d: d.update(extra=1), "unknown top-level field", id="an unknown field"),
    pytest.param(lambda d: d["state"].update(version=9), "state.version 9", id="an inner version"),
    pytest.param(lambda d: d["state"].pop("theta"), "lacks ['theta']", id="no weights"),
    pytest.param(
        lambda d: d["state"].update(theta=array(np.zeros(5), "<f8")),
        "state.theta has shape [5]",
        id="weights of the wrong shape",
    ),
    pytest.param(
        lambda d: d["state"].update(theta=array(theta_of(d), "<f4")),
        "state.theta has dtype float32",
        id="weights of the wrong dtype",
    ),
    pytest.param(
        lambda d: d["state"]["theta"].update(__array__="|O"),
        "dtype '|O' is not allowed",
        id="an object array",
    ),
    pytest.param(
        lambda d: d["state"]["theta"].update(__array__=">f8"), "dtype '>f8' is not allowed", id="big-endian"
    ),
    pytest.param(
        lambda d: d["state"].update(theta=array(np.full(theta_of(d).shape, np.nan), "<f8")),
        "state.theta holds NaN",
        id="NaN weights",
    ),
    pytest.param(
        lambda d: d["state"]["optimizer"]["buffers"].update(
            exp_avg=array(np.full(theta_of(d).shape, np.inf), "<f8")
        ),
        "state.optimizer.buffers.exp_avg holds NaN or inf",
        id="infinite optimizer state",
    ),
    pytest.param(
        lambda d: d["state"]["theta"].update(shape=[10**12]), "exceed the size limit", id="a huge shape"
    ),
    pytest.param(
        lambda d: d["state"]["theta"].update(data="!!!not base64"), "not valid base64", id="bad base64"
    ),
    pytest.param(
        lambda d: d["state"]["theta"].update(shape=[2, 3]), "array data holds", id="data and shape disagree"
    ),
    pytest.param(
        lambda d: d["state"].update(perm=array(np.zeros(d["state"]["perm"]["shape"]), "<i8")),
        "perm is not a permutation",
        id="a batch order that repeats samples",
    ),
    pytest.param(
        lambda d: d["state"].update(pos=10**9),
        "pos, step and epoch must be in range",
        id="position past the end",
    ),
    pytest.param(
        lambda d: d["state"]["config"]["model"]["layers"][0].update(units=0),
        "not a valid session config",
        id="a config the engine refuses",
    ),
    pytest.param(
        lambda d: d["state"].update(config=[]), "state.config must be an object", id="config not an object"
    ),
    pytest.param(
        lambda d: d["state"].update(optimizer="adam"),
        "state.optimizer must be an object",
        id="optimizer state not an object",
    ),
    pytest.param(
        lambda d: d["state"].update(order_rng={"bit_generator": "MT19937"}), "", id="a foreign generator"
    ),
]


@pytest.mark.parametrize(("change", "says"), BAD_FILES)
def test_a_bad_session_file_is_refused_with_a_message_naming_the_problem(
    document: dict[str, Any], change: Any, says: str
) -> None:
    with pytest.raises(ValueError) as refused:
        load_session_document(json.dumps(broken(document, change)))
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param(b"\xff\xfe not utf-8", "not valid JSON", id="not UTF-8"),
        pytest.param("{", "not valid JSON", id="truncated"),
        pytest.param("[" * 100_000 + "]" * 100_000, "", id="nested deeper than the parser goes"),
        pytest.param("[]", "not a session file", id="a list"),
    ],
)
def test_text_that_is_not_a_session_file_is_refused(text: Any, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        load_session_document(text)
    assert says in str(refused.value)


def test_the_size_cap_counts_every_array(document: dict[str, Any]) -> None:
    total = 0
    for spec in (document["state"]["theta"], document["state"]["watch"]["best"]["theta"]):
        total += len(base64.b64decode(spec["data"]))
    with pytest.raises(ValueError, match="size limit"):
        load_session_document(json.dumps(document), max_bytes=total)
    assert load_session_document(json.dumps(document)).step_count == 5


def test_a_config_hook_sees_the_config_before_anything_is_built(document: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []

    def refuse(config: dict[str, Any]) -> None:
        seen.append(config)
        raise ValueError("over the server's limits")

    with pytest.raises(ValueError, match="over the server's limits"):
        load_session_document(json.dumps(document), check_config=refuse)
    assert seen and seen[0]["data"]["dataset"] == "xor"
