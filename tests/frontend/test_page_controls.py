"""The training controls in real Chromium against the real server: what a field shows is what the
session uses, the Problem menu offers only what the server takes, and space after a click plays."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.frontend.conftest import OpenPage, step_count, wait_live, wait_step

pytestmark = pytest.mark.browser


def session(server_url: str, pg: Any) -> Any:
    sid = pg.evaluate("window.__bpl.state.session.id")
    return httpx.get(f"{server_url}/api/sessions/{sid}").json()


def toast(pg: Any) -> str:
    box = pg.locator("#toast")
    box.wait_for(state="visible")
    return str(box.inner_text())


def hide_toast(pg: Any) -> None:
    pg.evaluate("document.getElementById('toast').hidden = true")


def switch_dataset(pg: Any, name: str) -> None:
    """Pick a dataset by its thumbnail and wait for the new session's data."""
    old = pg.evaluate("window.__bpl.state.session.id")
    pg.get_by_test_id("dataset").locator(f"[data-dataset={name}]").click()
    pg.wait_for_function(
        f"() => window.__bpl.state.session.id !== {old!r} && window.__bpl.state.data"
        f" && window.__bpl.state.config.data.dataset === {name!r}"
    )
    wait_live(pg)


@pytest.mark.parametrize("dataset", ["reg-plane", "sine", "circle", "blobs"])
def test_the_problem_menu_offers_only_pairs_the_server_accepts(
    open_page: OpenPage, server_url: str, dataset: str
) -> None:
    pg = open_page()
    if dataset != "circle":
        switch_dataset(pg, dataset)
    task = pg.evaluate("window.__bpl.state.data.task")
    offered = pg.eval_on_selector_all("#output-pair option", "os => os.map(o => o.value)")
    assert offered, "the menu is empty"
    if task == "regression":
        assert "sigmoid|bce" not in offered
    config = pg.evaluate("window.__bpl.state.config")
    with httpx.Client(base_url=server_url, timeout=30.0) as http:
        for pair in offered:
            activation, loss = pair.split("|")
            wanted = copy.deepcopy(config)
            wanted["model"]["layers"][-1]["activation"] = activation
            wanted["model"]["loss"] = loss
            created = http.post("/api/sessions", json=wanted)
            assert created.status_code == 201, f"{dataset} ({task}): {pair} → {created.text}"
            body = created.json()
            http.delete(
                f"/api/sessions/{body['id']}", headers={"authorization": f"Bearer {body['control_token']}"}
            )
    assert pg.errors == []


# field, a value the server refuses, what the message must say
REFUSED = [
    ("#lr", "-1", "Learning rate must be a number ≥ 0, not -1."),
    ("#batch-size", "0", "Batch size must be a whole number ≥ 1, not 0."),
    ("#batch-size", "-5", "Batch size must be a whole number ≥ 1, not -5."),
    ("#reg-rate", "-0.1", "Regularization rate must be a number ≥ 0, not -0.1."),
    ("#clip", "-1", "Gradient clipping must be a number > 0, not -1; leave it empty for off."),
    ("#seed", "-3", "Seed must be a whole number ≥ 0"),
    ("#stop-steps", "0", "Stop step must be a whole number ≥ 1, not 0; leave it empty for no limit."),
]


def test_a_refused_number_says_what_is_allowed_and_shows_the_sessions_value_again(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    before = session(server_url, pg)
    for selector, bad, message in REFUSED:
        hide_toast(pg)
        field = pg.locator(selector)
        shown_before = field.input_value()
        field.fill(bad)
        field.press("Enter")
        assert message in toast(pg), selector
        assert field.get_attribute("aria-invalid") == "true", selector
        assert field.input_value() == shown_before, f"{selector} should show the session's value again"
        # typing again clears the mark
        field.press_sequentially("5")
        assert field.get_attribute("aria-invalid") is None, selector
        field.fill(shown_before)
        field.press("Enter")
    after = session(server_url, pg)
    assert after["id"] == before["id"], "a refused seed must not rebuild the session"
    assert after["config"]["training"] == before["config"]["training"]
    assert after["play"] == before["play"]
    assert pg.evaluate("window.__bpl.state.play.max_steps ?? null") is None
    assert pg.errors == []


def test_clipping_and_stop_step_show_what_the_session_uses(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    clip = pg.locator("#clip")
    clip.fill("2")
    clip.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.training.clip_norm === 2")
    clip.fill("")
    clip.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.training.clip_norm === null")
    assert clip.input_value() == ""
    stop = pg.locator("#stop-steps")
    stop.fill("1e2")
    stop.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.play && window.__bpl.state.play.max_steps === 100")
    assert stop.input_value() == "100"
    assert session(server_url, pg)["play"]["max_steps"] == 100
    assert stop.get_attribute("aria-invalid") is None
    assert pg.errors == []


def test_a_batch_size_over_the_servers_limit_shows_its_message_and_the_old_size(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    limit = httpx.get(f"{server_url}/api/options").json()["limits"]["max_batch_size"]
    batch = pg.locator("#batch-size")
    assert batch.input_value() == "10"
    batch.fill(str(limit + 1))
    batch.press("Enter")
    assert f"exceeds the limit max_batch_size = {limit}" in toast(pg)
    pg.wait_for_function("() => document.getElementById('batch-size').value === '10'")
    assert batch.get_attribute("aria-invalid") == "true"
    assert session(server_url, pg)["config"]["training"]["batch_size"] == 10
    # the page's own 422 is expected in the console; nothing else
    assert [e for e in pg.errors if "status of 422" not in e] == []


def test_space_after_clicking_step_plays_instead_of_stepping_again(open_page: OpenPage) -> None:
    pg = open_page()
    pg.get_by_test_id("step").click()
    wait_step(pg, "s === 1")
    assert not pg.evaluate("document.activeElement.matches('[data-testid=step]')")
    pg.keyboard.press("Space")
    pg.wait_for_function("() => window.__bpl.state.playing === true")
    pg.keyboard.press("Space")
    pg.wait_for_function("() => window.__bpl.state.playing === false")
    assert pg.errors == []


def test_a_keyboard_user_on_the_step_button_still_steps_with_space(open_page: OpenPage) -> None:
    pg = open_page()
    step = pg.get_by_test_id("step")
    step.focus()
    pg.keyboard.press("Space")
    wait_step(pg, "s === 1")
    assert pg.evaluate("document.activeElement.matches('[data-testid=step]')")
    pg.keyboard.press("Space")
    wait_step(pg, "s === 2")
    assert not pg.evaluate("window.__bpl.state.playing")
    assert step_count(pg) == 2
    assert pg.errors == []
