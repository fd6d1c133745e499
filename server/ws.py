"""The websocket route: hello, subscriptions, frames through a per-socket sender, control.

Each socket runs two tasks: this handler reads client messages; ``_send_loop``
sends whatever the socket's :class:`~server.hub.Viewer` holds (the latest
frame only) at the client's fps. A send that stalls past ``ws_send_timeout``
closes that socket alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from server.api import token_matches
from server.classroom import relay_view
from server.hub import Viewer
from server.manager import LimitError, NotFound, SessionManager
from server.protocol import (
    CLIENT_TYPES,
    CONTROL_ACTIONS,
    PROTOCOL_VERSION,
    ProtocolError,
    Subscription,
    jsonable,
)
from server.schemas import PlayOptions, TrainingChanges
from server.security import origin_allowed
from server.sessions import ManagedSession
from server.settings import Settings

__all__ = ["router"]

router = APIRouter()

CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
CLOSE_NOT_FOUND = 4404
MAX_REFUSED_COMMANDS = 200


def _hello(session: ManagedSession, subscription: Subscription) -> str:
    with session.lock:
        e = session.engine
        d = e.data
        data: dict[str, Any] = {
            "name": d.name,
            "kind": d.kind,
            "task": d.task,
            "domain": list(d.domain) if d.domain else None,
            "feature_names": d.feature_names,
            "n_classes": d.n_classes,
            "class_names": d.class_names,
        }
        if d.points_train is not None:
            data["points_train"] = d.points_train
            data["points_test"] = d.points_test
            data["labels_train"] = d.labels_train
            data["labels_test"] = d.labels_test
            if d.task == "regression":
                data["targets_train"] = d.y_train.reshape(len(d.y_train), -1)[:, 0]
                data["targets_test"] = d.y_test.reshape(len(d.y_test), -1)[:, 0]
        message = {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "session": session.info(),
            "architecture": e.network.describe(),
            "data": data,
            "params": {"layers": e.network.get_params()},
            "subscription": subscription.to_dict(),
            "presenting": session.join_code,  # the class's join code while presented (server/classroom.py)
            "view": session.view,  # the presenter's latest view, for viewers who join late
        }
    return json.dumps(jsonable(message), separators=(",", ":"))


async def _send_loop(ws: WebSocket, viewer: Viewer, session: ManagedSession, timeout: float) -> None:
    """Texts (acks, errors, events) go out at once; frames at most ``fps`` times a second, latest first."""
    loop = asyncio.get_running_loop()
    hub = session.hub
    try:
        while not viewer.closed:
            await viewer.wake.wait()
            viewer.wake.clear()
            # Until none are left: texts said while these were sending (a `deleted` event, the
            # last refusals of a flood) must go out before a close that was asked meanwhile.
            while texts := viewer.take_texts():
                for text in texts:
                    await asyncio.wait_for(ws.send_text(text), timeout)
            if viewer.close_code is not None:
                viewer.closed = True
                await ws.close(viewer.close_code, viewer.close_reason)
                return
            if not viewer.has_frames:
                hub.handed_over(viewer)
                continue
            delay = viewer.next_frame - loop.time()
            if delay > 0 and not viewer.backlog:
                # Not this client's frame slot yet: wait for it, but wake early for a text.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(viewer.wake.wait(), delay)
                viewer.wake.set()
                continue
            messages = viewer.take_frames(session.ring, session.id, hub.catch_up)
            viewer.sending = True
            try:
                for message in messages:
                    # asyncio.timeout, not wait_for: wait_for wraps each send in a new task, which
                    # is a good part of the cost of a send when 200 viewers get 30 frames a second
                    async with asyncio.timeout(timeout):
                        await ws.send_bytes(message)
            finally:
                viewer.sending = False
                hub.handed_over(viewer)
            # Slots on a fixed beat: timing the next slot from the end of this send would add the
            # send's own time to every period (60 fps came out as ~55). After a stall, start anew.
            period = 1.0 / viewer.subscription.fps
            viewer.next_frame = max(viewer.next_frame + period, loop.time() - period)
            await asyncio.sleep(0)  # never starve the loop, even with a backlog
    except TimeoutError:
        viewer.closed = True
        try:
            await ws.close(CLOSE_TRY_AGAIN, "the client stopped reading")
        except Exception:
            pass
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        viewer.closed = True


class _CommandLimiter:
    """A token bucket: ``rate`` commands per second, bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = time.monotonic()
        self.refused = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.refused += 1
        return False


async def _control(
    message: dict[str, Any],
    session: ManagedSession,
    viewer: Viewer,
    manager: SessionManager,
    settings: Settings,
) -> dict[str, Any]:
    token = message.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolError(400, "token must be a string")
    if not (viewer.authorized or token_matches(session, token)):
        raise ProtocolError(401 if token is None else 403, "control needs the session's control token")
    action = message.get("action")
    if action not in CONTROL_ACTIONS:
        raise ProtocolError(400, f"action must be one of {list(CONTROL_ACTIONS)}, got {action!r}")
    try:
        if action == "play":
            play = PlayOptions.model_validate(message.get("play") or {})
            await run_in_threadpool(session.start, play)
            manager.wake()
        elif action == "pause":
            await run_in_threadpool(session.pause)
        elif action == "step":
            steps = message.get("steps", 1)
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
                raise ProtocolError(400, f"steps must be a whole number ≥ 1, got {steps!r}")
            if steps > settings.max_steps_per_request:
                raise ProtocolError(
                    413, f"steps = {steps} exceeds max_steps_per_request = {settings.max_steps_per_request}"
                )
            if session.playing:
                raise ProtocolError(409, "the session is playing: pause it before stepping")
            await run_in_threadpool(session.step, steps)
        elif action == "reset":
            await run_in_threadpool(session.reset)
        elif action == "set":
            changes = TrainingChanges.model_validate(message.get("training") or {})
            await run_in_threadpool(session.apply_changes, changes.model_dump(exclude_unset=True), None, None)
        elif action == "recover":
            lr = message.get("lr")
            if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))):
                raise ProtocolError(400, "lr must be a number")
            await run_in_threadpool(session.recover, lr)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ProtocolError(400, f"{action}: {where}: {first.get('msg')}") from None
    except LimitError as exc:
        raise ProtocolError(exc.status, str(exc)) from None
    except ValueError as exc:
        raise ProtocolError(409 if action == "play" else 400, str(exc)) from None
    return {
        "type": "ack",
        "action": action,
        "step": session.engine.step_count,
        "generation": session.generation,
    }


