"""The CNN / RNN routes on the real server: explanations are the trace's numbers, the input
gradient agrees with the explained one, and evaluations count every sample of the split."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

Maker = Any

CNN = {
    "model": {
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel": 3, "activation": "relu"},
            {"type": "maxpool2d", "size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 10, "activation": "softmax"},
        ],
        "loss": "cross_entropy",
    },
    "data": {"dataset": "digits", "samples": 400},
    "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 8},
    "seed": 5,
}

LSTM = {
    "model": {
        "layers": [{"type": "lstm", "units": 6}, {"type": "dense", "units": 1, "activation": "linear"}],
        "loss": "mse",
    },
    "data": {"dataset": "adding", "samples": 120, "length": 8},
    "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 8},
    "seed": 5,
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stepped(http: httpx.Client, make_session: Maker, config: dict[str, Any], steps: int = 3) -> str:
    sid, token = make_session(config)
    response = http.post(f"/api/sessions/{sid}/step", json={"steps": steps}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return sid


def get(http: httpx.Client, path: str) -> dict[str, Any]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_conv_position_explanation_is_the_traces_own_numbers(
    http: httpx.Client, make_session: Maker
) -> None:
    sid = stepped(http, make_session, CNN)
    trace = get(http, f"/api/sessions/{sid}/trace")
    conv = trace["layers"][0]
    for sample, f, r, c in [(0, 0, 0, 0), (3, 2, 4, 5), (7, 3, 5, 1)]:
        body = get(
            http, f"/api/sessions/{sid}/explain/conv?layer=0&sample={sample}&filter={f}&row={r}&col={c}"
        )
        assert body["step"] == trace["step"] == 3 and body["kind"] == "conv_position" and body["layer"] == 0
        d = body["data"]
        assert d["z"] == conv["z"][sample][f][r][c]
        assert d["a"] == conv["a"][sample][f][r][c]
        assert d["backward"]["delta"] == conv["delta"][sample][f][r][c]
        assert d["sum"] + d["bias"] == pytest.approx(d["z"], rel=1e-12, abs=1e-15)
        patch = np.asarray(conv["input"][sample])[:, r : r + 3, c : c + 3]
        np.testing.assert_array_equal(d["patch"], patch)


def test_a_kernel_explanation_adds_up_to_the_traced_gradient_and_the_new_weight(
    http: httpx.Client, make_session: Maker
) -> None:
    sid = stepped(http, make_session, CNN)
    trace = get(http, f"/api/sessions/{sid}/trace")
    params = get(http, f"/api/sessions/{sid}/params")
    body = get(http, f"/api/sessions/{sid}/explain/kernel?layer=0&filter=1&channel=0&i=2&j=0")
    d = body["data"]
    assert body["kind"] == "conv_kernel"
    assert d["grad"] == pytest.approx(trace["layers"][0]["grad_W"][1][0][2][0], rel=1e-12)
    assert d["grad_data"] == pytest.approx(np.sum(d["products"]), rel=1e-12)
    assert d["value_after"] == pytest.approx(params["layers"][0]["W"][1][0][2][0], rel=1e-12)


def test_the_input_gradient_route_agrees_with_the_explained_input_positions(
    http: httpx.Client, make_session: Maker
) -> None:
    sid = stepped(http, make_session, CNN)
    whole = get(http, f"/api/sessions/{sid}/input-gradient")
    assert whole["shape"] == [1, 8, 8] and whole["samples"] == list(range(8))
    gradient = np.asarray(whole["gradient"])
    assert gradient.shape == (8, 1, 8, 8) and np.abs(gradient).max() > 0
    one = get(http, f"/api/sessions/{sid}/input-gradient?sample=2")
    np.testing.assert_array_equal(one["gradient"][0], gradient[2])
    np.testing.assert_array_equal(one["x"][0], get(http, f"/api/sessions/{sid}/trace")["X"][2])
    for r, c in [(0, 0), (3, 4), (7, 7)]:
        d = get(http, f"/api/sessions/{sid}/explain/input?layer=0&sample=2&channel=0&row={r}&col={c}")["data"]
        assert d["value"] == pytest.approx(gradient[2, 0, r, c], rel=1e-9, abs=1e-15)


def test_a_recurrent_explanation_rebuilds_the_traced_gradient_through_time(
    http: httpx.Client, make_session: Maker
) -> None:
    sid = stepped(http, make_session, LSTM)
    trace = get(http, f"/api/sessions/{sid}/trace")
    lstm = trace["layers"][0]
    for t in (0, 4, 7):
        body = get(http, f"/api/sessions/{sid}/explain/recurrent?layer=0&sample=1&t={t}")
        d = body["data"]
        assert body["kind"] == "lstm_step" and d["t"] == t and d["steps"] == 8
        np.testing.assert_allclose(d["dh_built"], lstm["dh"][1][t], rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(d["dc_built"], lstm["dc"][1][t], rtol=1e-9, atol=1e-15)
        np.testing.assert_array_equal(d["grad_W_h_step_norms"], lstm["grad_W_h_step_norm"])


def test_explanations_refuse_a_layer_of_the_wrong_kind_or_an_index_out_of_range(
    http: httpx.Client, make_session: Maker
) -> None:
    sid = stepped(http, make_session, CNN)
    for query, words in [
        ("explain/conv?layer=1&sample=0&filter=0&row=0&col=0", "maxpool2d, not conv2d"),
        ("explain/conv?layer=0&sample=8&filter=0&row=0&col=0", "sample must be"),
        ("explain/kernel?layer=0&filter=4&channel=0&i=0&j=0", "filter must be"),
        ("explain/input?layer=0&sample=0&channel=0&row=8&col=0", "row must be"),
        ("explain/recurrent?layer=0&sample=0&t=0", "not rnn or lstm"),
        ("input-gradient?sample=99", "sample must be"),
    ]:
        response = http.get(f"/api/sessions/{sid}/{query}")
        assert response.status_code == 422, (query, response.text)
        assert words in response.json()["detail"]
    missing = http.get(f"/api/sessions/{sid}/explain/conv?layer=0&sample=0&row=0&col=0")
    assert missing.status_code == 422 and "filter" in missing.json()["detail"]


def test_before_the_first_step_explanations_say_to_step_and_unknown_sessions_are_404(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, _ = make_session(CNN)
    for query in ("explain/conv?layer=0&sample=0&filter=0&row=0&col=0", "input-gradient"):
        response = http.get(f"/api/sessions/{sid}/{query}")
        assert response.status_code == 404 and "step the session" in response.json()["detail"]
    assert http.get("/api/sessions/nope/evaluation").status_code == 404


def test_an_image_evaluation_counts_every_test_sample_and_lists_real_mistakes(
    http: httpx.Client, make_session: Maker
) -> None:
    sid = stepped(http, make_session, CNN, steps=20)
    info = get(http, f"/api/sessions/{sid}")
    body = get(http, f"/api/sessions/{sid}/evaluation?max_examples=100")
    counts = np.asarray(body["confusion"])
    assert body["step"] == 20 and body["split"] == "test" and body["kind"] == "image"
    assert body["count"] == info["data"]["n_test"] == counts.sum()
    assert body["class_names"] == [str(d) for d in range(10)]
    assert body["accuracy"] == pytest.approx(np.trace(counts) / counts.sum())
    mistakes = body["misclassified"]
    assert len(mistakes) == min(100, counts.sum() - np.trace(counts))
    for m in mistakes:
        assert m["label"] != m["predicted"] and counts[m["label"], m["predicted"]] > 0
        assert np.asarray(m["x"]).shape == (1, 8, 8)
        assert m["confidence"] == pytest.approx(max(m["probabilities"]))
    train = get(http, f"/api/sessions/{sid}/evaluation?split=train&max_examples=0")
    assert train["count"] == info["data"]["n_train"] and train["misclassified"] == []


def test_a_sequence_evaluation_gives_predicted_against_target(
    http: httpx.Client, make_session: Maker
) -> None:
    sid = stepped(http, make_session, LSTM)
    body = get(http, f"/api/sessions/{sid}/evaluation?max_examples=5")
    assert body["kind"] == "sequence" and body["confusion"] is None and body["accuracy"] is None
    assert len(body["sequences"]) == 5
    first = body["sequences"][0]
    assert np.asarray(first["x"]).shape == (8, 2) and len(first["target"]) == len(first["output"]) == 1
    assert len(body["scatter"]["target"]) == len(body["scatter"]["output"]) == body["count"]
    # the network's outputs, the same numbers POST …/predict gives
    predicted = http.post(f"/api/sessions/{sid}/predict", json={"x": [s["x"] for s in body["sequences"]]})
    assert predicted.status_code == 200
    np.testing.assert_allclose(
        [s["output"] for s in body["sequences"]], predicted.json()["outputs"], rtol=1e-12
    )
    refused = http.get(f"/api/sessions/{sid}/evaluation?split=both")
    assert refused.status_code == 422


def test_a_recorded_past_step_is_explained_with_that_steps_own_numbers(
    http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session(CNN)
    for _ in range(2):
        assert http.post(f"/api/sessions/{sid}/step", headers=bearer(token)).status_code == 200
    then = get(http, f"/api/sessions/{sid}/trace")
    assert http.post(f"/api/sessions/{sid}/step", json={"steps": 3}, headers=bearer(token)).status_code == 200
    assert get(http, f"/api/sessions/{sid}/trace")["step"] == 5
    query = "explain/conv?layer=0&sample=1&filter=3&row=2&col=2"
    past = get(http, f"/api/sessions/{sid}/{query}&step=2")
    assert past["step"] == 2
    assert past["data"]["z"] == then["layers"][0]["z"][1][3][2][2]
    gradient = get(http, f"/api/sessions/{sid}/input-gradient?sample=1&step=2")
    assert gradient["step"] == 2 and gradient["x"][0] == then["X"][1]
    future = http.get(f"/api/sessions/{sid}/{query}&step=99")
    assert future.status_code == 422 and "in the future" in future.json()["detail"]
