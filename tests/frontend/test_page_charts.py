"""The loss / accuracy chart and the per-layer chart in real Chromium against the real server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.frontend.conftest import OpenPage, wait_step

pytestmark = pytest.mark.browser

DEEP_SIGMOID = "sigmoid:8," * 10 + "sigmoid:1"


def train_via_api(pg: Any, steps: int) -> None:
    """Train exactly ``steps`` steps in one call of the page's API client; wait until the page shows them."""
    pg.evaluate(
        "n => { const s = window.__bpl.state;"
        " return window.__bpl.api.step(s.session.id, s.session.token, n); }",
        steps,
    )
    wait_step(pg, f"s >= {steps}")


def play_until(pg: Any, steps: int) -> None:
    """Press play and pause once the step count reaches ``steps`` (evaluations arrive along the way)."""
    pg.get_by_test_id("play").click()
    wait_step(pg, f"s >= {steps}")
    pg.get_by_test_id("pause").click()
    pg.wait_for_function("() => !window.__bpl.state.playing")


def percent(v: float) -> str:
    """The page's formatPercent: three significant digits, no trailing zeros."""
    return f"{float(f'{v * 100:.3g}'):g}%"


def canvas_point(pg: Any, x: float, y: float) -> dict[str, float]:
    box = pg.get_by_test_id("loss-chart").bounding_box()
    return {"x": box["x"] + x, "y": box["y"] + y}


def strongest_pixel(pg: Any, x: float, y: float) -> list[int]:
    """RGBA of the bluest opaque pixel of the loss chart's canvas within 1 CSS px of (x, y)."""
    return list(
        pg.evaluate(
            """([x, y]) => {
                const c = document.querySelector('[data-testid=loss-chart]');
                const d = window.devicePixelRatio || 1;
                const r = Math.ceil(d);
                const img = c.getContext('2d')
                    .getImageData(Math.round(x * d) - r, Math.round(y * d) - r, 2 * r + 1, 2 * r + 1).data;
                // the bluest well-covered pixel: where the test curve crosses the train curve,
                // the most opaque one can be a blend of the two
                let best = [0, 0, 0, 0];
                for (let k = 0; k < img.length; k += 4) {
                    const bluer = img[k + 2] - img[k] > best[2] - best[0];
                    if (img[k + 3] > 150 && bluer) best = Array.from(img.slice(k, k + 4));
                }
                return best;
            }""",
            [x, y],
        )
    )


def test_accuracy_chart_draws_the_evaluated_train_and_test_accuracy_on_circle(open_page: OpenPage) -> None:
    pg = open_page("data=circle")
    play_until(pg, 600)
    pg.wait_for_function("() => window.__bpl.state.evals.length >= 3")
    group = pg.get_by_role("radiogroup", name="Loss chart: show loss or accuracy")
    assert group.is_visible()
    accuracy = group.get_by_role("radio", name="accuracy")
    accuracy.click()
    assert accuracy.get_attribute("aria-checked") == "true"
    assert group.get_by_role("radio", name="loss").get_attribute("aria-checked") == "false"
    pg.wait_for_function("() => window.__bpl.views.loss.geometry?.mode === 'accuracy'")
    assert "Accuracy" in (pg.get_by_test_id("loss-chart").get_attribute("aria-label") or "")
    assert pg.locator("#log-scale").is_disabled()

    # Hover three quarters of the way along: the read-out gives that evaluation's accuracies.
    geom = pg.evaluate("(() => { const g = window.__bpl.views.loss.geometry; return g.box; })()")
    hover_x = geom["x"] + geom["w"] * 0.75
    pg.mouse.move(**canvas_point(pg, hover_x, geom["y"] + geom["h"] / 2))
    pg.wait_for_function("() => window.__bpl.views.loss.readout !== null")
    expected = pg.evaluate(
        """x => {
            const { state, views } = window.__bpl;
            const j = state.evals.nearest(Math.round(views.loss.geometry.sx.invert(x)));
            return { step: state.evals.steps[j], train: state.evals.column('train_accuracy')[j],
                     test: state.evals.column('test_accuracy')[j] };
        }""",
        hover_x,
    )
    assert 0.5 < expected["train"] <= 1 and 0.5 < expected["test"] <= 1, expected
    readout = pg.evaluate("window.__bpl.views.loss.readout")
    assert readout[:3] == [
        f"step {round(expected['step'])}",
        f"train {percent(expected['train'])}",
        f"test {percent(expected['test'])}",
    ], readout

    # Away from the cross-hair, the train curve is drawn where its accuracy lies on the axis.
    pg.mouse.move(1, 1)
    pg.wait_for_function("() => window.__bpl.views.loss.readout === null")
    at = pg.evaluate(
        """() => {
            const { state, views } = window.__bpl;
            // of the later evaluations, the one where the train and test curves lie furthest
            // apart, so the test curve (drawn over it) cannot hide the train curve's pixels
            const g = views.loss.geometry, tr = state.evals.column('train_accuracy');
            const te = state.evals.column('test_accuracy');
            let i = state.evals.length >> 1;
            for (let k = i + 1; k < state.evals.length; k++)
                if (Math.abs(g.sy(tr[k]) - g.sy(te[k])) > Math.abs(g.sy(tr[i]) - g.sy(te[i]))) i = k;
            return { x: g.sx(state.evals.steps[i]), y: g.sy(tr[i]),
                     top: g.box.y, bottom: g.box.y + g.box.h };
        }"""
    )
    # a good accuracy sits in the top part of the plot (a loss near 0 would sit at the bottom)
    assert at["y"] < at["top"] + (at["bottom"] - at["top"]) / 2, at
    r, g, b, a = strongest_pixel(pg, at["x"], at["y"])
    assert a > 150 and b > r + 40, ("the train line's colour #1b5fa6 is blue", r, g, b, a)

    # Back to loss: the log box works again and the chart says so.
    group.get_by_role("radio", name="loss").click()
    pg.wait_for_function("() => window.__bpl.views.loss.geometry?.mode === 'loss'")
    assert pg.locator("#log-scale").is_enabled()
    assert pg.errors == []


