"""The data panel and the output plane with the user's own data: added points, pasted CSV, a 1-D curve."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.frontend.conftest import OpenPage, wait_live

pytestmark = pytest.mark.browser

CORNERS = [(0.3, 0.3), (0.65, 0.3), (0.3, 0.6), (0.65, 0.6)]

# distinct colours over a grid of the plane's canvas: a heatmap under points has many,
# a one-line message on a blank canvas a handful
COLOURS = """() => {
  const c = document.querySelector('[data-testid=output-plane]');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let y = Math.floor(c.height * 0.1); y < c.height * 0.8; y += 5)
    for (let x = Math.floor(c.width * 0.2); x < c.width * 0.8; x += 5) {
      const i = (y * c.width + x) * 4;
      seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
    }
  return seen.size;
}"""

# mean |prediction − target| over the training points, the prediction read off the drawn curve
CURVE_ERROR = """() => {
  const s = window.__bpl.state;
  const c = s.heat.curve;
  const [lo, hi] = c.domain;
  const n = c.values.length;
  let sum = 0;
  s.data.pointsTrain.forEach((p, i) => {
    const f = ((p[0] - lo) / (hi - lo)) * (n - 1);
    const k = Math.min(n - 2, Math.floor(f));
    const v = c.values[k] + (c.values[k + 1] - c.values[k]) * (f - k);
    sum += Math.abs(v - s.data.targetsTrain[i]);
  });
  return sum / s.data.pointsTrain.length;
}"""


def session_id(pg: Any) -> str:
    return str(pg.evaluate("window.__bpl.state.session.id"))


def data_info(server_url: str, sid: str) -> Any:
    return httpx.get(f"{server_url}/api/sessions/{sid}").json()["data"]


def pick_class(pg: Any, label: int) -> None:
    button = pg.locator(f'.add-classes button[aria-label="Add points of class {label}"]')
    if button.get_attribute("aria-pressed") != "true":
        button.click()


def click_plane(pg: Any, spots: list[tuple[float, float]]) -> None:
    box = pg.get_by_test_id("output-plane").bounding_box()
    for fx, fy in spots:
        pg.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def rebuilt(pg: Any, old_id: str) -> str:
    """Wait for the session that replaces old_id to be live and its plane drawn; return its id."""
    pg.wait_for_function(f"() => window.__bpl.state.session.id !== {old_id!r}")
    sid = wait_live(pg)
    pg.wait_for_function("() => document.getElementById('plane-caption').textContent === 'network output'")
    return sid


def assert_plane_drawn(pg: Any) -> None:
    assert pg.evaluate("window.__bpl.state.data.kind") == "table"
    assert pg.locator("#plane-caption").inner_text() == "network output"
    assert pg.evaluate(COLOURS) > 40
    # clicks are taken: the plane shows the adding cursor only when it has a plane to add to
    # (set by the next drawn frame after a class is picked: wait for it rather than read at once)
    pg.wait_for_function("() => document.getElementById('output-plane').classList.contains('adding')")
    assert pg.locator(".add-points").is_visible()


def test_points_added_on_the_plane_keep_drawing_and_taking_more(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    first = session_id(pg)
    n0 = data_info(server_url, first)["n_train"]
    plane = data_info(server_url, first)["domain"]
    pick_class(pg, 0)
    click_plane(pg, CORNERS)
    sid = rebuilt(pg, first)
    assert_plane_drawn(pg)
    assert data_info(server_url, sid)["n_train"] == n0 + 4

    pick_class(pg, 1)
    click_plane(pg, [(0.4, 0.45), (0.5, 0.45), (0.6, 0.45), (0.5, 0.35)])
    sid2 = rebuilt(pg, sid)
    assert_plane_drawn(pg)
    assert data_info(server_url, sid2)["n_train"] == n0 + 8

    # cleared, the plane still takes points: two of each class make a new data set
    pg.locator("#clear-points").click()
    pick_class(pg, 0)
    click_plane(pg, CORNERS[:2])
    pick_class(pg, 1)
    click_plane(pg, CORNERS[2:])
    sid3 = rebuilt(pg, sid2)
    assert_plane_drawn(pg)
    info = data_info(server_url, sid3)
    assert (info["n_train"], info["n_test"]) == (4, 0)
    # four points near the corners: the plane stays the one they were clicked on, not their range
    assert info["domain"] == plane
    assert pg.errors == []


def paste(pg: Any, text: str) -> None:
    pg.locator("#paste-csv").click()
    pg.locator("#csv-text").fill(text)


def test_a_pasted_two_column_csv_draws_on_the_plane_and_takes_points(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    first = session_id(pg)
    rows = ["x1,x2,label"] + [f"{(i % 10) - 4.5},{(i // 10) - 2},{int((i % 10) > 4)}" for i in range(50)]
    paste(pg, "\n".join(rows))
    assert pg.locator("#csv-summary").inner_text().startswith("50 good rows, 2 features, binary")
    assert pg.locator("#csv-ok").inner_text() == "Use this data"
    pg.locator("#csv-ok").click()
    sid = rebuilt(pg, first)
    info = data_info(server_url, sid)
    assert info["n_train"] + info["n_test"] == 50
    pick_class(pg, 1)
    assert_plane_drawn(pg)
    # hovering an input node shows its map, named after its column; leaving it, the output again
    hover = "h => { window.__bpl.state.ui.hover = h; window.__bpl.state.dirty = true; }"
    pg.evaluate(hover, {"kind": "node", "column": 0, "unit": 0})
    pg.wait_for_function("() => document.getElementById('plane-caption').textContent === 'showing x1'")
    pg.evaluate(hover, None)
    pg.wait_for_function("() => document.getElementById('plane-caption').textContent === 'network output'")
    pick_class(pg, 0)
    click_plane(pg, CORNERS)
    sid2 = rebuilt(pg, sid)
    assert data_info(server_url, sid2)["n_train"] == info["n_train"] + 4
    assert_plane_drawn(pg)
    assert pg.errors == []


def test_pasted_rows_in_error_are_shown_and_the_user_decides(open_page: OpenPage, server_url: str) -> None:
    pg = open_page()
    first = session_id(pg)
    ok = pg.locator("#csv-ok")
    paste(pg, "a,b\nfoo,bar")
    assert 'line 2: "foo" is not a number' in pg.locator("#csv-errors").inner_text()
    assert ok.is_disabled()
    assert pg.locator("#csv-dialog").is_visible()

    pg.locator("#csv-text").fill("1,2,0\n3,4,1\n5,six,0\n7,8,1\n9,10")
    errors = pg.locator("#csv-errors").inner_text()
    assert 'line 3: "six" is not a number' in errors and "line 5: 2 columns, expected 3" in errors
    assert "2 rows in error would be left out" in pg.locator("#csv-summary").inner_text()
    assert ok.is_enabled() and ok.inner_text() == "Use the 3 good rows"
    ok.click()
    sid = rebuilt(pg, first)
    info = data_info(server_url, sid)
    assert (info["n_train"], info["n_test"]) == (3, 0)
    assert pg.errors == []


def test_the_sine_curve_is_drawn_and_fits_the_targets_as_it_trains(open_page: OpenPage) -> None:
    pg = open_page()
    first = session_id(pg)
    pg.locator(".thumb[data-dataset=sine]").click()
    pg.wait_for_function(f"() => window.__bpl.state.session.id !== {first!r}")
    wait_live(pg)
    fresh = (
        "() => { const s = window.__bpl.state;"
        " return !s.playing && s.heat.curve && s.heat.curve.step === s.step; }"
    )
    pg.wait_for_function(fresh)
    assert pg.evaluate("window.__bpl.state.data.kind") == "line"
    # the caption and the data panel follow on the next drawn frame
    pg.wait_for_function("() => document.getElementById('plane-caption').textContent === 'network output'")
    # nothing to click in by class or to discretize on a line; test points still show
    assert pg.locator(".add-points").is_hidden()
    assert pg.locator("#discretize").is_hidden()
    assert pg.locator("#show-test").is_visible()
    before = pg.evaluate(CURVE_ERROR)
    image = pg.evaluate("document.querySelector('[data-testid=output-plane]').toDataURL()")

    pg.get_by_test_id("play").click()
    pg.wait_for_function("() => window.__bpl.state.step >= 400")
    pg.get_by_test_id("pause").click()
    pg.wait_for_function(fresh)
    after = pg.evaluate(CURVE_ERROR)
    assert after < 0.7 * before
    # the curve drawn moved too (on a drawn frame after the new curve arrived)
    moved = "(before) => document.getElementById('output-plane').toDataURL() !== before"
    pg.wait_for_function(moved, arg=image)
    assert pg.errors == []
