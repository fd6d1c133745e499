"""Classroom in real Chromium: a presenter page and a viewer page (two contexts of one browser),
lessons and races."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.classroom import load_lessons
from tests.frontend.conftest import TIMEOUT_MS, step_count, wait_live, wait_step

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots with ``BPL_SCREENSHOTS=1`` (to refresh the docs), else the test's own folder."""
    return DOCS if os.environ.get("BPL_SCREENSHOTS") == "1" else tmp_path


def new_page(browser: Any, server_url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=server_url)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.errors = errors  # type: ignore[attr-defined]
    return context, pg


@pytest.fixture
def two_pages(browser: Any, server_url: str) -> Iterator[tuple[Any, Any]]:
    """A presenter page and a viewer page, in two contexts (two users) of one Chromium."""
    made = [new_page(browser, server_url), new_page(browser, server_url)]
    try:
        yield made[0][1], made[1][1]
    finally:
        for context, _ in made:
            context.close()


def present(pg: Any) -> str:
    pg.goto("/")
    wait_live(pg)
    pg.get_by_test_id("present").click()
    pg.wait_for_function("() => document.querySelector('[data-testid=join-code]').textContent.length === 6")
    code = str(pg.get_by_test_id("join-code").inner_text())
    pg.get_by_test_id("present").click()  # hide the join panel; presenting goes on
    pg.get_by_test_id("present-panel").wait_for(state="hidden")
    return code


def join(pg: Any, code: str) -> str:
    pg.goto(f"/?join={code}")
    return wait_live(pg)


def session_id(pg: Any) -> str:
    return str(pg.evaluate("window.__bpl.state.session.id"))


def test_presenting_shows_a_join_code_link_and_qr_code(page: Any, server_url: str) -> None:
    code = present(page)
    page.get_by_test_id("present").click()
    page.get_by_test_id("present-panel").wait_for(state="visible")
    assert page.get_by_test_id("join-link").inner_text() == f"{server_url}/?join={code}"
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-testid=join-qr]');"
        " return img.complete && img.naturalWidth > 50; }"
    )
    assert httpx.get(f"{server_url}/api/join/{code}").json()["session"] == session_id(page)
    assert page.get_by_test_id("present").inner_text() == f"● {code}"
    assert page.errors == []


def test_a_viewer_follows_the_presenters_panel_weight_and_steps_but_cannot_control(
    two_pages: tuple[Any, Any], server_url: str
) -> None:
    presenter, viewer = two_pages
    code = present(presenter)
    assert join(viewer, code) == session_id(presenter)
    assert viewer.evaluate("window.__bpl.state.session.role") == "viewer"
    assert viewer.url.endswith(f"/?join={code}")
    # lockstep stepping: the presenter steps, the viewer shows the same step
    for expected in (1, 2):
        presenter.get_by_test_id("step").click()
        wait_step(viewer, f"s >= {expected}")
    # the presenter explains a weight and colours edges by gradient: the viewer's page does the same
    point = presenter.evaluate("window.__bpl.views.network.edgePoint(1, 2, 3, 0.4)")
    presenter.mouse.click(point["x"], point["y"])
    presenter.locator("[data-edge=grad]").click()
    panel = viewer.get_by_test_id("explain-panel")
    panel.wait_for(state="visible")
    viewer.wait_for_function(
        "() => document.querySelector('[data-testid=explain-step]')?.dataset.value === '2'"
    )
    assert viewer.evaluate("JSON.stringify(window.__bpl.state.ui.selected)") == json.dumps(
        {"kind": "weight", "layer": 1, "param": "W", "index": [2, 3]}, separators=(",", ":")
    )
    viewer.wait_for_function("() => window.__bpl.state.ui.edgeMode === 'grad'")
    assert viewer.locator("[data-edge=grad]").get_attribute("aria-checked") == "true"
    assert viewer.get_by_test_id("explain-grad").get_attribute("data-value") == (
        presenter.get_by_test_id("explain-grad").get_attribute("data-value")
    )
    # closing the panel closes it for the class
    presenter.locator("#explain-close").click()
    panel.wait_for(state="hidden")
    # play and pause reach the viewer
    presenter.get_by_test_id("play").click()
    viewer.wait_for_function("() => window.__bpl.state.playing")
    presenter.get_by_test_id("pause").click()
    viewer.wait_for_function("() => !window.__bpl.state.playing")
    # the viewer's controls are off; the keyboard does nothing
    for hook in ("play", "step", "reset"):
        assert viewer.get_by_test_id(hook).is_disabled(), hook
    assert viewer.get_by_test_id("lr").is_disabled()
    assert viewer.get_by_test_id("present").is_hidden() and viewer.get_by_test_id("lessons").is_hidden()
    # the pause event (text) can overtake the last frame (it waits for the viewer's frame slot)
    shown = httpx.get(f"{server_url}/api/sessions/{session_id(presenter)}").json()["step"]
    wait_step(viewer, f"s === {shown}")
    viewer.keyboard.press("ArrowRight")
    viewer.wait_for_timeout(300)
    assert httpx.get(f"{server_url}/api/sessions/{session_id(presenter)}").json()["step"] == shown
    assert step_count(viewer) == shown
    assert presenter.errors == [] and viewer.errors == []


