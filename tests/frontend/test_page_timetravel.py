"""Time travel in real Chromium against the real server: scrub, compare, fork, gradient checks (issue 8).

Screenshots go to ``tmp_path``; with ``BPL_SCREENSHOTS=1`` docs/screenshots/timeline.png is rewritten.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from server.frames import decode_frame
from tests.frontend.conftest import OpenPage, step_count, wait_live, wait_step

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PILL = "document.querySelector('[data-testid=past-indicator]')"
NET = "document.querySelector('[data-testid=network]')"


def session_of(pg: Any) -> tuple[str, str]:
    state = pg.evaluate("window.__bpl.state.session")
    return str(state["id"]), str(state["token"])


def train(pg: Any, server_url: str, steps: int) -> int:
    """Step the page's session over REST (with its token) and wait until the page shows the new step."""
    sid, token = session_of(pg)
    response = httpx.post(
        f"{server_url}/api/sessions/{sid}/step",
        json={"steps": steps},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    target = int(response.json()["step"])
    wait_step(pg, f"s === {target}")
    return target


def knob_and(pg: Any, step_js: str) -> tuple[dict[str, float], dict[str, float]]:
    """Where the track's live knob is drawn, and where step ``step_js`` (JS over ``live``) is.

    Both come from the track as last drawn: ``state.step`` can be ahead of it (a frame lands,
    the track is redrawn on the next animation frame), and a point for a step past the drawn
    end lies off the track.
    """
    pg.wait_for_function("() => window.__bpl.views.timeline.drawnStep() === window.__bpl.state.step")
    points = pg.evaluate(
        f"""() => {{ const t = window.__bpl.views.timeline; const live = t.drawnStep();
        return [t.pointAt(live), t.pointAt({step_js})]; }}"""
    )
    return points[0], points[1]


def scrub_to(pg: Any, step: int) -> None:
    """Drag the timeline's knob from the live end to about ``step``, then ← / → to exactly it."""
    start, end = knob_and(pg, str(step))
    pg.mouse.move(start["x"] - 1, start["y"])
    pg.mouse.down()
    pg.mouse.move(end["x"], end["y"], steps=8)
    pg.mouse.up()
    assert pg.evaluate("window.__bpl.travel.viewing()"), "dragging the timeline shows a past step"
    for _ in range(40):
        shown = int(pg.evaluate("window.__bpl.travel.viewedStep()"))
        if shown == step:
            break
        pg.keyboard.press("ArrowRight" if shown < step else "ArrowLeft")
    wait_shown(pg, step)


def wait_shown(pg: Any, step: int) -> None:
    """Wait until the page draws past step ``step`` (its data loaded, the network redrawn)."""
    pg.wait_for_function(
        f"() => {PILL}.dataset.step === '{step}' && {PILL}.dataset.loaded === 'true'"
        f" && {NET}.dataset.step === '{step}'"
    )


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-15)


def shown_layers(pg: Any) -> list[dict[str, list[float]]]:
    script = """() => window.__bpl.travel.view(window.__bpl.state).layers.map((l) =>
        Object.fromEntries(Object.entries(l).map(([k, v]) => [k, Array.from(v.data)])))"""
    layers: list[dict[str, list[float]]] = pg.evaluate(script)
    return layers


def flat(nested: Any) -> list[float]:
    return [float(v) for v in np.asarray(nested, dtype=np.float64).ravel()]


