"""What a new user ran into on a walk through the page (issue 4's check), each kept fixed by a test."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.frontend.conftest import OpenPage, wait_live

pytestmark = pytest.mark.browser


def session_id(pg: Any) -> str:
    return str(pg.evaluate("window.__bpl.state.session.id"))


def params(server_url: str, sid: str) -> Any:
    return httpx.get(f"{server_url}/api/sessions/{sid}/params").json()


def test_regenerate_draws_new_data_and_keeps_the_weights(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    before_id = session_id(pg)
    before_points = pg.evaluate("window.__bpl.state.data.pointsTrain.slice(0, 5)")
    before_weights = params(server_url, before_id)
    seed = pg.evaluate("window.__bpl.state.config.seed")
    pg.locator("#regenerate").click()
    pg.wait_for_function(f"() => window.__bpl.state.session.id !== {before_id!r}")
    wait_live(pg)
    after_id = session_id(pg)
    assert pg.evaluate("window.__bpl.state.data.pointsTrain.slice(0, 5)") != before_points
    assert params(server_url, after_id) == before_weights
    assert pg.evaluate("window.__bpl.state.config.seed") == seed
    assert "d.seed=" in pg.url  # the new data is part of the shared setup
    assert pg.errors == []


def test_a_stop_condition_says_why_training_stopped(open_page: OpenPage) -> None:
    pg = open_page()
    stop = pg.locator("#stop-steps")
    stop.fill("40")
    stop.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.play && window.__bpl.state.play.max_steps === 40")
    pg.get_by_test_id("play").click()
    pg.wait_for_function("() => window.__bpl.state.stopReason === 'reached max_steps 40'")
    assert pg.locator("#toast").inner_text().startswith("Stopped: reached max_steps 40")
    status = pg.locator("#status")
    assert status.inner_text() == "stopped"
    assert status.get_attribute("title") == "Stopped: reached max_steps 40"
    # playing again at the limit says it again rather than doing nothing
    pg.evaluate("document.getElementById('toast').hidden = true")
    pg.get_by_test_id("play").click()
    pg.locator("#toast").wait_for(state="visible")
    assert "max_steps 40" in pg.locator("#toast").inner_text()
    assert pg.errors == []


@pytest.mark.parametrize(
    ("dataset", "output"),
    [
        ("spiral3", ("softmax", "cross_entropy", 3)),
        ("sine", ("linear", "mse", 1)),
        ("xor", ("sigmoid", "bce", 1)),
    ],
)
def test_a_link_naming_only_the_data_gets_an_output_that_fits_it(
    open_page: OpenPage, dataset: str, output: tuple[str, str, int]
) -> None:
    pg = open_page(f"data={dataset}")
    pg.wait_for_function(f"() => window.__bpl.state.data && window.__bpl.state.data.name === {dataset!r}")
    last = pg.evaluate("window.__bpl.state.architecture.layers.at(-1)")
    loss = pg.evaluate("window.__bpl.state.config.model.loss")
    assert (last["activation"], loss, last["units"]) == output
    assert pg.locator("#toast").is_hidden()  # no "starting the default setup instead"
    assert pg.errors == []
