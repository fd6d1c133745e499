"""The CNN and RNN views in real Chromium against the real server (issue 5)."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from tests.frontend.conftest import TIMEOUT_MS, step_count, wait_step

pytestmark = pytest.mark.browser

# the page computes from float32 frames; the server answers in float64
FLOAT32 = {"rtol": 2e-5, "atol": 1e-7}


def open_view(pg: Any, query: str, view: str) -> str:
    """Load the page with ``query`` and wait until the ``view`` (cnn | rnn) view is live; its session id."""
    pg.goto(f"/?{query}")
    pg.wait_for_function(
        "(view) => window.__bpl && window.__bpl.state.session.status === 'live'"
        " && !document.querySelector(`[data-testid=${view}-view]`).hidden",
        arg=view,
        timeout=TIMEOUT_MS,
    )
    return str(pg.evaluate("window.__bpl.state.session.id"))


def step_once(pg: Any, expected: int) -> None:
    pg.get_by_test_id("step").click()
    wait_step(pg, f"s >= {expected}")


def wait_drawn(pg: Any, testid: str, step: int) -> None:
    """Wait until the canvas ``testid`` was drawn from the frame of ``step``."""
    pg.wait_for_function(
        "([id, step]) => document.querySelector(`[data-testid=${id}]`)?.dataset.step === String(step)",
        arg=[testid, step],
    )


def get(server_url: str, path: str) -> dict[str, Any]:
    response = httpx.get(f"{server_url}{path}", timeout=30.0)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def shown_map(pg: Any, layer: int | str, index: int) -> np.ndarray:
    return np.asarray(
        pg.evaluate(f"window.__bpl.views.spatial.cnn.shownValues({layer!r}, {index})"), dtype=float
    )


def test_the_cnn_view_shows_feature_maps_that_follow_training_on_digits(page: Any, server_url: str) -> None:
    pg = page
    sid = open_view(pg, "data=digits", "cnn")
    info = get(server_url, f"/api/sessions/{sid}")
    layers = [layer["type"] for layer in info["config"]["model"]["layers"]]
    assert layers == ["conv2d", "maxpool2d", "flatten", "dense"]
    assert info["config"]["training"]["optimizer"] == {"name": "adam", "lr": 0.01}
    assert (
        info["config"]["training"]["batch_size"] == 32 and info["config"]["model"]["loss"] == "cross_entropy"
    )
    assert pg.get_by_test_id("network").is_hidden()  # the dense drawing stepped aside

    step_once(pg, 1)
    wait_drawn(pg, "cnn-maps", 1)
    trace = get(server_url, f"/api/sessions/{sid}/trace")
    first = shown_map(pg, 0, 2)
    np.testing.assert_allclose(first, np.ravel(trace["layers"][0]["a"][0][2]), **FLOAT32)
    pooled = shown_map(pg, 1, 5)
    np.testing.assert_allclose(pooled, np.ravel(trace["layers"][1]["a"][0][5]), **FLOAT32)
    # the input's gradient, computed by the page from the frame, is the server's ∂L/∂X
    grad = get(server_url, f"/api/sessions/{sid}/input-gradient?sample=0")["gradient"][0][0]
    page_grad = shown_map(pg, "grad", 0)
    np.testing.assert_allclose(page_grad, np.ravel(grad), rtol=1e-4, atol=1e-6 * float(np.abs(grad).max()))
    before = pg.get_by_test_id("cnn-maps").screenshot()

    pg.get_by_test_id("play").click()
    wait_step(pg, "s >= 60")
    pg.get_by_test_id("pause").click()
    pg.wait_for_function("() => !window.__bpl.state.playing")
    n = step_count(pg)
    step_once(pg, n + 1)
    n = step_count(pg)
    wait_drawn(pg, "cnn-maps", n)
    trace = get(server_url, f"/api/sessions/{sid}/trace")
    assert trace["step"] == n
    later = shown_map(pg, 0, 2)
    np.testing.assert_allclose(later, np.ravel(trace["layers"][0]["a"][0][2]), **FLOAT32)
    assert not np.allclose(later, first)
    assert pg.get_by_test_id("cnn-maps").screenshot() != before
    kernels = get(server_url, f"/api/sessions/{sid}/params")["layers"][0]["W"]
    assert len(kernels) == 8
    # the evaluation card: a confusion matrix over every test digit
    pg.wait_for_function(
        "(n) => Number(document.querySelector('[data-testid=evaluation]').dataset.step) >= n", arg=n - 1
    )
    total = int(pg.get_by_test_id("confusion").get_attribute("data-total"))
    assert total == info["data"]["n_test"]
    assert pg.locator("[data-testid=misclassified] figure").count() > 0
    assert pg.errors == []


def test_clicking_a_feature_map_position_explains_it_with_the_routes_numbers(
    page: Any, server_url: str
) -> None:
    pg = page
    sid = open_view(pg, "data=digits", "cnn")
    step_once(pg, 1)
    step_once(pg, 2)
    wait_drawn(pg, "cnn-maps", 2)
    point = pg.evaluate("window.__bpl.views.spatial.cnn.mapPoint(0, 2, 3, 4)")
    pg.mouse.click(point["x"], point["y"])
    panel = pg.get_by_test_id("spatial-explain")
    panel.wait_for(state="visible")
    panel.get_by_test_id("sx-z").wait_for()
    route = get(server_url, f"/api/sessions/{sid}/explain/conv?layer=0&sample=0&filter=2&row=3&col=4")
    d = route["data"]

    def shown(testid: str) -> float:
        return float(panel.get_by_test_id(testid).get_attribute("data-value"))

    assert int(panel.get_by_test_id("sx-step").get_attribute("data-value")) == route["step"] == 2
    assert shown("sx-z") == d["z"] and shown("sx-a") == d["a"]
    assert shown("sx-sum") == d["sum"] and shown("sx-bias") == d["bias"]
    assert shown("sx-delta") == d["backward"]["delta"]
    assert shown("sx-dA") == d["backward"]["dA"]
    patch = panel.get_by_test_id("sx-patch").locator("td")
    assert [float(v) for v in patch.evaluate_all("(tds) => tds.map((td) => td.title)")] == np.ravel(
        d["patch"]
    ).tolist()
    # a kernel entry of the kernels row: its whole gradient, as GET …/explain/kernel gives it
    point = pg.evaluate("window.__bpl.views.spatial.cnn.kernelPoint(0, 5, 0, 1, 2)")
    pg.mouse.click(point["x"], point["y"])
    pg.wait_for_function("() => document.querySelector('[data-testid=sx-grad]')")
    kernel = get(server_url, f"/api/sessions/{sid}/explain/kernel?layer=0&filter=5&channel=0&i=1&j=2")["data"]
    assert shown("sx-grad") == kernel["grad"] and shown("sx-after") == kernel["value_after"]
    # the next step refreshes the open explanation
    step_once(pg, 3)
    pg.wait_for_function("() => document.querySelector('[data-testid=sx-step]')?.dataset.value === '3'")
    pg.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert pg.errors == []


def test_the_rnn_view_shows_per_step_gradient_norms_and_state_heatmaps_for_an_adding_lstm(
    page: Any, server_url: str
) -> None:
    pg = page
    sid = open_view(pg, "data=adding", "rnn")
    info = get(server_url, f"/api/sessions/{sid}")
    assert [layer["type"] for layer in info["config"]["model"]["layers"]] == ["lstm", "dense"]
    assert info["config"]["model"]["layers"][0]["units"] == 16 and info["config"]["model"]["loss"] == "mse"
    for k in (1, 2, 3):
        step_once(pg, k)
    wait_drawn(pg, "rnn-view-canvas", 3)
    trace = get(server_url, f"/api/sessions/{sid}/trace")
    lstm = trace["layers"][0]
    shown = pg.evaluate("window.__bpl.views.spatial.rnn.shown()")
    assert shown["step"] == 3 and shown["layer"] == 0
    assert len(shown["norms"]) == 20
    np.testing.assert_allclose(shown["norms"], lstm["grad_W_h_step_norm"], **FLOAT32)
    assert shown["norms"][0] == 0 and min(shown["norms"][1:]) > 0  # h before step 0 is zero
    assert shown["hShape"] == [16, 20]
    np.testing.assert_allclose(shown["h"], np.ravel(lstm["h"][0]), **FLOAT32)
    dh = np.asarray(lstm["dh"][0])
    np.testing.assert_allclose(shown["dhNorms"], np.linalg.norm(dh, axis=1), rtol=1e-4, atol=1e-9)
    assert pg.get_by_test_id("rnn-flow").inner_text().strip() != ""
    # the readout's target is the batch's own, read back from the output layer's δ
    target = float(pg.get_by_test_id("rnn-readout").inner_text().split("target ")[1])
    assert target == pytest.approx(trace["Y"][0][0], rel=1e-3)

    point = pg.evaluate("window.__bpl.views.spatial.rnn.columnPoint(12)")
    pg.mouse.click(point["x"], point["y"])
    panel = pg.get_by_test_id("spatial-explain")
    panel.get_by_test_id("sx-step-norm").wait_for()
    route = get(server_url, f"/api/sessions/{sid}/explain/recurrent?layer=0&sample=0&t=12")["data"]
    assert (
        float(panel.get_by_test_id("sx-step-norm").get_attribute("data-value")) == route["grad_W_h_step_norm"]
    )
    assert panel.get_by_test_id("sx-dh").locator("tr").count() == 17  # a header and 16 units

    pg.get_by_test_id("play").click()
    wait_step(pg, "s >= 40")
    pg.get_by_test_id("pause").click()
    pg.wait_for_function("() => !window.__bpl.state.playing")
    pg.wait_for_function(
        "() => Number(document.querySelector('[data-testid=rnn-view-canvas]').dataset.step) >= 40"
    )
    assert pg.evaluate("window.__bpl.views.spatial.rnn.shown()")["norms"] != shown["norms"]
    pg.wait_for_function("() => document.querySelector('[data-testid=sequences] canvas')")
    assert pg.get_by_test_id("scatter").is_visible()
    assert pg.errors == []


def test_picking_image_and_sequence_sets_builds_their_networks_and_back(page: Any, server_url: str) -> None:
    pg = page
    pg.goto("/")
    pg.wait_for_function("() => window.__bpl && window.__bpl.state.session.status === 'live'")
    pg.locator("[data-dataset=shapes]").click()
    pg.wait_for_function("() => window.__bpl.state.config?.data?.dataset === 'shapes'")
    pg.get_by_test_id("cnn-view").wait_for(state="visible")
    sid = str(pg.evaluate("window.__bpl.state.session.id"))
    info = get(server_url, f"/api/sessions/{sid}")
    assert info["config"]["model"]["layers"][-1] == {"type": "dense", "units": 3, "activation": "softmax"}
    assert info["config"]["data"] == {"dataset": "shapes"}
    assert pg.get_by_test_id("output-plane").is_hidden() and pg.get_by_test_id("evaluation").is_visible()
    pg.locator("[data-dataset=text]").click()
    pg.wait_for_function("() => window.__bpl.state.config?.data?.dataset === 'text'")
    pg.get_by_test_id("rnn-view").wait_for(state="visible")
    layers = pg.evaluate("window.__bpl.state.config.model.layers")
    assert layers[0]["type"] == "lstm" and layers[-1]["units"] == 32
    pg.locator("[data-dataset=circle]").click()
    pg.wait_for_function("() => window.__bpl.state.data?.name === 'circle'")
    pg.get_by_test_id("output-plane").wait_for(state="visible")
    assert pg.get_by_test_id("network").get_attribute("data-layers") == "2-8-8-1"
    assert pg.get_by_test_id("rnn-view").is_hidden() and pg.get_by_test_id("evaluation").is_hidden()
    assert pg.errors == []


def test_editing_a_conv_layer_and_the_bptt_controls_rebuild_or_change_the_session(
    page: Any, server_url: str
) -> None:
    pg = page
    open_view(pg, "data=digits", "cnn")
    pg.locator("[data-testid=layer-bar] [data-layer='0']").click()
    filters = pg.get_by_label("filters", exact=True)
    filters.fill("4")
    filters.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.model.layers[0].filters === 4")
    pg.wait_for_function("() => window.__bpl.state.architecture.layers[0].output_shape[0] === 4")
    step_once(pg, 1)
    wait_drawn(pg, "cnn-maps", 1)
    assert shown_map(pg, 0, 3).size == 36
    assert pg.evaluate("window.__bpl.views.spatial.cnn.shownValues(0, 4)") is None

    sid = open_view(pg, "data=adding", "rnn")
    trunc = pg.get_by_test_id("truncate")
    trunc.fill("5")
    trunc.press("Enter")
    pg.wait_for_function(
        "(old) => window.__bpl.state.session.id !== old"
        " && window.__bpl.state.config.model.layers[0].truncate === 5",
        arg=sid,
    )
    sid = str(pg.evaluate("window.__bpl.state.session.id"))
    clip = pg.get_by_test_id("clip")
    clip.fill("0.5")
    clip.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.training.clip_norm === 0.5")
    assert get(server_url, f"/api/sessions/{sid}")["config"]["training"]["clip_norm"] == 0.5
    step_once(pg, 1)
    wait_drawn(pg, "rnn-view-canvas", 1)
    norms = pg.evaluate("window.__bpl.views.spatial.rnn.shown()")["norms"]
    # many-to-one with k = 5: only the last five steps get any gradient
    assert all(v == 0 for v in norms[:15]) and all(v > 0 for v in norms[15:])
    assert "Truncated BPTT (k = 5)" in pg.get_by_test_id("rnn-flow").inner_text()
    assert pg.errors == []


def test_a_past_step_shown_by_time_travel_draws_its_maps_and_explains_that_step(
    page: Any, server_url: str
) -> None:
    pg = page
    sid = open_view(pg, "data=digits", "cnn")
    step_once(pg, 1)
    step_once(pg, 2)
    wait_drawn(pg, "cnn-maps", 2)
    then = shown_map(pg, 0, 1)
    step_once(pg, 3)
    step_once(pg, 4)
    wait_drawn(pg, "cnn-maps", 4)
    pg.evaluate("window.__bpl.travel.show(2)")
    wait_drawn(pg, "cnn-maps", 2)
    np.testing.assert_allclose(shown_map(pg, 0, 1), then, rtol=1e-6)
    point = pg.evaluate("window.__bpl.views.spatial.cnn.mapPoint(0, 1, 1, 1)")
    pg.mouse.click(point["x"], point["y"])
    panel = pg.get_by_test_id("spatial-explain")
    panel.get_by_test_id("sx-z").wait_for()
    assert panel.get_by_test_id("sx-step").get_attribute("data-value") == "2"
    route = get(server_url, f"/api/sessions/{sid}/explain/conv?layer=0&sample=0&filter=1&row=1&col=1&step=2")
    assert float(panel.get_by_test_id("sx-z").get_attribute("data-value")) == route["data"]["z"]
    assert pg.errors == []
