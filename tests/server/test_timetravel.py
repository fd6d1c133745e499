"""Time travel over REST on the real server: past steps, frames of them, compare, forks, gradient checks."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from wsclient import WAIT_SECONDS, bearer

from server.frames import decode_frame

Maker = Any
Layers = list[dict[str, np.ndarray]]


def params_of(http: httpx.Client, sid: str) -> Layers:
    response = http.get(f"/api/sessions/{sid}/params")
    assert response.status_code == 200, response.text
    return [{k: np.asarray(v) for k, v in layer.items()} for layer in response.json()["layers"]]


def layers_of(body: dict[str, Any]) -> Layers:
    return [{k: np.asarray(v) for k, v in layer.items()} for layer in body["params"]["layers"]]


def assert_same(a: Layers, b: Layers) -> None:
    """Bit for bit: the JSON floats round-trip float64 exactly."""
    assert len(a) == len(b)
    for la, lb in zip(a, b, strict=True):
        assert la.keys() == lb.keys()
        for k in la:
            assert la[k].shape == lb[k].shape and np.array_equal(la[k], lb[k]), k


def step(http: httpx.Client, sid: str, token: str, n: int) -> dict[str, Any]:
    response = http.post(f"/api/sessions/{sid}/step", json={"steps": n}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def at(http: httpx.Client, sid: str, n: int) -> dict[str, Any]:
    response = http.get(f"/api/sessions/{sid}/at/{n}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def play_to(http: httpx.Client, sid: str, token: str, steps: int, attempts: int = 300) -> dict[str, Any]:
    """Play until the session pauses itself at ``steps`` (so snapshots are taken while it plays)."""
    response = http.post(f"/api/sessions/{sid}/play", json={"max_steps": steps}, headers=bearer(token))
    assert response.status_code == 200, response.text
    for _ in range(attempts):
        info: dict[str, Any] = http.get(f"/api/sessions/{sid}").json()
        if not info["playing"] and info["step"] >= steps:
            return info
        time.sleep(WAIT_SECONDS / attempts)
    raise AssertionError(f"the session never paused at step {steps}; last: {info}")


@pytest.fixture
def forks(http: httpx.Client) -> Iterator[list[tuple[str, str]]]:
    """Forks made by a test, deleted afterwards."""
    made: list[tuple[str, str]] = []
    yield made
    for sid, token in made:
        http.delete(f"/api/sessions/{sid}", headers=bearer(token))


def fork(http: httpx.Client, made: list[tuple[str, str]], sid: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(f"/api/sessions/{sid}/fork", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    made.append((created["id"], created["control_token"]))
    return created


# --- the state at a past step ---------------------------------------------------------------------


def test_the_state_at_any_recorded_step_equals_a_straight_run_to_that_step_bit_for_bit(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    info = play_to(http, sid, token, 400)
    assert info["recorded"]["first"] == 0 and info["recorded"]["last"] == 400
    twin, twin_token = make_session()
    done = 0
    for n in (0, 1, 37, 150, 151, 299, 400):
        if n > done:
            step(http, twin, twin_token, n - done)
            done = n
        past = at(http, sid, n)
        assert past["step"] == n
        assert_same(layers_of(past), params_of(http, twin))
        if n == 0:
            assert past["trace"] is None and past["summary"] is None
            continue
        trace = http.get(f"/api/sessions/{twin}/trace").json()
        assert past["trace"]["indices"] == trace["indices"]
        for got, want in zip(past["trace"]["layers"], trace["layers"], strict=True):
            for key in ("z", "a", "delta", "grad_W", "grad_b", "update_W", "update_b"):
                assert np.array_equal(np.asarray(got[key]), np.asarray(want[key])), key
        assert past["summary"]["loss"] == trace["summary"]["loss"]
    # Reading the past changed nothing in the present.
    assert http.get(f"/api/sessions/{sid}").json()["step"] == 400


def test_a_past_step_after_a_live_hyperparameter_change_replays_with_the_rules_of_its_time(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 100)
    patch = {"training": {"optimizer": {"name": "sgd", "lr": 0.3, "momentum": 0.9}, "batch_size": 5}}
    assert http.patch(f"/api/sessions/{sid}", json=patch, headers=bearer(token)).status_code == 200
    step(http, sid, token, 100)
    twin, twin_token = make_session()
    step(http, twin, twin_token, 60)
    assert_same(layers_of(at(http, sid, 60)), params_of(http, twin))
    step(http, twin, twin_token, 40)
    assert http.patch(f"/api/sessions/{twin}", json=patch, headers=bearer(twin_token)).status_code == 200
    step(http, twin, twin_token, 50)
    assert_same(layers_of(at(http, sid, 150)), params_of(http, twin))


def test_the_evaluation_at_a_past_step_is_computed_at_that_step(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 50)  # evaluations are logged every 25 steps: 50 is one
    logged = http.get(f"/api/sessions/{sid}").json()["eval"]
    step(http, sid, token, 30)
    past = at(http, sid, 50)["eval"]
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        assert past[key] == logged[key], key


def test_a_frame_of_a_past_step_is_a_websocket_frame_marked_past(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 80)
    response = http.get(f"/api/sessions/{sid}/at/30/frame", params={"output": 24, "nodes": 8})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    header, arrays = decode_frame(response.content)
    assert header["type"] == "frame" and header["past"] is True
    assert header["session"] == sid and header["step"] == 30 and header["playing"] is False
    assert arrays["heat.output"].shape == (24, 24)
    assert arrays["heat.L0"].shape == (4, 8, 8)
    want = layers_of(at(http, sid, 30))
    assert np.allclose(arrays["L0.W"], want[0]["W"], rtol=1e-6, atol=1e-7)  # float32 on the wire
    assert arrays["L1.grad_W"].shape == want[1]["W"].shape
    assert len(arrays["points.step"]) == 0
    assert header["eval"]["step"] == 30, "the evaluation of step 30, not the replay's last logged one"
    assert header["eval"]["train_loss"] == at(http, sid, 30)["eval"]["train_loss"]


def test_explaining_a_past_step_equals_the_live_explanation_when_the_run_stood_there(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 90)
    twin, twin_token = make_session()
    step(http, twin, twin_token, 40)
    for query in (
        {"layer": 1, "param": "W", "index": "2,0"},
        {"layer": 0, "param": "b", "index": "3"},
        {"layer": 0, "node": 1},
    ):
        past = http.get(f"/api/sessions/{sid}/at/40/explain", params=query)
        live = http.get(f"/api/sessions/{twin}/explain", params=query)
        assert past.status_code == live.status_code == 200, past.text
        assert past.json() == live.json()


# --- compare --------------------------------------------------------------------------------------


def test_compare_gives_norms_at_both_steps_and_every_parameters_change(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 120)
    response = http.get(f"/api/sessions/{sid}/compare", params={"a": 10, "b": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"a", "b", "change_norm", "layers", "eval_a", "eval_b"}
    assert (body["a"], body["b"]) == (10, 100)
    first, second = at(http, sid, 10), at(http, sid, 100)
    pa, pb = layers_of(first), layers_of(second)
    total = 0.0
    for k, layer in enumerate(body["layers"]):
        assert layer["layer"] == k
        assert layer["norm_a"] == pytest.approx(np.sqrt(sum(np.sum(v**2) for v in pa[k].values())), rel=1e-12)
        assert layer["norm_b"] == pytest.approx(np.sqrt(sum(np.sum(v**2) for v in pb[k].values())), rel=1e-12)
        for name, change in layer["change"].items():
            assert np.array_equal(np.asarray(change), pb[k][name] - pa[k][name]), name
            total += float(np.sum(np.asarray(change) ** 2))
    assert body["change_norm"] == pytest.approx(np.sqrt(total), rel=1e-12)
    assert body["eval_a"] == first["eval"] and body["eval_b"] == second["eval"]
    assert body["eval_b"]["train_loss"] < body["eval_a"]["train_loss"]


# --- forks ----------------------------------------------------------------------------------------


def test_a_fork_from_a_past_step_with_other_hyperparameters_trains_independently(
    http: httpx.Client, make_session: Maker, forks: list[tuple[str, str]]
) -> None:
    sid, token = make_session()
    step(http, sid, token, 200)
    parent_before = params_of(http, sid)
    created = fork(http, forks, sid, {"step": 100, "training": {"optimizer": {"name": "adam", "lr": 0.01}}})
    fid, ftoken = created["id"], created["control_token"]
    assert fid != sid and ftoken != token
    info = created["session"]
    assert info["step"] == 100 and info["parent"] == {"id": sid, "step": 100}
    assert info["config"]["training"]["optimizer"]["name"] == "adam"
    assert info["config"]["training"]["optimizer"]["lr"] == 0.01
    assert info["recorded"]["first"] == 100
    assert_same(params_of(http, fid), layers_of(at(http, sid, 100)))
    # The fork's curves are its parent's up to the fork step.
    history = http.get(f"/api/sessions/{fid}/history").json()
    parent_history = http.get(f"/api/sessions/{sid}/history").json()
    assert history["steps"] == parent_history["steps"][:100]
    assert history["loss"] == parent_history["loss"][:100]
    # It trains on its own: the parent does not move, and the fork leaves the parent's path.
    step(http, fid, ftoken, 50)
    assert http.get(f"/api/sessions/{fid}").json()["step"] == 150
    assert http.get(f"/api/sessions/{sid}").json()["step"] == 200
    assert_same(params_of(http, sid), parent_before)
    forked, straight = params_of(http, fid), layers_of(at(http, sid, 150))
    assert not np.array_equal(forked[0]["W"], straight[0]["W"])
    # Its token controls the fork only.
    assert (
        http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer(ftoken)).status_code == 403
    )
    # The parent lists it, with its live losses.
    listed = http.get(f"/api/sessions/{sid}/forks").json()["forks"]
    assert [f["id"] for f in listed] == [fid]
    assert listed[0]["parent_step"] == 100 and listed[0]["step"] == 150
    assert listed[0]["config"]["optimizer"]["name"] == "adam"
    assert listed[0]["evals"]["step"][-1] == 150


def test_a_fork_without_changes_continues_exactly_as_its_parent_did(
    http: httpx.Client, make_session: Maker, forks: list[tuple[str, str]]
) -> None:
    sid, token = make_session()
    play_to(http, sid, token, 300)
    created = fork(http, forks, sid, {"step": 120})
    step(http, created["id"], created["control_token"], 180)
    assert_same(params_of(http, created["id"]), params_of(http, sid))


def test_anyone_may_fork_the_current_step_without_the_token(
    http: httpx.Client, make_session: Maker, forks: list[tuple[str, str]]
) -> None:
    sid, token = make_session()
    step(http, sid, token, 30)
    created = fork(http, forks, sid, {})
    assert created["session"]["step"] == 30
    assert created["session"]["parent"] == {"id": sid, "step": 30}
    assert_same(params_of(http, created["id"]), params_of(http, sid))


# --- gradient checks ------------------------------------------------------------------------------


def _configs() -> dict[str, dict[str, Any]]:
    base: dict[str, Any] = {
        "model": {
            "input_shape": [2],
            "layers": [
                {"type": "dense", "units": 5, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "loss": "bce",
        },
        "data": {"dataset": "circle", "samples": 100},
        "training": {"optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 10},
        "seed": 5,
    }
    softmax = copy.deepcopy(base)
    softmax["model"]["layers"] = [
        {"type": "dense", "units": 6, "activation": "relu"},
        {"type": "dense", "units": 4, "activation": "sigmoid"},
        {"type": "dense", "units": 3, "activation": "softmax"},
    ]
    softmax["model"]["loss"] = "cross_entropy"
    softmax["data"] = {"dataset": "spiral3", "samples": 120}
    regression = copy.deepcopy(base)
    regression["model"]["layers"][1]["activation"] = "linear"
    regression["model"]["loss"] = "mse"
    regression["data"] = {"dataset": "reg-plane", "samples": 100}
    regression["training"]["regularization"] = {"kind": "l2", "rate": 0.01}
    float32 = copy.deepcopy(base)
    float32["model"]["dtype"] = "float32"
    return {
        "tanh-sigmoid-bce": base,
        "relu-softmax-ce": softmax,
        "linear-mse-l2": regression,
        "float32": float32,
    }


@pytest.mark.parametrize("name", sorted(_configs()))
def test_the_gradient_check_agrees_to_1e_6_on_healthy_networks(
    http: httpx.Client, make_session: Maker, name: str
) -> None:
    sid, token = make_session(_configs()[name])
    step(http, sid, token, 20)
    response = http.post(f"/api/sessions/{sid}/gradcheck", json={"max_entries": 5000})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["max_relative_error"] <= 1e-6
    assert body["tolerance"] == 1e-6 and body["dtype_checked"] == "float64"
    assert body["step"] == 20
    parameters = http.get(f"/api/sessions/{sid}").json()["parameters"]
    assert len(body["entries"]) == parameters
    for entry in body["entries"]:
        assert entry["analytic"] == pytest.approx(entry["numeric"], rel=1e-5, abs=1e-9)


def test_the_gradient_check_of_one_weight_names_it_and_matches_the_trace(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 60)
    body = http.post(
        f"/api/sessions/{sid}/gradcheck", json={"layer": 1, "param": "W", "index": [2, 0]}
    ).json()
    assert [(e["layer"], e["param"], e["index"]) for e in body["entries"]] == [(1, "W", [2, 0])]
    trace = http.get(f"/api/sessions/{sid}/trace").json()
    assert body["entries"][0]["analytic"] == pytest.approx(trace["layers"][1]["grad_W"][2][0], rel=1e-12)
    assert body["ok"] is True


def test_the_gradient_check_of_a_layer_or_a_past_step_checks_only_that(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 60)
    layer = http.post(f"/api/sessions/{sid}/gradcheck", json={"layer": 0, "param": "b"}).json()
    assert {(e["layer"], e["param"]) for e in layer["entries"]} == {(0, "b")}
    assert len(layer["entries"]) == 4
    past = http.post(f"/api/sessions/{sid}/gradcheck", json={"step": 25, "max_entries": 7}).json()
    assert past["step"] == 25 and len(past["entries"]) == 7 and past["ok"] is True
    grad = at(http, sid, 25)["trace"]["layers"]
    for e in past["entries"]:
        want = np.asarray(grad[e["layer"]][f"grad_{e['param']}"])[tuple(e["index"])]
        assert e["analytic"] == pytest.approx(float(want), rel=1e-12)


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("GET", "/at/999", None, 422, "future"),
        ("GET", "/at/-1", None, 422, "before the recorded range"),
        ("GET", "/at/999/frame", None, 422, "future"),
        ("GET", "/at/10/frame?output=500", None, 422, "output"),
        ("GET", "/at/999/explain?layer=0&node=0", None, 422, "future"),
        ("GET", "/at/0/explain?layer=0&node=0", None, 404, "no trace"),
        ("GET", "/at/10/explain?layer=0&param=W&index=9,9", None, 422, "outside"),
        ("GET", "/at/10/explain?layer=0&param=W", None, 422, "index"),
        ("GET", "/compare?a=0&b=999", None, 422, "future"),
        ("GET", "/compare?a=-1&b=5", None, 422, "a"),
        ("POST", "/fork", {"step": 999}, 422, "future"),
        ("POST", "/fork", {"step": 5, "training": {"optimizer": {"name": "nope"}}}, 422, "optimizer"),
        ("POST", "/gradcheck", {"step": 999}, 422, "future"),
        ("POST", "/gradcheck", {"layer": 9}, 422, "does not exist"),
        ("POST", "/gradcheck", {"layer": 0, "param": "Q"}, 422, "no parameter"),
        ("POST", "/gradcheck", {"layer": 0, "param": "W", "index": [2, 0]}, 422, "outside"),
        ("POST", "/gradcheck", {"layer": 0, "param": "W", "index": [0]}, 422, "outside"),
        ("POST", "/gradcheck", {"layer": 0, "index": [0, 0]}, 422, "index needs param"),
        ("POST", "/gradcheck", {"param": "W"}, 422, "need a layer"),
        ("POST", "/gradcheck", {"epsilon": 0.5}, 422, "epsilon"),
        ("POST", "/gradcheck", {"max_entries": 0}, 422, "max_entries"),
    ],
)
def test_out_of_range_steps_and_bad_indices_are_refused_with_a_message(
    http: httpx.Client, make_session: Maker, method: str, path: str, body: Any, status: int, says: str
) -> None:
    sid, token = make_session()
    step(http, sid, token, 20)
    response = http.request(method, f"/api/sessions/{sid}{path}", json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    assert http.get(f"/api/sessions/{sid}").json()["step"] == 20


def test_steps_before_new_parameters_are_outside_the_recorded_range(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 30)
    layers = http.get(f"/api/sessions/{sid}/params").json()
    assert http.put(f"/api/sessions/{sid}/params", json=layers, headers=bearer(token)).status_code == 200
    step(http, sid, token, 10)
    recorded = http.get(f"/api/sessions/{sid}").json()["recorded"]
    assert recorded["first"] == 30 and recorded["last"] == 40
    response = http.get(f"/api/sessions/{sid}/at/29")
    assert response.status_code == 422
    assert "recorded range" in response.json()["detail"]
    assert at(http, sid, 35)["step"] == 35


def test_the_time_travel_routes_of_an_unknown_session_are_404(http: httpx.Client) -> None:
    for method, path in [
        ("GET", "/at/0"),
        ("GET", "/at/0/frame"),
        ("GET", "/compare?a=0&b=0"),
        ("POST", "/fork"),
        ("GET", "/forks"),
        ("POST", "/gradcheck"),
    ]:
        assert http.request(method, f"/api/sessions/nope{path}").status_code == 404, path
