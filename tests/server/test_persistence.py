"""Sessions survive restarts, crashes and the trip through a session file (each server a real subprocess)."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from procserver import ServerProcess, bearer, free_port
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from engine.session import TrainingSession

WAIT_SECONDS = 15.0
POLLS = 300  # × 0.05 s: the longest a test waits for a checkpoint to reach the database

Start = Callable[..., ServerProcess]


@pytest.fixture
def start_server() -> Iterator[Start]:
    """``start_server(data_dir, port=None, env=None)``: a started server, killed after the test."""
    started: list[ServerProcess] = []

    def start(
        data_dir: Path | None, port: int | None = None, env: dict[str, str] | None = None
    ) -> ServerProcess:
        server = ServerProcess(data_dir, port=port, env=env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.ensure_stopped()


def config(optimizer: dict[str, Any] | None = None, seed: int = 5, units: int = 6) -> dict[str, Any]:
    return {
        "model": {
            "input_shape": [2],
            "layers": [
                {"type": "dense", "units": units, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "loss": "bce",
        },
        "data": {"dataset": "spiral", "samples": 120, "noise": 0.1, "train_fraction": 0.5},
        "training": {
            "optimizer": optimizer or {"name": "adam", "lr": 0.02},
            "batch_size": 7,  # does not divide the 60 training points: epochs end mid-batch
            "schedule": {"name": "cosine", "t_max": 40},
            "regularization": {"kind": "l2", "rate": 0.001},
            "ema_decay": 0.9,
        },
        "seed": seed,
    }


def create(http: httpx.Client, cfg: dict[str, Any]) -> tuple[str, str]:
    response = http.post("/api/sessions", json=cfg)
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], body["control_token"]


def step(http: httpx.Client, sid: str, token: str, steps: int) -> dict[str, Any]:
    response = http.post(f"/api/sessions/{sid}/step", json={"steps": steps}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def exported_theta(document: dict[str, Any]) -> bytes:
    spec = document["state"]["theta"]
    assert spec["__array__"] == "<f8"
    return base64.b64decode(spec["data"])


def stored_steps(data_dir: Path) -> dict[str, list[int]]:
    """Session id → steps of its stored checkpoints, oldest first (read while the server runs)."""
    db = sqlite3.connect(data_dir / "sessions.sqlite3", timeout=10.0)
    try:
        rows = db.execute("SELECT session_id, step FROM checkpoints ORDER BY session_id, seq").fetchall()
    finally:
        db.close()
    out: dict[str, list[int]] = {}
    for sid, stored in rows:
        out.setdefault(sid, []).append(int(stored))
    return out


def wait_for_checkpoints(
    data_dir: Path, want: Callable[[dict[str, list[int]]], bool]
) -> dict[str, list[int]]:
    import time

    for _ in range(POLLS):
        if (data_dir / "sessions.sqlite3").exists():
            found = stored_steps(data_dir)
            if want(found):
                return found
        time.sleep(0.05)
    raise AssertionError(f"the checkpoints never matched; stored: {stored_steps(data_dir)}")


# --- export → import ---------------------------------------------------------------


def test_a_session_exported_after_k_steps_and_imported_into_a_fresh_server_continues_bit_for_bit(
    start_server: Start, tmp_path: Path
) -> None:
    k, m = 23, 31
    first = start_server(tmp_path / "a")
    with first.http() as http:
        sid, token = create(http, config())
        step(http, sid, token, k)
        response = http.get(f"/api/sessions/{sid}/export")
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        exported = response.content
    assert first.terminate()

    second = start_server(tmp_path / "b")
    with second.http() as http:
        response = http.post(
            "/api/sessions/import", content=exported, headers={"content-type": "application/json"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["session"]["step"] == k
        step(http, body["id"], body["control_token"], m)
        resumed = http.get(f"/api/sessions/{body['id']}/export").json()

    uninterrupted = TrainingSession(json.loads(exported)["state"]["config"])
    uninterrupted.step(k + m)
    assert resumed["state"]["step"] == k + m
    assert exported_theta(resumed) == uninterrupted.network.theta.tobytes()


# --- crashes and restarts ------------------------------------------------------------


def test_after_kill_9_during_play_every_session_comes_back_paused_at_or_past_its_last_checkpoint_and_trains(
    start_server: Start, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = {"BACKPROP_LAB_CHECKPOINT_EVERY_SECONDS": "0.2"}
    server = start_server(data, env=env)
    sessions: dict[str, str] = {}
    with server.http() as http:
        for n, optimizer in enumerate(
            ({"name": "sgd", "lr": 0.05, "momentum": 0.9}, {"name": "rmsprop", "lr": 0.01})
        ):
            sid, token = create(http, config(optimizer, seed=n))
            sessions[sid] = token
            assert (
                http.post(
                    f"/api/sessions/{sid}/play", headers=bearer(token), json={"speed": 2000}
                ).status_code
                == 200
            )
    # Wait until every session has a checkpoint from while it was playing, then crash.
    before = wait_for_checkpoints(data, lambda found: all(max(found.get(s, [0])) > 0 for s in sessions))
    server.kill()
    last = {sid: max(steps) for sid, steps in stored_steps(data).items()}
    assert all(last[sid] >= max(before[sid]) for sid in sessions)

    restarted = start_server(data)
    with restarted.http() as http:
        listed = {s["id"]: s for s in http.get("/api/sessions").json()["sessions"]}
        assert set(listed) == set(sessions)
        for sid, token in sessions.items():
            assert listed[sid]["playing"] is False
            assert listed[sid]["step"] >= last[sid] > 0
            after = step(http, sid, token, 10)  # the same control token still controls it
            assert after["step"] == listed[sid]["step"] + 10
            params = http.get(f"/api/sessions/{sid}/params").json()["layers"]
            flat = np.concatenate(
                [np.ravel(np.asarray(v, dtype=float)) for layer in params for v in layer.values()]
            )
            assert flat.size > 0 and np.all(np.isfinite(flat))
        health = http.get("/api/health").json()
        assert health["persistence"]["restored_sessions"] == len(sessions)
        assert health["status"] == "ok"


async def _read_until_closed(url: str, opened: asyncio.Event, greeted: list[dict[str, Any]]) -> int | None:
    async with connect(url, compression=None, max_size=None, open_timeout=WAIT_SECONDS) as ws:
        greeted.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT_SECONDS)))
        opened.set()
        try:
            for _ in range(100_000):
                await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
    return None


def test_sigterm_closes_every_viewer_with_code_1012_and_the_server_exits(
    start_server: Start, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "data")
    with server.http() as http:
        sid, token = create(http, config())
        assert (
            http.post(f"/api/sessions/{sid}/play", headers=bearer(token), json={"speed": 500}).status_code
            == 200
        )

    async def scenario() -> list[int | None]:
        url = f"{server.ws_base}/ws/sessions/{sid}"
        events = [asyncio.Event() for _ in range(3)]
        greeted: list[dict[str, Any]] = []
        viewers = [asyncio.create_task(_read_until_closed(url, e, greeted)) for e in events]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), WAIT_SECONDS)
        assert [g["type"] for g in greeted] == ["hello"] * 3
        assert await asyncio.to_thread(server.terminate)
        return list(await asyncio.wait_for(asyncio.gather(*viewers), WAIT_SECONDS))

    codes = asyncio.run(scenario())
    assert codes == [1012, 1012, 1012]


def test_a_viewer_that_reconnects_after_a_restart_gets_hello_and_frames_again(
    start_server: Start, tmp_path: Path
) -> None:
    data, port = tmp_path / "data", free_port()
    server = start_server(data, port=port)
    with server.http() as http:
        sid, token = create(http, config())
        step(http, sid, token, 12)
    url = f"{server.ws_base}/ws/sessions/{sid}"

    async def scenario() -> None:
        async with connect(url, compression=None, max_size=None, open_timeout=WAIT_SECONDS) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), WAIT_SECONDS))
            assert hello["type"] == "hello"
            assert await asyncio.to_thread(server.terminate)
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(10_000):
                    await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        await asyncio.to_thread(start_server, data, port)  # the same address, as a browser would retry
        async with connect(url, compression=None, max_size=None, open_timeout=WAIT_SECONDS) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), WAIT_SECONDS))
            assert hello["type"] == "hello"
            assert hello["session"]["id"] == sid and hello["session"]["step"] == 12
            async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http:
                response = await http.post(
                    f"/api/sessions/{sid}/step", json={"steps": 3}, headers=bearer(token)
                )
                assert response.status_code == 200
            for _ in range(1000):
                raw = await asyncio.wait_for(ws.recv(), WAIT_SECONDS)
                if isinstance(raw, bytes):
                    from server.frames import decode_frame

                    header, _ = decode_frame(raw)
                    if header.get("type") == "frame" and header["step"] == 15:
                        return
            raise AssertionError("no frame of step 15 after the restart")

    asyncio.run(scenario())


def test_a_corrupted_newest_checkpoint_is_reported_and_the_previous_one_is_used(
    start_server: Start, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    with server.http() as http:
        sid, token = create(http, config())
        step(http, sid, token, 5)
        step(http, sid, token, 3)
    wait_for_checkpoints(data, lambda found: found.get(sid) == [5, 8])
    assert server.terminate()
    assert stored_steps(data)[sid] == [5, 8]  # shutdown wrote nothing new: the state had not changed

    db = sqlite3.connect(data / "sessions.sqlite3")
    (document,) = db.execute(
        "SELECT document FROM checkpoints WHERE session_id = ? ORDER BY seq DESC LIMIT 1", (sid,)
    ).fetchone()
    flipped = bytearray(document)
    for i in range(len(flipped) // 2, len(flipped) // 2 + 8):
        flipped[i] ^= 0xFF
    with db:
        db.execute(
            "UPDATE checkpoints SET document = ? WHERE session_id = ? AND step = 8", (bytes(flipped), sid)
        )
    db.close()

    restarted = start_server(data)
    with restarted.http() as http:
        assert http.get(f"/api/sessions/{sid}").json()["step"] == 5
        health = http.get("/api/health").json()
    assert health["status"] == "degraded"
    (problem,) = health["persistence"]["problems"]
    assert sid in problem and "checksum" in problem and "step 8" in problem
    assert "fails its SHA-256 checksum" in restarted.output  # and the log says so too


def test_a_deleted_session_is_removed_from_the_store_and_stays_gone(
    start_server: Start, tmp_path: Path
) -> None:
    data = tmp_path / "not" / "yet" / "there"
    server = start_server(data)
    with server.http() as http:
        kept, _kept_token = create(http, config(seed=1))
        gone, gone_token = create(http, config(seed=2))
        step(http, gone, gone_token, 4)
        wait_for_checkpoints(data, lambda found: kept in found and gone in found)
        assert http.delete(f"/api/sessions/{gone}", headers=bearer(gone_token)).status_code == 200
    wait_for_checkpoints(data, lambda found: gone not in found)
    assert server.terminate()
    db = sqlite3.connect(data / "sessions.sqlite3")
    assert db.execute("SELECT id FROM sessions").fetchall() == [(kept,)]
    db.close()
    restarted = start_server(data)
    with restarted.http() as http:
        assert [s["id"] for s in http.get("/api/sessions").json()["sessions"]] == [kept]
        assert http.get(f"/api/sessions/{gone}").status_code == 404


def test_a_second_server_on_the_same_data_dir_keeps_sessions_in_memory_and_says_so(
    start_server: Start, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    start_server(data)
    second = start_server(data)
    with second.http() as http:
        health = http.get("/api/health").json()
    assert health["persistence"]["enabled"] is False
    assert "another backprop-lab server uses the data directory" in health["persistence"]["problems"][0]


def test_a_memory_only_server_writes_nothing_and_reports_persistence_off(start_server: Start) -> None:
    server = start_server(None)
    with server.http() as http:
        create(http, config())
        health = http.get("/api/health").json()
    assert health == {"status": "ok", "sessions": 1, "persistence": health["persistence"]}
    assert health["persistence"]["enabled"] is False and health["persistence"]["problems"] == []


# --- importing a bad file ------------------------------------------------------------------


def _spec(values: Any, dtype: str) -> dict[str, Any]:
    arr = np.asarray(values, dtype=dtype)
    return {
        "__array__": arr.dtype.str,
        "shape": list(arr.shape),
        "data": base64.b64encode(arr.tobytes()).decode(),
    }


def _theta(doc: dict[str, Any]) -> np.ndarray[Any, Any]:
    return np.frombuffer(exported_theta(doc), "<f8").copy()


BAD_IMPORTS: list[Any] = [
    pytest.param(lambda d: d.update(version=99), "version 99 is not supported", id="version"),
    pytest.param(
        lambda d: d["state"].update(theta=_spec(np.zeros(3), "<f8")), "state.theta has shape [3]", id="shape"
    ),
    pytest.param(lambda d: d["state"].update(theta=_spec(_theta(d), "<f4")), "dtype float32", id="dtype"),
    pytest.param(
        lambda d: d["state"].update(theta=_spec(np.full_like(_theta(d), np.inf), "<f8")),
        "NaN or infinite",
        id="finite",
    ),
    pytest.param(
        lambda d: d["state"]["config"]["data"].update(samples=10**7), "max_samples", id="server limit"
    ),
    pytest.param(lambda d: d["state"]["theta"].update(shape=[2**40]), "size limit", id="size cap"),
]


@pytest.mark.parametrize(("change", "says"), BAD_IMPORTS)
def test_importing_a_bad_file_answers_422_naming_the_problem(server_url: str, change: Any, says: str) -> None:
    with httpx.Client(base_url=server_url, timeout=30.0) as http:
        sid, token = create(http, config())
        try:
            document = http.get(f"/api/sessions/{sid}/export").json()
            before = len(http.get("/api/sessions").json()["sessions"])
            change(document)
            response = http.post("/api/sessions/import", json=document)
            assert response.status_code == 422, response.text
            assert says in response.json()["detail"]
            assert len(http.get("/api/sessions").json()["sessions"]) == before  # nothing was made
        finally:
            http.delete(f"/api/sessions/{sid}", headers=bearer(token))


def test_importing_something_that_is_not_a_session_file_answers_4xx(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=30.0) as http:
        assert http.post("/api/sessions/import", content=b"\x80\x81 not json").status_code == 422
        assert http.post("/api/sessions/import", json={"format": "zip"}).status_code == 422
        huge = b'{"format": "backprop-lab-session", "pad": "' + b"x" * (9 * 2**20) + b'"}'
        too_big = http.post("/api/sessions/import", content=huge)
        assert too_big.status_code == 413 and "max_body_bytes" in too_big.json()["detail"]


def test_a_data_dir_whose_database_is_unreadable_is_set_aside_reported_and_starts_empty(
    start_server: Start, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sessions.sqlite3").write_bytes(b"this is not a database " * 100)
    server = start_server(data)
    with server.http() as http:
        health = http.get("/api/health").json()
        assert health["status"] == "degraded" and "could not be read" in health["persistence"]["problems"][0]
        create(http, config())  # and it works from then on
    assert server.terminate()
    assert [p.name for p in data.glob("sessions.sqlite3.unreadable-*")]
    db = sqlite3.connect(data / "sessions.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM sessions").fetchone() == (1,)
    db.close()
