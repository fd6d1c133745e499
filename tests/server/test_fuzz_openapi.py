"""Schemathesis against the app's own OpenAPI schema: no input makes it fail (5xx) or answer off its schema.

The app runs in-process (``create_app`` with its lifespan, so the trainer thread and the session
manager are real) with its documented limits turned down, so that whatever the fuzzer builds
stays small and the file runs in well under a minute. Three phases, each bounded:

- **positive and negative examples** for every operation (schema examples, coverage cases, then
  ``MAX_EXAMPLES`` generated ones, valid and invalid);
- **stateful** sequences: create → step/patch/play/params/predict/export/delete… following the links
  schemathesis infers from the responses, up to ``MAX_STEPS`` calls each.

Every call carries the control token of the session it targets (when there is one), so the fuzzer
reaches the code behind the token check rather than bouncing off it with 401s.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.python.asgi import shutdown_lifespans

from server.app import create_app
from server.settings import Settings

MAX_EXAMPLES = 30
MAX_STEPS = 15
STATEFUL_EXAMPLES = 25
HOST = "127.0.0.1"  # the app refuses other Host headers (DNS rebinding)

SETTINGS = Settings(
    data_dir=None,
    max_sessions=40,
    max_layers=4,
    max_units=16,
    max_parameters=2000,
    max_samples=300,
    max_batch_size=64,
    max_steps_per_request=50,
    max_predict_rows=100,
    max_body_bytes=256 * 1024,
)
APP = create_app(SETTINGS)
CONFIG = SchemathesisConfig.from_dict(
    {
        "base-url": f"http://{HOST}",
        "seed": 7,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"max-steps": MAX_STEPS}},
        # The schema checks structure; the engine then checks meaning (an activation that does not
        # fit the loss, params that do not fit the network, a stop while playing…) and answers
        # 409/413/422/429 naming the problem. Those refusals of schema-valid input are by design.
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "413", "422", "429"]
            }
        },
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG, headers={"host": HOST})

# session id → control token, filled from every answer that creates a session
TOKENS: dict[str, str] = {}


def _remember(response: Any) -> None:
    if response.status_code == 201:
        body = response.json()
        if isinstance(body, dict) and "control_token" in body:
            TOKENS[body["id"]] = body["control_token"]


def _authorize(case: Any) -> None:
    """Give a call on a known session that session's token (unless the case tests headers)."""
    session_id = (case.path_parameters or {}).get("session_id")
    if session_id in TOKENS:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKENS[session_id]}"}


@pytest.fixture(scope="module", autouse=True)
def a_session_to_aim_at() -> Iterator[None]:
    """One real session, so that generated calls are not all about unknown ids; the app is shut
    down afterwards (its trainer thread would go on training what the fuzzer set playing)."""
    case = schema["/api/sessions"]["POST"].Case(body={"data": {"dataset": "xor"}})
    response = case.call()
    assert response.status_code == 201, response.text
    _remember(response)
    yield
    shutdown_lifespans()


def _aim(case: Any) -> None:
    """Point half the generated session ids at a real session, so the routes' real work is fuzzed."""
    params = case.path_parameters or {}
    generated = params.get("session_id")
    if isinstance(generated, str) and generated not in TOKENS and TOKENS:
        pick = zlib.crc32(generated.encode("utf-8", "surrogatepass"))
        if pick % 2 == 0:
            known = sorted(TOKENS)
            case.path_parameters = {**params, "session_id": known[pick % len(known)]}


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_no_generated_request_fails_the_server_or_gets_an_answer_off_its_schema(case: Any) -> None:
    _aim(case)
    _authorize(case)
    response = case.call_and_validate()
    _remember(response)


class Stateful(schema.as_state_machine()):  # type: ignore[misc]
    def before_call(self, case: Any) -> None:
        _authorize(case)

    def after_call(self, response: Any, case: Any) -> None:
        _remember(response)


TestStatefulSequencesNeverFailTheServer = Stateful.TestCase
TestStatefulSequencesNeverFailTheServer.settings = hypothesis.settings(
    max_examples=STATEFUL_EXAMPLES,
    stateful_step_count=MAX_STEPS,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