def test_accuracy_switch_is_hidden_for_a_regression_task(open_page: OpenPage) -> None:
    pg = open_page("data=reg-plane")
    pg.wait_for_function("() => window.__bpl.state.eval !== null")
    pg.wait_for_timeout(200)  # a few frames for the view to notice the task
    assert pg.get_by_test_id("loss-chart-mode").is_hidden()
    assert pg.locator("#log-scale").is_enabled()
    assert pg.errors == []


def test_loss_chart_tick_labels_and_log_box_stay_inside_at_1280x720(open_page: OpenPage) -> None:
    pg = open_page()
    train_via_api(pg, 2000)
    pg.wait_for_function("() => window.__bpl.views.loss.geometry !== null")
    pg.mouse.move(1, 1)
    pg.wait_for_timeout(200)
    # The last x tick (2000) sits on the plot's right edge: no ink right of the plot on the label row.
    ink = pg.evaluate(
        """() => {
            const c = document.querySelector('[data-testid=loss-chart]');
            const { box } = window.__bpl.views.loss.geometry;
            const d = window.devicePixelRatio || 1;
            const x0 = Math.ceil((box.x + box.w + 1) * d), y0 = Math.floor((box.y + box.h + 2) * d);
            const img = c.getContext('2d').getImageData(x0, y0, c.width - x0, Math.round(12 * d)).data;
            let n = 0;
            for (let k = 3; k < img.length; k += 4) if (img[k] > 40) n++;
            return n;
        }"""
    )
    assert ink == 0, f"{ink} pixels of tick label past the plot's right edge"
    # The log box keeps its whole label inside the card, even with the longest readouts.
    fits = pg.evaluate(
        """() => {
            for (const id of ['train-loss', 'test-loss'])
                document.getElementById(id).textContent = '0.0001234';
            document.getElementById('test-acc').textContent = '100%';
            const label = document.getElementById('log-scale').closest('label').getBoundingClientRect();
            const card = document.getElementById('log-scale').closest('.card').getBoundingClientRect();
            const losses = document.querySelector('.losses');
            return { label: [label.left, label.right], card: [card.left, card.right],
                     overflow: losses.scrollWidth - losses.clientWidth };
        }"""
    )
    assert fits["card"][0] <= fits["label"][0] and fits["label"][1] <= fits["card"][1], fits
    assert fits["overflow"] <= 0, fits
    assert pg.errors == []


def test_layer_legend_shows_a_dash_before_the_first_step(open_page: OpenPage) -> None:
    pg = open_page()
    legend = pg.locator("#layer-legend")
    pg.wait_for_function("() => document.getElementById('layer-legend').textContent.includes('out')")
    text = legend.inner_text()
    assert "NaN" not in text
    assert "L1 —" in text and "out —" in text, text
    assert pg.errors == []


def test_deep_sigmoid_net_flags_its_lower_layers_vanishing_and_nothing_exploding(open_page: OpenPage) -> None:
    pg = open_page(f"data=circle&net={DEEP_SIGMOID}&loss=bce&m.initializer=uniform")
    train_via_api(pg, 300)
    pg.wait_for_function("() => document.querySelector('#layer-legend .flag.vanishing') !== null")
    pg.wait_for_timeout(300)  # the legend settles on the last step's norms
    flags = pg.evaluate(
        "[...document.querySelectorAll('#layer-legend > span')]"
        ".map(s => s.querySelector('.flag')?.textContent ?? null)"
    )
    assert len(flags) == 11, flags
    assert "exploding" not in flags, flags
    assert flags[0] == "vanishing" and flags[-1] is None, flags
    assert pg.errors == []