def test_page_scrubbing_to_step_k_shows_the_network_and_explain_numbers_of_step_k(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    assert train(pg, server_url, 60) == 60
    scrub_to(pg, 23)
    sid, _ = session_of(pg)
    past = httpx.get(f"{server_url}/api/sessions/{sid}/at/23").json()
    pill = pg.get_by_test_id("past-indicator")
    assert pill.is_visible() and "23" in pill.inner_text() and "read-only" in pill.inner_text()
    # Every parameter and every per-step array the views draw is step 23's, in float64.
    layers = shown_layers(pg)
    for k, want in enumerate(past["params"]["layers"]):
        for name, value in want.items():
            assert layers[k][name] == flat(value), (k, name)
    for k, want in enumerate(past["trace"]["layers"]):
        for name in ("grad_W", "update_W", "a", "delta"):
            assert layers[k][name] == flat(want[name]), (k, name)
    # The heatmaps (nodes and the decision boundary) are those of the frame of step 23.
    res = pg.evaluate("window.__bpl.state.heat.output.shape[0]")
    nodes = pg.evaluate("window.__bpl.state.heat.layers[0].shape[1]")
    frame = httpx.get(f"{server_url}/api/sessions/{sid}/at/23/frame", params={"output": res, "nodes": nodes})
    _, arrays = decode_frame(frame.content)
    heat = pg.evaluate("Array.from(window.__bpl.travel.view(window.__bpl.state).heat.output.data)")
    assert np.array_equal(np.asarray(heat, np.float32), arrays["heat.output"].ravel())
    live_heat = pg.evaluate("Array.from(window.__bpl.state.heat.output.data)")
    assert not np.array_equal(np.asarray(live_heat), heat), "the live run's boundary has moved on"
    # Hovering an edge reads step 23's numbers.
    point = pg.evaluate("window.__bpl.views.network.edgePoint(1, 2, 3, 0.4)")
    pg.mouse.move(point["x"], point["y"])
    tip = pg.locator("#tooltip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert "step 23" in text
    w = float(re.search(r"w\s+=\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    assert close(w, past["params"]["layers"][1]["W"][2][3], rel=1e-4)
    # The explain panel explains step 23.
    pg.mouse.click(point["x"], point["y"])
    panel = pg.get_by_test_id("explain-panel")
    pg.wait_for_function("() => document.querySelector('[data-testid=explain-step]')?.dataset.value === '23'")
    trace = past["trace"]["layers"][1]

    def value(testid: str) -> float:
        return float(panel.get_by_test_id(testid).get_attribute("data-value"))

    assert close(value("explain-grad"), trace["grad_W"][2][3])
    assert close(value("explain-update"), trace["update_W"][2][3])
    assert close(value("explain-after"), past["params"]["layers"][1]["W"][2][3])
    before = past["params"]["layers"][1]["W"][2][3] - trace["update_W"][2][3]
    assert close(value("explain-before"), before, 1e-9)
    # The live run is where it was, and one click brings the page back to it.
    assert step_count(pg) == 60
    pg.locator("#explain-close").click()
    pg.get_by_test_id("back-to-live").click()
    pill.wait_for(state="hidden")
    pg.wait_for_function(f"() => {NET}.dataset.step === '60'")
    assert pg.errors == []


def test_page_arrow_keys_move_through_the_past_one_step_while_paused(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    train(pg, server_url, 40)
    for _ in range(3):
        pg.keyboard.press("ArrowLeft")
    wait_shown(pg, 37)
    pg.keyboard.press("ArrowRight")
    wait_shown(pg, 38)
    pg.keyboard.press("ArrowRight")
    pg.keyboard.press("ArrowRight")
    pg.get_by_test_id("past-indicator").wait_for(state="hidden")
    assert step_count(pg) == 40, "→ back to the live end does not train"
    pg.keyboard.press("ArrowRight")
    assert wait_step(pg, "s >= 41") == 41, "→ at the live end steps as before"
    assert pg.errors == []


def test_page_scrubs_back_while_the_run_keeps_training(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    pg.locator("#speed").select_option("100")
    pg.get_by_test_id("play").click()
    wait_step(pg, "s >= 150")
    start, end = knob_and(pg, "Math.round(live / 2)")
    pg.mouse.move(start["x"] - 1, start["y"])
    pg.mouse.down()
    pg.mouse.move(end["x"], end["y"], steps=5)
    pg.mouse.up()
    shown = int(pg.evaluate("window.__bpl.travel.viewedStep()"))
    wait_shown(pg, shown)
    live = step_count(pg)
    assert 0 < shown < live
    wait_step(pg, f"s >= {live + 50}")
    assert pg.evaluate(f"{NET}.dataset.step") == str(shown), "the network stays at the shown step"
    assert pg.evaluate("window.__bpl.state.playing")
    sid, _ = session_of(pg)
    past = httpx.get(f"{server_url}/api/sessions/{sid}/at/{shown}").json()
    assert shown_layers(pg)[0]["W"] == flat(past["params"]["layers"][0]["W"])
    pg.keyboard.press("Escape")
    pg.get_by_test_id("past-indicator").wait_for(state="hidden")
    pg.wait_for_function(f"() => Number({NET}.dataset.step) > {live}")
    pg.get_by_test_id("pause").click()
    assert pg.errors == []


def test_page_compare_shows_two_steps_side_by_side(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    train(pg, server_url, 80)
    pg.get_by_test_id("compare-open").click()
    panel = pg.get_by_test_id("compare-panel")
    panel.wait_for(state="visible")
    pg.get_by_test_id("compare-a").fill("10")
    pg.get_by_test_id("compare-b").fill("70")
    pg.get_by_test_id("compare-b").press("Enter")
    pg.wait_for_function(
        "() => { const p = document.querySelector('[data-testid=compare-panel]');"
        " return p.dataset.status === 'ok' && p.dataset.shownA === '10' && p.dataset.shownB === '70'; }"
    )
    sid, _ = session_of(pg)
    want = httpx.get(f"{server_url}/api/sessions/{sid}/compare", params={"a": 10, "b": 70}).json()
    assert pg.get_by_test_id("compare-step-a").inner_text() == "10"
    assert pg.get_by_test_id("compare-step-b").inner_text() == "70"
    rows = panel.get_by_test_id("compare-norms").locator("tbody tr")
    assert rows.count() == len(want["layers"]) == 3
    for k, layer in enumerate(want["layers"]):
        cells = {
            c: float(rows.nth(k).locator(f"[data-col={c}]").get_attribute("data-value"))
            for c in ("norm-a", "norm-b", "change")
        }
        assert close(cells["norm-a"], layer["norm_a"]) and close(cells["norm-b"], layer["norm_b"])
        change = math.sqrt(sum(np.sum(np.asarray(v) ** 2) for v in layer["change"].values()))
        assert close(cells["change"], change, 1e-9)
    shown = re.search(r"train (\S+)", pg.get_by_test_id("compare-eval-b").inner_text())
    assert shown and close(float(shown.group(1)), want["eval_b"]["train_loss"], 1e-3)
    # Both decision boundaries are drawn, and they differ.
    pixels = """(id) => { const c = document.querySelector(`[data-testid=${id}]`);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;
        for (let i = 0; i < d.length; i += 97) s += d[i]; return [c.width, s]; }"""
    wa, sa = pg.evaluate(pixels, "compare-plane-a")
    wb, sb = pg.evaluate(pixels, "compare-plane-b")
    assert wa > 100 and wb > 100 and sa > 0 and sb > 0 and sa != sb
    # Hovering a weight of the change drawing reads its ΔW.
    box = pg.get_by_test_id("compare-network").bounding_box()
    readout = pg.get_by_test_id("compare-readout")
    for fx in (0.3, 0.35, 0.4, 0.45, 0.6, 0.65, 0.7):
        pg.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5)
        if "ΔW" in readout.inner_text():
            break
    match = re.search(r"ΔW(\d)\[(\d+)\]\[(\d+)\] = (\S+)", readout.inner_text())
    assert match, readout.inner_text()
    k, i, j = (int(g) for g in match.groups()[:3])
    assert close(float(match.group(4)), want["layers"][k - 1]["change"]["W"][i][j], 1e-4)
    # Dragging marker B on the timeline compares another step.
    pg.wait_for_function("() => window.__bpl.views.timeline.drawnStep() === window.__bpl.state.step")
    b = pg.evaluate("window.__bpl.views.timeline.pointAt(70)")
    to = pg.evaluate("window.__bpl.views.timeline.pointAt(40)")
    pg.mouse.move(b["x"], b["y"])
    pg.mouse.down()
    pg.mouse.move(to["x"], to["y"], steps=6)
    pg.mouse.up()
    pg.wait_for_function(
        "() => { const p = document.querySelector('[data-testid=compare-panel]');"
        " return p.dataset.status === 'ok' && p.dataset.shownA === '10'"
        " && Math.abs(Number(p.dataset.shownB) - 40) <= 2; }"
    )
    assert not pg.evaluate("window.__bpl.travel.viewing()"), "dragging a marker does not scrub"
    assert pg.errors == []


def test_page_fork_from_a_past_step_opens_a_session_that_trains_independently(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    train(pg, server_url, 60)
    parent, _ = session_of(pg)
    scrub_to(pg, 30)
    pg.get_by_test_id("fork-open").click()
    pg.get_by_test_id("fork-panel").wait_for(state="visible")
    assert pg.get_by_test_id("fork-step").input_value() == "30"
    pg.get_by_test_id("fork-optimizer").select_option("adam")
    pg.get_by_test_id("fork-lr").fill("0.01")
    pg.get_by_test_id("fork-create").click()
    pg.wait_for_function(f"() => window.__bpl.state.session.id !== '{parent}'")
    fork = wait_live(pg)
    fork_token = str(pg.evaluate("window.__bpl.state.session.token"))
    assert pg.url.endswith(f"?session={fork}")
    assert pg.evaluate(f"sessionStorage.getItem('bpl.token.{fork}')") == fork_token
    assert pg.evaluate("window.__bpl.state.session.role") == "controller"
    info = httpx.get(f"{server_url}/api/sessions/{fork}").json()
    assert info["parent"] == {"id": parent, "step": 30}
    assert info["config"]["training"]["optimizer"]["name"] == "adam"
    assert info["config"]["training"]["optimizer"]["lr"] == 0.01
    assert step_count(pg) == 30
    assert not pg.get_by_test_id("past-indicator").is_visible(), "the fork opens live"
    for n in (31, 32, 33):
        pg.get_by_test_id("step").click()
        wait_step(pg, f"s >= {n}")
    assert httpx.get(f"{server_url}/api/sessions/{parent}").json()["step"] == 60, "the parent did not move"
    forked = httpx.get(f"{server_url}/api/sessions/{fork}/params").json()["layers"]
    straight = httpx.get(f"{server_url}/api/sessions/{parent}/at/33").json()["params"]["layers"]
    assert forked[0]["W"] != straight[0]["W"], "the fork left its parent's path"
    # Both curves: the parent's, dashed, beside the fork's; and a way back to the parent.
    pg.wait_for_function(
        "() => (window.__bpl.travel.lossExtras(window.__bpl.state)?.curves ?? []).length >= 2"
    )
    back = pg.locator(f"#timeline-legend [data-session='{parent}']")
    back.wait_for()
    assert "forked at 30" in back.inner_text()
    back.click()
    pg.wait_for_function(f"() => window.__bpl.state.session.id === '{parent}'")
    wait_live(pg)
    pg.locator(f"#timeline-legend [data-session='{fork}']").wait_for()
    assert pg.evaluate("window.__bpl.state.travel.forks.map((f) => [f.id, f.parent_step])") == [[fork, 30]]
    assert pg.errors == []
    httpx.delete(f"{server_url}/api/sessions/{fork}", headers={"Authorization": f"Bearer {fork_token}"})


def test_page_gradient_check_shows_numeric_beside_analytic_within_1e_6_in_float64(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    train(pg, server_url, 20)
    sid, _ = session_of(pg)
    # The whole network.
    pg.get_by_test_id("gradcheck-open").click()
    pg.get_by_test_id("gradcheck-panel").wait_for(state="visible")
    pg.get_by_test_id("gradcheck-run").click()
    verdict = pg.get_by_test_id("gradcheck-verdict")
    verdict.wait_for()
    assert verdict.get_attribute("data-ok") == "true"
    assert float(verdict.get_attribute("data-value")) <= 1e-6
    assert "float64" in pg.get_by_test_id("gradcheck-dtype").inner_text()
    assert "step 20" in verdict.inner_text()
    parameters = httpx.get(f"{server_url}/api/sessions/{sid}").json()["parameters"]
    rows = pg.get_by_test_id("gradcheck-table").locator("tbody tr")
    assert rows.count() == min(parameters, 200)
    assert pg.locator("[data-testid=gradcheck-table] tr[data-status=flagged]").count() == 0
    # One layer.
    pg.get_by_test_id("gradcheck-scope").select_option("1")
    pg.get_by_test_id("gradcheck-run").click()
    pg.wait_for_function(
        "() => document.querySelectorAll('[data-testid=gradcheck-table] tbody tr').length === 72"
    )
    assert all(t.startswith("L2.") for t in rows.locator("td:first-child").all_inner_texts())
    pg.get_by_role("button", name="Close the gradient check").click()
    # The weight in the explain panel.
    point = pg.evaluate("window.__bpl.views.network.edgePoint(1, 2, 3, 0.4)")
    pg.mouse.click(point["x"], point["y"])
    pg.get_by_test_id("explain-grad").wait_for()
    pg.get_by_test_id("explain-check-run").click()
    result = pg.get_by_test_id("explain-check-result")
    pg.get_by_test_id("explain-check-analytic").wait_for()
    assert result.get_attribute("data-ok") == "true"
    assert float(result.get_attribute("data-value")) <= 1e-6
    trace = httpx.get(f"{server_url}/api/sessions/{sid}/trace").json()
    analytic = float(pg.get_by_test_id("explain-check-analytic").get_attribute("data-value"))
    numeric = float(pg.get_by_test_id("explain-check-numeric").get_attribute("data-value"))
    assert close(analytic, trace["layers"][1]["grad_W"][2][3], 1e-12)
    assert close(numeric, analytic, 1e-6)
    assert "float64" in result.inner_text()
    assert pg.errors == []


def test_page_timeline_screenshot(open_page: OpenPage, tmp_path: Path) -> None:
    pg = open_page()
    pg.get_by_test_id("play").click()
    wait_step(pg, "s >= 1500")
    pg.get_by_test_id("pause").click()
    pg.wait_for_function("() => !window.__bpl.state.playing")
    live = step_count(pg)
    scrub_to(pg, live // 4)
    out = DOCS if os.environ.get("BPL_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    pg.mouse.move(5, 5)
    pg.wait_for_timeout(200)  # let the last hover redraw land before the picture
    pg.screenshot(path=str(out / "timeline.png"))
    assert pg.evaluate("document.documentElement.scrollWidth") <= 1280
    box = pg.get_by_test_id("timeline").bounding_box()
    chart = pg.get_by_test_id("loss-chart").bounding_box()
    assert box and chart and abs(box["x"] - chart["x"]) < 1 and abs(box["width"] - chart["width"]) < 1
    assert pg.errors == []
