"""The websocket stream on the real server: hello, frames, complete loss curves, subscriptions,
lockstep, control, events, slow viewers and the Origin check."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from wsclient import Socket, bearer, open_socket, run, ws_url

Maker = Any
NO_HEAT = {"output": 0, "nodes": 0}


def is_frame(message: dict[str, Any]) -> bool:
    return message.get("type") == "frame"


def is_event(name: str) -> Any:
    return lambda message: message.get("type") == "event" and message.get("event") == name


def rss_megabytes(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line in /proc/<pid>/status")


class PointsCollector:
    """Gathers the loss points of frames and ``points`` messages, per generation."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.losses: list[float] = []
        self.frames: list[dict[str, Any]] = []
        self.points_messages = 0

    def add(self, message: dict[str, Any]) -> None:
        if message.get("type") not in ("frame", "points"):
            return
        arrays = message["arrays"]
        self.steps.extend(arrays["points.step"].tolist())
        self.losses.extend(arrays["points.loss"].tolist())
        if message["type"] == "frame":
            self.frames.append(message)
        else:
            self.points_messages += 1


# --- hello and frames --------------------------------------------------------------------------


def test_hello_comes_first_with_protocol_architecture_data_and_params(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    http.post(f"/api/sessions/{sid}/step", json={"steps": 3}, headers=bearer(token))
    params = http.get(f"/api/sessions/{sid}/params").json()["layers"]

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            hello = await Socket(ws).receive()
            assert hello["type"] == "hello" and hello["protocol"] == 1
            assert hello["session"]["id"] == sid and hello["session"]["step"] == 3
            layers = hello["architecture"]["layers"]
            assert [(layer["type"], layer["output_shape"]) for layer in layers] == [
                ("dense", [4]),
                ("dense", [1]),
            ]
            assert [layer["params"] for layer in layers] == [{"W": [2, 4], "b": [4]}, {"W": [4, 1], "b": [1]}]
            assert hello["architecture"]["input_shape"] == [2] and hello["architecture"]["loss"] == "bce"
            assert hello["data"]["kind"] == "plane" and len(hello["data"]["points_train"]) == 50
            assert hello["params"]["layers"] == params
            assert hello["subscription"]["fps"] == 30

    run(body())


def test_a_frame_follows_hello_with_the_current_weights_as_binary_arrays(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    http.post(f"/api/sessions/{sid}/step", json={"steps": 2}, headers=bearer(token))
    params = http.get(f"/api/sessions/{sid}/params").json()["layers"]

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            await socket.receive()
            frame = await socket.receive_until(is_frame)
            assert frame["session"] == sid and frame["step"] == 2 and frame["generation"] == 0
            arrays = frame["arrays"]
            assert arrays["L0.W"].dtype == np.float32 and arrays["L0.W"].shape == (2, 4)
            np.testing.assert_allclose(arrays["L0.W"], params[0]["W"], rtol=1e-6)
            assert arrays["heat.output"].shape == (50, 50)  # the default subscription
            assert arrays["heat.L0"].shape == (4, 20, 20)
            assert np.all((arrays["heat.output"] > 0) & (arrays["heat.output"] < 1))  # sigmoid output

    run(body())


def test_while_playing_frames_step_up_and_their_loss_points_form_a_complete_curve(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    """A fast viewer sets the frame rate; a slow one misses frames and is sent the points it missed."""
    sid, token = make_session()
    last_step = 3000

    async def watch(socket: Socket, collected: PointsCollector) -> None:
        while True:
            message = await socket.receive()
            collected.add(message)
            if is_frame(message) and not message["playing"] and message["step"] == last_step:
                return

    async def body() -> tuple[PointsCollector, PointsCollector]:
        async with open_socket(server_url, sid) as fast_ws, open_socket(server_url, sid) as slow_ws:
            fast, slow = Socket(fast_ws), Socket(slow_ws)
            await fast.reply_to({"type": "subscribe", "id": 1, "fps": 60, "heatmaps": NO_HEAT})
            await slow.reply_to({"type": "subscribe", "id": 1, "fps": 4, "heatmaps": NO_HEAT, "tensors": []})
            collected = PointsCollector(), PointsCollector()
            response = http.post(
                f"/api/sessions/{sid}/play",
                json={"speed": 2500, "max_steps": last_step},
                headers=bearer(token),
            )
            assert response.status_code == 200
            await asyncio.gather(watch(fast, collected[0]), watch(slow, collected[1]))
            return collected

    fast, slow = run(body())
    history = http.get(f"/api/sessions/{sid}/history", params={"max_points": 100_000}).json()
    for collected in (fast, slow):
        assert collected.steps == list(range(1, last_step + 1))  # every step once, in order
        assert collected.losses == history["loss"]  # the same numbers the history holds
        steps = [frame["step"] for frame in collected.frames]
        assert steps == sorted(steps)
        for frame in collected.frames:
            if len(frame["arrays"]["points.step"]):
                assert frame["arrays"]["points.step"][-1] == frame["step"]
    assert len(fast.frames) > 2 * len(slow.frames)
    assert slow.points_messages > 0  # the slow viewer's curve was completed by points messages


def test_subscribe_changes_the_tensors_and_heatmaps_a_frame_carries(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            await socket.receive_until(is_frame)
            reply = await socket.reply_to(
                {
                    "type": "subscribe",
                    "id": 5,
                    "tensors": ["params", "grads"],
                    "heatmaps": {"output": 30, "nodes": 0},
                }
            )
            assert reply["type"] == "subscribed"
            assert reply["subscription"]["tensors"] == ["params", "grads"]
            assert reply["subscription"]["heatmaps"] == {"output": 30, "nodes": 0, "bits": 32}
            http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer(token))
            frame = await socket.receive_until(lambda m: is_frame(m) and m["step"] == 1)
            names = set(frame["arrays"])
            assert {"L0.W", "L0.b", "L0.grad_W", "L1.grad_b", "heat.output"} <= names
            assert not {"L0.update_W", "L0.a", "L0.delta", "heat.L0", "heat.input"} & names
            assert frame["arrays"]["heat.output"].shape == (30, 30)
            # and back to nothing heavy: only the loss points remain
            await socket.reply_to({"type": "subscribe", "id": 6, "tensors": [], "heatmaps": NO_HEAT})
            http.post(f"/api/sessions/{sid}/step", json={"steps": 1}, headers=bearer(token))
            frame = await socket.receive_until(lambda m: is_frame(m) and m["step"] == 2)
            assert set(frame["arrays"]) == {"points.step", "points.loss", "points.lr"}

    run(body())


def test_subscribe_fps_limits_how_many_frames_a_viewer_gets(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()

    async def body() -> tuple[int, int]:
        async with open_socket(server_url, sid) as fast_ws, open_socket(server_url, sid) as slow_ws:
            fast, slow = Socket(fast_ws), Socket(slow_ws)
            await fast.reply_to({"type": "subscribe", "id": 1, "fps": 60, "heatmaps": NO_HEAT, "tensors": []})
            reply = await slow.reply_to(
                {"type": "subscribe", "id": 1, "fps": 3, "heatmaps": NO_HEAT, "tensors": []}
            )
            assert reply["subscription"]["fps"] == 3
            http.post(f"/api/sessions/{sid}/play", json={"speed": 3000}, headers=bearer(token))
            counts = [0, 0]

            async def count(socket: Socket, k: int) -> None:
                while True:
                    if is_frame(await socket.receive()):
                        counts[k] += 1

            slow_task = asyncio.create_task(count(slow, 1))
            try:
                await fast.receive_until(lambda m: is_frame(m) and m["playing"])
                for _ in range(60):
                    await fast.receive_until(is_frame)
                    counts[0] += 1
            finally:
                slow_task.cancel()
                http.post(f"/api/sessions/{sid}/pause", headers=bearer(token))
            return counts[0], counts[1]

    fast_frames, slow_frames = run(body())
    assert slow_frames >= 1
    assert slow_frames * 4 < fast_frames  # 3 fps against 60 fps, with a wide margin


def test_replies_to_a_one_fps_viewer_do_not_wait_for_its_next_frame(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    """Acks, errors and pongs go out at once; only frames keep to the client's fps."""
    sid, token = make_session()

    async def body() -> int:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            await socket.reply_to(
                {"type": "subscribe", "id": 0, "fps": 1, "heatmaps": NO_HEAT, "tensors": []}
            )
            http.post(f"/api/sessions/{sid}/play", json={"speed": 500}, headers=bearer(token))
            try:
                await socket.receive_until(lambda m: is_frame(m) and m["playing"])  # its slot was just used
                frames = 0
                for k in range(1, 6):
                    await socket.send({"type": "ping", "id": k})
                    while True:
                        message = await socket.receive()
                        frames += is_frame(message)
                        if message.get("id") == k:
                            assert message["type"] == "pong"
                            break
            finally:
                http.post(f"/api/sessions/{sid}/pause", headers=bearer(token))
            return frames

    # were each reply held back to the next frame slot, five round trips would span five frames
    assert run(body()) <= 2


# --- lockstep ----------------------------------------------------------------------------------


def test_lockstep_delivers_every_steps_full_frame_when_the_controller_steps(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()

    async def body() -> None:
        async with open_socket(server_url, sid) as ws, open_socket(server_url, sid) as viewer_ws:
            controller, viewer = Socket(ws), Socket(viewer_ws)
            await viewer.reply_to({"type": "subscribe", "id": 1, "heatmaps": NO_HEAT, "fps": 1})
            refused = await controller.reply_to({"type": "subscribe", "id": 1, "lockstep": True})
            assert refused["type"] == "error" and refused["code"] == 403
            reply = await controller.reply_to(
                {"type": "subscribe", "id": 2, "lockstep": True, "token": token}
            )
            assert reply["type"] == "subscribed" and reply["subscription"]["lockstep"] is True
            assert http.get(f"/api/sessions/{sid}").json()["lockstep"] is True
            # playing is refused in lockstep: training waits for the controller
            assert http.post(f"/api/sessions/{sid}/play", json={}, headers=bearer(token)).status_code == 409
            ack = await controller.reply_to(
                {"type": "control", "id": 3, "token": token, "action": "step", "steps": 5}
            )
            assert ack["type"] == "ack" and ack["step"] == 5
            response = http.post(f"/api/sessions/{sid}/step", json={"steps": 20}, headers=bearer(token))
            assert response.status_code == 200
            losses = [None] * 5 + response.json()["losses"]
            # even a viewer at 1 fps gets all 25 frames, in order, each with its step's full trace
            frames: list[dict[str, Any]] = []
            while len(frames) < 25:
                message = await viewer.receive_until(lambda m: is_frame(m) and m["step"] >= 1)
                frames.append(message)
            assert [f["step"] for f in frames] == list(range(1, 26))
            for frame in frames:
                arrays = frame["arrays"]
                assert arrays["points.step"].tolist() == [frame["step"]]
                assert arrays["L0.grad_W"].shape == (2, 4) and arrays["L1.delta"].shape == (10, 1)
                assert frame["summary"]["step"] == frame["step"]
                if losses[frame["step"] - 1] is not None:
                    assert arrays["points.loss"][0] == losses[frame["step"] - 1]
                assert frame["dropped"] == 0 if "dropped" in frame else True

    run(body())


# --- control over the socket -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_field", "code"),
    [(None, 401), ("not-the-token", 403)],
    ids=["without a token", "with a wrong token"],
)
@pytest.mark.parametrize("action", ["play", "pause", "step", "reset", "set", "recover"])
def test_socket_control_is_refused_without_the_right_token(
    server_url: str, http: httpx.Client, make_session: Maker, action: str, token_field: str | None, code: int
) -> None:
    sid, _ = make_session()

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            message: dict[str, Any] = {
                "type": "control",
                "id": 9,
                "action": action,
                "training": {"batch_size": 3},
            }
            if token_field is not None:
                message["token"] = token_field
            reply = await socket.reply_to(message)
            assert reply["type"] == "error" and reply["code"] == code and "token" in reply["message"]

    run(body())
    info = http.get(f"/api/sessions/{sid}").json()
    assert info["step"] == 0 and info["playing"] is False and info["config"]["training"]["batch_size"] == 10


def test_socket_control_with_the_token_works_like_the_rest_routes(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            ack = await socket.reply_to(
                {"type": "control", "id": 1, "token": token, "action": "step", "steps": 4}
            )
            assert ack == {"type": "ack", "id": 1, "action": "step", "step": 4, "generation": 0}
            ack = await socket.reply_to(
                {
                    "type": "control",
                    "id": 2,
                    "token": token,
                    "action": "set",
                    "training": {"optimizer": {"lr": 0.2}},
                }
            )
            assert ack["type"] == "ack"
            assert http.get(f"/api/sessions/{sid}").json()["config"]["training"]["optimizer"]["lr"] == 0.2
            # after auth, control needs no token in each message
            assert (await socket.reply_to({"type": "auth", "id": 3, "token": token}))["type"] == "ack"
            await socket.send({"type": "control", "id": 4, "action": "play", "play": {"max_steps": 40}})
            seen: list[dict[str, Any]] = []  # the ack and the pause at max_steps, in either order
            for _ in range(2):
                seen.append(
                    await socket.receive_until(
                        lambda m: m.get("id") == 4 or (is_event("pause")(m) and "max_steps" in m["reason"])
                    )
                )
            assert sorted(m["type"] for m in seen) == ["ack", "event"]
            assert http.get(f"/api/sessions/{sid}").json()["step"] == 40
            ack = await socket.reply_to({"type": "control", "id": 5, "action": "reset"})
            assert ack["type"] == "ack" and ack["step"] == 0 and ack["generation"] == 1

    run(body())


# --- events ------------------------------------------------------------------------------------


def test_every_viewer_hears_of_a_reset_with_a_new_generation(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()
    http.post(f"/api/sessions/{sid}/step", json={"steps": 10}, headers=bearer(token))

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            await socket.receive_until(is_frame)
            http.post(f"/api/sessions/{sid}/reset", headers=bearer(token))
            event = await socket.receive_until(is_event("reset"))
            assert event["generation"] == 1 and event["step"] == 0
            # a frame of the old generation may still be on its way: clients drop those
            frame = await socket.receive_until(lambda m: is_frame(m) and m["generation"] == 1)
            assert frame["step"] == 0

    run(body())


def test_every_viewer_hears_of_a_config_change(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session()

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            http.patch(f"/api/sessions/{sid}", json={"training": {"batch_size": 7}}, headers=bearer(token))
            event = await socket.receive_until(is_event("config"))
            assert event["session"]["config"]["training"]["batch_size"] == 7

    run(body())


def test_a_diverging_run_pauses_itself_and_tells_every_viewer_why(
    server_url: str, http: httpx.Client, make_session: Maker
) -> None:
    """lr = 10 on the default network diverges."""
    sid, token = make_session({})

    async def body() -> dict[str, Any]:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            await socket.reply_to({"type": "subscribe", "id": 1, "heatmaps": NO_HEAT})
            http.patch(
                f"/api/sessions/{sid}", json={"training": {"optimizer": {"lr": 10}}}, headers=bearer(token)
            )
            http.post(f"/api/sessions/{sid}/play", json={}, headers=bearer(token))
            event = await socket.receive_until(is_event("divergence"), timeout=30)
            frame = await socket.receive_until(lambda m: is_frame(m) and m["divergence"] is not None)
            assert frame["playing"] is False
            return event

    event = run(body())
    divergence = event["divergence"]
    assert {"step", "quantity", "layer", "lr", "message"} <= set(divergence)
    assert divergence["lr"] == 10 and "lower" in divergence["message"].lower()
    info = http.get(f"/api/sessions/{sid}").json()
    assert info["playing"] is False and info["divergence"] is not None
    assert all(
        np.all(np.isfinite(layer["W"])) for layer in http.get(f"/api/sessions/{sid}/params").json()["layers"]
    )


def test_deleting_a_session_tells_its_viewers_and_closes_their_sockets_with_1000(
    server_url: str, http: httpx.Client, small_config: dict[str, Any]
) -> None:
    created = http.post("/api/sessions", json=small_config).json()
    sid, token = created["id"], created["control_token"]

    async def body() -> None:
        async with open_socket(server_url, sid) as ws:
            socket = Socket(ws)
            await socket.receive_until(is_frame)
            assert http.delete(f"/api/sessions/{sid}", headers=bearer(token)).status_code == 200
            await socket.receive_until(is_event("deleted"))
            with pytest.raises(ConnectionClosed) as closed:
                await socket.receive_until(lambda m: False)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    run(body())


def test_a_socket_to_an_unknown_session_gets_an_error_and_is_closed(server_url: str) -> None:
    async def body() -> None:
        async with open_socket(server_url, "no-such-session") as ws:
            socket = Socket(ws)
            error = await socket.receive()
            assert error["type"] == "error" and error["code"] == 404
            with pytest.raises(ConnectionClosed):
                await socket.receive()

    run(body())


# --- slow viewers ------------------------------------------------------------------------------


def test_a_viewer_that_stops_reading_neither_slows_another_nor_grows_memory_and_then_gets_the_latest_frame(
    live_server: Any, http: httpx.Client, make_session: Maker
) -> None:
    sid, token = make_session({})  # the default 2-8-8-1 network on 500 circle points
    pid = live_server.pid
    stall_seconds = 10.0
    baseline_seconds = 2.0

    async def body() -> dict[str, float]:
        # The stalled viewer asks for the heaviest frames (~3 MB at 60 fps: 200×200 maps of every node),
        # and its client buffers at most 2 messages, so the socket's buffers fill up when it stops reading.
        async with (
            open_socket(server_url := live_server.url, sid) as steady_ws,
            open_socket(server_url, sid, max_queue=2) as stalled_ws,
        ):
            steady, stalled = Socket(steady_ws), Socket(stalled_ws)
            await steady.reply_to(
                {"type": "subscribe", "id": 1, "fps": 30, "heatmaps": NO_HEAT, "tensors": []}
            )
            await stalled.reply_to(
                {"type": "subscribe", "id": 1, "fps": 60, "heatmaps": {"output": 200, "nodes": 200}}
            )
            http.post(f"/api/sessions/{sid}/play", json={}, headers=bearer(token))
            steady_frames = 0

            async def read_steady() -> None:
                nonlocal steady_frames
                while True:
                    if is_frame(await steady.receive()):
                        steady_frames += 1

            async def read_stalled() -> None:
                while True:
                    await stalled.receive()

            steady_task = asyncio.create_task(read_steady())
            stalled_task = asyncio.create_task(read_stalled())
            try:
                big = await stalled.receive_until(lambda m: is_frame(m) and m["bytes"] > 2_000_000)
                assert big["arrays"]["heat.L1"].shape == (8, 200, 200)
                loop = asyncio.get_running_loop()
                # baseline: both read
                start, frames0 = loop.time(), steady_frames
                steps0 = http.get(f"/api/sessions/{sid}").json()["step"]
                await asyncio.sleep(baseline_seconds)
                base_time = loop.time() - start
                base_frames = steady_frames - frames0
                base_steps = http.get(f"/api/sessions/{sid}").json()["step"] - steps0
                # the stall: one viewer stops calling recv
                stalled_task.cancel()
                rss_before = rss_megabytes(pid)
                start, frames0 = loop.time(), steady_frames
                steps0 = http.get(f"/api/sessions/{sid}").json()["step"]
                await asyncio.sleep(stall_seconds)
                stall_time = loop.time() - start
                stall_frames = steady_frames - frames0
                step_at_resume = http.get(f"/api/sessions/{sid}").json()["step"]
                stall_steps = step_at_resume - steps0
                rss_after = rss_megabytes(pid)
                # resume: what is queued drains quickly, then a frame at least as new as the resume
                messages = 0
                while True:
                    message = await stalled.receive()
                    messages += 1
                    if is_frame(message) and message["step"] >= step_at_resume:
                        break
                    assert messages < 40, "the stalled viewer is wading through a queue of old frames"
            finally:
                steady_task.cancel()
                http.post(f"/api/sessions/{sid}/pause", headers=bearer(token))
            return {
                "base_rate": base_frames / base_time,
                "stall_rate": stall_frames / stall_time,
                "base_step_rate": base_steps / base_time,
                "stall_step_rate": stall_steps / stall_time,
                "rss_growth": rss_after - rss_before,
                "resume_messages": messages,
            }

    result = run(body())
    # The steady viewer kept (roughly) its rate: were it held behind the stalled one it would get ~0
    # frames. Wide margins, as the machine is shared; the training step rate is too noisy to compare.
    assert result["stall_rate"] >= 0.3 * result["base_rate"], result
    assert result["stall_step_rate"] > 0, result  # training went on
    assert result["rss_growth"] < 50, result  # MB: nothing piles up for the stalled viewer


# --- origin -----------------------------------------------------------------------------------


def test_a_handshake_from_a_foreign_origin_is_refused(server_url: str, make_session: Maker) -> None:
    sid, _ = make_session()

    async def body() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with open_socket(server_url, sid, origin="http://evil.example"):
                pass
        assert refused.value.response.status_code == 403

    run(body())


@pytest.mark.parametrize("same_origin", [True, False], ids=["same origin", "no origin"])
def test_a_handshake_from_the_same_origin_or_without_one_is_accepted(
    server_url: str, make_session: Maker, same_origin: bool
) -> None:
    sid, _ = make_session()
    extra = {"origin": server_url} if same_origin else {}

    async def body() -> None:
        async with open_socket(server_url, sid, **extra) as ws:
            assert (await Socket(ws).receive())["type"] == "hello"

    assert ws_url(server_url, sid).startswith("ws://127.0.0.1:")
    run(body())
