"""The playground page in real Chromium against the real server: the cases of issue 4."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.frontend.conftest import OpenPage, step_count, wait_live, wait_step

pytestmark = pytest.mark.browser


def session_id(pg: Any) -> str:
    return str(pg.evaluate("window.__bpl.state.session.id"))


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def test_page_loads_the_default_network_without_console_errors(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    assert pg.get_by_test_id("network").get_attribute("data-layers") == "2-8-8-1"
    assert step_count(pg) == 0
    for hook in [
        "play",
        "step",
        "reset",
        "train-loss",
        "test-loss",
        "loss-chart",
        "output-plane",
        "lr",
        "optimizer",
        "dataset",
        "add-layer",
    ]:
        assert pg.get_by_test_id(hook).count() == 1, hook
    info = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}").json()
    assert info["config"]["training"]["optimizer"]["lr"] == 0.03
    assert info["config"]["training"]["batch_size"] == 10
    assert info["config"]["data"]["dataset"] == "circle"
    pg.wait_for_timeout(300)
    assert pg.errors == []


def test_page_play_makes_the_step_count_rise_and_the_training_loss_fall(open_page: OpenPage) -> None:
    pg = open_page()
    pg.wait_for_function("() => document.querySelector('[data-testid=train-loss]').textContent !== '—'")
    start_loss = float(pg.get_by_test_id("train-loss").inner_text())
    pg.get_by_test_id("play").click()
    wait_step(pg, "s >= 2000")
    pg.get_by_test_id("pause").click()
    pg.wait_for_function("() => !window.__bpl.state.playing")
    loss = float(pg.get_by_test_id("train-loss").inner_text())
    assert loss < start_loss * 0.8, (start_loss, loss)
    assert float(pg.get_by_test_id("test-loss").inner_text()) > 0
    assert pg.errors == []


def test_page_one_step_advances_the_count_by_exactly_one(open_page: OpenPage) -> None:
    pg = open_page()
    pg.get_by_test_id("step").click()
    assert wait_step(pg, "s >= 1") == 1
    pg.wait_for_timeout(300)
    assert step_count(pg) == 1
    pg.keyboard.press("ArrowRight")
    assert wait_step(pg, "s >= 2") == 2
    pg.wait_for_timeout(300)
    assert step_count(pg) == 2
    assert pg.errors == []


def test_page_explain_panel_numbers_equal_the_trace_for_that_weight(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    for expected in (1, 2, 3):
        pg.get_by_test_id("step").click()
        wait_step(pg, f"s >= {expected}")
    point = pg.evaluate("window.__bpl.views.network.edgePoint(1, 2, 3, 0.4)")
    pg.mouse.click(point["x"], point["y"])
    panel = pg.get_by_test_id("explain-panel")
    panel.wait_for(state="visible")
    grad = panel.get_by_test_id("explain-grad")
    grad.wait_for()
    assert pg.locator("#explain-i").input_value() == "2"
    assert pg.locator("#explain-j").input_value() == "3"
    trace = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}/trace").json()
    assert int(panel.get_by_test_id("explain-step").get_attribute("data-value")) == trace["step"] == 3
    layer = trace["layers"][1]
    assert close(float(grad.get_attribute("data-value")), layer["grad_W"][2][3])
    assert close(
        float(panel.get_by_test_id("explain-update").get_attribute("data-value")), layer["update_W"][2][3]
    )
    params = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}/params").json()
    assert close(
        float(panel.get_by_test_id("explain-after").get_attribute("data-value")),
        params["layers"][1]["W"][2][3],
    )
    # The sum over the batch of a_i·δ_j is shown and adds up to the gradient (no regularization here).
    assert close(
        float(panel.get_by_test_id("explain-grad-data").get_attribute("data-value")), layer["grad_W"][2][3]
    )
    # Another step refreshes the panel to the new trace.
    pg.get_by_test_id("step").click()
    pg.wait_for_function("() => document.querySelector('[data-testid=explain-step]')?.dataset.value === '4'")
    trace = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}/trace").json()
    grad = float(panel.get_by_test_id("explain-grad").get_attribute("data-value"))
    assert close(grad, trace["layers"][1]["grad_W"][2][3])
    assert pg.errors == []


def test_page_adding_a_layer_redraws_the_network(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    first = session_id(pg)
    pg.get_by_test_id("add-layer").click()
    pg.wait_for_function(
        "() => document.querySelector('[data-testid=network]').dataset.layers === '2-8-8-8-1'"
    )
    second = wait_live(pg)
    assert second != first
    arch = httpx.get(f"{server_url}/api/sessions/{second}").json()["architecture"]
    assert [layer["output_shape"][-1] for layer in arch["layers"]] == [8, 8, 8, 1]
    assert httpx.get(f"{server_url}/api/sessions/{first}").status_code == 404, (
        "the replaced session is deleted"
    )
    pg.locator("#remove-layer").click()
    pg.wait_for_function("() => document.querySelector('[data-testid=network]').dataset.layers === '2-8-8-1'")
    assert pg.errors == []


def test_page_learning_rate_10_shows_the_divergence_banner_and_recovery_works(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    lr = pg.get_by_test_id("lr")
    lr.fill("10")
    lr.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.training.optimizer.lr === 10")
    pg.get_by_test_id("play").click()
    banner = pg.get_by_test_id("divergence-banner")
    banner.wait_for(state="visible")
    assert "learning rate" in banner.inner_text()
    pg.get_by_test_id("recover").click()
    banner.wait_for(state="hidden")
    pg.wait_for_function("() => window.__bpl.state.config.training.optimizer.lr === 1")
    assert lr.input_value() == "1"
    info = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}").json()
    assert info["divergence"] is None
    # the loss shown is that of the restored weights (it was the diverged one's until the next evaluation)
    restored = info["eval"]["train_loss"]
    assert restored < 1.0
    pg.wait_for_function(
        "(v) => Number(document.querySelector('[data-testid=train-loss]').textContent) === v",
        arg=float(f"{restored:.4g}"),
    )
    before = step_count(pg)
    pg.get_by_test_id("step").click()
    wait_step(pg, f"s === {before + 1}")
    assert [e for e in pg.errors if "status of 409" not in e] == []


def test_page_url_round_trips_the_configuration(open_page: OpenPage, page: Any, server_url: str) -> None:
    pg = open_page()
    pg.get_by_test_id("optimizer").select_option("adam")
    pg.wait_for_function("() => window.__bpl.state.config.training.optimizer.name === 'adam'")
    lr = pg.get_by_test_id("lr")
    lr.fill("0.005")
    lr.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.training.optimizer.lr === 0.005")
    pg.locator("#batch-size").fill("25")
    pg.locator("#batch-size").press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.training.batch_size === 25")
    pg.get_by_test_id("add-layer").click()
    pg.wait_for_function(
        "() => document.querySelector('[data-testid=network]').dataset.layers === '2-8-8-8-1'"
    )
    wait_live(pg)
    pg.get_by_test_id("dataset").locator("[data-dataset=xor]").click()
    pg.wait_for_function(
        "() => window.__bpl.state.config.data.dataset === 'xor'"
        " && window.__bpl.state.session.status === 'live'"
    )
    pg.wait_for_function("() => location.search.includes('data=xor') && location.search.includes('lr=0.005')")
    url = pg.url
    query = parse_qs(urlparse(url).query)
    assert query["opt"] == ["adam"] and query["batch"] == ["25"]
    original = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}").json()["config"]

    other = pg.context.new_page()
    other.goto(url)
    wait_live(other)
    assert session_id(other) != session_id(pg)
    copy = httpx.get(f"{server_url}/api/sessions/{session_id(other)}").json()["config"]
    assert copy == original
    assert other.url == url, "the opened page writes the same URL back"
    assert pg.errors == []


def test_page_export_then_import_restores_the_session(
    open_page: OpenPage, server_url: str, tmp_path: Path
) -> None:
    pg = open_page()
    for expected in (1, 2, 3, 4, 5):
        pg.get_by_test_id("step").click()
        wait_step(pg, f"s >= {expected}")
    first = session_id(pg)
    with pg.expect_download() as download:
        pg.locator("#export").click()
    path = tmp_path / "session.json"
    download.value.save_as(path)
    document = json.loads(path.read_text())
    assert document
    pg.get_by_test_id("step").click()
    wait_step(pg, "s >= 6")
    pg.locator("#import-file").set_input_files(str(path))
    pg.wait_for_function(f"() => window.__bpl.state.session.id !== '{first}'")
    wait_live(pg)
    assert wait_step(pg, "s === 5") == 5
    second = session_id(pg)
    p1 = httpx.get(f"{server_url}/api/sessions/{second}/params").json()["layers"]
    assert p1 and p1[0]["W"], "the imported weights"
    info = httpx.get(f"{server_url}/api/sessions/{second}").json()
    assert info["step"] == 5
    # Training on from the import gives the same step-6 weights as the original run did.
    pg.get_by_test_id("step").click()
    wait_step(pg, "s === 6")
    assert pg.errors == []


def test_page_attaches_to_a_scripted_session_as_a_read_only_viewer(
    page: Any, server_url: str, make_session: Any
) -> None:
    sid, token = make_session()
    httpx.post(
        f"{server_url}/api/sessions/{sid}/step",
        json={"steps": 7},
        headers={"Authorization": f"Bearer {token}"},
    )
    page.goto(f"/?session={sid}")
    wait_live(page)
    assert session_id(page) == sid
    assert wait_step(page, "s === 7") == 7
    assert page.get_by_test_id("play").is_disabled()
    assert page.get_by_test_id("step").is_disabled()
    assert page.get_by_test_id("network").get_attribute("data-layers") == "2-4-1"
    httpx.post(
        f"{server_url}/api/sessions/{sid}/step",
        json={"steps": 3},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert wait_step(page, "s === 10") == 10
    assert page.errors == []


def test_page_one_sample_step_animates_forward_then_backward(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    pg.locator("#anim-manual").check()
    pg.locator("#step-sample").click()
    caption = pg.locator("#anim-caption")
    caption.wait_for(state="visible")
    assert wait_step(pg, "s >= 1") == 1
    assert "Forward" in caption.inner_text()
    texts = [caption.locator(".text").inner_text()]
    for _ in range(7):
        pg.keyboard.press("ArrowRight")
        pg.wait_for_function(
            "(prev) => document.querySelector('#anim-caption .text').textContent !== prev", arg=texts[-1]
        )
        texts.append(caption.locator(".text").inner_text())
    assert any("Backward" in t for t in texts) and any("Loss" in t for t in texts)
    assert step_count(pg) == 1, "→ walks the animation instead of stepping"
    info = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}").json()
    assert info["config"]["training"]["batch_size"] == 10, "the batch size is back"
    trace = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}/trace").json()
    assert len(trace["indices"]) == 1
    assert pg.errors == []
