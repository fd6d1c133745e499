"""Browser fixtures: Debian's Chromium driven by Playwright, against the live server of tests/conftest.py.

``page`` opens a fresh context per test and collects console errors and page
errors in ``page.errors``; ``open_page(query)`` loads the playground and waits
until its session is live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop running while it is
    # open, and the websocket tests that run after the browser modules need asyncio.run().
    with playwright_sync.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any, server_url: str) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 720}, base_url=server_url, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


OpenPage = Callable[..., Any]


def wait_live(pg: Any) -> str:
    """Wait until the page's session is connected and drawn; return its session id."""
    pg.wait_for_function(
        "() => window.__bpl && window.__bpl.state.session.status === 'live'"
        " && document.querySelector('[data-testid=network]').dataset.layers",
        timeout=TIMEOUT_MS,
    )
    return str(pg.evaluate("window.__bpl.state.session.id"))


@pytest.fixture
def open_page(page: Any) -> OpenPage:
    def open_(query: str = "") -> Any:
        page.goto("/" + (f"?{query}" if query else ""))
        wait_live(page)
        return page

    return open_


def step_count(pg: Any) -> int:
    return int(pg.get_by_test_id("step-count").inner_text())


def wait_step(pg: Any, predicate: str) -> int:
    """Wait until ``predicate`` (JS, over the variable ``s`` = the shown step) holds; return the step."""
    pg.wait_for_function(
        "() => { const s = Number(document.querySelector('[data-testid=step-count]').textContent);"
        f" return {predicate}; }}"
    )
    return step_count(pg)
