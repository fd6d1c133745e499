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
    # the pause event can overtake the last frame of play (texts never wait for a frame slot);
    # the frame the pause publishes comes after it
    pg.wait_for_function("() => document.getElementById('status').textContent === 'stopped'")
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


def test_speed_and_stop_conditions_carry_over_to_a_rebuilt_network(open_page: OpenPage) -> None:
    pg = open_page()
    pg.locator("#speed").select_option("100")
    stop = pg.locator("#stop-steps")
    stop.fill("300")
    stop.press("Enter")
    pg.wait_for_function(
        "() => window.__bpl.state.play.speed === 100 && window.__bpl.state.play.max_steps === 300"
    )
    before = session_id(pg)
    pg.get_by_test_id("add-layer").click()
    pg.wait_for_function(f"() => window.__bpl.state.session.id !== {before!r}")
    wait_live(pg)
    pg.wait_for_function(
        "() => window.__bpl.state.play.speed === 100 && window.__bpl.state.play.max_steps === 300"
    )
    # the fields follow on the next drawn frame
    pg.wait_for_function(
        "() => document.getElementById('speed').value === '100'"
        " && document.getElementById('stop-steps').value === '300'"
    )
    assert pg.errors == []


@pytest.mark.parametrize("button", ["#add-layer", "[data-testid=step]", "#presenter"])
def test_space_after_a_mouse_click_on_any_button_plays(open_page: OpenPage, button: str) -> None:
    pg = open_page()
    layers = pg.evaluate("window.__bpl.state.architecture.layers.length")
    pg.locator(button).click()
    if button == "#add-layer":
        pg.wait_for_function(f"() => window.__bpl.state.architecture.layers.length === {layers + 1}")
        wait_live(pg)
    pg.keyboard.press(" ")
    pg.wait_for_function("() => window.__bpl.state.playing")
    assert pg.evaluate("window.__bpl.state.architecture.layers.length") == layers + (button == "#add-layer")
    assert pg.locator("#presenter").is_checked() == (button == "#presenter")
    pg.keyboard.press(" ")
    pg.wait_for_function("() => !window.__bpl.state.playing")
    assert pg.errors == []


def test_an_optimizer_parameter_left_empty_says_so_and_shows_the_value_in_use(open_page: OpenPage) -> None:
    pg = open_page("opt=adam")
    beta1 = pg.locator("input[data-param=beta1]")
    beta1.fill("")
    beta1.press("Enter")
    pg.locator("#toast").wait_for(state="visible")
    assert "beta1 needs a number" in pg.locator("#toast").inner_text()
    assert beta1.input_value() == "0.9"
    assert beta1.get_attribute("aria-invalid") == "true"
    assert "error" in (pg.locator("#toast").get_attribute("class") or "")
    assert pg.errors == []


def test_escape_closes_a_tight_layer_header_menu(open_page: OpenPage) -> None:
    pg = open_page("net=" + ",".join(["tanh:4"] * 12) + ",sigmoid:1")
    head = pg.locator(".layer-head").nth(3)
    head.locator("button.title").click()
    assert "open" in (head.get_attribute("class") or "").split()
    pg.keyboard.press("Escape")
    assert pg.locator(".layer-head.open").count() == 0


def test_a_binary_csv_pasted_over_a_regression_set_is_classified(open_page: OpenPage) -> None:
    pg = open_page("data=reg-plane")
    before = session_id(pg)
    rows = ["x1,x2,label"] + [f"{(i % 10) - 4.5},{(i // 10) - 2},{int((i % 10) > 4)}" for i in range(30)]
    pg.locator("#paste-csv").click()
    pg.locator("#csv-text").fill("\n".join(rows))
    pg.locator("#csv-ok").click()
    pg.wait_for_function(f"() => window.__bpl.state.session.id !== {before!r}")
    wait_live(pg)
    assert pg.evaluate("window.__bpl.state.data.task") == "binary"
    assert pg.evaluate("window.__bpl.state.config.model.loss") == "bce"
    assert pg.evaluate("window.__bpl.state.architecture.layers.at(-1).activation") == "sigmoid"
    assert pg.errors == []


def test_the_loss_readouts_say_which_step_they_were_evaluated_at(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    for _ in range(3):
        pg.get_by_test_id("step").click()
    pg.wait_for_function("() => window.__bpl.state.step === 3")
    ev = httpx.get(f"{server_url}/api/sessions/{session_id(pg)}").json()["eval"]
    pg.wait_for_function(
        "(s) => document.querySelector('[data-testid=eval-step]').textContent === s", arg=str(int(ev["step"]))
    )
    assert pg.evaluate("window.__bpl.state.eval.step") == ev["step"]


def test_input_nodes_are_labelled_with_their_features(page: Any) -> None:
    # record every text drawn on the network canvas
    page.add_init_script(
        """(() => { const fill = CanvasRenderingContext2D.prototype.fillText; window.__texts = new Set();
            CanvasRenderingContext2D.prototype.fillText = function (t, ...rest) {
                if (this.canvas.id === 'network') window.__texts.add(String(t));
                return fill.call(this, t, ...rest); }; })()"""
    )
    page.goto("/?d.features=x1,x2,x1%5E2,sin(x1)")
    wait_live(page)
    names = page.evaluate("window.__bpl.state.data.featureNames")
    assert names == ["x1", "x2", "x1²", "sin(x1)"]
    page.wait_for_function("(names) => names.every((n) => window.__texts.has(n))", arg=names)


def test_shift_click_adds_or_removes_eight_neurons(open_page: OpenPage) -> None:
    pg = open_page()
    pg.get_by_label("Add a neuron to layer 1").click(modifiers=["Shift"])
    pg.wait_for_function("() => window.__bpl.state.architecture.layers[0].units === 16")
    wait_live(pg)
    pg.get_by_label("Remove a neuron from layer 1").click(modifiers=["Shift"])
    pg.wait_for_function("() => window.__bpl.state.architecture.layers[0].units === 8")
    assert pg.errors == []
