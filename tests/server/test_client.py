"""The Python client (server/client.py) against the live server: arrays, errors, frames."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from server.client import ApiError, Client, Run


@pytest.fixture
def client(server_url: str) -> Any:
    with Client(server_url) as c:
        yield c


@pytest.fixture
def run(client: Client, small_config: dict[str, Any]) -> Any:
    r = client.create(small_config)
    yield r
    try:
        r.delete()
    except ApiError:
        pass


def test_traces_come_back_as_arrays_with_integer_indices(run: Run) -> None:
    run.step(3)
    trace = run.trace()
    assert trace["X"].shape == (10, 2) and trace["layers"][0]["grad_W"].shape == (2, 4)
    assert trace["indices"].dtype.kind == "i"  # usable to index the data
    assert trace["summary"]["layers"][1]["grad_norm"] > 0


def test_a_failed_call_raises_api_error_with_the_status_and_the_servers_message(run: Run) -> None:
    with pytest.raises(ApiError) as refused:
        run.step(0)
    assert refused.value.status == 422 and "steps" in refused.value.detail
    reader = run.client.attach(run.id)  # no token: can read, cannot change
    assert reader.info()["id"] == run.id
    with pytest.raises(ApiError) as unauthorized:
        reader.reset()
    assert unauthorized.value.status == 401


def test_exporting_a_deleted_session_raises_instead_of_returning_the_error_as_a_file(run: Run) -> None:
    run.delete()
    with pytest.raises(ApiError) as gone:
        run.export()
    assert gone.value.status == 404


def test_export_and_import_file_give_a_twin_that_continues_identically(client: Client, run: Run) -> None:
    run.step(7)
    twin = client.import_file(run.export())
    try:
        assert np.array_equal(twin.params()[0]["W"], run.params()[0]["W"])
        assert twin.step(5)["losses"] == run.step(5)["losses"]
    finally:
        twin.delete()


def test_frames_yields_hello_then_decoded_frames(run: Run) -> None:
    async def first_frames() -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
        got = []
        stream = run.frames(subscribe={"fps": 30, "heatmaps": {"output": 0, "nodes": 0}})
        async for header, arrays in stream:
            got.append((header, arrays))
            if header["type"] == "frame" and header["step"] == 5:
                break
            if header["type"] == "subscribed":
                await asyncio.to_thread(run.step, 5)
        await stream.aclose()
        return got

    got = asyncio.run(first_frames())
    assert got[0][0]["type"] == "hello"
    header, arrays = got[-1]
    assert header["step"] == 5
    assert arrays["L0.W"].shape == (2, 4) and arrays["points.step"].tolist() == [1, 2, 3, 4, 5]


def test_time_travel_from_the_client_revisits_forks_and_checks_gradients(run: Run) -> None:
    run.step(5)
    run.step(10)
    past = run.at(5)
    assert past["step"] == 5 and past["trace"] is not None
    fork = run.fork(step=5, optimizer={"name": "adam", "lr": 0.01})
    try:
        assert fork.info()["parent"] == {"id": run.id, "step": 5}
        assert fork.step(3)["step"] == 8
        assert run.info()["step"] == 15  # the parent did not move
    finally:
        fork.delete()
    check = run.gradcheck(layer=0, param="W", index=[0, 1])
    assert check["ok"] and check["max_relative_error"] <= 1e-6
    assert run.history()["recorded"]["first"] == 0
