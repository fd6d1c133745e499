"""The explain panels in real Chromium against the real server: every number they show is the API's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.frontend.conftest import OpenPage, wait_step

pytestmark = pytest.mark.browser

PANEL = "[data-testid=explain-panel]"


def session_of(pg: Any) -> tuple[str, str]:
    state = pg.evaluate("window.__bpl.state.session")
    return str(state["id"]), str(state["token"])


def control(pg: Any, server_url: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A change to the page's session over REST, with the page's own control token."""
    sid, token = session_of(pg)
    response = httpx.request(
        method,
        f"{server_url}/api/sessions/{sid}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def train(pg: Any, server_url: str, steps: int = 1) -> int:
    target = int(control(pg, server_url, "POST", "/step", {"steps": steps})["step"])
    wait_step(pg, f"s === {target}")
    return target


def explain_api(pg: Any, server_url: str, query: str) -> dict[str, Any]:
    sid, _ = session_of(pg)
    response = httpx.get(f"{server_url}/api/sessions/{sid}/explain?{query}", timeout=30)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def shown(pg: Any, testid: str) -> float:
    return float(pg.locator(f"{PANEL} [data-testid={testid}]").get_attribute("data-value"))


def wait_panel_step(pg: Any, step: int) -> None:
    pg.wait_for_function(
        "(step) => document.querySelector('[data-testid=explain-step]')?.dataset.value === String(step)",
        arg=step,
    )


def test_a_clipped_weight_shows_the_clip_factor_and_sum_plus_regularizer_times_it_is_the_gradient(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page("data=circle&d.features=x1,x1·x2")
    control(
        pg,
        server_url,
        "PATCH",
        "",
        {"training": {"clip_norm": 0.01, "regularization": {"kind": "l1", "rate": 0.01}}},
    )
    pg.wait_for_function("() => window.__bpl.state.config.training.clip_norm === 0.01")
    step = train(pg, server_url, 2)
    # the hover read-out and the explain title name the edge's input the same way
    point = pg.evaluate("window.__bpl.views.network.edgePoint(0, 1, 4, 0.4)")
    pg.mouse.move(point["x"], point["y"])
    tooltip = pg.locator("#tooltip")
    tooltip.wait_for(state="visible")
    assert "from input x1·x2 to layer 1 unit 4" in tooltip.inner_text()
    pg.mouse.click(point["x"], point["y"])
    pg.locator(f"{PANEL} [data-testid=explain-clip]").wait_for()
    wait_panel_step(pg, step)
    assert "from input x1·x2 to layer 1 unit 4" in pg.get_by_test_id("explain-title").inner_text()

    d = explain_api(pg, server_url, "layer=0&param=W&index=1,4")
    assert d["clipped"] is True and 0 < d["clip_scale"] < 1
    assert shown(pg, "explain-grad-data") == d["grad_data"]
    l1_term = -0.01 if d["value_before"] < 0 else 0.01
    assert shown(pg, "explain-grad-reg") == d["grad_reg"] == pytest.approx(l1_term)
    assert shown(pg, "explain-grad-unclipped") == d["grad_data"] + d["grad_reg"]
    assert shown(pg, "explain-clip") == d["clip_scale"]
    assert shown(pg, "explain-grad") == d["grad"]
    # the shown numbers multiply out: (Σ + regularization) × factor = ∂L/∂w
    product = shown(pg, "explain-grad-unclipped") * shown(pg, "explain-clip")
    assert product == pytest.approx(shown(pg, "explain-grad"), rel=1e-12)
    assert "clipping factor" in pg.locator(f"{PANEL} .eq").first.inner_text()
    assert pg.errors == []


# every optimizer, with the options that add internals (momentum, Nesterov, amsgrad, decay…)
OPTIMIZERS = [
    {"name": "sgd", "lr": 0.03},
    {"name": "sgd", "lr": 0.03, "momentum": 0.9, "nesterov": True},
    {"name": "adam", "lr": 0.01, "amsgrad": True},
    {"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
    {"name": "rmsprop", "lr": 0.01, "momentum": 0.5, "centered": True},
    {"name": "adagrad", "lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.001},
]


def test_the_optimizer_internals_are_labelled_as_the_rule_line_names_them_for_every_optimizer(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    train(pg, server_url)
    point = pg.evaluate("window.__bpl.views.network.edgePoint(1, 2, 3, 0.4)")
    pg.mouse.click(point["x"], point["y"])
    for optimizer in OPTIMIZERS:
        control(pg, server_url, "PATCH", "", {"training": {"optimizer": optimizer}})
        step = train(pg, server_url, 2)
        wait_panel_step(pg, step)
        opt = explain_api(pg, server_url, "layer=1&param=W&index=2,3")["optimizer"]
        assert opt["name"] == optimizer["name"]
        inner = {k: v for k, v in opt.items() if isinstance(v, float | int) and k not in ("lr", "update")}
        assert {"grad", "effective_grad", "t"} <= set(inner), opt
        for key, value in inner.items():
            cell = pg.locator(f"{PANEL} [data-testid=explain-opt-{key}]")
            assert shown(pg, f"explain-opt-{key}") == value, (optimizer, key)
            label = cell.evaluate("(el) => el.parentElement.previousElementSibling.textContent")
            if key == "t":
                assert label == "t (step count)"
                continue
            symbol, _, raw = label.partition(" (")
            assert raw == f"{key})", (optimizer, label)
            if key == "grad":  # the gradient itself (adamw's rule line leaves out "g = ∂L/∂θ")
                assert symbol == "∂L/∂θ"
                continue
            assert symbol != key and symbol in opt["rule"], (optimizer, label, opt["rule"])
    assert pg.errors == []


def test_the_kernel_explanation_shows_the_optimizers_internals_like_the_dense_panel(
    page: Any, server_url: str
) -> None:
    pg = page
    pg.goto("/?data=digits")
    pg.wait_for_function(
        "() => window.__bpl && window.__bpl.state.session.status === 'live'"
        " && !document.querySelector('[data-testid=cnn-view]').hidden"
    )
    control(pg, server_url, "PATCH", "", {"training": {"optimizer": {"name": "adam", "lr": 0.01}}})
    step = train(pg, server_url, 2)
    pg.wait_for_function(
        "(step) => document.querySelector('[data-testid=cnn-maps]')?.dataset.step === String(step)", arg=step
    )
    point = pg.evaluate("window.__bpl.views.spatial.cnn.kernelPoint(0, 5, 0, 1, 2)")
    pg.mouse.click(point["x"], point["y"])
    panel = pg.get_by_test_id("spatial-explain")
    panel.get_by_test_id("sx-opt-exp_avg").wait_for()
    sid, _ = session_of(pg)
    answer = httpx.get(
        f"{server_url}/api/sessions/{sid}/explain/kernel?layer=0&filter=5&channel=0&i=1&j=2", timeout=30
    ).json()
    assert int(panel.get_by_test_id("sx-step").get_attribute("data-value")) == answer["step"] == step
    opt = answer["data"]["optimizer"]
    for key in ("grad", "effective_grad", "exp_avg", "exp_avg_sq", "m_hat", "v_hat", "denominator"):
        cell = panel.get_by_test_id(f"sx-opt-{key}")
        assert float(cell.get_attribute("data-value")) == opt[key], key
    label = panel.get_by_test_id("sx-opt-exp_avg").evaluate(
        "(el) => el.parentElement.previousElementSibling.textContent"
    )
    assert label == "m (exp_avg)"
    after = float(panel.get_by_test_id("sx-after").get_attribute("data-value"))
    assert after == answer["data"]["value_after"]
    assert pg.errors == []


def test_an_output_node_whose_delta_comes_from_the_loss_shows_no_unused_f_prime(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()  # sigmoid output with bce: δ = (a − y)/N
    step = train(pg, server_url)
    point = pg.evaluate("window.__bpl.views.network.nodePoint(3, 0)")
    pg.mouse.click(point["x"], point["y"])
    wait_panel_step(pg, step)
    headers = pg.locator(f"{PANEL} table.samples th").all_inner_texts()
    assert "δ" in headers and "target" in headers
    assert not any("f′" in h for h in headers), headers
    assert "no f′(z) factor" in pg.get_by_test_id("explain-fprime-note").inner_text()
    # a hidden node's δ does use f′(z), and shows it
    point = pg.evaluate("window.__bpl.views.network.nodePoint(2, 1)")
    pg.mouse.click(point["x"], point["y"])
    pg.wait_for_function(
        "() => [...document.querySelectorAll('#explain table.samples th')]"
        ".some((th) => th.textContent === 'f′(z)')"
    )
    assert pg.errors == []


def test_opening_the_panel_before_the_first_step_asks_the_server_nothing_and_logs_no_error(
    open_page: OpenPage, server_url: str
) -> None:
    pg = open_page()
    explain_requests: list[str] = []
    pg.on("request", lambda r: explain_requests.append(r.url) if "/explain" in r.url else None)
    point = pg.evaluate("window.__bpl.views.network.edgePoint(1, 2, 3, 0.4)")
    pg.mouse.click(point["x"], point["y"])
    message = pg.get_by_test_id("explain-message")
    message.wait_for()
    assert "No step has been traced yet" in message.inner_text()
    pg.wait_for_timeout(300)  # frames keep arriving: the panel must stay quiet at step 0
    assert explain_requests == []
    # the first step brings the numbers
    step = train(pg, server_url)
    wait_panel_step(pg, step)
    assert len(explain_requests) >= 1
    assert pg.errors == []