def test_a_forged_control_message_from_the_viewers_page_is_refused(
    two_pages: tuple[Any, Any], server_url: str
) -> None:
    presenter, viewer = two_pages
    code = present(presenter)
    sid = join(viewer, code)
    replies = viewer.evaluate(
        """(sid) => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/sessions/${sid}`);
            const out = [];
            ws.onmessage = (ev) => {
              const m = JSON.parse(ev.data);
              if (m.type === 'hello') {
                ws.send(JSON.stringify({type: 'control', action: 'step', steps: 5, id: 1}));
                ws.send(JSON.stringify({type: 'control', token: 'forged', action: 'reset', id: 2}));
                ws.send(JSON.stringify({type: 'view', view: {edge: 'update'}, id: 3}));
              } else if (m.id) {
                out.push([m.type, m.code]);
                if (out.length === 3) { ws.close(); resolve(out); }
              }
            };
        })""",
        sid,
    )
    assert replies == [["error", 401], ["error", 403], ["error", 401]]
    assert httpx.get(f"{server_url}/api/sessions/{sid}").json()["step"] == 0
    presenter.wait_for_timeout(200)
    assert presenter.evaluate("window.__bpl.state.ui.edgeMode") == "weight"


def test_a_viewer_forks_and_the_fork_trains_on_its_own_while_the_presenter_sees_it(
    two_pages: tuple[Any, Any], server_url: str, tmp_path: Path
) -> None:
    presenter, viewer = two_pages
    code = present(presenter)
    class_id = join(viewer, code)
    for expected in (1, 2, 3):
        presenter.get_by_test_id("step").click()
        wait_step(viewer, f"s >= {expected}")
    viewer.get_by_test_id("fork").click()
    viewer.wait_for_function(
        f"() => window.__bpl.state.session.id !== '{class_id}'"
        " && window.__bpl.state.session.status === 'live'"
        " && window.__bpl.state.session.role === 'controller'"
    )
    fork_id = session_id(viewer)
    assert step_count(viewer) == 3
    assert viewer.get_by_test_id("back-to-class").is_visible()
    # the fork is the viewer's own: it plays while the class stays at step 3
    viewer.get_by_test_id("play").click()
    wait_step(viewer, "s >= 300")
    viewer.get_by_test_id("pause").click()
    viewer.wait_for_function("() => !window.__bpl.state.playing")
    assert httpx.get(f"{server_url}/api/sessions/{class_id}").json()["step"] == 3
    assert httpx.get(f"{server_url}/api/sessions/{fork_id}").json()["parent"] == {"id": class_id, "step": 3}
    # the presenter sees the fork's live loss
    row = presenter.locator(f"[data-testid=fork-row][data-id='{fork_id}']")
    row.wait_for()
    presenter.wait_for_function(
        f"() => Number(document.querySelector(\"[data-testid=fork-row][data-id='{fork_id}']\")"
        ".dataset.step) >= 300"
    )
    presenter.get_by_test_id("present").click()  # the join panel again, beside the forks
    presenter.get_by_test_id("present-panel").wait_for(state="visible")
    presenter.wait_for_timeout(1200)  # one more refresh of the forks' curves
    presenter.screenshot(path=str(screenshot_dir(tmp_path) / "classroom.png"))
    # back to the class
    viewer.get_by_test_id("back-to-class").click()
    viewer.wait_for_function(f"() => window.__bpl.state.session.id === '{class_id}'")
    assert viewer.evaluate("window.__bpl.state.session.role") == "viewer"
    assert presenter.errors == [] and viewer.errors == []


LESSONS = list(load_lessons())