async def _handle(
    text: str, session: ManagedSession, viewer: Viewer, manager: SessionManager, settings: Settings
) -> dict[str, Any] | None:
    if len(text) > settings.max_ws_message_bytes:
        raise ProtocolError(
            413,
            f"message of {len(text)} bytes exceeds max_ws_message_bytes = {settings.max_ws_message_bytes}",
        )
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise ProtocolError(400, "messages must be JSON objects with a 'type'") from None
    if not isinstance(message, dict):
        raise ProtocolError(400, "messages must be JSON objects with a 'type'")
    kind = message.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError(400, f"unknown message type {kind!r}; use one of {list(CLIENT_TYPES)}")
    if kind == "ping":
        return {"type": "pong", "time": time.time()}
    if kind == "auth":
        token = message.get("token")
        if not isinstance(token, str) or not token_matches(session, token):
            raise ProtocolError(403, "the control token does not match this session")
        viewer.authorized = True
        return {"type": "ack", "action": "auth"}
    if kind == "subscribe":
        sub = viewer.subscription.updated(message)
        if sub.lockstep != session.lockstep:
            token = message.get("token")
            if not (viewer.authorized or (isinstance(token, str) and token_matches(session, token))):
                raise ProtocolError(403, "switching the session to or from lockstep needs the control token")
            await run_in_threadpool(session.apply_changes, None, None, sub.lockstep)
        viewer.subscription = sub
        session.hub.refresh()
        return {"type": "subscribed", "subscription": sub.to_dict()}
    if kind == "view":
        return relay_view(message, session, viewer.authorized)
    return await _control(message, session, viewer, manager, settings)


@router.websocket("/ws/sessions/{session_id}")
async def stream(ws: WebSocket, session_id: str) -> None:
    try:
        await _stream(ws, session_id)
    except WebSocketDisconnect:
        pass  # the client left before or while it was greeted: nothing was registered yet


async def _stream(ws: WebSocket, session_id: str) -> None:
    settings: Settings = ws.app.state.settings
    manager: SessionManager = ws.app.state.manager
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), settings.allowed_origins):
        await ws.close(CLOSE_POLICY)
        return
    await ws.accept()
    try:
        session = manager.get(session_id)
    except NotFound:
        await ws.send_text(
            json.dumps({"type": "error", "code": 404, "message": f"no session {session_id!r}"})
        )
        await ws.close(CLOSE_NOT_FOUND)
        return
    if len(session.hub.viewers) >= settings.max_viewers_per_session:
        await ws.send_text(
            json.dumps(
                {
                    "type": "error",
                    "code": 429,
                    "message": f"the session has {len(session.hub.viewers)} viewers, the limit "
                    f"max_viewers_per_session = {settings.max_viewers_per_session}",
                }
            )
        )
        await ws.close(CLOSE_TRY_AGAIN)
        return
    viewer = Viewer(Subscription(lockstep=session.lockstep), settings.lockstep_backlog)
    # Join the hub before hello: an event raised while hello is being built waits in this
    # viewer's queue (its sender starts after hello) instead of going to nobody.
    session.hub.add(viewer)
    try:
        await ws.send_text(await run_in_threadpool(_hello, session, viewer.subscription))
    except BaseException:
        session.hub.remove(viewer)
        raise
    ws.app.state.sockets.add(ws)
    sender = asyncio.create_task(_send_loop(ws, viewer, session, settings.ws_send_timeout))
    await run_in_threadpool(session.publish_latest)
    limiter = _CommandLimiter(settings.ws_max_commands_per_second)
    try:
        while not viewer.closed:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            reply_id = None
            try:
                if message.get("bytes") is not None:
                    raise ProtocolError(400, "binary messages from clients are not accepted; send JSON text")
                if not limiter.allow():
                    if limiter.refused > MAX_REFUSED_COMMANDS:
                        # the refusals queued so far go out first, then the close
                        viewer.end(CLOSE_POLICY, "too many commands")
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(sender, settings.ws_send_timeout)
                        break
                    raise ProtocolError(
                        429, f"more than {settings.ws_max_commands_per_second:g} commands per second"
                    )
                text = message.get("text") or ""
                try:
                    reply_id = json.loads(text).get("id") if text.startswith("{") else None
                except (json.JSONDecodeError, AttributeError, RecursionError):
                    reply_id = None
                reply = await _handle(text, session, viewer, manager, settings)
            except ProtocolError as exc:
                reply = {"type": "error", "code": exc.code, "message": exc.message}
            except NotFound:
                reply = {"type": "error", "code": 404, "message": "the session was deleted"}
            if reply is not None:
                if isinstance(reply_id, (int, str)):
                    reply["id"] = reply_id
                viewer.say(reply)
    except WebSocketDisconnect:
        pass
    finally:
        session.hub.remove(viewer)
        ws.app.state.sockets.discard(ws)
        sender.cancel()
        try:
            await sender
        except (asyncio.CancelledError, Exception):
            pass
