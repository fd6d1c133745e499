"""The page at the sizes it must work at: projector, full HD, tablet; presenter mode; the main views.

Screenshots go to ``tmp_path``; with ``BPL_SCREENSHOTS=1`` they are (re)written to docs/screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.conftest import wait_live, wait_step

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shots_dir(tmp_path: Path) -> Path:
    if os.environ.get("BPL_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def train_a_little(pg: Any, steps: int = 1500) -> None:
    pg.get_by_test_id("play").click()
    wait_step(pg, f"s >= {steps}")
    pg.get_by_test_id("pause").click()
    pg.wait_for_function("() => !window.__bpl.state.playing")
    pg.wait_for_timeout(300)


@pytest.mark.parametrize(
    ("width", "height", "name"),
    [(1280, 720, "page-1280x720"), (1920, 1080, "page-1920x1080"), (768, 1024, "page-tablet-768")],
)
def test_page_fits_its_width_and_shows_every_view(
    browser: Any, server_url: str, tmp_path: Path, width: int, height: int, name: str
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=server_url)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        pg.goto("/")
        wait_live(pg)
        train_a_little(pg)
        assert pg.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal scrolling"
        for hook in ["network", "output-plane", "loss-chart"]:
            box = pg.get_by_test_id(hook).bounding_box()
            assert box and box["width"] > 150 and box["height"] > 90, (hook, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (hook, box)
        if width >= 1280:
            # On a projector or a monitor the main views are all visible without scrolling.
            for hook in ["network", "output-plane", "loss-chart"]:
                box = pg.get_by_test_id(hook).bounding_box()
                assert box["y"] + box["height"] <= height + 1, (hook, box)
        pg.screenshot(path=str(shots_dir(tmp_path) / f"{name}.png"), full_page=width < 1280)
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [768, 820, 1024, 1280])
def test_presenter_mode_keeps_the_network_wide_at_every_width(
    browser: Any, server_url: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 1024}, base_url=server_url)
    pg = context.new_page()
    try:
        pg.goto("/?presenter=1")
        wait_live(pg)
        assert pg.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal scrolling"
        network = pg.get_by_test_id("network").bounding_box()
        # one column below 860 px: the network takes (nearly) the whole width; two above it
        assert network["width"] > (0.8 if width <= 860 else 0.45) * width, network
    finally:
        context.close()


def test_page_presenter_mode_enlarges_text(open_page: Any, tmp_path: Path) -> None:
    pg = open_page()

    def size() -> float:
        script = "parseFloat(getComputedStyle(document.querySelector('[data-testid=step-count]')).fontSize)"
        return float(pg.evaluate(script))

    before = size()
    pg.locator("#presenter").check()
    assert size() > before * 1.2
    assert "presenter=1" in pg.url
    train_a_little(pg, 800)
    pg.screenshot(path=str(shots_dir(tmp_path) / "presenter-1280x720.png"))


def test_page_main_views_screenshots(open_page: Any, tmp_path: Path) -> None:
    pg = open_page()
    out = shots_dir(tmp_path)
    train_a_little(pg, 2000)
    # blame view: nodes coloured by δ, edges by gradient, an explained weight
    pg.locator("[data-node=delta]").click()
    pg.locator("[data-edge=grad]").click()
    point = pg.evaluate("window.__bpl.views.network.edgePoint(1, 1, 4, 0.4)")
    pg.mouse.click(point["x"], point["y"])
    pg.get_by_test_id("explain-grad").wait_for()
    pg.screenshot(path=str(out / "explain-gradient.png"))
    pg.locator("#explain-close").click()
    pg.locator("[data-node=activation]").click()
    pg.locator("[data-edge=weight]").click()
    # a multi-class data set
    pg.get_by_test_id("dataset").locator("[data-dataset=spiral3]").click()
    pg.wait_for_function("() => window.__bpl.state.data && window.__bpl.state.data.name === 'spiral3'")
    wait_live(pg)
    lr = pg.get_by_test_id("lr")
    lr.fill("0.1")
    lr.press("Enter")
    pg.wait_for_function("() => window.__bpl.state.config.training.optimizer.lr === 0.1")
    train_a_little(pg, 3000)
    pg.screenshot(path=str(out / "multiclass-spiral3.png"))
    # the one-sample animation, halfway through the backward pass
    pg.locator("#anim-manual").check()
    pg.locator("#step-sample").click()
    pg.locator("#anim-caption").wait_for(state="visible")
    for _ in range(5):
        pg.keyboard.press("ArrowRight")
    pg.wait_for_timeout(700)
    pg.screenshot(path=str(out / "one-sample-backward.png"))


# Every header control's box, by header: nothing of one header may cover another's.
HEAD_BOXES = """() => [...document.querySelectorAll('.layer-head')].map((h) =>
    [...h.querySelectorAll('.title, button, select')].filter((e) => e.getClientRects().length)
      .map((e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }))"""


def overlapping_headers(pg: Any) -> list[tuple[int, int]]:
    heads = pg.evaluate(HEAD_BOXES)
    hits = []
    for a in range(len(heads)):
        for b in range(a + 1, len(heads)):
            for ra in heads[a]:
                for rb in heads[b]:
                    apart_x = ra[2] - 0.5 <= rb[0] or rb[2] - 0.5 <= ra[0]
                    apart_y = ra[3] - 0.5 <= rb[1] or rb[3] - 0.5 <= ra[1]
                    if not (apart_x or apart_y):
                        hits.append((a, b))
    return hits


@pytest.mark.parametrize(
    ("hidden", "width", "height", "mode"),
    [
        (2, 1280, 720, "wide"),
        (6, 1280, 720, "narrow"),
        (6, 768, 1024, "narrow"),
        (12, 1280, 720, "tight"),
        (24, 1280, 720, "tight"),
        (31, 768, 1024, "tight"),  # the most the server allows (32 layers with the output)
        (20, 768, 1024, "tight&presenter=1"),  # larger labels in presenter mode
    ],
)
def test_layer_headers_never_overlap_however_many_layers(
    browser: Any, server_url: str, hidden: int, width: int, height: int, mode: str
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=server_url)
    pg = context.new_page()
    try:
        mode, _, extra = mode.partition("&")
        pg.goto("/?net=" + ",".join(["tanh:4"] * hidden) + ",sigmoid:1" + (f"&{extra}" if extra else ""))
        wait_live(pg)
        pg.wait_for_function(f"() => document.querySelectorAll('.layer-head').length === {hidden + 2}")
        assert pg.locator(f".layer-head.{mode}").count() == hidden + 2
        assert overlapping_headers(pg) == []
        wrap = pg.locator(".network-wrap").bounding_box()
        for box in (b for head in pg.evaluate(HEAD_BOXES) for b in head):
            assert wrap["x"] - 1 <= box[0] and box[2] <= wrap["x"] + wrap["width"] + 1, box
    finally:
        context.close()


def test_a_tight_header_opens_its_controls_and_they_change_the_network(open_page: Any) -> None:
    pg = open_page("net=" + ",".join(["tanh:4"] * 12) + ",sigmoid:1")
    third = pg.locator(".layer-head").nth(3)
    assert third.locator("select").is_hidden()
    third.locator("button.title").click()
    assert "open" in third.get_attribute("class").split()
    third.locator("select").select_option("relu")
    pg.wait_for_function("() => window.__bpl.state.architecture.layers[2].activation === 'relu'")
    # the rebuilt headers keep the menu open, so a second change needs no second click
    pg.locator(".layer-head").nth(3).get_by_label("Add a neuron to layer 3").click()
    pg.wait_for_function("() => window.__bpl.state.architecture.layers[2].units === 5")
    assert [layer["activation"] for layer in pg.evaluate("window.__bpl.state.architecture.layers")][:4] == [
        "tanh",
        "tanh",
        "relu",
        "tanh",
    ]
    pg.mouse.click(5, 400)  # anywhere else closes it
    assert pg.locator(".layer-head.open").count() == 0
    assert pg.errors == []


def test_the_output_header_stays_inside_the_network_panel(open_page: Any) -> None:
    pg = open_page("data=spiral3")  # softmax · cross_entropy: the widest output header
    pg.wait_for_function(
        "() => document.querySelector('.layer-head.last')?.textContent.includes('cross_entropy')"
    )
    wrap = pg.locator(".network-wrap").bounding_box()
    for box in (b for head in pg.evaluate(HEAD_BOXES) for b in head):
        assert wrap["x"] - 1 <= box[0] and box[2] <= wrap["x"] + wrap["width"] + 1, box
    last = pg.locator(".layer-head.last").bounding_box()
    assert last["x"] + last["width"] <= wrap["x"] + wrap["width"] + 1