@pytest.mark.parametrize("name", LESSONS)
def test_each_lesson_loads_its_session_and_runs_its_first_steps(
    page: Any, server_url: str, name: str
) -> None:
    page.goto("/")
    first = wait_live(page)
    page.get_by_test_id("lessons").click()
    page.locator(f".lesson-item[data-lesson='{name}']").click()
    card = page.get_by_test_id("lesson-panel")
    card.wait_for(state="visible")
    page.wait_for_function(
        f"() => {{ const c = document.querySelector('[data-testid=lesson-panel]');"
        f" return c.dataset.lesson === '{name}' && c.dataset.step === '0'"
        " && !c.classList.contains('busy'); }"
    )
    sid = wait_live(page)
    assert sid != first
    lesson = httpx.get(f"{server_url}/api/lessons/{name}").json()
    info = httpx.get(f"{server_url}/api/sessions/{sid}").json()
    assert [layer["type"] for layer in info["config"]["model"]["layers"]] == [
        layer["type"] for layer in lesson["config"]["model"]["layers"]
    ]
    assert page.locator(".lesson-body").inner_text() == lesson["steps"][0]["text"]
    page.get_by_test_id("lesson-next").click()
    page.wait_for_function(
        "() => { const c = document.querySelector('[data-testid=lesson-panel]');"
        " return c.dataset.step === '1' && !c.classList.contains('busy'); }",
        timeout=60_000,
    )
    # the lesson's session (or its race) has trained by now, or steps once it is told to
    current = session_id(page)
    race = page.evaluate("window.__bpl.classroom.race.current()")
    if race:
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=race-curves]').dataset.curves) >= 2"
        )
    else:
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=step-count]').textContent) >= 1"
            " || window.__bpl.state.playing",
            timeout=60_000,
        )
        # "playing" can arrive before the trainer's first slice: give the server a moment
        for _ in range(100):
            if httpx.get(f"{server_url}/api/sessions/{current}").json()["step"] >= 1:
                break
            time.sleep(0.1)
        assert httpx.get(f"{server_url}/api/sessions/{current}").json()["step"] >= 1
    assert page.errors == []


def test_a_race_of_three_optimizers_draws_three_curves_and_three_paths(
    page: Any, server_url: str, tmp_path: Path
) -> None:
    page.goto("/?data=spiral&d.noise=0&seed=7")
    wait_live(page)
    page.get_by_test_id("race").click()
    dialog = page.locator(".race-dialog")
    dialog.wait_for(state="visible")
    boxes = dialog.locator(".race-choices input")
    for k in range(boxes.count()):  # SGD, momentum and Adam
        boxes.nth(k).set_checked(k in (0, 1, 3))
    page.get_by_test_id("race-start").click()
    panel = page.get_by_test_id("race-panel")
    panel.wait_for(state="visible")
    page.get_by_test_id("race-play").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=race-member]')]"
        ".every((m) => Number(m.dataset.step) >= 1500)",
        timeout=60_000,
    )
    page.wait_for_function("() => document.querySelector('[data-testid=race-curves]').dataset.curves === '3'")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=race-landscape]').dataset.paths === '3'"
    )
    labels = page.locator("[data-testid=race-member]").evaluate_all("(ms) => ms.map((m) => m.dataset.label)")
    assert labels == ["SGD", "momentum", "Adam"]
    race_id = page.evaluate("window.__bpl.classroom.race.current()")
    info = httpx.get(f"{server_url}/api/races/{race_id}").json()
    steps = {m["step"] for m in info["members"]}
    assert len(steps) == 1  # trained in step
    page.get_by_test_id("race-pause").click()
    page.wait_for_timeout(1600)  # one more landscape refresh after the pause
    panel.screenshot(path=str(screenshot_dir(tmp_path) / "race.png"))
    assert page.errors == []
    # leaving the page ends the race it started, members and all
    page.get_by_test_id("race-play").click()
    page.goto("about:blank")
    for _ in range(100):
        if httpx.get(f"{server_url}/api/races/{race_id}").status_code == 404:
            break
        time.sleep(0.1)
    assert httpx.get(f"{server_url}/api/races/{race_id}").status_code == 404
    assert all(httpx.get(f"{server_url}/api/sessions/{m['id']}").status_code == 404 for m in info["members"])


def test_a_class_follows_the_presenters_lesson_and_race(two_pages: tuple[Any, Any]) -> None:
    presenter, viewer = two_pages
    code = present(presenter)
    join(viewer, code)
    presenter.get_by_test_id("lessons").click()
    presenter.locator(".lesson-item[data-lesson='momentum-nesterov-adam']").click()
    # the lesson builds a new session: the class moves to it and shows the same card and race
    viewer.wait_for_function(
        "() => document.querySelector('[data-testid=lesson-panel]').dataset.lesson"
        " === 'momentum-nesterov-adam'"
    )
    viewer.get_by_test_id("race-panel").wait_for(state="visible")
    viewer.wait_for_function(
        f"() => window.__bpl.state.session.id === {json.dumps(session_id(presenter))}"
        " && window.__bpl.state.session.role === 'viewer'"
    )
    presenter.wait_for_function(
        "() => !document.querySelector('[data-testid=lesson-panel]').classList.contains('busy')"
    )
    presenter.get_by_test_id("lesson-next").click()
    viewer.wait_for_function(
        "() => document.querySelector('[data-testid=lesson-panel]').dataset.step === '1'"
    )
    viewer.wait_for_function(
        "() => Number(document.querySelector('[data-testid=race-curves]').dataset.curves) === 4"
    )
    assert viewer.get_by_test_id("race-play").is_hidden()  # the race is the presenter's
    assert viewer.get_by_test_id("lesson-next").is_hidden()
    assert presenter.errors == [] and viewer.errors == []
