"""Every REST route of the contract, on the real server: the happy paths, isolation and the token."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import numpy as np
import pytest
from wsclient import WAIT_SECONDS, bearer

Maker = Any


def params_of(http: httpx.Client, sid: str) -> list[dict[str, np.ndarray]]:
    response = http.get(f"/api/sessions/{sid}/params")
    assert response.status_code == 200, response.text
    return [{k: np.asarray(v) for k, v in layer.items()} for layer in response.json()["layers"]]


def same_params(a: list[dict[str, np.ndarray]], b: list[dict[str, np.ndarray]]) -> bool:
    return len(a) == len(b) and all(
        la.keys() == lb.keys() and all(np.array_equal(la[k], lb[k]) for k in la)
        for la, lb in zip(a, b, strict=True)
    )


def step(http: httpx.Client, sid: str, token: str, n: int = 1) -> dict[str, Any]:
    response = http.post(f"/api/sessions/{sid}/step", json={"steps": n}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(http: httpx.Client, sid: str, want: Any, attempts: int = 300) -> dict[str, Any]:
    """Poll GET /api/sessions/{id} until ``want(info)``; bounded."""
    for _ in range(attempts):
        info: dict[str, Any] = http.get(f"/api/sessions/{sid}").json()
        if want(info):
            return info
        time.sleep(WAIT_SECONDS / attempts)
    raise AssertionError(f"the session never reached the wanted state; last: {info}")


# --- create, read, list, delete ---------------------------------------------------------------


def test_creating_a_session_answers_201_with_an_id_a_control_token_and_its_state(
    http: httpx.Client, small_config: dict[str, Any]
) -> None:
    response = http.post("/api/sessions", json=small_config)
    assert response.status_code == 201
    body = response.json()
    try:
        assert body["id"] and len(body["control_token"]) >= 32
        session = body["session"]
        assert session["id"] == body["id"]
        assert session["step"] == 0 and session["playing"] is False
        assert [layer["units"] for layer in session["config"]["model"]["layers"]] == [4, 1]
        assert session["parameters"] == 2 * 4 + 4 + 4 * 1 + 1
    finally:
        http.delete(f"/api/sessions/{body['id']}", headers=bearer(body["control_token"]))


def test_a_session_can_be_read_by_its_id(http: httpx.Client, make_session: Maker) -> None:
    sid, _ = make_session()
    body = http.get(f"/api/sessions/{sid}").json()
    assert body["id"] == sid
    assert body["data"]["name"] == "circle" and body["data"]["n_train"] == 50
    assert body["architecture"]["layers"][0]["params"] == {"W": [2, 4], "b": [4]}


def test_the_list_holds_every_created_session(http: httpx.Client, make_session: Maker) -> None:
    ids = {make_session()[0] for _ in range(2)}
    listed = {s["id"] for s in http.get("/api/sessions").json()["sessions"]}
    assert ids <= listed


def test_a_deleted_session_answers_404_everywhere(http: httpx.Client, small_config: dict[str, Any]) -> None:
    body = http.post("/api/sessions", json=small_config).json()
    sid, token = body["id"], body["control_token"]
    response = http.delete(f"/api/sessions/{sid}", headers=bearer(token))
    assert response.status_code == 200 and response.json() == {"deleted": sid}
    assert http.get(f"/api/sessions/{sid}").status_code == 404
    assert http.get(f"/api/sessions/{sid}/params").status_code == 404
    assert http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer(token)).status_code == 404
    assert sid not in {s["id"] for s in http.get("/api/sessions").json()["sessions"]}


def test_options_name_the_choices_and_the_limits(http: httpx.Client) -> None:
    body = http.get("/api/options").json()
    assert {"dense", "conv2d", "rnn", "lstm"} <= set(body["layer_types"])
    assert body["output_activations"]["bce"] == ["sigmoid"]
    assert body["limits"]["max_steps_per_request"] >= 1
    assert body["protocol"] == 1


# --- training -----------------------------------------------------------------------------


def test_step_trains_n_steps_and_returns_each_steps_loss(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    body = step(http, sid, token, 7)
    assert body["step"] == 7 and body["steps_done"] == 7
    assert len(body["losses"]) == 7 and all(loss > 0 for loss in body["losses"])
    assert body["summary"]["step"] == 7 and body["summary"]["loss"] == body["losses"][-1]
    assert http.get(f"/api/sessions/{sid}").json()["step"] == 7


def test_a_step_without_a_body_trains_one_step(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    response = http.post(f"/api/sessions/{sid}/step", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["steps_done"] == 1 and response.json()["step"] == 1


def test_many_steps_lower_the_loss(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    first = step(http, sid, token, 1)["losses"][0]
    losses = step(http, sid, token, 400)["losses"]
    assert np.mean(losses[-20:]) < 0.8 * first


def test_patch_changes_the_learning_rate_live_and_keeps_the_weights(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 3)
    before = params_of(http, sid)
    response = http.patch(
        f"/api/sessions/{sid}",
        json={"training": {"optimizer": {"lr": 0.5}, "batch_size": 5}},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["config"]["training"]["optimizer"]["lr"] == 0.5
    assert info["config"]["training"]["batch_size"] == 5
    assert info["step"] == 3
    assert same_params(before, params_of(http, sid))
    body = step(http, sid, token, 1)
    assert body["lrs"] == [0.5]
    trace = http.get(f"/api/sessions/{sid}/trace").json()
    assert len(trace["indices"]) == 5
    # plain SGD: the update is −lr·∂L/∂W with the new lr
    np.testing.assert_allclose(
        trace["layers"][0]["update_W"], -0.5 * np.asarray(trace["layers"][0]["grad_W"])
    )


def test_play_trains_in_the_background_until_paused(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    response = http.post(f"/api/sessions/{sid}/play", json={}, headers=bearer(token))
    assert response.status_code == 200 and response.json()["playing"] is True
    wait_for(http, sid, lambda info: info["step"] >= 50)
    paused = http.post(f"/api/sessions/{sid}/pause", headers=bearer(token)).json()
    assert paused["playing"] is False
    # once pause has answered, no step runs any more
    again = http.get(f"/api/sessions/{sid}").json()
    assert again["step"] == paused["step"] and again["playing"] is False


def test_play_pauses_itself_at_max_steps(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    response = http.post(f"/api/sessions/{sid}/play", json={"max_steps": 120}, headers=bearer(token))
    assert response.status_code == 200
    info = wait_for(http, sid, lambda info: not info["playing"])
    assert info["step"] == 120


@pytest.mark.parametrize("epochs", [1, 3])
def test_play_pauses_itself_at_max_epochs_on_the_epochs_last_step(
    http: httpx.Client, make_session: Maker, small_config: dict[str, Any], epochs: int
) -> None:
    small_config["training"]["batch_size"] = 7  # 50 training rows: 8 steps an epoch, the last one short
    sid, token = make_session(small_config)
    n_train = http.get(f"/api/sessions/{sid}").json()["data"]["n_train"]
    http.post(f"/api/sessions/{sid}/play", json={"max_epochs": epochs}, headers=bearer(token))
    info = wait_for(http, sid, lambda info: not info["playing"])
    assert (info["epoch"], info["step"]) == (epochs, epochs * -(-n_train // 7))
    assert info["stop_reason"] == f"reached max_epochs {epochs}"


def test_a_session_that_stopped_itself_plays_again_while_others_play(
    http: httpx.Client, make_session: Maker
) -> None:
    # Another session playing keeps the trainer busy; a stopped one must still get slices again.
    other, other_token = make_session()
    http.post(f"/api/sessions/{other}/play", json={"speed": 5}, headers=bearer(other_token))
    sid, token = make_session()
    try:
        http.post(f"/api/sessions/{sid}/play", json={"max_steps": 20}, headers=bearer(token))
        assert wait_for(http, sid, lambda info: not info["playing"])["step"] == 20
        http.post(f"/api/sessions/{sid}/play", json={"max_steps": 200}, headers=bearer(token))
        info = wait_for(http, sid, lambda info: not info["playing"])
        assert (info["step"], info["stop_reason"]) == (200, "reached max_steps 200")
    finally:
        http.post(f"/api/sessions/{other}/pause", headers=bearer(other_token))


def test_stepping_a_playing_session_is_refused_with_409(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    http.post(f"/api/sessions/{sid}/play", json={"speed": 5}, headers=bearer(token))
    response = http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer(token))
    http.post(f"/api/sessions/{sid}/pause", headers=bearer(token))
    assert response.status_code == 409 and "pause" in response.json()["detail"]


def test_reset_returns_to_step_0_with_the_same_initial_weights(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    initial = params_of(http, sid)
    first_losses = step(http, sid, token, 20)["losses"]
    assert not same_params(initial, params_of(http, sid))
    response = http.post(f"/api/sessions/{sid}/reset", headers=bearer(token))
    assert response.status_code == 200
    info = response.json()
    assert info["step"] == 0 and info["generation"] == 1
    assert same_params(initial, params_of(http, sid))
    assert step(http, sid, token, 20)["losses"] == first_losses  # same batches, same numbers


def test_params_put_then_get_round_trips(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    rng = np.random.default_rng(1)
    layers = [
        {"W": rng.normal(size=(2, 4)).tolist(), "b": rng.normal(size=4).tolist()},
        {"W": rng.normal(size=(4, 1)).tolist(), "b": rng.normal(size=1).tolist()},
    ]
    response = http.put(f"/api/sessions/{sid}/params", json={"layers": layers}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["generation"] == 1
    got = params_of(http, sid)
    for mine, theirs in zip(layers, got, strict=True):
        assert np.array_equal(np.asarray(mine["W"]), theirs["W"]) and np.array_equal(
            np.asarray(mine["b"]), theirs["b"]
        )
    # and the forward pass uses them: z of layer 0 is x·W + b
    x = np.array([[0.5, -1.5]])
    z0 = http.post(f"/api/sessions/{sid}/predict", json={"x": x.tolist()}).json()["layers"][0]["z"]
    np.testing.assert_allclose(z0, x @ np.asarray(layers[0]["W"]) + np.asarray(layers[0]["b"]), rtol=1e-12)


def test_trace_holds_every_field_of_the_contract_with_consistent_numbers(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 4)
    before = params_of(http, sid)
    body = step(http, sid, token, 1)
    after = params_of(http, sid)
    response = http.get(f"/api/sessions/{sid}/trace")
    assert response.status_code == 200
    trace = response.json()
    assert trace["step"] == 5
    assert trace["loss"] == body["losses"][-1] == trace["summary"]["loss"]
    assert len(trace["indices"]) == 10 and all(0 <= i < 50 for i in trace["indices"])
    assert np.asarray(trace["X"]).shape == (10, 2) and np.asarray(trace["Y"]).shape == (10, 1)
    shapes = [(2, 4), (4, 1)]
    for k, layer in enumerate(trace["layers"]):
        assert {"z", "a", "delta", "grad_W", "grad_b", "update_W", "update_b"} <= set(layer)
        units = shapes[k][1]
        for name in ("z", "a", "delta"):
            assert np.asarray(layer[name]).shape == (10, units)
        assert np.asarray(layer["grad_W"]).shape == shapes[k]
        assert np.asarray(layer["grad_b"]).shape == (units,)
        # the update is what the optimizer actually applied
        np.testing.assert_allclose(before[k]["W"] + np.asarray(layer["update_W"]), after[k]["W"], atol=1e-15)
        np.testing.assert_allclose(before[k]["b"] + np.asarray(layer["update_b"]), after[k]["b"], atol=1e-15)
    # sigmoid + BCE: the output's blame is (a − y) / batch
    out = trace["layers"][-1]
    np.testing.assert_allclose(out["delta"], (np.asarray(out["a"]) - np.asarray(trace["Y"])) / 10, rtol=1e-10)


def test_trace_before_any_step_is_404_saying_to_step_first(http: httpx.Client, make_session: Maker) -> None:
    sid, _ = make_session()
    response = http.get(f"/api/sessions/{sid}/trace")
    assert response.status_code == 404 and "step" in response.json()["detail"]


def test_history_holds_every_steps_loss_and_lr(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    losses = step(http, sid, token, 30)["losses"]
    history = http.get(f"/api/sessions/{sid}/history").json()
    assert history["steps"] == list(range(1, 31))
    assert history["loss"] == losses
    assert history["lr"] == [0.1] * 30
    assert history["evals"]["step"][0] == 0  # evaluated at the start, then every epoch
    assert set(history["evals"]) >= {"train_loss", "test_loss", "train_accuracy", "test_accuracy"}


def test_history_is_decimated_evenly_past_max_points(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    losses = step(http, sid, token, 101)["losses"]
    history = http.get(f"/api/sessions/{sid}/history", params={"max_points": 11}).json()
    assert history["steps"] == list(range(1, 102, 10))  # first, last and evenly between
    assert history["loss"] == [losses[s - 1] for s in history["steps"]]


def test_predict_returns_outputs_and_every_layers_activations(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 3)
    params = params_of(http, sid)
    x = np.array([[0.0, 0.0], [1.0, -2.0], [4.0, 4.0]])
    response = http.post(f"/api/sessions/{sid}/predict", json={"x": x.tolist()})
    assert response.status_code == 200
    body = response.json()
    hidden = np.tanh(x @ params[0]["W"] + params[0]["b"])
    output = 1 / (1 + np.exp(-(hidden @ params[1]["W"] + params[1]["b"])))
    assert len(body["layers"]) == 2
    np.testing.assert_allclose(body["layers"][0]["a"], hidden, rtol=1e-12)
    np.testing.assert_allclose(body["layers"][1]["z"], hidden @ params[1]["W"] + params[1]["b"], rtol=1e-12)
    np.testing.assert_allclose(body["outputs"], output, rtol=1e-12)


def test_explain_a_weight_gives_its_gradient_as_the_trace_has_it(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 2)
    trace = http.get(f"/api/sessions/{sid}/trace").json()
    response = http.get(f"/api/sessions/{sid}/explain", params={"layer": 1, "param": "W", "index": "2,0"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "weight" and body["index"] == [2, 0] and body["step"] == 2
    data = body["data"]
    assert data["grad"] == pytest.approx(trace["layers"][1]["grad_W"][2][0], rel=1e-12)
    assert data["update"] == pytest.approx(trace["layers"][1]["update_W"][2][0], rel=1e-12)
    # ∂L/∂W[i,j] = Σ_batch a_i·δ_j: the factors it shows multiply out to the gradient
    a_i = np.asarray(data["a_i"])
    delta_j = np.asarray(trace["layers"][1]["delta"])[:, 0]
    assert float(a_i @ delta_j) == pytest.approx(data["grad"], rel=1e-10)


def test_explain_a_node_answers_with_its_blame(http: httpx.Client, make_session: Maker) -> None:
    sid, token = make_session()
    step(http, sid, token, 1)
    body = http.get(f"/api/sessions/{sid}/explain", params={"layer": 0, "node": 3}).json()
    assert body["kind"] == "node" and body["index"] == [3] and body["layer"] == 0


def test_export_then_import_gives_the_same_weights_step_and_future(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    step(http, sid, token, 13)
    exported = http.get(f"/api/sessions/{sid}/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    document = json.loads(exported.content)
    response = http.post(
        "/api/sessions/import", content=exported.content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    twin_id, twin_token = response.json()["id"], response.json()["control_token"]
    try:
        assert twin_id != sid and document
        assert http.get(f"/api/sessions/{twin_id}").json()["step"] == 13
        assert same_params(params_of(http, sid), params_of(http, twin_id))
        # an exact resume: both continue with the same batches and numbers
        assert step(http, sid, token, 9)["losses"] == step(http, twin_id, twin_token, 9)["losses"]
    finally:
        http.delete(f"/api/sessions/{twin_id}", headers=bearer(twin_token))


def test_recover_clears_a_divergence_so_the_session_trains_again(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    http.patch(f"/api/sessions/{sid}", json={"training": {"optimizer": {"lr": 1e6}}}, headers=bearer(token))
    body = step(http, sid, token, 200)
    assert body["divergence"] is not None and body["steps_done"] < 200
    refused = http.post(f"/api/sessions/{sid}/play", json={}, headers=bearer(token))
    assert refused.status_code == 409 and "recover" in refused.json()["detail"]
    response = http.post(f"/api/sessions/{sid}/recover", json={"lr": 0.05}, headers=bearer(token))
    assert response.status_code == 200 and response.json()["divergence"] is None
    assert step(http, sid, token, 5)["steps_done"] == 5


def test_a_long_step_does_not_stop_the_server_answering_other_requests(
    http: httpx.Client, make_session: Maker, server_url: str
) -> None:
    """While one session trains a long synchronous step, even a read that waits for that session
    must not hold up the rest of the API (no engine lock is ever awaited on the event loop)."""
    config = {
        "model": {
            "layers": [
                {"type": "dense", "units": 128, "activation": "tanh"},
                {"type": "dense", "units": 128, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ]
        },
        "data": {"dataset": "circle", "samples": 4000, "train_fraction": 1.0},
        "training": {"batch_size": 2000},
    }
    sid, token = make_session(config)
    step_done = threading.Event()

    def long_step() -> None:
        httpx.post(
            f"{server_url}/api/sessions/{sid}/step", json={"steps": 120}, headers=bearer(token), timeout=120
        )
        step_done.set()

    def read_that_waits() -> None:
        httpx.get(f"{server_url}/api/sessions", timeout=120)

    stepper = threading.Thread(target=long_step)
    reader = threading.Thread(target=read_that_waits)
    stepper.start()
    time.sleep(0.3)
    reader.start()
    time.sleep(0.3)
    try:
        assert http.get("/api/options").status_code == 200
        answered_during_step = not step_done.is_set()
    finally:
        stepper.join(120)
        reader.join(120)
    assert answered_during_step


# --- isolation ----------------------------------------------------------------------------


def test_stepping_one_session_does_not_change_another(http: httpx.Client, make_session: Maker) -> None:
    a, token_a = make_session()
    b, token_b = make_session()
    b_before = params_of(http, b)
    step(http, a, token_a, 25)
    assert same_params(b_before, params_of(http, b))
    assert http.get(f"/api/sessions/{b}").json()["step"] == 0
    # same config and seed: b now walks exactly a's path
    http.post(f"/api/sessions/{a}/reset", headers=bearer(token_a))
    assert step(http, b, token_b, 5)["losses"] == step(http, a, token_a, 5)["losses"]


def test_one_sessions_token_does_not_control_another(http: httpx.Client, make_session: Maker) -> None:
    _, token_a = make_session()
    b, _ = make_session()
    response = http.post(f"/api/sessions/{b}/step", json={"steps": 1}, headers=bearer(token_a))
    assert response.status_code == 403
    assert http.get(f"/api/sessions/{b}").json()["step"] == 0


# --- the control token --------------------------------------------------------------------

CHANGES = [
    ("PATCH", "", {"training": {"optimizer": {"lr": 0.2}}}),
    ("POST", "/step", {"steps": 1}),
    ("POST", "/play", {}),
    ("POST", "/pause", None),
    ("POST", "/reset", None),
    ("POST", "/recover", None),
    ("PUT", "/params", {"layers": [{"W": [[0.0] * 4] * 2, "b": [0.0] * 4}, {"W": [[0.0]] * 4, "b": [0.0]}]}),
    ("DELETE", "", None),
]
CHANGE_IDS = [f"{method} {suffix or '/'}" for method, suffix, _ in CHANGES]


@pytest.mark.parametrize(("method", "suffix", "body"), CHANGES, ids=CHANGE_IDS)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-the-token"}, 403),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 403),
        ({"Authorization": "Bearer"}, 403),
    ],
    ids=["no token", "wrong token", "wrong scheme", "empty token"],
)
def test_every_change_is_refused_without_the_right_token(
    http: httpx.Client,
    make_session: Maker,
    method: str,
    suffix: str,
    body: Any,
    headers: dict[str, str],
    status: int,
) -> None:
    sid, _ = make_session()
    before = http.get(f"/api/sessions/{sid}").json()
    response = http.request(method, f"/api/sessions/{sid}{suffix}", json=body, headers=headers)
    assert response.status_code == status
    assert "token" in response.json()["detail"]
    after = http.get(f"/api/sessions/{sid}").json()
    assert (after["step"], after["generation"], after["playing"], after["config"]) == (
        before["step"],
        before["generation"],
        before["playing"],
        before["config"],
    )


@pytest.mark.parametrize(("method", "suffix", "body"), CHANGES, ids=CHANGE_IDS)
def test_every_change_is_accepted_with_the_token(
    http: httpx.Client, make_session: Maker, method: str, suffix: str, body: Any
) -> None:
    sid, token = make_session()
    response = http.request(method, f"/api/sessions/{sid}{suffix}", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    http.post(f"/api/sessions/{sid}/pause", headers=bearer(token))


READS = [
    ("GET", "", None),
    ("GET", "/params", None),
    ("GET", "/trace", None),
    ("GET", "/history", None),
    ("POST", "/predict", {"x": [[0.0, 1.0]]}),
    ("GET", "/explain?layer=0&param=W&index=0,0", None),
    ("GET", "/export", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), READS, ids=[f"{m} {s or '/'}" for m, s, _ in READS])
def test_reads_need_no_token(
    http: httpx.Client, make_session: Maker, method: str, suffix: str, body: Any
) -> None:
    sid, token = make_session()
    step(http, sid, token, 1)
    response = http.request(method, f"/api/sessions/{sid}{suffix}", json=body)
    assert response.status_code == 200, response.text
